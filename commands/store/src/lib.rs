//! The [`Store`](vabot_commands::store::Store) port on sqlx: PostgreSQL and SQLite.
//!
//! One code path serves both backends through sqlx's `Any` driver: every column is TEXT or
//! an integer, and timestamps are stored as the exact RFC 3339 text the hash chain encodes,
//! so a record re-hashes identically wherever it is read back. Migrations live in
//! `migrations/postgres` and `migrations/sqlite` at the workspace root.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use append::Chain;
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
pub use open::OpenError;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use tokio::sync::oneshot;
use vabot_commands::approval::{ApprovalRequest, ApprovalStatus};
use vabot_commands::model::{ApprovalId, DeliveryId, InvocationId, Platform, ReplicaId};
use vabot_commands::store::{
    AuditEvent, ChainBreak, Delivery, EventKind, ExecutionRecord, InvocationRecord, NewEvent,
    PostedMessage, Recorded, Store, StoreError, Unsettled, check_successor, verify_chain,
};

mod append;
pub mod export;
mod open;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// `postgres://…` / `postgresql://…` or `sqlite:…`; `None` for anything else.
    pub fn of(url: &str) -> Option<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else {
            None
        }
    }
}

/// The outcome of checking the whole audit chain against its head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainReport {
    Intact { records: usize },
    Broken(ChainBreak),
}

/// How long one statement (or one append batch) may take before the store counts as
/// unavailable: a hung database must not hold a pool connection, or a chat reply, forever.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// The durable store.
#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    timeout: Duration,
    chain: Arc<Chain>,
}

fn unavailable(e: sqlx::Error) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

/// A failure shared by every event of a batch, or a timeout.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Failed(String);

fn failed(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(source) => {
            StoreError::Unavailable(Box::new(Failed(source.to_string())))
        }
        StoreError::Invalid(m) => StoreError::Invalid(m.clone()),
    }
}

fn invalid(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("{what}: {e}"))
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| invalid("cannot encode a record", e))
}

/// A version as the `BIGINT` column holds it.
fn version(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("version {v} is out of range")))
}

fn from_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| invalid("a stored record does not decode", e))
}

/// The timestamp text the chain hashes (microseconds, `Z`); sorts chronologically.
pub fn stamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_stamp(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| invalid("a stored timestamp does not parse", e))
}

fn kind_of(s: &str) -> Result<EventKind, StoreError> {
    from_json(&format!("\"{s}\""))
}

