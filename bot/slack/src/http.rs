//! HTTP mode: three signed endpoints, each answered before the work starts.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use slack_morphism::prelude::*;
use tracing::{debug, info};

use crate::Accepted;
use crate::SlackAdapter;
use crate::adapter::Job;
use crate::signature::{SIGNATURE_HEADER, SignatureError, TIMESTAMP_HEADER, verify_at};

/// `/slack/commands`, `/slack/events`, `/slack/interactions`, for mounting into the
/// bot's HTTP server. Every request must carry a valid signature from the last five
/// minutes (401 otherwise; 400 when the headers are missing); bodies are limited to
/// `max_body_bytes` (413).
pub fn http_router(adapter: Arc<SlackAdapter>) -> Router {
    let limit = adapter.config().max_body_bytes;
    Router::new()
        .route("/slack/commands", post(commands))
        .route("/slack/events", post(events))
        .route("/slack/interactions", post(interactions))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(adapter)
}

/// The reply when a delivery cannot be recorded: it is not run (fail closed).
pub const UNRECORDED: &str = "⚠️ vabot could not record this request because its history store is unavailable, so it was not run and nothing was changed. Try again in a minute; if this persists, check the bot's database.";

/// The ack of a slash command or a click: empty, or — when it could not be recorded — the
/// text Slack shows its user privately.
fn answer(accepted: Accepted) -> Response {
    match accepted {
        Accepted::Queued | Accepted::Duplicate => StatusCode::OK.into_response(),
        Accepted::Unrecorded => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            UNRECORDED,
        )
            .into_response(),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn verify(
    adapter: &SlackAdapter,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), (StatusCode, String)> {
    verify_at(
        adapter.config().signing_secret.expose(),
        header(headers, TIMESTAMP_HEADER),
        header(headers, SIGNATURE_HEADER),
        body,
        adapter.now_unix(),
    )
    .map_err(|e| {
        info!(error = %e, "Slack request refused");
        let status = match e {
            SignatureError::Missing(_) | SignatureError::Malformed(_) => StatusCode::BAD_REQUEST,
            SignatureError::Stale | SignatureError::Mismatch => StatusCode::UNAUTHORIZED,
        };
        (status, e.to_string())
    })
}

fn bad_payload(what: &str, e: impl std::fmt::Display) -> Response {
    info!(error = %e, what, "Unreadable Slack payload");
    (
        StatusCode::BAD_REQUEST,
        format!("unreadable {what} payload"),
    )
        .into_response()
}

fn note_retry(headers: &HeaderMap) {
    if let Some(n) = header(headers, "x-slack-retry-num") {
        // Answered like any delivery: the delivery id makes it a no-op.
        debug!(retry = n, reason = ?header(headers, "x-slack-retry-reason"), "Slack retry");
    }
}

async fn commands(
    State(adapter): State<Arc<SlackAdapter>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = verify(&adapter, &headers, &body) {
        return r.into_response();
    }
    match serde_urlencoded::from_bytes::<SlackCommandEvent>(&body) {
        Ok(ev) => answer(adapter.accept(Job::Command(Box::new(ev))).await),
        Err(e) => bad_payload("slash command", e),
    }
}

async fn events(
    State(adapter): State<Arc<SlackAdapter>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = verify(&adapter, &headers, &body) {
        return r.into_response();
    }
    note_retry(&headers);
    match serde_json::from_slice::<SlackPushEvent>(&body) {
        Ok(SlackPushEvent::UrlVerification(v)) => {
            ([(header::CONTENT_TYPE, "text/plain")], v.challenge).into_response()
        }
        Ok(SlackPushEvent::EventCallback(cb)) => {
            match adapter.accept(Job::Push(Box::new(cb))).await {
                Accepted::Queued | Accepted::Duplicate => StatusCode::OK.into_response(),
                // Not acked: Slack retries the event later, when the store may be back.
                Accepted::Unrecorded => StatusCode::SERVICE_UNAVAILABLE.into_response(),
            }
        }
        Ok(SlackPushEvent::AppRateLimited(r)) => {
            info!(?r, "Slack is rate-limiting event deliveries to this app");
            StatusCode::OK.into_response()
        }
        Err(e) => bad_payload("event", e),
    }
}

#[derive(Deserialize)]
struct InteractionForm {
    payload: String,
}

async fn interactions(
    State(adapter): State<Arc<SlackAdapter>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = verify(&adapter, &headers, &body) {
        return r.into_response();
    }
    let form = match serde_urlencoded::from_bytes::<InteractionForm>(&body) {
        Ok(f) => f,
        Err(e) => return bad_payload("interaction", e),
    };
    match serde_json::from_str::<SlackInteractionEvent>(&form.payload) {
        Ok(ev) => answer(adapter.accept(Job::Interaction(Box::new(ev))).await),
        Err(e) => bad_payload("interaction", e),
    }
}
