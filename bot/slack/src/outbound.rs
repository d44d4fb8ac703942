//! Everything the bot sends to Slack: paced per channel, and retried once after the
//! `Retry-After` Slack gives with a 429. Also the few reads the adapter makes (a pinned
//! message and its permalink), retried the same way but not paced.

use std::sync::Arc;
use std::time::Duration;

use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use tracing::{info, warn};
use vabot_chat::pace::Pacer;
use vabot_commands::message::Attachment;

use crate::SlackError;

/// The hyper connector the client uses (HTTPS to Slack, plain HTTP to a local fake).
pub type Connector = SlackClientHyperHttpsConnector;
/// The slack-morphism client the adapter uses.
pub type Client = SlackClient<Connector>;

/// Longest `Retry-After` honoured; beyond it the message is dropped and logged rather
/// than holding a worker for minutes.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Builds the Web API client for `api_base`.
pub fn client(api_base: &str) -> Result<Client, SlackError> {
    // Both ring and aws-lc-rs may be compiled in (through other crates), so pick one
    // explicitly instead of relying on a process-wide default provider.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(provider)
        .map_err(|e| SlackError::Config(format!("cannot load the TLS root certificates: {e}")))?
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build();
    Ok(SlackClient::new(
        SlackClientHyperConnector::with_connector(https).with_slack_api_url(api_base),
    ))
}

/// Sends messages for one bot token.
pub struct Outbound {
    client: Arc<Client>,
    token: SlackApiToken,
    /// About one message per second per channel.
    pace: Pacer,
}

impl Outbound {
    pub fn new(client: Arc<Client>, token: SlackApiToken, pace: Duration) -> Self {
        Self {
            client,
            token,
            pace: Pacer::new(pace),
        }
    }

    /// Runs one message-sending call in the channel's pace.
    async fn call<T, F, Fut>(
        &self,
        method: &'static str,
        channel: &str,
        f: F,
    ) -> Result<T, SlackError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = ClientResult<T>>,
    {
        self.pace.wait(channel).await;
        self.retrying(method, channel, f).await
    }

    /// Runs one call; on a 429 waits `Retry-After` and tries exactly once more.
    async fn retrying<T, F, Fut>(
        &self,
        method: &'static str,
        channel: &str,
        f: F,
    ) -> Result<T, SlackError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = ClientResult<T>>,
    {
        match f().await {
            Ok(v) => Ok(v),
            Err(SlackClientError::RateLimitError(e)) => {
                let after = e.retry_after.unwrap_or(Duration::from_secs(1));
                if after > MAX_RETRY_AFTER {
                    return Err(SlackError::RateLimited {
                        method,
                        secs: after.as_secs(),
                    });
                }
                info!(
                    method,
                    channel,
                    secs = after.as_secs(),
                    "Slack rate-limited the call; retrying after Retry-After"
                );
                metrics::counter!("vabot_platform_rate_limited_total", "platform" => "slack", "method" => method)
                    .increment(1);
                metrics::histogram!("vabot_platform_rate_limit_wait_seconds", "platform" => "slack")
                    .record(after.as_secs_f64());
                tokio::time::sleep(after).await;
                f().await.map_err(|e| api_error(method, e))
            }
            Err(e) => Err(api_error(method, e)),
        }
    }

    /// chat.postMessage; returns the message's `ts`.
    pub async fn post(
        &self,
        channel: &str,
        thread: Option<&str>,
        content: &SlackMessageContent,
    ) -> Result<String, SlackError> {
        let mut req = SlackApiChatPostMessageRequest::new(channel.into(), content.clone());
        if let Some(t) = thread {
            req = req.with_thread_ts(t.into());
        }
        let session = self.client.open_session(&self.token);
        let resp = self
            .call("chat.postMessage", channel, || {
                session.chat_post_message(&req)
            })
            .await?;
        Ok(resp.ts.0)
    }

    /// chat.update of a message the bot posted.
    pub async fn update(
        &self,
        channel: &str,
        ts: &str,
        content: &SlackMessageContent,
    ) -> Result<(), SlackError> {
        let req = SlackApiChatUpdateRequest::new(channel.into(), content.clone(), ts.into());
        let session = self.client.open_session(&self.token);
        self.call("chat.update", channel, || session.chat_update(&req))
            .await
            .map(|_| ())
    }

    /// chat.postEphemeral: only `user` sees it.
    pub async fn ephemeral(
        &self,
        channel: &str,
        user: &str,
        thread: Option<&str>,
        content: &SlackMessageContent,
    ) -> Result<(), SlackError> {
        let mut req =
            SlackApiChatPostEphemeralRequest::new(channel.into(), user.into(), content.clone());
        if let Some(t) = thread {
            req = req.with_thread_ts(t.into());
        }
        let session = self.client.open_session(&self.token);
        self.call("chat.postEphemeral", channel, || {
            session.chat_post_ephemeral(&req)
        })
        .await
        .map(|_| ())
    }

