//! `handle(&Deps, Invocation) → Reply`: the only place the stages are chained.
//!
//! parse → authorize → plan → approve → execute → render. Each decision is appended to
//! the store *before* the next stage acts on it; a store failure stops the invocation
//! (fail closed).

mod history;
mod record;
mod stages;
mod votes;

use crate::approval::{self, ApprovalRequest, Decision, Verdict};
use crate::authz::{self, Permit};
use crate::catalog::Catalog;
use crate::config::{Directory, Policy};
use crate::error::PipelineError;
use crate::grammar::{self, Command, spec::Family};
use crate::message::{Message, Tone};
use crate::model::{ApprovalId, Invocation, InvocationId, new_short_id};
use crate::plan::{Plan, RiskClass};
use crate::ports::{Clock, Cluster, Dependencies};
use crate::render::{plan_fields, render_error};
use crate::store::{EventKind, InvocationRecord, Recorded, Store};
use history::{history, links, oncall};
pub(crate) use record::event;
use record::{command_text, exec_detail, keep_charts, kind_of, record_metrics};
use serde_json::json;
use stages::{execute, open_request, plan};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use tracing::{Instrument, info, info_span, warn};
use votes::cancel;
pub(crate) use votes::finish;
pub use votes::{VoteEvent, handle_vote, run_approved, vote};

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

/// Renders the plan fields of a request for adapters that show plans outside cards.
pub fn describe_plan(plan: &Plan) -> Vec<(String, String)> {
    plan_fields(plan)
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::approval::{ApprovalRequest, Approved};

    /// The execute stage alone, as a claimed request would run it.
    pub async fn execute(
        deps: &Deps,
        req: &ApprovalRequest,
        approved: Approved,
    ) -> Result<Message, PipelineError> {
        super::stages::execute(
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
mod tests;
