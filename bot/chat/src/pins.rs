//! The 📌 flow, whatever the platform: a pin reaction on a message pins it into the
//! channel's timeline (`vabot_commands::pins`), taking it back unpins it.
//!
//! Adding: a pin on an approval card is neither a vote nor a second copy; the person
//! must be allowed to view the channel (checked *before* the message is read); the
//! message is fetched from the platform (a [`MessageSource`]); then recorded. Removing:
//! the message is taken from the timeline as it was pinned (nothing is fetched, so an
//! unpin works after a deletion), and only the person's own pin is removed. What to tell
//! the person is a [`PinReply`] each adapter words in its own way.

use async_trait::async_trait;
use tracing::debug;
use vabot_commands::error::PipelineError;
use vabot_commands::model::{Actor, ChannelRef, DeliveryId, Platform, ThreadId};
use vabot_commands::pins::{self, ChatMessage, PinEvent, PinOutcome};
use vabot_commands::pipeline::Deps;
use vabot_commands::store::{AuditEvent, EventKind};

/// A message as the platform returned it.
pub enum Fetched {
    /// The message, and the thread it belongs to (if the platform reports it there).
    Message(ChatMessage, Option<ThreadId>),
    /// The platform has no such message any more.
    Gone,
    /// It could not be read: what to tell the person (never a library error).
    Unreadable(String),
}

/// How an adapter reads the reacted message.
#[async_trait]
pub trait MessageSource: Send + Sync {
    async fn fetch(&self) -> Fetched;
}

/// How the pin event is identified, so a redelivered reaction counts once.
pub enum PinDelivery {
    /// The platform's own delivery id (Slack's `event_id`).
    Given(String),
    /// Made from `prefix` and how many pins and unpins of the message by the person the
    /// timeline holds (Discord gives reactions no id): a repeated event gets the same id,
    /// while pin → unpin → pin again are three.
    Counted(String),
}

/// What became of a pin or an unpin, for the adapter to tell the person.
#[derive(Debug)]
pub enum PinReply {
    /// A pin on an approval card: the card is on the timeline already.
    OnApprovalCard {
        thread: Option<String>,
    },
    /// Refused (no role, outside the policy) or failed (the store): in the pipeline's
    /// words, with what it means ("Nothing was pinned.").
    Refused {
        error: PipelineError,
        consequence: &'static str,
    },
    Gone,
    Unreadable(String),
    Pinned {
        message: ChatMessage,
        thread: Option<ThreadId>,
    },
    Unpinned {
        message: ChatMessage,
        /// Who still pins it (`platform:user` keys).
        others: Vec<String>,
        thread: Option<ThreadId>,
    },
    /// A repeat of something already recorded, or an unpin of a message this person does
    /// not pin: nothing to say.
    Nothing,
}

/// A pin reaction added by `actor` on `message_id`, which is posted in the platform
/// channel `posted_in` (a Discord thread's own id) and belongs to `place` (what the
/// policy judges: a thread is its parent channel).
pub async fn add(
    deps: &Deps,
    actor: Actor,
    mut place: ChannelRef,
    posted_in: &str,
    message_id: &str,
    source: &dyn MessageSource,
    delivery: PinDelivery,
) -> PinReply {
    if let Ok(Some(p)) = deps
        .store
        .posted(place.platform, posted_in, message_id)
        .await
        && p.approval.is_some()
    {
        return PinReply::OnApprovalCard { thread: p.thread };
    }
    if let Err(error) = pins::may_pin(deps, &actor, &place) {
        return refused(error, "Nothing was pinned.");
    }
    let (message, thread) = match source.fetch().await {
        Fetched::Message(m, t) => (m, t),
        Fetched::Gone => return PinReply::Gone,
        Fetched::Unreadable(why) => return PinReply::Unreadable(why),
    };
    if thread.is_some() {
        place.thread = thread.clone();
    }
    let delivery = match delivery_id(deps, &place, message_id, &actor, delivery, "pin").await {
        Ok(d) => d,
        Err(error) => return refused(error, "Nothing was pinned."),
    };
    let ev = PinEvent {
        actor,
        channel: place.clone(),
        message: message.clone(),
        pinned: true,
        delivery,
    };
    match pins::pin(deps, ev).await {
        Ok(PinOutcome::Pinned) => PinReply::Pinned {
            message,
            thread: place.thread,
        },
        Ok(_) => {
            debug!(message = %message_id, "Pin already recorded");
            PinReply::Nothing
        }
        Err(error) => refused(error, "Nothing was pinned."),
    }
}

/// A pin reaction taken back.
pub async fn remove(
    deps: &Deps,
    actor: Actor,
    place: &ChannelRef,
    message_id: &str,
    delivery: PinDelivery,
) -> PinReply {
    let events = match deps.store.events(Some(&place.key()), None).await {
        Ok(e) => e,
        Err(error) => return refused(error.into(), "The pin stays on the timeline."),
    };
    let me = actor.key();
    let Some(pin) = pins::current_pins(&events)
        .into_iter()
        .find(|p| p.message.id == message_id && p.pinned_by.contains(&me))
    else {
        // Not pinned by this person (e.g. their pin was refused): nothing to undo.
        return PinReply::Nothing;
    };
    let delivery = match delivery {
        PinDelivery::Given(id) => DeliveryId::new(id),
        PinDelivery::Counted(prefix) => DeliveryId::new(format!(
            "{prefix}:unpin:{}",
            toggles(&events, message_id, &me)
        )),
    };
    let others: Vec<String> = pin
        .pinned_by
        .iter()
        .filter(|k| **k != me)
        .cloned()
        .collect();
    let ev = PinEvent {
        actor,
        channel: pin.channel.clone(),
        message: pin.message.clone(),
        pinned: false,
        delivery,
    };
    match pins::pin(deps, ev).await {
        Ok(PinOutcome::Unpinned) => PinReply::Unpinned {
            message: pin.message,
            others,
            thread: pin.channel.thread,
        },
        Ok(_) => {
            debug!(message = %message_id, "Unpin already recorded");
            PinReply::Nothing
        }
        Err(error) => refused(error, "The pin stays on the timeline."),
    }
}

fn refused(error: PipelineError, consequence: &'static str) -> PinReply {
    PinReply::Refused { error, consequence }
}

async fn delivery_id(
    deps: &Deps,
    place: &ChannelRef,
    message: &str,
    actor: &Actor,
    d: PinDelivery,
    verb: &str,
) -> Result<DeliveryId, PipelineError> {
    Ok(match d {
        PinDelivery::Given(id) => DeliveryId::new(id),
        PinDelivery::Counted(prefix) => {
            let events = deps.store.events(Some(&place.key()), None).await?;
            DeliveryId::new(format!(
                "{prefix}:{verb}:{}",
                toggles(&events, message, &actor.key())
            ))
        }
    })
}

/// How many pins and unpins of `message` by `actor` a channel's events hold.
pub fn toggles(events: &[AuditEvent], message: &str, actor: &str) -> usize {
    events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::MessagePinned | EventKind::MessageUnpinned
            )
        })
        .filter(|e| e.data["message"]["id"].as_str() == Some(message))
        .filter(|e| e.actor.as_ref().map(|a| a.key()).as_deref() == Some(actor))
        .count()
}

/// `platform:user` keys of who still pins, for a note; the platform prefix dropped.
pub fn users_of(keys: &[String], platform: Platform) -> Vec<String> {
    let prefix = format!("{platform}:");
    keys.iter()
        .map(|k| k.strip_prefix(&prefix).unwrap_or(k).to_owned())
        .collect()
}
