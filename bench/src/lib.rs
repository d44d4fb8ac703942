//! Shared parts of vabot's benchmarks (DESIGN §9): a private PostgreSQL schema per run,
//! audit events to append, a health reply to render, a fake Slack Web API, a counting TCP
//! proxy, and percentiles.
//!
//! `benches/inproc.rs` (criterion) measures in-process figures; `src/main.rs` (the
//! `vabot-bench` binary) measures the whole system around the real `vabot serve`.
//! Everything binds and dials 127.0.0.1 only.

pub mod proxy;
pub mod slack_fake;

use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use chrono::{TimeZone, Utc};
use serde_json::json;
use vabot_commands::catalog::Catalog;
use vabot_commands::config::{Directory, Policy};
use vabot_commands::message::Message;
use vabot_commands::model::{Actor, ChannelRef, DeliveryId, Invocation, InvocationId, Platform};
use vabot_commands::pipeline::{Deps, handle};
use vabot_commands::ports::Unconfigured;
use vabot_commands::store::{EventKind, MemoryStore, NewEvent};
use vabot_commands::testing::{FakeCluster, ManualClock};
use vabot_store::SqlStore;

/// The demo policy (alice operator, carol viewer, `console:#incident-prod`).
pub const DEMO_POLICY: &str = include_str!("../../deploy/demo/policy.yaml");

/// A unique lower-case suffix for names in shared servers (schemas, namespaces).
pub fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}_{:x}", std::process::id(), nanos % 0xffff_ffff)
}

/// `POSTGRES_URL` from the local environment (`source $VABOT_DEV_HOME/env.sh`).
pub fn postgres_url() -> anyhow::Result<String> {
    std::env::var("POSTGRES_URL").context(
        "POSTGRES_URL is not set: `source /root/.cache/vabot/dev/env.sh` (deploy/dev/env up)",
    )
}

/// A schema of its own on the shared PostgreSQL, dropped by [`PgSchema::drop_schema`];
/// `url` selects it through `search_path`, so a store opened on it migrates into it.
pub struct PgSchema {
    pub url: String,
    admin_url: String,
    schema: String,
}

impl PgSchema {
    pub async fn create(purpose: &str) -> anyhow::Result<Self> {
        let admin_url = postgres_url()?;
        let schema = format!("vabot_bench_{purpose}_{}", unique());
        let admin = SqlStore::connect(&admin_url)
            .await
            .context("PostgreSQL at POSTGRES_URL is not reachable")?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(admin.pool())
            .await
            .context("create schema")?;
        admin.pool().close().await;
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        Ok(Self {
            url: format!("{admin_url}{sep}options=-c%20search_path%3D{schema}"),
            admin_url,
            schema,
        })
    }

    pub async fn drop_schema(self) -> anyhow::Result<()> {
        let admin = SqlStore::connect(&self.admin_url).await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {} CASCADE",
            self.schema
        )))
        .execute(admin.pool())
        .await?;
        admin.pool().close().await;
        Ok(())
    }
}

/// A SQLite file in the temp dir, removed (with its WAL files) by [`SqliteFile::remove`].
pub struct SqliteFile {
    pub url: String,
    path: std::path::PathBuf,
}

impl SqliteFile {
    pub fn new(purpose: &str) -> Self {
        let path = std::env::temp_dir().join(format!("vabot_bench_{purpose}_{}.db", unique()));
        Self {
            url: format!("sqlite://{}?mode=rwc", path.display()),
            path,
        }
    }

    pub fn remove(self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

/// An audit event shaped like the pipeline's (an invocation record with a small payload).
pub fn audit_event(n: u64) -> NewEvent {
    NewEvent {
        invocation: Some(InvocationId::from_number('i', n)),
        channel: ChannelRef::new(Platform::Slack, "C0BENCH"),
        actor: Some(Actor::new(Platform::Slack, "U0BENCH")),
        kind: EventKind::Invocation,
        summary: format!("/va scale agent-engine {}", n % 10),
        data: json!({"delivery": format!("cmd:bench.{n}")}),
    }
}

/// The pipeline around the in-memory fake cluster (the seeded topology's shape).
pub fn fake_deps() -> anyhow::Result<Deps> {
    let catalog = Catalog::voicehelper();
    let policy = Policy::parse("policy.yaml", DEMO_POLICY, false, &catalog)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let start = Utc
        .with_ymd_and_hms(2026, 11, 25, 3, 0, 0)
        .single()
        .context("time")?;
    Ok(Deps {
        catalog: Arc::new(catalog),
        policy: Arc::new(RwLock::new(Arc::new(policy))),
        directory: Arc::new(Directory::default()),
        cluster: Arc::new(FakeCluster::new()),
        dependencies: Arc::new(Unconfigured),
        store: Arc::new(MemoryStore::new()),
        clock: Arc::new(ManualClock::new(start)),
        replica: vabot_commands::model::ReplicaId::generate(Some("test")),
    })
}

/// Runs one console command through the pipeline and returns its first message.
pub async fn reply_of(deps: &Deps, user: &str, text: &str, delivery: &str) -> Option<Message> {
    handle(
        deps,
        Invocation {
            actor: Actor::new(Platform::Console, user),
            channel: ChannelRef::new(Platform::Console, "#incident-prod"),
            text: text.into(),
            delivery: DeliveryId::new(delivery),
        },
    )
    .await
    .messages
    .into_iter()
    .next()
}

/// Percentile (nearest rank) of sorted samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    // Nearest rank, ceil(p/100 · n); the epsilon keeps 0.999 · 1000 = 999.000…1 at 999.
    let rank = ((p / 100.0) * sorted.len() as f64 - 1e-9).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<f64> = (1..=1000).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 500.0);
        assert_eq!(percentile(&v, 99.0), 990.0);
        assert_eq!(percentile(&v, 99.9), 999.0);
        assert_eq!(percentile(&v, 100.0), 1000.0);
        assert!(percentile(&[], 50.0).is_nan());
    }
}
