//! The post-incident timeline of one channel (`vabot audit export`): who asked what, who
//! approved, what changed (before → after), results, with timestamps; as Markdown, JSON
//! or CSV. Values that look like credentials are redacted before anything is written.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use vabot_commands::approval::ApprovalRequest;
use vabot_commands::store::{AuditEvent, Store, StoreError};

use crate::SqlStore;

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
        other => other.clone(),
    }
}

/// `--since`: RFC 3339, or a window back from `now` such as `90m`, `2h`, `1d`.
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

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub seq: u64,
    pub at: String,
    pub who: String,
    pub event: String,
    pub invocation: String,
    pub approval: String,
    /// The approval's status now (so the reader sees how each request ended).
    pub approval_status: String,
    pub summary: String,
    /// `before → after` of an execution, or the planned changes.
    pub change: String,
}

/// A channel's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub channel: String,
    pub since: Option<String>,
    pub entries: Vec<Entry>,
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
                    let from = c.get("from").map(compact).unwrap_or_default();
                    let to = c.get("to").map(compact).unwrap_or_default();
                    format!("{field}: {from} → {to}")
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

impl Timeline {
    /// Builds the timeline from the events and approvals of `channel` (`platform:id`).
    pub fn build(
        channel: &str,
        since: Option<DateTime<Utc>>,
        events: &[AuditEvent],
        approvals: &[ApprovalRequest],
    ) -> Self {
        let entries = events
            .iter()
            .map(|e| {
                let approval = e
                    .data
                    .get("approval")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let approval_status = approvals
                    .iter()
                    .find(|a| a.id.as_str() == approval)
                    .map(|a| a.status.as_str().to_owned())
                    .unwrap_or_default();
                Entry {
                    seq: e.seq,
                    at: crate::stamp(&e.at),
                    who: e
                        .actor
                        .as_ref()
                        .map(|a| a.user.to_string())
                        .unwrap_or_else(|| "vabot".into()),
                    event: e.kind.as_str().to_owned(),
                    invocation: e
                        .invocation
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    approval,
                    approval_status,
                    summary: e.summary.clone(),
                    change: change_of(e),
                }
            })
            .collect();
        Self {
            channel: channel.to_owned(),
            since: since.map(|s| crate::stamp(&s)),
            entries,
        }
    }

    /// Reads a channel's timeline from the store.
    pub async fn load(
        store: &SqlStore,
        channel: &str,
        since: Option<DateTime<Utc>>,
    ) -> Result<Self, StoreError> {
        let events = store.events(Some(channel), since).await?;
        let approvals = store.channel_approvals(channel).await?;
        Ok(Self::build(channel, since, &events, &approvals))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }

    pub fn to_csv(&self) -> String {
        let mut out =
            String::from("seq,time,who,event,invocation,approval,approval_status,summary,change\n");
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
            ];
            let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        out
    }

    pub fn to_markdown(&self) -> String {
        let mut out = format!("# Timeline of {}\n\n", self.channel);
        if let Some(s) = &self.since {
            out.push_str(&format!("Since {s}. "));
        }
        out.push_str(&format!(
            "{} events, from vabot's hash-chained audit log.\n\n",
            self.entries.len()
        ));
        out.push_str("| Time (UTC) | Who | Event | ID | Summary | Change |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for e in &self.entries {
            let id = match (e.invocation.is_empty(), e.approval.is_empty()) {
                (_, false) if e.approval_status.is_empty() => e.approval.clone(),
                (_, false) => format!("{} ({})", e.approval, e.approval_status),
                (false, true) => e.invocation.clone(),
                (true, true) => String::new(),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                md_cell(&e.at.replace('T', " ")),
                md_cell(&e.who),
                md_cell(&e.event),
                md_cell(&id),
                md_cell(&e.summary),
                md_cell(&e.change)
            ));
        }
        out
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn credentials_and_secret_data_are_redacted_at_any_depth() {
        let v = json!({"before": {"kind": "Secret", "data": {"k": "c2VjcmV0"}, "metadata": {"name": "db"}},
                       "after": [{"env": {"DB_PASSWORD": "hunter2", "LOG_LEVEL": "info"}}]});
        let r = redact(&v).to_string();
        assert!(!r.contains("c2VjcmV0") && !r.contains("hunter2"), "{r}");
        assert!(r.contains("LOG_LEVEL") && r.contains("\"db\""), "{r}");
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
}
