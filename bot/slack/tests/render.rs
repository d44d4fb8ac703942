//! Block Kit rendering, pinned by snapshots of the JSON payloads; and the fake's
//! fixtures read into slack-morphism's own types.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod common;

use serde_json::Value;
use slack_morphism::prelude::*;
use vabot_commands::message::{Attachment, Button, Message, Tone};
use vabot_commands::model::ShortId;
use vabot_slack::blocks::render;

fn every_block_kind() -> Message {
    let id = ShortId::from_number('a', 42);
    Message::new(Tone::Warning)
        .header("Approval needed (a-00001A) — Delete EnvoyFilter rate-limit-filter")
        .paragraph("Deleting it removes rate limiting for <all> callers & agents.")
        .fields([
            ("Action", "Delete EnvoyFilter rate-limit-filter"),
            ("Risk", "DESTRUCTIVE"),
        ])
        .table(
            &["POD", "STATUS", "RESTARTS"],
            vec![
                vec![
                    "agent-engine-7d9f-abcde".into(),
                    "Running".into(),
                    "0".into(),
                ],
                vec![
                    "agent-engine-7d9f-fghij".into(),
                    "CrashLoopBackOff".into(),
                    "12".into(),
                ],
            ],
        )
        .code("2026-11-25T03:00:00Z ERROR upstream ```connect``` refused")
        .context("Approve with ✅ or the button")
        .buttons(vec![Button::approve(&id), Button::deny(&id)])
}

#[test]
fn every_block_kind_renders_as_block_kit() {
    let r = render(&every_block_kind()).expect("render");
    insta::assert_json_snapshot!("every_block_kind", r.content);
    assert!(r.files.is_empty());
}

#[test]
fn a_message_without_a_header_carries_its_tone_in_the_first_paragraph() {
    let r = render(&Message::text(Tone::Success, "Scaled agent-engine to 3")).expect("render");
    insta::assert_json_snapshot!("paragraph_only", r.content);
}

#[test]
fn long_logs_are_previewed_inline_and_attached_whole() {
    let log: String = (0..400)
        .map(|i| format!("line {i}: GET /v1/chat 502 upstream timeout\n"))
        .collect();
    let chart = Attachment {
        filename: "p99.png".into(),
        mime: "image/png".into(),
        bytes: vec![0x89, b'P', b'N', b'G'],
        title: "p99 latency".into(),
    };
    let m = Message::new(Tone::Info)
        .header("logs agent-engine")
        .code(log.clone())
        .attach(chart);
    let r = render(&m).expect("render");
    insta::assert_json_snapshot!("long_log", r.content);
    let names: Vec<&str> = r.files.iter().map(|f| f.filename.as_str()).collect();
    assert_eq!(names, ["p99.png", "output-1.txt"]);
    assert_eq!(r.files[1].bytes, log.as_bytes());
}

#[test]
fn buttons_carry_the_approval_id_as_their_value() {
    let r = render(&every_block_kind()).expect("render");
    let v = serde_json::to_value(&r.content).expect("json");
    let actions = v["blocks"]
        .as_array()
        .expect("blocks")
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("actions");
    assert_eq!(actions["elements"][0]["action_id"], "approve");
    assert_eq!(actions["elements"][0]["value"], "a-00001A");
    assert_eq!(actions["elements"][1]["action_id"], "deny");
    assert_eq!(actions["elements"][1]["style"], "danger");
}

