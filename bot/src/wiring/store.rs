//! The store named by `database.url` (`DATABASE_URL`).

use std::sync::Arc;

use vabot_commands::store::{MemoryStore, Store};

use crate::config::Settings;

pub async fn open(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let url = settings
        .database
        .url
        .as_ref()
        .map(|s| s.expose())
        .unwrap_or("memory:");
    match url {
        "memory:" => Ok(Arc::new(MemoryStore::new())),
        other => {
            let scheme = other.split(':').next().unwrap_or("");
            anyhow::bail!(
                "database URLs with scheme `{scheme}:` are not supported by this build; use `memory:`"
            )
        }
    }
}
