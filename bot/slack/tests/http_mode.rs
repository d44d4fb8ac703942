//! The bot in HTTP mode against the fake Slack: signed requests through the router,
//! replies through the Web API client.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fake::{Call, Failure};
use common::fixtures::*;
use common::world::{Options, World, world};
use serde_json::Value;
use slack_morphism::prelude::SlackCommandEvent;
use vabot_commands::model::{DeliveryId, Platform};
use vabot_commands::ports::Clock;
use vabot_commands::store::{Delivery, Store};
use vabot_slack::Job;

fn posts(calls: &[Call]) -> Vec<&Call> {
    calls
        .iter()
        .filter(|c| c.method == "chat.postMessage" && c.ok())
        .collect()
}

/// The approval id on the card's Approve button.
fn approval_of(card: &Call) -> String {
    card.body["blocks"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["type"] == "actions"))
        .and_then(|a| a["elements"][0]["value"].as_str())
        .expect("the card has an Approve button")
        .to_owned()
}

/// Runs a destructive command and returns (root ts, card call).
async fn open_card(w: &World, trigger: &str) -> (String, Call) {
    assert_eq!(
        w.command(ALICE, "envoyfilter delete rate-limit-filter", trigger)
            .await,
        200
    );
    let calls = w
        .fake
        .wait_for("the approval card", |c| {
            posts(c)
                .iter()
                .any(|p| p.text().contains("Approval needed"))
        })
        .await;
    let card = posts(&calls)
        .into_iter()
        .rev()
        .find(|p| p.text().contains("Approval needed"))
        .expect("card")
        .clone();
    let root = card
        .str("thread_ts")
        .expect("the card is in a thread")
        .to_owned();
    (root, card)
}

async fn ts_of_card(w: &World, approval: &str) -> String {
    use vabot_commands::model::{Platform, ShortId};
    use vabot_commands::store::Store;
    let id = ShortId::parse('a', approval).expect("approval id");
    w.store
        .card_of(Platform::Slack, &id)
        .await
        .expect("store")
        .expect("card recorded")
        .message
}

#[tokio::test]
async fn a_command_posts_a_root_message_naming_who_ran_what_then_answers_in_its_thread() {
    let w = world(Options::default()).await;
    assert_eq!(
        w.command(ALICE, "scale agent-engine 3", "trig.scale").await,
        200
    );
    let calls = w.fake.wait_for("the result", |c| posts(c).len() >= 2).await;
    let p = posts(&calls);
    assert_eq!(p[0].str("channel"), Some(CHANNEL));
    assert_eq!(
        p[0].str("thread_ts"),
        None,
        "the root message is in the channel"
    );
    assert!(
        p[0].text()
            .contains("<@U0ALICE> ran `/va scale agent-engine 3`"),
        "{}",
        p[0].text()
    );
    assert!(
        p[1].str("thread_ts").is_some(),
        "the result is a thread reply"
    );
    assert!(
        p[1].text().contains("Scaled Deployment") && p[1].text().contains("2 → 3"),
        "{}",
        p[1].text()
    );
    assert_eq!(w.cluster.executed(), 1);
    assert_eq!(w.topology.replicas("agent-engine").await, 3);
    assert_eq!(p[0].auth.as_deref(), Some("Bearer xoxb-test-bot-token"));
}

#[tokio::test]
async fn a_mention_inside_a_thread_is_answered_in_that_thread() {
    let w = world(Options::default()).await;
    assert_eq!(
        w.event(&mention(
            "Ev0MENTION",
            ALICE,
            "scale agent-engine 4",
            "1764000500.000200",
            Some("1764000400.000100")
        ))
        .await,
        200
    );
    let calls = w.fake.wait_for("the reply", |c| !posts(c).is_empty()).await;
    let p = posts(&calls);
    assert_eq!(p.len(), 1, "no root message for a mention");
    assert_eq!(p[0].str("thread_ts"), Some("1764000400.000100"));
    assert!(p[0].text().contains("2 → 4"), "{}", p[0].text());
    assert_eq!(w.topology.replicas("agent-engine").await, 4);
}

