//! What a timeline covers: an incident (from its `incident start` to its end), a
//! channel, a thread or a window; and the filters a reader applies (user, command, risk,
//! outcome).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use vabot_commands::secret::scrub;
use vabot_commands::store::{AuditEvent, EventKind};

use super::timeline::{Entry, chat_link};
use crate::stamp;

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
    pub(crate) fn contains(&self, e: &AuditEvent) -> bool {
        e.channel.key() == self.channel
            && e.seq >= self.start_seq
            && self.end_seq.is_none_or(|end| e.seq <= end)
    }

    /// Whether a moment falls inside it (for pinned messages, said at their own time).
    pub(crate) fn spans(&self, at: &DateTime<Utc>) -> bool {
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

pub(crate) fn user_of(e: &AuditEvent) -> String {
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

    pub(crate) fn keeps(&self, e: &Entry) -> bool {
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
