//! One error taxonomy for every outcome of the pipeline (poise's `FrameworkError` idea);
//! [`crate::render::render_error`] is the one place that turns it into a reply.

use crate::approval::VoteRefused;
use crate::authz::Denied;
use crate::grammar::ParseError;
use crate::model::ApprovalId;
use crate::ports::ExecError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The text is not a command (user mistake).
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The policy refused it (user/permission matter).
    #[error(transparent)]
    Denied(#[from] Denied),
    /// A vote or cancel that does not count.
    #[error(transparent)]
    Vote(#[from] VoteRefused),
    #[error("there is no approval request {0}; `/va pending` lists the open ones")]
    UnknownApproval(ApprovalId),
    #[error("{0}")]
    Precondition(String),
    /// Planning or execution failed.
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// The store failed: fail closed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PipelineError {
    /// Bounded label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            PipelineError::Parse(e) => e.metric_label(),
            PipelineError::Denied(d) => d.code,
            PipelineError::Vote(v) => v.code(),
            PipelineError::UnknownApproval(_) => "unknown_approval",
            PipelineError::Precondition(_) => "precondition",
            PipelineError::Exec(e) => e.metric_label(),
            PipelineError::Store(_) => "store",
        }
    }

    /// Whether the person who typed the command caused it (reply privately, don't log as error).
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            PipelineError::Parse(_)
                | PipelineError::Denied(_)
                | PipelineError::Vote(_)
                | PipelineError::UnknownApproval(_)
                | PipelineError::Precondition(_)
        )
    }
}
