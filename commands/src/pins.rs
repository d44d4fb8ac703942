//! Pinned chat: a reaction (📌 by default) on any message in a channel adds that message —
//! author, text, time, a link back — to the channel's timeline; removing the reaction
//! removes it again.
//!
//! Pins are audit events like every other record (`MessagePinned` / `MessageUnpinned`), so
//! they sit in the same hash chain, the same export and the same review page. A message
//! stays pinned while at least one person's pinning reaction is on it.
//!
//! Who may pin: whoever may view the channel's timeline (a read command there).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::info;

use crate::authz::authorize;
use crate::error::PipelineError;
use crate::grammar::Command;
use crate::model::{Actor, ChannelRef, DeliveryId, new_short_id};
use crate::pipeline::Deps;
use crate::store::{AuditEvent, EventKind, InvocationRecord, NewEvent, Recorded};

/// The chat message a reaction points at, as fetched through the platform's API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// The platform's message id (Slack `ts`, Discord snowflake).
    pub id: String,
    /// The author's platform user id.
    pub author: String,
    /// A display name when the platform gave one (shown, never used for identity).
    #[serde(default)]
    pub author_name: Option<String>,
    pub text: String,
    pub at: DateTime<Utc>,
    /// A link back to the message in the chat client.
    #[serde(default)]
    pub link: Option<String>,
}

/// A pinning reaction added (`pinned`) or removed.
#[derive(Debug, Clone)]
pub struct PinEvent {
    /// Who reacted.
    pub actor: Actor,
    pub channel: ChannelRef,
    pub message: ChatMessage,
    pub pinned: bool,
    /// The platform's delivery id, so a redelivered reaction counts once.
    pub delivery: DeliveryId,
}

/// What a pin event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinOutcome {
    Pinned,
    Unpinned,
    /// Already in that state for this person, or a redelivery: nothing recorded.
    Unchanged,
}

/// A message pinned into a channel's timeline, with who pinned it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pin {
    pub message: ChatMessage,
    pub channel: ChannelRef,
    /// When it was (first) pinned.
    pub pinned_at: DateTime<Utc>,
    pub pinned_by: Vec<String>,
}

/// Whether `actor` may pin in `channel`: the check [`pin`] makes, for adapters that want to
/// refuse before fetching the message from the platform.
pub fn may_pin(deps: &Deps, actor: &Actor, channel: &ChannelRef) -> Result<(), PipelineError> {
    authorize(
        &deps.policy(),
        &deps.catalog,
        actor,
        channel,
        &Command::Timeline { since: None },
    )?;
    Ok(())
}

/// Records a pin or unpin, after checking the reacting person may view this channel.
pub async fn pin(deps: &Deps, ev: PinEvent) -> Result<PinOutcome, PipelineError> {
    may_pin(deps, &ev.actor, &ev.channel)?;
    let id = new_short_id('i');
    let verb = if ev.pinned { "pin" } else { "unpin" };
    let rec = InvocationRecord {
        id: id.clone(),
        at: deps.clock.now(),
        actor: ev.actor.clone(),
        channel: ev.channel.clone(),
        text: format!("{verb} message {}", ev.message.id),
        delivery: ev.delivery.clone(),
    };
    if let Recorded::Duplicate(_) = deps.store.record_invocation(&rec).await? {
        return Ok(PinOutcome::Unchanged);
    }
    // Events are filed by channel, whatever thread the message is in.
    let events = deps.store.events(Some(&ev.channel.key()), None).await?;
    let pinners = current_pins(&events)
        .into_iter()
        .find(|p| p.message.id == ev.message.id)
        .map(|p| p.pinned_by)
        .unwrap_or_default();
    let me = ev.actor.key();
    let (kind, outcome) = match (ev.pinned, pinners.contains(&me)) {
        (true, false) => (EventKind::MessagePinned, PinOutcome::Pinned),
        (false, true) => (EventKind::MessageUnpinned, PinOutcome::Unpinned),
        _ => return Ok(PinOutcome::Unchanged),
    };
    let summary = match outcome {
        PinOutcome::Pinned => format!("pinned a message by {}", ev.message.author),
        _ => format!("unpinned a message by {}", ev.message.author),
    };
    deps.store
        .append(NewEvent {
            invocation: Some(id),
            channel: ev.channel.clone(),
            actor: Some(ev.actor.clone()),
            kind,
            summary,
            data: json!({ "message": ev.message }),
        })
        .await?;
    info!(actor = %ev.actor.user, message = %ev.message.id, verb, "Pin recorded");
    Ok(outcome)
}

fn pinned_message_id(e: &AuditEvent) -> Option<&str> {
    if !matches!(
        e.kind,
        EventKind::MessagePinned | EventKind::MessageUnpinned
    ) {
        return None;
    }
    e.data.get("message")?.get("id")?.as_str()
}

