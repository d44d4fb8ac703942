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

mod pin;

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
        if let Err(e) = self.deps.store.record_posted(&posted).await {
            // The message is out; without its record a reaction on it cannot be mapped,
            // but the buttons (which carry the id) still work.
            warn!(error = %e, message = %msg.id, "Recording a posted message failed");
        }
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

    async fn on_command(&self, ctx: &Context, cmd: CommandInteraction) {
        if cmd.data.name != crate::schema::COMMAND {
            return;
        }
        // Discord fails the interaction after 3 s; the pipeline may take longer.
        if let Err(e) = cmd.defer(&ctx.http).await {
            // Also what a replayed interaction gets: it was answered the first time.
            warn!(error = %e, interaction = %cmd.id, "Deferring an interaction failed");
            api_error("defer");
            return;
        }
        let text = match self.schema.text_of(&cmd.data.options) {
            Ok(t) => t,
            Err(e) => {
                let m = Message::text(Tone::Warning, e.to_string()).ephemeral();
                self.answer_privately(ctx, &cmd, &[m]).await;
                return;
            }
        };
        let (channel, in_thread) = channel_of(cmd.guild_id, cmd.channel_id, cmd.channel.as_ref());
        let inv = Invocation {
            actor: actor_of(cmd.user.id, cmd.member.as_deref()),
            channel,
            text: text.clone(),
            delivery: DeliveryId::new(format!("interaction:{}", cmd.id)),
        };
        info!(interaction = %cmd.id, text = %text, "Slash command");
        let reply = pipeline::handle(&self.deps, inv).await;
        if reply.duplicate {
            let _ = cmd.delete_response(&ctx.http).await;
            return;
        }
        let (public, private): (Vec<&Message>, Vec<&Message>) = reply
            .messages
            .iter()
            .partition(|m| m.visibility == Visibility::Thread);
        if public.is_empty() {
            let private: Vec<Message> = private.into_iter().cloned().collect();
            self.answer_privately(ctx, &cmd, &private).await;
            return;
        }
        if in_thread {
            // Already in a thread: answer there, one follow-up per message.
            for m in &public {
                let r = render(m);
                match cmd.create_followup(&ctx.http, r.followup()).await {
                    Ok(sent) => {
                        let approval = card_approval(m);
                        self.record(&sent, Some(cmd.channel_id), &reply, approval.clone())
                            .await;
                        if approval.is_some() {
                            self.add_vote_reactions(ctx, &sent).await;
                        }
                    }
                    Err(e) => warn!(error = %e, "Follow-up failed"),
                }
            }
        } else {
            self.answer_in_thread(ctx, &cmd, &text, &reply, &public)
                .await;
        }
        for m in private {
            let _ = cmd.create_followup(&ctx.http, render(m).followup()).await;
        }
    }

    /// The follow-up names the command and who asked; its thread holds everything else.
    async fn answer_in_thread(
        &self,
        ctx: &Context,
        cmd: &CommandInteraction,
        text: &str,
        reply: &Reply,
        public: &[&Message],
    ) {
        let tone = public.last().map(|m| m.tone).unwrap_or(Tone::Info);
        let id = reply
            .invocation
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let mut root = Message::new(tone)
            .header(format!("/va {text}"))
            .paragraph(format!("Requested by <@{}>.", cmd.user.id));
        root = if reply.opened.is_some() {
            root.context(format!("{id} · waiting for approval in the thread"))
        } else {
            root.context(format!("{id} · details in the thread"))
        };
        let root_msg = match cmd
            .create_followup(&ctx.http, render(&root).followup())
            .await
        {
            Ok(m) => m,
            Err(e) => {
                warn!(error = %e, "Follow-up failed");
                return;
            }
        };
        self.record(&root_msg, None, reply, None).await;
        let thread = cmd
            .channel_id
            .create_thread_from_message(
                &ctx.http,
                root_msg.id,
                CreateThread::new(thread_name(&format!("{text} · {id}")))
                    .auto_archive_duration(AutoArchiveDuration::OneDay),
            )
            .await;
        match thread {
            Ok(thread) => {
                for m in public {
                    self.post(ctx, thread.id, m, reply, None).await;
                }
            }
            Err(e) => {
                // No thread (missing permission, a DM): answer with follow-ups instead.
                warn!(error = %e, "Creating a thread failed; answering in the channel");
                for m in public {
                    if let Ok(sent) = cmd.create_followup(&ctx.http, render(m).followup()).await {
                        let approval = card_approval(m);
                        self.record(&sent, None, reply, approval.clone()).await;
                        if approval.is_some() {
                            self.add_vote_reactions(ctx, &sent).await;
                        }
                    }
                }
            }
        }
    }

    /// Replaces the public "thinking…" placeholder by private follow-ups.
    async fn answer_privately(
        &self,
        ctx: &Context,
        cmd: &CommandInteraction,
        messages: &[Message],
    ) {
        // The first follow-up after a public defer would inherit its visibility.
        if let Err(e) = cmd.delete_response(&ctx.http).await {
            debug!(error = %e, "Deleting the deferred response failed");
        }
        for m in messages {
            let mut r: Rendered = render(m);
            r.ephemeral = true;
            if let Err(e) = cmd.create_followup(&ctx.http, r.followup()).await {
                warn!(error = %e, "Ephemeral follow-up failed");
                api_error("follow_up");
            }
        }
    }

    // --- autocomplete ---

    async fn on_autocomplete(&self, ctx: &Context, ac: CommandInteraction) {
        let Some(focused) = ac.data.autocomplete() else {
            return;
        };
        let (path, _) = path_of(&ac.data.options);
        let completion = self
            .schema
            .leaf(&path)
            .and_then(|l| l.options.iter().find(|o| o.name == focused.name))
            .and_then(|o| o.completion);
        let typed = focused.value.to_lowercase();
        let mut choices: Vec<(String, String)> = Vec::new();
        match completion {
            Some(Completion::Service) | Some(Completion::ServiceOrNamespace) => {
                if completion == Some(Completion::ServiceOrNamespace) {
                    let ns = &self.deps.catalog.namespaces;
                    for n in [&ns.apps, &ns.infra] {
                        choices.push((n.to_string(), n.to_string()));
                    }
                }
                for s in self.deps.catalog.names() {
                    choices.push((s.to_owned(), s.to_owned()));
                }
            }
            Some(Completion::Approval) => {
                let (channel, _) = channel_of(ac.guild_id, ac.channel_id, ac.channel.as_ref());
                let now = self.deps.clock.now();
                match self
                    .deps
                    .store
                    .approvals(Some(&channel.key()), ApprovalStatus::Pending)
                    .await
                {
                    Ok(reqs) => {
                        for r in reqs
                            .iter()
                            .filter(|r| r.status_at(now) == ApprovalStatus::Pending)
                        {
                            let label: String = format!("{} — {}", r.id, r.plan.summary)
                                .chars()
                                .take(100)
                                .collect();
                            choices.push((label, r.id.to_string()));
                        }
                    }
                    Err(e) => warn!(error = %e, "Listing pending approvals failed"),
                }
            }
            None => {}
        }
        let mut response = CreateAutocompleteResponse::new();
        for (label, value) in choices
            .into_iter()
            .filter(|(l, _)| l.to_lowercase().contains(&typed))
            .take(crate::schema::MAX_CHOICES)
        {
            response = response.add_string_choice(label, value);
        }
        if let Err(e) = ac
            .create_response(&ctx.http, CreateInteractionResponse::Autocomplete(response))
            .await
        {
            debug!(error = %e, "Autocomplete response failed");
        }
    }

    // --- votes ---

    /// Casts a vote in the channel the request was made in (the card lives in its thread).
    async fn vote(
        &self,
        actor: Actor,
        fallback: ChannelRef,
        approval: ApprovalId,
        verdict: Verdict,
        via: &'static str,
        delivery: String,
    ) -> Reply {
        let channel = match self.deps.store.approval(&approval).await {
            Ok(Some(req)) => req.channel,
            // Unknown or unreadable: the pipeline says so in its own words.
            _ => fallback,
        };
        pipeline::handle_vote(
            &self.deps,
            VoteEvent {
                actor,
                channel,
                approval,
                verdict,
                via,
                delivery: DeliveryId::new(delivery),
            },
        )
        .await
    }

    /// Where the card of an approval is, if it was posted on Discord.
    async fn card(&self, approval: &ApprovalId) -> Option<(ChannelId, MessageId)> {
        let posted = self
            .deps
            .store
            .card_of(Platform::Discord, approval)
            .await
            .ok()??;
        let channel = posted.channel.parse::<u64>().ok().filter(|c| *c != 0)?;
        let message = posted.message.parse::<u64>().ok().filter(|m| *m != 0)?;
        Some((ChannelId::new(channel), MessageId::new(message)))
    }

    /// Updates cards in place and posts the rest of a vote's reply in the card's thread.
    async fn deliver_vote(
        &self,
        ctx: &Context,
        reply: &Reply,
        thread: ChannelId,
        skip_card: Option<&ApprovalId>,
    ) -> Vec<Message> {
        if let Some((id, card)) = &reply.card_update
            && Some(id) != skip_card
            && let Some((channel, message)) = self.card(id).await
            && let Err(e) = channel
                .edit_message(&ctx.http, message, render(card).edit())
                .await
        {
            warn!(error = %e, approval = %id, "Updating the approval card failed");
            api_error("update_card");
        }
        let mut private = Vec::new();
        for m in &reply.messages {
            if m.visibility == Visibility::Ephemeral {
                private.push(m.clone());
            } else {
                self.post(ctx, thread, m, reply, None).await;
            }
        }
        private
    }

    async fn on_reaction(&self, ctx: &Context, r: Reaction) {
        let Some(user) = r.user_id else { return };
        if self.me.get() == Some(&user) || r.member.as_ref().is_some_and(|m| m.user.bot) {
            return;
        }
        let Some(emoji) = emoji_name(&r.emoji) else {
            return;
        };
        if same_emoji(&emoji, &self.config.pin_emoji) {
            self.pin_added(ctx, r).await;
            return;
        }
        let verdict = if same_emoji(&emoji, &self.config.approve_emoji) {
            Verdict::Approve
        } else if same_emoji(&emoji, &self.config.deny_emoji) {
            Verdict::Deny
        } else {
            return;
        };
        let posted = match self
            .deps
            .store
            .posted(
                Platform::Discord,
                &r.channel_id.to_string(),
                &r.message_id.to_string(),
            )
            .await
        {
            Ok(Some(p)) => p,
            Ok(None) => return,
            Err(e) => {
                warn!(error = %e, "Looking up a reacted message failed");
                return;
            }
        };
        let Some(approval) = posted.approval else {
            return;
        };
        let actor = actor_of(user, r.member.as_ref());
        let (fallback, _) = channel_of(r.guild_id, r.channel_id, None);
        info!(approval = %approval, user = %user, "Vote by reaction");
        let delivery = format!(
            "reaction:{}:{}:{}",
            r.message_id,
            user,
            emoji.replace('\u{fe0f}', "")
        );
        let reply = self
            .vote(actor, fallback, approval, verdict, "reaction", delivery)
            .await;
        if reply.duplicate {
            return;
        }
        let private = self.deliver_vote(ctx, &reply, r.channel_id, None).await;
        if !private.is_empty() {
            // A reaction has no private reply; say why in the thread, to that person, and
            // take the reaction back so the card does not look approved.
            for m in &private {
                self.post(ctx, r.channel_id, m, &reply, Some(user)).await;
            }
            if let Err(e) = r.delete(&ctx.http).await {
                debug!(error = %e, "Removing a refused reaction failed");
            }
        }
    }

    async fn on_button(self: &Arc<Self>, ctx: &Context, c: ComponentInteraction) {
        let Some((verdict, approval)) = parse_button(&c.data.custom_id) else {
            let _ = c
                .create_response(&ctx.http, CreateInteractionResponse::Acknowledge)
                .await;
            return;
        };
        let actor = actor_of(c.user.id, c.member.as_ref());
        let (fallback, _) = channel_of(c.guild_id, c.channel_id, c.channel.as_ref());
        info!(approval = %approval, user = %c.user.id, "Vote by button");
        let vote = {
            let this = Arc::clone(self);
            let approval = approval.clone();
            let delivery = format!("interaction:{}", c.id);
            tokio::spawn(async move {
                this.vote(actor, fallback, approval, verdict, "button", delivery)
                    .await
            })
        };
        let mut vote = vote;
        let (reply, in_time) = match tokio::time::timeout(BUTTON_DEADLINE, &mut vote).await {
            Ok(Ok(reply)) => (reply, true),
            Ok(Err(e)) => {
                warn!(error = %e, "The vote task failed");
                return;
            }
            Err(_) => {
                // Slow (a long execution): acknowledge now, update the card when done.
                if let Err(e) = c.defer(&ctx.http).await {
                    warn!(error = %e, "Acknowledging a button failed");
                    api_error("ack_button");
                }
                match vote.await {
                    Ok(reply) => (reply, false),
                    Err(e) => {
                        warn!(error = %e, "The vote task failed");
                        return;
                    }
                }
            }
        };
        if reply.duplicate {
            if in_time {
                let _ = c
                    .create_response(&ctx.http, CreateInteractionResponse::Acknowledge)
                    .await;
            }
            return;
        }
        let card_here = reply
            .card_update
            .as_ref()
            .filter(|(id, _)| *id == approval)
            .map(|(_, m)| render(m));
        let mut private: Vec<Message> = Vec::new();
        match (&card_here, in_time) {
            (Some(card), true) => {
                if let Err(e) = c
                    .create_response(
                        &ctx.http,
                        CreateInteractionResponse::UpdateMessage(card.response()),
                    )
                    .await
                {
                    warn!(error = %e, "Updating the card by the button's response failed");
                }
            }
            (Some(card), false) => {
                if let Err(e) = c.edit_response(&ctx.http, card.edit_response()).await {
                    warn!(error = %e, "Updating the card after a slow vote failed");
                }
            }
            (None, _) => {}
        }
        let skip = card_here.as_ref().map(|_| &approval);
        private.extend(self.deliver_vote(ctx, &reply, c.channel_id, skip).await);
        let mut first = card_here.is_none() && in_time;
        for m in &private {
            let mut r = render(m);
            r.ephemeral = true;
            let result = if first {
                first = false;
                c.create_response(&ctx.http, CreateInteractionResponse::Message(r.response()))
                    .await
                    .map(|_| ())
            } else {
                c.create_followup(&ctx.http, r.followup()).await.map(|_| ())
            };
            if let Err(e) = result {
                warn!(error = %e, "Answering a refused vote failed");
            }
        }
        if first {
            // Nothing to say and nothing to update (should not happen): close the spinner.
            let _ = c
                .create_response(&ctx.http, CreateInteractionResponse::Acknowledge)
                .await;
        }
    }
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