#[test]
fn the_fakes_fixtures_deserialize_into_slack_morphisms_types() {
    use common::fixtures::*;
    let form = slash_form(ALICE, "health", "t.1");
    let cmd: SlackCommandEvent = serde_urlencoded::from_str(&form).expect("slash command form");
    assert_eq!(cmd.user_id.0, ALICE);
    let ev: SlackPushEvent =
        serde_json::from_value(reaction("Ev1", BOB, "white_check_mark", CHANNEL, "1.2"))
            .expect("reaction");
    let SlackPushEvent::EventCallback(cb) = ev else {
        panic!("not a callback")
    };
    assert!(matches!(cb.event, SlackEventCallbackBody::ReactionAdded(_)));
    let ev: SlackPushEvent =
        serde_json::from_value(mention("Ev2", ALICE, "health", "1.3", Some("1.1")))
            .expect("mention");
    let SlackPushEvent::EventCallback(cb) = ev else {
        panic!("not a callback")
    };
    assert!(matches!(cb.event, SlackEventCallbackBody::AppMention(_)));
    let ix: SlackInteractionEvent =
        serde_json::from_value(button(BOB, "approve", "a-00001A", "1.4", "1.1", "1.5"))
            .expect("button");
    assert!(matches!(ix, SlackInteractionEvent::BlockActions(_)));
    let _: SlackPushEvent =
        serde_json::from_value(url_verification("c")).expect("url_verification");
    // Socket Mode envelopes: slack-morphism keeps its frame enum private, so each
    // payload is read into the type the listener hands to its callback (the socket
    // tests then show the listener itself accepts and acks the frames).
    let e = envelope_slash("e1", ALICE, "health", "t.2");
    serde_json::from_value::<SlackCommandEvent>(e["payload"].clone()).expect("slash envelope");
    let e = envelope_event("e2", reaction("Ev3", BOB, "x", CHANNEL, "1.2"));
    serde_json::from_value::<SlackPushEventCallback>(e["payload"].clone())
        .expect("events_api envelope");
    let e = envelope_interactive("e3", button(BOB, "deny", "a-00001A", "1.4", "1.1", "1.6"));
    serde_json::from_value::<SlackInteractionEvent>(e["payload"].clone())
        .expect("interactive envelope");
    // The fake's answers.
    let addr: std::net::SocketAddr = "127.0.0.1:1".parse().expect("addr");
    let req = serde_json::json!({"channel": CHANNEL, "text": "hi", "ts": "1.1", "files": [{"id": "F1", "title": "t"}]});
    let body =
        |m: &str| -> Value { common::fake::success_body(m, &req, "1764000000.000001", addr) };
    serde_json::from_value::<SlackApiChatPostMessageResponse>(body("chat.postMessage"))
        .expect("postMessage");
    serde_json::from_value::<SlackApiChatUpdateResponse>(body("chat.update")).expect("update");
    serde_json::from_value::<SlackApiChatPostEphemeralResponse>(body("chat.postEphemeral"))
        .expect("ephemeral");
    serde_json::from_value::<SlackApiFilesGetUploadUrlExternalResponse>(body(
        "files.getUploadURLExternal",
    ))
    .expect("upload url");
    serde_json::from_value::<SlackApiFilesCompleteUploadExternalResponse>(body(
        "files.completeUploadExternal",
    ))
    .expect("complete");
    serde_json::from_value::<SlackApiAppsConnectionOpenResponse>(body("apps.connections.open"))
        .expect("connections.open");

    // Pins: the reaction events, the messages the fake keeps, and its history answers.
    let ev: SlackPushEvent =
        serde_json::from_value(reaction_removed("Ev8", ALICE, "pushpin", CHANNEL, "1.2"))
            .expect("reaction_removed");
    let SlackPushEvent::EventCallback(cb) = ev else {
        panic!("not a callback")
    };
    assert!(matches!(
        cb.event,
        SlackEventCallbackBody::ReactionRemoved(_)
    ));
    let ev: SlackPushEvent =
        serde_json::from_value(reaction_on_message("Ev9", ALICE, "pushpin", CHANNEL, "1.2"))
            .expect("reaction on someone's message");
    assert!(matches!(
        ev,
        SlackPushEvent::EventCallback(SlackPushEventCallback {
            event: SlackEventCallbackBody::ReactionAdded(_),
            ..
        })
    ));
    let parent = history_message(DAVE, "parent", "1764000300.000100", None);
    let reply = history_message(
        DAVE,
        "reply",
        "1764000350.000200",
        Some("1764000300.000100"),
    );
    let m: SlackHistoryMessage = serde_json::from_value(reply.clone()).expect("a reply");
    assert_eq!(
        m.origin.thread_ts.map(|t| t.0).as_deref(),
        Some("1764000300.000100")
    );
    assert_eq!(m.sender.user.map(|u| u.0).as_deref(), Some(DAVE));
    let kept = vec![(CHANNEL.to_owned(), parent), (CHANNEL.to_owned(), reply)];
    let args = |pairs: &[(&str, &str)]| -> Value {
        Value::Object(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
                .collect(),
        )
    };
    let h = common::fake::history_body(
        &kept,
        &args(&[
            ("channel", CHANNEL),
            ("latest", "1764000350.000200"),
            ("inclusive", "true"),
            ("limit", "1"),
        ]),
    );
    let h: SlackApiConversationsHistoryResponse = serde_json::from_value(h).expect("history");
    assert_eq!(
        h.messages[0].origin.ts.0, "1764000300.000100",
        "history holds channel messages only"
    );
    let r = common::fake::replies_body(
        &kept,
        &args(&[
            ("channel", CHANNEL),
            ("ts", "1764000350.000200"),
            ("latest", "1764000350.000200"),
            ("oldest", "1764000350.000200"),
            ("inclusive", "true"),
            ("limit", "2"),
        ]),
    );
    let r: SlackApiConversationsRepliesResponse = serde_json::from_value(r).expect("replies");
    let ts: Vec<&str> = r.messages.iter().map(|m| m.origin.ts.0.as_str()).collect();
    assert_eq!(ts, ["1764000300.000100", "1764000350.000200"]);
    let p = common::fake::permalink_body(
        &kept,
        &args(&[("channel", CHANNEL), ("message_ts", "1764000350.000200")]),
    );
    let p: SlackApiChatGetPermalinkResponse = serde_json::from_value(p).expect("permalink");
    assert!(p.permalink.as_str().contains("thread_ts=1764000300.000100"));
    let groups = std::collections::BTreeMap::from([("S0OPS".to_owned(), vec![DAVE.to_owned()])]);
    let g = common::fake::usergroups_body(&groups, &args(&[("usergroup", "S0OPS")]));
    let g: SlackApiUserGroupsUsersListResponse = serde_json::from_value(g).expect("usergroups");
    assert_eq!(g.users[0].0, DAVE);
    assert_eq!(
        common::fake::usergroups_body(&groups, &args(&[("usergroup", "S0NOPE")]))["error"],
        "no_such_subteam"
    );
    // Errors are Slack's shape: `ok: false` and a code.
    let missing = common::fake::replies_body(&[], &args(&[("channel", CHANNEL), ("ts", "1.1")]));
    assert_eq!(missing["ok"], false);
    assert_eq!(missing["error"], "thread_not_found");
}
