//! Builds the pipeline's [`Deps`] from [`Settings`]: one file per integration.

mod cluster;
mod deps;
pub mod store;

use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use vabot_commands::pipeline::Deps;
use vabot_commands::ports::SystemClock;

use crate::config::Settings;

/// Everything the adapters share, and vabot's own cluster client (for the Lease).
pub struct Built {
    pub deps: Deps,
    pub kube: Option<kube::Client>,
}

pub async fn build(settings: &Settings) -> anyhow::Result<Built> {
    let catalog = Arc::new(
        settings
            .load_catalog()
            .context("failed to load the service catalog")?,
    );
    let policy = settings
        .load_policy(&catalog)
        .context("failed to load the policy")?;
    let store = store::open(settings).await?;
    let connected = cluster::connect(settings, catalog.clone()).await?;
    let dependencies = deps::connect(settings, &catalog, connected.cluster.clone()).await?;
    Ok(Built {
        deps: Deps {
            catalog,
            policy: Arc::new(RwLock::new(Arc::new(policy))),
            directory: Arc::new(settings.directory.clone()),
            cluster: connected.cluster,
            dependencies,
            store,
            clock: Arc::new(SystemClock),
            replica: vabot_commands::model::ReplicaId::generate(settings.lease.identity.as_deref()),
        },
        kube: connected.client,
    })
}
