//! `redis slowlog [n]`: SLOWLOG entries.

use super::*;
use crate::executor::Inner;
use vabot_commands::ports::Outcome;

pub(crate) fn render_slowlog(entries: &[SlowEntry]) -> Message {
    if entries.is_empty() {
        return Message::text(Tone::Info, "The Redis slow log is empty.");
    }
    let rows = entries
        .iter()
        .map(|e| {
            vec![
                e.id.to_string(),
                format!("{:.2}", e.micros as f64 / 1000.0),
                e.command.clone(),
                e.client.clone(),
            ]
        })
        .collect();
    Message::new(Tone::Info)
        .header(format!("Redis slow log ({} entries)", entries.len()))
        .table(&["ID", "MS", "COMMAND", "CLIENT"], rows)
}

pub(crate) async fn run(x: &Inner, n: u32) -> Result<Outcome, ExecError> {
    let entries = x.timed(WHAT, x.redis("redis slowlog")?.slowlog(n)).await?;
    let summary = format!("redis slowlog: {} entries", entries.len());
    Ok(Outcome::reply(render_slowlog(&entries), summary))
}
