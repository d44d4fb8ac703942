//! Work that outlives the process that started it: every replica sweeps, every few
//! seconds, for approval requests nobody is finishing, and takes each exactly once (every
//! step is a compare-and-set on the request's version).
//!
//! - A pending request past its expiry is expired, and its card says so.
//! - An approved request nobody claimed (the deciding replica died right after the vote)
//!   is claimed and executed here; the result goes into the card's thread.
//! - A request claimed by a replica whose heartbeat stopped is taken back: if that
//!   replica had not started executing (no execution record), the claim is released and
//!   the request executed here; if it had, nobody can know whether the change was made,
//!   so the request is closed as interrupted and the thread says to check the target.
//!
//! What each sweep did comes back as [`FollowUp`]s for the chat adapters to post.

use chrono::{DateTime, Utc};
use serde_json::json;
use tracing::{info, warn};

use crate::approval::{ApprovalRequest, ApprovalStatus};
use crate::error::PipelineError;
use crate::message::{Message, Tone};
use crate::pipeline::{Deps, Reply, event, finish, run_approved};
use crate::render::decided_card;
use crate::store::{EventKind, ExecutionRecord};

/// How often a replica records that it is alive.
pub const HEARTBEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
/// A replica not seen for this long is dead: its claims are taken over.
pub const DEAD_AFTER: std::time::Duration = std::time::Duration::from_secs(10);
/// How often a replica sweeps.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3);

/// What a sweep did to one request, to be posted where the request's card is.
#[derive(Debug)]
pub struct FollowUp {
    pub request: ApprovalRequest,
    pub reply: Reply,
}

/// When a replica counts as dead, as of `now`.
pub fn dead_before(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::from_std(DEAD_AFTER).unwrap_or_default()
}

/// One sweep; see the module documentation.
pub async fn sweep(deps: &Deps) -> Result<Vec<FollowUp>, PipelineError> {
    let mut out = Vec::new();
    let now = deps.clock.now();
    for req in deps.store.approvals(None, ApprovalStatus::Pending).await? {
        if req.status_at(now) == ApprovalStatus::Expired
            && let Some(expired) = expire(deps, &req).await?
        {
            let card = decided_card(
                &expired,
                &format!(
                    "Expired at {} without the approvals it needed; nothing was changed. Run the command again to ask anew.",
                    req.expires_at.format("%H:%M:%S UTC")
                ),
            );
            out.push(FollowUp {
                reply: Reply {
                    invocation: Some(req.invocation.clone()),
                    card_update: Some((req.id.clone(), card)),
                    ..Reply::default()
                },
                request: expired,
            });
        }
    }
    for req in deps.store.approvals(None, ApprovalStatus::Approved).await? {
        info!(approval = %req.id, "Resuming an approved request nobody executed");
        out.push(run(deps, req).await);
    }
    let dead = dead_before(now);
    for req in deps
        .store
        .approvals(None, ApprovalStatus::Executing)
        .await?
    {
        let Some(claim) = &req.claim else {
            // Claimed before claims named their replica: treat as interrupted once old.
            if now - req.created_at > chrono::Duration::minutes(30) {
                out.extend(interrupted(deps, &req, "an earlier vabot").await?);
            }
            continue;
        };
        if claim.replica == deps.replica {
            continue;
        }
        let seen = deps.store.last_seen(&claim.replica).await?;
        if seen.is_some_and(|s| s >= dead) {
            continue;
        }
        match deps.store.execution(&req.invocation).await? {
            // It had not started: release the claim, then claim and run it here.
            None => {
                let mut released = req.successor();
                released.status = ApprovalStatus::Approved;
                released.claim = None;
                if !deps.store.replace_approval(&released, &req).await? {
                    continue; // another replica took it back first
                }
                warn!(approval = %req.id, replica = %claim.replica, "Took back the claim of a replica that stopped before executing");
                deps.store
                    .append(event(
                        &req.invocation,
                        &req.channel,
                        None,
                        EventKind::ApprovalDecided,
                        format!(
                            "{} taken over from {}, which stopped before executing it",
                            req.id, claim.replica
                        ),
                        json!({"approval": req.id, "status": "approved", "released_from": claim.replica}),
                    ))
                    .await?;
                out.push(run(deps, released).await);
            }
            Some(rec) if rec.finished_at.is_none() => {
                out.extend(interrupted(deps, &req, claim.replica.as_str()).await?);
            }
            // It finished but the request was not closed: close it as its record says.
            Some(rec) => {
                let status = if rec.succeeded == Some(true) {
                    ApprovalStatus::Executed
                } else {
                    ApprovalStatus::Failed
                };
                let done = finish(deps, &req, status).await?;
                let card = decided_card(
                    &done,
                    if status == ApprovalStatus::Executed {
                        "Approved and executed."
                    } else {
                        "Approved; the execution failed."
                    },
                );
                out.push(FollowUp {
                    reply: Reply {
                        invocation: Some(req.invocation.clone()),
                        messages: vec![Message::text(
                            if status == ApprovalStatus::Executed {
                                Tone::Success
                            } else {
                                Tone::Danger
                            },
                            format!("{}: {}", req.id, rec.summary),
                        )],
                        card_update: Some((req.id.clone(), card)),
                        ..Reply::default()
                    },
                    request: done,
                });
            }
        }
    }
    Ok(out)
}