#[tokio::test]
async fn a_destructive_command_runs_only_after_an_eligible_approver_reacts_and_the_card_is_updated()
{
    let w = world(Options::default()).await;
    let (root, card) = open_card(&w, "trig.delete").await;
    let approval = approval_of(&card);
    let card_ts = ts_of_card(&w, &approval).await;
    assert_eq!(w.cluster.executed(), 0, "nothing runs before the approval");
    assert!(w.topology.envoy_filter_exists("rate-limit-filter").await);
    insta::assert_json_snapshot!("approval_card_payload", redact(&w, &card.body));

    // The requester, then a viewer: refused, privately, and nothing runs.
    w.event(&reaction(
        "Ev0SELF",
        ALICE,
        "white_check_mark",
        CHANNEL,
        &card_ts,
    ))
    .await;
    w.event(&reaction(
        "Ev0VIEW",
        CAROL,
        "white_check_mark",
        CHANNEL,
        &card_ts,
    ))
    .await;
    let calls = w
        .fake
        .wait_for("two refusals", |c| {
            c.iter()
                .filter(|c| c.method == "chat.postEphemeral")
                .count()
                >= 2
        })
        .await;
    let eph: Vec<&Call> = calls
        .iter()
        .filter(|c| c.method == "chat.postEphemeral")
        .collect();
    assert_eq!(eph[0].str("user"), Some(ALICE));
    assert!(
        eph[0].text().contains("Vote not counted"),
        "{}",
        eph[0].text()
    );
    assert_eq!(eph[1].str("user"), Some(CAROL));
    assert!(
        eph[1].text().contains("Vote not counted"),
        "{}",
        eph[1].text()
    );
    assert_eq!(eph[0].str("thread_ts"), Some(root.as_str()));
    assert_eq!(w.cluster.executed(), 0);

    // A reaction that is not the approve emoji is just a reaction.
    w.event(&reaction("Ev0EYES", BOB, "eyes", CHANNEL, &card_ts))
        .await;

    // Bob approves: it runs once, the result lands in the thread, the card is updated.
    w.event(&reaction(
        "Ev0BOB",
        BOB,
        "white_check_mark",
        CHANNEL,
        &card_ts,
    ))
    .await;
    let calls = w
        .fake
        .wait_for("the result and the card update", |c| {
            posts(c)
                .iter()
                .any(|p| p.text().contains("Deleted EnvoyFilter"))
                && c.iter()
                    .any(|u| u.method == "chat.update" && u.str("ts") == Some(card_ts.as_str()))
        })
        .await;
    let result = posts(&calls)
        .into_iter()
        .find(|p| p.text().contains("Deleted EnvoyFilter"))
        .expect("result");
    assert_eq!(result.str("thread_ts"), Some(root.as_str()));
    let update = calls
        .iter()
        .find(|u| u.method == "chat.update" && u.str("ts") == Some(card_ts.as_str()))
        .expect("update");
    assert!(update.text().contains("executed"), "{}", update.text());
    assert!(
        !update.text().contains("\"actions\""),
        "the decided card has no buttons"
    );
    assert_eq!(w.cluster.executed(), 1);
    assert!(
        !w.topology.envoy_filter_exists("rate-limit-filter").await,
        "the EnvoyFilter is gone from the cluster"
    );

    // Slack redelivers Bob's reaction (X-Slack-Retry-Num): acked, nothing runs again.
    assert_eq!(
        w.retried_event(
            &reaction("Ev0BOB", BOB, "white_check_mark", CHANNEL, &card_ts),
            1
        )
        .await,
        200
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.cluster.executed(), 1);
}

