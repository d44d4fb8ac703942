//! Gateway events → the pipeline, and replies → Discord.
//!
//! - `/va …`: deferred at once (Discord's 3 s), run through [`pipeline::handle`], then
//!   answered by a follow-up that roots a thread; plan, approval card and result go into
//!   the thread. Replies that are only for the caller (mistakes, refusals) are ephemeral.
//! - ✅/❌ on an approval card and the Approve/Deny buttons vote through
//!   [`pipeline::handle_vote`]. The card is found through the store, never in memory, so
//!   votes keep working after a reconnect or a restart.
//! - 📌 on any message pins it into the channel's timeline, and taking it back unpins it
//!   (`pin.rs`).

mod command;
mod pin;
mod votes;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use serenity::all::{
    AutoArchiveDuration, ChannelId, ChannelType, CommandInteraction, ComponentInteraction, Context,
    CreateAutocompleteResponse, CreateInteractionResponse, CreateMessage, CreateThread,
    EventHandler, GuildId, Interaction, Member, Message as DiscordMessage, MessageId,
    PartialChannel, Reaction, ReactionType, Ready, UserId,
};
use tracing::{debug, info, warn};
use vabot_chat::cards;
use vabot_chat::progress::with_progress;
use vabot_commands::approval::{ApprovalStatus, Verdict};
use vabot_commands::message::{Block, Message, Tone, Visibility};
use vabot_commands::model::{
    Actor, ApprovalId, ChannelId as VaChannelId, ChannelRef, DeliveryId, GroupId, Invocation,
    Platform, ShortId, ThreadId, WorkspaceId,
};
use vabot_commands::pipeline::{self, Deps, Reply, VoteEvent};
use vabot_commands::store::PostedMessage;

use crate::DiscordConfig;
use crate::render::{Rendered, render};
use crate::schema::{Completion, Schema, path_of};

/// How long a button click may take before it is acknowledged without an update: Discord
/// fails the interaction after 3 s.
const BUTTON_DEADLINE: Duration = Duration::from_millis(2200);

/// The serenity event handler.
pub struct Adapter {
    inner: Arc<Inner>,
}

struct Inner {
    config: DiscordConfig,
    deps: Deps,
    schema: Arc<Schema>,
    /// The bot's own user, from READY: its reactions on its cards are not votes.
    me: OnceLock<UserId>,
    /// Channel → its parent when it is a thread (`None`: not a thread). Immutable facts,
    /// so one REST lookup per channel.
    parents: Mutex<HashMap<ChannelId, Option<ChannelId>>>,
    /// Who was already told that pins do not work in a channel outside the policy.
    told: Mutex<HashSet<(UserId, ChannelId)>>,
}

impl Adapter {
    pub fn new(config: DiscordConfig, deps: Deps, schema: Arc<Schema>) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                deps,
                schema,
                me: OnceLock::new(),
                parents: Mutex::new(HashMap::new()),
                told: Mutex::new(HashSet::new()),
            }),
        }
    }
}

#[async_trait]
impl EventHandler for Adapter {
    /// serenity's REST ratelimiter waits before a call; `/metrics` shows how often and how long.
    async fn ratelimit(&self, data: serenity::http::RatelimitInfo) {
        metrics::counter!("vabot_platform_rate_limited_total", "platform" => "discord", "method" => "rest")
            .increment(1);
        metrics::histogram!("vabot_platform_rate_limit_wait_seconds", "platform" => "discord")
            .record(data.timeout.as_secs_f64());
    }

    async fn ready(&self, ctx: Context, ready: Ready) {
        let _ = self.inner.me.set(ready.user.id);
        info!(user = %ready.user.id, guilds = ready.guilds.len(), "Discord gateway ready");
        self.inner.register(&ctx).await;
    }

    async fn resume(&self, _: Context, _: serenity::all::ResumedEvent) {
        info!("Discord gateway session resumed");
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(cmd) => self.inner.on_command(&ctx, cmd).await,
            Interaction::Autocomplete(ac) => self.inner.on_autocomplete(&ctx, ac).await,
            Interaction::Component(c) => self.inner.on_button(&ctx, c).await,
            other => debug!(kind = ?other.kind(), "Interaction ignored"),
        }
    }

    async fn reaction_add(&self, ctx: Context, reaction: Reaction) {
        self.inner.on_reaction(&ctx, reaction).await;
    }

    async fn reaction_remove(&self, ctx: Context, reaction: Reaction) {
        self.inner.on_reaction_removed(&ctx, reaction).await;
    }
}

// === identity ===

