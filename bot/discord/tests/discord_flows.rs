//! End-to-end flows: the real adapter (serenity) against a local fake of Discord's REST API
//! and gateway, with the pipeline over a fake cluster and an in-memory store.

mod support;

use std::sync::atomic::Ordering;

use serde_json::json;
use support::fixtures as fx;
use support::*;
use vabot_commands::store::{EventKind, Store};

/// Audit events of one kind, across channels.
#[allow(clippy::unwrap_used)] // a helper of tests: a store error fails the test
async fn votes(kind: EventKind, w: &World) -> usize {
    w.store
        .events(None, None)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == kind)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_is_deferred_then_answered_in_a_thread_of_its_own() {
    let w = start().await;
    let iid = w.command(
        OPERATOR,
        &[],
        sub(
            "scale",
            json!([
                {"name": "service", "type": 3, "value": "agent-engine"},
                {"name": "replicas", "type": 4, "value": 5}
            ]),
        ),
    );
    let defer = w
        .fake
        .wait_for("the deferral", |c| {
            c.path == format!("/interactions/{iid}/{}/callback", fx::token_of(iid))
        })
        .await;
    assert_eq!(defer.body["type"], 5, "deferred with a loading state");
    let root = w
        .fake
        .wait_for("the follow-up", |c| {
            c.is(
                "POST",
                &format!("/webhooks/{}/{}", fx::APP_ID, fx::token_of(iid)),
            )
        })
        .await;
    assert!(
        root.text().contains("/va scale agent-engine 5"),
        "{}",
        root.text()
    );
    assert!(root.text().contains(&format!("<@{OPERATOR}>")));
    let thread = w
        .fake
        .wait_for("the thread", |c| {
            c.is(
                "POST",
                &format!(
                    "/channels/{CHANNEL}/messages/{}/threads",
                    root.response_id()
                ),
            )
        })
        .await;
    assert!(
        thread.body["name"]
            .as_str()
            .unwrap()
            .starts_with("scale agent-engine 5")
    );
    let result = w
        .fake
        .wait_for("the result in the thread", |c| {
            c.is(
                "POST",
                &format!("/channels/{}/messages", thread.response_id()),
            )
        })
        .await;
    assert!(
        result.text().contains("Scaled Deployment") && result.text().contains("2 → 5"),
        "{}",
        result.text()
    );
    assert_eq!(w.topology.replicas("agent-engine").await, 5);
    // The command reached the pipeline as the grammar's text, with Discord identity.
    let inv = w
        .store
        .events(None, None)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.kind == EventKind::Invocation)
        .unwrap();
    assert_eq!(inv.summary, "/va scale agent-engine 5");
    assert_eq!(inv.actor.unwrap().key(), format!("discord:{OPERATOR}"));
    assert_eq!(inv.channel.key(), format!("discord:{CHANNEL}"));
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_command_is_answered_privately_without_a_thread() {
    let w = start().await;
    let iid = w.command(
        VIEWER,
        &[],
        sub(
            "scale",
            json!([
                {"name": "service", "type": 3, "value": "agent-engine"},
                {"name": "replicas", "type": 4, "value": 5}
            ]),
        ),
    );
    let token = fx::token_of(iid);
    w.fake
        .wait_for("the deleted placeholder", |c| {
            c.is(
                "DELETE",
                &format!("/webhooks/{}/{token}/messages/@original", fx::APP_ID),
            )
        })
        .await;
    let answer = w
        .fake
        .wait_for("the private answer", |c| {
            c.is("POST", &format!("/webhooks/{}/{token}", fx::APP_ID))
        })
        .await;
    assert_eq!(answer.body["flags"], 64, "ephemeral");
    assert!(answer.text().contains("Not allowed"), "{}", answer.text());
    assert!(w.calls_to(|c| c.path.ends_with("/threads")).is_empty());
    assert_eq!(w.cluster.executed(), 0);
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destructive_command_runs_after_an_eligible_reaction_and_the_card_is_updated() {
    let w = start().await;
    let (thread, card, approval) = w.open_approval().await;
    // The bot's own ✅ (echoed by Discord) is not a vote.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        votes(EventKind::Vote, &w).await + votes(EventKind::VoteRefused, &w).await,
        0,
        "the bot's own reaction was counted"
    );
    assert_eq!(w.cluster.executed(), 0);
    assert!(w.topology.envoy_filter_exists("rate-limit-filter").await);
    // An approver through a guild role only.
    w.react(ROLE_HOLDER, &[APPROVER_ROLE], thread, card, "✅");
    let edit = w
        .fake
        .wait_for("the card updated in place", |c| {
            c.is("PATCH", &format!("/channels/{thread}/messages/{card}"))
        })
        .await;
    assert!(
        edit.text().contains(&format!("{approval} executed")),
        "{}",
        edit.text()
    );
    assert_eq!(
        edit.body["components"],
        json!([]),
        "buttons removed from a decided card"
    );
    let result = w
        .fake
        .wait_for("the result", |c| {
            c.is("POST", &format!("/channels/{thread}/messages"))
                && c.text().contains("Deleted EnvoyFilter")
        })
        .await;
    assert!(result.body["embeds"][0]["color"].as_u64().is_some());
    assert_eq!(w.cluster.executed(), 1);
    assert!(!w.topology.envoy_filter_exists("rate-limit-filter").await);
    let req = w
        .store
        .approval(&vabot_commands::model::ShortId::parse('a', &approval).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(req.votes[0].voter.key(), format!("discord:{ROLE_HOLDER}"));
    assert_eq!(req.votes[0].via, "reaction");
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_from_the_requester_a_viewer_or_after_expiry_are_refused_with_a_reason() {
    let w = start().await;
    let (thread, card, _) = w.open_approval().await;
    let refusals = |w: &World| {
        w.calls_to(|c| {
            c.is("POST", &format!("/channels/{thread}/messages"))
                && c.text().contains("Vote not counted")
        })
    };

    w.react(OPERATOR, &[], thread, card, "✅");
    w.fake
        .wait_for("the requester's refusal", |c| {
            c.text().contains(&format!("<@{OPERATOR}>")) && c.text().contains("Vote not counted")
        })
        .await;
    w.fake
        .wait_for("the requester's reaction removed", |c| {
            c.is(
                "DELETE",
                &format!("/channels/{thread}/messages/{card}/reactions/"),
            ) && c.path.ends_with(&OPERATOR.to_string())
        })
        .await;

    w.react(VIEWER, &[], thread, card, "✅");
    w.fake
        .wait_for("the viewer's refusal", |c| {
            c.text().contains(&format!("<@{VIEWER}>")) && c.text().contains("Vote not counted")
        })
        .await;

    w.clock.advance(chrono::Duration::minutes(16));
    w.react(APPROVER, &[], thread, card, "✅");
    let expired = w
        .fake
        .wait_for("the expiry refusal", |c| {
            c.text().contains(&format!("<@{APPROVER}>")) && c.text().contains("Vote not counted")
        })
        .await;
    assert!(
        expired.text().to_lowercase().contains("expired"),
        "{}",
        expired.text()
    );

    let texts: Vec<String> = refusals(&w).iter().map(|c| c.text()).collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert!(texts[0].contains("four-eyes"), "{}", texts[0]);
    assert!(
        texts[1].contains("needs one of these roles"),
        "{}",
        texts[1]
    );
    assert_eq!(w.cluster.executed(), 0);
    assert_eq!(votes(EventKind::VoteRefused, &w).await, 3);
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_vote_updates_the_card_in_the_response_and_a_refused_click_is_ephemeral() {
    let w = start().await;
    let (thread, card, approval) = w.open_approval().await;

    let refused = w.click(VIEWER, &[], thread, card, &format!("approve:{approval}"));
    let answer = w
        .fake
        .wait_for("the refused click's answer", |c| {
            c.path == format!("/interactions/{refused}/{}/callback", fx::token_of(refused))
        })
        .await;
    assert_eq!(
        answer.body["type"], 4,
        "a message, not an update of the card"
    );
    assert_eq!(answer.body["data"]["flags"], 64, "ephemeral");
    assert!(
        answer.text().contains("Vote not counted"),
        "{}",
        answer.text()
    );

    let click = w.click(APPROVER, &[], thread, card, &format!("approve:{approval}"));
    let update = w
        .fake
        .wait_for("the click's answer", |c| {
            c.path == format!("/interactions/{click}/{}/callback", fx::token_of(click))
        })
        .await;
    assert_eq!(update.body["type"], 7, "UpdateMessage");
    assert!(
        update.text().contains(&format!("{approval} executed")),
        "{}",
        update.text()
    );
    assert_eq!(update.body["data"]["components"], json!([]));
    w.fake
        .wait_for("the result", |c| {
            c.is("POST", &format!("/channels/{thread}/messages"))
                && c.text().contains("Deleted EnvoyFilter")
        })
        .await;
    assert_eq!(w.cluster.executed(), 1);
    // The card was updated by the response, not by a second edit.
    assert!(
        w.calls_to(|c| c.is("PATCH", &format!("/channels/{thread}/messages/{card}")))
            .is_empty()
    );
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_gateway_connection_is_resumed_and_the_pending_approval_completes() {
    let w = start().await;
    let (thread, card, approval) = w.open_approval().await;
    assert_eq!(w.fake.inner.identifies.load(Ordering::SeqCst), 1);
    w.fake.drop_connection();
    // The vote happens while the bot is disconnected; Discord replays it on RESUME.
    w.react(APPROVER, &[], thread, card, "✅");
    w.fake
        .wait_until("a RESUME", || {
            w.fake.inner.resumes.load(Ordering::SeqCst) >= 1
        })
        .await;
    let edit = w
        .fake
        .wait_for("the card updated after the resume", |c| {
            c.is("PATCH", &format!("/channels/{thread}/messages/{card}"))
        })
        .await;
    assert!(
        edit.text().contains(&format!("{approval} executed")),
        "{}",
        edit.text()
    );
    assert_eq!(w.cluster.executed(), 1);
    assert_eq!(
        w.fake.inner.identifies.load(Ordering::SeqCst),
        1,
        "resumed, not identified again"
    );
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_offers_catalog_services_and_pending_approvals() {
    let w = start().await;
    let id = w.fake.next_id();
    w.fake.dispatch(
        "INTERACTION_CREATE",
        fx::autocomplete_interaction(
            id,
            OPERATOR,
            &[],
            CHANNEL,
            sub(
                "scale",
                json!([
                    {"name": "service", "type": 3, "value": "agent", "focused": true}
                ]),
            ),
        ),
    );
    let r = w
        .fake
        .wait_for("the service choices", |c| {
            c.path == format!("/interactions/{id}/{}/callback", fx::token_of(id))
        })
        .await;
    assert_eq!(r.body["type"], 8);
    let names: Vec<&str> = r.body["data"]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"agent-engine"), "{names:?}");
    assert!(names.iter().all(|n| n.contains("agent")), "{names:?}");

    let (_, _, approval) = w.open_approval().await;
    let id = w.fake.next_id();
    w.fake.dispatch(
        "INTERACTION_CREATE",
        fx::autocomplete_interaction(
            id,
            APPROVER,
            &[],
            CHANNEL,
            command(
                "approve",
                json!([
                    {"name": "approval-id", "type": 3, "value": "", "focused": true}
                ]),
            ),
        ),
    );
    let r = w
        .fake
        .wait_for("the approval choices", |c| {
            c.path == format!("/interactions/{id}/{}/callback", fx::token_of(id))
        })
        .await;
    assert_eq!(r.body["data"]["choices"][0]["value"], approval.as_str());
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_the_gateway_forgot_is_identified_again_and_the_approval_still_completes() {
    let w = start().await;
    let (thread, card, approval) = w.open_approval().await;
    w.fake.drop_connection_and_session();
    w.fake
        .wait_until("a second IDENTIFY", || {
            w.fake.inner.identifies.load(Ordering::SeqCst) >= 2 && w.fake.connected()
        })
        .await;
    assert!(
        w.fake.inner.resumes.load(Ordering::SeqCst) >= 1,
        "RESUME was tried first"
    );
    // Approval state lives in the store, not in the connection: the card still votes.
    w.react(APPROVER, &[], thread, card, "✅");
    let edit = w
        .fake
        .wait_for("the card updated after re-identifying", |c| {
            c.is("PATCH", &format!("/channels/{thread}/messages/{card}"))
        })
        .await;
    assert!(
        edit.text().contains(&format!("{approval} executed")),
        "{}",
        edit.text()
    );
    assert_eq!(w.cluster.executed(), 1);
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_typed_inside_a_thread_is_answered_there_under_the_parent_channels_policy() {
    let w = start().await;
    let thread = w.fake.next_id();
    let iid = w.fake.next_id();
    w.fake.remember_token(iid, thread);
    w.fake.dispatch(
        "INTERACTION_CREATE",
        fx::command_interaction_in_thread(
            iid,
            OPERATOR,
            &[],
            thread,
            CHANNEL,
            sub(
                "restart",
                json!([
                    {"name": "service", "type": 3, "value": "agent-engine"}
                ]),
            ),
        ),
    );
    let answer = w
        .fake
        .wait_for("the follow-up", |c| {
            c.is(
                "POST",
                &format!("/webhooks/{}/{}", fx::APP_ID, fx::token_of(iid)),
            )
        })
        .await;
    assert_eq!(answer.response["channel_id"], thread.to_string());
    assert!(
        answer.body["flags"].as_u64().unwrap_or(0) & 64 == 0,
        "public"
    );
    assert!(
        w.calls_to(|c| c.path.ends_with("/threads")).is_empty(),
        "no thread in a thread"
    );
    let inv = w
        .store
        .events(None, None)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.kind == EventKind::Invocation)
        .unwrap();
    assert_eq!(
        inv.channel.key(),
        format!("discord:{CHANNEL}"),
        "the policy sees the parent channel"
    );
    assert_eq!(inv.channel.thread.unwrap().to_string(), thread.to_string());
    w.stop().await;
}