/// The messages pinned now, from a channel's events (oldest first), in pin order.
pub fn current_pins(events: &[AuditEvent]) -> Vec<Pin> {
    let mut pins: Vec<Pin> = Vec::new();
    for e in events {
        let Some(id) = pinned_message_id(e) else {
            continue;
        };
        let Some(actor) = e.actor.as_ref().map(Actor::key) else {
            continue;
        };
        let at = pins.iter().position(|p| p.message.id == id);
        match (e.kind, at) {
            (EventKind::MessagePinned, None) => {
                let Some(message) = e
                    .data
                    .get("message")
                    .and_then(|m| serde_json::from_value::<ChatMessage>(m.clone()).ok())
                else {
                    continue;
                };
                pins.push(Pin {
                    message,
                    channel: e.channel.clone(),
                    pinned_at: e.at,
                    pinned_by: vec![actor],
                });
            }
            (EventKind::MessagePinned, Some(i)) if !pins[i].pinned_by.contains(&actor) => {
                pins[i].pinned_by.push(actor);
            }
            (EventKind::MessageUnpinned, Some(i)) => {
                pins[i].pinned_by.retain(|a| a != &actor);
                if pins[i].pinned_by.is_empty() {
                    pins.remove(i);
                }
            }
            _ => {}
        }
    }
    pins
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Platform;
    use crate::store::MemoryStore;
    use crate::testing::demo_deps;
    use std::sync::Arc;

    fn msg(id: &str) -> ChatMessage {
        ChatMessage {
            id: id.into(),
            author: "dave".into(),
            author_name: None,
            text: format!("message {id}"),
            at: DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            link: None,
        }
    }

    fn ev(user: &str, channel: &str, id: &str, pinned: bool, delivery: &str) -> PinEvent {
        PinEvent {
            actor: Actor::new(Platform::Console, user),
            channel: ChannelRef::new(Platform::Console, channel),
            message: msg(id),
            pinned,
            delivery: DeliveryId::new(delivery),
        }
    }

    async fn pins(deps: &Deps) -> Vec<Pin> {
        let events = deps
            .store
            .events(Some("console:#incident-prod"), None)
            .await
            .unwrap();
        current_pins(&events)
    }

    #[tokio::test]
    async fn a_pin_stays_while_anyone_still_pins_it_and_goes_with_the_last_unpin() {
        let deps = demo_deps(Arc::new(MemoryStore::new()));
        let c = "#incident-prod";
        assert_eq!(
            pin(&deps, ev("alice", c, "m1", true, "d1")).await.unwrap(),
            PinOutcome::Pinned
        );
        assert_eq!(
            pin(&deps, ev("carol", c, "m1", true, "d2")).await.unwrap(),
            PinOutcome::Pinned
        );
        assert_eq!(pins(&deps).await[0].pinned_by.len(), 2);
        assert_eq!(
            pin(&deps, ev("alice", c, "m1", false, "d3")).await.unwrap(),
            PinOutcome::Unpinned
        );
        assert_eq!(pins(&deps).await.len(), 1);
        assert_eq!(
            pin(&deps, ev("carol", c, "m1", false, "d4")).await.unwrap(),
            PinOutcome::Unpinned
        );
        assert!(pins(&deps).await.is_empty());
    }

    #[tokio::test]
    async fn a_redelivered_or_repeated_pin_records_nothing_more() {
        let deps = demo_deps(Arc::new(MemoryStore::new()));
        let c = "#incident-prod";
        pin(&deps, ev("alice", c, "m1", true, "d1")).await.unwrap();
        assert_eq!(
            pin(&deps, ev("alice", c, "m1", true, "d1")).await.unwrap(),
            PinOutcome::Unchanged
        );
        assert_eq!(
            pin(&deps, ev("alice", c, "m1", true, "d9")).await.unwrap(),
            PinOutcome::Unchanged
        );
        assert_eq!(
            pin(&deps, ev("bob", c, "m2", false, "d10")).await.unwrap(),
            PinOutcome::Unchanged
        );
        let all = deps.store.events(None, None).await.unwrap();
        assert_eq!(
            all.iter()
                .filter(|e| e.kind == EventKind::MessagePinned)
                .count(),
            1
        );
    }

    #[tokio::test]
    async fn someone_who_may_not_view_the_channel_cannot_pin() {
        let deps = demo_deps(Arc::new(MemoryStore::new()));
        let err = pin(&deps, ev("mallory", "#incident-prod", "m1", true, "d1"))
            .await
            .unwrap_err();
        assert!(matches!(err, PipelineError::Denied(_)), "{err}");
        let err = pin(&deps, ev("alice", "#random", "m1", true, "d2"))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("not enabled in this channel"),
            "{err}"
        );
        assert!(deps.store.events(None, None).await.unwrap().is_empty());
    }
}
