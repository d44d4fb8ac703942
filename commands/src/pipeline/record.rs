//! What the pipeline writes down as it goes: audit events for every decision, the
//! charts a reply carries (by SHA-256), and the metrics of each invocation.

use serde_json::json;
use tracing::warn;

use super::{Deps, Reply};
use crate::error::PipelineError;
use crate::grammar;
use crate::model::{Actor, ChannelRef, Invocation, InvocationId};
use crate::store::{EventKind, NewEvent};

/// Keeps every image a reply carries (a chart) by its SHA-256 and records it in the audit
/// log, so the review shows the charts people saw. A chart that cannot be kept is
/// logged, not fatal: the command's own record is already written.
pub(crate) async fn keep_charts(deps: &Deps, id: &InvocationId, inv: &Invocation, reply: &Reply) {
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
pub(crate) fn record_metrics(
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
pub(crate) fn command_text(text: &str) -> &str {
    let t = text.trim();
    t.strip_prefix("/va ")
        .or_else(|| t.strip_prefix("@va "))
        .map(str::trim_start)
        .unwrap_or(t)
}

pub(crate) fn exec_detail(e: &PipelineError) -> Option<&str> {
    match e {
        PipelineError::Exec(x) => x.detail(),
        _ => None,
    }
}

pub(crate) fn kind_of(e: &PipelineError) -> EventKind {
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
