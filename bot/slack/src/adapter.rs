//! Events in, replies out: the part both transports share.

mod pin;

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use slack_morphism::prelude::*;
use tracing::{debug, info, warn};
use vabot_commands::approval::Verdict;
use vabot_commands::message::{Block, Message, Tone, Visibility};
use vabot_commands::model::{
    Actor, ChannelId, ChannelRef, DeliveryId, Invocation, Platform, ShortId, ThreadId, UserId,
    WorkspaceId,
};
use vabot_commands::pipeline::{Deps, Reply, VoteEvent, handle, handle_vote};
use vabot_commands::store::{Delivery, PostedMessage};

use crate::blocks::{self, render};
use crate::outbound::{self, Client, Outbound};
use crate::{SlackConfig, SlackError};

/// How many recent delivery ids one process remembers to drop redeliveries before
/// posting anything (the store's delivery-id check is the authority across replicas).
const SEEN_CAPACITY: usize = 4096;

/// Work waiting for a worker, in memory; beyond this it waits in the store only.
const QUEUE_CAPACITY: usize = 1024;

/// A delivery accepted but not claimed after this long was left behind (the queue was
/// full, or the process that accepted it died): the sweeper resumes it.
const LEFT_BEHIND: Duration = Duration::from_secs(30);

/// A claimed delivery still unsettled after this long lost its worker (a crash); it is
/// retried, at most [`MAX_ATTEMPTS`] times in all.
const ABANDONED: Duration = Duration::from_secs(15 * 60);
const MAX_ATTEMPTS: u32 = 3;

/// One unit of work: what Slack delivered, as slack-morphism parsed it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "event", rename_all = "snake_case")]
pub enum Job {
    Command(Box<SlackCommandEvent>),
    Push(Box<SlackPushEventCallback>),
    Interaction(Box<SlackInteractionEvent>),
}

impl Job {
    /// The platform's id for this delivery, when it has one.
    fn delivery(&self) -> Option<String> {
        match self {
            Job::Command(ev) => Some(format!("cmd:{}", ev.trigger_id.0)),
            Job::Push(ev) => Some(format!("evt:{}", ev.event_id.0)),
            Job::Interaction(ev) => match ev.as_ref() {
                SlackInteractionEvent::BlockActions(ba) => Some(format!("int:{}", ba.trigger_id.0)),
                _ => None,
            },
        }
    }
}

/// What became of a delivery when it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Recorded and queued (or left in the store for the sweeper).
    Queued,
    /// Seen before, here or on another replica: nothing to do.
    Duplicate,
    /// The store could not record it: nothing will be done, the user must be told.
    Unrecorded,
}

/// Where a reply goes.
#[derive(Debug, Clone)]
struct Target {
    channel: String,
    thread: Option<String>,
    /// Who triggered it: the recipient of ephemeral replies.
    user: String,
}

/// The Slack adapter; one per bot token, shared by both transports.
pub struct SlackAdapter {
    config: SlackConfig,
    deps: Deps,
    client: Arc<Client>,
    out: Outbound,
    seen: Mutex<(HashSet<String>, VecDeque<String>)>,
    /// The workers' queue, started with the first delivery (inside the runtime).
    queue: OnceLock<tokio::sync::mpsc::Sender<(Job, Option<Delivery>)>>,
    /// Deliveries this process recorded but could not queue: the sweeper takes them back
    /// at once, without the grace period (the claim keeps them from running twice).
    overflowed: AtomicUsize,
    /// Members of the Slack user groups the policy names.
    groups: crate::groups::UserGroups,
}

impl SlackAdapter {
    /// Builds the adapter and its Web API client (no network traffic yet).
    pub fn new(config: SlackConfig, deps: Deps) -> Result<Self, SlackError> {
        config.validate()?;
        let client = Arc::new(outbound::client(&config.api_base)?);
        let token = SlackApiToken::new(config.bot_token.expose().to_owned().into());
        let out = Outbound::new(client.clone(), token, config.pace());
        Ok(Self {
            config,
            deps,
            client,
            out,
            seen: Mutex::new((HashSet::new(), VecDeque::new())),
            queue: OnceLock::new(),
            overflowed: AtomicUsize::new(0),
            groups: crate::groups::UserGroups::default(),
        })
    }

    pub fn config(&self) -> &SlackConfig {
        &self.config
    }

