//! One incident's or channel's timeline: commands as cards with their steps, pins,
//! filters as query parameters, the chain status, the exports.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use vabot_store::export::{Entry, Filter, Timeline, human};

use super::{approval_link, chain_banner, ext_link, outcome_label, platform_name};
use crate::html::{Esc, clock, enc, layout};

// === Timeline ===

/// Rows of the timeline as a reader sees them: one card per command (with the steps it
/// led to, including those a vote on it triggered), a pinned message, or an incident
/// marker.
pub(crate) enum Row<'a> {
    Pin(&'a Entry),
    Marker(&'a Entry),
    Action {
        entries: Vec<&'a Entry>,
        invocations: BTreeSet<&'a str>,
    },
}

pub(crate) fn rows(entries: &[Entry]) -> Vec<Row<'_>> {
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

pub(crate) fn step(e: &Entry) -> String {
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

pub(crate) fn action_card(entries: &[&Entry]) -> String {
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

pub(crate) fn pin_card(e: &Entry) -> String {
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

pub(crate) fn marker(e: &Entry) -> String {
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

pub(crate) fn select(
    name: &str,
    label: &str,
    options: &BTreeSet<String>,
    current: &Option<String>,
) -> String {
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
