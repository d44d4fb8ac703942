//! `pg connections`: connections by state and application.

use super::*;
use crate::executor::Inner;
use vabot_commands::ports::Outcome;

pub(crate) fn render_connections(groups: &[ConnectionGroup]) -> Message {
    let total: i64 = groups.iter().map(|g| g.count).sum();
    let rows = groups
        .iter()
        .map(|g| vec![g.state.clone(), g.application.clone(), g.count.to_string()])
        .collect();
    Message::new(Tone::Info)
        .header(format!("PostgreSQL connections ({total})"))
        .table(&["STATE", "APPLICATION", "COUNT"], rows)
}

pub(crate) async fn run(x: &Inner) -> Result<Outcome, ExecError> {
    let g = x.timed(WHAT, x.pg("pg connections")?.connections()).await?;
    let total: i64 = g.iter().map(|x| x.count).sum();
    Ok(Outcome::reply(
        render_connections(&g),
        format!("pg connections: {total}"),
    ))
}
