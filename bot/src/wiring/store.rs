//! The history store named by `database.url` (`DATABASE_URL`): `postgres://…` or
//! `sqlite://…`, and by default a SQLite file in the data directory, so the history
//! survives a restart. `memory:` (history lost at exit) only when asked for by name.

use std::sync::Arc;

use anyhow::Context as _;
use tracing::{info, warn};
use vabot_commands::pipeline::{Deps, resume_approved, sweep};
use vabot_commands::store::{MemoryStore, Store};
use vabot_store::SqlStore;

use crate::config::Settings;

pub async fn open(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let url = settings.database_url();
    if url == "memory:" {
        warn!("History store: memory (database.url = memory:); everything is lost at exit");
        return Ok(Arc::new(MemoryStore::new()));
    }
    if let Some(path) = url.strip_prefix("sqlite://") {
        let file = std::path::Path::new(path.split('?').next().unwrap_or(path));
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| {
                format!(
                    "cannot create the directory of the history file {}",
                    file.display()
                )
            })?;
        }
        info!(file = %file.display(), "History store: SQLite");
    } else {
        info!(
            backend = url.split(':').next().unwrap_or(""),
            "History store"
        );
    }
    Ok(Arc::new(open_sql(&url).await?))
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
