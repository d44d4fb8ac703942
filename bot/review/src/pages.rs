//! The pages: index, timeline, approval detail. Each is a pure function from records to
//! HTML, so it is tested without a server.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::Value;
use vabot_commands::approval::{ApprovalRequest, Verdict};
use vabot_commands::model::Platform;
use vabot_commands::store::{AuditEvent, EventKind, ExecutionRecord, PostedMessage};
use vabot_store::export::{
    Chain, Entry, Filter, Timeline, chat_link, human, incidents, redact, scrub,
};
use vabot_store::stamp;

use crate::html::{Esc, clock, day_minute, enc, layout, safe_link};

// === Shared pieces ===

fn chain_banner(chain: &Chain) -> String {
    match (chain.intact, chain.broken_at, &chain.detail) {
        (true, _, _) => format!(
            "<div class=\"chain ok\" data-chain=\"intact\">✓ Audit chain intact · {} records verified</div>",
            chain.records
        ),
        (false, seq, detail) => format!(
            "<div class=\"chain broken\" data-chain=\"broken\" role=\"alert\"><div>⚠ Audit chain broken at seq {}<small>{}. Records from there on cannot be trusted as written; run <code>vabot audit verify</code>.</small></div></div>",
            seq.map(|s| s.to_string()).unwrap_or_else(|| "?".into()),
            Esc(detail.as_deref().unwrap_or("the chain does not verify"))
        ),
    }
}

fn platform_name(key: &str) -> &str {
    match key.split(':').next() {
        Some("slack") => "Slack",
        Some("discord") => "Discord",
        _ => "Console",
    }
}

fn ext_link(url: &str, label: &str) -> String {
    match safe_link(url) {
        Some(u) => format!(
            "<a href=\"{}\" rel=\"noreferrer noopener\" target=\"_blank\">{} ↗</a>",
            Esc(u),
            Esc(label)
        ),
        None => String::new(),
    }
}

fn outcome_label(o: &str) -> &str {
    match o {
        "ok" => "done",
        "changed" => "changed",
        "pending" => "awaiting approval",
        "voted" => "vote",
        "refused" => "vote refused",
        other => other,
    }
}

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

// === Timeline ===

/// Rows of the timeline as a reader sees them: one card per command (with the steps it
/// led to, including those a vote on it triggered), a pinned message, or an incident
/// marker.
enum Row<'a> {
    Pin(&'a Entry),
    Marker(&'a Entry),
    Action {
        entries: Vec<&'a Entry>,
        invocations: BTreeSet<&'a str>,
    },
}

fn rows(entries: &[Entry]) -> Vec<Row<'_>> {
    let requested: BTreeMap<&str, &str> = entries
        .iter()
        .filter(|e| e.event == "approval_requested" && !e.approval.is_empty())
        .map(|e| (e.approval.as_str(), e.invocation.as_str()))
        .collect();
    let mut out: Vec<Row<'_>> = Vec::new();
    for e in entries {
        match e.event.as_str() {
            "message" => out.push(Row::Pin(e)),
            "incident_started" | "incident_ended" => out.push(Row::Marker(e)),
            // Shown as the risk badge; the `incident …` command itself is the marker.
            "permitted" => {}
            _ if e.outcome == "incident" => {}
            ev => {
                let joins = matches!(out.last(), Some(Row::Action { invocations, .. })
                    if ev != "invocation" && invocations.contains(e.invocation.as_str()));
                if !joins {
                    out.push(Row::Action {
                        entries: Vec::new(),
                        invocations: BTreeSet::from([e.invocation.as_str()]),
                    });
                }
                if let Some(Row::Action {
                    entries,
                    invocations,
                }) = out.last_mut()
                {
                    entries.push(e);
                    if ev == "vote"
                        && let Some(original) = requested.get(e.approval.as_str())
                    {
                        invocations.insert(*original);
                    }
                }
            }
        }
    }
    out
}

fn approval_link(id: &str) -> String {
    format!(
        "<a class=\"mono\" href=\"/review/approvals/{}\">{}</a>",
        enc(id),
        Esc(id)
    )
}

fn step(e: &Entry) -> String {
    let (label, cls) = match e.event.as_str() {
        "invocation" => ("command", ""),
        "planned" => ("plan", ""),
        "approval_requested" => ("approval", ""),
        "vote" => ("vote", ""),
        "approval_decided" => ("decision", ""),
        "execution_started" => ("executing", ""),
        "execution_finished" => ("result", ""),
        "execution_failed" => ("error", "err"),
        "denied" => ("denied", "err"),
        "rejected" => ("rejected", "err"),
        "vote_refused" => ("refused", "err"),
        "chart_posted" => ("chart", ""),
        other => (other, ""),
    };
    let mut text = if e.event == "approval_requested" && !e.approval.is_empty() {
        let rest = e
            .summary
            .strip_prefix(e.approval.as_str())
            .unwrap_or(&e.summary);
        format!("{}{}", approval_link(&e.approval), Esc(rest))
    } else {
        Esc(&e.summary).to_string()
    };
    if !e.change.is_empty() && e.event != "approval_requested" {
        let _ = write!(text, " <span class=\"chg\">{}</span>", Esc(&e.change));
    }
    if !e.file.is_empty() {
        // Served from the store only if its bytes still hash to what the log recorded.
        let _ = write!(
            text,
            "<figure class=\"chart\"><a href=\"/review/files/{0}\"><img src=\"/review/files/{0}\" alt=\"{1}\" loading=\"lazy\"></a></figure>",
            enc(&e.file),
            Esc(&e.summary)
        );
    }
    format!(
        "<li><span class=\"st\" title=\"seq {}\">{}</span><span class=\"k\">{label}</span><span class=\"{cls}\">{text}</span></li>",
        e.seq,
        Esc(clock(&e.at))
    )
}

