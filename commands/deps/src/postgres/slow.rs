//! `pg slow [n]`: the slowest statements (pg_stat_statements when installed).

use super::*;
use crate::executor::Inner;
use vabot_commands::ports::Outcome;

pub(crate) fn render_slow(slow: &Slow) -> Message {
    match slow {
        Slow::NotInstalled => Message::new(Tone::Warning)
            .header("pg_stat_statements is not installed")
            .paragraph(
                "Slow statements need the pg_stat_statements extension in this database: add it to \
                 shared_preload_libraries and run `CREATE EXTENSION pg_stat_statements;`.",
            ),
        Slow::Statements(list) if list.is_empty() => Message::text(
            Tone::Info,
            "pg_stat_statements has no statements recorded yet.",
        ),
        Slow::Statements(list) => {
            let rows = list
                .iter()
                .map(|s| {
                    vec![
                        format!("{:.1}", s.total_ms),
                        format!("{:.2}", s.mean_ms),
                        s.calls.to_string(),
                        s.rows.to_string(),
                        excerpt(&s.query, 80),
                    ]
                })
                .collect();
            Message::new(Tone::Info)
                .header(format!("Slowest {} statements by total time", list.len()))
                .table(&["TOTAL MS", "MEAN MS", "CALLS", "ROWS", "QUERY"], rows)
                .context("from pg_stat_statements")
        }
    }
}

pub(crate) async fn run(x: &Inner, n: u32) -> Result<Outcome, ExecError> {
    let s = x.timed(WHAT, x.pg("pg slow")?.slow(n)).await?;
    Ok(Outcome::reply(render_slow(&s), "pg slow"))
}