fn actor_of(user: UserId, member: Option<&Member>) -> Actor {
    Actor {
        platform: Platform::Discord,
        user: vabot_commands::model::UserId::new(user.to_string()),
        groups: member
            .map(|m| {
                m.roles
                    .iter()
                    .map(|r| GroupId::new(r.to_string()))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn is_thread(kind: ChannelType) -> bool {
    matches!(
        kind,
        ChannelType::PublicThread | ChannelType::PrivateThread | ChannelType::NewsThread
    )
}

/// Where a command was typed: the policy knows channels, so a thread maps to its parent.
fn channel_of(
    guild: Option<GuildId>,
    channel: ChannelId,
    partial: Option<&PartialChannel>,
) -> (ChannelRef, bool) {
    let workspace = WorkspaceId::new(guild.map(|g| g.to_string()).unwrap_or_default());
    match partial {
        Some(p) if is_thread(p.kind) => {
            let parent = p.parent_id.unwrap_or(channel);
            (
                ChannelRef {
                    platform: Platform::Discord,
                    workspace,
                    channel: VaChannelId::new(parent.to_string()),
                    thread: Some(ThreadId::new(channel.to_string())),
                },
                true,
            )
        }
        _ => (
            ChannelRef {
                platform: Platform::Discord,
                workspace,
                channel: VaChannelId::new(channel.to_string()),
                thread: None,
            },
            false,
        ),
    }
}

/// The approval a card message carries (its Approve button), if any.
fn card_approval(m: &Message) -> Option<ApprovalId> {
    m.blocks.iter().find_map(|b| match b {
        Block::Actions { buttons } => buttons
            .iter()
            .find_map(|x| x.action.strip_prefix("approve:"))
            .and_then(|id| ShortId::parse('a', id)),
        _ => None,
    })
}

fn parse_button(custom_id: &str) -> Option<(Verdict, ApprovalId)> {
    let (verb, id) = custom_id.split_once(':')?;
    let verdict = match verb {
        "approve" => Verdict::Approve,
        "deny" => Verdict::Deny,
        _ => return None,
    };
    Some((verdict, ShortId::parse('a', id)?))
}

/// Emoji compare without the variation selector some clients add (✅ vs ✅︎).
pub(crate) fn same_emoji(a: &str, b: &str) -> bool {
    let strip = |s: &str| s.replace('\u{fe0f}', "");
    strip(a) == strip(b)
}

fn emoji_name(r: &ReactionType) -> Option<String> {
    match r {
        ReactionType::Unicode(s) => Some(s.clone()),
        ReactionType::Custom { name, .. } => name.clone(),
        _ => None,
    }
}

fn thread_name(text: &str) -> String {
    let mut name: String = text.chars().take(90).collect();
    if name.chars().count() < text.chars().count() {
        name.push('…');
    }
    name
}

// === impl Inner ===

impl Inner {
    async fn register(&self, ctx: &Context) {
        let command = self.schema.command();
        if self.config.guild_ids.is_empty() {
            match serenity::all::Command::set_global_commands(&ctx.http, vec![command]).await {
                Ok(_) => info!("Registered /va globally"),
                Err(e) => warn!(error = %e, "Registering /va globally failed"),
            }
            return;
        }
        for g in &self.config.guild_ids {
            match GuildId::new(*g)
                .set_commands(&ctx.http, vec![command.clone()])
                .await
            {
                Ok(_) => info!(guild = g, "Registered /va"),
                Err(e) => warn!(guild = g, error = %e, "Registering /va failed"),
            }
        }
    }

    async fn record(
        &self,
        msg: &DiscordMessage,
        thread: Option<ChannelId>,
        reply: &Reply,
        approval: Option<ApprovalId>,
    ) {
        let posted = PostedMessage {
            platform: Platform::Discord,
            channel: msg.channel_id.to_string(),
            message: msg.id.to_string(),
            thread: thread.map(|t| t.to_string()),
            invocation: reply.invocation.clone(),
            approval,
            at: self.deps.clock.now(),
        };
        // Without its record a reaction on it cannot be mapped (buttons still work).
        cards::record(&self.deps, posted).await;
    }

    /// Posts a message in a channel or thread; an approval card gets its vote reactions.
    async fn post(
        &self,
        ctx: &Context,
        channel: ChannelId,
        m: &Message,
        reply: &Reply,
        mention: Option<UserId>,
    ) -> Option<DiscordMessage> {
        let r = render(m);
        let mut builder: CreateMessage = r.message();
        if let Some(u) = mention {
            builder = builder.content(format!("<@{u}>"));
        }
        match channel.send_message(&ctx.http, builder).await {
            Ok(sent) => {
                let approval = card_approval(m);
                self.record(&sent, Some(channel), reply, approval.clone())
                    .await;
                if approval.is_some() {
                    self.add_vote_reactions(ctx, &sent).await;
                }
                Some(sent)
            }
            Err(e) => {
                warn!(error = %e, channel = %channel, "Posting a message failed");
                api_error("post");
                None
            }
        }
    }

    async fn add_vote_reactions(&self, ctx: &Context, msg: &DiscordMessage) {
        for emoji in [&self.config.approve_emoji, &self.config.deny_emoji] {
            if let Err(e) = msg
                .channel_id
                .create_reaction(&ctx.http, msg.id, ReactionType::Unicode(emoji.clone()))
                .await
            {
                debug!(error = %e, "Adding a vote reaction failed");
            }
        }
    }

    // --- slash command ---
}

/// Counts a failed Discord REST call for `/metrics` (bounded labels: the operation only).
fn api_error(op: &'static str) {
    metrics::counter!("vabot_platform_api_errors_total", "platform" => "discord", "method" => op)
        .increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_ids_carry_the_verdict_and_the_approval() {
        let id = ShortId::from_number('a', 77);
        assert_eq!(
            parse_button(&format!("approve:{id}")),
            Some((Verdict::Approve, id.clone()))
        );
        assert_eq!(
            parse_button(&format!("deny:{id}")),
            Some((Verdict::Deny, id))
        );
        assert_eq!(parse_button("approve:not-an-id"), None);
        assert_eq!(parse_button("other:a-000001"), None);
    }

    #[test]
    fn emoji_match_ignores_the_variation_selector() {
        assert!(same_emoji("✅\u{fe0f}", "✅"));
        assert!(!same_emoji("❌", "✅"));
    }
}
