//! `handle(&Deps, Invocation) → Reply`: the only place the stages are chained.
//!
//! parse → authorize → plan → approve → execute → render. Each decision is appended to
//! the store *before* the next stage acts on it; a store failure stops the invocation
//! (fail closed).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use chrono::Utc;
use serde_json::json;
use tracing::{Instrument, error, info, info_span, warn};

use crate::approval::{
    self, ApprovalRequest, ApprovalStatus, Approved, Decision, Verdict, VoteEffect,
};
use crate::authz::{self, Permit};
use crate::catalog::Catalog;
use crate::config::{Directory, Policy};
use crate::error::PipelineError;
use crate::grammar::{self, Command, spec::Family};
use crate::message::{Message, Tone, render_table};
use crate::model::{Actor, ApprovalId, ChannelRef, Invocation, InvocationId, new_short_id};
use crate::plan::{Plan, RiskClass};
use crate::ports::{Clock, Cluster, Dependencies, PlanContext};
use crate::render::{approval_card, decided_card, plan_fields, render_error};
use crate::store::{EventKind, ExecutionRecord, InvocationRecord, NewEvent, Recorded, Store};

/// Everything the pipeline needs, injected.
#[derive(Clone)]
pub struct Deps {
    pub catalog: Arc<Catalog>,
    /// Swapped whole on reload; readers take a cheap clone of the `Arc`.
    pub policy: Arc<RwLock<Arc<Policy>>>,
    pub directory: Arc<Directory>,
    pub cluster: Arc<dyn Cluster>,
    pub dependencies: Arc<dyn Dependencies>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// This process, as claims and heartbeats name it.
    pub replica: crate::model::ReplicaId,
}