    /// Uploads a file into a thread: files.getUploadURLExternal → POST the bytes →
    /// files.completeUploadExternal.
    pub async fn upload(
        &self,
        channel: &str,
        thread: Option<&str>,
        file: &Attachment,
    ) -> Result<(), SlackError> {
        let session = self.client.open_session(&self.token);
        let url_req =
            SlackApiFilesGetUploadUrlExternalRequest::new(file.filename.clone(), file.bytes.len());
        let target = self
            .call("files.getUploadURLExternal", channel, || {
                session.get_upload_url_external(&url_req)
            })
            .await?;
        let put = SlackApiFilesUploadViaUrlRequest::new(
            target.upload_url.clone(),
            file.bytes.clone(),
            file.mime.clone(),
        );
        session
            .files_upload_via_url(&put)
            .await
            .map_err(|e| api_error("files upload", e))?;
        let mut done = SlackApiFilesCompleteUploadExternalRequest::new(vec![
            SlackApiFilesComplete::new(target.file_id.clone()).with_title(file.title.clone()),
        ])
        .with_channel_id(channel.into());
        if let Some(t) = thread {
            done = done.with_thread_ts(t.into());
        }
        self.call("files.completeUploadExternal", channel, || {
            session.files_complete_upload_external(&done)
        })
        .await
        .map(|_| ())
    }

    /// The message `ts` of `channel`: a channel message through conversations.history
    /// (`latest`=ts, inclusive, limit 1), else a thread reply through conversations.replies.
    /// `None` when Slack has no message with exactly that `ts` (deleted).
    pub async fn message(
        &self,
        channel: &str,
        ts: &str,
    ) -> Result<Option<SlackHistoryMessage>, SlackError> {
        let session = self.client.open_session(&self.token);
        let req = SlackApiConversationsHistoryRequest::new()
            .with_channel(channel.into())
            .with_latest(ts.into())
            .with_inclusive(true)
            .with_limit(1);
        let history = self
            .retrying("conversations.history", channel, || {
                session.conversations_history(&req)
            })
            .await?;
        // History holds only channel-level messages: for a thread reply it answers with
        // the channel message before it, so only an exact `ts` counts.
        if let Some(m) = history.messages.into_iter().find(|m| m.origin.ts.0 == ts) {
            return Ok(Some(m));
        }
        // The thread's parent may come first, so ask for two and pick the exact `ts`.
        let req = SlackApiConversationsRepliesRequest::new(channel.into(), ts.into())
            .with_latest(ts.into())
            .with_oldest(ts.into())
            .with_inclusive(true)
            .with_limit(2);
        match self
            .retrying("conversations.replies", channel, || {
                session.conversations_replies(&req)
            })
            .await
        {
            Ok(replies) => Ok(replies.messages.into_iter().find(|m| m.origin.ts.0 == ts)),
            Err(SlackError::Api {
                code: Some(code), ..
            }) if code == "thread_not_found" || code == "message_not_found" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// usergroups.users.list: the members of one user group (needs `usergroups:read`).
    pub async fn usergroup_members(&self, group: &str) -> Result<Vec<String>, SlackError> {
        let session = self.client.open_session(&self.token);
        let req = SlackApiUserGroupsUsersListRequest::new(group.into());
        let resp = self
            .retrying("usergroups.users.list", group, || {
                session.usergroups_users_list(&req)
            })
            .await?;
        Ok(resp.users.into_iter().map(|u| u.0).collect())
    }

    /// chat.getPermalink: the link that opens the message (in its thread, for a reply).
    pub async fn permalink(&self, channel: &str, ts: &str) -> Result<String, SlackError> {
        let session = self.client.open_session(&self.token);
        let req = SlackApiChatGetPermalinkRequest::new(channel.into(), ts.into());
        let resp = self
            .retrying("chat.getPermalink", channel, || {
                session.chat_get_permalink(&req)
            })
            .await?;
        Ok(resp.permalink.to_string())
    }
}

fn api_error(method: &'static str, e: SlackClientError) -> SlackError {
    let detail = e.to_string();
    warn!(method, detail = %detail, "Slack call failed");
    metrics::counter!("vabot_platform_api_errors_total", "platform" => "slack", "method" => method)
        .increment(1);
    let code = match &e {
        SlackClientError::ApiError(api) => Some(api.code.clone()),
        _ => None,
    };
    SlackError::Api {
        method,
        code,
        detail,
    }
}
