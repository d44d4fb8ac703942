//! Audit appends, group-committed: appends queue up and whoever holds the writer writes
//! the queue as one batch in chain order; on PostgreSQL one conditional statement against
//! the head this process wrote last, falling back to the locking transaction when another
//! replica moved it.

use super::*;

/// At most this many audit events go into one batch: 11 parameters each stays far below
/// SQLite's oldest parameter limit (999).
pub(crate) const MAX_BATCH: usize = 64;

/// The head of the chain this process wrote last: (seq, hash); `None`: read it first.
pub(crate) type Head = Option<(i64, String)>;

/// An event waiting to be appended, and where its sealed record goes.
pub(crate) type Waiting = (NewEvent, oneshot::Sender<Result<AuditEvent, StoreError>>);

/// Group commit for the audit chain. Appenders queue their event and one of them, holding
/// `writer`, writes everything queued in batches (in queue order); the others only wait
/// for their record. The writer also caches the head this process wrote last, so on
/// PostgreSQL a batch is a single statement.
#[derive(Default)]
pub(crate) struct Chain {
    queue: Mutex<Vec<Waiting>>,
    writer: Arc<tokio::sync::Mutex<Head>>,
}

pub(crate) fn writer_stopped() -> StoreError {
    StoreError::Unavailable(Box::new(Failed("the audit writer stopped".into())))
}

pub(crate) const EVENT_COLUMNS: &str =
    "seq, at, channel_key, invocation, kind, channel, actor, summary, data, prev_hash, hash";

