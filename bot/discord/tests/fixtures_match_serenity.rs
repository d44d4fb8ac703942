//! serenity drops gateway events it cannot parse with only a log line, so a fake payload
//! that drifts from Discord's shape would make the flow tests wait for nothing. These
//! tests parse every fixture, and every frame and response the fake actually sent during
//! a full flow, with serenity's own model types.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod support;

use serde_json::{Value, json};
use serenity::all::{
    Channel, Command, Event, GatewayEvent, GuildChannel, Interaction, Member, Message,
    PrivateChannel, Reaction, Ready,
};
use support::fixtures as fx;
use support::*;

#[test]
fn every_fixture_deserializes_into_serenitys_models() {
    let cmd: Interaction = serde_json::from_value(fx::command_interaction(
        1,
        OPERATOR,
        &[APPROVER_ROLE],
        CHANNEL,
        envoyfilter_delete(),
    ))
    .unwrap();
    let Interaction::Command(cmd) = cmd else {
        panic!("not a command")
    };
    assert_eq!(
        cmd.user.id.get(),
        OPERATOR,
        "the user comes from the member"
    );
    assert_eq!(cmd.member.as_ref().unwrap().roles[0].get(), APPROVER_ROLE);
    assert_eq!(cmd.data.options[0].name, "envoyfilter");

    let ac: Interaction = serde_json::from_value(fx::autocomplete_interaction(
        2,
        OPERATOR,
        &[],
        CHANNEL,
        sub(
            "scale",
            json!([{"name": "service", "type": 3, "value": "ag", "focused": true}]),
        ),
    ))
    .unwrap();
    let Interaction::Autocomplete(ac) = ac else {
        panic!("not autocomplete")
    };
    assert_eq!(ac.data.autocomplete().unwrap().value, "ag");

    let msg = fx::message(5, 7, "", json!([]), 0);
    let button: Interaction = serde_json::from_value(fx::button_interaction(
        3,
        APPROVER,
        &[],
        7,
        CHANNEL,
        msg.clone(),
        "approve:a-000001",
    ))
    .unwrap();
    let Interaction::Component(button) = button else {
        panic!("not a component")
    };
    assert_eq!(button.data.custom_id, "approve:a-000001");
    assert_eq!(
        button.channel.as_ref().unwrap().parent_id.unwrap().get(),
        CHANNEL
    );

    let m: Message = serde_json::from_value(msg).unwrap();
    assert_eq!(m.id.get(), 5);
    let embeds = json!([{"title": "t", "description": "d", "color": 5793266, "fields": [{"name": "a", "value": "b", "inline": true}], "footer": {"text": "f"}, "image": {"url": "attachment://x.png"}}]);
    let m: Message = serde_json::from_value(fx::message(6, 7, "<@1>", embeds, 64)).unwrap();
    assert_eq!(m.embeds[0].fields[0].name, "a");

    let t: GuildChannel =
        serde_json::from_value(fx::thread(8, CHANNEL, "scale agent-engine 5")).unwrap();
    assert_eq!(t.parent_id.unwrap().get(), CHANNEL);

    let r: Reaction =
        serde_json::from_value(fx::reaction(APPROVER, &[APPROVER_ROLE], 7, 5, "✅", false))
            .unwrap();
    assert_eq!(r.user_id.unwrap().get(), APPROVER);
    assert_eq!(r.member.unwrap().roles[0].get(), APPROVER_ROLE);

    let ready: Ready = serde_json::from_value(fx::ready("s", "ws://127.0.0.1:1/gw")).unwrap();
    assert_eq!(ready.user.id.get(), fx::BOT_ID);

    let commands: Vec<Command> = serde_json::from_value(json!([])).unwrap();
    assert!(commands.is_empty());

    // Pins: someone's message, the channels and member the bot looks up, the DM it opens,
    // and the removal event.
    let m: Message = serde_json::from_value(fx::user_message(9, 7, 1005, "hello")).unwrap();
    assert_eq!(m.author.id.get(), 1005);
    assert!(!m.author.bot);
    assert_eq!(m.timestamp.unix_timestamp(), 1_795_579_110);
    let c: Channel = serde_json::from_value(fx::text_channel(CHANNEL)).unwrap();
    let Channel::Guild(c) = c else {
        panic!("not a guild channel")
    };
    assert_eq!(c.kind, serenity::all::ChannelType::Text);
    let t: Channel = serde_json::from_value(fx::thread(8, CHANNEL, "t")).unwrap();
    assert!(matches!(t, Channel::Guild(g) if g.parent_id.map(|p| p.get()) == Some(CHANNEL)));
    let dm: PrivateChannel = serde_json::from_value(fx::private_channel(10, VIEWER)).unwrap();
    assert_eq!(dm.recipient.id.get(), VIEWER);
    let mut member = fx::guild_member(ROLE_HOLDER, &[APPROVER_ROLE]);
    // What serenity's `get_member` does to the REST body before reading it.
    member["guild_id"] = json!(fx::GUILD_ID);
    let member: Member = serde_json::from_value(member).unwrap();
    assert_eq!(member.roles[0].get(), APPROVER_ROLE);
    let r: Reaction = serde_json::from_value(fx::reaction_removed(VIEWER, 7, 9, "📌")).unwrap();
    assert_eq!(r.user_id.unwrap().get(), VIEWER);
    assert!(r.member.is_none());
}

