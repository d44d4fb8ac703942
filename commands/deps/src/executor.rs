//! [`DepsExecutor`]: the [`Dependencies`] port over the clients in this crate.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use vabot_commands::approval::Approved;
use vabot_commands::authz::Permit;
use vabot_commands::grammar::{Command, EsCommand, MilvusCommand, PgCommand, RedisCommand};
use vabot_commands::model::Namespace;
use vabot_commands::plan::Plan;
use vabot_commands::ports::{Cluster, Dependencies, ExecError, Outcome};

use crate::http::Http;
use crate::postgres::{self, Postgres};
use crate::redis::{self as redis_ops, Redis};
use crate::scrub::Scrubber;
use crate::{DepsConfig, diagnose, es, indexing, milvus, nacos, prom};

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
    /// Removes the configured endpoints and secrets from text (tool errors).
    pub scrub: Scrubber,
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
            cfg.indexing.as_deref(),
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
        let http = Http::new(timeout, scrub.clone()).map_err(ConfigError::Http)?;
        Ok(Self {
            inner: Arc::new(Inner {
                cfg,
                http,
                pg,
                redis,
                cluster,
                namespaces,
                timeout,
                scrub,
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
        self.timed_within(what, self.timeout, fut).await
    }

    /// As [`Self::timed`], with a limit of its own (`pg_dump` runs for minutes).
    pub(crate) async fn timed_within<T>(
        &self,
        what: &'static str,
        limit: Duration,
        fut: impl Future<Output = Result<T, ExecError>>,
    ) -> Result<T, ExecError> {
        match tokio::time::timeout(limit, fut).await {
            Ok(r) => r,
            Err(_) => Err(ExecError::Timeout {
                what: what.to_owned(),
                secs: limit.as_secs(),
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

    pub(crate) fn scrub(&self, text: &str) -> String {
        self.scrub.scrub(text)
    }

    pub(crate) fn pg_backup_dir(
        &self,
        command: &'static str,
    ) -> Result<&std::path::Path, ExecError> {
        self.cfg
            .pg_backup_dir
            .as_deref()
            .ok_or(ExecError::NotConfigured {
                what: "PostgreSQL backup directory (endpoints.pg_backup_dir)",
                command,
            })
    }

    /// `pg_dump` or `pg_restore`, from the configured directory or `PATH`.
    pub(crate) fn pg_tool(&self, name: &str) -> std::path::PathBuf {
        match &self.cfg.pg_bin_dir {
            Some(d) => d.join(name),
            None => name.into(),
        }
    }

    pub(crate) fn pg_tool_timeout(&self) -> Duration {
        Duration::from_secs(self.cfg.pg_tool_timeout_secs.max(1))
    }

    pub(crate) fn indexing(&self, command: &'static str) -> Result<&str, ExecError> {
        self.cfg
            .indexing
            .as_deref()
            .ok_or(ExecError::NotConfigured {
                what: "indexing-service endpoint (endpoints.indexing, INDEXING_URL)",
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

    /// One command, one file: `<dependency>/<command>.rs` does the work and renders it.
    async fn run(&self, command: &Command) -> Result<Outcome, ExecError> {
        let reply = |message, summary: String| Ok(Outcome::reply(message, summary));
        match command {
            Command::Pg(PgCommand::Status) => postgres::status::run(self).await,
            Command::Pg(PgCommand::Connections) => postgres::connections::run(self).await,
            Command::Pg(PgCommand::Slow { n }) => postgres::slow::run(self, *n).await,
            Command::Pg(PgCommand::Backup { db }) => {
                postgres::backup::run(self, db.as_deref()).await
            }
            Command::Pg(PgCommand::Restore { backup }) => {
                postgres::restore::run(self, backup).await
            }
            Command::Redis(RedisCommand::Info { section }) => {
                redis_ops::info::run(self, section.as_deref()).await
            }
            Command::Redis(RedisCommand::Hitrate) => redis_ops::hitrate::run(self).await,
            Command::Redis(RedisCommand::Slowlog { n }) => redis_ops::slowlog::run(self, *n).await,
            Command::Redis(RedisCommand::Monitor { seconds }) => {
                redis_ops::monitor::run(self, *seconds).await
            }
            Command::Redis(RedisCommand::Flushdb { db }) => {
                redis_ops::flushdb::run(self, *db).await
            }
            Command::Es(EsCommand::Health) => es::health::run(self).await,
            Command::Es(EsCommand::Indices) => es::indices::run(self).await,
            Command::Milvus(MilvusCommand::Health) => milvus::health::run(self).await,
            Command::Milvus(MilvusCommand::Collections) => milvus::collections::run(self).await,
            Command::Milvus(MilvusCommand::Stats) => milvus::stats::run(self).await,
            Command::Nacos => nacos::health::run(self).await,
            Command::NacosServices { group } => nacos::services::run(self, group).await,
            Command::NacosConfig { data_id, group } => {
                nacos::config::run(self, data_id, group).await
            }
            Command::Reindex { collection } => indexing::reindex::run(self, collection).await,
            Command::Prom { query, since } => prom::query::run(self, query, *since).await,
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
                redis_ops::flushdb::plan(x, permit, *db).await
            }
            Command::Reindex { collection } => indexing::reindex::plan(x, permit, collection).await,
            Command::Pg(PgCommand::Backup { db }) => {
                postgres::backup::plan(x, permit, db.as_deref()).await
            }
            Command::Pg(PgCommand::Restore { backup }) => {
                postgres::restore::plan(x, permit, backup).await
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
