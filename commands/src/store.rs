//! What the store keeps, the port it is reached through, the hash chain that makes the
//! history tamper-evident, and an in-memory implementation for tests and the demo.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::approval::{ApprovalRequest, ApprovalStatus};
use crate::model::{Actor, ApprovalId, ChannelRef, DeliveryId, InvocationId};
use crate::plan::Plan;

// === Records ===

/// One invocation as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvocationRecord {
    pub id: InvocationId,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub channel: ChannelRef,
    pub text: String,
    pub delivery: DeliveryId,
}

/// Whether an invocation was new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    New,
    /// The platform delivered this event before; the first invocation's id.
    Duplicate(InvocationId),
}

/// Kinds of audit events, in the order they usually happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Invocation,
    Rejected,
    Denied,
    Permitted,
    Planned,
    ApprovalRequested,
    Vote,
    VoteRefused,
    ApprovalDecided,
    ExecutionStarted,
    ExecutionFinished,
    ExecutionFailed,
    IncidentStarted,
    IncidentEnded,
    /// A chat message pinned into the timeline (a 📌 reaction); see `pins`.
    MessagePinned,
    /// A pinning reaction removed again.
    MessageUnpinned,
    /// A chart (an image) posted with a reply; its bytes are kept by content hash.
    ChartPosted,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Invocation => "invocation",
            EventKind::Rejected => "rejected",
            EventKind::Denied => "denied",
            EventKind::Permitted => "permitted",
            EventKind::Planned => "planned",
            EventKind::ApprovalRequested => "approval_requested",
            EventKind::Vote => "vote",
            EventKind::VoteRefused => "vote_refused",
            EventKind::ApprovalDecided => "approval_decided",
            EventKind::ExecutionStarted => "execution_started",
            EventKind::ExecutionFinished => "execution_finished",
            EventKind::ExecutionFailed => "execution_failed",
            EventKind::IncidentStarted => "incident_started",
            EventKind::IncidentEnded => "incident_ended",
            EventKind::MessagePinned => "message_pinned",
            EventKind::MessageUnpinned => "message_unpinned",
            EventKind::ChartPosted => "chart_posted",
        }
    }
}

/// An event to append.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    pub invocation: Option<InvocationId>,
    pub channel: ChannelRef,
    pub actor: Option<Actor>,
    pub kind: EventKind,
    /// One line, as the timeline shows it.
    pub summary: String,
    pub data: serde_json::Value,
}

/// An appended event, chained to the one before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub invocation: Option<InvocationId>,
    pub channel: ChannelRef,
    pub actor: Option<Actor>,
    pub kind: EventKind,
    pub summary: String,
    pub data: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of the empty chain's predecessor.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 over the previous hash and a canonical encoding of the event's content.
pub fn chain_hash(prev_hash: &str, seq: u64, at: &DateTime<Utc>, ev: &NewEvent) -> String {
    let content = serde_json::json!({
        "seq": seq,
        "at": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "invocation": ev.invocation,
        "channel": ev.channel,
        "actor": ev.actor,
        "kind": ev.kind,
        "summary": ev.summary,
        "data": ev.data,
    });
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(content.to_string().as_bytes());
    hex::encode(h.finalize())
}

impl AuditEvent {
    pub fn seal(seq: u64, at: DateTime<Utc>, prev_hash: &str, ev: NewEvent) -> Self {
        let hash = chain_hash(prev_hash, seq, &at, &ev);
        Self {
            seq,
            at,
            invocation: ev.invocation,
            channel: ev.channel,
            actor: ev.actor,
            kind: ev.kind,
            summary: ev.summary,
            data: ev.data,
            prev_hash: prev_hash.to_owned(),
            hash,
        }
    }

    fn content(&self) -> NewEvent {
        NewEvent {
            invocation: self.invocation.clone(),
            channel: self.channel.clone(),
            actor: self.actor.clone(),
            kind: self.kind,
            summary: self.summary.clone(),
            data: self.data.clone(),
        }
    }
}

