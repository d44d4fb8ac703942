//! [`DepsExecutor`]: the [`Dependencies`] port over the clients in this crate.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use vabot_commands::approval::Approved;
use vabot_commands::authz::Permit;
use vabot_commands::grammar::{Command, EsCommand, MilvusCommand, PgCommand, RedisCommand};
use vabot_commands::model::Namespace;
use vabot_commands::plan::{ObjectRef, Plan};
use vabot_commands::ports::{Cluster, Dependencies, ExecError, Outcome};

use crate::http::Http;
use crate::postgres::{self, Postgres};
use crate::redis::{self as redis_ops, Redis};
use crate::scrub::Scrubber;
use crate::{DepsConfig, diagnose, es, milvus, nacos, prom};

/// Why the executor could not be built from the configuration. Never quotes a URL.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    InvalidEndpoint(String),
    #[error("the HTTP client could not be built")]
    Http(#[source] reqwest::Error),
}

/// Runs dependency commands and diagnose playbooks.
#[derive(Clone)]
pub struct DepsExecutor {
    inner: Arc<Inner>,
}

/// The configured clients; shared with the playbooks.
pub(crate) struct Inner {
    pub cfg: DepsConfig,
    pub http: Http,
    pub pg: Option<Postgres>,
    pub redis: Option<Redis>,
    pub cluster: Arc<dyn Cluster>,
    /// What the cluster checks look at (the catalog's namespaces).
    pub namespaces: Vec<Namespace>,
    pub timeout: Duration,
}

impl DepsExecutor {
    /// Builds the clients; nothing connects until a command runs, so a dependency that is
    /// down at start-up only affects its own commands.
    pub fn new(
        cfg: DepsConfig,
        cluster: Arc<dyn Cluster>,
        namespaces: Vec<Namespace>,
    ) -> Result<Self, ConfigError> {
        let timeout = cfg.timeout();
        let mut scrub = Scrubber::default();
        for url in [
            cfg.postgres.as_ref().map(|s| s.expose()),
            cfg.redis.as_ref().map(|s| s.expose()),
            cfg.prometheus.as_deref(),
            cfg.elasticsearch.as_deref(),
            cfg.milvus.as_deref(),
            cfg.milvus_metrics.as_deref(),
            cfg.nacos.as_deref(),
        ]
        .into_iter()
        .flatten()
        {
            scrub.add_url(url);
        }
        if let Some(t) = &cfg.milvus_token {
            scrub.add_secret(t.expose());
        }
        let pg = cfg
            .postgres
            .as_ref()
            .map(|u| Postgres::new(u.expose(), timeout, scrub.clone()))
            .transpose()
            .map_err(ConfigError::InvalidEndpoint)?;
        let redis = cfg
            .redis
            .as_ref()
            .map(|u| Redis::new(u.expose(), timeout.as_secs(), scrub.clone()))
            .transpose()
            .map_err(ConfigError::InvalidEndpoint)?;
        let http = Http::new(timeout, scrub).map_err(ConfigError::Http)?;
        Ok(Self {
            inner: Arc::new(Inner {
                cfg,
                http,
                pg,
                redis,
                cluster,
                namespaces,
                timeout,
            }),
        })
    }
}

// === impl Inner ===

