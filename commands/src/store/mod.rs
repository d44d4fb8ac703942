//! What the store keeps, the port it is reached through, the hash chain that makes the
//! history tamper-evident, and an in-memory implementation for tests and the demo.

mod chain;
mod memory;

use async_trait::async_trait;

use crate::approval::{ApprovalRequest, ApprovalStatus};
use crate::model::{Actor, ApprovalId, ChannelRef, DeliveryId, InvocationId};
use crate::plan::Plan;
pub use chain::{AuditEvent, ChainBreak, GENESIS, chain_hash, verify_chain};
use chrono::{DateTime, Utc};
pub use memory::MemoryStore;
use serde::{Deserialize, Serialize};

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
