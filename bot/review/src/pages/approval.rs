//! One approval request: the plan approvers saw, the votes, what ran.

use std::fmt::Write as _;

use serde_json::Value;
use vabot_commands::approval::{ApprovalRequest, Verdict};
use vabot_commands::store::{AuditEvent, EventKind, ExecutionRecord, PostedMessage};
use vabot_store::export::{chat_link, human, incidents, scrub};
use vabot_store::stamp;

use super::{card_link, ext_link, pretty};
use crate::html::{Esc, enc, layout};

pub fn approval(
    req: &ApprovalRequest,
    all: &[AuditEvent],
    execution: Option<&ExecutionRecord>,
    card: Option<&PostedMessage>,
) -> String {
    let id = req.id.as_str();
    let status = req.status.as_str();
    let related: Vec<&AuditEvent> = all
        .iter()
        .filter(|e| {
            e.data.get("approval").and_then(Value::as_str) == Some(id)
                || (e.invocation.as_ref() == Some(&req.invocation)
                    && !matches!(e.kind, EventKind::Permitted))
        })
        .collect();
    let incident = related.first().and_then(|first| {
        incidents(all).into_iter().find(|i| {
            i.channel == first.channel.key()
                && first.seq >= i.start_seq
                && i.end_seq.is_none_or(|end| first.seq <= end)
        })
    });
    let back = match &incident {
        Some(i) => format!(
            "<a href=\"/review/timeline?incident={}\">{}</a>",
            enc(&i.id),
            Esc(&i.title)
        ),
        None => format!(
            "<a class=\"mono\" href=\"/review/timeline?channel={}\">{}</a>",
            enc(&req.channel.key()),
            Esc(&req.channel.key())
        ),
    };
    let mut b =
        format!("<div class=\"crumb\"><a href=\"/review\">Review</a> / {back} / approval</div>");
    let _ = write!(
        b,
        "<h1 class=\"out-{s}\">Approval <span class=\"mono\">{}</span> <span class=\"badge out\" data-status=\"{s}\">{s}</span></h1><div class=\"meta\"><span>{}</span></div>",
        Esc(id),
        Esc(&scrub(&req.plan.summary)),
        s = Esc(status)
    );
    if let Some(link) = card.and_then(|c| card_link(req, c)) {
        let _ = write!(
            b,
            "<p class=\"note\">{}</p>",
            ext_link(&link, "approval card in chat")
        );
    }

    b.push_str("<h2>Request</h2><dl class=\"facts\">");
    let approvers = if req.rule.approvers.is_empty() {
        "any approver".to_owned()
    } else {
        req.rule.approvers.join(", ")
    };
    let expiry_note = match req.votes.iter().map(|v| v.at).max() {
        Some(last) if last <= req.expires_at => "decided in time",
        _ if req.status.as_str() == "expired" => "expired unapproved",
        _ => "",
    };
    for (k, v) in [
        ("Requested by", req.requester.user.to_string()),
        (
            "Requested at",
            format!("{} UTC", human(&stamp(&req.created_at))),
        ),
        ("Channel", req.channel.key()),
        (
            "Rule",
            format!(
                "{} approval(s) from {approvers}{}",
                req.rule.approvals,
                if req.rule.exclude_requester {
                    "; the requester's own vote never counts"
                } else {
                    ""
                }
            ),
        ),
        (
            "Expires",
            format!(
                "{} UTC{}",
                human(&stamp(&req.expires_at)),
                if expiry_note.is_empty() {
                    String::new()
                } else {
                    format!(" · {expiry_note}")
                }
            ),
        ),
        ("Outcome", status.to_owned()),
    ] {
        let _ = write!(b, "<dt>{k}</dt><dd>{}</dd>", Esc(&v));
    }
    b.push_str("</dl>");

    b.push_str("<h2>Plan</h2><dl class=\"facts\">");
    let _ = write!(
        b,
        "<dt>Action</dt><dd>{}</dd><dt>Risk</dt><dd><span class=\"badge risk-{r}\">{r}</span></dd>",
        Esc(&scrub(&req.plan.summary)),
        r = Esc(&req.plan.risk.to_string())
    );
    if let Some(t) = &req.plan.target {
        let _ = write!(
            b,
            "<dt>Target</dt><dd class=\"mono\">{}</dd>",
            Esc(&t.to_string())
        );
    }
    if let Some(f) = &req.plan.fingerprint {
        let _ = write!(
            b,
            "<dt>Bound to version</dt><dd class=\"mono\">{}</dd>",
            Esc(f)
        );
    }
    for n in &req.plan.notes {
        let _ = write!(b, "<dt>Note</dt><dd>{}</dd>", Esc(&scrub(n)));
    }
    b.push_str("</dl>");
    if !req.plan.changes.is_empty() {
        b.push_str("<table style=\"margin-top:10px\" data-plan><tr><th>Field</th><th>Before</th><th></th><th>After</th></tr>");
        for c in &req.plan.changes {
            let _ = write!(
                b,
                "<tr><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td class=\"arrow\">→</td><td class=\"mono\">{}</td></tr>",
                Esc(&c.field),
                Esc(&scrub(&c.before)),
                Esc(&scrub(&c.after))
            );
        }
        b.push_str("</table>");
    }

    b.push_str("<h2>Votes</h2>");
    if req.votes.is_empty() {
        b.push_str("<p class=\"empty\">No votes were cast.</p>");
    } else {
        b.push_str("<table data-votes><tr><th>Who</th><th>Verdict</th><th>When (UTC)</th><th>Via</th></tr>");
        for v in &req.votes {
            let (verdict, cls) = match v.verdict {
                Verdict::Approve => ("approved", "out-executed"),
                Verdict::Deny => ("denied", "out-denied"),
            };
            let _ = write!(
                b,
                "<tr class=\"{cls}\"><td><b>{}</b></td><td><span class=\"badge out\">{verdict}</span></td><td>{}</td><td>{}</td></tr>",
                Esc(&v.voter.user.to_string()),
                Esc(&human(&stamp(&v.at))),
                Esc(&v.via)
            );
        }
        b.push_str("</table>");
    }

    b.push_str("<h2>Execution</h2>");
    match execution {
        None => b.push_str("<p class=\"empty\">Not executed.</p>"),
        Some(x) => {
            let result = match x.succeeded {
                Some(true) => "succeeded",
                Some(false) => "failed",
                None => "interrupted (no result recorded)",
            };
            b.push_str("<dl class=\"facts\">");
            let _ = write!(
                b,
                "<dt>Started</dt><dd>{} UTC</dd><dt>Finished</dt><dd>{}</dd><dt>Result</dt><dd>{} · {}</dd>",
                Esc(&human(&stamp(&x.started_at))),
                Esc(&x
                    .finished_at
                    .map(|f| format!("{} UTC", human(&stamp(&f))))
                    .unwrap_or_else(|| "–".into())),
                result,
                Esc(&scrub(&x.summary))
            );
            b.push_str("</dl>");
            if x.before.is_some() || x.after.is_some() {
                let _ = write!(
                    b,
                    "<div style=\"display:grid;grid-template-columns:1fr 1fr;gap:12px;margin-top:10px\"><div><div class=\"k\">Before</div><pre>{}</pre></div><div><div class=\"k\">After</div><pre>{}</pre></div></div>",
                    Esc(&x.before.as_ref().map(pretty).unwrap_or_default()),
                    Esc(&x.after.as_ref().map(pretty).unwrap_or_default())
                );
            }
        }
    }

    b.push_str("<h2>Audit records</h2><table><tr><th class=\"num\">Seq</th><th>Time (UTC)</th><th>Who</th><th>Event</th><th>Summary</th></tr>");
    for e in &related {
        let _ = write!(
            b,
            "<tr><td class=\"num mono\">{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
            e.seq,
            Esc(&human(&stamp(&e.at))),
            Esc(&e
                .actor
                .as_ref()
                .map(|a| a.user.to_string())
                .unwrap_or_else(|| "vabot".into())),
            Esc(e.kind.as_str()),
            Esc(&scrub(&e.summary))
        );
    }
    b.push_str("</table>");
    if let Some(link) = chat_link(&req.channel) {
        let _ = write!(
            b,
            "<p class=\"note\">{}</p>",
            ext_link(&link, "thread in chat")
        );
    }
    layout(&format!("Approval {id}"), &b)
}
