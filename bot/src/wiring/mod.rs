//! Builds the pipeline's [`Deps`] from [`Settings`]: one file per integration.

mod cluster;
mod deps;
pub mod store;

use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use vabot_commands::catalog::Catalog;
use vabot_commands::pipeline::Deps;
use vabot_commands::ports::SystemClock;

use crate::config::Settings;

/// Everything the adapters share.
pub async fn build(settings: &Settings) -> anyhow::Result<Deps> {
    let catalog = Catalog::voicehelper();
    let policy = settings
        .load_policy(&catalog)
        .context("failed to load the policy")?;
    let store = store::open(settings).await?;
    let cluster: Arc<dyn vabot_commands::ports::Cluster> = if settings.demo_cluster {
        // An in-memory cluster for demos and crash tests without Kubernetes.
        Arc::new(vabot_commands::testing::FakeCluster::new())
    } else {
        cluster::connect(settings).await?
    };
    let dependencies = deps::connect(settings, cluster.clone()).await?;
    Ok(Deps {
        catalog: Arc::new(catalog),
        policy: Arc::new(RwLock::new(Arc::new(policy))),
        directory: Arc::new(settings.directory.clone()),
        cluster,
        dependencies,
        store,
        clock: Arc::new(SystemClock),
    })
}
