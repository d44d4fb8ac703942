//! Elasticsearch: `GET /_cluster/health` and `GET /_cat/indices?format=json`.

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

pub(crate) async fn health(http: &Http, base: &str) -> Result<ClusterHealth, ExecError> {
    http.get_json(WHAT, &join(base, "_cluster/health"), &[])
        .await
}

pub(crate) async fn indices(http: &Http, base: &str) -> Result<Vec<CatIndex>, ExecError> {
    http.get_json(
        WHAT,
        &join(base, "_cat/indices"),
        &[("format", "json".into()), ("bytes", "b".into())],
    )
    .await
}

pub(crate) fn render_health(h: &ClusterHealth) -> Message {
    let tone = match h.status.as_str() {
        "green" => Tone::Success,
        "yellow" => Tone::Warning,
        _ => Tone::Danger,
    };
    Message::new(tone)
        .header(format!("Elasticsearch {}: {}", h.cluster_name, h.status))
        .fields([
            (
                "nodes",
                format!("{} ({} data)", h.number_of_nodes, h.number_of_data_nodes),
            ),
            (
                "shards",
                format!(
                    "{} active ({} primary), {} relocating, {} initializing, {} unassigned",
                    h.active_shards,
                    h.active_primary_shards,
                    h.relocating_shards,
                    h.initializing_shards,
                    h.unassigned_shards
                ),
            ),
            (
                "active shards",
                format!("{:.1}%", h.active_shards_percent_as_number),
            ),
            ("pending tasks", h.number_of_pending_tasks.to_string()),
        ])
}

pub(crate) fn render_indices(list: &[CatIndex]) -> Message {
    if list.is_empty() {
        return Message::text(Tone::Info, "Elasticsearch has no indices.");
    }
    let worst = if list.iter().any(|i| i.health.as_deref() == Some("red")) {
        Tone::Danger
    } else if list.iter().any(|i| i.health.as_deref() == Some("yellow")) {
        Tone::Warning
    } else {
        Tone::Success
    };
    let mut sorted: Vec<&CatIndex> = list.iter().collect();
    sorted.sort_by(|a, b| a.index.cmp(&b.index));
    let rows = sorted
        .iter()
        .take(50)
        .map(|i| {
            vec![
                i.index.clone(),
                i.health.clone().unwrap_or_else(|| "-".into()),
                i.status.clone().unwrap_or_else(|| "-".into()),
                i.docs_count.clone().unwrap_or_else(|| "-".into()),
                i.store_size
                    .as_deref()
                    .map(human_bytes)
                    .unwrap_or_else(|| "-".into()),
                format!(
                    "{}/{}",
                    i.pri.as_deref().unwrap_or("-"),
                    i.rep.as_deref().unwrap_or("-")
                ),
            ]
        })
        .collect();
    let mut m = Message::new(worst)
        .header(format!("Elasticsearch indices ({})", list.len()))
        .table(
            &["INDEX", "HEALTH", "STATUS", "DOCS", "SIZE", "PRI/REP"],
            rows,
        );
    if list.len() > 50 {
        m = m.context(format!("first 50 of {} indices", list.len()));
    }
    m
}

/// `12345678` (bytes, as `bytes=b` asks) → `11.8 MiB`; other strings pass through.
pub(crate) fn human_bytes(s: &str) -> String {
    let Ok(n) = s.parse::<f64>() else {
        return s.to_owned();
    };
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}
