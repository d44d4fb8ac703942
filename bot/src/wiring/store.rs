//! The history store named by `database.url` (`DATABASE_URL`): `postgres://…` or
//! `sqlite://…`, and by default a SQLite file in the data directory, so the history
//! survives a restart. `memory:` (history lost at exit) only when asked for by name.

use std::sync::Arc;

use anyhow::Context as _;
use tracing::{info, warn};
use vabot_commands::pipeline::Deps;
use vabot_commands::recovery;
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

/// Keeps this replica's heartbeat in the store (its claims are taken over once it stops).
pub fn spawn_heartbeat(deps: Deps) {
    tokio::spawn(async move {
        loop {
            if let Err(error) = deps.store.heartbeat(&deps.replica, deps.clock.now()).await {
                warn!(%error, "Could not record this replica's heartbeat");
            }
            tokio::time::sleep(recovery::HEARTBEAT_EVERY).await;
        }
    });
}

/// One sweep for work nobody is finishing (see `vabot_commands::recovery`); what it did.
pub async fn sweep(deps: &Deps) -> Vec<recovery::FollowUp> {
    match recovery::sweep(deps).await {
        Ok(done) => {
            if !done.is_empty() {
                info!(requests = done.len(), "Approval sweep took over requests");
            }
            done
        }
        Err(error) => {
            warn!(%error, "Approval sweep failed");
            Vec::new()
        }
    }
}
