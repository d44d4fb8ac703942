//! Commands answered from the store and the configuration: `history`, `timeline`,
//! `pending`, `incident start|end`, `links`, `oncall`.

use chrono::Utc;
use serde_json::json;

use super::record::event;
use super::{Deps, Reply};
use crate::approval::{ApprovalRequest, ApprovalStatus};
use crate::config::Directory;
use crate::error::PipelineError;
use crate::grammar::Command;
use crate::message::{Message, Tone, render_table};
use crate::model::{Invocation, InvocationId};
use crate::store::EventKind;

pub(crate) fn links(dir: &Directory) -> Message {
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

pub(crate) fn oncall(dir: &Directory) -> Message {
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
pub(crate) async fn history(
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

pub(crate) async fn open_incident(deps: &Deps, key: &str) -> Result<Option<String>, PipelineError> {
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

pub(crate) async fn incident_start(
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