    pub fn client(&self) -> Arc<Client> {
        self.client.clone()
    }

    /// The bot's clock (the pipeline's), in Unix seconds: the signature window uses it.
    pub fn now_unix(&self) -> i64 {
        self.deps.clock.now().timestamp()
    }

    /// True the first time this process sees a delivery id.
    fn first_seen(&self, delivery: &str) -> bool {
        let Ok(mut g) = self.seen.lock() else {
            return true;
        };
        let (set, order) = &mut *g;
        if !set.insert(delivery.to_owned()) {
            return false;
        }
        order.push_back(delivery.to_owned());
        if order.len() > SEEN_CAPACITY
            && let Some(old) = order.pop_front()
        {
            set.remove(&old);
        }
        true
    }

    /// Records a delivery in the store, then queues its work; the platform is acked
    /// after this returns, so an acked delivery is never lost: if the queue is full, or
    /// this process dies, the work waits in the store for the sweeper (any replica).
    pub async fn accept(self: &Arc<Self>, job: Job) -> Accepted {
        let Some(id) = job.delivery() else {
            self.enqueue(job, None);
            return Accepted::Queued;
        };
        let payload = match serde_json::to_string(&job) {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %e, delivery = id, "A delivery does not encode; working on it unrecorded");
                self.enqueue(job, None);
                return Accepted::Queued;
            }
        };
        let delivery = Delivery {
            platform: Platform::Slack,
            id: DeliveryId::new(id),
            received_at: self.deps.clock.now(),
            payload,
            attempts: 0,
            owner: Some(self.deps.replica.clone()),
        };
        match self.deps.store.accept(&delivery).await {
            Ok(true) => {
                self.enqueue(job, Some(delivery));
                Accepted::Queued
            }
            Ok(false) => {
                info!(delivery = %delivery.id, "Redelivery ignored");
                Accepted::Duplicate
            }
            Err(e) => {
                warn!(error = %e, delivery = %delivery.id, "Could not record a delivery; not running it");
                metrics::counter!("vabot_deliveries_unrecorded_total", "platform" => "slack")
                    .increment(1);
                Accepted::Unrecorded
            }
        }
    }

    /// Starts the workers and the sweeper, which at once resumes deliveries a previous
    /// process acked but did not finish. (The first delivery starts them otherwise.)
    pub fn start(self: &Arc<Self>) {
        self.queue.get_or_init(|| self.start_workers());
    }

    /// Hands work to the workers; a full queue leaves it to the sweeper.
    fn enqueue(self: &Arc<Self>, job: Job, delivery: Option<Delivery>) {
        let queue = self.queue.get_or_init(|| self.start_workers());
        if let Err(e) = queue.try_send((job, delivery)) {
            match e.into_inner() {
                (_, Some(d)) => {
                    self.overflowed.fetch_add(1, Ordering::SeqCst);
                    debug!(delivery = %d.id, "Work queue full; the sweeper resumes it");
                }
                (job, None) => {
                    // Nothing recorded to resume it from: work on it outside the pool.
                    let me = self.clone();
                    tokio::spawn(async move { me.work(job).await });
                }
            }
        }
    }

    /// `workers` tasks on one bounded queue, and the sweeper. They hold the adapter
    /// weakly: dropping the adapter closes the queue and ends them.
    fn start_workers(self: &Arc<Self>) -> tokio::sync::mpsc::Sender<(Job, Option<Delivery>)> {
        let (tx, rx) = tokio::sync::mpsc::channel::<(Job, Option<Delivery>)>(QUEUE_CAPACITY);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..self.config.workers {
            let rx = rx.clone();
            let me = Arc::downgrade(self);
            tokio::spawn(async move {
                loop {
                    let next = rx.lock().await.recv().await;
                    let (Some((job, delivery)), Some(me)) = (next, me.upgrade()) else {
                        return;
                    };
                    me.claimed(job, delivery).await;
                }
            });
        }
        tokio::spawn(sweep(Arc::downgrade(self)));
        tx
    }

    /// Claims a recorded delivery (exactly one worker of any replica wins), works on it
    /// and settles it.
    async fn claimed(&self, job: Job, delivery: Option<Delivery>) {
        let Some(d) = delivery else {
            return self.work(job).await;
        };
        match self
            .deps
            .store
            .claim(&d, self.deps.clock.now(), &self.deps.replica)
            .await
        {
            Ok(true) => {}
            Ok(false) => return debug!(delivery = %d.id, "Delivery taken by another worker"),
            Err(e) => {
                // Left unsettled: the sweeper retries once the store is back.
                return warn!(error = %e, delivery = %d.id, "Could not claim a delivery");
            }
        }
        self.work(job).await;
        if let Err(e) = self
            .deps
            .store
            .settle(Platform::Slack, &d.id, self.deps.clock.now())
            .await
        {
            warn!(error = %e, delivery = %d.id, "Could not settle a delivery");
        }
    }

    async fn work(&self, job: Job) {
        match job {
            Job::Command(ev) => self.on_command(*ev).await,
            Job::Push(ev) => self.on_push(*ev).await,
            Job::Interaction(ev) => self.on_interaction(*ev).await,
        }
    }

    /// Resumes deliveries left in the store: now, and whenever the queue has room.
    async fn resume_left_behind(self: &Arc<Self>) -> usize {
        let now = self.deps.clock.now();
        let overflowed = self.overflowed.swap(0, Ordering::SeqCst);
        let grace = if overflowed > 0 {
            chrono::Duration::zero()
        } else {
            chrono::Duration::from_std(LEFT_BEHIND).unwrap_or_default()
        };
        let ago = |d: Duration| now - chrono::Duration::from_std(d).unwrap_or_default();
        let left = match self
            .deps
            .store
            .unsettled(
                Platform::Slack,
                vabot_commands::store::Unsettled {
                    me: self.deps.replica.clone(),
                    accepted_before: now - grace,
                    claimed_before: ago(ABANDONED),
                    // A replica that stopped: its deliveries are resumed at once.
                    owner_seen_before: vabot_commands::recovery::dead_before(now),
                    max_attempts: MAX_ATTEMPTS,
                },
            )
            .await
        {
            Ok(left) => left,
            Err(e) => {
                debug!(error = %e, "Could not look for left-behind deliveries");
                return 0;
            }
        };
        let Some(queue) = self.queue.get() else {
            return 0;
        };
        let mut resumed = 0;
        for d in left {
            match serde_json::from_str::<Job>(&d.payload) {
                Ok(job) => {
                    // The worker claims it, so a delivery another replica took is skipped.
                    if queue.try_send((job, Some(d))).is_err() {
                        self.overflowed.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                    resumed += 1;
                }
                Err(e) => {
                    warn!(error = %e, delivery = %d.id, "A recorded delivery no longer decodes; settling it");
                    let _ = self.deps.store.settle(Platform::Slack, &d.id, now).await;
                }
            }
        }
        if resumed > 0 {
            info!(resumed, "Resumed deliveries left in the store");
        }
        resumed
    }

    /// The Slack user with the policy's user groups they are in.
    async fn actor(&self, user: &str) -> Actor {
        let policy = self.deps.policy();
        Actor {
            platform: Platform::Slack,
            user: UserId::new(user),
            groups: self.groups.of(&self.out, &policy, user).await,
        }
    }

    fn channel_ref(team: &str, channel: &str, thread: Option<&str>) -> ChannelRef {
        ChannelRef {
            platform: Platform::Slack,
            workspace: WorkspaceId::new(team),
            channel: ChannelId::new(channel),
            thread: thread.map(ThreadId::new),
        }
    }

    /// `/va …`: a root message naming who ran what, then everything in its thread.
    pub async fn on_command(&self, ev: SlackCommandEvent) {
        let delivery = format!("cmd:{}", ev.trigger_id.0);
        if !self.first_seen(&delivery) {
            info!(delivery, "Duplicate slash command ignored");
            return;
        }
        let text = ev.text.clone().unwrap_or_default();
        let user = ev.user_id.0.clone();
        let channel = ev.channel_id.0.clone();
        let team = ev.team_id.0.clone();
        let mut target = Target {
            channel: channel.clone(),
            thread: None,
            user: user.clone(),
        };
        // A typo is answered privately; only a real command opens a public thread.
        let parses = vabot_commands::parse(&text, &self.deps.catalog).is_ok();
        if parses {
            match self.post_root(&channel, &user, &text).await {
                Ok(ts) => target.thread = Some(ts),
                Err(e) => {
                    warn!(error = %e, "Could not open the command's thread; not running it");
                    return;
                }
            }
        }
        let inv = Invocation {
            actor: self.actor(&user).await,
            channel: Self::channel_ref(&team, &channel, target.thread.as_deref()),
            text,
            delivery: DeliveryId::new(delivery),
        };
        self.run(inv, target).await;
    }

    async fn post_root(&self, channel: &str, user: &str, text: &str) -> Result<String, SlackError> {
        let ts = self
            .out
            .post(channel, None, &blocks::root_message(user, text)?)
            .await?;
        self.record(channel, &ts, None, None, None).await;
        Ok(ts)
    }

    /// Runs an invocation; if it is slow, shows a placeholder that the result replaces.
    async fn run(&self, inv: Invocation, target: Target) {
        let text = inv.text.clone();
        let work = handle(&self.deps, inv);
        tokio::pin!(work);
        let (reply, progress) =
            match tokio::time::timeout(self.config.progress_after(), &mut work).await {
                Ok(reply) => (reply, None),
                Err(_) => {
                    let placeholder = match blocks::working_message(&text) {
                        Ok(content) => self
                            .out
                            .post(&target.channel, target.thread.as_deref(), &content)
                            .await
                            .ok(),
                        Err(_) => None,
                    };
                    (work.await, placeholder)
                }
            };
        self.deliver(reply, &target, progress).await;
    }

    /// Events API: `@va …` mentions, approval reactions and pins.
    pub async fn on_push(&self, ev: SlackPushEventCallback) {
        let delivery = format!("evt:{}", ev.event_id.0);
        if !self.first_seen(&delivery) {
            info!(delivery, "Duplicate event delivery ignored");
            return;
        }
        let team = ev.team_id.0.clone();
        match ev.event {
            SlackEventCallbackBody::AppMention(m) => {
                let text = strip_mentions(m.content.text.as_deref().unwrap_or_default());
                // A mention inside a thread answers there; one in the channel starts a
                // thread on the mention itself.
                let thread = m.origin.thread_ts.clone().unwrap_or(m.origin.ts.clone()).0;
                let target = Target {
                    channel: m.channel.0.clone(),
                    thread: Some(thread.clone()),
                    user: m.user.0.clone(),
                };
                let inv = Invocation {
                    actor: self.actor(&m.user.0).await,
                    channel: Self::channel_ref(&team, &m.channel.0, Some(&thread)),
                    text,
                    delivery: DeliveryId::new(delivery),
                };
                self.run(inv, target).await;
            }
            SlackEventCallbackBody::ReactionAdded(r) if self.is_pin(&r.reaction.0) => {
                self.on_pin(&team, &r.user.0, r.item, true, delivery).await;
            }
            SlackEventCallbackBody::ReactionRemoved(r) if self.is_pin(&r.reaction.0) => {
                self.on_pin(&team, &r.user.0, r.item, false, delivery).await;
            }
            SlackEventCallbackBody::ReactionAdded(r) => {
                let verdict =
                    if SlackConfig::is_reaction(&r.reaction.0, &self.config.approve_reaction) {
                        Verdict::Approve
                    } else if SlackConfig::is_reaction(&r.reaction.0, &self.config.deny_reaction) {
                        Verdict::Deny
                    } else {
                        return;
                    };
                let SlackReactionsItem::Message(msg) = r.item else {
                    return;
                };
                let Some(channel) = msg.origin.channel.as_ref().map(|c| c.0.clone()) else {
                    return;
                };
                self.vote(
                    &team,
                    &channel,
                    &msg.origin.ts.0,
                    None,
                    &r.user.0,
                    verdict,
                    "reaction",
                    delivery,
                )
                .await;
            }
            other => debug!(event = ?std::mem::discriminant(&other), "Event ignored"),
        }
    }

    /// Interactivity: the Approve / Deny buttons of an approval card.
    pub async fn on_interaction(&self, ev: SlackInteractionEvent) {
        let SlackInteractionEvent::BlockActions(ba) = ev else {
            return;
        };
        let Some(user) = ba.user.as_ref().map(|u| u.id.0.clone()) else {
            return;
        };
        let (message_ts, container_channel) = match &ba.container {
            SlackInteractionActionContainer::Message(c) => (
                Some(c.message_ts.0.clone()),
                c.channel_id.as_ref().map(|c| c.0.clone()),
            ),
            _ => (None, None),
        };
        let Some(channel) =
            container_channel.or_else(|| ba.channel.as_ref().map(|c| c.id.0.clone()))
        else {
            return;
        };
        let thread = ba
            .message
            .as_ref()
            .and_then(|m| m.origin.thread_ts.as_ref())
            .map(|t| t.0.clone());
        for action in ba.actions.iter().flatten() {
            let verdict = match action.action_id.0.as_str() {
                "approve" => Verdict::Approve,
                "deny" => Verdict::Deny,
                _ => continue,
            };
            let action_ts = action
                .action_ts
                .as_ref()
                .map(|t| t.0.as_str())
                .unwrap_or_default();
            let delivery = format!("btn:{action_ts}:{user}");
            if !self.first_seen(&delivery) {
                continue;
            }
            let Some(approval) = action.value.as_deref().and_then(|v| ShortId::parse('a', v))
            else {
                warn!(value = ?action.value, "A button carried no approval id");
                continue;
            };
            let ts = message_ts.clone().unwrap_or_default();
            self.vote(
                &ba.team.id.0,
                &channel,
                &ts,
                Some((approval, thread.clone())),
                &user,
                verdict,
                "button",
                delivery,
            )
            .await;
        }
    }

    /// Casts a vote by reaction (the card is looked up by its `ts`) or button (the
    /// card's approval id is on the button).
    #[allow(clippy::too_many_arguments)]
    async fn vote(
        &self,
        team: &str,
        channel: &str,
        message_ts: &str,
        known: Option<(ShortId, Option<String>)>,
        user: &str,
        verdict: Verdict,
        via: &'static str,
        delivery: String,
    ) {
        let posted = match self
            .deps
            .store
            .posted(Platform::Slack, channel, message_ts)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %e, "Could not look up the reacted message");
                None
            }
        };
        let (approval, thread) = match (known, posted) {
            (Some((id, thread)), posted) => (id, thread.or(posted.and_then(|p| p.thread))),
            (
                None,
                Some(PostedMessage {
                    approval: Some(id),
                    thread,
                    ..
                }),
            ) => (id, thread),
            // A reaction on anything but an approval card is just a reaction.
            (None, _) => return,
        };
        let target = Target {
            channel: channel.to_owned(),
            thread: thread.clone(),
            user: user.to_owned(),
        };
        let reply = handle_vote(
            &self.deps,
            VoteEvent {
                actor: self.actor(user).await,
                channel: Self::channel_ref(team, channel, thread.as_deref()),
                approval,
                verdict,
                via,
                delivery: DeliveryId::new(delivery),
            },
        )
        .await;
        self.deliver(reply, &target, None).await;
    }

    /// Posts a reply: ephemeral messages to the person, the rest in the thread (the
    /// first one replacing the placeholder, if any), files after their message, and the
    /// approval card updated in place.
    async fn deliver(&self, reply: Reply, target: &Target, mut progress: Option<String>) {
        if reply.duplicate {
            info!(invocation = ?reply.invocation, "Redelivered event: nothing posted");
            if let Some(ts) = progress {
                let note = Message::text(Tone::Info, "This request was already handled.");
                self.update_with(&target.channel, &ts, &note).await;
            }
            return;
        }
        let thread = target.thread.as_deref();
        for m in &reply.messages {
            let rendered = match render(m) {
                Ok(r) => r,
                Err(e) => {
                    warn!(error = %e, "A reply could not be rendered as Block Kit");
                    continue;
                }
            };
            if m.visibility == Visibility::Ephemeral {
                if let Err(e) = self
                    .out
                    .ephemeral(&target.channel, &target.user, thread, &rendered.content)
                    .await
                {
                    warn!(error = %e, "Could not send an ephemeral reply");
                }
                continue;
            }
            let is_card = reply.opened.is_some()
                && m.blocks.iter().any(|b| matches!(b, Block::Actions { .. }));
            let posted = match progress.take() {
                Some(ts) => self
                    .out
                    .update(&target.channel, &ts, &rendered.content)
                    .await
                    .map(|()| ts),
                None => {
                    self.out
                        .post(&target.channel, thread, &rendered.content)
                        .await
                }
            };
            let ts = match posted {
                Ok(ts) => ts,
                Err(e) => {
                    warn!(error = %e, "Could not post a reply");
                    continue;
                }
            };
            self.record(
                &target.channel,
                &ts,
                thread,
                reply.invocation.clone(),
                if is_card { reply.opened.clone() } else { None },
            )
            .await;
            for f in &rendered.files {
                if let Err(e) = self.out.upload(&target.channel, thread, f).await {
                    warn!(error = %e, file = %f.filename, "Could not upload a file");
                }
            }
        }
        if let Some(ts) = progress {
            // Every message was private: don't leave "working on it…" behind.
            let note = Message::text(Tone::Info, "Answered privately.");
            self.update_with(&target.channel, &ts, &note).await;
        }
        if let Some((approval, card)) = reply.card_update {
            match self.deps.store.card_of(Platform::Slack, &approval).await {
                Ok(Some(pm)) => self.update_with(&pm.channel, &pm.message, &card).await,
                Ok(None) => info!(approval = %approval, "No Slack card to update"),
                Err(e) => warn!(error = %e, "Could not look up the approval card"),
            }
        }
    }

    async fn update_with(&self, channel: &str, ts: &str, m: &Message) {
        match render(m) {
            Ok(r) => {
                if let Err(e) = self.out.update(channel, ts, &r.content).await {
                    warn!(error = %e, "Could not update a message");
                }
            }
            Err(e) => warn!(error = %e, "A message could not be rendered as Block Kit"),
        }
    }

    async fn record(
        &self,
        channel: &str,
        ts: &str,
        thread: Option<&str>,
        invocation: Option<ShortId>,
        approval: Option<ShortId>,
    ) {
        let msg = PostedMessage {
            platform: Platform::Slack,
            channel: channel.to_owned(),
            message: ts.to_owned(),
            thread: thread.map(str::to_owned),
            invocation,
            approval,
            at: self.deps.clock.now(),
        };
        if let Err(e) = self.deps.store.record_posted(&msg).await {
            // Without the record a reaction on this message cannot be mapped back.
            warn!(error = %e, "Could not record a posted message");
        }
    }
}

