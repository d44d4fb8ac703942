//! The timeline itself: entries built from a channel's audit events, approval requests
//! and pins, with the chain's status; read through the `Store` port.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use vabot_commands::approval::ApprovalRequest;
use vabot_commands::model::{ApprovalId, ChannelRef, Platform};
use vabot_commands::pins::{Pin, current_pins};
use vabot_commands::secret::scrub;
use vabot_commands::store::{AuditEvent, EventKind, Store, verify_chain};

use super::ExportError;
use super::redact::redact;
use super::scope::{Filter, Incident, Scope, incidents, user_of};
use crate::stamp;

// === Links back to chat ===

/// A link to the channel or thread in the chat client, where the records allow one.
///
/// Slack: `app.slack.com/client/<team>/<channel>[/thread/<channel>-<ts>]` (needs the
/// team id); Discord: `discord.com/channels/<guild>/<thread or channel>`. The console has
/// none.
pub fn chat_link(c: &ChannelRef) -> Option<String> {
    let ws = c.workspace.as_str();
    match c.platform {
        Platform::Console => None,
        Platform::Slack if ws.is_empty() => None,
        Platform::Slack => Some(match &c.thread {
            Some(t) => format!(
                "https://app.slack.com/client/{ws}/{ch}/thread/{ch}-{t}",
                ch = c.channel
            ),
            None => format!("https://app.slack.com/client/{ws}/{}", c.channel),
        }),
        Platform::Discord => {
            let guild = if ws.is_empty() { "@me" } else { ws };
            let target = c
                .thread
                .as_ref()
                .map(|t| t.as_str())
                .unwrap_or(c.channel.as_str());
            Some(format!("https://discord.com/channels/{guild}/{target}"))
        }
    }
}

/// The audit chain's verification, as every timeline states it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chain {
    pub intact: bool,
    pub records: usize,
    /// The first broken record.
    pub broken_at: Option<u64>,
    /// What is wrong there, in words.
    pub detail: Option<String>,
}

impl Chain {
    /// Verifies `all` (every event, seq order) against the recorded `head`: edits,
    /// deletions, reordering and (with the head) a cut-off tail show.
    pub fn verify(all: &[AuditEvent], head: Option<(u64, &str)>) -> Self {
        match verify_chain(all, head) {
            Ok(records) => Self {
                intact: true,
                records,
                broken_at: None,
                detail: None,
            },
            Err(b) => {
                use vabot_commands::store::ChainBreak::*;
                let seq = match &b {
                    Edited { seq } | Gap { seq, .. } | Unlinked { seq } => *seq,
                    Truncated { last, .. } => *last,
                };
                Self {
                    intact: false,
                    records: all.len(),
                    broken_at: Some(seq),
                    detail: Some(b.to_string()),
                }
            }
        }
    }

    /// One line: `intact (57 records)` / `BROKEN at seq 12: …`.
    pub fn describe(&self) -> String {
        match (self.intact, self.broken_at, &self.detail) {
            (true, _, _) => format!("intact ({} records verified)", self.records),
            (false, Some(seq), Some(d)) => format!("BROKEN at seq {seq}: {d}"),
            _ => "BROKEN".into(),
        }
    }
}

// === The timeline ===

/// One line of the timeline: an audit event, or a pinned chat message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub seq: u64,
    pub at: String,
    pub who: String,
    /// The event kind (`invocation`, `planned`, `vote`, …), or `message` for a pin.
    pub event: String,
    pub invocation: String,
    pub approval: String,
    /// The approval's status now (so the reader sees how each request ended).
    pub approval_status: String,
    pub summary: String,
    /// `before → after` of an execution, or the planned changes.
    pub change: String,
    /// The user whose invocation this belongs to (a pin: the message's author).
    pub user: String,
    /// The invocation's command (`scale`, `approve`, …); empty for pins.
    pub command: String,
    /// The invocation's risk class (`read`, `write`, `destructive`); empty if none.
    pub risk: String,
    /// How the invocation ended: ok, changed, pending, denied, rejected, refused,
    /// failed, expired, cancelled, superseded, voted, incident; `pinned` for a message.
    pub outcome: String,
    /// A link back to the chat (the pinned message, or the thread).
    pub link: String,
    /// Who pinned the message (pins only).
    pub pinned_by: String,
    /// The SHA-256 of a posted chart's bytes (`chart_posted` only): the review page
    /// shows the image kept under it.
    pub file: String,
}

