//! The Kubernetes cluster: the kubeconfig when one is given, else `~/.kube/config`, else
//! the pod's service account, else none (every kube command then says so).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tracing::{info, warn};
use vabot_commands::catalog::Catalog;
use vabot_commands::ports::{Cluster, Unconfigured};
use vabot_kube::{KubeCluster, access};

use crate::config::Settings;

/// How long start-up waits for the watch caches before serving anyway (`health` then
/// says the caches are still syncing until they are).
const SYNC_WAIT: Duration = Duration::from_secs(15);

/// The cluster port, and vabot's own client for what is not a command (the Lease).
pub struct Connected {
    pub cluster: Arc<dyn Cluster>,
    pub client: Option<kube::Client>,
}

pub async fn connect(settings: &Settings, catalog: Arc<Catalog>) -> anyhow::Result<Connected> {
    let Some(access) = access::resolve(&settings.kube, &settings.cluster_env)? else {
        info!(
            "No Kubernetes cluster configured (no kube.kubeconfig, KUBECONFIG, ~/.kube/config or in-cluster service account); kube commands will say so"
        );
        return Ok(Connected {
            cluster: Arc::new(Unconfigured),
            client: None,
        });
    };
    info!(access = %access, "Connecting to the Kubernetes cluster");
    let cluster = KubeCluster::connect(&access, &settings.kube, catalog)
        .await
        .with_context(|| format!("failed to connect to the Kubernetes cluster ({access})"))?;
    if cluster.ready(SYNC_WAIT).await {
        info!("Kubernetes watch caches synced");
    } else {
        warn!(
            wait_secs = SYNC_WAIT.as_secs(),
            unhealthy = %cluster.unhealthy().join(", "),
            "Kubernetes watch caches not synced yet; serving anyway"
        );
    }
    Ok(Connected {
        client: Some(cluster.client()),
        cluster: Arc::new(cluster),
    })
}
