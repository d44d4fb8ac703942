//! Pinned chat: 📌 (`pin_emoji`) on any message pins it into the channel's timeline;
//! taking the reaction back unpins it.
//!
//! Adding: the reacting member must be allowed to view the channel (a thread counts as
//! its parent channel), checked before the message is read; the message is then fetched
//! over REST (`GET /channels/{c}/messages/{m}`) and [`pins::pin`] records it with its
//! link. Removing: the message is taken from the timeline as it was pinned, and the
//! member's roles are fetched (MESSAGE_REACTION_REMOVE carries no member).
//!
//! A reaction has no private reply on Discord, so a success says nothing (the 📌 is the
//! acknowledgement) and a refusal goes to the person as a direct message. In a channel the
//! policy covers, a pin that was not recorded also loses its 📌, so the reactions people
//! see are the pins on the timeline; in a channel outside the policy the bot touches no
//! reaction and says so once per person and channel.
//!
//! Discord gives a reaction no delivery id, so one is made of the message, the person, the
//! verb and how many pins and unpins of that message by that person the timeline already
//! holds: a repeated event gets the same id (the store counts it once, even when both
//! copies are handled at the same time), while pin → unpin → pin again are three events.
//! [`pins::pin`] also records nothing for someone who already pins (or no longer pins) it.

use chrono::{DateTime, TimeZone, Utc};
use serenity::all::{
    Channel, ChannelId, Context, GuildId, Message as DiscordMessage, Reaction, UserId,
};
use tracing::{debug, info, warn};
use vabot_chat::pins::{self as chat_pins, Fetched, MessageSource, PinDelivery, PinReply};
use vabot_commands::error::PipelineError;
use vabot_commands::message::{Message, Tone};
use vabot_commands::model::{
    ChannelId as VaChannelId, ChannelRef, Platform, ThreadId, WorkspaceId, new_short_id,
};
use vabot_commands::pins::ChatMessage;
use vabot_commands::render::render_error;

use super::{Inner, actor_of, emoji_name, is_thread, same_emoji};
use crate::render::render;

/// Bound on the per-process memories (thread parents, who was told what).
const MEMORY_CAPACITY: usize = 4096;

impl Inner {
    /// MESSAGE_REACTION_REMOVE: only the pin emoji means anything when taken back.
    pub(super) async fn on_reaction_removed(&self, ctx: &Context, r: Reaction) {
        let Some(user) = r.user_id else { return };
        if self.me.get() == Some(&user) {
            return;
        }
        let Some(emoji) = emoji_name(&r.emoji) else {
            return;
        };
        if same_emoji(&emoji, &self.config.pin_emoji) {
            self.pin_removed(ctx, &r, user).await;
        }
    }

    /// MESSAGE_REACTION_ADD with the pin emoji (the bot's own reactions already dropped).
    pub(super) async fn pin_added(&self, ctx: &Context, r: Reaction) {
        let Some(user) = r.user_id else { return };
        let place = self.place(ctx, r.guild_id, r.channel_id).await;
        let actor = actor_of(user, r.member.as_ref());
        let source = DiscordSource {
            ctx,
            reaction: &r,
            now: self.deps.clock.now(),
        };
        let reply = chat_pins::add(
            &self.deps,
            actor,
            place,
            &r.channel_id.to_string(),
            &r.message_id.to_string(),
            &source,
            PinDelivery::Counted(format!("reaction:{}:{user}", r.message_id)),
        )
        .await;
        self.answer(ctx, &r, user, reply, true).await;
    }

    async fn pin_removed(&self, ctx: &Context, r: &Reaction, user: UserId) {
        let place = self.place(ctx, r.guild_id, r.channel_id).await;
        // The event carries no member: the roles come from the guild.
        let member = match r.guild_id {
            Some(g) => match g.member(&ctx.http, user).await {
                Ok(m) => Some(m),
                Err(e) => {
                    info!(error = %e, user = %user, "Fetching the member failed; user roles only");
                    None
                }
            },
            None => None,
        };
        let reply = chat_pins::remove(
            &self.deps,
            actor_of(user, member.as_ref()),
            &place,
            &r.message_id.to_string(),
            PinDelivery::Counted(format!("reaction:{}:{user}", r.message_id)),
        )
        .await;
        self.answer(ctx, r, user, reply, false).await;
    }