/// `($from, …, $from+10), (…)` for `rows` events of 11 columns.
pub(crate) fn placeholders(rows: usize, from: usize) -> String {
    (0..rows)
        .map(|r| {
            let cols: Vec<String> = (0..11).map(|c| format!("${}", from + r * 11 + c)).collect();
            format!("({})", cols.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Seals `events` as the records after (`seq`, `hash`), stamped now.
pub(crate) fn seal_all(
    seq: i64,
    hash: &str,
    events: Vec<NewEvent>,
) -> Result<Vec<AuditEvent>, StoreError> {
    let at = parse_stamp(&stamp(&Utc::now()))?;
    let mut prev = hash.to_owned();
    let mut out = Vec::with_capacity(events.len());
    for (i, ev) in events.into_iter().enumerate() {
        let sealed = AuditEvent::seal(seq as u64 + 1 + i as u64, at, &prev, ev);
        prev = sealed.hash.clone();
        out.push(sealed);
    }
    Ok(out)
}

pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

pub(crate) fn bind_events<'q>(
    mut query: AnyQuery<'q>,
    events: &[AuditEvent],
) -> Result<AnyQuery<'q>, StoreError> {
    for e in events {
        query = query
            .bind(e.seq as i64)
            .bind(stamp(&e.at))
            .bind(e.channel.key())
            .bind(e.invocation.as_ref().map(ToString::to_string))
            .bind(e.kind.as_str().to_owned())
            .bind(to_json(&e.channel)?)
            .bind(e.actor.as_ref().map(to_json).transpose()?)
            .bind(e.summary.clone())
            .bind(to_json(&e.data)?)
            .bind(e.prev_hash.clone())
            .bind(e.hash.clone());
    }
    Ok(query)
}

impl SqlStore {
    /// Queues an append; the first appender to take the writer writes the queue.
    pub(super) async fn append_queued(&self, ev: NewEvent) -> Result<AuditEvent, StoreError> {
        let (sealed, mut rx) = oneshot::channel();
        self.chain
            .queue
            .lock()
            .expect("the audit queue is never poisoned")
            .push((ev, sealed));
        tokio::select! {
            biased;
            // Another appender's batch already took this event.
            r = &mut rx => return r.unwrap_or_else(|_| Err(writer_stopped())),
            head = self.chain.writer.clone().lock_owned() => {
                // The batches run in a task of their own: an appender that gives up
                // waiting cannot cut short a batch carrying other appenders' events.
                let me = self.clone();
                tokio::spawn(async move {
                    let mut head = head;
                    me.drain(&mut head).await;
                });
            }
        }
        rx.await.unwrap_or_else(|_| Err(writer_stopped()))
    }

    /// Writes queued audit events, a batch at a time, until the queue is empty.
    pub(super) async fn drain(&self, head: &mut Head) {
        loop {
            let batch: Vec<_> = {
                let mut q = self
                    .chain
                    .queue
                    .lock()
                    .expect("the audit queue is never poisoned");
                let n = q.len().min(MAX_BATCH);
                q.drain(..n).collect()
            };
            if batch.is_empty() {
                return;
            }
            let (events, senders): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
            match self.append_batch(head, events).await {
                Ok(sealed) => {
                    for (tx, ev) in senders.into_iter().zip(sealed) {
                        let _ = tx.send(Ok(ev));
                    }
                }
                Err(e) => {
                    for tx in senders {
                        let _ = tx.send(Err(failed(&e)));
                    }
                }
            }
        }
    }

    /// Appends `events` in order, atomically. With the head this process wrote last, on
    /// PostgreSQL that is one statement (advance the head only if it is still ours, and
    /// insert); otherwise, or when another process moved the head, one transaction that
    /// locks the head first.
    pub(super) async fn append_batch(
        &self,
        head: &mut Head,
        events: Vec<NewEvent>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let written = self.append_after(head, events).await;
        if written.is_err() {
            // Whether it committed is unknown (a timeout): re-read the head next time.
            *head = None;
        }
        written
    }

    pub(super) async fn append_after(
        &self,
        head: &mut Head,
        events: Vec<NewEvent>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        if let (Backend::Postgres, Some((seq, hash))) = (self.backend, head.as_ref()) {
            let sealed = seal_all(*seq, hash, events.clone())?;
            let last = sealed.last().expect("a batch is never empty");
            let q = format!(
                "WITH head AS (UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1 AND seq = $3 AND hash = $4 RETURNING 1) INSERT INTO audit_events ({EVENT_COLUMNS}) SELECT v.* FROM head, (VALUES {}) AS v({EVENT_COLUMNS})",
                placeholders(sealed.len(), 5)
            );
            let query = sqlx::query(self.sql(&q))
                .bind(last.seq as i64)
                .bind(last.hash.clone())
                .bind(*seq)
                .bind(hash.clone());
            let done = self
                .io(bind_events(query, &sealed)?.execute(&self.pool))
                .await?;
            if done.rows_affected() == sealed.len() as u64 {
                *head = Some((last.seq as i64, last.hash.clone()));
                return Ok(sealed);
            }
            // Another replica appended since: take the lock and re-read the head.
        }
        let sealed = tokio::time::timeout(self.timeout, self.append_locked(events))
            .await
            .unwrap_or_else(|_| Err(self.timed_out()))?;
        let last = sealed.last().expect("a batch is never empty");
        *head = Some((last.seq as i64, last.hash.clone()));
        Ok(sealed)
    }

    pub(super) async fn append_locked(
        &self,
        events: Vec<NewEvent>,
    ) -> Result<Vec<AuditEvent>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        // Writing the head first takes the write lock before anything is read: on
        // PostgreSQL the row lock queues concurrent appenders (they re-read the committed
        // head), on SQLite it takes the database's single write lock, so no two
        // appends, from any process or replica, can pick the same seq.
        let row = sqlx::query(
            self.sql("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash"),
        )
        .bind(events.len() as i64)
        .fetch_one(&mut *tx)
        .await
        .map_err(unavailable)?;
        let last: i64 = row.try_get("seq").map_err(unavailable)?;
        let prev: String = row.try_get("hash").map_err(unavailable)?;
        let sealed = seal_all(last - events.len() as i64, &prev, events)?;
        let q = format!(
            "INSERT INTO audit_events ({EVENT_COLUMNS}) VALUES {}",
            placeholders(sealed.len(), 1)
        );
        bind_events(sqlx::query(self.sql(&q)), &sealed)?
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        let tail = sealed.last().expect("a batch is never empty");
        sqlx::query(self.sql("UPDATE audit_head SET hash = $1 WHERE id = 1"))
            .bind(tail.hash.clone())
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        Ok(sealed)
    }

    pub(super) fn event_of(row: &AnyRow) -> Result<AuditEvent, StoreError> {
        let get = |c: &str| row.try_get::<String, _>(c).map_err(unavailable);
        let seq: i64 = row.try_get("seq").map_err(unavailable)?;
        let actor: Option<String> = row.try_get("actor").map_err(unavailable)?;
        let invocation: Option<String> = row.try_get("invocation").map_err(unavailable)?;
        Ok(AuditEvent {
            seq: seq as u64,
            at: parse_stamp(&get("at")?)?,
            invocation: invocation
                .map(|i| from_json(&format!("\"{i}\"")))
                .transpose()?,
            channel: from_json(&get("channel")?)?,
            actor: actor.as_deref().map(from_json).transpose()?,
            kind: kind_of(&get("kind")?)?,
            summary: get("summary")?,
            data: from_json(&get("data")?)?,
            prev_hash: get("prev_hash")?,
            hash: get("hash")?,
        })
    }
}
