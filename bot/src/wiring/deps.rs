//! The dependency clients named by `endpoints.*` (`POSTGRES_URL`, `REDIS_URL`, …).

use std::sync::Arc;

use anyhow::Context as _;
use vabot_commands::catalog::Catalog;
use vabot_commands::ports::{Cluster, Dependencies};
use vabot_deps::DepsExecutor;

use crate::config::Settings;

/// Builds the executor; nothing connects yet, so a dependency that is down at start-up
/// only affects its own commands. `cluster` feeds the diagnose playbooks.
pub async fn connect(
    settings: &Settings,
    catalog: &Catalog,
    cluster: Arc<dyn Cluster>,
) -> anyhow::Result<Arc<dyn Dependencies>> {
    let executor = DepsExecutor::new(
        settings.endpoints.clone(),
        cluster,
        catalog.all_namespaces(),
    )
    .context("invalid `endpoints` configuration")?;
    Ok(Arc::new(executor))
}