/// A timeline: an incident, a channel, a thread or a window of one.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub title: String,
    pub channel: String,
    pub incident: Option<Incident>,
    pub thread: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    /// The filters applied (`user=bob`), empty if none.
    pub filter: String,
    pub chain: Chain,
    pub entries: Vec<Entry>,
}

pub(crate) fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(crate) fn change_of(e: &AuditEvent) -> String {
    let data = redact(&e.data);
    let (before, after) = (data.get("before"), data.get("after"));
    if before.is_some_and(|b| !b.is_null()) || after.is_some_and(|a| !a.is_null()) {
        return format!(
            "{} → {}",
            before.map(compact).unwrap_or_else(|| "–".into()),
            after.map(compact).unwrap_or_else(|| "–".into())
        );
    }
    data.get("plan")
        .and_then(|p| p.get("changes"))
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let field = c.get("field").map(compact).unwrap_or_default();
                    let from = c.get("before").map(compact).unwrap_or_default();
                    let to = c.get("after").map(compact).unwrap_or_default();
                    format!("{field} {from} → {to}")
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

pub(crate) fn approval_of(e: &AuditEvent) -> Option<&str> {
    e.data.get("approval").and_then(Value::as_str)
}

/// What the timeline knows about one invocation, from all of its events.
#[derive(Debug, Default, Clone)]
pub(crate) struct InvocationInfo {
    user: String,
    command: String,
    risk: String,
    kinds: BTreeSet<&'static str>,
    approval: Option<String>,
}

pub(crate) fn infos(events: &[AuditEvent]) -> BTreeMap<String, InvocationInfo> {
    let mut out: BTreeMap<String, InvocationInfo> = BTreeMap::new();
    for e in events {
        let Some(id) = &e.invocation else { continue };
        let info = out.entry(id.to_string()).or_default();
        if info.user.is_empty() || e.kind == EventKind::Invocation {
            info.user = user_of(e);
        }
        info.kinds.insert(e.kind.as_str());
        match e.kind {
            EventKind::Invocation => {
                let text = e.summary.trim_start_matches("/va").trim();
                info.command = text
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
            }
            EventKind::Permitted => {
                if let Some(risk) = e
                    .summary
                    .rsplit_once('(')
                    .and_then(|(_, r)| r.strip_suffix(')'))
                {
                    info.risk = risk.to_owned();
                }
            }
            EventKind::Vote if info.command.is_empty() => {
                info.command = match e.data.get("verdict").and_then(Value::as_str) {
                    Some("deny") => "deny".into(),
                    _ => "approve".into(),
                };
            }
            _ => {}
        }
        if let Some(risk) = e
            .data
            .get("plan")
            .and_then(|p| p.get("risk"))
            .and_then(Value::as_str)
        {
            info.risk = risk.to_owned();
        }
        if e.kind == EventKind::ApprovalRequested {
            info.approval = approval_of(e).map(str::to_owned);
        }
    }
    out
}

pub(crate) fn outcome_of(info: &InvocationInfo, approvals: &[ApprovalRequest]) -> String {
    let has = |k: EventKind| info.kinds.contains(k.as_str());
    let status = info.approval.as_deref().and_then(|id| {
        approvals
            .iter()
            .find(|a| a.id.as_str() == id)
            .map(|a| a.status.as_str())
    });
    let outcome = if has(EventKind::ExecutionFailed) {
        "failed"
    } else if has(EventKind::Denied) {
        "denied"
    } else if has(EventKind::Rejected) {
        "rejected"
    } else if has(EventKind::VoteRefused) {
        "refused"
    } else if has(EventKind::IncidentStarted) || has(EventKind::IncidentEnded) {
        "incident"
    } else if let Some(s @ ("denied" | "expired" | "cancelled" | "superseded" | "failed")) = status
    {
        s
    } else if has(EventKind::ExecutionFinished) {
        "changed"
    } else if has(EventKind::ExecutionStarted) {
        "executing"
    } else if has(EventKind::ApprovalRequested) {
        "pending"
    } else if has(EventKind::Vote) {
        "voted"
    } else {
        "ok"
    };
    outcome.to_owned()
}

pub(crate) fn pin_entry(pin: &Pin, seq: u64) -> Entry {
    let m = &pin.message;
    let author = m.author_name.clone().unwrap_or_else(|| m.author.clone());
    Entry {
        seq,
        at: stamp(&m.at),
        who: author,
        event: "message".into(),
        invocation: String::new(),
        approval: String::new(),
        approval_status: String::new(),
        summary: scrub(&m.text),
        change: String::new(),
        user: m.author.clone(),
        command: String::new(),
        risk: String::new(),
        outcome: "pinned".into(),
        link: m
            .link
            .clone()
            .or_else(|| chat_link(&pin.channel))
            .unwrap_or_default(),
        pinned_by: pin
            .pinned_by
            .iter()
            .map(|k| k.split_once(':').map(|(_, u)| u).unwrap_or(k))
            .collect::<Vec<_>>()
            .join(", "),
        file: String::new(),
    }
}

impl Timeline {
    /// Builds a timeline from a channel's events (oldest first, unscoped) and its
    /// approval requests. `incident` is the one `scope.incident` names, if any.
    pub fn build(
        channel: &str,
        scope: &Scope,
        incident: Option<Incident>,
        events: &[AuditEvent],
        approvals: &[ApprovalRequest],
        chain: Chain,
    ) -> Self {
        let in_thread = |c: &ChannelRef| {
            scope
                .thread
                .as_deref()
                .is_none_or(|t| c.thread.as_ref().is_some_and(|x| x.as_str() == t))
        };
        let in_window = |at: &DateTime<Utc>| {
            scope.since.is_none_or(|s| *at >= s) && scope.until.is_none_or(|u| *at <= u)
        };
        let scoped: Vec<&AuditEvent> = events
            .iter()
            .filter(|e| e.channel.key() == channel)
            .filter(|e| incident.as_ref().is_none_or(|i| i.contains(e)))
            .filter(|e| in_thread(&e.channel) && in_window(&e.at))
            .collect();
        let info = infos(events);
        let mut entries: Vec<Entry> = scoped
            .iter()
            .filter(|e| {
                !matches!(
                    e.kind,
                    EventKind::MessagePinned | EventKind::MessageUnpinned
                )
            })
            .map(|e| {
                let approval = approval_of(e).unwrap_or_default().to_owned();
                let approval_status = approvals
                    .iter()
                    .find(|a| a.id.as_str() == approval)
                    .map(|a| a.status.as_str().to_owned())
                    .unwrap_or_default();
                let invocation = e
                    .invocation
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let inv = info.get(&invocation).cloned().unwrap_or_default();
                Entry {
                    seq: e.seq,
                    at: stamp(&e.at),
                    who: user_of(e),
                    event: e.kind.as_str().to_owned(),
                    approval,
                    approval_status,
                    summary: scrub(&e.summary),
                    change: change_of(e),
                    user: if inv.user.is_empty() {
                        user_of(e)
                    } else {
                        inv.user.clone()
                    },
                    command: inv.command.clone(),
                    risk: inv.risk.clone(),
                    outcome: outcome_of(&inv, approvals),
                    link: chat_link(&e.channel).unwrap_or_default(),
                    pinned_by: String::new(),
                    file: if e.kind == EventKind::ChartPosted {
                        e.data
                            .get("sha256")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned()
                    } else {
                        String::new()
                    },
                    invocation,
                }
            })
            .collect();

        // Pins: the messages pinned now, placed at the time they were said. One belongs
        // to the scope if it was said or pinned inside it.
        let channel_events: Vec<AuditEvent> = events
            .iter()
            .filter(|e| e.channel.key() == channel)
            .cloned()
            .collect();
        let pin_seq: BTreeMap<String, u64> = channel_events
            .iter()
            .filter(|e| e.kind == EventKind::MessagePinned)
            .filter_map(|e| {
                let id = e.data.get("message")?.get("id")?.as_str()?;
                Some((id.to_owned(), e.seq))
            })
            .collect();
        for pin in current_pins(&channel_events) {
            let seq = pin_seq.get(&pin.message.id).copied().unwrap_or_default();
            let pinned_inside = scoped.iter().any(|e| {
                e.kind == EventKind::MessagePinned
                    && e.data
                        .get("message")
                        .and_then(|m| m.get("id"))
                        .and_then(Value::as_str)
                        == Some(pin.message.id.as_str())
            });
            let said_inside = incident.as_ref().is_none_or(|i| i.spans(&pin.message.at))
                && in_window(&pin.message.at)
                && in_thread(&pin.channel);
            if pinned_inside || said_inside {
                entries.push(pin_entry(&pin, seq));
            }
        }
        entries.sort_by(|a, b| a.at.cmp(&b.at).then(a.seq.cmp(&b.seq)));

        let title = match &incident {
            Some(i) => format!("Incident: {}", i.title),
            None => match &scope.thread {
                Some(t) => format!("Thread {t} in {channel}"),
                None => format!("Timeline of {channel}"),
            },
        };
        Self {
            title,
            channel: channel.to_owned(),
            incident,
            thread: scope.thread.clone(),
            since: scope.since.map(|s| stamp(&s)),
            until: scope.until.map(|s| stamp(&s)),
            filter: String::new(),
            chain,
            entries,
        }
    }

    /// Keeps the entries of the invocations (and pins) the filter selects.
    pub fn filtered(mut self, filter: &Filter) -> Self {
        self.entries.retain(|e| filter.keeps(e));
        self.filter = filter.describe();
        self
    }

    /// Reads a timeline through the [`Store`] port.
    pub async fn load(
        store: &dyn Store,
        scope: &Scope,
        filter: &Filter,
    ) -> Result<Self, ExportError> {
        let all = store.events(None, None).await?;
        let head = store.chain_head().await?;
        let chain = Chain::verify(&all, head.as_ref().map(|(s, h)| (*s, h.as_str())));
        let incident = match &scope.incident {
            Some(id) => Some(
                incidents(&all)
                    .into_iter()
                    .find(|i| i.id.eq_ignore_ascii_case(id))
                    .ok_or_else(|| ExportError::UnknownIncident(id.clone()))?,
            ),
            None => None,
        };
        let channel = match (&incident, &scope.channel) {
            (Some(i), _) => i.channel.clone(),
            (None, Some(c)) => c.clone(),
            (None, None) => return Err(ExportError::NoScope),
        };
        let events: Vec<AuditEvent> = all
            .into_iter()
            .filter(|e| e.channel.key() == channel)
            .collect();
        let ids: BTreeSet<&str> = events.iter().filter_map(approval_of).collect();
        let mut approvals = Vec::new();
        for id in ids.into_iter().filter_map(|id| ApprovalId::parse('a', id)) {
            if let Some(a) = store.approval(&id).await? {
                approvals.push(a);
            }
        }
        Ok(Self::build(&channel, scope, incident, &events, &approvals, chain).filtered(filter))
    }
}
