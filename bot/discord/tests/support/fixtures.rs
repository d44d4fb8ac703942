//! Discord payloads as the real API sends them (v10), shared by the fake and by the test
//! that proves serenity's own model types accept every one of them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

use serde_json::{Value, json};

pub const APP_ID: u64 = 111;
pub const BOT_ID: u64 = 222;
pub const GUILD_ID: u64 = 333;
pub const COMMAND_ID: u64 = 444;
pub const TIMESTAMP: &str = "2026-11-25T04:00:00.000000+00:00";

pub fn user(id: u64, bot: bool) -> Value {
    json!({
        "id": id.to_string(),
        "username": if bot { "vabot".to_owned() } else { format!("user{id}") },
        "discriminator": "0",
        "global_name": null,
        "avatar": null,
        "bot": bot,
        "public_flags": 0
    })
}

pub fn member(id: u64, roles: &[u64]) -> Value {
    json!({
        "user": user(id, false),
        "nick": null,
        "avatar": null,
        "roles": roles.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "joined_at": TIMESTAMP,
        "premium_since": null,
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
        "permissions": "2248473465835073"
    })
}

/// A text channel (type 0) or a public thread (type 11) as interactions carry it.
pub fn partial_channel(id: u64, parent: Option<u64>) -> Value {
    match parent {
        None => {
            json!({"id": id.to_string(), "type": 0, "name": "incident-prod", "permissions": "2248473465835073"})
        }
        Some(p) => json!({
            "id": id.to_string(), "type": 11, "name": "thread", "parent_id": p.to_string(),
            "permissions": "2248473465835073",
            "thread_metadata": {"archived": false, "auto_archive_duration": 1440, "archive_timestamp": TIMESTAMP, "locked": false}
        }),
    }
}

fn interaction_base(
    kind: u8,
    id: u64,
    user_id: u64,
    roles: &[u64],
    channel: u64,
    parent: Option<u64>,
) -> Value {
    json!({
        "id": id.to_string(),
        "application_id": APP_ID.to_string(),
        "type": kind,
        "guild_id": GUILD_ID.to_string(),
        "channel_id": channel.to_string(),
        "channel": partial_channel(channel, parent),
        "member": member(user_id, roles),
        "token": token_of(id),
        "version": 1,
        "app_permissions": "2248473465835073",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": GUILD_ID.to_string()},
        "context": 0,
        "attachment_size_limit": 10485760
    })
}

pub fn token_of(interaction: u64) -> String {
    format!("tok{interaction}")
}

/// `/va …` (type 2): `options` is the subcommand (and group) tree.
pub fn command_interaction(
    id: u64,
    user_id: u64,
    roles: &[u64],
    channel: u64,
    options: Value,
) -> Value {
    let mut v = interaction_base(2, id, user_id, roles, channel, None);
    v["data"] = json!({"id": COMMAND_ID.to_string(), "name": "va", "type": 1, "guild_id": GUILD_ID.to_string(), "options": options});
    v
}

/// `/va …` typed inside a thread (`channel`) of `parent`.
pub fn command_interaction_in_thread(
    id: u64,
    user_id: u64,
    roles: &[u64],
    channel: u64,
    parent: u64,
    options: Value,
) -> Value {
    let mut v = interaction_base(2, id, user_id, roles, channel, Some(parent));
    v["data"] = json!({"id": COMMAND_ID.to_string(), "name": "va", "type": 1, "guild_id": GUILD_ID.to_string(), "options": options});
    v
}

/// Autocomplete (type 4): one option carries `"focused": true`.
pub fn autocomplete_interaction(
    id: u64,
    user_id: u64,
    roles: &[u64],
    channel: u64,
    options: Value,
) -> Value {
    let mut v = interaction_base(4, id, user_id, roles, channel, None);
    v["data"] = json!({"id": COMMAND_ID.to_string(), "name": "va", "type": 1, "guild_id": GUILD_ID.to_string(), "options": options});
    v
}

/// A button click (type 3) on `message` in thread `channel`.
pub fn button_interaction(
    id: u64,
    user_id: u64,
    roles: &[u64],
    channel: u64,
    parent: u64,
    message: Value,
    custom_id: &str,
) -> Value {
    let mut v = interaction_base(3, id, user_id, roles, channel, Some(parent));
    v["data"] = json!({"custom_id": custom_id, "component_type": 2});
    v["message"] = message;
    v
}

