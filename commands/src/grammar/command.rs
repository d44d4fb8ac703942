//! The command model: every command of DESIGN §3 as a typed variant, with its name,
//! risk class, service and namespaces.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::grammar::spec::{self, SPECS, Spec};
use crate::model::{ApprovalId, InvocationId, Namespace};
use crate::plan::RiskClass;

// === Command model ===

/// What `logs` and `describe` point at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Service(String),
    /// A pod name, with the service it belongs to.
    Pod {
        service: String,
        pod: String,
    },
}

impl Target {
    pub fn service(&self) -> &str {
        match self {
            Target::Service(s) => s,
            Target::Pod { service, .. } => service,
        }
    }
}

/// The scope of `health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthScope {
    All,
    Namespace(Namespace),
    Service(String),
    /// The mesh control plane (`istio-system`): read live, not from the watch caches.
    Mesh(Namespace),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopKind {
    Pods,
    Nodes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PgCommand {
    Status,
    Connections,
    Slow {
        n: u32,
    },
    /// pg_dump of one database (the configured one when none).
    Backup {
        db: Option<String>,
    },
    /// pg_restore of a backup taken by `Backup`.
    Restore {
        backup: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedisCommand {
    Info {
        section: Option<String>,
    },
    Slowlog {
        n: u32,
    },
    Hitrate,
    /// A bounded MONITOR sample.
    Monitor {
        seconds: u32,
    },
    Flushdb {
        db: u8,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EsCommand {
    Health,
    Indices,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MilvusCommand {
    Health,
    Collections,
    Stats,
}

/// The runbook's troubleshooting sections (§4.1–§4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Playbook {
    PodCrash,
    ServiceComm,
    DbTimeout,
    VectorSearch,
    CachePenetration,
    RateLimit,
}

impl Playbook {
    pub const ALL: [Playbook; 6] = [
        Playbook::PodCrash,
        Playbook::ServiceComm,
        Playbook::DbTimeout,
        Playbook::VectorSearch,
        Playbook::CachePenetration,
        Playbook::RateLimit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Playbook::PodCrash => "pod-crash",
            Playbook::ServiceComm => "service-comm",
            Playbook::DbTimeout => "db-timeout",
            Playbook::VectorSearch => "vector-search",
            Playbook::CachePenetration => "cache-penetration",
            Playbook::RateLimit => "rate-limit",
        }
    }

    pub fn runbook(self) -> &'static str {
        match self {
            Playbook::PodCrash => "§4.1",
            Playbook::ServiceComm => "§4.2",
            Playbook::DbTimeout => "§4.3",
            Playbook::VectorSearch => "§4.4",
            Playbook::CachePenetration => "§4.5",
            Playbook::RateLimit => "§4.6",
        }
    }
}

/// One VirtualService subset weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weight {
    pub subset: String,
    pub weight: u8,
}

/// A parsed command. Service names are catalog names, already checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    Help {
        topic: Option<String>,
    },
    Health {
        scope: HealthScope,
    },
    Pods {
        service: String,
    },
    Describe {
        target: Target,
    },
    Events {
        service: Option<String>,
    },
    Logs {
        target: Target,
        previous: bool,
        container: Option<String>,
        tail: u32,
        #[serde(with = "secs_opt")]
        since: Option<Duration>,
    },
    Endpoints {
        service: String,
    },
    /// The service's health endpoint through the API server's service proxy.
    Probe {
        service: String,
    },
    /// Both versions of a blue/green pair: weights, subsets, ready pods.
    BluegreenStatus {
        service: String,
    },
    Netpol {
        namespace: Option<Namespace>,
    },
    Top {
        kind: TopKind,
    },
    Svc {
        namespace: Option<Namespace>,
    },
    Pvc {
        namespace: Option<Namespace>,
    },
    Nodes,
    Env {
        service: String,
        key: String,
    },
    RolloutStatus {
        service: String,
    },
    RolloutHistory {
        service: String,
    },
    Hpa {
        service: Option<String>,
    },
    /// Any of the bounds and the resource utilisation targets; at least one.
    HpaSet {
        service: String,
        min: Option<u32>,
        max: Option<u32>,
        #[serde(default)]
        cpu: Option<u32>,
        #[serde(default)]
        memory: Option<u32>,
    },
    HpaDisable {
        service: String,
    },
    ConfigGet {
        service: String,
        key: Option<String>,
    },
    ConfigSet {
        service: String,
        key: String,
        value: String,
        restart: bool,
    },
    Istio {
        namespace: Option<Namespace>,
    },
    Scale {
        service: String,
        replicas: u32,
    },
    /// Every catalog workload of one namespace to the same count.
    ScaleAll {
        namespace: Namespace,
        replicas: u32,
    },
    Stop {
        service: String,
    },
    Restart {
        service: String,
    },
    Rollback {
        service: String,
        to_revision: Option<u32>,
    },
    SetImage {
        service: String,
        container: String,
        image: String,
    },
    Traffic {
        service: String,
        weights: Vec<Weight>,
    },
    EnvoyFilterDelete {
        name: String,
    },
    /// The local rate limit's token bucket: size and refill, and the refill interval.
    EnvoyFilterSet {
        name: String,
        tokens: Option<u32>,
        fill_secs: Option<u64>,
    },
    Pg(PgCommand),
    Redis(RedisCommand),
    Es(EsCommand),
    Milvus(MilvusCommand),
    Nacos,
    NacosServices {
        group: String,
    },
    NacosConfig {
        data_id: String,
        group: String,
    },
    /// Rebuild a Milvus collection's index through indexing-service.
    Reindex {
        collection: String,
    },
    Prom {
        query: String,
        #[serde(with = "secs_opt")]
        since: Option<Duration>,
    },
    Diagnose {
        playbook: Playbook,
        service: Option<String>,
    },
    Links,
    Oncall,
    History {
        n: u32,
    },
    Timeline {
        #[serde(with = "secs_opt")]
        since: Option<Duration>,
    },
    Pending,
    IncidentStart {
        title: String,
    },
    IncidentEnd,
    Undo {
        invocation: InvocationId,
    },
    Approve {
        id: ApprovalId,
    },
    Deny {
        id: ApprovalId,
    },
    Cancel {
        id: ApprovalId,
    },
}

