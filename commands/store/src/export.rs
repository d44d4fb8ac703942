//! The post-incident timeline (`vabot audit export` and the review page's downloads): who
//! asked what, who approved, what changed (before → after), results, and the chat messages
//! pinned into it, with timestamps; as Markdown, JSON or CSV.
//!
//! One implementation for every reader: the timeline is built from what the
//! [`Store`] port returns, scoped to an incident, a channel, a thread or a time window,
//! and optionally filtered by user, command, risk class and outcome. Values that look like
//! credentials are redacted, and passwords in connection strings masked, before anything
//! is written.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use vabot_commands::approval::ApprovalRequest;
use vabot_commands::model::{ApprovalId, ChannelRef, Platform};
use vabot_commands::pins::{Pin, current_pins};
use vabot_commands::store::{AuditEvent, EventKind, Store, StoreError, verify_chain};

use crate::stamp;

// === Redaction ===

/// Keys whose values never leave the store in an export.
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "authorization",
    "credentials",
    "stringdata",
    "private_key",
];

/// A copy of `v` with credential-like values replaced, and the `data` of Secret objects.
pub fn redact(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let is_secret = map.get("kind").and_then(Value::as_str) == Some("Secret");
            Value::Object(
                map.iter()
                    .map(|(k, x)| {
                        let lower = k.to_ascii_lowercase();
                        let hide = SECRET_KEYS.iter().any(|s| lower.contains(s))
                            || (is_secret && (lower == "data" || lower == "binarydata"));
                        let x = if hide {
                            Value::String("[redacted]".into())
                        } else {
                            redact(x)
                        };
                        (k.clone(), x)
                    })
                    .collect(),
            )
        }
        Value::Array(xs) => Value::Array(xs.iter().map(redact).collect()),
        Value::String(s) => Value::String(scrub(s)),
        other => other.clone(),
    }
}

pub use vabot_commands::secret::scrub;

/// `--since` / `--until`: RFC 3339, or a window back from `now` such as `90m`, `2h`, `1d`.
pub fn parse_since(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let (num, unit) = s.split_at(s.trim_end_matches(|c: char| c.is_ascii_alphabetic()).len());
    let n: i64 = num
        .parse()
        .map_err(|_| format!("`{s}` is neither an RFC 3339 time nor a window like `2h`"))?;
    let d = match unit {
        "s" => chrono::Duration::seconds(n),
        "m" => chrono::Duration::minutes(n),
        "h" => chrono::Duration::hours(n),
        "d" => chrono::Duration::days(n),
        _ => {
            return Err(format!(
                "`{s}`: the window unit must be s, m, h or d (e.g. `2h`)"
            ));
        }
    };
    Ok(now - d)
}

// === Incidents ===

/// One incident: from `/va incident start` to `/va incident end` in a channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// The invocation id of `incident start` (`i-…`): how pages and `--incident` name it.
    pub id: String,
    pub channel: String,
    pub title: String,
    pub started_at: String,
    pub started_by: String,
    #[serde(skip)]
    pub start_seq: u64,
    #[serde(skip)]
    pub start: DateTime<Utc>,
    pub ended_at: Option<String>,
    pub ended_by: Option<String>,
    #[serde(skip)]
    pub end_seq: Option<u64>,
    #[serde(skip)]
    pub end: Option<DateTime<Utc>>,
    /// Where the incident was started (a link back to the chat thread, when there is one).
    pub link: Option<String>,
}

impl Incident {
    /// Whether an event of the incident's channel falls inside it.
    fn contains(&self, e: &AuditEvent) -> bool {
        e.channel.key() == self.channel
            && e.seq >= self.start_seq
            && self.end_seq.is_none_or(|end| e.seq <= end)
    }

    /// Whether a moment falls inside it (for pinned messages, said at their own time).
    fn spans(&self, at: &DateTime<Utc>) -> bool {
        *at >= self.start && self.end.is_none_or(|end| *at <= end)
    }

    /// `12m`, `1h 05m`, or `ongoing`.
    pub fn duration(&self) -> String {
        let Some(end) = self.end else {
            return "ongoing".into();
        };
        let mins = (end - self.start).num_minutes();
        match mins {
            m if m < 1 => format!("{}s", (end - self.start).num_seconds().max(0)),
            m if m < 60 => format!("{m}m"),
            m => format!("{}h {:02}m", m / 60, m % 60),
        }
    }
}

fn user_of(e: &AuditEvent) -> String {
    e.actor
        .as_ref()
        .map(|a| a.user.to_string())
        .unwrap_or_else(|| "vabot".into())
}

