//! Slack payloads as Slack sends them; the fixture test reads each into
//! slack-morphism's own types.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

use serde_json::{Value, json};

pub const TEAM: &str = "T0VOICE";
pub const CHANNEL: &str = "C0INCIDENT";
pub const ALICE: &str = "U0ALICE";
pub const BOB: &str = "U0BOB";
pub const CAROL: &str = "U0CAROL";
pub const BOT: &str = "U0VABOT";

/// A slash command's fields (form-encoded over HTTP, a JSON object in Socket Mode).
pub fn slash(user: &str, text: &str, trigger: &str) -> Vec<(String, String)> {
    [
        ("token", "legacy-verification-token"),
        ("team_id", TEAM),
        ("team_domain", "voicehelper"),
        ("channel_id", CHANNEL),
        ("channel_name", "incident"),
        ("user_id", user),
        ("user_name", user),
        ("command", "/va"),
        ("text", text),
        ("api_app_id", "A0VABOT"),
        (
            "response_url",
            "https://hooks.slack.com/commands/T0VOICE/1/abc",
        ),
        ("trigger_id", trigger),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

pub fn slash_form(user: &str, text: &str, trigger: &str) -> String {
    serde_urlencoded::to_string(slash(user, text, trigger)).expect("form")
}

pub fn slash_json(user: &str, text: &str, trigger: &str) -> Value {
    Value::Object(
        slash(user, text, trigger)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    )
}

fn callback(event_id: &str, event: Value) -> Value {
    json!({
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "api_app_id": "A0VABOT",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1764000000,
        "authorizations": [{"team_id": TEAM, "user_id": BOT, "is_bot": true}]
    })
}

/// `reaction_added` on a message of the bot's.
pub fn reaction(event_id: &str, user: &str, name: &str, channel: &str, ts: &str) -> Value {
    callback(
        event_id,
        json!({
            "type": "reaction_added",
            "user": user,
            "reaction": name,
            "item_user": BOT,
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": "1764000100.000100"
        }),
    )
}

/// `app_mention` of the bot, inside a thread when `thread_ts` is given.
pub fn mention(event_id: &str, user: &str, text: &str, ts: &str, thread_ts: Option<&str>) -> Value {
    let mut ev = json!({
        "type": "app_mention",
        "user": user,
        "text": format!("<@{BOT}> {text}"),
        "ts": ts,
        "channel": CHANNEL,
        "event_ts": ts,
        "client_msg_id": "6f3c0c5e-0000-4000-8000-000000000001"
    });
    if let Some(t) = thread_ts {
        ev["thread_ts"] = json!(t);
    }
    callback(event_id, ev)
}

/// A click on an approval card's button.
pub fn button(
    user: &str,
    action: &str,
    approval: &str,
    message_ts: &str,
    thread_ts: &str,
    action_ts: &str,
) -> Value {
    json!({
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "voicehelper"},
        "user": {"id": user, "username": user, "name": user, "team_id": TEAM},
        "api_app_id": "A0VABOT",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": CHANNEL, "is_ephemeral": false},
        "trigger_id": "1111.2222.abcd",
        "channel": {"id": CHANNEL, "name": "incident"},
        "message": {"type": "message", "ts": message_ts, "thread_ts": thread_ts, "text": "Approval needed", "bot_id": "B0VABOT"},
        "response_url": "https://hooks.slack.com/actions/T0VOICE/1/xyz",
        "actions": [{
            "type": "button",
            "action_id": action,
            "block_id": "approval",
            "text": {"type": "plain_text", "text": "Approve", "emoji": true},
            "value": approval,
            "action_ts": action_ts
        }]
    })
}

pub fn url_verification(challenge: &str) -> Value {
    json!({"token": "legacy-verification-token", "challenge": challenge, "type": "url_verification"})
}

/// Socket Mode envelopes.
pub fn envelope_slash(envelope: &str, user: &str, text: &str, trigger: &str) -> Value {
    json!({"type": "slash_commands", "envelope_id": envelope, "accepts_response_payload": true, "payload": slash_json(user, text, trigger)})
}

pub fn envelope_event(envelope: &str, payload: Value) -> Value {
    json!({"type": "events_api", "envelope_id": envelope, "accepts_response_payload": false, "retry_attempt": 0, "retry_reason": "", "payload": payload})
}

pub fn envelope_interactive(envelope: &str, payload: Value) -> Value {
    json!({"type": "interactive", "envelope_id": envelope, "accepts_response_payload": false, "payload": payload})
}

/// Someone in the incident channel whose messages get pinned.
pub const DAVE: &str = "U0DAVE";
/// A user with no vabot role.
pub const MALLORY: &str = "U0MALLORY";
/// A channel the bot is in that the policy does not know.
pub const RANDOM: &str = "C0RANDOM";

/// `reaction_removed`: a reaction taken back.
pub fn reaction_removed(event_id: &str, user: &str, name: &str, channel: &str, ts: &str) -> Value {
    let mut v = reaction(event_id, user, name, channel, ts);
    v["event"]["type"] = json!("reaction_removed");
    v["event"]["item_user"] = json!(DAVE);
    v
}

/// `reaction_added` on someone's message (not the bot's).
pub fn reaction_on_message(
    event_id: &str,
    user: &str,
    name: &str,
    channel: &str,
    ts: &str,
) -> Value {
    let mut v = reaction(event_id, user, name, channel, ts);
    v["event"]["item_user"] = json!(DAVE);
    v
}

/// A message as conversations.history / conversations.replies return it: a channel
/// message, or a reply when `thread_ts` is given.
pub fn history_message(user: &str, text: &str, ts: &str, thread_ts: Option<&str>) -> Value {
    let mut m = json!({
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "team": TEAM,
        "client_msg_id": format!("0c0ffee0-0000-4000-8000-{:0>12}", ts.replace('.', "")),
        "blocks": [{
            "type": "rich_text",
            "block_id": "Zx1",
            "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}]
        }]
    });
    if let Some(t) = thread_ts {
        m["thread_ts"] = json!(t);
        m["parent_user_id"] = json!(user);
    }
    m
}
