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

/// Kubernetes: plans writes against the current state and executes approved plans.
#[async_trait]
pub trait Cluster: Send + Sync {
    /// Plans a write command: reads the current state, dry-runs the change.
    async fn plan(&self, permit: &Permit, ctx: &PlanContext) -> Result<Plan, ExecError>;
    /// Runs a read or an approved write.
    async fn execute(&self, plan: &Approved) -> Result<Outcome, ExecError>;
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