/// Every incident in `events` (all channels, oldest first), in start order.
pub fn incidents(events: &[AuditEvent]) -> Vec<Incident> {
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    let mut out: Vec<Incident> = Vec::new();
    for e in events {
        match e.kind {
            EventKind::IncidentStarted => {
                let title = e
                    .data
                    .get("title")
                    .and_then(Value::as_str)
                    .unwrap_or(&e.summary);
                open.insert(e.channel.key(), out.len());
                out.push(Incident {
                    id: e
                        .invocation
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_else(|| format!("seq-{}", e.seq)),
                    channel: e.channel.key(),
                    title: scrub(title),
                    started_at: stamp(&e.at),
                    started_by: user_of(e),
                    start_seq: e.seq,
                    start: e.at,
                    ended_at: None,
                    ended_by: None,
                    end_seq: None,
                    end: None,
                    link: chat_link(&e.channel),
                });
            }
            EventKind::IncidentEnded => {
                if let Some(i) = open.remove(&e.channel.key()) {
                    let inc = &mut out[i];
                    inc.ended_at = Some(stamp(&e.at));
                    inc.ended_by = Some(user_of(e));
                    inc.end_seq = Some(e.seq);
                    inc.end = Some(e.at);
                }
            }
            _ => {}
        }
    }
    out
}

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

// === Scope, filter, chain ===

/// Which part of the history a timeline covers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// `platform:channel`; implied by `incident`.
    pub channel: Option<String>,
    /// An incident id (`i-…`, the invocation that started it).
    pub incident: Option<String>,
    /// A thread (Slack `thread_ts`, Discord thread id): "without an incident, a thread".
    pub thread: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Which invocations to keep, each by equality; `None` keeps all.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Filter {
    pub user: Option<String>,
    pub command: Option<String>,
    pub risk: Option<String>,
    pub outcome: Option<String>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.user.is_none()
            && self.command.is_none()
            && self.risk.is_none()
            && self.outcome.is_none()
    }

    fn keeps(&self, e: &Entry) -> bool {
        let is = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        is(&self.user, &e.user)
            && is(&self.command, &e.command)
            && is(&self.risk, &e.risk)
            && is(&self.outcome, &e.outcome)
    }

    /// `user=bob, outcome=failed`, for headings.
    pub fn describe(&self) -> String {
        [
            ("user", &self.user),
            ("command", &self.command),
            ("risk", &self.risk),
            ("outcome", &self.outcome),
        ]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(", ")
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

/// Why a timeline could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("no incident `{0}` in the history")]
    UnknownIncident(String),
    #[error("name a channel (`platform:id`) or an incident")]
    NoScope,
    #[error("reading the audit log failed")]
    Store(#[from] StoreError),
}

fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn change_of(e: &AuditEvent) -> String {
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

fn approval_of(e: &AuditEvent) -> Option<&str> {
    e.data.get("approval").and_then(Value::as_str)
}

/// What the timeline knows about one invocation, from all of its events.
#[derive(Debug, Default, Clone)]
struct InvocationInfo {
    user: String,
    command: String,
    risk: String,
    kinds: BTreeSet<&'static str>,
    approval: Option<String>,
}

fn infos(events: &[AuditEvent]) -> BTreeMap<String, InvocationInfo> {
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

fn outcome_of(info: &InvocationInfo, approvals: &[ApprovalRequest]) -> String {
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

fn pin_entry(pin: &Pin, seq: u64) -> Entry {
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

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }

    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "seq,time,who,event,invocation,approval,approval_status,summary,change,user,command,risk,outcome,link,pinned_by,file\n",
        );
        for e in &self.entries {
            let cells = [
                e.seq.to_string(),
                e.at.clone(),
                e.who.clone(),
                e.event.clone(),
                e.invocation.clone(),
                e.approval.clone(),
                e.approval_status.clone(),
                e.summary.clone(),
                e.change.clone(),
                e.user.clone(),
                e.command.clone(),
                e.risk.clone(),
                e.outcome.clone(),
                e.link.clone(),
                e.pinned_by.clone(),
                e.file.clone(),
            ];
            let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        out
    }

    /// Paste-ready for a post-mortem document: the facts, the pinned messages, the table.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("# {}\n\n", md_text(&self.title));
        let mut facts: Vec<String> = vec![format!("**Channel:** `{}`", md_code(&self.channel))];
        if let Some(i) = &self.incident {
            facts.push(format!(
                "**Started:** {} UTC by {}",
                human(&i.started_at),
                md_text(&i.started_by)
            ));
            match (&i.ended_at, &i.ended_by) {
                (Some(at), Some(by)) => facts.push(format!(
                    "**Ended:** {} UTC by {} ({})",
                    human(at),
                    md_text(by),
                    i.duration()
                )),
                _ => facts.push("**Ended:** not yet (ongoing)".into()),
            }
        }
        if let Some(t) = &self.thread {
            facts.push(format!("**Thread:** `{}`", md_code(t)));
        }
        if let Some(s) = &self.since {
            facts.push(format!("**Since:** {} UTC", human(s)));
        }
        if let Some(u) = &self.until {
            facts.push(format!("**Until:** {} UTC", human(u)));
        }
        if !self.filter.is_empty() {
            facts.push(format!("**Filtered:** {}", md_text(&self.filter)));
        }
        facts.push(format!(
            "**Audit chain:** {}",
            md_text(&self.chain.describe())
        ));
        facts.push(format!(
            "**Source:** vabot's hash-chained audit log, {} entries",
            self.entries.len()
        ));
        for f in facts {
            out.push_str(&format!("- {f}\n"));
        }

        let pins: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.event == "message")
            .collect();
        if !pins.is_empty() {
            out.push_str("\n## Pinned messages\n\n");
            for p in pins {
                let link = if p.link.is_empty() {
                    String::new()
                } else {
                    format!(" ([message]({}))", p.link)
                };
                out.push_str(&format!(
                    "> **{}** at {} UTC{}: {}\n>\n> _pinned by {}_\n\n",
                    md_text(&p.who),
                    human(&p.at),
                    link,
                    md_text(&p.summary),
                    md_text(&p.pinned_by)
                ));
            }
        }

        out.push_str("\n## Timeline\n\n");
        out.push_str("| Time (UTC) | Who | Event | ID | Summary | Change |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for e in &self.entries {
            let id = match (e.invocation.is_empty(), e.approval.is_empty()) {
                (_, false) if e.approval_status.is_empty() => e.approval.clone(),
                (_, false) => format!("{} ({})", e.approval, e.approval_status),
                (false, true) => e.invocation.clone(),
                (true, true) => String::new(),
            };
            let summary = if e.event == "message" {
                format!("“{}” (pinned by {})", e.summary, e.pinned_by)
            } else if !e.file.is_empty() {
                format!("{} — sha256 {}", e.summary, e.file)
            } else {
                e.summary.clone()
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                md_cell(&human(&e.at)),
                md_cell(&e.who),
                md_cell(&e.event),
                md_cell(&id),
                md_cell(&summary),
                md_cell(&e.change)
            ));
        }
        out
    }
}

