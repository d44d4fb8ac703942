//! The small traits through which the core reaches the world.
//!
//! Implementations: the kube-rs cluster and the dependency clients (executors), the sqlx
//! store, and each platform adapter's chat client. Tests use in-memory fakes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::approval::Approved;
use crate::authz::Permit;
use crate::message::Message;
use crate::plan::Plan;
use crate::store::ExecutionRecord;

/// What an execution produced: the reply, and the state before and after for the audit
/// record and `undo`.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub message: Message,
    /// One line for history and the timeline.
    pub summary: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl Outcome {
    pub fn reply(message: Message, summary: impl Into<String>) -> Self {
        Self {
            message,
            summary: summary.into(),
            before: None,
            after: None,
        }
    }
}

/// Why an execution (or its planning) failed, shaped by what the user can do about it.
/// The `detail` fields are for logs only: they may hold library errors and are never
/// shown in a channel.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("no {what} is configured for this bot, so `{command}` cannot run here")]
    NotConfigured {
        what: &'static str,
        command: &'static str,
    },
    #[error("{what} was not found")]
    NotFound { what: String },
    #[error("{what}")]
    Forbidden { what: String },
    #[error("{what} changed while vabot was acting on it; run the command again")]
    Conflict { what: String },
    #[error("{what} is not reachable right now")]
    Unavailable { what: String, detail: String },
    #[error("{what} did not answer within {secs} s")]
    Timeout { what: String, secs: u64 },
    #[error("{why}")]
    Precondition { why: String },
    #[error("internal error")]
    Internal { detail: String },
}

impl ExecError {
    pub fn metric_label(&self) -> &'static str {
        match self {
            ExecError::NotConfigured { .. } => "not_configured",
            ExecError::NotFound { .. } => "not_found",
            ExecError::Forbidden { .. } => "forbidden",
            ExecError::Conflict { .. } => "conflict",
            ExecError::Unavailable { .. } => "unavailable",
            ExecError::Timeout { .. } => "timeout",
            ExecError::Precondition { .. } => "precondition",
            ExecError::Internal { .. } => "internal",
        }
    }

    /// The log-only detail, if any.
    pub fn detail(&self) -> Option<&str> {
        match self {
            ExecError::Unavailable { detail, .. } | ExecError::Internal { detail } => Some(detail),
            _ => None,
        }
    }
}

/// Extra inputs some plans need.
#[derive(Debug, Clone, Default)]
pub struct PlanContext {
    /// For `undo`: the execution being undone.
    pub undo_of: Option<ExecutionRecord>,
}

/// One pod as `health` and the diagnose playbooks see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodState {
    pub namespace: String,
    pub name: String,
    /// The catalog service it belongs to (its `app` label), if any.
    pub service: Option<String>,
    pub phase: String,
    pub ready: bool,
    /// Why it is not ready: CrashLoopBackOff, ImagePullBackOff, OOMKilled, Pending, …
    pub reason: Option<String>,
    pub restarts: u32,
    pub node: Option<String>,
}

/// A Deployment or StatefulSet's replica counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadState {
    pub namespace: String,
    pub name: String,
    pub kind: String,
    pub desired: u32,
    pub ready: u32,
}

/// A Service's endpoint addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointState {
    pub namespace: String,
    pub service: String,
    pub ready: u32,
    pub not_ready: u32,
}

/// A recent Warning event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarningEvent {
    pub namespace: String,
    pub object: String,
    pub reason: String,
    pub message: String,
    pub count: u32,
}

/// What the watch caches know about some namespaces, without an API request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSnapshot {
    pub workloads: Vec<WorkloadState>,
    pub pods: Vec<PodState>,
    pub endpoints: Vec<EndpointState>,
    /// `namespace/name` of PVCs not Bound.
    pub pending_pvcs: Vec<String>,
    pub warnings: Vec<WarningEvent>,
    /// `namespace/name` of EnvoyFilters.
    pub envoy_filters: Vec<String>,
    /// Seconds since the caches last heard from the API server.
    pub cache_age_secs: u64,
}

/// Kubernetes: plans writes against the current state and executes approved plans.
#[async_trait]
pub trait Cluster: Send + Sync {
    /// Structured state of the given namespaces (from watch caches where available);
    /// used by `health` and the diagnose playbooks.
    async fn snapshot(
        &self,
        namespaces: &[crate::model::Namespace],
    ) -> Result<ClusterSnapshot, ExecError>;
    /// Plans a write command: reads the current state, dry-runs the change.
    async fn plan(&self, permit: &Permit, ctx: &PlanContext) -> Result<Plan, ExecError>;
    /// Runs a read or an approved write.
    async fn execute(&self, plan: &Approved) -> Result<Outcome, ExecError>;
    /// Whether the watch caches have completed their first list (`/readyz`). A cluster
    /// without caches is always synced.
    fn caches_synced(&self) -> bool {
        true
    }
    /// Seconds since a failing watch last heard from the API server (0 while all are
    /// live); `None` for a cluster without caches.
    fn cache_stale_secs(&self) -> Option<u64> {
        None
    }
}

/// PostgreSQL, Redis, Elasticsearch, Milvus, Nacos, Prometheus.
#[async_trait]
pub trait Dependencies: Send + Sync {
    async fn plan(&self, permit: &Permit) -> Result<Plan, ExecError>;
    async fn execute(&self, plan: &Approved) -> Result<Outcome, ExecError>;
}

/// An executor for when nothing is configured: every command gets a clear reply.
#[derive(Debug, Default, Clone, Copy)]
pub struct Unconfigured;

#[async_trait]
impl Cluster for Unconfigured {
    async fn snapshot(&self, _: &[crate::model::Namespace]) -> Result<ClusterSnapshot, ExecError> {
        Err(ExecError::NotConfigured {
            what: "Kubernetes cluster",
            command: "health",
        })
    }
    async fn plan(&self, permit: &Permit, _: &PlanContext) -> Result<Plan, ExecError> {
        Err(ExecError::NotConfigured {
            what: "Kubernetes cluster",
            command: permit.command().name(),
        })
    }
    async fn execute(&self, plan: &Approved) -> Result<Outcome, ExecError> {
        Err(ExecError::NotConfigured {
            what: "Kubernetes cluster",
            command: plan.plan().command.name(),
        })
    }
}

#[async_trait]
impl Dependencies for Unconfigured {
    async fn plan(&self, permit: &Permit) -> Result<Plan, ExecError> {
        Err(ExecError::NotConfigured {
            what: "dependency endpoint",
            command: permit.command().name(),
        })
    }
    async fn execute(&self, plan: &Approved) -> Result<Outcome, ExecError> {
        Err(ExecError::NotConfigured {
            what: "dependency endpoint",
            command: plan.plan().command.name(),
        })
    }
}

/// A chat platform's outbound side, for what the bot posts on its own rather than in
/// answer to a delivery: the result of an approval a sweep executed, an expired card.
#[async_trait]
pub trait Chat: Send + Sync {
    /// Posts `messages` into the thread of the request's approval card (where the
    /// request was made if no card is known), and puts `card` in the card's place.
    async fn follow_up(
        &self,
        request: &crate::approval::ApprovalRequest,
        messages: &[Message],
        card: Option<&Message>,
    );
}

/// The time, injectable so approval expiry can be tested.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A message the bot posted, as the platform identifies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedRef {
    pub channel: String,
    /// Slack `ts`, Discord message id.
    pub message: String,
}