/// What vabot posts on its own (a sweep's follow-up): into the thread of the request's
/// card, and the card updated in place.
#[async_trait::async_trait]
impl vabot_commands::ports::Chat for SlackAdapter {
    async fn follow_up(
        &self,
        req: &vabot_commands::approval::ApprovalRequest,
        messages: &[Message],
        card: Option<&Message>,
    ) {
        let posted = match self.deps.store.card_of(Platform::Slack, &req.id).await {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %e, approval = %req.id, "Could not look up the approval card");
                None
            }
        };
        let target = match posted {
            Some(p) => Target {
                thread: p.thread.or(Some(p.message)),
                channel: p.channel,
                user: req.requester.user.to_string(),
            },
            None => Target {
                channel: req.channel.channel.to_string(),
                thread: req.channel.thread.as_ref().map(ToString::to_string),
                user: req.requester.user.to_string(),
            },
        };
        let reply = Reply {
            invocation: Some(req.invocation.clone()),
            messages: messages.to_vec(),
            card_update: card.map(|c| (req.id.clone(), c.clone())),
            ..Reply::default()
        };
        self.deliver(reply, &target, None).await;
    }
}

/// Every few seconds: resume what the queue could not hold and what dead workers left.
async fn sweep(me: Weak<SlackAdapter>) {
    loop {
        let Some(adapter) = me.upgrade() else {
            return;
        };
        adapter.resume_left_behind().await;
        adapter
            .groups
            .refresh_if_older(
                &adapter.out,
                &adapter.deps.policy(),
                Duration::from_secs(adapter.config.groups_refresh_secs.max(1)),
            )
            .await;
        // A backlog of this process's own is taken back every second; otherwise every 5 s.
        let pause = if adapter.overflowed.load(Ordering::SeqCst) > 0 {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(3)
        };
        drop(adapter);
        tokio::time::sleep(pause).await;
    }
}

/// `<@U0BOT> scale x 3` → `scale x 3`: drops the user mentions Slack puts in the text.
pub(crate) fn strip_mentions(text: &str) -> String {
    text.split_whitespace()
        .filter(|w| !(w.starts_with("<@") && w.ends_with('>')))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::strip_mentions;

    #[test]
    fn mentions_of_the_bot_are_removed_from_the_command_text() {
        assert_eq!(
            strip_mentions("<@U0VABOT> scale agent-engine 3"),
            "scale agent-engine 3"
        );
        assert_eq!(strip_mentions("  <@U0VABOT>   health  "), "health");
    }
}
