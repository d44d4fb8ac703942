//! The [`Dependencies`](vabot_commands::ports::Dependencies) port: PostgreSQL, Redis,
//! Elasticsearch, Milvus, Nacos and Prometheus clients, the runbook's diagnose playbooks
//! (§4.1–§4.6) and Prometheus charts.
//!
//! Every call runs under one timeout (`endpoints.timeout_secs`, 3 s by default) and fails
//! with an [`ExecError`] that names the dependency, never its connection string: the
//! configured URLs are [`Secret`]s or are scrubbed from every log-only detail.

pub mod chart;
pub mod diagnose;
pub mod es;
pub mod indexing;
pub mod milvus;
pub mod nacos;
pub mod postgres;
pub mod prom;
pub mod redis;

mod executor;
mod http;
mod scrub;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use vabot_commands::secret::Secret;

pub use executor::{ConfigError, DepsExecutor};

/// The built-in Prometheus alias for the runbook's §4.6 query.
pub const RATE_429_ALIAS: &str = "429-rate";
/// What `429-rate` means unless the configuration redefines it.
pub const RATE_429_QUERY: &str = r#"sum(rate(istio_requests_total{response_code="429"}[5m]))"#;

/// Dependency endpoints (the `endpoints:` section of the bot's configuration).
/// `POSTGRES_URL`, `REDIS_URL`, `PROMETHEUS_URL`, … map onto these fields.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DepsConfig {
    pub postgres: Option<Secret>,
    pub redis: Option<Secret>,
    pub prometheus: Option<String>,
    pub elasticsearch: Option<String>,
    /// Milvus REST API (port 19530): `/v2/vectordb/…`.
    pub milvus: Option<String>,
    /// Milvus metrics port (9091), which serves `/healthz`; defaults to `milvus` with port 9091.
    pub milvus_metrics: Option<String>,
    /// Milvus token (`user:password` or an API key) for the REST API, if auth is on.
    pub milvus_token: Option<Secret>,
    /// Collections the `vector-search` playbook expects to exist.
    pub milvus_collections: Vec<String>,
    pub nacos: Option<String>,
    /// indexing-service's API (`reindex`), e.g. `http://indexing-service.voiceassistant-prod`.
    pub indexing: Option<String>,
    /// Where `pg backup` writes dumps and `pg restore` reads them (a directory or a
    /// mounted PVC path).
    pub pg_backup_dir: Option<std::path::PathBuf>,
    /// The directory holding `pg_dump` and `pg_restore`; none: found on `PATH`.
    pub pg_bin_dir: Option<std::path::PathBuf>,
    /// Seconds `pg_dump`/`pg_restore` may run.
    pub pg_tool_timeout_secs: u64,
    /// Seconds every dependency call may take, connecting included.
    pub timeout_secs: u64,
    /// `redis hitrate` warns below this ratio.
    pub redis_hitrate_warning: f64,
    /// `db-timeout` warns when connections used / max_connections exceeds this ratio.
    pub pg_connections_warning: f64,
    /// `prom` aliases: name → PromQL. `429-rate` is built in.
    pub prom_aliases: BTreeMap<String, String>,
}

impl Default for DepsConfig {
    fn default() -> Self {
        Self {
            postgres: None,
            redis: None,
            prometheus: None,
            elasticsearch: None,
            milvus: None,
            milvus_metrics: None,
            milvus_token: None,
            milvus_collections: Vec::new(),
            nacos: None,
            indexing: None,
            pg_backup_dir: None,
            pg_bin_dir: None,
            pg_tool_timeout_secs: 600,
            timeout_secs: 3,
            redis_hitrate_warning: 0.8,
            pg_connections_warning: 0.8,
            prom_aliases: BTreeMap::new(),
        }
    }
}

impl DepsConfig {
    /// The per-call timeout (at least one second).
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }

    /// The configured aliases with the built-in ones underneath.
    pub fn aliases(&self) -> BTreeMap<String, String> {
        let mut all = BTreeMap::new();
        all.insert(RATE_429_ALIAS.to_owned(), RATE_429_QUERY.to_owned());
        all.extend(self.prom_aliases.clone());
        all
    }
}