mod secs_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_secs))
    }
}

impl Command {
    /// The spec name (`rollout status`, `redis flushdb`, …): for logs, metrics and help.
    pub fn name(&self) -> &'static str {
        use Command::*;
        match self {
            Help { .. } => "help",
            Health { .. } => "health",
            Pods { .. } => "pods",
            Describe { .. } => "describe",
            Events { .. } => "events",
            Logs { .. } => "logs",
            Endpoints { .. } => "endpoints",
            Probe { .. } => "probe",
            BluegreenStatus { .. } => "bluegreen status",
            Netpol { .. } => "netpol",
            Top { .. } => "top",
            Svc { .. } => "svc",
            Pvc { .. } => "pvc",
            Nodes => "nodes",
            Env { .. } => "env",
            RolloutStatus { .. } => "rollout status",
            RolloutHistory { .. } => "rollout history",
            Hpa { .. } => "hpa",
            HpaSet { .. } => "hpa set",
            HpaDisable { .. } => "hpa disable",
            ConfigGet { .. } => "config get",
            ConfigSet { .. } => "config set",
            Istio { .. } => "istio",
            Scale { .. } => "scale",
            ScaleAll { .. } => "scale-all",
            Stop { .. } => "stop",
            Restart { .. } => "restart",
            Rollback { .. } => "rollback",
            SetImage { .. } => "set-image",
            Traffic { .. } => "traffic",
            EnvoyFilterDelete { .. } => "envoyfilter delete",
            EnvoyFilterSet { .. } => "envoyfilter set",
            Pg(PgCommand::Status) => "pg status",
            Pg(PgCommand::Connections) => "pg connections",
            Pg(PgCommand::Slow { .. }) => "pg slow",
            Pg(PgCommand::Backup { .. }) => "pg backup",
            Pg(PgCommand::Restore { .. }) => "pg restore",
            Redis(RedisCommand::Info { .. }) => "redis info",
            Redis(RedisCommand::Slowlog { .. }) => "redis slowlog",
            Redis(RedisCommand::Hitrate) => "redis hitrate",
            Redis(RedisCommand::Monitor { .. }) => "redis monitor",
            Redis(RedisCommand::Flushdb { .. }) => "redis flushdb",
            Es(EsCommand::Health) => "es health",
            Es(EsCommand::Indices) => "es indices",
            Milvus(MilvusCommand::Health) => "milvus health",
            Milvus(MilvusCommand::Collections) => "milvus collections",
            Milvus(MilvusCommand::Stats) => "milvus stats",
            Reindex { .. } => "reindex",
            Nacos => "nacos health",
            NacosServices { .. } => "nacos services",
            NacosConfig { .. } => "nacos config",
            Prom { .. } => "prom",
            Diagnose { .. } => "diagnose",
            Links => "links",
            Oncall => "oncall",
            History { .. } => "history",
            Timeline { .. } => "timeline",
            Pending => "pending",
            IncidentStart { .. } => "incident start",
            IncidentEnd => "incident end",
            Undo { .. } => "undo",
            Approve { .. } => "approve",
            Deny { .. } => "deny",
            Cancel { .. } => "cancel",
        }
    }

    pub fn spec(&self) -> &'static Spec {
        // Every name() is a SPECS entry: checked by `every_command_name_has_a_spec`.
        spec::spec(self.name()).unwrap_or(&SPECS[0])
    }

    /// The default risk class of this exact command (`scale … 0` is destructive).
    pub fn risk(&self) -> RiskClass {
        match self {
            Command::Scale { replicas: 0, .. } => RiskClass::Destructive,
            _ => self.spec().risk,
        }
    }

    /// The service this command acts on, if any.
    pub fn service(&self) -> Option<&str> {
        use Command::*;
        match self {
            Pods { service }
            | Endpoints { service }
            | Probe { service }
            | BluegreenStatus { service }
            | RolloutStatus { service }
            | RolloutHistory { service }
            | HpaSet { service, .. }
            | HpaDisable { service }
            | ConfigGet { service, .. }
            | ConfigSet { service, .. }
            | Scale { service, .. }
            | Stop { service }
            | Env { service, .. }
            | Restart { service }
            | Rollback { service, .. }
            | SetImage { service, .. }
            | Traffic { service, .. } => Some(service),
            Describe { target } | Logs { target, .. } => Some(target.service()),
            Events { service } | Hpa { service } | Diagnose { service, .. } => service.as_deref(),
            Health {
                scope: HealthScope::Service(s),
            } => Some(s),
            Pg(_) => Some("postgres"),
            Redis(_) => Some("redis"),
            Es(_) => Some("elasticsearch"),
            Milvus(_) => Some("milvus"),
            Nacos | NacosServices { .. } | NacosConfig { .. } => Some("nacos"),
            Reindex { .. } => Some("indexing-service"),
            _ => None,
        }
    }

    /// The dependency a dependency command reaches (`postgres`, `redis`, …).
    pub fn dependency(&self) -> Option<&'static str> {
        match self {
            Command::Pg(_) => Some("postgres"),
            Command::Redis(_) => Some("redis"),
            Command::Es(_) => Some("elasticsearch"),
            Command::Milvus(_) => Some("milvus"),
            Command::Nacos | Command::NacosServices { .. } | Command::NacosConfig { .. } => {
                Some("nacos")
            }
            _ => None,
        }
    }

    /// The namespaces this command touches: `None` for channel-scoped commands (help,
    /// history, votes…), which the channel's namespace list does not restrict.
    pub fn namespaces(&self, catalog: &Catalog) -> Option<Vec<Namespace>> {
        if let Some(dep) = self.dependency() {
            // Where the catalog runs that dependency (whatever its service is called);
            // the infra namespace when the catalog does not list it. Never unchecked.
            let ns = catalog
                .services
                .iter()
                .find(|s| s.dependency.as_deref() == Some(dep))
                .or_else(|| catalog.get(dep))
                .map(|s| s.namespace.clone())
                .unwrap_or_else(|| catalog.namespaces.infra.clone());
            return Some(vec![ns]);
        }
        if let Some(svc) = self.service() {
            // A service the catalog does not know touches no namespace it may: fail closed.
            return Some(
                catalog
                    .get(svc)
                    .map(|s| vec![s.namespace.clone()])
                    .unwrap_or_default(),
            );
        }
        match self {
            Command::Health {
                scope: HealthScope::Namespace(ns) | HealthScope::Mesh(ns),
            }
            | Command::Netpol {
                namespace: Some(ns),
            }
            | Command::Istio {
                namespace: Some(ns),
            }
            | Command::ScaleAll { namespace: ns, .. }
            | Command::Svc {
                namespace: Some(ns),
            }
            | Command::Pvc {
                namespace: Some(ns),
            } => Some(vec![ns.clone()]),
            Command::Health { .. }
            | Command::Netpol { .. }
            | Command::Istio { .. }
            | Command::Events { .. }
            | Command::Hpa { .. }
            | Command::Top { .. }
            | Command::Svc { .. }
            | Command::Pvc { .. }
            | Command::Nodes
            | Command::Diagnose { .. } => Some(catalog.all_namespaces()),
            Command::EnvoyFilterDelete { .. } | Command::EnvoyFilterSet { .. } => {
                Some(vec![catalog.namespaces.apps.clone()])
            }
            Command::Prom { .. } => Some(vec![catalog.namespaces.apps.clone()]),
            _ => None,
        }
    }
}

impl Command {
    /// The command as the history keeps it: a value typed for a secret-looking key
    /// (`config set agent-engine API_TOKEN=…`) is masked.
    pub fn for_record(&self) -> Command {
        match self {
            Command::ConfigSet {
                service,
                key,
                value: _,
                restart,
            } if crate::secret::secret_looking_key(key) => Command::ConfigSet {
                service: service.clone(),
                key: key.clone(),
                value: "[redacted]".into(),
                restart: *restart,
            },
            other => other.clone(),
        }
    }
}