/// A message as the REST API returns it.
pub fn message(id: u64, channel: u64, content: &str, embeds: Value, flags: u64) -> Value {
    json!({
        "id": id.to_string(),
        "channel_id": channel.to_string(),
        "author": user(BOT_ID, true),
        "content": content,
        "timestamp": TIMESTAMP,
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": embeds,
        "components": [],
        "pinned": false,
        "type": 0,
        "flags": flags,
        "application_id": APP_ID.to_string()
    })
}

/// A public thread started from a message.
pub fn thread(id: u64, parent: u64, name: &str) -> Value {
    json!({
        "id": id.to_string(),
        "type": 11,
        "guild_id": GUILD_ID.to_string(),
        "parent_id": parent.to_string(),
        "name": name,
        "owner_id": BOT_ID.to_string(),
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "flags": 0,
        "thread_metadata": {"archived": false, "auto_archive_duration": 1440, "archive_timestamp": TIMESTAMP, "locked": false, "create_timestamp": TIMESTAMP}
    })
}

/// MESSAGE_REACTION_ADD's `d`.
pub fn reaction(
    user_id: u64,
    roles: &[u64],
    channel: u64,
    message: u64,
    emoji: &str,
    bot: bool,
) -> Value {
    let mut m = member(user_id, roles);
    m["user"] = user(user_id, bot);
    json!({
        "user_id": user_id.to_string(),
        "channel_id": channel.to_string(),
        "message_id": message.to_string(),
        "guild_id": GUILD_ID.to_string(),
        "member": m,
        "emoji": {"id": null, "name": emoji},
        "message_author_id": BOT_ID.to_string(),
        "burst": false,
        "burst_colors": [],
        "type": 0
    })
}

/// READY's `d`.
pub fn ready(session: &str, resume_url: &str) -> Value {
    json!({
        "v": 10,
        "user": user(BOT_ID, true),
        "guilds": [{"id": GUILD_ID.to_string(), "unavailable": true}],
        "session_id": session,
        "resume_gateway_url": resume_url,
        "shard": [0, 1],
        "application": {"id": APP_ID.to_string(), "flags": 0},
        "private_channels": [],
        "presences": [],
        "relationships": [],
        "guild_join_requests": []
    })
}

pub fn dispatch(t: &str, s: u64, d: Value) -> Value {
    json!({"op": 0, "t": t, "s": s, "d": d})
}

pub fn hello() -> Value {
    json!({"op": 10, "d": {"heartbeat_interval": 41250}})
}

/// Someone's message (not the bot's) as `GET /channels/{c}/messages/{m}` returns it.
pub fn user_message(id: u64, channel: u64, author: u64, content: &str) -> Value {
    let mut m = message(id, channel, content, json!([]), 0);
    m["author"] = user(author, false);
    m["author"]["global_name"] = json!(format!("User {author}"));
    m["timestamp"] = json!("2026-11-25T03:58:30.125000+00:00");
    if let Some(o) = m.as_object_mut() {
        o.remove("application_id");
    }
    m
}

/// A guild text channel as `GET /channels/{c}` returns it.
pub fn text_channel(id: u64) -> Value {
    json!({
        "id": id.to_string(),
        "type": 0,
        "guild_id": GUILD_ID.to_string(),
        "name": "incident-prod",
        "position": 3,
        "permission_overwrites": [],
        "parent_id": null,
        "nsfw": false,
        "topic": null,
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "flags": 0
    })
}

/// The DM channel `POST /users/@me/channels` opens with `user`.
pub fn private_channel(id: u64, user_id: u64) -> Value {
    json!({
        "id": id.to_string(),
        "type": 1,
        "last_message_id": null,
        "flags": 0,
        "recipients": [user(user_id, false)]
    })
}

/// MESSAGE_REACTION_REMOVE's `d`: like an add, but without the member.
pub fn reaction_removed(user_id: u64, channel: u64, message: u64, emoji: &str) -> Value {
    json!({
        "user_id": user_id.to_string(),
        "channel_id": channel.to_string(),
        "message_id": message.to_string(),
        "guild_id": GUILD_ID.to_string(),
        "emoji": {"id": null, "name": emoji},
        "burst": false,
        "type": 0
    })
}

/// A member as `GET /guilds/{g}/members/{u}` returns it (no `guild_id`: serenity adds it).
pub fn guild_member(id: u64, roles: &[u64]) -> Value {
    member(id, roles)
}