/// Where and how a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("record {seq} was edited: its content does not match its hash")]
    Edited { seq: u64 },
    #[error(
        "record {seq} does not follow record {prev}: a record was deleted or the order changed"
    )]
    Gap { seq: u64, prev: u64 },
    #[error(
        "record {seq} does not link to the hash of the record before it: a record was deleted, replaced or reordered"
    )]
    Unlinked { seq: u64 },
    #[error(
        "the chain ends at record {last}, but the head recorded {expected}: the tail was truncated"
    )]
    Truncated { last: u64, expected: u64 },
}

/// Checks a whole chain (ordered by seq as stored) against the recorded head, if any.
pub fn verify_chain(events: &[AuditEvent], head: Option<(u64, &str)>) -> Result<usize, ChainBreak> {
    let mut prev_hash = GENESIS.to_owned();
    let mut prev_seq = 0u64;
    for ev in events {
        if ev.seq != prev_seq + 1 {
            return Err(ChainBreak::Gap {
                seq: ev.seq,
                prev: prev_seq,
            });
        }
        if ev.prev_hash != prev_hash {
            return Err(ChainBreak::Unlinked { seq: ev.seq });
        }
        if chain_hash(&ev.prev_hash, ev.seq, &ev.at, &ev.content()) != ev.hash {
            return Err(ChainBreak::Edited { seq: ev.seq });
        }
        prev_hash = ev.hash.clone();
        prev_seq = ev.seq;
    }
    if let Some((expected, hash)) = head
        && (prev_seq < expected || (prev_seq == expected && prev_hash != hash))
    {
        return Err(ChainBreak::Truncated {
            last: prev_seq,
            expected,
        });
    }
    Ok(events.len())
}

/// What an execution changed, kept for `undo` and the review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRecord {
    pub invocation: InvocationId,
    pub approval: Option<ApprovalId>,
    pub plan: Plan,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub succeeded: Option<bool>,
    pub summary: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// A message the bot posted, so it can be updated in place and reactions on it can be
/// mapped back to what it shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedMessage {
    pub platform: crate::model::Platform,
    /// The channel (or thread channel) it was posted in.
    pub channel: String,
    /// The platform's message id (Slack `ts`, Discord message id).
    pub message: String,
    /// The thread it belongs to (Slack `thread_ts`, Discord thread id), if any.
    pub thread: Option<String>,
    pub invocation: Option<InvocationId>,
    /// Set when the message is an approval card.
    pub approval: Option<ApprovalId>,
    pub at: DateTime<Utc>,
}

/// Why the store failed. The caller fails closed: nothing runs without its record.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the history store is unavailable; nothing was changed")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the history store refused the record: {0}")]
    Invalid(String),
}

/// A platform delivery recorded before the platform was told it arrived: the work the bot
/// owes for it, until it is settled. A process that dies after the ack leaves it unsettled,
/// and whoever resumes it first (by [`Store::claim`]) does the work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub platform: crate::model::Platform,
    pub id: crate::model::DeliveryId,
    pub received_at: DateTime<Utc>,
    /// What the adapter needs to do the work again (its own JSON).
    pub payload: String,
    /// How often a worker claimed it.
    pub attempts: u32,
    /// The replica that accepted it, then the one that claimed it last: when its
    /// heartbeat stops, another replica resumes the delivery.
    pub owner: Option<crate::model::ReplicaId>,
}

/// Which unsettled deliveries are owed work (see [`Store::unsettled`]).
#[derive(Debug, Clone)]
pub struct Unsettled {
    /// The asking replica: what it owns is never "owned by a dead replica".
    pub me: crate::model::ReplicaId,
    /// Never claimed, and accepted before this (left behind by a full queue).
    pub accepted_before: DateTime<Utc>,
    /// Claimed last before this: its worker is presumed lost, whoever owned it.
    pub claimed_before: DateTime<Utc>,
    /// Owned by a replica not seen since this (it died): resumed at once.
    pub owner_seen_before: DateTime<Utc>,
    pub max_attempts: u32,
}

// === Port ===

