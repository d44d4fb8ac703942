//! The [`Cluster`](vabot_commands::ports::Cluster) port on kube-rs.
//!
//! [`KubeCluster`] answers `health` from watch caches (kube-runtime reflectors started at
//! connect time), runs the other reads through the API server, and plans every write
//! against the current state with a server-side dry run before carrying it out with
//! kubectl's semantics (`scale`, `rollout restart`, `rollout undo`, `set image`, …).
//! Every request is bounded by a per-request timeout, and every failure becomes an
//! [`ExecError`] that says what was attempted.

pub mod access;
mod cache;
mod error;
mod ops;
pub mod redact;
pub mod revisions;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use kube::Client;
use serde::{Deserialize, Serialize};
use vabot_commands::approval::Approved;
use vabot_commands::authz::Permit;
use vabot_commands::catalog::{Catalog, Service};
use vabot_commands::model::Namespace;
use vabot_commands::plan::Plan;
use vabot_commands::ports::{Cluster, ClusterSnapshot, ExecError, Outcome, PlanContext};
use vabot_commands::store::ExecutionRecord;

pub use access::{Access, ClusterEnv};
pub use cache::CacheAge;
pub use error::ConnectError;
use error::Op;

/// Kubernetes settings (the `kube:` section of the bot's configuration).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeConfig {
    /// Path of a kubeconfig. Without one, `~/.kube/config`, then the pod's service
    /// account (in a cluster), else no cluster: see [`access::resolve`].
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use; none means its current context.
    #[serde(default)]
    pub context: Option<String>,
    /// Where the pod's service account token, CA and namespace are mounted.
    #[serde(default = "default_service_account_dir")]
    pub service_account_dir: PathBuf,
    /// Send writes with `Impersonate-User`/`Impersonate-Group` of the requester, so the
    /// cluster's RBAC applies too (vabot's own identity then needs the `impersonate` verb).
    #[serde(default)]
    pub impersonate: bool,
    /// Per-request timeout in seconds.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_service_account_dir() -> PathBuf {
    PathBuf::from(access::SERVICE_ACCOUNT_DIR)
}

fn default_timeout() -> u64 {
    // A reply within 5 s even when the first request hangs.
    4
}

impl Default for KubeConfig {
    fn default() -> Self {
        Self {
            kubeconfig: None,
            context: None,
            service_account_dir: default_service_account_dir(),
            impersonate: false,
            timeout_secs: default_timeout(),
        }
    }
}

/// The prefix of the plan note that records whom writes impersonate. The plan is what
/// approvers saw and what execution receives, so the identity travels with it.
const IMPERSONATION_NOTE: &str = "Cluster requests impersonate `";

/// The cluster, its watch caches and the catalog that names its workloads.
#[derive(Clone)]
pub struct KubeCluster {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    base: kube::Config,
    client: Client,
    /// The same identity without kube's retry of 5xx answers (`probe`).
    probe_client: Client,
    catalog: Arc<Catalog>,
    caches: cache::Caches,
    impersonate: bool,
    timeout: Duration,
    /// Impersonating clients by user key (a TLS connection each; reused).
    clients: Mutex<HashMap<String, Client>>,
    /// The records `undo` plans were made from, by invocation id: `execute` only gets
    /// the plan, and the pipeline re-plans right before executing, refreshing this.
    undo_records: Mutex<HashMap<String, ExecutionRecord>>,
    has_istio: bool,
}

/// A client plus whom the cluster sees, for one command.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub client: Client,
    pub who: String,
    pub timeout: Duration,
}

impl Ctx {
    pub fn op<'a>(
        &'a self,
        verb: &'a str,
        resource: &'a str,
        ns: &'a str,
        name: &'a str,
    ) -> Op<'a> {
        Op {
            verb,
            resource,
            namespace: ns,
            name,
            who: &self.who,
            timeout: self.timeout,
        }
    }
}

