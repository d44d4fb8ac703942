//! The bot in Socket Mode: it dials the fake's WebSocket (found through
//! apps.connections.open), receives envelopes and acks each one.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod common;

use std::time::Duration;

use common::fake::Call;
use common::fixtures::*;
use common::world::{Options, World, world};
use vabot_commands::model::{Platform, ShortId};
use vabot_commands::store::Store;
use vabot_slack::{SlackMode, run_socket_mode};

fn posts(calls: &[Call]) -> Vec<&Call> {
    calls
        .iter()
        .filter(|c| c.method == "chat.postMessage" && c.ok())
        .collect()
}

struct Connected {
    w: World,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), vabot_slack::SlackError>>,
}

async fn connected() -> Connected {
    let w = world(Options {
        mode: SlackMode::Socket,
        ..Options::default()
    })
    .await;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run_socket_mode(w.adapter.clone(), async move {
        let _ = rx.await;
    }));
    w.fake
        .wait_until("the Socket Mode connection", |f| f.connections() >= 1)
        .await;
    let open = w.fake.ok_calls("apps.connections.open");
    assert_eq!(
        open[0].auth.as_deref(),
        Some("Bearer xapp-1-test"),
        "Socket Mode opens with the app-level token"
    );
    Connected {
        w,
        stop: Some(tx),
        task,
    }
}

impl Connected {
    async fn acked(&self, envelope: &str) {
        self.w
            .fake
            .wait_until(&format!("the ack of {envelope}"), |f| {
                f.acks().iter().any(|a| a["envelope_id"] == envelope)
            })
            .await;
    }

    async fn close(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let r = tokio::time::timeout(Duration::from_secs(10), self.task).await;
        assert!(
            matches!(r, Ok(Ok(Ok(())))),
            "Socket Mode did not shut down cleanly: {r:?}"
        );
    }

    async fn card(&self, trigger: &str, envelope: &str) -> (String, String, String) {
        self.w.fake.send_envelope(envelope_slash(
            envelope,
            ALICE,
            "envoyfilter delete rate-limit-filter",
            trigger,
        ));
        self.acked(envelope).await;
        let calls = self
            .w
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
        let root = card.str("thread_ts").expect("thread").to_owned();
        let approval = card.body["blocks"]
            .as_array()
            .and_then(|b| b.iter().find(|b| b["type"] == "actions"))
            .and_then(|a| a["elements"][0]["value"].as_str())
            .expect("approve button")
            .to_owned();
        let id = ShortId::parse('a', &approval).expect("id");
        let ts = self
            .w
            .store
            .card_of(Platform::Slack, &id)
            .await
            .expect("store")
            .expect("card recorded")
            .message;
        (root, approval, ts)
    }
}

#[tokio::test]
async fn a_socket_mode_command_is_acked_and_answered_in_its_thread() {
    let c = connected().await;
    c.w.fake.send_envelope(envelope_slash(
        "env-cmd",
        ALICE,
        "scale agent-engine 3",
        "trig.s1",
    ));
    c.acked("env-cmd").await;
    let calls =
        c.w.fake
            .wait_for("the result", |x| posts(x).len() >= 2)
            .await;
    let p = posts(&calls);
    assert!(
        p[0].text()
            .contains("<@U0ALICE> ran `/va scale agent-engine 3`")
    );
    assert!(p[1].str("thread_ts").is_some());
    assert!(p[1].text().contains("2 → 3"), "{}", p[1].text());
    assert_eq!(c.w.topology.replicas("agent-engine").await, 3);
    assert_eq!(c.w.cluster.executed(), 1);
    let ack =
        c.w.fake
            .acks()
            .into_iter()
            .find(|a| a["envelope_id"] == "env-cmd")
            .expect("ack");
    assert!(
        ack.get("payload").is_some(),
        "a slash command ack carries a (blank) response payload: {ack}"
    );
    c.close().await;
}

#[tokio::test]
async fn socket_mode_approvals_refuse_the_requester_and_a_viewer_then_run_once_for_an_approver() {
    let c = connected().await;
    let (root, _, card_ts) = c.card("trig.s2", "env-del").await;
    c.w.fake.send_envelope(envelope_event(
        "env-r1",
        reaction("Ev1SELF", ALICE, "white_check_mark", CHANNEL, &card_ts),
    ));
    c.w.fake.send_envelope(envelope_event(
        "env-r2",
        reaction("Ev1VIEW", CAROL, "white_check_mark", CHANNEL, &card_ts),
    ));
    let calls =
        c.w.fake
            .wait_for("two refusals", |x| {
                x.iter()
                    .filter(|c| c.method == "chat.postEphemeral")
                    .count()
                    >= 2
            })
            .await;
    let users: Vec<&str> = calls
        .iter()
        .filter(|c| c.method == "chat.postEphemeral")
        .filter_map(|c| c.str("user"))
        .collect();
    assert!(
        users.contains(&ALICE) && users.contains(&CAROL),
        "{users:?}"
    );
    assert_eq!(c.w.cluster.executed(), 0);

    c.w.fake.send_envelope(envelope_event(
        "env-r3",
        reaction("Ev1BOB", BOB, "white_check_mark", CHANNEL, &card_ts),
    ));
    // Slack redelivers the same event in a new envelope.
    c.w.fake.send_envelope(envelope_event(
        "env-r4",
        reaction("Ev1BOB", BOB, "white_check_mark", CHANNEL, &card_ts),
    ));
    let calls =
        c.w.fake
            .wait_for("the result and the card update", |x| {
                posts(x)
                    .iter()
                    .any(|p| p.text().contains("Deleted EnvoyFilter"))
                    && x.iter()
                        .any(|u| u.method == "chat.update" && u.str("ts") == Some(card_ts.as_str()))
            })
            .await;
    let result = posts(&calls)
        .into_iter()
        .find(|p| p.text().contains("Deleted EnvoyFilter"))
        .expect("result");
    assert_eq!(result.str("thread_ts"), Some(root.as_str()));
    for env in ["env-r1", "env-r2", "env-r3", "env-r4"] {
        c.acked(env).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        c.w.cluster.executed(),
        1,
        "the redelivered reaction ran nothing"
    );
    assert!(!c.w.topology.envoy_filter_exists("rate-limit-filter").await);

    c.close().await;
}

