//! Events in, replies out: the part both transports share.

mod pin;

use std::sync::Arc;
use std::time::Duration;

use slack_morphism::prelude::*;
use tracing::{debug, info, warn};
use vabot_chat::cards;
use vabot_chat::inbox::{Accepted, Inbox, Worker};
use vabot_chat::progress::with_progress;
use vabot_chat::seen::Seen;
use vabot_commands::approval::Verdict;
use vabot_commands::message::{Block, Message, Tone, Visibility};
use vabot_commands::model::{
    Actor, ChannelId, ChannelRef, DeliveryId, Invocation, Platform, ShortId, ThreadId, UserId,
    WorkspaceId,
};
use vabot_commands::pipeline::{Deps, Reply, VoteEvent, handle, handle_vote};
use vabot_commands::store::PostedMessage;

use crate::blocks::{self, render};
use crate::outbound::{self, Client, Outbound};
use crate::{SlackConfig, SlackError};

/// How many recent delivery ids one process remembers to drop redeliveries before
/// posting anything (the store's delivery-id check is the authority across replicas).
const SEEN_CAPACITY: usize = 4096;

/// One unit of work: what Slack delivered, as slack-morphism parsed it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "event", rename_all = "snake_case")]
pub enum Job {
    Command(Box<SlackCommandEvent>),
    Push(Box<SlackPushEventCallback>),
    Interaction(Box<SlackInteractionEvent>),
}

impl Job {
    /// The platform's id for this delivery, when it has one.
    fn delivery(&self) -> Option<String> {
        match self {
            Job::Command(ev) => Some(format!("cmd:{}", ev.trigger_id.0)),
            Job::Push(ev) => Some(format!("evt:{}", ev.event_id.0)),
            Job::Interaction(ev) => match ev.as_ref() {
                SlackInteractionEvent::BlockActions(ba) => Some(format!("int:{}", ba.trigger_id.0)),
                _ => None,
            },
        }
    }
}

/// Where a reply goes.
#[derive(Debug, Clone)]
struct Target {
    channel: String,
    thread: Option<String>,
    /// Who triggered it: the recipient of ephemeral replies.
    user: String,
}

/// The Slack adapter; one per bot token, shared by both transports.
pub struct SlackAdapter {
    config: SlackConfig,
    deps: Deps,
    client: Arc<Client>,
    out: Outbound,
    seen: Seen,
    /// Durable before ack; worked on by `config.workers` tasks.
    inbox: Inbox<Job>,
    /// Members of the Slack user groups the policy names.
    groups: crate::groups::UserGroups,
}

impl SlackAdapter {
    /// Builds the adapter and its Web API client (no network traffic yet).
    pub fn new(config: SlackConfig, deps: Deps) -> Result<Self, SlackError> {
        config.validate()?;
        let client = Arc::new(outbound::client(&config.api_base)?);
        let token = SlackApiToken::new(config.bot_token.expose().to_owned().into());
        let out = Outbound::new(client.clone(), token, config.pace());
        let inbox = Inbox::new(Platform::Slack, deps.clone(), config.workers);
        Ok(Self {
            inbox,
            config,
            deps,
            client,
            out,
            seen: Seen::new(SEEN_CAPACITY),

            groups: crate::groups::UserGroups::default(),
        })
    }

    pub fn config(&self) -> &SlackConfig {
        &self.config
    }

    pub fn client(&self) -> Arc<Client> {
        self.client.clone()
    }

    /// The bot's clock (the pipeline's), in Unix seconds: the signature window uses it.
    pub fn now_unix(&self) -> i64 {
        self.deps.clock.now().timestamp()
    }

    /// True the first time this process sees a delivery id.
    fn first_seen(&self, delivery: &str) -> bool {
        self.seen.first(delivery)
    }

    /// Records a delivery in the store, then queues its work; the platform is acked
    /// after this returns, so an acked delivery is never lost (see `vabot_chat::inbox`).
    pub async fn accept(self: &Arc<Self>, job: Job) -> Accepted {
        self.inbox.accept(self, job).await
    }

    /// Starts the workers and the sweeper, which at once resumes deliveries a previous
    /// process acked but did not finish. (The first delivery starts them otherwise.)
    pub fn start(self: &Arc<Self>) {
        self.inbox.start(self);
    }

    async fn work(&self, job: Job) {
        match job {
            Job::Command(ev) => self.on_command(*ev).await,
            Job::Push(ev) => self.on_push(*ev).await,
            Job::Interaction(ev) => self.on_interaction(*ev).await,
        }
    }