/// Claims and runs an approved request; its outcome (or why not) as a follow-up.
async fn run(deps: &Deps, req: ApprovalRequest) -> FollowUp {
    let id = req.invocation.clone();
    let reply = match run_approved(deps, &id, req.clone()).await {
        Ok(reply) => reply,
        Err(error) => Reply {
            invocation: Some(id.clone()),
            messages: vec![crate::render::render_error(&error, &id)],
            ..Reply::default()
        },
    };
    FollowUp {
        request: req,
        reply,
    }
}

/// Expires a pending request (once, whichever replica gets there first).
pub(crate) async fn expire(
    deps: &Deps,
    req: &ApprovalRequest,
) -> Result<Option<ApprovalRequest>, PipelineError> {
    let mut next = req.successor();
    next.status = ApprovalStatus::Expired;
    if !deps.store.replace_approval(&next, req).await? {
        return Ok(None);
    }
    metrics::counter!("vabot_approvals_decided_total", "status" => "expired").increment(1);
    deps.store
        .append(event(
            &req.invocation,
            &req.channel,
            None,
            EventKind::ApprovalDecided,
            format!("{} expired unapproved", req.id),
            json!({"approval": req.id, "status": "expired"}),
        ))
        .await?;
    Ok(Some(next))
}

/// Closes a request whose executor stopped mid-change: whether the change was made is
/// unknown, so it is never re-run blindly; the thread is told to check the target.
async fn interrupted(
    deps: &Deps,
    req: &ApprovalRequest,
    replica: &str,
) -> Result<Option<FollowUp>, PipelineError> {
    let mut next = req.successor();
    next.status = ApprovalStatus::Failed;
    if !deps.store.replace_approval(&next, req).await? {
        return Ok(None);
    }
    let why = format!(
        "{} was interrupted: {replica} stopped while executing it, before recording the result. The change may or may not have been made; check the target before asking again.",
        req.id
    );
    warn!(approval = %req.id, replica, "Execution interrupted by a replica that stopped");
    let now = deps.clock.now();
    let started = deps
        .store
        .execution(&req.invocation)
        .await?
        .map_or(now, |r| r.started_at);
    deps.store
        .record_execution(&ExecutionRecord {
            invocation: req.invocation.clone(),
            approval: Some(req.id.clone()),
            plan: req.plan.for_record(),
            started_at: started,
            finished_at: Some(now),
            succeeded: Some(false),
            summary: "interrupted: the replica executing it stopped".into(),
            before: None,
            after: None,
        })
        .await?;
    deps.store
        .append(event(
            &req.invocation,
            &req.channel,
            None,
            EventKind::ExecutionFailed,
            why.clone(),
            json!({"approval": req.id, "code": "interrupted", "replica": replica}),
        ))
        .await?;
    metrics::counter!("vabot_approvals_decided_total", "status" => "interrupted").increment(1);
    Ok(Some(FollowUp {
        reply: Reply {
            invocation: Some(req.invocation.clone()),
            messages: vec![Message::text(Tone::Warning, format!("⚠️ {why}"))],
            card_update: Some((
                req.id.clone(),
                decided_card(
                    &next,
                    "Interrupted: the change may or may not have been made.",
                ),
            )),
            ..Reply::default()
        },
        request: next,
    }))
}

#[cfg(test)]
#[path = "recovery_tests.rs"]
mod tests;