impl Inner {
    /// Runs `fut` under the configured timeout.
    pub(crate) async fn timed<T>(
        &self,
        what: &'static str,
        fut: impl Future<Output = Result<T, ExecError>>,
    ) -> Result<T, ExecError> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(ExecError::Timeout {
                what: what.to_owned(),
                secs: self.timeout.as_secs(),
            }),
        }
    }

    pub(crate) fn pg(&self, command: &'static str) -> Result<&Postgres, ExecError> {
        self.pg.as_ref().ok_or(ExecError::NotConfigured {
            what: "PostgreSQL endpoint (endpoints.postgres, POSTGRES_URL)",
            command,
        })
    }

    pub(crate) fn redis(&self, command: &'static str) -> Result<&Redis, ExecError> {
        self.redis.as_ref().ok_or(ExecError::NotConfigured {
            what: "Redis endpoint (endpoints.redis, REDIS_URL)",
            command,
        })
    }

    pub(crate) fn prometheus(&self, command: &'static str) -> Result<&str, ExecError> {
        self.cfg
            .prometheus
            .as_deref()
            .ok_or(ExecError::NotConfigured {
                what: "Prometheus endpoint (endpoints.prometheus, PROMETHEUS_URL)",
                command,
            })
    }

    pub(crate) fn elasticsearch(&self, command: &'static str) -> Result<&str, ExecError> {
        self.cfg
            .elasticsearch
            .as_deref()
            .ok_or(ExecError::NotConfigured {
                what: "Elasticsearch endpoint (endpoints.elasticsearch, ELASTICSEARCH_URL)",
                command,
            })
    }

    pub(crate) fn milvus(&self, command: &'static str) -> Result<&str, ExecError> {
        self.cfg.milvus.as_deref().ok_or(ExecError::NotConfigured {
            what: "Milvus endpoint (endpoints.milvus, MILVUS_URL)",
            command,
        })
    }

    /// The metrics port serving `/healthz`: configured, or the REST URL with port 9091.
    pub(crate) fn milvus_metrics(&self, command: &'static str) -> Result<String, ExecError> {
        if let Some(m) = &self.cfg.milvus_metrics {
            return Ok(m.clone());
        }
        let base = self.milvus(command)?;
        Ok(with_port(base, 9091))
    }

    pub(crate) fn nacos(&self, command: &'static str) -> Result<&str, ExecError> {
        self.cfg.nacos.as_deref().ok_or(ExecError::NotConfigured {
            what: "Nacos endpoint (endpoints.nacos, NACOS_URL)",
            command,
        })
    }

    /// An alias's PromQL, or the text itself as a query.
    pub(crate) fn promql(&self, text: &str) -> String {
        self.cfg
            .aliases()
            .get(text.trim())
            .cloned()
            .unwrap_or_else(|| text.trim().to_owned())
    }

    pub(crate) async fn milvus_collections(
        &self,
        command: &'static str,
    ) -> Result<Vec<String>, ExecError> {
        let base = self.milvus(command)?;
        let token = self.cfg.milvus_token.as_ref().map(|t| t.expose());
        self.timed(milvus::WHAT, milvus::collections(&self.http, base, token))
            .await
    }

    pub(crate) async fn milvus_health(
        &self,
        command: &'static str,
    ) -> Result<milvus::Health, ExecError> {
        let base = self.milvus_metrics(command)?;
        self.timed(milvus::WHAT, milvus::health(&self.http, &base))
            .await
    }

    async fn run(&self, command: &Command) -> Result<Outcome, ExecError> {
        let name = command.name();
        let reply = |message, summary: String| Ok(Outcome::reply(message, summary));
        match command {
            Command::Pg(PgCommand::Status) => {
                let s = self.timed(postgres::WHAT, self.pg(name)?.status()).await?;
                let summary = format!(
                    "pg status: {}/{} connections",
                    s.connections, s.max_connections
                );
                reply(
                    postgres::render_status(&s, self.cfg.pg_connections_warning),
                    summary,
                )
            }
            Command::Pg(PgCommand::Connections) => {
                let g = self
                    .timed(postgres::WHAT, self.pg(name)?.connections())
                    .await?;
                let total: i64 = g.iter().map(|x| x.count).sum();
                reply(
                    postgres::render_connections(&g),
                    format!("pg connections: {total}"),
                )
            }
            Command::Pg(PgCommand::Slow { n }) => {
                let s = self.timed(postgres::WHAT, self.pg(name)?.slow(*n)).await?;
                reply(postgres::render_slow(&s), "pg slow".into())
            }
            Command::Redis(RedisCommand::Info { section }) => {
                let info = self
                    .timed(redis_ops::WHAT, self.redis(name)?.info(section.as_deref()))
                    .await?;
                reply(
                    redis_ops::render_info(&info, section.as_deref()),
                    format!("redis info {}", section.as_deref().unwrap_or(""))
                        .trim_end()
                        .to_owned(),
                )
            }
            Command::Redis(RedisCommand::Hitrate) => {
                let info = self
                    .timed(redis_ops::WHAT, self.redis(name)?.info(Some("stats")))
                    .await?;
                let rate = info.hit_rate();
                let summary = match rate.and_then(|r| r.ratio()) {
                    Some(r) => format!("redis hitrate {:.1}%", r * 100.0),
                    None => "redis hitrate: no lookups".into(),
                };
                reply(
                    redis_ops::render_hitrate(rate, self.cfg.redis_hitrate_warning),
                    summary,
                )
            }
            Command::Redis(RedisCommand::Slowlog { n }) => {
                let entries = self
                    .timed(redis_ops::WHAT, self.redis(name)?.slowlog(*n))
                    .await?;
                reply(
                    redis_ops::render_slowlog(&entries),
                    format!("redis slowlog: {} entries", entries.len()),
                )
            }
            Command::Redis(RedisCommand::Flushdb { db }) => {
                let f = self
                    .timed(redis_ops::WHAT, self.redis(name)?.flushdb(*db))
                    .await?;
                tracing::info!(
                    db = f.db,
                    before = f.before,
                    after = f.after,
                    "Redis db flushed"
                );
                Ok(Outcome {
                    message: redis_ops::render_flushed(&f),
                    summary: format!("flushed Redis db {}: {} keys → {}", f.db, f.before, f.after),
                    before: Some(json!({"db": f.db, "keys": f.before})),
                    after: Some(json!({"db": f.db, "keys": f.after})),
                })
            }
            Command::Es(EsCommand::Health) => {
                let base = self.elasticsearch(name)?;
                let h = self.timed(es::WHAT, es::health(&self.http, base)).await?;
                let summary = format!("es health: {}", h.status);
                reply(es::render_health(&h), summary)
            }
            Command::Es(EsCommand::Indices) => {
                let base = self.elasticsearch(name)?;
                let list = self.timed(es::WHAT, es::indices(&self.http, base)).await?;
                reply(
                    es::render_indices(&list),
                    format!("es indices: {}", list.len()),
                )
            }
            Command::Milvus(MilvusCommand::Health) => {
                let h = self.milvus_health(name).await?;
                let summary = format!("milvus health: {}", h.state);
                reply(milvus::render_health(&h), summary)
            }
            Command::Milvus(MilvusCommand::Collections) => {
                let list = self.milvus_collections(name).await?;
                reply(
                    milvus::render_collections(&list),
                    format!("milvus collections: {}", list.len()),
                )
            }
            Command::Nacos => {
                let base = self.nacos(name)?;
                let h = self
                    .timed(nacos::WHAT, nacos::health(&self.http, base))
                    .await?;
                let summary = format!(
                    "nacos health: {}",
                    if h.ready { "ready" } else { "not ready" }
                );
                reply(nacos::render(&h), summary)
            }
            Command::Prom { query, since } => {
                let base = self.prometheus(name)?;
                let promql = self.promql(query);
                let since = since.unwrap_or(prom::DEFAULT_SINCE);
                let r = self
                    .timed(prom::WHAT, prom::query(&self.http, base, &promql, since))
                    .await?;
                let label = query.trim();
                let summary = format!("prom {label}: {} series", r.current.len());
                reply(prom::render(label, &r), summary)
            }
            Command::Diagnose { playbook, service } => {
                let report = diagnose::run(self, *playbook, service.as_deref()).await;
                let summary = report.summary();
                reply(report.render(), summary)
            }
            other => Err(ExecError::Internal {
                detail: format!("`{}` is not a dependency command", other.name()),
            }),
        }
    }
}