    /// The Slack user with the policy's user groups they are in.
    async fn actor(&self, user: &str) -> Actor {
        let policy = self.deps.policy();
        Actor {
            platform: Platform::Slack,
            user: UserId::new(user),
            groups: self.groups.of(&self.out, &policy, user).await,
        }
    }

    fn channel_ref(team: &str, channel: &str, thread: Option<&str>) -> ChannelRef {
        ChannelRef {
            platform: Platform::Slack,
            workspace: WorkspaceId::new(team),
            channel: ChannelId::new(channel),
            thread: thread.map(ThreadId::new),
        }
    }

    /// `/va …`: a root message naming who ran what, then everything in its thread.
    pub async fn on_command(&self, ev: SlackCommandEvent) {
        let delivery = format!("cmd:{}", ev.trigger_id.0);
        if !self.first_seen(&delivery) {
            info!(delivery, "Duplicate slash command ignored");
            return;
        }
        let text = ev.text.clone().unwrap_or_default();
        let user = ev.user_id.0.clone();
        let channel = ev.channel_id.0.clone();
        let team = ev.team_id.0.clone();
        let mut target = Target {
            channel: channel.clone(),
            thread: None,
            user: user.clone(),
        };
        // A typo is answered privately; only a real command opens a public thread.
        let parses = vabot_commands::parse(&text, &self.deps.catalog).is_ok();
        if parses {
            match self.post_root(&channel, &user, &text).await {
                Ok(ts) => target.thread = Some(ts),
                Err(e) => {
                    warn!(error = %e, "Could not open the command's thread; not running it");
                    return;
                }
            }
        }
        let inv = Invocation {
            actor: self.actor(&user).await,
            channel: Self::channel_ref(&team, &channel, target.thread.as_deref()),
            text,
            delivery: DeliveryId::new(delivery),
        };
        self.run(inv, target).await;
    }

    async fn post_root(&self, channel: &str, user: &str, text: &str) -> Result<String, SlackError> {
        let ts = self
            .out
            .post(channel, None, &blocks::root_message(user, text)?)
            .await?;
        self.record(channel, &ts, None, None, None).await;
        Ok(ts)
    }

    /// Runs an invocation; if it is slow, shows a placeholder that the result replaces.
    async fn run(&self, inv: Invocation, target: Target) {
        let text = inv.text.clone();
        let (reply, placeholder) = with_progress(
            self.config.progress_after(),
            handle(&self.deps, inv),
            || async {
                match blocks::working_message(&text) {
                    Ok(content) => self
                        .out
                        .post(&target.channel, target.thread.as_deref(), &content)
                        .await
                        .ok(),
                    Err(_) => None,
                }
            },
        )
        .await;
        self.deliver(reply, &target, placeholder.flatten()).await;
    }

    /// Events API: `@va …` mentions, approval reactions and pins.
    pub async fn on_push(&self, ev: SlackPushEventCallback) {
        let delivery = format!("evt:{}", ev.event_id.0);
        if !self.first_seen(&delivery) {
            info!(delivery, "Duplicate event delivery ignored");
            return;
        }
        let team = ev.team_id.0.clone();
        match ev.event {
            SlackEventCallbackBody::AppMention(m) => {
                let text = strip_mentions(m.content.text.as_deref().unwrap_or_default());
                // A mention inside a thread answers there; one in the channel starts a
                // thread on the mention itself.
                let thread = m.origin.thread_ts.clone().unwrap_or(m.origin.ts.clone()).0;
                let target = Target {
                    channel: m.channel.0.clone(),
                    thread: Some(thread.clone()),
                    user: m.user.0.clone(),
                };
                let inv = Invocation {
                    actor: self.actor(&m.user.0).await,
                    channel: Self::channel_ref(&team, &m.channel.0, Some(&thread)),
                    text,
                    delivery: DeliveryId::new(delivery),
                };
                self.run(inv, target).await;
            }
            SlackEventCallbackBody::ReactionAdded(r) if self.is_pin(&r.reaction.0) => {
                self.on_pin(&team, &r.user.0, r.item, true, delivery).await;
            }
            SlackEventCallbackBody::ReactionRemoved(r) if self.is_pin(&r.reaction.0) => {
                self.on_pin(&team, &r.user.0, r.item, false, delivery).await;
            }
            SlackEventCallbackBody::ReactionAdded(r) => {
                let verdict =
                    if SlackConfig::is_reaction(&r.reaction.0, &self.config.approve_reaction) {
                        Verdict::Approve
                    } else if SlackConfig::is_reaction(&r.reaction.0, &self.config.deny_reaction) {
                        Verdict::Deny
                    } else {
                        return;
                    };
                let SlackReactionsItem::Message(msg) = r.item else {
                    return;
                };
                let Some(channel) = msg.origin.channel.as_ref().map(|c| c.0.clone()) else {
                    return;
                };
                self.vote(
                    &team,
                    &channel,
                    &msg.origin.ts.0,
                    None,
                    &r.user.0,
                    verdict,
                    "reaction",
                    delivery,
                )
                .await;
            }
            other => debug!(event = ?std::mem::discriminant(&other), "Event ignored"),
        }
    }

