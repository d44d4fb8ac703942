//! The Kubernetes cluster named by `kube.kubeconfig` (`KUBECONFIG`).

use std::sync::Arc;

use vabot_commands::ports::{Cluster, Unconfigured};

use crate::config::Settings;

pub async fn connect(_settings: &Settings) -> anyhow::Result<Arc<dyn Cluster>> {
    Ok(Arc::new(Unconfigured))
}