    /// A reaction has no private reply: a pin that worked says nothing (the 📌 is the
    /// acknowledgement); anything else goes to the person as a direct message, and a 📌
    /// that was not recorded is taken back.
    async fn answer(
        &self,
        ctx: &Context,
        r: &Reaction,
        user: UserId,
        reply: PinReply,
        added: bool,
    ) {
        let link = r.message_id.link(r.channel_id, r.guild_id);
        match reply {
            PinReply::Pinned { .. } => info!(message = %r.message_id, user = %user, "Pinned"),
            PinReply::Unpinned { .. } => info!(message = %r.message_id, user = %user, "Unpinned"),
            PinReply::Nothing => debug!(message = %r.message_id, "Pin or unpin already recorded"),
            PinReply::OnApprovalCard { .. } => {
                let m = Message::text(
                    Tone::Info,
                    "Approval cards are on the timeline already, with their votes and result; nothing was pinned.",
                )
                .context(format!("Your 📌 on {link}"));
                self.tell(ctx, user, &m).await;
            }
            PinReply::Gone | PinReply::Unreadable(_) => {
                let why = match reply {
                    PinReply::Unreadable(why) => why,
                    _ => {
                        "📌 Discord has no such message any more (deleted?), so nothing was pinned."
                            .into()
                    }
                };
                let m = Message::text(Tone::Warning, why).context(format!("Your 📌 on {link}"));
                self.tell(ctx, user, &m).await;
                self.take_back(ctx, r).await;
            }
            PinReply::Refused { error, consequence } => {
                self.refuse(ctx, r, user, &error, consequence, added).await;
            }
        }
    }

    /// Where a reaction happened as the policy sees it: a thread is its parent channel.
    async fn place(&self, ctx: &Context, guild: Option<GuildId>, channel: ChannelId) -> ChannelRef {
        let workspace = WorkspaceId::new(guild.map(|g| g.to_string()).unwrap_or_default());
        let here = |channel: ChannelId, thread: Option<ChannelId>| ChannelRef {
            platform: Platform::Discord,
            workspace: workspace.clone(),
            channel: VaChannelId::new(channel.to_string()),
            thread: thread.map(|t| ThreadId::new(t.to_string())),
        };
        // A channel the policy names is no thread: no lookup needed.
        if self
            .deps
            .policy()
            .channels
            .contains_key(&format!("{}:{channel}", Platform::Discord))
        {
            return here(channel, None);
        }
        let cached = self
            .parents
            .lock()
            .ok()
            .and_then(|p| p.get(&channel).copied());
        let parent = match cached {
            Some(parent) => parent,
            None => match channel.to_channel(&ctx.http).await {
                Ok(c) => {
                    let parent = match c {
                        Channel::Guild(g) if is_thread(g.kind) => g.parent_id,
                        _ => None,
                    };
                    if let Ok(mut p) = self.parents.lock() {
                        if p.len() >= MEMORY_CAPACITY {
                            p.clear();
                        }
                        p.insert(channel, parent);
                    }
                    parent
                }
                Err(e) => {
                    // Judged as the channel itself: outside the policy unless it is named.
                    warn!(error = %e, channel = %channel, "Looking up a reacted-in channel failed");
                    None
                }
            },
        };
        match parent {
            Some(p) => here(p, Some(channel)),
            None => here(channel, None),
        }
    }

    /// A refused or failed pin, to the person, in the pipeline's own words.
    async fn refuse(
        &self,
        ctx: &Context,
        r: &Reaction,
        user: UserId,
        e: &PipelineError,
        consequence: &str,
        take_back: bool,
    ) {
        let request = new_short_id('i');
        if e.is_user_error() {
            info!(reason = %e, user = %user, "Pin refused");
        } else {
            warn!(error = %e, request = %request, "Pin failed");
        }
        let in_policy = e.metric_label() != "channel_not_configured";
        if !in_policy && !self.first_telling(user, r.channel_id) {
            return;
        }
        let link = r.message_id.link(r.channel_id, r.guild_id);
        let m = render_error(e, &request).context(format!("{consequence} Your 📌 on {link}"));
        self.tell(ctx, user, &m).await;
        if take_back && in_policy {
            self.take_back(ctx, r).await;
        }
    }

    /// Removes a 📌 that is not on the timeline, so it does not look pinned.
    async fn take_back(&self, ctx: &Context, r: &Reaction) {
        if let Err(e) = r.delete(&ctx.http).await {
            debug!(error = %e, "Removing an unrecorded pin reaction failed");
        }
    }

    /// True the first time this process refuses `user` in `channel`.
    fn first_telling(&self, user: UserId, channel: ChannelId) -> bool {
        let Ok(mut told) = self.told.lock() else {
            return true;
        };
        if told.len() >= MEMORY_CAPACITY {
            told.clear();
        }
        told.insert((user, channel))
    }

