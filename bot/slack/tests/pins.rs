//! Pinned chat in HTTP mode: the pin reaction on someone's message, fetched from the fake
//! Slack's history and recorded in the channel's timeline; the reaction taken back unpins.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod common;

use common::fake::{Call, Failure};
use common::fixtures::*;
use common::world::{Options, World, world};
use vabot_commands::pins::{Pin, current_pins};
use vabot_commands::store::{EventKind, Store};

const TS: &str = "1764000300.000100";
const TEXT: &str = "p99 jumped right after the 03:00 agent-engine deploy";

fn ephemerals_to<'a>(calls: &'a [Call], user: &str) -> Vec<&'a Call> {
    calls
        .iter()
        .filter(|c| c.method == "chat.postEphemeral" && c.str("user") == Some(user))
        .collect()
}

/// Waits for the `n`th private note to `user` and returns its text.
async fn nth_note(w: &World, user: &str, n: usize) -> String {
    let calls = w
        .fake
        .wait_for(&format!("note {n} to {user}"), |c| {
            ephemerals_to(c, user).len() >= n
        })
        .await;
    ephemerals_to(&calls, user)[n - 1].text()
}

async fn pins_now(w: &World) -> Vec<Pin> {
    let events = w
        .store
        .events(Some(&format!("slack:{CHANNEL}")), None)
        .await
        .unwrap();
    current_pins(&events)
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

/// Dave's message, with one channel message before and one after it.
fn seed(w: &World) {
    w.fake.put_message(
        CHANNEL,
        history_message(DAVE, "anyone else seeing 502s?", "1764000200.000100", None),
    );
    w.fake
        .put_message(CHANNEL, history_message(DAVE, TEXT, TS, None));
    w.fake.put_message(
        CHANNEL,
        history_message(ALICE, "rolling back", "1764000400.000100", None),
    );
}

#[tokio::test]
async fn pins_by_two_people_keep_the_message_until_the_last_one_unpins() {
    let w = world(Options::default()).await;
    seed(&w);

    assert_eq!(
        w.event(&reaction_on_message(
            "Ev2PIN1", ALICE, "pushpin", CHANNEL, TS
        ))
        .await,
        200
    );
    let note = nth_note(&w, ALICE, 1).await;
    assert!(note.contains("Pinned to this channel's timeline"), "{note}");
    assert!(note.contains(&format!("<@{DAVE}>")), "{note}");
    let pins = pins_now(&w).await;
    assert_eq!(pins.len(), 1);
    let m = &pins[0].message;
    assert_eq!(m.id, TS);
    assert_eq!(m.author, DAVE);
    assert_eq!(m.text, TEXT);
    assert_eq!(m.at.timestamp(), 1_764_000_300);
    assert_eq!(m.at.timestamp_subsec_micros(), 100);
    assert_eq!(
        m.link.as_deref(),
        Some("https://voicehelper.slack.com/archives/C0INCIDENT/p1764000300000100")
    );
    assert_eq!(pins[0].pinned_by, [format!("slack:{ALICE}")]);
    // Read as Slack documents for one message: latest = its ts, inclusive, one message.
    let history = w.fake.ok_calls("conversations.history");
    assert_eq!(history[0].str("latest"), Some(TS));
    assert_eq!(history[0].str("inclusive"), Some("true"));
    assert_eq!(history[0].str("limit"), Some("1"));
    assert_eq!(history[0].str("channel"), Some(CHANNEL));
    assert!(
        w.fake.ok_calls("conversations.replies").is_empty(),
        "a channel message needs no thread lookup"
    );

    // Bob pins it too; Slack then retries his event: it counts once.
    w.event(&reaction_on_message("Ev2PIN2", BOB, "pushpin", CHANNEL, TS))
        .await;
    nth_note(&w, BOB, 1).await;
    assert_eq!(
        w.retried_event(
            &reaction_on_message("Ev2PIN2", BOB, "pushpin", CHANNEL, TS),
            1
        )
        .await,
        200
    );
    // Alice unpins: Bob's pin keeps it, and she is told so.
    w.event(&reaction_removed("Ev2UN1", ALICE, "pushpin", CHANNEL, TS))
        .await;
    let note = nth_note(&w, ALICE, 2).await;
    assert!(note.contains("stays on the timeline"), "{note}");
    assert!(note.contains(&format!("<@{BOB}>")), "{note}");
    let pins = pins_now(&w).await;
    assert_eq!(pins.len(), 1);
    assert_eq!(pins[0].pinned_by, [format!("slack:{BOB}")]);
    assert_eq!(
        count(&w, EventKind::MessagePinned).await,
        2,
        "the retried delivery pinned nothing more"
    );
    assert_eq!(ephemerals_to(&w.fake.calls(), BOB).len(), 1);

    // Bob's unpin is the last: the message leaves the timeline.
    w.event(&reaction_removed("Ev2UN2", BOB, "pushpin", CHANNEL, TS))
        .await;
    let note = nth_note(&w, BOB, 2).await;
    assert!(
        note.contains("Removed from this channel's timeline"),
        "{note}"
    );
    assert!(pins_now(&w).await.is_empty());
    assert_eq!(count(&w, EventKind::MessageUnpinned).await, 2);
    let unpin = w
        .store
        .events(None, None)
        .await
        .unwrap()
        .into_iter()
        .rfind(|e| e.kind == EventKind::MessageUnpinned)
        .unwrap();
    assert_eq!(
        unpin.data["message"]["text"], TEXT,
        "the unpin names the message as it was pinned"
    );
    assert!(
        w.fake.ok_calls("chat.postMessage").is_empty(),
        "pins say nothing in the channel"
    );
    assert_eq!(
        w.fake.ok_calls("conversations.history").len(),
        2,
        "unpins read nothing from Slack"
    );
}

#[tokio::test]
async fn a_thread_reply_is_read_through_conversations_replies_and_linked_in_its_thread() {
    let w = world(Options::default()).await;
    let parent = "1764000300.000100";
    let reply = "1764000350.000200";
    w.fake.put_message(
        CHANNEL,
        history_message(ALICE, "restarting agent-engine", parent, None),
    );
    w.fake.put_message(
        CHANNEL,
        history_message(DAVE, "restart done, errors gone", reply, Some(parent)),
    );
    w.event(&reaction_on_message(
        "Ev3PIN", CAROL, "pushpin", CHANNEL, reply,
    ))
    .await;
    let calls = w
        .fake
        .wait_for("the note", |c| !ephemerals_to(c, CAROL).is_empty())
        .await;
    let note = ephemerals_to(&calls, CAROL)[0];
    assert!(note.text().contains("Pinned"), "{}", note.text());
    assert_eq!(
        note.str("thread_ts"),
        Some(parent),
        "the note shows up in the thread the reply is in"
    );
    let replies = w.fake.ok_calls("conversations.replies");
    assert_eq!(replies[0].str("ts"), Some(reply));
    let pins = pins_now(&w).await;
    assert_eq!(pins.len(), 1, "a viewer may pin");
    assert_eq!(pins[0].message.text, "restart done, errors gone");
    assert_eq!(pins[0].message.author, DAVE);
    assert_eq!(
        pins[0].message.link.as_deref(),
        Some(
            "https://voicehelper.slack.com/archives/C0INCIDENT/p1764000350000200?thread_ts=1764000300.000100&cid=C0INCIDENT"
        )
    );
    assert_eq!(
        pins[0].channel.thread.as_ref().map(ToString::to_string),
        Some(parent.to_owned())
    );
}

#[tokio::test]
async fn pins_without_a_role_or_outside_the_policy_are_refused_privately_and_read_nothing() {
    let w = world(Options::default()).await;
    seed(&w);
    w.fake
        .put_message(RANDOM, history_message(DAVE, "lunch?", TS, None));

    w.event(&reaction_on_message(
        "Ev4MAL", MALLORY, "pushpin", CHANNEL, TS,
    ))
    .await;
    let note = nth_note(&w, MALLORY, 1).await;
    assert!(note.contains("Not allowed"), "{note}");
    assert!(note.contains("has no vabot role"), "{note}");
    assert!(note.contains("Nothing was pinned"), "{note}");

    w.event(&reaction_on_message("Ev4RND", ALICE, "pushpin", RANDOM, TS))
        .await;
    let calls = w
        .fake
        .wait_for("the refusal in #random", |c| {
            c.iter()
                .any(|c| c.method == "chat.postEphemeral" && c.str("channel") == Some(RANDOM))
        })
        .await;
    let note = calls
        .iter()
        .find(|c| c.method == "chat.postEphemeral" && c.str("channel") == Some(RANDOM))
        .unwrap();
    assert_eq!(note.str("user"), Some(ALICE));
    assert!(
        note.text().contains("not enabled in this channel"),
        "{}",
        note.text()
    );

    // Mallory takes her reaction back: there is nothing of hers to unpin, nothing is said.
    w.event(&reaction_removed(
        "Ev4MALX", MALLORY, "pushpin", CHANNEL, TS,
    ))
    .await;
    // Events are handled in arrival order on this single-threaded runtime: once the next
    // pin is answered, the removal before it has been handled (silently).
    w.event(&reaction_on_message("Ev4OK", ALICE, "pushpin", CHANNEL, TS))
        .await;
    w.fake
        .wait_for("Alice's pin", |c| {
            ephemerals_to(c, ALICE)
                .iter()
                .any(|n| n.str("channel") == Some(CHANNEL))
        })
        .await;
    assert_eq!(ephemerals_to(&w.fake.calls(), MALLORY).len(), 1);
    assert_eq!(
        w.fake.ok_calls("conversations.history").len(),
        1,
        "only the allowed pin read the message"
    );
    let pins = pins_now(&w).await;
    assert_eq!(pins.len(), 1);
    assert_eq!(pins[0].pinned_by, [format!("slack:{ALICE}")]);
    let random = w
        .store
        .events(Some(&format!("slack:{RANDOM}")), None)
        .await
        .unwrap();
    assert!(random.is_empty(), "nothing recorded for #random");
}

#[tokio::test]
async fn a_pin_on_an_approval_card_neither_votes_nor_pins() {
    let w = world(Options::default()).await;
    assert_eq!(
        w.command(
            ALICE,
            "envoyfilter delete rate-limit-filter",
            "trig.pincard"
        )
        .await,
        200
    );
    let calls = w
        .fake
        .wait_for("the approval card", |c| {
            c.iter().any(|p| {
                p.method == "chat.postMessage" && p.ok() && p.text().contains("Approval needed")
            })
        })
        .await;
    let card = calls
        .iter()
        .find(|p| p.method == "chat.postMessage" && p.text().contains("Approval needed"))
        .unwrap();
    let root = card.str("thread_ts").unwrap().to_owned();
    let pending = w
        .store
        .approvals(None, vabot_commands::approval::ApprovalStatus::Pending)
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    let card_ts = w
        .store
        .card_of(vabot_commands::model::Platform::Slack, &pending[0].id)
        .await
        .unwrap()
        .unwrap()
        .message;

    w.event(&reaction("Ev5CARD", BOB, "pushpin", CHANNEL, &card_ts))
        .await;
    let note = nth_note(&w, BOB, 1).await;
    assert!(
        note.contains("Approval cards are on the timeline"),
        "{note}"
    );
    let calls = w.fake.calls();
    assert_eq!(
        ephemerals_to(&calls, BOB)[0].str("thread_ts"),
        Some(root.as_str())
    );
    assert_eq!(w.cluster.executed(), 0);
    assert_eq!(count(&w, EventKind::Vote).await, 0);
    assert_eq!(count(&w, EventKind::VoteRefused).await, 0);
    assert_eq!(count(&w, EventKind::MessagePinned).await, 0);
    assert!(w.fake.ok_calls("conversations.history").is_empty());
}

#[tokio::test]
async fn a_pin_slack_will_not_let_the_bot_read_says_how_to_fix_it() {
    let w = world(Options::default()).await;
    seed(&w);
    w.fake
        .fail_next("conversations.history", Failure::Error("not_in_channel"));
    w.event(&reaction_on_message(
        "Ev6NIC", ALICE, "pushpin", CHANNEL, TS,
    ))
    .await;
    let note = nth_note(&w, ALICE, 1).await;
    assert!(note.contains("/invite @va"), "{note}");
    assert!(note.contains("Nothing was pinned"), "{note}");
    assert!(!note.contains("Slack API error"), "{note}");

    // A deleted message: neither history nor the thread lookup has it.
    w.event(&reaction_on_message(
        "Ev6GONE",
        ALICE,
        "pushpin",
        CHANNEL,
        "1764000250.000100",
    ))
    .await;
    let note = nth_note(&w, ALICE, 2).await;
    assert!(note.contains("no such message"), "{note}");
    assert!(pins_now(&w).await.is_empty());
    assert_eq!(count(&w, EventKind::MessagePinned).await, 0);
}
