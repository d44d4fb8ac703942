//! The timeline as Markdown, for the post-incident write-up.

use super::timeline::{Entry, Timeline};

/// `2026-12-01 10:02:11` from a stored stamp (seconds are enough for a reader).
pub fn human(stamp: &str) -> String {
    let s = stamp.replace('T', " ");
    s.split('.')
        .next()
        .unwrap_or(&s)
        .trim_end_matches('Z')
        .to_owned()
}

pub(crate) fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

pub(crate) fn md_text(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

pub(crate) fn md_code(s: &str) -> String {
    s.replace('`', "'")
}

impl Timeline {
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
