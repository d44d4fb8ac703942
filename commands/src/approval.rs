//! Four-eyes approvals: who must approve a plan, and how votes move a request.
//!
//! Pure functions over values; the store persists them, the pipeline sequences them.
//! [`Approved`] is the only way to hand a plan to an executor, and this module is the
//! only place one is made.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{ApprovalRule, Policy};
use crate::model::{Actor, ApprovalId, ChannelRef, InvocationId};
use crate::plan::Plan;

/// A plan that may be executed: it needed no approval, or got every approval it needed.
#[derive(Debug, Clone)]
pub struct Approved {
    plan: Plan,
    /// The approval request it passed, if any.
    approval: Option<ApprovalId>,
}

impl Approved {
    pub fn plan(&self) -> &Plan {
        &self.plan
    }
    pub fn approval(&self) -> Option<&ApprovalId> {
        self.approval.as_ref()
    }
}

/// What the approval stage decided for a plan.
#[derive(Debug, Clone)]
pub enum Decision {
    Proceed(Approved),
    /// The plan must be approved under this rule first.
    NeedsApproval {
        rule: ApprovalRule,
        plan: Plan,
    },
}

/// Decides whether a plan may run now.
pub fn decide(policy: &Policy, plan: Plan, namespaces: &[crate::model::Namespace]) -> Decision {
    match policy.approval_rule(plan.risk, plan.command.name(), namespaces) {
        None => Decision::Proceed(Approved {
            plan,
            approval: None,
        }),
        Some(rule) => Decision::NeedsApproval { rule, plan },
    }
}

/// Where an approval request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    Pending,
    /// Enough approvals; waiting to be claimed for execution.
    Approved,
    Denied,
    Cancelled,
    Expired,
    /// Claimed by one replica; executing (or interrupted while executing).
    Executing,
    Executed,
    Failed,
    /// The target changed before execution; a new request replaced this one.
    Superseded,
}

impl ApprovalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Denied => "denied",
            ApprovalStatus::Cancelled => "cancelled",
            ApprovalStatus::Expired => "expired",
            ApprovalStatus::Executing => "executing",
            ApprovalStatus::Executed => "executed",
            ApprovalStatus::Failed => "failed",
            ApprovalStatus::Superseded => "superseded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Approved,
            Self::Denied,
            Self::Cancelled,
            Self::Expired,
            Self::Executing,
            Self::Executed,
            Self::Failed,
            Self::Superseded,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approve,
    Deny,
}

/// One counted vote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    pub voter: Actor,
    pub verdict: Verdict,
    pub at: DateTime<Utc>,
    /// How it was cast: `command`, `reaction`, `button`.
    pub via: String,
}

/// A request for approval, bound to the exact plan approvers saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub id: ApprovalId,
    pub invocation: InvocationId,
    pub channel: ChannelRef,
    pub requester: Actor,
    pub plan: Plan,
    pub rule: ApprovalRule,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub status: ApprovalStatus,
    pub votes: Vec<Vote>,
    /// Bumped by every stored change: the store's compare-and-set key.
    #[serde(default)]
    pub version: u64,
    /// Who is executing it (set when claimed), so another replica can take over from
    /// one that died.
    #[serde(default)]
    pub claim: Option<Claim>,
}

/// A replica's claim on executing a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub replica: crate::model::ReplicaId,
    pub at: DateTime<Utc>,
}

impl ApprovalRequest {
    pub fn new(
        id: ApprovalId,
        invocation: InvocationId,
        channel: ChannelRef,
        requester: Actor,
        plan: Plan,
        rule: ApprovalRule,
        now: DateTime<Utc>,
    ) -> Self {
        let ttl = chrono::Duration::from_std(rule.expiry).unwrap_or(chrono::Duration::minutes(15));
        Self {
            id,
            invocation,
            channel,
            requester,
            plan,
            rule,
            created_at: now,
            expires_at: now + ttl,
            status: ApprovalStatus::Pending,
            votes: Vec::new(),
            version: 0,
            claim: None,
        }
    }

    /// The request as it will be after one more stored change (the version the store's
    /// compare-and-set expects of a replacement).
    pub fn successor(&self) -> Self {
        let mut next = self.clone();
        next.version = self.version + 1;
        next
    }

    pub fn approvals(&self) -> usize {
        self.votes
            .iter()
            .filter(|v| v.verdict == Verdict::Approve)
            .count()
    }

    /// The status as of `now` (a pending request past its expiry is expired).
    pub fn status_at(&self, now: DateTime<Utc>) -> ApprovalStatus {
        if self.status == ApprovalStatus::Pending && now >= self.expires_at {
            ApprovalStatus::Expired
        } else {
            self.status
        }
    }

