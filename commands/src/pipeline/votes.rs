//! Votes (typed, by reaction or by button), cancelling, and running an approved request:
//! every step a compare-and-set on the request, so each counts once on any replica.

use serde_json::json;
use tracing::{Instrument, info, info_span};

use super::record::{event, kind_of};
use super::stages::{execute, open_request, plan};
use super::{Deps, InFlight, Reply};
use crate::approval::{self, ApprovalRequest, ApprovalStatus, Verdict, VoteEffect};
use crate::authz;
use crate::error::PipelineError;
use crate::message::{Message, Tone};
use crate::model::{Actor, ApprovalId, ChannelRef, InvocationId, new_short_id};
use crate::render::{approval_card, decided_card, render_error};
use crate::store::{EventKind, InvocationRecord, Recorded};

/// A vote cast by a reaction or a button (not typed as a command).
#[derive(Debug, Clone)]
pub struct VoteEvent {
    pub actor: Actor,
    pub channel: ChannelRef,
    pub approval: ApprovalId,
    pub verdict: Verdict,
    /// `reaction` or `button`.
    pub via: &'static str,
    /// The platform's delivery id, so a redelivered reaction or click counts once.
    pub delivery: crate::model::DeliveryId,
}

/// Handles a reaction or button vote end to end, recording it like any invocation.
pub async fn handle_vote(deps: &Deps, ev: VoteEvent) -> Reply {
    let _in_flight = InFlight::enter();
    let id = new_short_id('i');
    let span = info_span!("vote", request_id = %id, platform = %ev.channel.platform, actor = %ev.actor.user, approval = %ev.approval);
    async {
        let verb = match ev.verdict {
            Verdict::Approve => "approve",
            Verdict::Deny => "deny",
        };
        let rec = InvocationRecord {
            id: id.clone(),
            at: deps.clock.now(),
            actor: ev.actor.clone(),
            channel: ev.channel.clone(),
            text: format!("{verb} {} (by {})", ev.approval, ev.via),
            delivery: ev.delivery.clone(),
        };
        let result = async {
            if let Recorded::Duplicate(first) = deps.store.record_invocation(&rec).await? {
                return Ok(Reply {
                    invocation: Some(first),
                    duplicate: true,
                    ..Reply::default()
                });
            }
            vote(
                deps,
                &id,
                &ev.actor,
                &ev.channel,
                &ev.approval,
                ev.verdict,
                ev.via,
            )
            .await
        }
        .await;
        match result {
            Ok(reply) => reply,
            Err(error) => {
                info!(error = %error, code = error.metric_label(), "Vote refused");
                let _ = deps
                    .store
                    .append(event(
                        &id,
                        &ev.channel,
                        Some(&ev.actor),
                        kind_of(&error),
                        error.to_string(),
                        json!({"code": error.metric_label(), "via": ev.via}),
                    ))
                    .await;
                Reply::one(&id, render_error(&error, &id))
            }
        }
    }
    .instrument(span)
    .await
}

/// A vote by command, reaction or button. Refusals say why.
pub async fn vote(
    deps: &Deps,
    id: &InvocationId,
    voter: &Actor,
    channel: &ChannelRef,
    approval_id: &ApprovalId,
    verdict: Verdict,
    via: &str,
) -> Result<Reply, PipelineError> {
    let policy = deps.policy();
    // Concurrent votes race on the compare-and-set; a loser re-reads and tries again.
    for _ in 0..5 {
        let Some(req) = deps.store.approval(approval_id).await? else {
            return Err(PipelineError::UnknownApproval(approval_id.clone()));
        };
        if req.channel.key() != channel.key() {
            return Err(PipelineError::Precondition(format!(
                "{approval_id} was requested in {}; vote there",
                req.channel.channel
            )));
        }
        let now = deps.clock.now();
        if req.status == ApprovalStatus::Pending && req.status_at(now) == ApprovalStatus::Expired {
            crate::recovery::expire(deps, &req).await?;
        }
        let (next, effect) = approval::cast_vote(&policy, &req, voter, verdict, via, now)?;
        if !deps.store.replace_approval(&next, &req).await? {
            continue;
        }
        deps.store
            .append(event(
                id,
                channel,
                Some(voter),
                EventKind::Vote,
                format!(
                    "{} {} {}",
                    voter.user,
                    match verdict {
                        Verdict::Approve => "approved",
                        Verdict::Deny => "denied",
                    },
                    approval_id
                ),
                json!({"approval": approval_id, "verdict": verdict, "via": via}),
            ))
            .await?;
        info!(approval = %approval_id, verdict = ?verdict, via, "Vote counted");
        return match effect {
            VoteEffect::Counted { have, need } => Ok(Reply {
                invocation: Some(id.clone()),
                messages: vec![Message::text(
                    Tone::Info,
                    format!(
                        "{} approved {approval_id} ({have}/{need}); waiting for more approvals.",
                        voter.user
                    ),
                )],
                card_update: Some((approval_id.clone(), approval_card(&next))),
                ..Reply::default()
            }),
            VoteEffect::Denied => {
                deps.store
                    .append(event(
                        &next.invocation,
                        channel,
                        Some(voter),
                        EventKind::ApprovalDecided,
                        format!("{approval_id} denied by {}", voter.user),
                        json!({"approval": approval_id, "status": "denied"}),
                    ))
                    .await?;
                Ok(Reply {
                    invocation: Some(id.clone()),
                    messages: vec![Message::text(
                        Tone::Danger,
                        format!("{} denied {approval_id}; nothing was changed.", voter.user),
                    )],
                    card_update: Some((
                        approval_id.clone(),
                        decided_card(&next, "Denied; nothing was changed."),
                    )),
                    ..Reply::default()
                })
            }
            VoteEffect::Approved => {
                deps.store
                    .append(event(
                        &next.invocation,
                        channel,
                        Some(voter),
                        EventKind::ApprovalDecided,
                        format!("{approval_id} approved"),
                        json!({"approval": approval_id, "status": "approved"}),
                    ))
                    .await?;
                run_approved(deps, id, next).await
            }
        };
    }
    Err(PipelineError::Precondition(format!(
        "{approval_id} is being voted on by several people at once; try again"
    )))
}