    /// Interactivity: the Approve / Deny buttons of an approval card.
    pub async fn on_interaction(&self, ev: SlackInteractionEvent) {
        let SlackInteractionEvent::BlockActions(ba) = ev else {
            return;
        };
        let Some(user) = ba.user.as_ref().map(|u| u.id.0.clone()) else {
            return;
        };
        let (message_ts, container_channel) = match &ba.container {
            SlackInteractionActionContainer::Message(c) => (
                Some(c.message_ts.0.clone()),
                c.channel_id.as_ref().map(|c| c.0.clone()),
            ),
            _ => (None, None),
        };
        let Some(channel) =
            container_channel.or_else(|| ba.channel.as_ref().map(|c| c.id.0.clone()))
        else {
            return;
        };
        let thread = ba
            .message
            .as_ref()
            .and_then(|m| m.origin.thread_ts.as_ref())
            .map(|t| t.0.clone());
        for action in ba.actions.iter().flatten() {
            let verdict = match action.action_id.0.as_str() {
                "approve" => Verdict::Approve,
                "deny" => Verdict::Deny,
                _ => continue,
            };
            let action_ts = action
                .action_ts
                .as_ref()
                .map(|t| t.0.as_str())
                .unwrap_or_default();
            let delivery = format!("btn:{action_ts}:{user}");
            if !self.first_seen(&delivery) {
                continue;
            }
            let Some(approval) = action.value.as_deref().and_then(|v| ShortId::parse('a', v))
            else {
                warn!(value = ?action.value, "A button carried no approval id");
                continue;
            };
            let ts = message_ts.clone().unwrap_or_default();
            self.vote(
                &ba.team.id.0,
                &channel,
                &ts,
                Some((approval, thread.clone())),
                &user,
                verdict,
                "button",
                delivery,
            )
            .await;
        }
    }

    /// Casts a vote by reaction (the card is looked up by its `ts`) or button (the
    /// card's approval id is on the button).
    #[allow(clippy::too_many_arguments)]
    async fn vote(
        &self,
        team: &str,
        channel: &str,
        message_ts: &str,
        known: Option<(ShortId, Option<String>)>,
        user: &str,
        verdict: Verdict,
        via: &'static str,
        delivery: String,
    ) {
        let posted = cards::reacted(&self.deps, Platform::Slack, channel, message_ts).await;
        let (approval, thread) = match (known, posted) {
            (Some((id, thread)), posted) => (id, thread.or(posted.and_then(|p| p.thread))),
            (
                None,
                Some(PostedMessage {
                    approval: Some(id),
                    thread,
                    ..
                }),
            ) => (id, thread),
            // A reaction on anything but an approval card is just a reaction.
            (None, _) => return,
        };
        let target = Target {
            channel: channel.to_owned(),
            thread: thread.clone(),
            user: user.to_owned(),
        };
        let reply = handle_vote(
            &self.deps,
            VoteEvent {
                actor: self.actor(user).await,
                channel: Self::channel_ref(team, channel, thread.as_deref()),
                approval,
                verdict,
                via,
                delivery: DeliveryId::new(delivery),
            },
        )
        .await;
        self.deliver(reply, &target, None).await;
    }

