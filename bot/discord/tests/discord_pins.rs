//! Pinned chat through the fake Discord: 📌 on someone's message, fetched over REST and
//! recorded in the channel's timeline; the reaction taken back unpins it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod support;

use std::time::Duration;

use support::fake::Call;
use support::*;
use vabot_commands::pins::{Pin, current_pins};
use vabot_commands::store::{EventKind, Store};

const PIN: &str = "📌";
const AUTHOR: u64 = 1005;
/// Has neither a user entry nor a role.
const NOBODY: u64 = 1009;
/// A channel the bot sees that the policy does not name.
const LOUNGE: u64 = 3999;
const MSG: u64 = 5001;
const TEXT: &str = "primary failed over to replica-2 at 03:58";

async fn pins_now(w: &World) -> Vec<Pin> {
    let events = w
        .store
        .events(Some(&format!("discord:{CHANNEL}")), None)
        .await
        .unwrap();
    current_pins(&events)
}

/// Waits (up to 10 s) until the channel's pins satisfy `pred`.
async fn pins_until(w: &World, what: &str, pred: impl Fn(&[Pin]) -> bool) -> Vec<Pin> {
    for _ in 0..500 {
        let pins = pins_now(w).await;
        if pred(&pins) {
            return pins;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "timed out waiting for {what}; pins: {:#?}",
        pins_now(w).await
    );
}

async fn count(w: &World, kind: EventKind) -> usize {
    w.store
        .events(None, None)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == kind)
        .count()
}

fn pinners(p: &Pin) -> Vec<String> {
    p.pinned_by.clone()
}