impl KubeCluster {
    /// Connects as `access` says (see [`access::resolve`] and [`KubeCluster::from_config`]).
    pub async fn connect(
        access: &Access,
        settings: &KubeConfig,
        catalog: Arc<Catalog>,
    ) -> Result<Self, ConnectError> {
        let config = access::config_of(access).await?;
        Self::from_config(config, settings, catalog).await
    }

    /// Connects with a ready kube config and starts the watch caches for the catalog's
    /// namespaces. Does not wait for them to sync (see [`KubeCluster::ready`]).
    pub async fn from_config(
        mut config: kube::Config,
        settings: &KubeConfig,
        catalog: Arc<Catalog>,
    ) -> Result<Self, ConnectError> {
        // rustls needs one process-wide crypto provider; with several compiled in (other
        // crates of the bot enable aws-lc-rs) it cannot pick one itself. Already set: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let timeout = Duration::from_secs(settings.timeout_secs.max(1));
        // Watches stream for minutes; the watcher has its own idle timeout. Requests get
        // the per-request bound through `Op::run`, and a connect bound here.
        config.connect_timeout = Some(timeout);
        let watch_client =
            Client::try_from(config.clone()).map_err(|e| ConnectError::Client(e.to_string()))?;
        let mut req_config = config.clone();
        req_config.read_timeout = Some(timeout);
        req_config.reset_reader_on_write = true;
        let client = Client::try_from(req_config.clone())
            .map_err(|e| ConnectError::Client(e.to_string()))?;
        // The service proxy answers for the service behind it: its 503 is an answer to
        // show, not a busy API server to retry (kube's default retry would hide it).
        let mut probe_config = req_config.clone();
        probe_config.default_retry = false;
        let probe_client =
            Client::try_from(probe_config).map_err(|e| ConnectError::Client(e.to_string()))?;
        let has_istio = istio_served(&client, timeout).await;
        let namespaces: Vec<String> = catalog
            .all_namespaces()
            .iter()
            .map(|n| n.as_str().to_owned())
            .collect();
        let caches = cache::Caches::start(&watch_client, &namespaces, has_istio);
        Ok(Self {
            inner: Arc::new(Inner {
                base: req_config,
                client,
                probe_client,
                catalog,
                caches,
                impersonate: settings.impersonate,
                timeout,
                clients: Mutex::new(HashMap::new()),
                undo_records: Mutex::new(HashMap::new()),
                has_istio,
            }),
        })
    }

    /// Whether every watch cache has completed its first list (for `/readyz`).
    pub fn is_synced(&self) -> bool {
        self.inner.caches.is_synced()
    }

    /// Waits until the watch caches are synced, at most `within`; returns whether they are.
    pub async fn ready(&self, within: Duration) -> bool {
        self.inner.caches.wait_synced(within).await
    }

    /// How fresh the caches are.
    pub fn cache_age(&self) -> CacheAge {
        self.inner.caches.age()
    }

    /// The watch caches that have not synced or are failing, with why.
    pub fn unhealthy(&self) -> Vec<String> {
        self.inner.caches.unhealthy()
    }

    /// A client with vabot's own identity (for the Lease, which is not a command).
    pub fn client(&self) -> Client {
        self.inner.client.clone()
    }
}

/// Whether the Istio API group is served (one discovery request at start-up).
async fn istio_served(client: &Client, timeout: Duration) -> bool {
    let req = match http::Request::get("/apis/networking.istio.io/v1alpha3").body(Vec::new()) {
        Ok(r) => r,
        Err(_) => return false,
    };
    matches!(
        tokio::time::timeout(timeout, client.request_text(req)).await,
        Ok(Ok(_))
    )
}

impl Inner {
    pub(crate) fn service(&self, name: &str) -> Result<&Service, ExecError> {
        self.catalog.get(name).ok_or_else(|| ExecError::NotFound {
            what: format!("service `{name}` in the catalog"),
        })
    }

