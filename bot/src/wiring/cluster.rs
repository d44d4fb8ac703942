//! The Kubernetes cluster named by `kube.kubeconfig` (`KUBECONFIG`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tracing::{info, warn};
use vabot_commands::catalog::Catalog;
use vabot_commands::ports::{Cluster, Unconfigured};
use vabot_kube::KubeCluster;

use crate::config::Settings;

/// How long start-up waits for the watch caches before serving anyway (`health` then
/// says the caches are still syncing until they are).
const SYNC_WAIT: Duration = Duration::from_secs(15);

pub async fn connect(settings: &Settings) -> anyhow::Result<Arc<dyn Cluster>> {
    if settings.kube.kubeconfig.is_none() {
        return Ok(Arc::new(Unconfigured));
    }
    // The same catalog `wiring::build` gives the pipeline: it names the watched namespaces.
    let catalog = Arc::new(Catalog::voicehelper());
    let cluster = KubeCluster::connect(&settings.kube, catalog)
        .await
        .context("failed to connect to the Kubernetes cluster")?;
    if cluster.ready(SYNC_WAIT).await {
        info!("Kubernetes watch caches synced");
    } else {
        warn!(
            wait_secs = SYNC_WAIT.as_secs(),
            "Kubernetes watch caches not synced yet; serving anyway"
        );
    }
    Ok(Arc::new(cluster))
}