fn event_name(e: &Event) -> &'static str {
    match e {
        Event::Ready(_) => "READY",
        Event::Resumed(_) => "RESUMED",
        Event::InteractionCreate(_) => "INTERACTION_CREATE",
        Event::ReactionAdd(_) => "MESSAGE_REACTION_ADD",
        Event::ReactionRemove(_) => "MESSAGE_REACTION_REMOVE",
        _ => "other",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_frame_and_response_the_fake_sent_in_a_full_flow_parses() {
    let w = start().await;
    let (thread, card, approval) = w.open_approval().await;
    w.react(VIEWER, &[], thread, card, "✅");
    w.fake
        .wait_for("a refusal", |c| c.text().contains("Vote not counted"))
        .await;
    w.fake.drop_connection();
    w.click(APPROVER, &[], thread, card, &format!("approve:{approval}"));
    w.fake
        .wait_for("the result", |c| c.text().contains("Deleted EnvoyFilter"))
        .await;
    // A pin in a user's thread and its removal, and a refused pin (a DM, taken back).
    w.fake.put_thread(7001, CHANNEL);
    w.fake.put_message(7001, 5101, 1005, "restart done");
    w.react(VIEWER, &[], 7001, 5101, "📌");
    w.fake
        .wait_for("the pinned message read", |c| {
            c.is("GET", "/channels/7001/messages/5101")
        })
        .await;
    w.react(1009, &[], CHANNEL, 5101, "📌");
    w.fake
        .wait_for("the refusal's DM", |c| c.is("POST", "/users/@me/channels"))
        .await;
    w.fake
        .wait_for("the refused pin taken back", |c| {
            c.method == "DELETE" && c.path.ends_with("/1009")
        })
        .await;
    w.fake.set_roles(VIEWER, &[]);
    w.unreact(VIEWER, 7001, 5101, "📌");
    w.fake
        .wait_for("the member looked up", |c| {
            c.is("GET", &format!("/guilds/{}/members/{VIEWER}", fx::GUILD_ID))
        })
        .await;

    let frames: Vec<Value> = w.fake.inner.frames.lock().unwrap().clone();
    let mut seen = std::collections::BTreeSet::new();
    for f in &frames {
        let ev: GatewayEvent =
            serde_json::from_value(f.clone()).unwrap_or_else(|e| panic!("{e}: {f}"));
        if let GatewayEvent::Dispatch(_, e) = &ev {
            let name = event_name(e);
            assert_eq!(
                name,
                f["t"].as_str().unwrap(),
                "serenity read {} as something else",
                f["t"]
            );
            seen.insert(name);
        }
    }
    for t in [
        "READY",
        "RESUMED",
        "INTERACTION_CREATE",
        "MESSAGE_REACTION_ADD",
        "MESSAGE_REACTION_REMOVE",
    ] {
        assert!(seen.contains(t), "no {t} was sent: {seen:?}");
    }

    let responses: Vec<(String, Value)> = w.fake.inner.responses.lock().unwrap().clone();
    let mut kinds = std::collections::BTreeSet::new();
    for (path, body) in &responses {
        if path.ends_with("/threads") {
            serde_json::from_value::<GuildChannel>(body.clone())
                .unwrap_or_else(|e| panic!("{e}: {body}"));
            kinds.insert("thread");
        } else if path.ends_with("/commands") {
            serde_json::from_value::<Vec<Command>>(body.clone()).unwrap();
            kinds.insert("commands");
        } else if path == "/gateway" {
            assert!(body["url"].as_str().unwrap().starts_with("ws://127.0.0.1:"));
            kinds.insert("gateway");
        } else if path.split('/').count() == 3 && path.starts_with("/channels/") {
            serde_json::from_value::<Channel>(body.clone())
                .unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
            kinds.insert("channel");
        } else if path.contains("/members/") {
            let mut body = body.clone();
            body["guild_id"] = json!(fx::GUILD_ID);
            serde_json::from_value::<Member>(body.clone())
                .unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
            kinds.insert("member");
        } else if path == "/users/@me/channels" {
            serde_json::from_value::<PrivateChannel>(body.clone())
                .unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
            kinds.insert("dm");
        } else {
            let m: Message = serde_json::from_value(body.clone())
                .unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
            assert!(m.id.get() > 0);
            kinds.insert("message");
        }
    }
    assert_eq!(kinds.len(), 7, "{kinds:?}");
    w.stop().await;
}