impl Deps {
    pub fn policy(&self) -> Arc<Policy> {
        match self.policy.read() {
            Ok(p) => p.clone(),
            // A writer panicked mid-swap; the old value is still a whole policy.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// What to post back.
#[derive(Debug, Default)]
pub struct Reply {
    pub invocation: Option<InvocationId>,
    pub messages: Vec<Message>,
    /// An approval request this reply opened (its card is among `messages`).
    pub opened: Option<ApprovalId>,
    /// An approval request whose card should be updated in place, with its new card.
    pub card_update: Option<(ApprovalId, Message)>,
    /// The platform delivered this before; nothing was done.
    pub duplicate: bool,
}

impl Reply {
    fn one(invocation: &InvocationId, message: Message) -> Self {
        Self {
            invocation: Some(invocation.clone()),
            messages: vec![message],
            ..Self::default()
        }
    }
}

/// Invocations and votes being handled by this process right now.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// How many invocations and votes this process is handling right now: a graceful
/// shutdown waits for them to finish.
pub fn in_flight() -> usize {
    IN_FLIGHT.load(Ordering::SeqCst)
}

/// Counts one invocation as in flight for as long as it lives.
struct InFlight;

impl InFlight {
    fn enter() -> Self {
        IN_FLIGHT.fetch_add(1, Ordering::SeqCst);
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Handles one invocation end to end. Never panics on user input; every outcome is a reply.
pub async fn handle(deps: &Deps, inv: Invocation) -> Reply {
    let _in_flight = InFlight::enter();
    let id = new_short_id('i');
    let span = info_span!("invocation", request_id = %id, platform = %inv.channel.platform, actor = %inv.actor.user, command = tracing::field::Empty);
    async {
        let started = std::time::Instant::now();
        let result = run(deps, &id, &inv).await;
        record_metrics(deps, &inv, &result, started);
        if let Ok(reply) = &result
            && !reply.duplicate
        {
            keep_charts(deps, &id, &inv, reply).await;
        }
        match result {
            Ok(reply) => reply,
            Err(error) => {
                if error.is_user_error() {
                    info!(error = %error, code = error.metric_label(), "Invocation refused");
                } else {
                    warn!(error = %error, detail = ?exec_detail(&error), code = error.metric_label(), "Invocation failed");
                }
                let _ = deps
                    .store
                    .append(event(&id, &inv.channel, Some(&inv.actor), kind_of(&error), error.to_string(), json!({"code": error.metric_label()})))
                    .await;
                Reply::one(&id, render_error(&error, &id))
            }
        }
    }
    .instrument(span)
    .await
}

/// Keeps every image a reply carries (a chart) by its SHA-256 and records it in the audit
/// log, so the review shows the charts people saw. A chart that cannot be kept is
/// logged, not fatal: the command's own record is already written.
async fn keep_charts(deps: &Deps, id: &InvocationId, inv: &Invocation, reply: &Reply) {
    use sha2::{Digest, Sha256};
    for a in reply
        .messages
        .iter()
        .flat_map(|m| &m.attachments)
        .filter(|a| a.mime.starts_with("image/") && !a.bytes.is_empty())
    {
        let sha256 = hex::encode(Sha256::digest(&a.bytes));
        let kept = async {
            deps.store.keep_file(&sha256, &a.mime, &a.bytes).await?;
            deps.store
                .append(event(
                    id,
                    &inv.channel,
                    Some(&inv.actor),
                    EventKind::ChartPosted,
                    format!(
                        "chart “{}” ({}, {:.1} KiB)",
                        a.title,
                        a.filename,
                        a.bytes.len() as f64 / 1024.0
                    ),
                    json!({"sha256": sha256, "filename": a.filename, "mime": a.mime, "title": a.title, "bytes": a.bytes.len()}),
                ))
                .await
        }
        .await;
        if let Err(e) = kept {
            warn!(error = %e, file = %a.filename, "Could not keep a posted chart");
        }
    }
}

/// Counts the invocation by command and outcome, and records its latency.
fn record_metrics(
    deps: &Deps,
    inv: &Invocation,
    result: &Result<Reply, PipelineError>,
    started: std::time::Instant,
) {
    let outcome = match result {
        Ok(r) if r.duplicate => "duplicate",
        Ok(r) if r.opened.is_some() => "needs_approval",
        Ok(_) => "ok",
        Err(e) => e.metric_label(),
    };
    // Re-parsing is cheap (microseconds) and keeps labels bounded to the command names.
    let command = grammar::parse(&inv.text, &deps.catalog)
        .map(|c| c.name())
        .unwrap_or("unparsed");
    let platform = inv.channel.platform.as_str();
    metrics::counter!("vabot_commands_total", "command" => command, "outcome" => outcome, "platform" => platform)
        .increment(1);
    metrics::histogram!("vabot_command_duration_seconds", "command" => command)
        .record(started.elapsed().as_secs_f64());
}

/// The command text without a leading `/va` (adapters differ in whether they strip it).
fn command_text(text: &str) -> &str {
    let t = text.trim();
    t.strip_prefix("/va ")
        .or_else(|| t.strip_prefix("@va "))
        .map(str::trim_start)
        .unwrap_or(t)
}

fn exec_detail(e: &PipelineError) -> Option<&str> {
    match e {
        PipelineError::Exec(x) => x.detail(),
        _ => None,
    }
}

fn kind_of(e: &PipelineError) -> EventKind {
    match e {
        PipelineError::Parse(_)
        | PipelineError::UnknownApproval(_)
        | PipelineError::Precondition(_) => EventKind::Rejected,
        PipelineError::Denied(_) => EventKind::Denied,
        PipelineError::Vote(_) => EventKind::VoteRefused,
        PipelineError::Exec(_) | PipelineError::Store(_) => EventKind::ExecutionFailed,
    }
}

pub(crate) fn event(
    id: &InvocationId,
    channel: &ChannelRef,
    actor: Option<&Actor>,
    kind: EventKind,
    summary: String,
    data: serde_json::Value,
) -> NewEvent {
    NewEvent {
        invocation: Some(id.clone()),
        channel: channel.clone(),
        actor: actor.cloned(),
        kind,
        summary,
        data,
    }
}

async fn run(deps: &Deps, id: &InvocationId, inv: &Invocation) -> Result<Reply, PipelineError> {
    let now = deps.clock.now();
    let rec = InvocationRecord {
        id: id.clone(),
        at: now,
        actor: inv.actor.clone(),
        channel: inv.channel.clone(),
        // The history never keeps a secret someone typed (`… API_TOKEN=…`).
        text: crate::secret::scrub(&inv.text),
        delivery: inv.delivery.clone(),
    };
    if let Recorded::Duplicate(first) = deps.store.record_invocation(&rec).await? {
        info!(first = %first, "Duplicate delivery ignored");
        return Ok(Reply {
            invocation: Some(first),
            duplicate: true,
            ..Reply::default()
        });
    }
    deps.store
        .append(event(
            id,
            &inv.channel,
            Some(&inv.actor),
            EventKind::Invocation,
            format!("/va {}", crate::secret::scrub(command_text(&inv.text))),
            json!({"delivery": inv.delivery}),
        ))
        .await?;

    let command = grammar::parse(&inv.text, &deps.catalog)?;
    tracing::Span::current().record("command", command.name());

    if let Command::Help { topic } = &command {
        let text = match topic {
            None => grammar::help_all(),
            Some(t) => grammar::help_topic(t).map_err(PipelineError::Precondition)?,
        };
        return Ok(Reply::one(id, Message::new(Tone::Info).code(text)));
    }

    let policy = deps.policy();
    let permit = authz::authorize(&policy, &deps.catalog, &inv.actor, &inv.channel, &command)?;
    info!(risk = %permit.risk(), "Request permitted");
    deps.store
        .append(event(
            id,
            &inv.channel,
            Some(&inv.actor),
            EventKind::Permitted,
            format!("{} permitted ({})", command.name(), permit.risk()),
            json!({"command": command.for_record(), "roles": permit.roles()}),
        ))
        .await?;

    match &command {
        Command::Approve { id: a } => {
            vote(
                deps,
                id,
                &inv.actor,
                &inv.channel,
                a,
                Verdict::Approve,
                "command",
            )
            .await
        }
        Command::Deny { id: a } => {
            vote(
                deps,
                id,
                &inv.actor,
                &inv.channel,
                a,
                Verdict::Deny,
                "command",
            )
            .await
        }
        Command::Cancel { id: a } => cancel(deps, id, &inv.actor, a).await,
        Command::Links => Ok(Reply::one(id, links(&deps.directory))),
        Command::Oncall => Ok(Reply::one(id, oncall(&deps.directory))),
        c if c.spec().family == Family::History => history(deps, id, inv, c).await,
        _ => plan_and_run(deps, id, permit, &policy).await,
    }
}

/// plan → approve → execute for a kube or dependency command.
async fn plan_and_run(
    deps: &Deps,
    id: &InvocationId,
    permit: Permit,
    policy: &Policy,
) -> Result<Reply, PipelineError> {
    let plan = plan(deps, &permit).await?;
    if plan.risk > RiskClass::Read {
        deps.store
            .append(event(
                id,
                permit.channel(),
                Some(permit.actor()),
                EventKind::Planned,
                plan.summary.clone(),
                json!({"plan": plan.for_record()}),
            ))
            .await?;
    }
    match approval::decide(policy, plan, permit.namespaces()) {
        Decision::Proceed(approved) => {
            let message = execute(deps, id, permit.channel(), permit.actor(), approved).await?;
            Ok(Reply::one(id, message))
        }
        Decision::NeedsApproval { rule, plan } => {
            let req = ApprovalRequest::new(
                new_short_id('a'),
                id.clone(),
                permit.channel().clone(),
                permit.actor().clone(),
                plan,
                rule,
                deps.clock.now(),
            );
            open_request(deps, req).await
        }
    }
}

async fn open_request(deps: &Deps, req: ApprovalRequest) -> Result<Reply, PipelineError> {
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
async fn plan(deps: &Deps, permit: &Permit) -> Result<Plan, PipelineError> {
    let started = std::time::Instant::now();
    let result = plan_inner(deps, permit).await;
    metrics::histogram!("vabot_stage_duration_seconds", "stage" => "plan")
        .record(started.elapsed().as_secs_f64());
    result
}

async fn plan_inner(deps: &Deps, permit: &Permit) -> Result<Plan, PipelineError> {
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
async fn execute(
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

async fn cancel(
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

fn links(dir: &Directory) -> Message {
    if dir.links.is_empty() {
        return Message::text(
            Tone::Info,
            "No dashboards are configured (set `directory.links` in the config).",
        );
    }
    Message::new(Tone::Info)
        .header("Dashboards")
        .fields(dir.links.iter().map(|(k, v)| (k.clone(), v.clone())))
}

fn oncall(dir: &Directory) -> Message {
    if dir.oncall.is_empty() {
        return Message::text(
            Tone::Info,
            "No on-call contacts are configured (set `directory.oncall` in the config).",
        );
    }
    Message::new(Tone::Info).header("On call").fields(
        dir.oncall
            .iter()
            .map(|c| (c.role.clone(), c.contact.clone())),
    )
}

/// history, timeline, pending, incident start/end: answered from the store.
async fn history(
    deps: &Deps,
    id: &InvocationId,
    inv: &Invocation,
    command: &Command,
) -> Result<Reply, PipelineError> {
    let key = inv.channel.key();
    let now = deps.clock.now();
    let message = match command {
        Command::History { n } => {
            let events = deps.store.events(Some(&key), None).await?;
            let mut rows: Vec<Vec<String>> = Vec::new();
            for e in events
                .iter()
                .filter(|e| e.kind == EventKind::Invocation && e.invocation.as_ref() != Some(id))
            {
                let last = events
                    .iter()
                    .rev()
                    .find(|x| x.invocation == e.invocation && x.kind != EventKind::Invocation);
                rows.push(vec![
                    e.invocation
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    e.at.format("%m-%d %H:%M:%S").to_string(),
                    e.actor
                        .as_ref()
                        .map(|a| a.user.to_string())
                        .unwrap_or_default(),
                    e.summary.clone(),
                    last.map(|l| l.kind.as_str().to_owned()).unwrap_or_default(),
                ]);
            }
            let skip = rows.len().saturating_sub(*n as usize);
            let rows: Vec<Vec<String>> = rows.into_iter().skip(skip).collect();
            if rows.is_empty() {
                Message::text(Tone::Info, "No commands in this channel yet.")
            } else {
                Message::new(Tone::Info)
                    .header(format!(
                        "Last {} commands in {}",
                        rows.len(),
                        inv.channel.channel
                    ))
                    .table(&["ID", "TIME", "WHO", "COMMAND", "LAST EVENT"], rows)
            }
        }
        Command::Timeline { since } => {
            let since_at = match since {
                Some(d) => Some(now - chrono::Duration::from_std(*d).unwrap_or_default()),
                None => incident_start(deps, &key).await?,
            };
            let events = deps.store.events(Some(&key), since_at).await?;
            let rows: Vec<Vec<String>> = events
                .iter()
                .filter(|e| e.invocation.as_ref() != Some(id))
                .filter(|e| !matches!(e.kind, EventKind::Permitted))
                .map(|e| {
                    vec![
                        e.at.format("%H:%M:%S").to_string(),
                        e.invocation
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                        e.actor
                            .as_ref()
                            .map(|a| a.user.to_string())
                            .unwrap_or_else(|| "vabot".into()),
                        e.kind.as_str().to_owned(),
                        e.summary.clone(),
                    ]
                })
                .collect();
            if rows.is_empty() {
                Message::text(
                    Tone::Info,
                    "Nothing in this channel's timeline for that window.",
                )
            } else {
                Message::new(Tone::Info)
                    .header(format!("Timeline of {}", inv.channel.channel))
                    .code(render_table(
                        &["TIME", "ID", "WHO", "EVENT", "SUMMARY"].map(String::from),
                        &rows,
                    ))
            }
        }
        Command::Pending => {
            let reqs = deps
                .store
                .approvals(Some(&key), ApprovalStatus::Pending)
                .await?;
            let open: Vec<&ApprovalRequest> = reqs
                .iter()
                .filter(|r| r.status_at(now) == ApprovalStatus::Pending)
                .collect();
            if open.is_empty() {
                Message::text(Tone::Info, "No approvals are pending in this channel.")
            } else {
                let rows = open
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.to_string(),
                            r.requester.user.to_string(),
                            r.plan.summary.clone(),
                            format!("{}/{}", r.approvals(), r.rule.approvals),
                            r.expires_at.format("%H:%M:%S UTC").to_string(),
                        ]
                    })
                    .collect();
                Message::new(Tone::Warning)
                    .header(format!("{} pending approval(s)", open.len()))
                    .table(
                        &["ID", "REQUESTED BY", "ACTION", "APPROVALS", "EXPIRES"],
                        rows,
                    )
            }
        }
        Command::IncidentStart { title } => {
            if let Some(open) = open_incident(deps, &key).await? {
                return Err(PipelineError::Precondition(format!(
                    "an incident is already open here: \"{open}\"; end it with `/va incident end` first"
                )));
            }
            deps.store
                .append(event(
                    id,
                    &inv.channel,
                    Some(&inv.actor),
                    EventKind::IncidentStarted,
                    title.clone(),
                    json!({"title": title}),
                ))
                .await?;
            Message::new(Tone::Warning).header(format!("Incident started: {title}")).paragraph("Commands, approvals and results here now belong to this incident; `/va timeline` shows them.")
        }
        Command::IncidentEnd => {
            let Some(open) = open_incident(deps, &key).await? else {
                return Err(PipelineError::Precondition("no incident is open in this channel; start one with `/va incident start <title>`".into()));
            };
            deps.store
                .append(event(
                    id,
                    &inv.channel,
                    Some(&inv.actor),
                    EventKind::IncidentEnded,
                    open.clone(),
                    json!({"title": open}),
                ))
                .await?;
            Message::new(Tone::Success)
                .header(format!("Incident ended: {open}"))
                .paragraph("Export the timeline with `vabot audit export`.")
        }
        other => {
            return Err(PipelineError::Precondition(format!(
                "`{}` is not a history command",
                other.name()
            )));
        }
    };
    Ok(Reply::one(id, message))
}

async fn open_incident(deps: &Deps, key: &str) -> Result<Option<String>, PipelineError> {
    let events = deps.store.events(Some(key), None).await?;
    let last = events.iter().rev().find(|e| {
        matches!(
            e.kind,
            EventKind::IncidentStarted | EventKind::IncidentEnded
        )
    });
    Ok(last
        .filter(|e| e.kind == EventKind::IncidentStarted)
        .map(|e| e.summary.clone()))
}

async fn incident_start(
    deps: &Deps,
    key: &str,
) -> Result<Option<chrono::DateTime<Utc>>, PipelineError> {
    let events = deps.store.events(Some(key), None).await?;
    let last = events.iter().rev().find(|e| {
        matches!(
            e.kind,
            EventKind::IncidentStarted | EventKind::IncidentEnded
        )
    });
    Ok(last
        .filter(|e| e.kind == EventKind::IncidentStarted)
        .map(|e| e.at))
}

/// Renders the plan fields of a request for adapters that show plans outside cards.
pub fn describe_plan(plan: &Plan) -> Vec<(String, String)> {
    plan_fields(plan)
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// The execute stage alone, as a claimed request would run it.
    pub async fn execute(
        deps: &Deps,
        req: &ApprovalRequest,
        approved: Approved,
    ) -> Result<Message, PipelineError> {
        super::execute(
            deps,
            &req.invocation,
            &req.channel,
            &req.requester,
            approved,
        )
        .await
    }
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
