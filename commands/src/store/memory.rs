//! A store in memory: for tests, and for `database.url: memory:`.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::chain::{AuditEvent, GENESIS};
use super::{
    Delivery, ExecutionRecord, InvocationRecord, NewEvent, PostedMessage, Recorded, Store,
    StoreError, Unsettled, check_successor,
};
use crate::approval::{ApprovalRequest, ApprovalStatus};
use crate::model::{ApprovalId, InvocationId};

// === In-memory store ===

#[derive(Default)]
pub(crate) struct Inner {
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
pub(crate) type Held = (Delivery, Option<DateTime<Utc>>, bool);

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

pub(crate) fn same_version(a: &ApprovalRequest, b: &ApprovalRequest) -> bool {
    a.version == b.version && a.status == b.status && a.votes.len() == b.votes.len()
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