#[tokio::test]
async fn a_reaction_after_expiry_is_refused_privately() {
    let w = world(Options::default()).await;
    let (_, card) = open_card(&w, "trig.expire").await;
    let card_ts = ts_of_card(&w, &approval_of(&card)).await;
    w.clock.advance(chrono::Duration::minutes(16));
    w.event(&reaction(
        "Ev0LATE",
        BOB,
        "white_check_mark",
        CHANNEL,
        &card_ts,
    ))
    .await;
    let calls = w
        .fake
        .wait_for("the refusal", |c| {
            c.iter().any(|c| c.method == "chat.postEphemeral")
        })
        .await;
    let eph = calls
        .iter()
        .find(|c| c.method == "chat.postEphemeral")
        .expect("ephemeral");
    assert_eq!(eph.str("user"), Some(BOB));
    assert!(
        eph.text().to_lowercase().contains("expired"),
        "{}",
        eph.text()
    );
    assert_eq!(w.cluster.executed(), 0);
}

#[tokio::test]
async fn the_approve_button_votes_like_a_reaction_and_a_repeated_click_counts_once() {
    let w = world(Options::default()).await;
    let (root, card) = open_card(&w, "trig.button").await;
    let approval = approval_of(&card);
    let card_ts = ts_of_card(&w, &approval).await;
    let click = button(
        BOB,
        "approve",
        &approval,
        &card_ts,
        &root,
        "1764000600.000001",
    );
    assert_eq!(w.interaction(&click).await, 200);
    assert_eq!(w.interaction(&click).await, 200);
    w.fake
        .wait_for("the result", |c| {
            posts(c)
                .iter()
                .any(|p| p.text().contains("Deleted EnvoyFilter"))
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.cluster.executed(), 1);
    let calls = w.fake.calls();
    assert!(
        calls
            .iter()
            .any(|u| u.method == "chat.update" && u.str("ts") == Some(card_ts.as_str()))
    );
}

#[tokio::test]
async fn a_retried_command_delivery_runs_once() {
    let w = world(Options::default()).await;
    assert_eq!(
        w.event(&mention(
            "Ev0TWICE",
            ALICE,
            "scale agent-engine 5",
            "1764000700.000100",
            Some("1764000400.000100")
        ))
        .await,
        200
    );
    assert_eq!(
        w.retried_event(
            &mention(
                "Ev0TWICE",
                ALICE,
                "scale agent-engine 5",
                "1764000700.000100",
                Some("1764000400.000100")
            ),
            1
        )
        .await,
        200
    );
    // One change at a time on the real Deployment: the second would see the first's
    // generation and ask to be run again.
    w.fake
        .wait_for("the first result", |c| {
            posts(c)
                .iter()
                .any(|p| p.text().contains("Scaled Deployment"))
        })
        .await;
    assert_eq!(
        w.command(ALICE, "scale agent-engine 6", "trig.same").await,
        200
    );
    assert_eq!(
        w.command(ALICE, "scale agent-engine 6", "trig.same").await,
        200
    );
    w.fake
        .wait_for("both results", |c| {
            posts(c)
                .iter()
                .filter(|p| p.text().contains("Scaled Deployment"))
                .count()
                >= 2
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        w.cluster.executed(),
        2,
        "one execution per distinct delivery"
    );
    assert_eq!(w.topology.replicas("agent-engine").await, 6);
    assert_eq!(
        posts(&w.fake.calls()).len(),
        3,
        "one reply to the mention, one root and one reply for the command"
    );
}

#[tokio::test]
async fn a_typo_is_answered_privately_without_a_public_thread() {
    let w = world(Options::default()).await;
    w.command(ALICE, "scael agent-engine 3", "trig.typo").await;
    let calls = w
        .fake
        .wait_for("the ephemeral", |c| {
            c.iter().any(|c| c.method == "chat.postEphemeral")
        })
        .await;
    assert!(posts(&calls).is_empty());
    let eph = calls
        .iter()
        .find(|c| c.method == "chat.postEphemeral")
        .expect("ephemeral");
    assert_eq!(eph.str("user"), Some(ALICE));
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after_and_the_message_arrives_once() {
    let w = world(Options::default()).await;
    w.fake.fail_next(
        "chat.postMessage",
        Failure::RateLimited {
            retry_after_secs: 1,
        },
    );
    w.command(ALICE, "scale agent-engine 3", "trig.429").await;
    let calls = w.fake.wait_for("the result", |c| posts(c).len() >= 2).await;
    let all: Vec<&Call> = calls
        .iter()
        .filter(|c| c.method == "chat.postMessage")
        .collect();
    assert_eq!(all[0].status, 429);
    assert_eq!(all[1].status, 200);
    let waited = all[1].at - all[0].at;
    assert!(
        waited >= Duration::from_millis(1000),
        "retried after {waited:?}, before Retry-After"
    );
    let roots = posts(&calls)
        .into_iter()
        .filter(|p| p.text().contains("ran `/va scale"))
        .count();
    assert_eq!(roots, 1, "the message arrives once");
}

#[tokio::test]
async fn a_500_from_slack_is_logged_and_the_bot_keeps_working() {
    let w = world(Options::default()).await;
    w.fake.fail_next("chat.postMessage", Failure::ServerError);
    w.command(ALICE, "scale agent-engine 3", "trig.500").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Without its root message the command is not run (nowhere to report it).
    assert_eq!(w.cluster.executed(), 0);
    w.command(ALICE, "scale agent-engine 3", "trig.after500")
        .await;
    w.fake.wait_for("the result", |c| posts(c).len() >= 2).await;
    assert_eq!(w.cluster.executed(), 1);
}

#[tokio::test]
async fn messages_to_one_channel_are_paced() {
    let w = world(Options {
        pace_ms: 300,
        ..Options::default()
    })
    .await;
    w.command(ALICE, "scale agent-engine 3", "trig.pace").await;
    let calls = w.fake.wait_for("the result", |c| posts(c).len() >= 2).await;
    let p = posts(&calls);
    let gap = p[1].at - p[0].at;
    assert!(
        gap >= Duration::from_millis(290),
        "two messages {gap:?} apart"
    );
}

#[tokio::test]
async fn a_slow_command_shows_progress_that_is_updated_in_place_with_the_result() {
    let w = world(Options {
        progress_after_ms: 100,
        slow_execute: Duration::from_millis(600),
        ..Options::default()
    })
    .await;
    w.command(ALICE, "scale agent-engine 3", "trig.slow").await;
    let calls = w
        .fake
        .wait_for("the update", |c| {
            c.iter().any(|u| {
                u.method == "chat.update"
                    && u.text().contains("Scaled Deployment")
                    && u.text().contains("2 → 3")
            })
        })
        .await;
    let p = posts(&calls);
    assert_eq!(p.len(), 2, "root and placeholder");
    assert!(p[1].text().contains("Working on"), "{}", p[1].text());
    assert_eq!(w.cluster.executed(), 1);
    assert_eq!(w.topology.replicas("agent-engine").await, 3);
}

#[tokio::test]
async fn files_go_up_through_the_external_upload_flow_into_the_thread() {
    use vabot_commands::message::Attachment;
    use vabot_slack::outbound::{Outbound, client};
    let w = world(Options::default()).await;
    let c = Arc::new(client(&w.fake.api_base()).expect("client"));
    let out = Outbound::new(
        c,
        slack_morphism::prelude::SlackApiToken::new("xoxb-test-bot-token".to_owned().into()),
        Duration::from_millis(10),
    );
    let chart = Attachment {
        filename: "p99.png".into(),
        mime: "image/png".into(),
        bytes: vec![1, 2, 3, 4, 5],
        title: "p99".into(),
    };
    out.upload(CHANNEL, Some("1764000400.000100"), &chart)
        .await
        .expect("upload");
    let calls = w.fake.calls();
    let methods: Vec<&str> = calls.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(
        methods,
        ["files.getUploadURLExternal", "files.completeUploadExternal"]
    );
    assert_eq!(calls[0].str("filename"), Some("p99.png"));
    assert_eq!(calls[1].str("thread_ts"), Some("1764000400.000100"));
    assert_eq!(calls[1].str("channel_id"), Some(CHANNEL));
    assert_eq!(w.fake.uploads().len(), 1);
    assert_eq!(w.fake.uploads()[0].1, 5);
}

/// Replaces random ids so the snapshot is stable.
fn redact(w: &World, v: &Value) -> Value {
    // The topology's namespaces are the test's own; the payload's shape is not.
    let text = w.topology.rename_back(&v.to_string());
    let b: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if i + 8 <= b.len()
            && (b[i] == 'a' || b[i] == 'i')
            && b[i + 1] == '-'
            && b[i + 2..i + 8]
                .iter()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
        {
            out.push(b[i]);
            out.push_str("-[id]");
            i += 8;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    let mut v: Value = serde_json::from_str(&out).expect("json");
    if let Some(o) = v.as_object_mut() {
        o.insert("thread_ts".into(), Value::String("[ts]".into()));
    }
    v
}

#[tokio::test]
async fn long_output_is_previewed_in_the_thread_and_uploaded_whole_as_a_file() {
    let w = world(Options::default()).await;
    let help = vabot_commands::grammar::help_all();
    assert!(
        help.chars().count() > 2800,
        "the help text is short enough to inline; this test needs a long output"
    );
    w.command(ALICE, "help", "trig.help").await;
    let calls = w
        .fake
        .wait_for("the upload", |c| {
            c.iter().any(|c| c.method == "files.completeUploadExternal")
        })
        .await;
    let reply = posts(&calls).into_iter().nth(1).expect("reply").clone();
    let done = calls
        .iter()
        .find(|c| c.method == "files.completeUploadExternal")
        .expect("complete");
    assert_eq!(
        done.str("thread_ts"),
        reply.str("thread_ts"),
        "the file goes into the command's thread"
    );
    assert!(reply.at < done.at, "the file follows its message");
    assert_eq!(w.fake.uploads()[0].1, help.len());
}

#[tokio::test]
async fn every_ack_of_a_burst_meets_slacks_deadline() {
    use tower::ServiceExt;
    let w = world(Options::default()).await;
    let mut handles = Vec::new();
    // 200 signed commands in flight at once; each ack is timed on its own.
    for n in 0..200 {
        let req = w.signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            slash_form(ALICE, "scale agent-engine 3", &format!("trig.burst.{n}")),
        );
        let router = w.router.clone();
        handles.push(tokio::spawn(async move {
            let t = std::time::Instant::now();
            let status = router.oneshot(req).await.expect("router").status().as_u16();
            (status, t.elapsed())
        }));
    }
    let mut times = Vec::new();
    for h in handles {
        let (status, t) = h.await.expect("task");
        assert_eq!(status, 200);
        times.push(t);
    }
    // Every one inside Slack's 3 s deadline; the latency figures are benchmarks.
    let slowest = times.iter().max().copied().unwrap_or_default();
    assert!(
        slowest < Duration::from_secs(3),
        "the slowest ack took {slowest:?}, past Slack's deadline"
    );
}

#[tokio::test]
async fn the_deny_reaction_closes_the_request_without_running_it() {
    let w = world(Options::default()).await;
    let (root, card) = open_card(&w, "trig.deny").await;
    let card_ts = ts_of_card(&w, &approval_of(&card)).await;
    w.event(&reaction("Ev0DENY", BOB, "x", CHANNEL, &card_ts))
        .await;
    let calls = w
        .fake
        .wait_for("the card update", |c| {
            c.iter()
                .any(|u| u.method == "chat.update" && u.str("ts") == Some(card_ts.as_str()))
        })
        .await;
    let update = calls
        .iter()
        .find(|u| u.method == "chat.update")
        .expect("update");
    assert!(update.text().contains("denied"), "{}", update.text());
    let note = posts(&calls)
        .into_iter()
        .find(|p| p.text().contains("nothing was changed"))
        .expect("denial in the thread");
    assert_eq!(note.str("thread_ts"), Some(root.as_str()));
    assert_eq!(w.cluster.executed(), 0);
}

#[tokio::test]
async fn a_command_that_cannot_be_recorded_is_refused_in_the_ack_and_never_run() {
    let w = world(Options::default()).await;
    w.store.set_unavailable(true);
    let form = slash_form(ALICE, "scale agent-engine 5", "trig.nostore");
    let (status, body) = w
        .send(w.signed("/slack/commands", "application/x-www-form-urlencoded", form))
        .await;
    // Slack shows this body to the user privately: what happened and what to do.
    assert_eq!(status, 200);
    assert!(body.contains("history store is unavailable"), "{body}");
    assert!(body.contains("not run and nothing was changed"), "{body}");
    assert!(body.contains("Try again"), "{body}");
    // An event that cannot be recorded is not acked: Slack retries it later.
    let (status, _) = w
        .send(w.signed(
            "/slack/events",
            "application/json",
            mention("Ev0NOSTORE", ALICE, "health", "1764000800.000100", None).to_string(),
        ))
        .await;
    assert_eq!(status, 503);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(posts(&w.fake.calls()).is_empty(), "nothing posted");
    assert_eq!(w.cluster.executed(), 0);

    // Back: the same command now runs (its delivery was never recorded).
    w.store.set_unavailable(false);
    assert_eq!(
        w.command(ALICE, "scale agent-engine 5", "trig.nostore")
            .await,
        200
    );
    w.fake
        .wait_for("the result", |c| {
            posts(c)
                .iter()
                .any(|p| p.text().contains("Scaled Deployment"))
        })
        .await;
    assert_eq!(w.cluster.executed(), 1);
}

#[tokio::test]
async fn an_acked_command_whose_process_died_is_resumed_once_from_the_store() {
    let w = world(Options::default()).await;
    // What a process that died right after its ack left behind: the delivery, recorded.
    let form = slash_form(ALICE, "scale agent-engine 7", "trig.orphan");
    let ev: SlackCommandEvent = serde_urlencoded::from_str(&form).expect("form");
    let delivery = Delivery {
        platform: Platform::Slack,
        id: DeliveryId::new("cmd:trig.orphan"),
        received_at: w.clock.now(),
        payload: serde_json::to_string(&Job::Command(Box::new(ev))).expect("json"),
        attempts: 0,
        owner: Some(vabot_commands::model::ReplicaId::new("a-process-that-died")),
    };
    assert!(w.store.accept(&delivery).await.expect("accept"));
    // Two processes start on the same store past the grace period: exactly one runs it.
    w.clock.advance(chrono::Duration::seconds(31));
    let (a, b) = (w.replica(), w.replica());
    a.start();
    b.start();
    w.fake
        .wait_for("the resumed result", |c| {
            posts(c)
                .iter()
                .any(|p| p.text().contains("Scaled Deployment"))
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(w.cluster.executed(), 1, "run once across both processes");
    assert_eq!(
        posts(&w.fake.calls()).len(),
        2,
        "one root message, one result"
    );
    let now = w.clock.now() + chrono::Duration::hours(1);
    let left = w
        .store
        .unsettled(
            Platform::Slack,
            vabot_commands::store::Unsettled {
                me: w.deps.replica.clone(),
                accepted_before: now,
                claimed_before: now,
                owner_seen_before: now,
                max_attempts: 10,
            },
        )
        .await
        .expect("unsettled");
    assert!(left.is_empty(), "settled: {left:?}");
    // A redelivery of the same command after all that is recognised.
    assert_eq!(
        w.command(ALICE, "scale agent-engine 7", "trig.orphan")
            .await,
        200
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.cluster.executed(), 1);
}

#[tokio::test]
async fn an_expired_request_has_its_card_updated_in_place_by_the_sweep() {
    use vabot_commands::ports::Chat;
    let w = world(Options::default()).await;
    let (root, card) = open_card(&w, "trig.expired").await;
    let approval = approval_of(&card);
    let card_ts = ts_of_card(&w, &approval).await;
    w.clock.advance(chrono::Duration::minutes(16));
    // What every replica's sweeper does: expire, then post through the adapter.
    let done = vabot_commands::recovery::sweep(&w.deps)
        .await
        .expect("sweep");
    assert_eq!(done.len(), 1);
    for f in &done {
        let card = f.reply.card_update.as_ref().map(|(_, c)| c);
        w.adapter
            .follow_up(&f.request, &f.reply.messages, card)
            .await;
    }
    let calls = w
        .fake
        .wait_for("the card updated", |c| {
            c.iter().any(|u| {
                u.method == "chat.update"
                    && u.str("ts") == Some(card_ts.as_str())
                    && u.text().contains("Expired at")
            })
        })
        .await;
    let update = calls
        .iter()
        .find(|u| u.method == "chat.update" && u.str("ts") == Some(card_ts.as_str()))
        .expect("update");
    assert!(
        update.text().contains("nothing was changed"),
        "{}",
        update.text()
    );
    assert!(
        !update.text().contains("\"actions\""),
        "no buttons on an expired card"
    );
    assert_eq!(update.str("channel"), Some(CHANNEL));
    let _ = root;
    assert!(w.topology.envoy_filter_exists("rate-limit-filter").await);
    assert_eq!(w.cluster.executed(), 0);
}

#[tokio::test]
async fn slack_user_groups_grant_roles_as_the_policy_maps_them_and_follow_membership() {
    let w = world(Options {
        groups_refresh_secs: 1,
        ..Options::default()
    })
    .await;
    // Dave has no user entry: only his user group makes him an operator.
    let text = w
        .topology
        .rename(common::world::POLICY)
        .replace("groups: {}", "groups:\n  \"slack:S0OPS\": [operator]");
    let policy = vabot_commands::config::Policy::parse("p.yaml", &text, false, &w.deps.catalog)
        .expect("policy");
    *w.deps.policy.write().unwrap() = Arc::new(policy);
    w.fake.set_usergroup("S0OPS", &[DAVE, "U0SOMEONE"]);

    assert_eq!(
        w.command(DAVE, "scale agent-engine 3", "trig.g1").await,
        200
    );
    w.fake
        .wait_for("Dave's result", |c| {
            posts(c).iter().any(|p| p.text().contains("2 → 3"))
        })
        .await;
    assert_eq!(w.topology.replicas("agent-engine").await, 3);
    let lookups = |c: &[Call]| {
        c.iter()
            .filter(|x| x.method == "usergroups.users.list")
            .count()
    };
    let calls = w.fake.calls();
    let first = calls
        .iter()
        .find(|x| x.method == "usergroups.users.list")
        .expect("the group was looked up");
    assert_eq!(first.str("usergroup"), Some("S0OPS"));
    // Cached: the next command asks Slack nothing.
    let before = lookups(&calls);
    assert_eq!(
        w.command(DAVE, "scale agent-engine 4", "trig.g2").await,
        200
    );
    w.fake
        .wait_for("the second result", |c| {
            posts(c).iter().any(|p| p.text().contains("3 → 4"))
        })
        .await;
    assert!(
        lookups(&w.fake.calls()) <= before + 1,
        "fetched at most by the periodic refresh"
    );

    // Dave leaves the group; after the refresh his commands are refused like anyone's.
    w.fake.set_usergroup("S0OPS", &["U0SOMEONE"]);
    let seen = lookups(&w.fake.calls());
    w.fake.wait_for("a refresh", |c| lookups(c) > seen).await;
    assert_eq!(
        w.command(DAVE, "scale agent-engine 5", "trig.g3").await,
        200
    );
    let calls = w
        .fake
        .wait_for("the refusal", |c| {
            c.iter()
                .any(|x| x.method == "chat.postEphemeral" && x.text().contains("no vabot role"))
        })
        .await;
    let refusal = calls
        .iter()
        .find(|x| x.method == "chat.postEphemeral" && x.text().contains("no vabot role"))
        .unwrap();
    assert_eq!(refusal.str("user"), Some(DAVE));
    assert_eq!(w.topology.replicas("agent-engine").await, 4);
}
