//! The pages: index, timeline, approval detail. Each is a pure function from records to
//! HTML, so it is tested without a server.

mod approval;
mod index;
mod timeline;

use serde_json::Value;
use vabot_commands::approval::ApprovalRequest;
use vabot_commands::model::Platform;
use vabot_commands::store::PostedMessage;
use vabot_store::export::{Chain, redact};

use crate::html::{Esc, enc, safe_link};

pub use approval::approval;
pub use index::index;
pub use timeline::timeline;

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

fn approval_link(id: &str) -> String {
    format!(
        "<a class=\"mono\" href=\"/review/approvals/{}\">{}</a>",
        enc(id),
        Esc(id)
    )
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
