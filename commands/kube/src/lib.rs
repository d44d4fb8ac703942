//! The [`Cluster`](vabot_commands::ports::Cluster) port on kube-rs.

use serde::{Deserialize, Serialize};

/// Kubernetes settings (the `kube:` section of the bot's configuration).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeConfig {
    /// Path of a kubeconfig; none means no cluster is configured.
    #[serde(default)]
    pub kubeconfig: Option<std::path::PathBuf>,
}
