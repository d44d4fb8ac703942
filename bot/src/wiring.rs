//! Builds the pipeline's [`Deps`] from [`Settings`].

use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use vabot_commands::catalog::Catalog;
use vabot_commands::pipeline::Deps;
use vabot_commands::ports::{SystemClock, Unconfigured};
use vabot_commands::store::{MemoryStore, Store};

use crate::config::Settings;

/// Everything the adapters share.
pub async fn build(settings: &Settings) -> anyhow::Result<Deps> {
    let catalog = Catalog::voicehelper();
    let policy = settings
        .load_policy(&catalog)
        .context("failed to load the policy")?;
    let store = open_store(settings).await?;
    Ok(Deps {
        catalog: Arc::new(catalog),
        policy: Arc::new(RwLock::new(Arc::new(policy))),
        directory: Arc::new(settings.directory.clone()),
        cluster: Arc::new(Unconfigured),
        dependencies: Arc::new(Unconfigured),
        store,
        clock: Arc::new(SystemClock),
    })
}

async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
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
