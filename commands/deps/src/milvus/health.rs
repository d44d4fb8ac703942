//! `milvus health`: `GET /healthz` on the metrics port.

use super::*;
use crate::executor::Inner;
use vabot_commands::ports::Outcome;

pub(crate) fn render_health(h: &Health) -> Message {
    if h.healthy {
        return Message::new(Tone::Success)
            .header("Milvus is healthy")
            .fields([("state", h.state.clone())]);
    }
    let mut m = Message::new(Tone::Danger)
        .header("Milvus is unhealthy")
        .fields([("state", h.state.clone())]);
    if !h.unhealthy_components.is_empty() {
        m = m.paragraph(format!(
            "Components not healthy: {}",
            h.unhealthy_components.join(", ")
        ));
    }
    m.context("Next: `/va logs milvus --tail 200`, `/va pods milvus`")
}

pub(crate) async fn run(x: &Inner) -> Result<Outcome, ExecError> {
    let h = x.milvus_health("milvus health").await?;
    let summary = format!("milvus health: {}", h.state);
    Ok(Outcome::reply(render_health(&h), summary))
}