    /// Turns an approved request into an executable plan.
    pub fn approved_plan(&self) -> Option<Approved> {
        matches!(
            self.status,
            ApprovalStatus::Approved | ApprovalStatus::Executing
        )
        .then(|| self.approvals() >= self.rule.approvals as usize)
        .filter(|ok| *ok)
        .map(|_| Approved {
            plan: self.plan.clone(),
            approval: Some(self.id.clone()),
        })
    }
}

/// Why a vote does not count. Each reads as the reply to the voter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoteRefused {
    #[error("you asked for {0}; someone else has to approve it (four-eyes)")]
    Requester(ApprovalId),
    #[error("approving {id} needs one of these roles: {roles}; you have {yours}")]
    NotApprover {
        id: ApprovalId,
        roles: String,
        yours: String,
    },
    #[error("{0} expired at {1}; ask again with the original command")]
    Expired(ApprovalId, String),
    #[error("{0} is already {1}")]
    Closed(ApprovalId, &'static str),
    #[error("you already approved {0}; it needs approvals from {1} more people")]
    AlreadyVoted(ApprovalId, usize),
    #[error("only the requester can cancel {0}")]
    NotRequester(ApprovalId),
}

impl VoteRefused {
    pub fn code(&self) -> &'static str {
        match self {
            VoteRefused::Requester(_) => "requester",
            VoteRefused::NotApprover { .. } => "not_approver",
            VoteRefused::Expired(..) => "expired",
            VoteRefused::Closed(..) => "closed",
            VoteRefused::AlreadyVoted(..) => "already_voted",
            VoteRefused::NotRequester(_) => "not_requester",
        }
    }
}

/// What a counted vote did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoteEffect {
    /// Counted; more approvals are needed.
    Counted {
        have: usize,
        need: usize,
    },
    /// This vote completed the approvals.
    Approved,
    Denied,
}

/// Applies one vote to a request (pure: returns the new request).
pub fn cast_vote(
    policy: &Policy,
    req: &ApprovalRequest,
    voter: &Actor,
    verdict: Verdict,
    via: &str,
    now: DateTime<Utc>,
) -> Result<(ApprovalRequest, VoteEffect), VoteRefused> {
    match req.status_at(now) {
        ApprovalStatus::Pending => {}
        ApprovalStatus::Expired => {
            return Err(VoteRefused::Expired(
                req.id.clone(),
                req.expires_at.format("%H:%M:%S UTC").to_string(),
            ));
        }
        other => return Err(VoteRefused::Closed(req.id.clone(), other.as_str())),
    }
    let is_requester = voter.platform == req.requester.platform && voter.user == req.requester.user;
    if is_requester && req.rule.exclude_requester {
        return Err(VoteRefused::Requester(req.id.clone()));
    }
    if !crate::authz::may_approve(policy, voter, &req.rule.approvers) {
        let yours: Vec<String> = crate::authz::roles_of(policy, voter).into_iter().collect();
        return Err(VoteRefused::NotApprover {
            id: req.id.clone(),
            roles: req.rule.approvers.join(", "),
            yours: if yours.is_empty() {
                "no role".into()
            } else {
                yours.join(", ")
            },
        });
    }
    let need = req.rule.approvals as usize;
    if req
        .votes
        .iter()
        .any(|v| v.voter.platform == voter.platform && v.voter.user == voter.user)
    {
        return Err(VoteRefused::AlreadyVoted(
            req.id.clone(),
            need.saturating_sub(req.approvals()),
        ));
    }
    let mut next = req.successor();
    next.votes.push(Vote {
        voter: voter.clone(),
        verdict,
        at: now,
        via: via.to_owned(),
    });
    let effect = match verdict {
        Verdict::Deny => {
            next.status = ApprovalStatus::Denied;
            VoteEffect::Denied
        }
        Verdict::Approve if next.approvals() >= need => {
            next.status = ApprovalStatus::Approved;
            VoteEffect::Approved
        }
        Verdict::Approve => VoteEffect::Counted {
            have: next.approvals(),
            need,
        },
    };
    Ok((next, effect))
}

/// Cancelling: only the requester, only while pending.
pub fn cancel(
    req: &ApprovalRequest,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<ApprovalRequest, VoteRefused> {
    match req.status_at(now) {
        ApprovalStatus::Pending => {}
        ApprovalStatus::Expired => {
            return Err(VoteRefused::Expired(
                req.id.clone(),
                req.expires_at.format("%H:%M:%S UTC").to_string(),
            ));
        }
        other => return Err(VoteRefused::Closed(req.id.clone(), other.as_str())),
    }
    if actor.platform != req.requester.platform || actor.user != req.requester.user {
        return Err(VoteRefused::NotRequester(req.id.clone()));
    }
    let mut next = req.successor();
    next.status = ApprovalStatus::Cancelled;
    Ok(next)
}
