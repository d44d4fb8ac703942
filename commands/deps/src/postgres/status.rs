//! `pg status`: version, uptime, connections used/max, the longest transaction.

use super::*;
use crate::executor::Inner;
use vabot_commands::ports::Outcome;

// === rendering ===

pub(crate) fn render_status(s: &Status, warn_ratio: f64) -> Message {
    let ratio = s.connections as f64 / (s.max_connections.max(1)) as f64;
    let tone = if ratio >= warn_ratio {
        Tone::Warning
    } else {
        Tone::Success
    };
    let longest = match &s.longest {
        Some(t) => format!(
            "{} (pid {}, {}, {}): {}",
            duration(t.age_secs),
            t.pid,
            t.application,
            t.state,
            t.query
        ),
        None => "none open".into(),
    };
    Message::new(tone).header("PostgreSQL status").fields([
        ("version", s.version.clone()),
        ("uptime", duration(s.uptime_secs)),
        (
            "connections",
            format!(
                "{} / {} max_connections ({:.0}%)",
                s.connections,
                s.max_connections,
                ratio * 100.0
            ),
        ),
        ("longest transaction", longest),
    ])
}

pub(crate) async fn run(x: &Inner) -> Result<Outcome, ExecError> {
    let s = x.timed(WHAT, x.pg("pg status")?.status()).await?;
    let summary = format!(
        "pg status: {}/{} connections",
        s.connections, s.max_connections
    );
    Ok(Outcome::reply(
        render_status(&s, x.cfg.pg_connections_warning),
        summary,
    ))
}
