//! `es health`: `GET /_cluster/health`.

use super::*;
use crate::executor::Inner;
use vabot_commands::ports::Outcome;

pub(crate) async fn health(http: &Http, base: &str) -> Result<ClusterHealth, ExecError> {
    http.get_json(WHAT, &join(base, "_cluster/health"), &[])
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

pub(crate) async fn run(x: &Inner) -> Result<Outcome, ExecError> {
    let base = x.elasticsearch("es health")?;
    let h = x.timed(WHAT, health(&x.http, base)).await?;
    let summary = format!("es health: {}", h.status);
    Ok(Outcome::reply(render_health(&h), summary))
}
