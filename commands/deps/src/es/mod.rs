//! Elasticsearch: `GET /_cluster/health` and `GET /_cat/indices?format=json`.

pub(crate) mod health;
pub(crate) mod indices;

use serde::{Deserialize, Serialize};
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use crate::http::{Http, join};

pub(crate) const WHAT: &str = "Elasticsearch";

/// `GET /_cluster/health` (the fields vabot shows; the API returns more).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterHealth {
    pub cluster_name: String,
    /// `green`, `yellow` or `red`.
    pub status: String,
    #[serde(default)]
    pub timed_out: bool,
    pub number_of_nodes: u32,
    pub number_of_data_nodes: u32,
    pub active_primary_shards: u32,
    pub active_shards: u32,
    pub relocating_shards: u32,
    pub initializing_shards: u32,
    pub unassigned_shards: u32,
    #[serde(default)]
    pub number_of_pending_tasks: u32,
    #[serde(default)]
    pub active_shards_percent_as_number: f64,
}

/// One row of `GET /_cat/indices?format=json`: the cat API answers numbers as strings,
/// and closed indices have no health or counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatIndex {
    pub health: Option<String>,
    pub status: Option<String>,
    pub index: String,
    pub uuid: Option<String>,
    pub pri: Option<String>,
    pub rep: Option<String>,
    #[serde(rename = "docs.count")]
    pub docs_count: Option<String>,
    #[serde(rename = "docs.deleted")]
    pub docs_deleted: Option<String>,
    #[serde(rename = "store.size")]
    pub store_size: Option<String>,
    #[serde(rename = "pri.store.size")]
    pub pri_store_size: Option<String>,
}
