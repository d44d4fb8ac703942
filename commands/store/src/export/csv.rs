//! The timeline as CSV, one row per entry.

use super::timeline::Timeline;

pub(crate) fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

impl Timeline {
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
}
