//! The plan, approve-request and execute stages: reads planned here, writes by their
//! executor against the current state; every execution recorded before and after.

use serde_json::json;
use tracing::{error, info};

use super::record::event;
use super::{Deps, Reply};
use crate::approval::{ApprovalRequest, Approved};
use crate::authz::{self, Permit};
use crate::error::PipelineError;
use crate::grammar::{Command, spec::Family};
use crate::message::{Message, Tone};
use crate::model::{Actor, ChannelRef, InvocationId};
use crate::plan::{Plan, RiskClass};
use crate::ports::PlanContext;
use crate::render::approval_card;
use crate::store::{EventKind, ExecutionRecord};

pub(crate) async fn open_request(
    deps: &Deps,
    req: ApprovalRequest,
) -> Result<Reply, PipelineError> {
    deps.store.insert_approval(&req).await?;
    deps.store
        .append(event(
            &req.invocation,
            &req.channel,
            Some(&req.requester),
            EventKind::ApprovalRequested,
            format!("{} needs {} approval(s): {}", req.id, req.rule.approvals, req.plan.summary),
            json!({"approval": req.id, "plan": req.plan.for_record(), "rule": req.rule, "expires_at": req.expires_at}),
        ))
        .await?;
    info!(approval = %req.id, "Approval requested");
    metrics::counter!("vabot_approvals_requested_total").increment(1);
    Ok(Reply {
        invocation: Some(req.invocation.clone()),
        opened: Some(req.id.clone()),
        messages: vec![approval_card(&req)],
        ..Reply::default()
    })
}

/// Reads are planned here; writes by their executor, against the current state.
pub(crate) async fn plan(deps: &Deps, permit: &Permit) -> Result<Plan, PipelineError> {
    let started = std::time::Instant::now();
    let result = plan_inner(deps, permit).await;
    metrics::histogram!("vabot_stage_duration_seconds", "stage" => "plan")
        .record(started.elapsed().as_secs_f64());
    result
}

pub(crate) async fn plan_inner(deps: &Deps, permit: &Permit) -> Result<Plan, PipelineError> {
    if permit.risk() == RiskClass::Read {
        return Ok(Plan::read(permit));
    }
    let family = permit.command().spec().family;
    let plan = match (family, permit.command()) {
        (_, Command::Undo { invocation }) => {
            let Some(original) = deps.store.execution(invocation).await? else {
                return Err(PipelineError::Precondition(format!(
                    "{invocation} made no recorded change to undo; `/va history` lists this channel's changes"
                )));
            };
            if original.succeeded != Some(true) {
                return Err(PipelineError::Precondition(format!(
                    "{invocation} did not complete, so there is nothing to undo"
                )));
            }
            let Some(made_in) = deps.store.invocation(invocation).await? else {
                return Err(PipelineError::Precondition(format!(
                    "the record of who ran {invocation}, and where, is missing; it cannot be undone from chat"
                )));
            };
            let risk = authz::authorize_undo(
                &deps.policy(),
                permit,
                &made_in.channel,
                invocation,
                &original.plan,
            )?;
            let ctx = PlanContext {
                undo_of: Some(original),
            };
            deps.cluster.plan(permit, &ctx).await?.escalate(risk)
        }
        (Family::Dependency, _) => deps.dependencies.plan(permit).await?,
        _ => deps.cluster.plan(permit, &PlanContext::default()).await?,
    };
    Ok(plan)
}

/// Runs an approved plan, recording its start before acting and its result after.
pub(crate) async fn execute(
    deps: &Deps,
    id: &InvocationId,
    channel: &ChannelRef,
    actor: &Actor,
    approved: Approved,
) -> Result<Message, PipelineError> {
    let plan = approved.plan().clone();
    let write = plan.risk > RiskClass::Read;
    let started_at = deps.clock.now();
    if write {
        deps.store
            .record_execution(&ExecutionRecord {
                invocation: id.clone(),
                approval: approved.approval().cloned(),
                plan: plan.clone(),
                started_at,
                finished_at: None,
                succeeded: None,
                summary: String::new(),
                before: None,
                after: None,
            })
            .await?;
        deps.store
            .append(event(
                id,
                channel,
                Some(actor),
                EventKind::ExecutionStarted,
                format!("executing: {}", plan.summary),
                json!({"approval": approved.approval()}),
            ))
            .await?;
        // Still ours? A replica whose heartbeat lapsed may have had its claim taken over
        // (recovery); then the other replica runs it, not this one.
        if let Some(a) = approved.approval()
            && let Some(now) = deps.store.approval(a).await?
            && now
                .claim
                .as_ref()
                .is_some_and(|c| c.replica != deps.replica)
        {
            return Err(PipelineError::Precondition(format!(
                "{a} was taken over by another vabot replica while this one was unresponsive; it runs there"
            )));
        }
    }
    let family = plan.command.spec().family;
    let exec_started = std::time::Instant::now();
    let result = match family {
        Family::Dependency => deps.dependencies.execute(&approved).await,
        _ => deps.cluster.execute(&approved).await,
    };
    metrics::histogram!("vabot_stage_duration_seconds", "stage" => "execute")
        .record(exec_started.elapsed().as_secs_f64());
    let finished = deps.clock.now();
    let finished_at = Some(finished);
    match result {
        Ok(outcome) => {
            let mut unrecorded = None;
            if write {
                let recorded = async {
                    deps.store
                        .record_execution(&ExecutionRecord {
                            invocation: id.clone(),
                            approval: approved.approval().cloned(),
                            plan: plan.clone(),
                            started_at,
                            finished_at,
                            succeeded: Some(true),
                            summary: outcome.summary.clone(),
                            before: outcome.before.clone(),
                            after: outcome.after.clone(),
                        })
                        .await?;
                    deps.store
                        .append(event(id, channel, Some(actor), EventKind::ExecutionFinished, outcome.summary.clone(), json!({"before": outcome.before, "after": outcome.after, "ms": (finished - started_at).num_milliseconds()})))
                        .await
                }
                .await;
                match recorded {
                    Ok(_) => info!(summary = %outcome.summary, "Execution finished"),
                    // The change is made: saying "nothing was changed" would be a lie. Say
                    // what happened, and that its record is missing (an operator must act).
                    Err(error) => {
                        error!(%error, summary = %outcome.summary, "Execution finished but its result could not be recorded");
                        unrecorded = Some(error);
                    }
                }
            }
            let mut message = outcome.message;
            if let Some(error) = unrecorded {
                message.tone = Tone::Warning;
                message = message.paragraph(format!(
                    "⚠️ The change above was made, but {}: its result is not in the history yet (it shows as started). Check the target before running anything again.",
                    error.to_string().trim_end_matches("; nothing was changed")
                ));
            } else if write {
                message = message.context(format!("{id} · undo with `/va undo {id}`"));
            }
            Ok(message)
        }
        Err(error) => {
            if write {
                deps.store
                    .record_execution(&ExecutionRecord {
                        invocation: id.clone(),
                        approval: approved.approval().cloned(),
                        plan,
                        started_at,
                        finished_at,
                        succeeded: Some(false),
                        summary: error.to_string(),
                        before: None,
                        after: None,
                    })
                    .await?;
            }
            Err(error.into())
        }
    }
}