/// `2026-12-01 10:02:11` from a stored stamp (seconds are enough for a reader).
pub fn human(stamp: &str) -> String {
    let s = stamp.replace('T', " ");
    s.split('.')
        .next()
        .unwrap_or(&s)
        .trim_end_matches('Z')
        .to_owned()
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn md_text(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

fn md_code(s: &str) -> String {
    s.replace('`', "'")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use vabot_commands::model::{Actor, InvocationId};
    use vabot_commands::pins::ChatMessage;
    use vabot_commands::store::NewEvent;

    #[test]
    fn credentials_and_secret_data_are_redacted_at_any_depth() {
        let v = json!({"before": {"kind": "Secret", "data": {"k": "c2VjcmV0"}, "metadata": {"name": "db"}},
                       "after": [{"env": {"DB_PASSWORD": "hunter2", "LOG_LEVEL": "info"}}]});
        let r = redact(&v).to_string();
        assert!(!r.contains("c2VjcmV0") && !r.contains("hunter2"), "{r}");
        assert!(r.contains("LOG_LEVEL") && r.contains("\"db\""), "{r}");
    }

    #[test]
    fn secret_looking_assignments_are_masked_and_others_kept() {
        assert_eq!(
            scrub("/va config set agent-engine API_TOKEN=sk-123 LOG_LEVEL=debug"),
            "/va config set agent-engine API_TOKEN=[redacted] LOG_LEVEL=debug"
        );
        assert_eq!(scrub("db_password=hunter2"), "db_password=[redacted]");
        assert_eq!(scrub("scale agent-engine 5"), "scale agent-engine 5");
    }

    #[test]
    fn passwords_in_connection_strings_are_masked_in_free_text() {
        assert_eq!(
            scrub("try postgres://app:hunter2@db.internal:5432/db now"),
            "try postgres://app:[redacted]@db.internal:5432/db now"
        );
        assert_eq!(
            scrub("see https://grafana.local/d/x"),
            "see https://grafana.local/d/x"
        );
        assert_eq!(scrub("redis://:s3cret@cache"), "redis://:[redacted]@cache");
    }

    #[test]
    fn since_accepts_rfc3339_and_windows_and_explains_bad_input() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T05:00:00Z")
            .expect("t")
            .with_timezone(&Utc);
        assert_eq!(
            parse_since("2h", now).expect("window"),
            now - chrono::Duration::hours(2)
        );
        assert_eq!(
            parse_since("2026-11-25T04:00:00Z", now).expect("time"),
            now - chrono::Duration::hours(1)
        );
        assert!(
            parse_since("2w", now)
                .expect_err("unit")
                .contains("s, m, h or d")
        );
        assert!(
            parse_since("soon", now)
                .expect_err("text")
                .contains("RFC 3339")
        );
    }

    #[test]
    fn csv_cells_with_commas_quotes_and_newlines_are_quoted() {
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("plain"), "plain");
    }

    // === Scoping ===

    fn t(min: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .expect("t")
            .with_timezone(&Utc)
            + chrono::Duration::minutes(min)
    }

    struct Log(Vec<AuditEvent>);

    impl Log {
        fn add(
            &mut self,
            min: i64,
            inv: &str,
            user: &str,
            kind: EventKind,
            summary: &str,
            data: Value,
        ) {
            let prev = self
                .0
                .last()
                .map(|e| e.hash.clone())
                .unwrap_or_else(|| vabot_commands::store::GENESIS.into());
            let seq = self.0.len() as u64 + 1;
            let ev = NewEvent {
                invocation: (!inv.is_empty()).then(|| InvocationId::parse('i', inv).expect("id")),
                channel: ChannelRef::new(Platform::Console, "#inc"),
                actor: Some(Actor::new(Platform::Console, user)),
                kind,
                summary: summary.into(),
                data,
            };
            self.0.push(AuditEvent::seal(seq, t(min), &prev, ev));
        }
    }

    fn message(id: &str, min: i64, text: &str) -> Value {
        json!({"message": ChatMessage {
            id: id.into(), author: "dave".into(), author_name: Some("Dave".into()),
            text: text.into(), at: t(min), link: None,
        }})
    }

    fn sample() -> Log {
        let mut l = Log(Vec::new());
        l.add(
            0,
            "i-000001",
            "alice",
            EventKind::Invocation,
            "/va pods agent-engine",
            json!({}),
        );
        l.add(
            1,
            "i-000002",
            "alice",
            EventKind::IncidentStarted,
            "db slow",
            json!({"title": "db slow"}),
        );
        l.add(
            2,
            "i-000003",
            "alice",
            EventKind::Invocation,
            "/va restart agent-engine",
            json!({}),
        );
        l.add(
            2,
            "i-000003",
            "alice",
            EventKind::Permitted,
            "restart permitted (write)",
            json!({}),
        );
        l.add(3, "i-000003", "alice", EventKind::ExecutionFinished, "Restarted agent-engine",
              json!({"before": {"password": "hunter2", "restartedAt": null}, "after": {"restartedAt": "now"}}));
        l.add(
            4,
            "i-000004",
            "carol",
            EventKind::Invocation,
            "/va scale agent-engine 3",
            json!({}),
        );
        l.add(
            4,
            "i-000004",
            "carol",
            EventKind::Denied,
            "carol may not",
            json!({}),
        );
        l.add(
            5,
            "i-000005",
            "bob",
            EventKind::MessagePinned,
            "pinned",
            message("m1", 4, "it is the pool"),
        );
        l.add(
            6,
            "i-000006",
            "bob",
            EventKind::MessagePinned,
            "pinned",
            message("m2", 5, "gone again"),
        );
        l.add(
            7,
            "i-000007",
            "bob",
            EventKind::MessageUnpinned,
            "unpinned",
            message("m2", 5, "gone again"),
        );
        l.add(
            8,
            "i-000008",
            "alice",
            EventKind::IncidentEnded,
            "db slow",
            json!({"title": "db slow"}),
        );
        l.add(
            9,
            "i-000009",
            "alice",
            EventKind::Invocation,
            "/va pods identity-service",
            json!({}),
        );
        l
    }

    fn timeline(scope: &Scope, filter: &Filter) -> Timeline {
        let log = sample();
        let incident = scope
            .incident
            .as_ref()
            .and_then(|id| incidents(&log.0).into_iter().find(|i| &i.id == id));
        Timeline::build(
            "console:#inc",
            scope,
            incident,
            &log.0,
            &[],
            Chain::verify(&log.0, None),
        )
        .filtered(filter)
    }

    #[test]
    fn an_incident_scopes_the_timeline_to_its_span_and_includes_its_pins() {
        let tl = timeline(
            &Scope {
                incident: Some("i-000002".into()),
                ..Scope::default()
            },
            &Filter::default(),
        );
        let seqs: Vec<u64> = tl.entries.iter().map(|e| e.seq).collect();
        assert_eq!(tl.title, "Incident: db slow");
        // 1 and 12 are outside; the pin (8, said at minute 4) sits among what happened then.
        assert_eq!(seqs, vec![2, 3, 4, 5, 6, 7, 8, 11]);
        let pins: Vec<&Entry> = tl.entries.iter().filter(|e| e.event == "message").collect();
        assert_eq!(pins.len(), 1, "the unpinned message is gone");
        assert_eq!(
            (
                pins[0].who.as_str(),
                pins[0].summary.as_str(),
                pins[0].pinned_by.as_str()
            ),
            ("Dave", "it is the pool", "bob")
        );
        assert_eq!(pins[0].at, stamp(&t(4)), "placed at the time it was said");
        assert_eq!(
            tl.incident.as_ref().map(Incident::duration).as_deref(),
            Some("7m")
        );
    }

    #[test]
    fn filters_keep_whole_invocations_by_user_risk_and_outcome() {
        let by = |f: Filter| {
            timeline(
                &Scope {
                    channel: Some("console:#inc".into()),
                    ..Scope::default()
                },
                &f,
            )
            .entries
            .iter()
            .map(|e| e.seq)
            .collect::<Vec<u64>>()
        };
        assert_eq!(
            by(Filter {
                user: Some("carol".into()),
                ..Filter::default()
            }),
            vec![6, 7]
        );
        assert_eq!(
            by(Filter {
                risk: Some("write".into()),
                ..Filter::default()
            }),
            vec![3, 4, 5]
        );
        assert_eq!(
            by(Filter {
                outcome: Some("changed".into()),
                ..Filter::default()
            }),
            vec![3, 4, 5]
        );
        assert_eq!(
            by(Filter {
                outcome: Some("pinned".into()),
                ..Filter::default()
            }),
            vec![8]
        );
        assert_eq!(
            by(Filter {
                command: Some("pods".into()),
                ..Filter::default()
            }),
            vec![1, 12]
        );
    }

    #[test]
    fn the_markdown_export_states_the_incident_the_pins_and_the_chain_and_redacts() {
        let md = timeline(
            &Scope {
                incident: Some("i-000002".into()),
                ..Scope::default()
            },
            &Filter::default(),
        )
        .to_markdown();
        assert!(md.starts_with("# Incident: db slow\n"), "{md}");
        assert!(
            md.contains("**Started:** 2026-12-01 10:01:00 UTC by alice"),
            "{md}"
        );
        assert!(md.contains("(7m)"), "{md}");
        assert!(
            md.contains(
                "## Pinned messages\n\n> **Dave** at 2026-12-01 10:04:00 UTC: it is the pool"
            ),
            "{md}"
        );
        assert!(
            md.contains("**Audit chain:** intact (12 records verified)"),
            "{md}"
        );
        assert!(md.contains("| 2026-12-01 10:03:00 | alice | execution_finished | i-000003 | Restarted agent-engine |"), "{md}");
        assert!(!md.contains("hunter2"), "{md}");
    }

    #[test]
    fn a_tampered_record_is_reported_with_its_seq() {
        let mut log = sample();
        log.0[4].summary = "Restarted nothing".into();
        let chain = Chain::verify(&log.0, None);
        assert!(!chain.intact);
        assert_eq!(chain.broken_at, Some(5));
        assert!(
            chain
                .describe()
                .starts_with("BROKEN at seq 5: record 5 was edited"),
            "{}",
            chain.describe()
        );
    }

    #[test]
    fn chat_links_point_at_the_thread_where_the_records_allow_one() {
        let mut c = ChannelRef::new(Platform::Slack, "C0INC");
        assert_eq!(chat_link(&c), None, "no team id, no link");
        c.workspace = "T0VOICE".into();
        c.thread = Some("1764583200.000100".into());
        assert_eq!(
            chat_link(&c).as_deref(),
            Some("https://app.slack.com/client/T0VOICE/C0INC/thread/C0INC-1764583200.000100")
        );
        let mut d = ChannelRef::new(Platform::Discord, "111");
        d.workspace = "999".into();
        d.thread = Some("222".into());
        assert_eq!(
            chat_link(&d).as_deref(),
            Some("https://discord.com/channels/999/222")
        );
        assert_eq!(chat_link(&ChannelRef::new(Platform::Console, "#x")), None);
    }
}
