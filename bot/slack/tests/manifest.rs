//! The shipped app manifest asks for exactly what the adapter uses.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

use serde_json::Value;

fn manifest() -> Value {
    let text = include_str!("../../../deploy/slack/manifest.yaml");
    serde_norway::from_str(text).expect("the manifest is YAML")
}

#[test]
fn the_manifest_requests_exactly_the_bot_scopes_the_adapter_uses() {
    let m = manifest();
    let mut scopes: Vec<&str> = m["oauth_config"]["scopes"]["bot"]
        .as_array()
        .expect("bot scopes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    scopes.sort_unstable();
    // commands: /va; app_mentions:read: @va; reactions:read: votes and pins;
    // channels:history / groups:history: conversations.history and .replies for a pinned
    // message in a public / private channel (chat.getPermalink needs none); chat:write:
    // postMessage/update/postEphemeral; files:write: the external upload flow;
    // usergroups:read: usergroups.users.list for the policy's group roles.
    assert_eq!(
        scopes,
        [
            "app_mentions:read",
            "channels:history",
            "chat:write",
            "commands",
            "files:write",
            "groups:history",
            "reactions:read",
            "usergroups:read"
        ]
    );
}

#[test]
fn the_manifest_wires_the_command_events_and_interactivity_to_the_routes() {
    let m = manifest();
    let cmd = &m["features"]["slash_commands"][0];
    assert_eq!(cmd["command"], "/va");
    assert!(
        cmd["url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/slack/commands"))
    );
    let events: Vec<&str> = m["settings"]["event_subscriptions"]["bot_events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // reaction_removed: taking the pin reaction back unpins.
    assert_eq!(
        events,
        ["app_mention", "reaction_added", "reaction_removed"]
    );
    assert!(
        m["settings"]["event_subscriptions"]["request_url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/slack/events"))
    );
    assert_eq!(m["settings"]["interactivity"]["is_enabled"], true);
    assert!(
        m["settings"]["interactivity"]["request_url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/slack/interactions"))
    );
    assert!(m["settings"]["socket_mode_enabled"].is_boolean());
}