    /// A direct message: Discord's nearest thing to an ephemeral reply to a reaction.
    async fn tell(&self, ctx: &Context, user: UserId, m: &Message) {
        let dm = match user.create_dm_channel(&ctx.http).await {
            Ok(dm) => dm,
            Err(e) => {
                info!(error = %e, user = %user, "Opening a direct message failed");
                return;
            }
        };
        if let Err(e) = dm.id.send_message(&ctx.http, render(m).message()).await {
            // Members can refuse direct messages from server members.
            info!(error = %e, user = %user, "A direct message was not delivered");
        }
    }
}

/// Reads a pinned message over REST (`GET /channels/{c}/messages/{m}`).
struct DiscordSource<'a> {
    ctx: &'a Context,
    reaction: &'a Reaction,
    now: DateTime<Utc>,
}

#[async_trait::async_trait]
impl MessageSource for DiscordSource<'_> {
    async fn fetch(&self) -> Fetched {
        let r = self.reaction;
        let fetched = match r.channel_id.message(&self.ctx.http, r.message_id).await {
            Ok(m) => m,
            Err(e) => {
                info!(error = %e, message = %r.message_id, "Fetching a pinned message failed");
                return Fetched::Unreadable(fetch_failure(&e).to_owned());
            }
        };
        let link = r.message_id.link(r.channel_id, r.guild_id);
        let message = chat_message(&fetched, link, self.now);
        if message.text.is_empty() && !fetched.author.bot {
            // Discord blanks other people's messages for apps without the intent.
            warn!(
                message = %r.message_id,
                "Discord returned the pinned message without its text: switch on the Message Content intent for the application (Developer Portal → Bot)"
            );
        }
        // The place already names the thread (a thread is judged as its parent channel).
        Fetched::Message(message, None)
    }
}

/// What to tell someone whose pin could not read the message.
fn fetch_failure(e: &serenity::Error) -> &'static str {
    let status = match e {
        serenity::Error::Http(h) => h.status_code().map(|s| s.as_u16()),
        _ => None,
    };
    match status {
        Some(403) => {
            "📌 vabot cannot read messages in that channel: it needs the View Channel and Read Message History permissions there. Nothing was pinned."
        }
        Some(404) => "📌 Discord has no such message any more (deleted?), so nothing was pinned.",
        _ => {
            "📌 Discord did not return the message just now, so nothing was pinned; add the 📌 again in a moment."
        }
    }
}

/// The timeline's view of a fetched message: author, text, time, link.
fn chat_message(m: &DiscordMessage, link: String, now: DateTime<Utc>) -> ChatMessage {
    let mut text = m.content.clone();
    if text.trim().is_empty() {
        // An upload or an embed without text: name what it is rather than pin nothing.
        let mut parts: Vec<String> = m
            .attachments
            .iter()
            .map(|a| format!("[file: {}]", a.filename))
            .collect();
        parts.extend(
            m.embeds
                .iter()
                .filter_map(|e| e.title.clone().or_else(|| e.description.clone())),
        );
        text = parts.join(" ");
    }
    let at = m
        .timestamp
        .to_rfc3339()
        .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| Utc.timestamp_opt(m.timestamp.unix_timestamp(), 0).single())
        .unwrap_or(now);
    ChatMessage {
        id: m.id.to_string(),
        author: m.author.id.to_string(),
        author_name: Some(m.author.display_name().to_owned()),
        text,
        at,
        link: Some(link),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fetched_message_keeps_author_text_time_and_link() {
        let m: DiscordMessage = serde_json::from_value(serde_json::json!({
            "id": "5001", "channel_id": "3001",
            "author": {"id": "1005", "username": "dave", "global_name": "Dave", "discriminator": "0", "avatar": null, "bot": false},
            "content": "", "timestamp": "2026-11-25T04:00:00.250000+00:00", "edited_timestamp": null,
            "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
            "attachments": [{"id": "9", "filename": "p99.png", "size": 1, "url": "https://cdn.discordapp.com/x", "proxy_url": "https://media.discordapp.net/x"}],
            "embeds": [], "pinned": false, "type": 0
        }))
        .expect("message");
        let c = chat_message(
            &m,
            "https://discord.com/channels/333/3001/5001".into(),
            Utc::now(),
        );
        assert_eq!(c.id, "5001");
        assert_eq!(c.author, "1005");
        assert_eq!(c.author_name.as_deref(), Some("Dave"));
        assert_eq!(c.text, "[file: p99.png]");
        assert_eq!(c.at.timestamp_subsec_millis(), 250);
        assert_eq!(
            c.link.as_deref(),
            Some("https://discord.com/channels/333/3001/5001")
        );
    }
}
