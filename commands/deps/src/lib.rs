//! The [`Dependencies`](vabot_commands::ports::Dependencies) port: PostgreSQL, Redis,
//! Elasticsearch, Milvus, Nacos and Prometheus clients.

use serde::{Deserialize, Serialize};
use vabot_commands::secret::Secret;

/// Dependency endpoints (the `endpoints:` section of the bot's configuration).
/// `POSTGRES_URL`, `REDIS_URL`, `PROMETHEUS_URL`, … map onto these fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepsConfig {
    #[serde(default)]
    pub postgres: Option<Secret>,
    #[serde(default)]
    pub redis: Option<Secret>,
    #[serde(default)]
    pub prometheus: Option<String>,
    #[serde(default)]
    pub elasticsearch: Option<String>,
    #[serde(default)]
    pub milvus: Option<String>,
    #[serde(default)]
    pub nacos: Option<String>,
}