/// The bot deleted `user`'s 📌 on `message`.
fn took_back(c: &Call, channel: u64, message: u64, user: u64) -> bool {
    c.method == "DELETE"
        && c.path.starts_with(&format!(
            "/channels/{channel}/messages/{message}/reactions/"
        ))
        && c.path.ends_with(&format!("/{user}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pins_by_two_members_keep_a_message_until_the_last_one_takes_the_pin_back() {
    let w = start().await;
    w.fake.put_message(CHANNEL, MSG, AUTHOR, TEXT);

    w.react(OPERATOR, &[], CHANNEL, MSG, PIN);
    let pins = pins_until(&w, "the first pin", |p| p.len() == 1).await;
    let m = &pins[0].message;
    assert_eq!(m.id, MSG.to_string());
    assert_eq!(m.author, AUTHOR.to_string());
    assert_eq!(m.author_name.as_deref(), Some("User 1005"));
    assert_eq!(m.text, TEXT);
    assert_eq!(m.at.to_rfc3339(), "2026-11-25T03:58:30.125+00:00");
    assert_eq!(
        m.link.as_deref(),
        Some(format!("https://discord.com/channels/333/{CHANNEL}/{MSG}").as_str())
    );
    assert_eq!(pinners(&pins[0]), [format!("discord:{OPERATOR}")]);
    assert_eq!(
        w.calls_to(|c| c.is("GET", &format!("/channels/{CHANNEL}/messages/{MSG}")))
            .len(),
        1
    );

    // An approver through a role only pins too; the same event twice counts once.
    w.react(ROLE_HOLDER, &[APPROVER_ROLE], CHANNEL, MSG, PIN);
    w.react(ROLE_HOLDER, &[APPROVER_ROLE], CHANNEL, MSG, PIN);
    pins_until(&w, "the second pin", |p| {
        p.first().is_some_and(|p| p.pinned_by.len() == 2)
    })
    .await;
    w.fake
        .wait_until("both copies handled", || {
            w.calls_to(|c| c.is("GET", &format!("/channels/{CHANNEL}/messages/{MSG}")))
                .len()
                == 3
        })
        .await;
    // Give the second copy time to finish; it must not have recorded a second pin.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(count(&w, EventKind::MessagePinned).await, 2);

    // The operator takes his 📌 back: the role holder's pin keeps the message.
    w.unreact(OPERATOR, CHANNEL, MSG, PIN);
    let pins = pins_until(&w, "the first unpin", |p| {
        p.first().is_some_and(|p| p.pinned_by.len() == 1)
    })
    .await;
    assert_eq!(pinners(&pins[0]), [format!("discord:{ROLE_HOLDER}")]);

    // The role holder's removal carries no member: the bot asks the guild for the roles.
    w.fake.set_roles(ROLE_HOLDER, &[APPROVER_ROLE]);
    w.unreact(ROLE_HOLDER, CHANNEL, MSG, PIN);
    pins_until(&w, "the last unpin", <[Pin]>::is_empty).await;
    assert!(
        !w.calls_to(|c| c.is("GET", &format!("/guilds/333/members/{ROLE_HOLDER}")))
            .is_empty()
    );
    assert_eq!(count(&w, EventKind::MessageUnpinned).await, 2);

    // And pinning it again after all that is a new pin, not a redelivery.
    w.react(OPERATOR, &[], CHANNEL, MSG, PIN);
    pins_until(&w, "the pin again", |p| p.len() == 1).await;
    assert_eq!(count(&w, EventKind::MessagePinned).await, 3);

    assert!(
        w.calls_to(|c| c.is("POST", &format!("/channels/{CHANNEL}/messages")))
            .is_empty(),
        "pins say nothing in the channel"
    );
    assert!(
        w.calls_to(|c| c.is("POST", "/users/@me/channels"))
            .is_empty()
    );
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_in_a_thread_is_judged_by_the_parent_channel_and_links_to_the_thread() {
    let w = start().await;
    let thread = 7001;
    w.fake.put_thread(thread, CHANNEL);
    w.fake
        .put_message(thread, 5101, AUTHOR, "rollback finished");
    w.fake
        .put_message(thread, 5102, AUTHOR, "error rate back to 0.1%");
    w.react(VIEWER, &[], thread, 5101, PIN);
    w.react(VIEWER, &[], thread, 5102, PIN);
    let pins = pins_until(&w, "both pins", |p| p.len() == 2).await;
    let first = pins.iter().find(|p| p.message.id == "5101").unwrap();
    assert_eq!(first.channel.key(), format!("discord:{CHANNEL}"));
    assert_eq!(
        first.channel.thread.as_ref().map(ToString::to_string),
        Some(thread.to_string())
    );
    assert_eq!(
        first.message.link.as_deref(),
        Some(format!("https://discord.com/channels/333/{thread}/5101").as_str())
    );
    assert!(
        !w.calls_to(|c| c.method == "GET" && c.path == format!("/channels/{thread}"))
            .is_empty(),
        "the thread's parent came from Discord"
    );
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pins_without_a_role_or_outside_the_policy_are_refused_by_direct_message() {
    let w = start().await;
    w.fake.put_message(CHANNEL, MSG, AUTHOR, TEXT);
    w.fake.put_message(LOUNGE, 5201, AUTHOR, "lunch?");
    w.fake.put_message(LOUNGE, 5202, AUTHOR, "anyone?");

    w.react(NOBODY, &[], CHANNEL, MSG, PIN);
    w.fake
        .wait_until("the refusal", || !w.fake.dms_to(NOBODY).is_empty())
        .await;
    let dm = &w.fake.dms_to(NOBODY)[0];
    assert!(dm.contains("Not allowed"), "{dm}");
    assert!(dm.contains("has no vabot role"), "{dm}");
    assert!(dm.contains("Nothing was pinned"), "{dm}");
    assert!(
        dm.contains(&format!("https://discord.com/channels/333/{CHANNEL}/{MSG}")),
        "{dm}"
    );
    // The refused 📌 is taken back, so the message does not look pinned.
    w.fake
        .wait_for("the reaction taken back", |c| {
            took_back(c, CHANNEL, MSG, NOBODY)
        })
        .await;

    w.react(OPERATOR, &[], LOUNGE, 5201, PIN);
    w.fake
        .wait_until("the lounge refusal", || !w.fake.dms_to(OPERATOR).is_empty())
        .await;
    let dm = &w.fake.dms_to(OPERATOR)[0];
    assert!(dm.contains("not enabled in this channel"), "{dm}");
    // Told once per channel; and a channel outside the policy keeps its reactions.
    w.react(OPERATOR, &[], LOUNGE, 5202, PIN);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.fake.dms_to(OPERATOR).len(), 1);
    assert!(
        w.calls_to(|c| took_back(c, LOUNGE, 5201, OPERATOR) || took_back(c, LOUNGE, 5202, OPERATOR))
            .is_empty()
    );

    assert!(
        w.calls_to(|c| c.method == "GET" && c.path.contains("/messages/"))
            .is_empty(),
        "no message was read for a refused pin"
    );
    assert!(w.store.events(None, None).await.unwrap().is_empty());
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_on_an_approval_card_neither_votes_nor_pins() {
    let w = start().await;
    let (thread, card, _) = w.open_approval().await;
    w.react(APPROVER, &[], thread, card, PIN);
    w.fake
        .wait_until("the note", || !w.fake.dms_to(APPROVER).is_empty())
        .await;
    let dm = &w.fake.dms_to(APPROVER)[0];
    assert!(dm.contains("Approval cards are on the timeline"), "{dm}");
    assert_eq!(w.cluster.executed(), 0);
    assert_eq!(count(&w, EventKind::Vote).await, 0);
    assert_eq!(count(&w, EventKind::VoteRefused).await, 0);
    assert_eq!(count(&w, EventKind::MessagePinned).await, 0);
    assert!(
        w.calls_to(|c| c.method == "GET" && c.path.contains("/messages/"))
            .is_empty()
    );
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_the_bot_cannot_read_is_explained_and_its_pin_taken_back() {
    let w = start().await;
    w.fake.put_message(CHANNEL, MSG, AUTHOR, TEXT);
    w.fake.forbid_reading(CHANNEL);
    w.react(OPERATOR, &[], CHANNEL, MSG, PIN);
    w.fake
        .wait_until("the explanation", || !w.fake.dms_to(OPERATOR).is_empty())
        .await;
    let dm = &w.fake.dms_to(OPERATOR)[0];
    assert!(dm.contains("Read Message History"), "{dm}");
    assert!(!dm.contains("Missing Access"), "no raw Discord error: {dm}");
    w.fake
        .wait_for("the reaction taken back", |c| {
            took_back(c, CHANNEL, MSG, OPERATOR)
        })
        .await;
    assert!(pins_now(&w).await.is_empty());
    assert_eq!(count(&w, EventKind::MessagePinned).await, 0);
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pin_on_a_deleted_message_says_so() {
    let w = start().await;
    w.react(VIEWER, &[], CHANNEL, 5999, PIN);
    w.fake
        .wait_until("the note", || !w.fake.dms_to(VIEWER).is_empty())
        .await;
    let dm = &w.fake.dms_to(VIEWER)[0];
    assert!(dm.contains("no such message"), "{dm}");
    assert!(pins_now(&w).await.is_empty());
    w.stop().await;
}
