//! Which cluster, and as whom: the kubeconfig when one is given, else the pod's service
//! account, else none.
//!
//! The order is kube-rs's `Client::try_default` (and kubectl's): an explicit kubeconfig
//! (`kube.kubeconfig`, `KUBECONFIG`), then `~/.kube/config`, then the in-cluster service
//! account (`KUBERNETES_SERVICE_HOST`/`_PORT` and the mounted token). What differs is
//! that the environment comes in as a value ([`ClusterEnv`]) and the service account's
//! directory is configurable, so the in-cluster path is tested with a real token outside
//! a pod.

use std::path::{Path, PathBuf};

use kube::config::{AuthInfo, KubeConfigOptions, Kubeconfig};

use crate::KubeConfig;
use crate::error::ConnectError;

/// Where Kubernetes mounts a pod's service account credentials.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The parts of the process environment cluster access depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterEnv {
    /// `KUBERNETES_SERVICE_HOST`, set by the kubelet in every pod.
    pub service_host: Option<String>,
    /// `KUBERNETES_SERVICE_PORT`.
    pub service_port: Option<String>,
    /// `HOME`, for `~/.kube/config`.
    pub home: Option<PathBuf>,
}

/// How vabot reaches its cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// A kubeconfig file (and optionally one of its contexts).
    Kubeconfig {
        path: PathBuf,
        context: Option<String>,
    },
    /// The pod's own service account: a token that is re-read as it rotates, and the
    /// cluster's CA, from `dir`.
    InCluster { url: String, dir: PathBuf },
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Access::Kubeconfig {
                path,
                context: Some(c),
            } => write!(f, "kubeconfig {} (context {c})", path.display()),
            Access::Kubeconfig {
                path,
                context: None,
            } => write!(f, "kubeconfig {}", path.display()),
            Access::InCluster { url, dir } => write!(
                f,
                "in-cluster service account ({url}, credentials in {})",
                dir.display()
            ),
        }
    }
}

/// Decides how to reach the cluster; `Ok(None)` when nothing names one.
pub fn resolve(cfg: &KubeConfig, env: &ClusterEnv) -> Result<Option<Access>, ConnectError> {
    if let Some(path) = &cfg.kubeconfig {
        return Ok(Some(Access::Kubeconfig {
            path: path.clone(),
            context: cfg.context.clone(),
        }));
    }
    if let Some(home) = &env.home {
        let default = home.join(".kube").join("config");
        if default.is_file() {
            return Ok(Some(Access::Kubeconfig {
                path: default,
                context: cfg.context.clone(),
            }));
        }
    }
    let (Some(host), Some(port)) = (&env.service_host, &env.service_port) else {
        return Ok(None);
    };
    let port: u16 = port.trim().parse().map_err(|_| ConnectError::InCluster {
        detail: format!("KUBERNETES_SERVICE_PORT is `{port}`, not a port number"),
    })?;
    let dir = cfg.service_account_dir.clone();
    let token = dir.join("token");
    if !token.is_file() {
        return Err(ConnectError::InCluster {
            detail: format!(
                "this looks like a pod (KUBERNETES_SERVICE_HOST is set) but there is no service account token at {}; \
                 mount one (automountServiceAccountToken: true) or set kube.kubeconfig",
                token.display()
            ),
        });
    }
    Ok(Some(Access::InCluster {
        url: url_of(host.trim(), port),
        dir,
    }))
}

/// `https://host:port`, with IPv6 literals bracketed, as client-go builds it.
fn url_of(host: &str, port: u16) -> String {
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(ip)) => format!("https://[{ip}]:{port}"),
        _ => format!("https://{host}:{port}"),
    }
}

/// The kube-rs configuration for an access.
pub async fn config_of(access: &Access) -> Result<kube::Config, ConnectError> {
    match access {
        Access::Kubeconfig { path, context } => {
            let shown = path.display().to_string();
            let kc = Kubeconfig::read_from(path).map_err(|e| ConnectError::Kubeconfig {
                path: shown.clone(),
                detail: e.to_string(),
            })?;
            let opts = KubeConfigOptions {
                context: context.clone(),
                ..KubeConfigOptions::default()
            };
            kube::Config::from_custom_kubeconfig(kc, &opts)
                .await
                .map_err(|e| ConnectError::Config {
                    path: shown,
                    detail: e.to_string(),
                })
        }
        Access::InCluster { url, dir } => in_cluster(url, dir),
    }
}