    pub(crate) fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub(crate) fn has_istio(&self) -> bool {
        self.has_istio
    }

    /// The context for reads and for writes without impersonation: vabot's own identity.
    /// vabot's own identity through a client that does not retry (`probe`).
    pub(crate) fn own_without_retry(&self) -> Ctx {
        Ctx {
            client: self.probe_client.clone(),
            ..self.own()
        }
    }

    pub(crate) fn own(&self) -> Ctx {
        Ctx {
            client: self.client.clone(),
            who: "vabot's own service account".into(),
            timeout: self.timeout,
        }
    }

    /// The context a plan's writes run in.
    pub(crate) fn for_plan(&self, plan: &Plan) -> Result<Ctx, ExecError> {
        if !self.impersonate {
            return Ok(self.own());
        }
        let Some((user, groups)) = plan.notes.iter().find_map(|n| parse_impersonation(n)) else {
            return Err(ExecError::Precondition {
                why: "this plan does not say whom to impersonate; run the command again".into(),
            });
        };
        self.impersonating(&user, &groups)
    }

    pub(crate) fn impersonating(&self, user: &str, groups: &[String]) -> Result<Ctx, ExecError> {
        let key = format!("{user}|{}", groups.join(","));
        let shown = user.split_once(':').map_or(user, |(_, u)| u).to_owned();
        let mut clients = self.clients.lock().map_err(|_| ExecError::Internal {
            detail: "impersonation client cache poisoned".into(),
        })?;
        if let Some(c) = clients.get(&key) {
            return Ok(Ctx {
                client: c.clone(),
                who: shown,
                timeout: self.timeout,
            });
        }
        let mut config = self.base.clone();
        config.auth_info.impersonate = Some(user.to_owned());
        config.auth_info.impersonate_groups = Some(groups.to_vec());
        let client = Client::try_from(config).map_err(|e| ExecError::Internal {
            detail: format!("building an impersonating client: {e}"),
        })?;
        clients.insert(key, client.clone());
        Ok(Ctx {
            client,
            who: shown,
            timeout: self.timeout,
        })
    }

    pub(crate) fn remember_undo(&self, record: &ExecutionRecord) {
        if let Ok(mut m) = self.undo_records.lock() {
            m.insert(record.invocation.to_string(), record.clone());
        }
    }

    pub(crate) fn undo_record(&self, invocation: &str) -> Option<ExecutionRecord> {
        self.undo_records
            .lock()
            .ok()
            .and_then(|m| m.get(invocation).cloned())
    }
}

/// The note naming the impersonated identity, and its parse.
fn impersonation_note(permit: &Permit) -> String {
    let groups: Vec<String> = permit
        .roles()
        .iter()
        .map(|r| format!("vabot:{r}"))
        .collect();
    format!(
        "{IMPERSONATION_NOTE}{}` (groups: {})",
        permit.actor().key(),
        groups.join(", ")
    )
}

fn parse_impersonation(note: &str) -> Option<(String, Vec<String>)> {
    let rest = note.strip_prefix(IMPERSONATION_NOTE)?;
    let (user, rest) = rest.split_once('`')?;
    let groups = rest
        .trim()
        .strip_prefix("(groups: ")?
        .strip_suffix(')')?
        .split(", ")
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect();
    Some((user.to_owned(), groups))
}

#[async_trait]
impl Cluster for KubeCluster {
    fn caches_synced(&self) -> bool {
        self.is_synced()
    }

    fn cache_stale_secs(&self) -> Option<u64> {
        Some(self.cache_age().stale_secs)
    }

