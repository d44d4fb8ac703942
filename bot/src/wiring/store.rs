//! The store named by `database.url` (`DATABASE_URL`): `memory:` keeps history in the
//! process; `sqlite:` and `postgres:` open a [`SqlStore`] and run its migrations first.

use std::sync::Arc;

use anyhow::Context as _;
use tracing::{info, warn};
use vabot_commands::pipeline::{Deps, resume_approved, sweep};
use vabot_commands::store::{MemoryStore, Store};
use vabot_store::SqlStore;

use crate::config::Settings;

/// The configured URL (`memory:` when none is set).
fn url(settings: &Settings) -> &str {
    settings
        .database
        .url
        .as_ref()
        .map(|s| s.expose())
        .unwrap_or("memory:")
}

pub async fn open(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    match url(settings) {
        "memory:" => Ok(Arc::new(MemoryStore::new())),
        other => Ok(Arc::new(open_sql(other).await?)),
    }
}

/// Opens a SQL store and applies its migrations; the error never shows the URL (it may
/// carry a password).
async fn open_sql(url: &str) -> anyhow::Result<SqlStore> {
    SqlStore::open(url)
        .await
        .context("failed to open the history store named by database.url / DATABASE_URL")
}

/// Restores approvals after a start: expires pending requests whose time passed while the
/// bot was down, and runs requests that were approved but never claimed (the deciding
/// process died right after the vote). Requests a crash left `executing` are not re-run.
pub async fn recover(deps: &Deps) -> anyhow::Result<()> {
    let expired = sweep(deps)
        .await
        .map_err(|e| anyhow::anyhow!("restoring approvals failed: {e}"))?;
    let resumed = resume_approved(deps)
        .await
        .map_err(|e| anyhow::anyhow!("resuming approved requests failed: {e}"))?;
    if !expired.is_empty() || !resumed.is_empty() {
        info!(
            expired = expired.len(),
            resumed = resumed.len(),
            "Approvals restored"
        );
    }
    let stuck = deps
        .store
        .approvals(None, vabot_commands::approval::ApprovalStatus::Executing)
        .await
        .map_err(|e| anyhow::anyhow!("listing interrupted executions failed: {e}"))?;
    for req in stuck {
        warn!(approval = %req.id, "Execution was interrupted by a restart; it is not re-run, check the target and ask again if needed");
    }
    Ok(())
}