fn action_card(entries: &[&Entry]) -> String {
    let Some(head) = entries.first() else {
        return String::new();
    };
    let outcome = head.outcome.as_str();
    let mut b = format!(
        "<li class=\"row out-{}\" data-user=\"{}\" data-command=\"{}\" data-outcome=\"{}\"><time>{}</time><div class=\"card\"><div class=\"head\"><span class=\"who\">{}</span>",
        Esc(outcome),
        Esc(&head.user),
        Esc(&head.command),
        Esc(outcome),
        Esc(clock(&head.at)),
        Esc(&head.who)
    );
    if head.event == "invocation" {
        let _ = write!(b, "<code class=\"cmd\">{}</code>", Esc(&head.summary));
    } else {
        let _ = write!(b, "<span>{}</span>", Esc(&head.summary));
    }
    if !head.risk.is_empty() {
        let _ = write!(
            b,
            "<span class=\"badge risk-{}\">{}</span>",
            Esc(&head.risk),
            Esc(&head.risk)
        );
    }
    let _ = write!(
        b,
        "<span class=\"badge out\">{}</span>",
        Esc(outcome_label(outcome))
    );
    let approvals: BTreeSet<&str> = entries
        .iter()
        .filter(|e| !e.approval.is_empty())
        .map(|e| e.approval.as_str())
        .collect();
    let mut right: Vec<String> = approvals.iter().map(|a| approval_link(a)).collect();
    if !head.link.is_empty() {
        right.push(ext_link(&head.link, "thread"));
    }
    if !right.is_empty() {
        let _ = write!(b, "<span class=\"right\">{}</span>", right.join(" · "));
    }
    b.push_str("</div>");
    // The command itself is the head; everything after it is a step.
    let steps: Vec<&&Entry> = entries
        .iter()
        .skip(usize::from(head.event == "invocation"))
        .collect();
    if !steps.is_empty() {
        b.push_str("<ul class=\"steps\">");
        for e in steps {
            b.push_str(&step(e));
        }
        b.push_str("</ul>");
    }
    if head.command == "prom" {
        b.push_str("<p class=\"note\">A chart was posted with this reply in the chat; vabot keeps no copy of posted files, so open the thread to see it.</p>");
    }
    b.push_str("</div></li>");
    b
}

fn pin_card(e: &Entry) -> String {
    format!(
        "<li class=\"row pin out-pinned\" data-user=\"{}\" data-outcome=\"pinned\"><time>{}</time><div class=\"card\"><div class=\"head\"><span class=\"who\">{}</span><span class=\"badge out\">📌 pinned message</span><span class=\"right\">{}</span></div><p class=\"quote\">{}</p><div class=\"by\">said {} UTC · pinned by {}</div></div></li>",
        Esc(&e.user),
        Esc(clock(&e.at)),
        Esc(&e.who),
        ext_link(&e.link, "message"),
        Esc(&e.summary),
        Esc(&human(&e.at)),
        Esc(&e.pinned_by)
    )
}

fn marker(e: &Entry) -> String {
    let what = if e.event == "incident_started" {
        "Incident started"
    } else {
        "Incident ended"
    };
    format!(
        "<li class=\"marker out-incident\"><time>{}</time><div class=\"card\"><b>{what}</b> · {} · <span class=\"by\">{}</span></div></li>",
        Esc(clock(&e.at)),
        Esc(&e.summary),
        Esc(&e.who)
    )
}

fn select(name: &str, label: &str, options: &BTreeSet<String>, current: &Option<String>) -> String {
    let mut b = format!("<label>{label}<select name=\"{name}\"><option value=\"\">any</option>");
    for o in options {
        let sel = if current.as_deref() == Some(o.as_str()) {
            " selected"
        } else {
            ""
        };
        let _ = write!(b, "<option value=\"{}\"{sel}>{}</option>", Esc(o), Esc(o));
    }
    b.push_str("</select></label>");
    b
}