/// What `kube::Config::incluster` builds, from a given directory.
fn in_cluster(url: &str, dir: &Path) -> Result<kube::Config, ConnectError> {
    let uri: http::Uri = url.parse().map_err(|e| ConnectError::InCluster {
        detail: format!("the API server address {url} is not a URL: {e}"),
    })?;
    let ca_file = dir.join("ca.crt");
    let pem_bytes = std::fs::read(&ca_file).map_err(|e| ConnectError::InCluster {
        detail: format!("cannot read the cluster CA {}: {e}", ca_file.display()),
    })?;
    let certs: Vec<Vec<u8>> = pem::parse_many(&pem_bytes)
        .map_err(|e| ConnectError::InCluster {
            detail: format!("{} is not PEM: {e}", ca_file.display()),
        })?
        .into_iter()
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(pem::Pem::into_contents)
        .collect();
    if certs.is_empty() {
        return Err(ConnectError::InCluster {
            detail: format!("{} holds no certificate", ca_file.display()),
        });
    }
    let namespace = std::fs::read_to_string(dir.join("namespace"))
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "default".to_owned());
    let mut config = kube::Config::new(uri);
    config.default_namespace = namespace;
    config.root_cert = Some(certs);
    // Re-read as the CA rotates, like the token below.
    config.root_cert_file = Some(ca_file);
    config.auth_info = AuthInfo {
        token_file: Some(dir.join("token").display().to_string()),
        ..AuthInfo::default()
    };
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> KubeConfig {
        KubeConfig::default()
    }

    fn pod_env() -> ClusterEnv {
        ClusterEnv {
            service_host: Some("10.96.0.1".into()),
            service_port: Some("443".into()),
            home: None,
        }
    }

    #[test]
    fn an_explicit_kubeconfig_wins_over_everything() {
        let mut c = cfg();
        c.kubeconfig = Some("/etc/kc".into());
        c.context = Some("prod".into());
        assert_eq!(
            resolve(&c, &pod_env()).unwrap(),
            Some(Access::Kubeconfig {
                path: "/etc/kc".into(),
                context: Some("prod".into())
            })
        );
    }

    #[test]
    fn nothing_configured_outside_a_pod_is_no_cluster() {
        let env = ClusterEnv {
            home: Some(std::env::temp_dir().join("vabot-no-such-home")),
            ..ClusterEnv::default()
        };
        assert_eq!(resolve(&cfg(), &env).unwrap(), None);
    }

    #[test]
    fn the_home_kubeconfig_comes_before_the_service_account() {
        let home = std::env::temp_dir().join(format!("vabot-home-{}", std::process::id()));
        std::fs::create_dir_all(home.join(".kube")).unwrap();
        std::fs::write(home.join(".kube/config"), "apiVersion: v1\n").unwrap();
        let env = ClusterEnv {
            home: Some(home.clone()),
            ..pod_env()
        };
        assert_eq!(
            resolve(&cfg(), &env).unwrap(),
            Some(Access::Kubeconfig {
                path: home.join(".kube/config"),
                context: None
            })
        );
        let _ = std::fs::remove_dir_all(home);
    }

    #[test]
    fn a_pod_without_a_token_is_told_how_to_fix_it() {
        let mut c = cfg();
        c.service_account_dir = std::env::temp_dir().join("vabot-no-such-sa");
        let e = resolve(&c, &pod_env()).unwrap_err().to_string();
        assert!(e.contains("no service account token at"), "{e}");
        assert!(e.contains("automountServiceAccountToken"), "{e}");
    }

    #[test]
    fn in_cluster_reads_the_service_account_directory() {
        let dir = std::env::temp_dir().join(format!("vabot-sa-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("token"), "t").unwrap();
        let mut c = cfg();
        c.service_account_dir = dir.clone();
        let access = resolve(&c, &pod_env()).unwrap().unwrap();
        assert_eq!(
            access,
            Access::InCluster {
                url: "https://10.96.0.1:443".into(),
                dir: dir.clone()
            }
        );
        let v6 = ClusterEnv {
            service_host: Some("fd00::1".into()),
            service_port: Some("6443".into()),
            home: None,
        };
        assert!(matches!(
            resolve(&c, &v6).unwrap(),
            Some(Access::InCluster { url, .. }) if url == "https://[fd00::1]:6443"
        ));
        let bad_port = ClusterEnv {
            service_port: Some("https".into()),
            ..pod_env()
        };
        assert!(resolve(&c, &bad_port).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