/// Claims an approved request (exactly one caller wins), re-plans, executes.
pub async fn run_approved(
    deps: &Deps,
    id: &InvocationId,
    req: ApprovalRequest,
) -> Result<Reply, PipelineError> {
    let mut claimed = req.successor();
    claimed.status = ApprovalStatus::Executing;
    claimed.claim = Some(crate::approval::Claim {
        replica: deps.replica.clone(),
        at: deps.clock.now(),
    });
    if !deps.store.replace_approval(&claimed, &req).await? {
        return Ok(Reply::one(
            id,
            Message::text(Tone::Info, format!("{} is already being executed.", req.id)),
        ));
    }
    // The approval binds to the plan approvers saw: re-authorize the requester under the
    // current policy and re-plan; if the target moved, ask again.
    let policy = deps.policy();
    let fresh = async {
        let permit = authz::authorize(
            &policy,
            &deps.catalog,
            &req.requester,
            &req.channel,
            &req.plan.command,
        )?;
        plan(deps, &permit).await
    }
    .await;
    let fresh = match fresh {
        Ok(p) => p,
        Err(e) => {
            finish(deps, &claimed, ApprovalStatus::Failed).await?;
            return Err(e);
        }
    };
    if !fresh.same_change_as(&req.plan) {
        finish(deps, &claimed, ApprovalStatus::Superseded).await?;
        let again = ApprovalRequest::new(
            new_short_id('a'),
            req.invocation.clone(),
            req.channel.clone(),
            req.requester.clone(),
            fresh,
            req.rule.clone(),
            deps.clock.now(),
        );
        let mut reply = open_request(deps, again).await?;
        reply.messages.insert(0, Message::text(Tone::Warning, format!("The target changed after {} was requested; here is the new plan, approve it again.", req.id)));
        reply.card_update = Some((
            req.id.clone(),
            decided_card(
                &claimed,
                "Superseded: the target changed; see the new request.",
            ),
        ));
        return Ok(reply);
    }
    let Some(approved) = claimed.approved_plan() else {
        finish(deps, &claimed, ApprovalStatus::Failed).await?;
        return Err(PipelineError::Precondition(format!(
            "{} lacks the approvals it needs",
            req.id
        )));
    };
    let result = execute(
        deps,
        &req.invocation,
        &req.channel,
        &req.requester,
        approved,
    )
    .await;
    let status = if result.is_ok() {
        ApprovalStatus::Executed
    } else {
        ApprovalStatus::Failed
    };
    metrics::counter!("vabot_approvals_decided_total", "status" => status.as_str()).increment(1);
    let done = finish(deps, &claimed, status).await?;
    let message = result?;
    Ok(Reply {
        invocation: Some(id.clone()),
        messages: vec![message],
        card_update: Some((
            req.id.clone(),
            decided_card(&done, "Approved and executed."),
        )),
        ..Reply::default()
    })
}

pub(crate) async fn finish(
    deps: &Deps,
    claimed: &ApprovalRequest,
    status: ApprovalStatus,
) -> Result<ApprovalRequest, PipelineError> {
    let mut done = claimed.successor();
    done.status = status;
    deps.store.replace_approval(&done, claimed).await?;
    Ok(done)
}

pub(crate) async fn cancel(
    deps: &Deps,
    id: &InvocationId,
    actor: &Actor,
    approval_id: &ApprovalId,
) -> Result<Reply, PipelineError> {
    let Some(req) = deps.store.approval(approval_id).await? else {
        return Err(PipelineError::UnknownApproval(approval_id.clone()));
    };
    let next = approval::cancel(&req, actor, deps.clock.now())?;
    if !deps.store.replace_approval(&next, &req).await? {
        return Err(PipelineError::Precondition(format!(
            "{approval_id} changed while cancelling; check `/va pending`"
        )));
    }
    deps.store
        .append(event(
            id,
            &req.channel,
            Some(actor),
            EventKind::ApprovalDecided,
            format!("{approval_id} cancelled by {}", actor.user),
            json!({"approval": approval_id, "status": "cancelled"}),
        ))
        .await?;
    Ok(Reply {
        invocation: Some(id.clone()),
        messages: vec![Message::text(
            Tone::Info,
            format!("{approval_id} cancelled; nothing was changed."),
        )],
        card_update: Some((
            approval_id.clone(),
            decided_card(&next, "Cancelled by the requester."),
        )),
        ..Reply::default()
    })
}
