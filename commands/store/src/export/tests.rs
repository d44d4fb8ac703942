use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use vabot_commands::model::{Actor, ChannelRef, InvocationId, Platform};
use vabot_commands::pins::ChatMessage;
use vabot_commands::store::NewEvent;
use vabot_commands::store::{AuditEvent, EventKind};

use super::csv::csv_cell;
use super::*;
use crate::stamp;

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
        md.contains("## Pinned messages\n\n> **Dave** at 2026-12-01 10:04:00 UTC: it is the pool"),
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
