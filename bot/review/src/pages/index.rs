//! The index: channels and incidents with a timeline.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use vabot_commands::store::{AuditEvent, EventKind};
use vabot_store::export::{Chain, incidents};
use vabot_store::stamp;

use super::{chain_banner, platform_name};
use crate::html::{Esc, clock, day_minute, enc, layout};

// === Index ===

pub fn index(events: &[AuditEvent], head: Option<(u64, &str)>) -> String {
    let chain = Chain::verify(events, head);
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>Post-incident review</h1><p class=\"meta\">Incidents and channels, from the audit log: who ran what, who approved, what changed, and what people pinned.</p>{}",
        chain_banner(&chain)
    );

    let incs = incidents(events);
    let _ = write!(b, "<h2>Incidents</h2>");
    if incs.is_empty() {
        b.push_str("<p class=\"empty\">No incidents yet. Start one in a channel with <code>/va incident start &lt;title&gt;</code>.</p>");
    } else {
        b.push_str("<div class=\"cards\">");
        for i in incs.iter().rev() {
            let inside: Vec<&AuditEvent> = events
                .iter()
                .filter(|e| {
                    e.channel.key() == i.channel
                        && e.seq >= i.start_seq
                        && i.end_seq.is_none_or(|end| e.seq <= end)
                })
                .collect();
            let commands = inside
                .iter()
                .filter(|e| e.kind == EventKind::Invocation)
                .count();
            let pins = inside
                .iter()
                .filter(|e| e.kind == EventKind::MessagePinned)
                .count();
            let approvals = inside
                .iter()
                .filter(|e| e.kind == EventKind::ApprovalRequested)
                .count();
            let (cls, state) = match &i.ended_at {
                Some(_) => (
                    "out-executed",
                    format!(
                        "{} · {}",
                        Esc(&day_minute(&i.started_at)),
                        Esc(&i.duration())
                    ),
                ),
                None => (
                    "out-pending",
                    format!("{} · ongoing", Esc(&day_minute(&i.started_at))),
                ),
            };
            let _ = write!(
                b,
                "<a class=\"inc {cls}\" href=\"/review/timeline?incident={}\"><div class=\"t\">{}</div><div class=\"m\">{} · <span class=\"mono\">{}</span></div><div class=\"m\">{state} UTC</div><div class=\"m\">{commands} commands · {approvals} approvals · {pins} pinned messages · started by {}</div></a>",
                enc(&i.id),
                Esc(&i.title),
                platform_name(&i.channel),
                Esc(&i.channel),
                Esc(&i.started_by),
            );
        }
        b.push_str("</div>");
    }

    #[derive(Default)]
    struct Ch {
        events: usize,
        commands: usize,
        pins: usize,
        first: String,
        last: String,
    }
    let mut channels: BTreeMap<String, Ch> = BTreeMap::new();
    for e in events {
        let c = channels.entry(e.channel.key()).or_default();
        c.events += 1;
        c.commands += usize::from(e.kind == EventKind::Invocation);
        c.pins += usize::from(e.kind == EventKind::MessagePinned);
        if c.first.is_empty() {
            c.first = stamp(&e.at);
        }
        c.last = stamp(&e.at);
    }
    b.push_str("<h2>Channels</h2>");
    if channels.is_empty() {
        b.push_str("<p class=\"empty\">Nothing recorded yet.</p>");
    } else {
        b.push_str("<table><tr><th>Channel</th><th>Platform</th><th class=\"num\">Commands</th><th class=\"num\">Pins</th><th class=\"num\">Records</th><th>Active</th></tr>");
        for (key, c) in &channels {
            let _ = write!(
                b,
                "<tr><td><a class=\"mono\" href=\"/review/timeline?channel={}\">{}</a></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{} → {}</td></tr>",
                enc(key),
                Esc(key),
                platform_name(key),
                c.commands,
                c.pins,
                c.events,
                Esc(&day_minute(&c.first)),
                Esc(clock(&c.last)),
            );
        }
        b.push_str("</table>");
    }
    layout("Post-incident review", &b)
}
