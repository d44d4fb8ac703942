//! `redis flushdb [db]`: FLUSHDB on one database, after approval; the plan binds to
//! the database and the action, not the key count.

use super::*;
use crate::executor::Inner;
use vabot_commands::authz::Permit;
use vabot_commands::plan::{ObjectRef, Plan};
use vabot_commands::ports::Outcome;

pub(crate) fn render_flushed(f: &Flushed) -> Message {
    Message::new(Tone::Success)
        .header(format!("Flushed Redis db {}", f.db))
        .fields([
            ("keys before", f.before.to_string()),
            ("keys after", f.after.to_string()),
        ])
        .context("Only this database was flushed; other databases are untouched.")
}

/// The plan approvers see: the database and the action; the key count as it is now.
pub(crate) async fn plan(x: &Inner, permit: &Permit, db: u8) -> Result<Plan, ExecError> {
    let keys = x.timed(WHAT, x.redis("redis flushdb")?.dbsize(db)).await?;
    // On a cache being written to, the key count moves between request and vote; binding
    // to it would make every vote find the plan superseded. So it is shown, not bound.
    Ok(
        Plan::new(permit, format!("FLUSHDB on Redis db {db} ({keys} keys)"))
            .with_target(ObjectRef {
                kind: "Redis database".into(),
                namespace: "redis".into(),
                name: format!("db {db}"),
            })
            .with_change(&format!("keys in db {db}"), "all", "none")
            .with_fingerprint(format!("flushdb db {db}"))
            .with_note(format!(
                "Db {db} holds {keys} keys now; every key in it is deleted at execution, \
             however many there are then. Other databases are untouched. This cannot be undone."
            )),
    )
}

pub(crate) async fn run(x: &Inner, db: u8) -> Result<Outcome, ExecError> {
    let f = x.timed(WHAT, x.redis("redis flushdb")?.flushdb(db)).await?;
    tracing::info!(
        db = f.db,
        before = f.before,
        after = f.after,
        "Redis db flushed"
    );
    Ok(Outcome {
        message: render_flushed(&f),
        summary: format!("flushed Redis db {}: {} keys → {}", f.db, f.before, f.after),
        before: Some(serde_json::json!({"db": f.db, "keys": f.before})),
        after: Some(serde_json::json!({"db": f.db, "keys": f.after})),
    })
}