#[tokio::test]
async fn a_socket_mode_button_click_approves() {
    let c = connected().await;
    let (root, approval, card_ts) = c.card("trig.s4", "env-del3").await;
    c.w.fake.send_envelope(envelope_interactive(
        "env-b1",
        button(
            BOB,
            "approve",
            &approval,
            &card_ts,
            &root,
            "1764000800.000001",
        ),
    ));
    c.acked("env-b1").await;
    c.w.fake
        .wait_for("the result", |x| {
            posts(x)
                .iter()
                .any(|p| p.text().contains("Deleted EnvoyFilter"))
        })
        .await;
    assert_eq!(c.w.cluster.executed(), 1);
    c.close().await;
}

#[tokio::test]
async fn a_socket_mode_mention_in_a_thread_is_answered_there() {
    let c = connected().await;
    c.w.fake.send_envelope(envelope_event(
        "env-m1",
        mention(
            "Ev1MENTION",
            ALICE,
            "scale agent-engine 6",
            "1764000900.000200",
            Some("1764000400.000100"),
        ),
    ));
    let calls =
        c.w.fake
            .wait_for("the reply", |x| !posts(x).is_empty())
            .await;
    assert_eq!(posts(&calls)[0].str("thread_ts"), Some("1764000400.000100"));
    assert!(
        posts(&calls)[0].text().contains("2 → 6"),
        "{}",
        posts(&calls)[0].text()
    );
    assert_eq!(c.w.topology.replicas("agent-engine").await, 6);
    c.close().await;
}

#[tokio::test]
async fn a_socket_mode_vote_after_expiry_is_refused_privately() {
    let c = connected().await;
    let (_, _, late_ts) = c.card("trig.s3", "env-del2").await;
    c.w.clock.advance(chrono::Duration::minutes(16));
    c.w.fake.send_envelope(envelope_event(
        "env-r5",
        reaction("Ev1LATE", BOB, "white_check_mark", CHANNEL, &late_ts),
    ));
    c.w.fake
        .wait_for("the expiry refusal", |x| {
            x.iter().any(|c| {
                c.method == "chat.postEphemeral"
                    && c.str("user") == Some(BOB)
                    && c.text().to_lowercase().contains("expired")
            })
        })
        .await;
    assert_eq!(c.w.cluster.executed(), 0);
    c.close().await;
}

#[tokio::test]
async fn a_socket_mode_pin_and_its_removal_go_in_and_out_of_the_timeline() {
    use vabot_commands::pins::current_pins;
    let c = connected().await;
    let ts = "1764000300.000100";
    c.w.fake.put_message(
        CHANNEL,
        history_message(DAVE, "db connections at 98% of max", ts, None),
    );
    let pins = |w: &World| {
        let store = w.store.clone();
        async move {
            current_pins(
                &store
                    .events(Some(&format!("slack:{CHANNEL}")), None)
                    .await
                    .expect("events"),
            )
        }
    };
    c.w.fake.send_envelope(envelope_event(
        "env-p1",
        reaction_on_message("Ev7PIN", BOB, "pushpin", CHANNEL, ts),
    ));
    c.acked("env-p1").await;
    c.w.fake
        .wait_for("the pin note", |x| {
            x.iter().any(|c| {
                c.method == "chat.postEphemeral"
                    && c.str("user") == Some(BOB)
                    && c.text().contains("Pinned")
            })
        })
        .await;
    let now = pins(&c.w).await;
    assert_eq!(now.len(), 1);
    assert_eq!(now[0].message.text, "db connections at 98% of max");
    assert_eq!(now[0].message.author, DAVE);

    c.w.fake.send_envelope(envelope_event(
        "env-p2",
        reaction_removed("Ev7UNPIN", BOB, "pushpin", CHANNEL, ts),
    ));
    c.acked("env-p2").await;
    c.w.fake
        .wait_for("the unpin note", |x| {
            x.iter().any(|c| {
                c.method == "chat.postEphemeral"
                    && c.str("user") == Some(BOB)
                    && c.text().contains("Removed from")
            })
        })
        .await;
    assert!(pins(&c.w).await.is_empty());
    c.close().await;
}