    async fn snapshot(&self, namespaces: &[Namespace]) -> Result<ClusterSnapshot, ExecError> {
        let inner = &self.inner;
        let synced = inner.caches.wait_synced(inner.timeout).await;
        let forbidden = inner.caches.forbidden();
        if !forbidden.is_empty() {
            return Err(ExecError::Forbidden {
                what: format!(
                    "the cluster's RBAC denies vabot's own identity the list/watch behind health: {} (the chart's Role grants get, list and watch on them)",
                    forbidden.join(", ")
                ),
            });
        }
        if !synced {
            return Err(ExecError::Unavailable {
                what: "the cluster's watch caches (still syncing)".into(),
                detail: format!("not synced: {}", inner.caches.unhealthy().join(", ")),
            });
        }
        let ns: Vec<String> = namespaces.iter().map(|n| n.as_str().to_owned()).collect();
        Ok(inner.caches.snapshot(&ns))
    }

    async fn plan(&self, permit: &Permit, ctx: &PlanContext) -> Result<Plan, ExecError> {
        let inner = &self.inner;
        let bound = inner.timeout * 3;
        let run = async {
            let exec = if inner.impersonate {
                let groups: Vec<String> = permit
                    .roles()
                    .iter()
                    .map(|r| format!("vabot:{r}"))
                    .collect();
                inner.impersonating(&permit.actor().key(), &groups)?
            } else {
                inner.own()
            };
            if let Some(record) = &ctx.undo_of {
                inner.remember_undo(record);
            }
            let done =
                ops::write(inner, &exec, permit.command(), ctx.undo_of.as_ref(), None).await?;
            let mut plan = Plan::new(permit, done.summary.clone()).with_target(done.target.clone());
            for c in &done.changes {
                plan = plan.with_change(&c.0, &c.1, &c.2);
            }
            plan = plan.with_fingerprint(done.fingerprint.clone());
            for n in &done.notes {
                plan = plan.with_note(n.clone());
            }
            if inner.impersonate {
                plan = plan.with_note(impersonation_note(permit));
            }
            Ok(plan.escalate(done.risk))
        };
        bounded(bound, run).await
    }

    async fn execute(&self, approved: &Approved) -> Result<Outcome, ExecError> {
        let inner = &self.inner;
        let plan = approved.plan();
        let bound = inner.timeout * 4;
        if plan.risk == vabot_commands::plan::RiskClass::Read {
            return bounded(bound, ops::read(inner, &plan.command)).await;
        }
        let run = async {
            let exec = inner.for_plan(plan)?;
            let undo_of = match &plan.command {
                vabot_commands::grammar::Command::Undo { invocation } => {
                    Some(inner.undo_record(invocation.as_str()).ok_or_else(|| {
                        ExecError::Precondition {
                            why: format!(
                                "the record of {invocation} is not loaded in this vabot process; run `/va undo {invocation}` again"
                            ),
                        }
                    })?)
                }
                _ => None,
            };
            let done = ops::write(
                inner,
                &exec,
                &plan.command,
                undo_of.as_ref(),
                Some(plan.fingerprint.as_deref().unwrap_or_default()),
            )
            .await?;
            Ok(done.outcome())
        };
        bounded(bound, run).await
    }
}

/// Bounds a whole command (several requests) so nothing hangs past a few timeouts.
async fn bounded<T>(
    limit: Duration,
    fut: impl std::future::Future<Output = Result<T, ExecError>>,
) -> Result<T, ExecError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r,
        Err(_) => Err(ExecError::Timeout {
            what: "the Kubernetes API server".into(),
            secs: limit.as_secs(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_impersonation_note_round_trips() {
        let note =
            format!("{IMPERSONATION_NOTE}console:alice` (groups: vabot:operator, vabot:admin)");
        let (u, g) = parse_impersonation(&note).unwrap();
        assert_eq!(u, "console:alice");
        assert_eq!(g, vec!["vabot:operator", "vabot:admin"]);
        assert_eq!(parse_impersonation("something else"), None);
    }

    #[test]
    fn kube_settings_default_to_a_four_second_timeout_without_impersonation() {
        let k: KubeConfig = serde_json::from_str(r#"{"kubeconfig": "/tmp/kc"}"#).unwrap();
        assert_eq!(k.timeout_secs, 4);
        assert!(!k.impersonate);
    }
}