impl SqlStore {
    /// Replaces [`QUERY_TIMEOUT`] (tests of a hanging database use a shorter one).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs one database call under the store's timeout.
    async fn io<T>(
        &self,
        call: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(r) => r.map_err(unavailable),
            Err(_) => Err(self.timed_out()),
        }
    }

    fn timed_out(&self) -> StoreError {
        StoreError::Unavailable(Box::new(Failed(format!(
            "no answer within {} s",
            self.timeout.as_secs_f32()
        ))))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for tests that tamper with rows on purpose.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// SQL is written with `$n` placeholders; SQLite spells them `?n`.
    /// Only constant SQL from this file passes through here (values are always bound).
    fn sql(&self, q: &str) -> sqlx::AssertSqlSafe<String> {
        sqlx::AssertSqlSafe(match self.backend {
            Backend::Postgres => q.to_owned(),
            Backend::Sqlite => q.replace('$', "?"),
        })
    }

    /// The recorded head of the chain: (last seq, its hash).
    pub async fn head(&self) -> Result<(u64, String), StoreError> {
        let row = self
            .io(sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1").fetch_one(&self.pool))
            .await?;
        let seq: i64 = row.try_get("seq").map_err(unavailable)?;
        Ok((seq as u64, row.try_get("hash").map_err(unavailable)?))
    }

    /// Checks every record of the log, in seq order, against the head.
    pub async fn verify(&self) -> Result<ChainReport, StoreError> {
        let events = self.events(None, None).await?;
        let (seq, hash) = self.head().await?;
        Ok(match verify_chain(&events, Some((seq, &hash))) {
            Ok(records) => ChainReport::Intact { records },
            Err(b) => ChainReport::Broken(b),
        })
    }

    /// Every approval request of a channel, oldest first, whatever its status.
    pub async fn channel_approvals(
        &self,
        channel: &str,
    ) -> Result<Vec<ApprovalRequest>, StoreError> {
        let rows = self
            .io(sqlx::query(self.sql(
                "SELECT request FROM approvals WHERE channel_key = $1 ORDER BY created_at, id",
            ))
            .bind(channel.to_owned())
            .fetch_all(&self.pool))
            .await?;
        rows.iter()
            .map(|r| from_json(&r.try_get::<String, _>("request").map_err(unavailable)?))
            .collect()
    }

    /// Executions of the given invocations (for the timeline).
    pub async fn executions_of(
        &self,
        invocations: &[InvocationId],
    ) -> Result<Vec<ExecutionRecord>, StoreError> {
        let mut out = Vec::new();
        for id in invocations {
            if let Some(e) = self.execution(id).await? {
                out.push(e);
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn record_invocation(&self, rec: &InvocationRecord) -> Result<Recorded, StoreError> {
        let platform = rec.channel.platform.as_str().to_owned();
        let inserted = self.io(sqlx::query(self.sql(
            "INSERT INTO invocations (id, at, platform, delivery, record) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        ))
        .bind(rec.id.to_string())
        .bind(stamp(&rec.at))
        .bind(platform.clone())
        .bind(rec.delivery.to_string())
        .bind(to_json(rec)?)
        .execute(&self.pool)).await?;
        if inserted.rows_affected() == 1 {
            return Ok(Recorded::New);
        }
        let first = self
            .io(sqlx::query(
                self.sql("SELECT id FROM invocations WHERE platform = $1 AND delivery = $2"),
            )
            .bind(platform)
            .bind(rec.delivery.to_string())
            .fetch_optional(&self.pool))
            .await?;
        match first {
            Some(row) => {
                let id: String = row.try_get("id").map_err(unavailable)?;
                Ok(Recorded::Duplicate(from_json(&format!("\"{id}\""))?))
            }
            None => Err(StoreError::Invalid(format!(
                "invocation id {} is already taken by another delivery",
                rec.id
            ))),
        }
    }

    async fn invocation(&self, id: &InvocationId) -> Result<Option<InvocationRecord>, StoreError> {
        let row = self
            .io(
                sqlx::query(self.sql("SELECT record FROM invocations WHERE id = $1"))
                    .bind(id.to_string())
                    .fetch_optional(&self.pool),
            )
            .await?;
        row.map(|r| from_json(&r.try_get::<String, _>("record").map_err(unavailable)?))
            .transpose()
    }

    async fn append(&self, ev: NewEvent) -> Result<AuditEvent, StoreError> {
        self.append_queued(ev).await
    }

    async fn events(
        &self,
        channel: Option<&str>,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let mut q = String::from(
            "SELECT seq, at, invocation, kind, channel, actor, summary, data, prev_hash, hash FROM audit_events WHERE 1 = 1",
        );
        let mut n = 0;
        if channel.is_some() {
            n += 1;
            q.push_str(&format!(" AND channel_key = ${n}"));
        }
        if since.is_some() {
            n += 1;
            q.push_str(&format!(" AND at >= ${n}"));
        }
        q.push_str(" ORDER BY seq");
        let mut query = sqlx::query(self.sql(&q));
        if let Some(c) = channel {
            query = query.bind(c.to_owned());
        }
        if let Some(s) = since {
            query = query.bind(stamp(&s));
        }
        let rows = self.io(query.fetch_all(&self.pool)).await?;
        rows.iter().map(Self::event_of).collect()
    }

    async fn insert_approval(&self, req: &ApprovalRequest) -> Result<(), StoreError> {
        let done = self.io(sqlx::query(self.sql(
            "INSERT INTO approvals (id, channel_key, status, votes, created_at, request, version) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        ))
        .bind(req.id.to_string())
        .bind(req.channel.key())
        .bind(req.status.as_str().to_owned())
        .bind(req.votes.len() as i64)
        .bind(stamp(&req.created_at))
        .bind(to_json(req)?)
        .bind(version(req.version)?)
        .execute(&self.pool)).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Invalid(format!("approval {} exists", req.id)));
        }
        Ok(())
    }

    async fn approval(&self, id: &ApprovalId) -> Result<Option<ApprovalRequest>, StoreError> {
        let row = self
            .io(
                sqlx::query(self.sql("SELECT request FROM approvals WHERE id = $1"))
                    .bind(id.to_string())
                    .fetch_optional(&self.pool),
            )
            .await?;
        row.map(|r| from_json(&r.try_get::<String, _>("request").map_err(unavailable)?))
            .transpose()
    }

    async fn replace_approval(
        &self,
        next: &ApprovalRequest,
        expected: &ApprovalRequest,
    ) -> Result<bool, StoreError> {
        check_successor(next, expected)?;
        // One conditional UPDATE: atomic on both backends, so of any number of callers
        // holding the same `expected`, exactly one sees a changed row.
        let done = self.io(sqlx::query(self.sql(
            "UPDATE approvals SET status = $1, votes = $2, request = $3, version = $4 WHERE id = $5 AND version = $6 AND status = $7",
        ))
        .bind(next.status.as_str().to_owned())
        .bind(next.votes.len() as i64)
        .bind(to_json(next)?)
        .bind(version(next.version)?)
        .bind(next.id.to_string())
        .bind(version(expected.version)?)
        .bind(expected.status.as_str().to_owned())
        .execute(&self.pool)).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn approvals(
        &self,
        channel: Option<&str>,
        status: ApprovalStatus,
    ) -> Result<Vec<ApprovalRequest>, StoreError> {
        let query = match channel {
            Some(c) => sqlx::query(self.sql(
                "SELECT request FROM approvals WHERE status = $1 AND channel_key = $2 ORDER BY created_at, id",
            ))
            .bind(status.as_str().to_owned())
            .bind(c.to_owned()),
            None => sqlx::query(self.sql(
                "SELECT request FROM approvals WHERE status = $1 ORDER BY created_at, id",
            ))
            .bind(status.as_str().to_owned()),
        }
        ;
        let rows = self.io(query.fetch_all(&self.pool)).await?;
        rows.iter()
            .map(|r| from_json(&r.try_get::<String, _>("request").map_err(unavailable)?))
            .collect()
    }

    async fn record_execution(&self, rec: &ExecutionRecord) -> Result<(), StoreError> {
        self.io(sqlx::query(self.sql(
            "INSERT INTO executions (invocation, approval, started_at, record) VALUES ($1, $2, $3, $4) ON CONFLICT (invocation) DO UPDATE SET approval = excluded.approval, started_at = excluded.started_at, record = excluded.record",
        ))
        .bind(rec.invocation.to_string())
        .bind(rec.approval.as_ref().map(ToString::to_string))
        .bind(stamp(&rec.started_at))
        .bind(to_json(rec)?)
        .execute(&self.pool)).await?;
        Ok(())
    }

    async fn execution(
        &self,
        invocation: &InvocationId,
    ) -> Result<Option<ExecutionRecord>, StoreError> {
        let row = self
            .io(
                sqlx::query(self.sql("SELECT record FROM executions WHERE invocation = $1"))
                    .bind(invocation.to_string())
                    .fetch_optional(&self.pool),
            )
            .await?;
        row.map(|r| from_json(&r.try_get::<String, _>("record").map_err(unavailable)?))
            .transpose()
    }

    async fn record_posted(&self, msg: &PostedMessage) -> Result<(), StoreError> {
        self.io(sqlx::query(self.sql(
            "INSERT INTO posted_messages (platform, channel, message, approval, record) VALUES ($1, $2, $3, $4, $5)",
        ))
        .bind(msg.platform.as_str().to_owned())
        .bind(msg.channel.clone())
        .bind(msg.message.clone())
        .bind(msg.approval.as_ref().map(ToString::to_string))
        .bind(to_json(msg)?)
        .execute(&self.pool)).await?;
        Ok(())
    }

    async fn card_of(
        &self,
        platform: Platform,
        approval: &ApprovalId,
    ) -> Result<Option<PostedMessage>, StoreError> {
        let row = self.io(sqlx::query(self.sql(
            "SELECT record FROM posted_messages WHERE platform = $1 AND approval = $2 ORDER BY id DESC LIMIT 1",
        ))
        .bind(platform.as_str().to_owned())
        .bind(approval.to_string())
        .fetch_optional(&self.pool)).await?;
        row.map(|r| from_json(&r.try_get::<String, _>("record").map_err(unavailable)?))
            .transpose()
    }

    async fn posted(
        &self,
        platform: Platform,
        channel: &str,
        message: &str,
    ) -> Result<Option<PostedMessage>, StoreError> {
        let row = self.io(sqlx::query(self.sql(
            "SELECT record FROM posted_messages WHERE platform = $1 AND channel = $2 AND message = $3 ORDER BY id DESC LIMIT 1",
        ))
        .bind(platform.as_str().to_owned())
        .bind(channel.to_owned())
        .bind(message.to_owned())
        .fetch_optional(&self.pool)).await?;
        row.map(|r| from_json(&r.try_get::<String, _>("record").map_err(unavailable)?))
            .transpose()
    }

    async fn keep_file(&self, sha256: &str, mime: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.io(sqlx::query(self.sql(
            "INSERT INTO files (sha256, mime, bytes) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        ))
        .bind(sha256.to_owned())
        .bind(mime.to_owned())
        .bind(bytes.to_vec())
        .execute(&self.pool))
            .await?;
        Ok(())
    }

    async fn file(&self, sha256: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let row = self
            .io(
                sqlx::query(self.sql("SELECT mime, bytes FROM files WHERE sha256 = $1"))
                    .bind(sha256.to_owned())
                    .fetch_optional(&self.pool),
            )
            .await?;
        row.map(|r| {
            Ok((
                r.try_get::<String, _>("mime").map_err(unavailable)?,
                r.try_get::<Vec<u8>, _>("bytes").map_err(unavailable)?,
            ))
        })
        .transpose()
    }

    async fn chain_head(&self) -> Result<Option<(u64, String)>, StoreError> {
        let (seq, hash) = self.head().await?;
        Ok((seq > 0).then_some((seq, hash)))
    }

    async fn accept(&self, d: &Delivery) -> Result<bool, StoreError> {
        // One autocommit INSERT per delivery, on any pool connection: PostgreSQL already
        // flushes the WAL of concurrent commits together, and measured faster here than
        // funnelling the acks through one batching writer (BENCHMARKS.md).
        let done = self
            .io(
                sqlx::query(self.sql(
                    "INSERT INTO deliveries (platform, delivery, received_at, payload, attempts, owner) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                ))
                .bind(d.platform.as_str().to_owned())
                .bind(d.id.to_string())
                .bind(stamp(&d.received_at))
                .bind(d.payload.clone())
                .bind(i64::from(d.attempts))
                .bind(d.owner.as_ref().map(ToString::to_string))
                .execute(&self.pool),
            )
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn claim(
        &self,
        d: &Delivery,
        at: DateTime<Utc>,
        by: &ReplicaId,
    ) -> Result<bool, StoreError> {
        let done = self
            .io(
                sqlx::query(self.sql(
                    "UPDATE deliveries SET attempts = attempts + 1, claimed_at = $1, owner = $5 WHERE platform = $2 AND delivery = $3 AND attempts = $4 AND settled_at IS NULL",
                ))
                .bind(stamp(&at))
                .bind(d.platform.as_str().to_owned())
                .bind(d.id.to_string())
                .bind(i64::from(d.attempts))
                .bind(by.to_string())
                .execute(&self.pool),
            )
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn settle(
        &self,
        platform: Platform,
        id: &DeliveryId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.io(sqlx::query(
            self.sql("UPDATE deliveries SET settled_at = $1 WHERE platform = $2 AND delivery = $3"),
        )
        .bind(stamp(&at))
        .bind(platform.as_str().to_owned())
        .bind(id.to_string())
        .execute(&self.pool))
            .await?;
        Ok(())
    }

    async fn heartbeat(&self, replica: &ReplicaId, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.io(
            sqlx::query(self.sql(
                "INSERT INTO replicas (id, started_at, seen_at) VALUES ($1, $2, $2) ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
            ))
            .bind(replica.to_string())
            .bind(stamp(&at))
            .execute(&self.pool),
        )
        .await?;
        Ok(())
    }

    async fn last_seen(&self, replica: &ReplicaId) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = self
            .io(
                sqlx::query(self.sql("SELECT seen_at FROM replicas WHERE id = $1"))
                    .bind(replica.to_string())
                    .fetch_optional(&self.pool),
            )
            .await?;
        row.map(|r| parse_stamp(&r.try_get::<String, _>("seen_at").map_err(unavailable)?))
            .transpose()
    }

    async fn unsettled(
        &self,
        platform: Platform,
        q: Unsettled,
    ) -> Result<Vec<Delivery>, StoreError> {
        // An owner is dead when its heartbeat is older than `$5` (or it never had one).
        let rows = self
            .io(
                sqlx::query(self.sql(
                    "SELECT delivery, received_at, payload, attempts, owner FROM deliveries d WHERE platform = $1 AND settled_at IS NULL AND ( \
                       (claimed_at IS NULL AND received_at < $2) \
                       OR (claimed_at IS NOT NULL AND attempts < $4 AND claimed_at < $3) \
                       OR ((claimed_at IS NULL OR attempts < $4) AND owner IS NOT NULL AND owner <> $6 AND NOT EXISTS \
                           (SELECT 1 FROM replicas r WHERE r.id = d.owner AND r.seen_at >= $5)) \
                     ) ORDER BY received_at LIMIT 500",
                ))
                .bind(platform.as_str().to_owned())
                .bind(stamp(&q.accepted_before))
                .bind(stamp(&q.claimed_before))
                .bind(i64::from(q.max_attempts))
                .bind(stamp(&q.owner_seen_before))
                .bind(q.me.to_string())
                .fetch_all(&self.pool),
            )
            .await?;
        rows.iter()
            .map(|r| {
                let get = |c: &str| r.try_get::<String, _>(c).map_err(unavailable);
                let attempts: i64 = r.try_get("attempts").map_err(unavailable)?;
                Ok(Delivery {
                    platform,
                    id: DeliveryId::new(get("delivery")?),
                    received_at: parse_stamp(&get("received_at")?)?,
                    payload: get("payload")?,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    owner: r
                        .try_get::<Option<String>, _>("owner")
                        .map_err(unavailable)?
                        .map(ReplicaId::new),
                })
            })
            .collect()
    }
}