/// `http://host:19530/x` → `http://host:9091` (only the port is swapped).
fn with_port(base: &str, port: u16) -> String {
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    let authority = rest.split('/').next().unwrap_or(rest);
    let host = match authority.rsplit_once(':') {
        // An IPv6 literal without a port ends in `]`.
        Some((h, p)) if !p.contains(']') => h,
        _ => authority,
    };
    format!("{scheme}://{host}:{port}")
}

#[async_trait]
impl Dependencies for DepsExecutor {
    /// Only writes are planned here; `redis flushdb` states the key count it will delete.
    async fn plan(&self, permit: &Permit) -> Result<Plan, ExecError> {
        let x = &self.inner;
        match permit.command() {
            Command::Redis(RedisCommand::Flushdb { db }) => {
                let name = permit.command().name();
                let keys = x.timed(redis_ops::WHAT, x.redis(name)?.dbsize(*db)).await?;
                // The approval binds to the database and the action: on a cache being
                // written to, the key count moves between request and vote, and binding
                // to it would make every vote find the plan superseded. So the count is
                // shown (summary, note), not part of the change.
                Ok(Plan::new(permit, format!("FLUSHDB on Redis db {db} ({keys} keys)"))
                    .with_target(ObjectRef {
                        kind: "Redis database".into(),
                        namespace: "redis".into(),
                        name: format!("db {db}"),
                    })
                    .with_change(&format!("keys in db {db}"), "all", "none")
                    .with_fingerprint(format!("flushdb db {db}"))
                    .with_note(format!(
                        "Db {db} holds {keys} keys now; every key in it is deleted at execution, \
                         however many there are then. Other databases are untouched. This cannot be undone."
                    )))
            }
            other => Ok(Plan::new(permit, other.name().to_owned())),
        }
    }

    async fn execute(&self, plan: &Approved) -> Result<Outcome, ExecError> {
        self.inner.run(&plan.plan().command).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milvus_metrics_default_swaps_only_the_port() {
        assert_eq!(with_port("http://milvus:19530", 9091), "http://milvus:9091");
        assert_eq!(
            with_port("https://m.example/api", 9091),
            "https://m.example:9091"
        );
    }
}