    /// Posts a reply: ephemeral messages to the person, the rest in the thread (the
    /// first one replacing the placeholder, if any), files after their message, and the
    /// approval card updated in place.
    async fn deliver(&self, reply: Reply, target: &Target, mut progress: Option<String>) {
        if reply.duplicate {
            info!(invocation = ?reply.invocation, "Redelivered event: nothing posted");
            if let Some(ts) = progress {
                let note = Message::text(Tone::Info, "This request was already handled.");
                self.update_with(&target.channel, &ts, &note).await;
            }
            return;
        }
        let thread = target.thread.as_deref();
        for m in &reply.messages {
            let rendered = match render(m) {
                Ok(r) => r,
                Err(e) => {
                    warn!(error = %e, "A reply could not be rendered as Block Kit");
                    continue;
                }
            };
            if m.visibility == Visibility::Ephemeral {
                if let Err(e) = self
                    .out
                    .ephemeral(&target.channel, &target.user, thread, &rendered.content)
                    .await
                {
                    warn!(error = %e, "Could not send an ephemeral reply");
                }
                continue;
            }
            let is_card = reply.opened.is_some()
                && m.blocks.iter().any(|b| matches!(b, Block::Actions { .. }));
            let posted = match progress.take() {
                Some(ts) => self
                    .out
                    .update(&target.channel, &ts, &rendered.content)
                    .await
                    .map(|()| ts),
                None => {
                    self.out
                        .post(&target.channel, thread, &rendered.content)
                        .await
                }
            };
            let ts = match posted {
                Ok(ts) => ts,
                Err(e) => {
                    warn!(error = %e, "Could not post a reply");
                    continue;
                }
            };
            self.record(
                &target.channel,
                &ts,
                thread,
                reply.invocation.clone(),
                if is_card { reply.opened.clone() } else { None },
            )
            .await;
            for f in &rendered.files {
                if let Err(e) = self.out.upload(&target.channel, thread, f).await {
                    warn!(error = %e, file = %f.filename, "Could not upload a file");
                }
            }
        }
        if let Some(ts) = progress {
            // Every message was private: don't leave "working on it…" behind.
            let note = Message::text(Tone::Info, "Answered privately.");
            self.update_with(&target.channel, &ts, &note).await;
        }
        if let Some((approval, card)) = reply.card_update {
            match cards::card_of(&self.deps, Platform::Slack, &approval).await {
                Some(pm) => self.update_with(&pm.channel, &pm.message, &card).await,
                None => info!(approval = %approval, "No Slack card to update"),
            }
        }
    }

    async fn update_with(&self, channel: &str, ts: &str, m: &Message) {
        match render(m) {
            Ok(r) => {
                if let Err(e) = self.out.update(channel, ts, &r.content).await {
                    warn!(error = %e, "Could not update a message");
                }
            }
            Err(e) => warn!(error = %e, "A message could not be rendered as Block Kit"),
        }
    }

    async fn record(
        &self,
        channel: &str,
        ts: &str,
        thread: Option<&str>,
        invocation: Option<ShortId>,
        approval: Option<ShortId>,
    ) {
        let msg = PostedMessage {
            platform: Platform::Slack,
            channel: channel.to_owned(),
            message: ts.to_owned(),
            thread: thread.map(str::to_owned),
            invocation,
            approval,
            at: self.deps.clock.now(),
        };
        cards::record(&self.deps, msg).await;
    }
}

/// What vabot posts on its own (a sweep's follow-up): into the thread of the request's
/// card, and the card updated in place.
#[async_trait::async_trait]
impl vabot_commands::ports::Chat for SlackAdapter {
    async fn follow_up(
        &self,
        req: &vabot_commands::approval::ApprovalRequest,
        messages: &[Message],
        card: Option<&Message>,
    ) {
        let posted = cards::card_of(&self.deps, Platform::Slack, &req.id).await;
        let target = match posted {
            Some(p) => Target {
                thread: p.thread.or(Some(p.message)),
                channel: p.channel,
                user: req.requester.user.to_string(),
            },
            None => Target {
                channel: req.channel.channel.to_string(),
                thread: req.channel.thread.as_ref().map(ToString::to_string),
                user: req.requester.user.to_string(),
            },
        };
        let reply = Reply {
            invocation: Some(req.invocation.clone()),
            messages: messages.to_vec(),
            card_update: card.map(|c| (req.id.clone(), c.clone())),
            ..Reply::default()
        };
        self.deliver(reply, &target, None).await;
    }
}

/// The inbox's side: what a Slack delivery is and how it is worked on.
#[async_trait::async_trait]
impl Worker<Job> for SlackAdapter {
    fn inbox(&self) -> &Inbox<Job> {
        &self.inbox
    }

    fn delivery_id(job: &Job) -> Option<String> {
        job.delivery()
    }

    async fn work(&self, job: Job) {
        SlackAdapter::work(self, job).await;
    }

    /// Keeps the user groups' members current (see `groups`).
    async fn on_sweep(&self) {
        self.groups
            .refresh_if_older(
                &self.out,
                &self.deps.policy(),
                Duration::from_secs(self.config.groups_refresh_secs.max(1)),
            )
            .await;
    }
}

/// `<@U0BOT> scale x 3` → `scale x 3`: drops the user mentions Slack puts in the text.
pub(crate) fn strip_mentions(text: &str) -> String {
    text.split_whitespace()
        .filter(|w| !(w.starts_with("<@") && w.ends_with('>')))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::strip_mentions;

    #[test]
    fn mentions_of_the_bot_are_removed_from_the_command_text() {
        assert_eq!(
            strip_mentions("<@U0VABOT> scale agent-engine 3"),
            "scale agent-engine 3"
        );
        assert_eq!(strip_mentions("  <@U0VABOT>   health  "), "health");
    }
}