/// Durable history. Every method is one transaction.
#[async_trait]
pub trait Store: Send + Sync {
    /// Records an invocation unless its delivery id was seen before.
    async fn record_invocation(&self, rec: &InvocationRecord) -> Result<Recorded, StoreError>;
    async fn invocation(&self, id: &InvocationId) -> Result<Option<InvocationRecord>, StoreError>;
    /// Appends to the hash-chained audit log.
    async fn append(&self, ev: NewEvent) -> Result<AuditEvent, StoreError>;
    /// Events of one channel (`platform:channel`), or all, oldest first.
    async fn events(
        &self,
        channel: Option<&str>,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<AuditEvent>, StoreError>;
    async fn insert_approval(&self, req: &ApprovalRequest) -> Result<(), StoreError>;
    async fn approval(&self, id: &ApprovalId) -> Result<Option<ApprovalRequest>, StoreError>;
    /// Replaces a request only if it is still as `expected` (its version): the
    /// compare-and-set that makes each vote and each execution claim count once. `next`
    /// must be `expected.successor()` (one version on); anything else is refused.
    async fn replace_approval(
        &self,
        next: &ApprovalRequest,
        expected: &ApprovalRequest,
    ) -> Result<bool, StoreError>;
    /// Requests in a status, in one channel or all.
    async fn approvals(
        &self,
        channel: Option<&str>,
        status: ApprovalStatus,
    ) -> Result<Vec<ApprovalRequest>, StoreError>;
    async fn record_execution(&self, rec: &ExecutionRecord) -> Result<(), StoreError>;
    async fn execution(
        &self,
        invocation: &InvocationId,
    ) -> Result<Option<ExecutionRecord>, StoreError>;
    async fn record_posted(&self, msg: &PostedMessage) -> Result<(), StoreError>;
    /// The approval card posted for a request on a platform (latest if several).
    async fn card_of(
        &self,
        platform: crate::model::Platform,
        approval: &ApprovalId,
    ) -> Result<Option<PostedMessage>, StoreError>;
    /// The posted message with this platform id (to map a reaction to an approval).
    async fn posted(
        &self,
        platform: crate::model::Platform,
        channel: &str,
        message: &str,
    ) -> Result<Option<PostedMessage>, StoreError>;

    /// Keeps a posted file by the SHA-256 of its bytes (hex); the audit event that
    /// mentions the hash makes it tamper-evident. Keeping the same bytes twice is a no-op.
    async fn keep_file(&self, sha256: &str, mime: &str, bytes: &[u8]) -> Result<(), StoreError>;
    /// A kept file: (mime, bytes).
    async fn file(&self, sha256: &str) -> Result<Option<(String, Vec<u8>)>, StoreError>;

    /// The recorded head of the audit chain (last seq and its hash), kept apart from the
    /// records so that a cut-off tail shows; `None` before the first append.
    async fn chain_head(&self) -> Result<Option<(u64, String)>, StoreError>;

    /// Records a delivery before it is acknowledged; false if it was accepted before
    /// (a redelivery, here or on another replica).
    async fn accept(&self, d: &Delivery) -> Result<bool, StoreError>;
    /// Takes a delivery for work: of all callers holding it with the same `attempts`,
    /// exactly one gets true, and becomes its owner.
    async fn claim(
        &self,
        d: &Delivery,
        at: DateTime<Utc>,
        by: &crate::model::ReplicaId,
    ) -> Result<bool, StoreError>;
    /// The work for a delivery is done (whatever its outcome).
    async fn settle(
        &self,
        platform: crate::model::Platform,
        id: &crate::model::DeliveryId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Unsettled deliveries, oldest first, that are owed work: never claimed and
    /// accepted before `q.accepted_before`; or claimed fewer than `q.max_attempts` times
    /// and either last before `q.claimed_before` or by an owner not seen since
    /// `q.owner_seen_before` (a replica that died).
    async fn unsettled(
        &self,
        platform: crate::model::Platform,
        q: Unsettled,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Records that a replica is alive (every few seconds while it runs).
    async fn heartbeat(
        &self,
        replica: &crate::model::ReplicaId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// When a replica was last seen alive; `None` if never.
    async fn last_seen(
        &self,
        replica: &crate::model::ReplicaId,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;
}

// === In-memory store ===

#[derive(Default)]
struct Inner {
    invocations: Vec<InvocationRecord>,
    deliveries: HashMap<(String, String), InvocationId>,
    events: Vec<AuditEvent>,
    approvals: HashMap<ApprovalId, ApprovalRequest>,
    executions: HashMap<InvocationId, ExecutionRecord>,
    posted: Vec<PostedMessage>,
    /// Deliveries by (platform, id), with when they were last claimed and settled.
    inbox: HashMap<(String, String), Held>,
    files: HashMap<String, (String, Vec<u8>)>,
    replicas: HashMap<String, DateTime<Utc>>,
}

/// A delivery in the memory store: when it was last claimed, and whether it is settled.
type Held = (Delivery, Option<DateTime<Utc>>, bool);

/// A store in memory: for tests, and for the console when no database is configured.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    /// Set by tests: every call fails as if the database were gone.
    down: std::sync::atomic::AtomicBool,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every call fail with [`StoreError::Unavailable`] (or work again).
    pub fn set_unavailable(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, StoreError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Unavailable(
                "the memory store is set unavailable".into(),
            ));
        }
        self.inner
            .lock()
            .map_err(|_| StoreError::Invalid("memory store poisoned by a panic".into()))
    }
}

fn same_version(a: &ApprovalRequest, b: &ApprovalRequest) -> bool {
    a.version == b.version && a.status == b.status && a.votes.len() == b.votes.len()
}

/// The one shape of replacement the compare-and-set accepts.
pub fn check_successor(
    next: &ApprovalRequest,
    expected: &ApprovalRequest,
) -> Result<(), StoreError> {
    if next.id != expected.id || next.version != expected.version + 1 {
        return Err(StoreError::Invalid(format!(
            "approval {} replaced out of order (version {} after {})",
            next.id, next.version, expected.version
        )));
    }
    Ok(())
}

#[async_trait]
impl Store for MemoryStore {
    async fn record_invocation(&self, rec: &InvocationRecord) -> Result<Recorded, StoreError> {
        let mut g = self.lock()?;
        let key = (rec.channel.platform.to_string(), rec.delivery.to_string());
        if let Some(first) = g.deliveries.get(&key) {
            return Ok(Recorded::Duplicate(first.clone()));
        }
        g.deliveries.insert(key, rec.id.clone());
        g.invocations.push(rec.clone());
        Ok(Recorded::New)
    }

    async fn invocation(&self, id: &InvocationId) -> Result<Option<InvocationRecord>, StoreError> {
        Ok(self
            .lock()?
            .invocations
            .iter()
            .find(|r| &r.id == id)
            .cloned())
    }

    async fn append(&self, ev: NewEvent) -> Result<AuditEvent, StoreError> {
        let mut g = self.lock()?;
        let (seq, prev) = g
            .events
            .last()
            .map(|e| (e.seq + 1, e.hash.clone()))
            .unwrap_or((1, GENESIS.to_owned()));
        let sealed = AuditEvent::seal(seq, Utc::now(), &prev, ev);
        g.events.push(sealed.clone());
        Ok(sealed)
    }

    async fn events(
        &self,
        channel: Option<&str>,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        Ok(self
            .lock()?
            .events
            .iter()
            .filter(|e| channel.is_none_or(|c| e.channel.key() == c))
            .filter(|e| since.is_none_or(|s| e.at >= s))
            .cloned()
            .collect())
    }

    async fn insert_approval(&self, req: &ApprovalRequest) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        if g.approvals.contains_key(&req.id) {
            return Err(StoreError::Invalid(format!("approval {} exists", req.id)));
        }
        g.approvals.insert(req.id.clone(), req.clone());
        Ok(())
    }

    async fn approval(&self, id: &ApprovalId) -> Result<Option<ApprovalRequest>, StoreError> {
        Ok(self.lock()?.approvals.get(id).cloned())
    }

    async fn replace_approval(
        &self,
        next: &ApprovalRequest,
        expected: &ApprovalRequest,
    ) -> Result<bool, StoreError> {
        check_successor(next, expected)?;
        let mut g = self.lock()?;
        match g.approvals.get(&next.id) {
            Some(cur) if same_version(cur, expected) => {
                g.approvals.insert(next.id.clone(), next.clone());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn approvals(
        &self,
        channel: Option<&str>,
        status: ApprovalStatus,
    ) -> Result<Vec<ApprovalRequest>, StoreError> {
        let mut out: Vec<ApprovalRequest> = self
            .lock()?
            .approvals
            .values()
            .filter(|a| a.status == status && channel.is_none_or(|c| a.channel.key() == c))
            .cloned()
            .collect();
        out.sort_by_key(|a| a.created_at);
        Ok(out)
    }

    async fn record_execution(&self, rec: &ExecutionRecord) -> Result<(), StoreError> {
        self.lock()?
            .executions
            .insert(rec.invocation.clone(), rec.clone());
        Ok(())
    }

    async fn execution(
        &self,
        invocation: &InvocationId,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        Ok(self.lock()?.executions.get(invocation).cloned())
    }

    async fn record_posted(&self, msg: &PostedMessage) -> Result<(), StoreError> {
        self.lock()?.posted.push(msg.clone());
        Ok(())
    }

    async fn card_of(
        &self,
        platform: crate::model::Platform,
        approval: &ApprovalId,
    ) -> Result<Option<PostedMessage>, StoreError> {
        Ok(self
            .lock()?
            .posted
            .iter()
            .rev()
            .find(|m| m.platform == platform && m.approval.as_ref() == Some(approval))
            .cloned())
    }

    async fn posted(
        &self,
        platform: crate::model::Platform,
        channel: &str,
        message: &str,
    ) -> Result<Option<PostedMessage>, StoreError> {
        Ok(self
            .lock()?
            .posted
            .iter()
            .rev()
            .find(|m| m.platform == platform && m.channel == channel && m.message == message)
            .cloned())
    }

    async fn keep_file(&self, sha256: &str, mime: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.lock()?
            .files
            .entry(sha256.to_owned())
            .or_insert_with(|| (mime.to_owned(), bytes.to_vec()));
        Ok(())
    }

    async fn file(&self, sha256: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        Ok(self.lock()?.files.get(sha256).cloned())
    }

    async fn chain_head(&self) -> Result<Option<(u64, String)>, StoreError> {
        Ok(self.lock()?.events.last().map(|e| (e.seq, e.hash.clone())))
    }

    async fn accept(&self, d: &Delivery) -> Result<bool, StoreError> {
        let key = (d.platform.as_str().to_owned(), d.id.to_string());
        let mut g = self.lock()?;
        if g.inbox.contains_key(&key) {
            return Ok(false);
        }
        g.inbox.insert(key, (d.clone(), None, false));
        Ok(true)
    }

    async fn claim(
        &self,
        d: &Delivery,
        at: DateTime<Utc>,
        by: &crate::model::ReplicaId,
    ) -> Result<bool, StoreError> {
        let key = (d.platform.as_str().to_owned(), d.id.to_string());
        let mut g = self.lock()?;
        match g.inbox.get_mut(&key) {
            Some((held, claimed, false)) if held.attempts == d.attempts => {
                held.attempts += 1;
                held.owner = Some(by.clone());
                *claimed = Some(at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn settle(
        &self,
        platform: crate::model::Platform,
        id: &crate::model::DeliveryId,
        _at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(entry) = self
            .lock()?
            .inbox
            .get_mut(&(platform.as_str().to_owned(), id.to_string()))
        {
            entry.2 = true;
        }
        Ok(())
    }

    async fn unsettled(
        &self,
        platform: crate::model::Platform,
        q: Unsettled,
    ) -> Result<Vec<Delivery>, StoreError> {
        let g = self.lock()?;
        let owner_dead = |d: &Delivery| {
            d.owner.as_ref().is_some_and(|o| {
                *o != q.me
                    && g.replicas
                        .get(o.as_str())
                        .is_none_or(|seen| *seen < q.owner_seen_before)
            })
        };
        let mut out: Vec<Delivery> = g
            .inbox
            .values()
            .filter(|(d, claimed, settled)| {
                !settled
                    && d.platform == platform
                    && match claimed {
                        None => d.received_at < q.accepted_before || owner_dead(d),
                        Some(c) => {
                            d.attempts < q.max_attempts && (*c < q.claimed_before || owner_dead(d))
                        }
                    }
            })
            .map(|(d, _, _)| d.clone())
            .collect();
        out.sort_by_key(|d| d.received_at);
        Ok(out)
    }

    async fn heartbeat(
        &self,
        replica: &crate::model::ReplicaId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.lock()?.replicas.insert(replica.to_string(), at);
        Ok(())
    }

    async fn last_seen(
        &self,
        replica: &crate::model::ReplicaId,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.lock()?.replicas.get(replica.as_str()).copied())
    }
}