/// `t` unfiltered (for the filter choices); `filter` selects what is shown; `scope_q`
/// and `full_q` are the query strings of this view without and with the filters.
pub fn timeline(t: &Timeline, filter: &Filter, scope_q: &str, full_q: &str) -> String {
    let options = |f: fn(&Entry) -> &str| -> BTreeSet<String> {
        t.entries
            .iter()
            .map(f)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let users = options(|e| e.user.as_str());
    let commands = options(|e| e.command.as_str());
    let risks = options(|e| e.risk.as_str());
    let outcomes = options(|e| e.outcome.as_str());
    let shown = t.clone().filtered(filter);

    let mut b = String::from("<div class=\"crumb\"><a href=\"/review\">Review</a> / ");
    let _ = write!(b, "<span class=\"mono\">{}</span></div>", Esc(&t.channel));
    let _ = write!(b, "<h1>{}</h1><div class=\"meta\">", Esc(&t.title));
    let _ = write!(b, "<span>{}</span>", platform_name(&t.channel));
    if let Some(i) = &t.incident {
        let _ = write!(
            b,
            "<span><b>Started</b> {} UTC by {}</span>",
            Esc(&human(&i.started_at)),
            Esc(&i.started_by)
        );
        match (&i.ended_at, &i.ended_by) {
            (Some(at), Some(by)) => {
                let _ = write!(
                    b,
                    "<span><b>Ended</b> {} by {} · {}</span>",
                    Esc(clock(at)),
                    Esc(by),
                    Esc(&i.duration())
                );
            }
            _ => b.push_str("<span><b>Ongoing</b></span>"),
        }
        if let Some(link) = &i.link {
            b.push_str(&format!("<span>{}</span>", ext_link(link, "open in chat")));
        }
    }
    for (k, v) in [
        ("Thread", &t.thread),
        ("Since", &t.since),
        ("Until", &t.until),
    ] {
        if let Some(v) = v {
            let _ = write!(b, "<span><b>{k}</b> {}</span>", Esc(&human(v)));
        }
    }
    let commands_n = t.entries.iter().filter(|e| e.event == "invocation").count();
    let pins_n = t.entries.iter().filter(|e| e.event == "message").count();
    let _ = write!(
        b,
        "<span>{commands_n} commands · {pins_n} pinned messages</span></div>{}",
        chain_banner(&t.chain)
    );

    // The filter bar: a plain GET form, so it works without script and links are shareable.
    b.push_str("<form class=\"bar\" method=\"get\" action=\"/review/timeline\">");
    for (k, v) in [
        ("incident", t.incident.as_ref().map(|i| i.id.clone())),
        ("channel", t.incident.is_none().then(|| t.channel.clone())),
        ("thread", t.thread.clone()),
        ("since", t.since.clone()),
        ("until", t.until.clone()),
    ] {
        if let Some(v) = v {
            let _ = write!(
                b,
                "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
                Esc(&v)
            );
        }
    }
    b.push_str(&select("user", "User", &users, &filter.user));
    b.push_str(&select("command", "Command", &commands, &filter.command));
    b.push_str(&select("risk", "Risk", &risks, &filter.risk));
    b.push_str(&select("outcome", "Outcome", &outcomes, &filter.outcome));
    let _ = write!(
        b,
        "<button class=\"btn primary\" type=\"submit\">Apply</button><a class=\"btn\" href=\"/review/timeline?{}\">Clear</a><span class=\"spacer\"></span><span class=\"exports\">Export <a class=\"btn\" href=\"/review/export.md?{q}\" download>Markdown</a><a class=\"btn\" href=\"/review/export.json?{q}\" download>JSON</a><a class=\"btn\" href=\"/review/export.csv?{q}\" download>CSV</a></span></form>",
        Esc(scope_q),
        q = Esc(full_q)
    );
    if !filter.is_empty() {
        let _ = write!(
            b,
            "<p class=\"note\" data-filter=\"{f}\">Showing {} of {} entries where {f}.</p>",
            shown.entries.len(),
            t.entries.len(),
            f = Esc(&filter.describe())
        );
    }

    let rows = rows(&shown.entries);
    if rows.is_empty() {
        b.push_str("<p class=\"empty\">Nothing matches these filters.</p>");
    } else {
        b.push_str("<ol class=\"tl\">");
        for r in &rows {
            b.push_str(&match r {
                Row::Pin(e) => pin_card(e),
                Row::Marker(e) => marker(e),
                Row::Action { entries, .. } => action_card(entries),
            });
        }
        b.push_str("</ol>");
    }
    layout(&t.title, &b)
}

// === Approval detail ===

fn card_link(req: &ApprovalRequest, card: &PostedMessage) -> Option<String> {
    let ws = req.channel.workspace.as_str();
    match card.platform {
        Platform::Discord => Some(format!(
            "https://discord.com/channels/{}/{}/{}",
            if ws.is_empty() { "@me" } else { ws },
            card.channel,
            card.message
        )),
        Platform::Slack if !ws.is_empty() => {
            let ts = card.thread.as_deref().unwrap_or(&card.message);
            Some(format!(
                "https://app.slack.com/client/{ws}/{ch}/thread/{ch}-{ts}",
                ch = card.channel
            ))
        }
        _ => None,
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(&redact(v)).unwrap_or_default()
}

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
