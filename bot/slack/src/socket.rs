//! Socket Mode: the bot dials Slack; events arrive as envelopes and are acked as soon
//! as the work is spawned (slack-morphism sends the ack when the callback returns, and
//! handles one connection's frames serially, so the callbacks must not wait).

use std::future::Future;
use std::sync::Arc;

use slack_morphism::prelude::*;
use tracing::info;

use crate::outbound::{Client, Connector};
use crate::{SlackAdapter, SlackError};

async fn adapter_of(state: &SlackClientEventsUserState) -> Option<Arc<SlackAdapter>> {
    state
        .read()
        .await
        .get_user_state::<Arc<SlackAdapter>>()
        .cloned()
}

async fn on_command(
    ev: SlackCommandEvent,
    _client: Arc<Client>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    if let Some(a) = adapter_of(&state).await
        && a.accept(crate::adapter::Job::Command(Box::new(ev))).await == crate::Accepted::Unrecorded
    {
        return Ok(SlackCommandEventResponse::new(
            SlackMessageContent::new().with_text(crate::http::UNRECORDED.into()),
        ));
    }
    Ok(SlackCommandEventResponse::new(SlackMessageContent::new()))
}

async fn on_push(
    ev: SlackPushEventCallback,
    _client: Arc<Client>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    if let Some(a) = adapter_of(&state).await {
        a.accept(crate::adapter::Job::Push(Box::new(ev))).await;
    }
    Ok(())
}

async fn on_interaction(
    ev: SlackInteractionEvent,
    _client: Arc<Client>,
    state: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    if let Some(a) = adapter_of(&state).await {
        a.accept(crate::adapter::Job::Interaction(Box::new(ev)))
            .await;
    }
    Ok(())
}

/// Connects with the app-level token and serves events until `shutdown` completes.
pub async fn run_socket_mode(
    adapter: Arc<SlackAdapter>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SlackError> {
    let Some(app_token) = adapter.config().app_token.clone() else {
        return Err(SlackError::Config(
            "slack.app_token (xapp-…) is required in Socket Mode".into(),
        ));
    };
    let token = SlackApiToken::new(app_token.expose().to_owned().into());
    let env = Arc::new(
        SlackClientEventsListenerEnvironment::new(adapter.client())
            .with_user_state(adapter.clone()),
    );
    let callbacks = SlackSocketModeListenerCallbacks::<Connector>::new()
        .with_command_events(on_command)
        .with_push_events(on_push)
        .with_interaction_events(on_interaction);
    let config = SlackClientSocketModeConfig::new()
        .with_max_connections_count(adapter.config().socket_connections.max(1));
    let listener = SlackClientSocketModeListener::new(&config, env, callbacks);
    listener
        .listen_for(&token)
        .await
        .map_err(|e| SlackError::Api {
            method: "apps.connections.open",
            code: None,
            detail: e.to_string(),
        })?;
    listener.start().await;
    info!("Slack Socket Mode connected");
    shutdown.await;
    listener.shutdown().await;
    info!("Slack Socket Mode closed");
    Ok(())
}
