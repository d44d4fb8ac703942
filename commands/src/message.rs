//! The platform-neutral message model, and its plain-text rendering.
//!
//! Adapters turn a [`Message`] into Block Kit, Discord embeds or console text; the core
//! only ever builds these values.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::model::ApprovalId;

/// How a message should look at a glance (colour, emoji).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    #[default]
    Info,
    Success,
    Warning,
    Danger,
}

impl Tone {
    pub fn emoji(self) -> &'static str {
        match self {
            Tone::Info => "ℹ️",
            Tone::Success => "✅",
            Tone::Warning => "⚠️",
            Tone::Danger => "🛑",
        }
    }
}

/// Who sees a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// In the thread, for everyone.
    #[default]
    Thread,
    /// Only to the person who triggered it (their own mistakes, refused votes).
    Ephemeral,
}

/// A button on an approval card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub label: String,
    /// `approve:<id>` / `deny:<id>`: stateless, any replica can handle the click.
    pub action: String,
    pub style: Tone,
}

impl Button {
    pub fn approve(id: &ApprovalId) -> Self {
        Self {
            label: "Approve".into(),
            action: format!("approve:{id}"),
            style: Tone::Success,
        }
    }
    pub fn deny(id: &ApprovalId) -> Self {
        Self {
            label: "Deny".into(),
            action: format!("deny:{id}"),
            style: Tone::Danger,
        }
    }
}

/// A file posted with a message (a chart, a long log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub filename: String,
    pub mime: String,
    #[serde(skip)]
    pub bytes: Vec<u8>,
    pub title: String,
}

/// One block of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Header {
        text: String,
    },
    Text {
        text: String,
    },
    Fields {
        fields: Vec<(String, String)>,
    },
    Table {
        headers: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    Code {
        text: String,
    },
    Context {
        text: String,
    },
    Actions {
        buttons: Vec<Button>,
    },
    Divider,
}

/// A message, before any platform sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Message {
    pub tone: Tone,
    pub visibility: Visibility,
    pub blocks: Vec<Block>,
    pub attachments: Vec<Attachment>,
}

impl Message {
    pub fn new(tone: Tone) -> Self {
        Self {
            tone,
            ..Self::default()
        }
    }

    /// A one-paragraph message.
    pub fn text(tone: Tone, text: impl Into<String>) -> Self {
        Self::new(tone).paragraph(text)
    }

    pub fn ephemeral(mut self) -> Self {
        self.visibility = Visibility::Ephemeral;
        self
    }

    pub fn header(mut self, text: impl Into<String>) -> Self {
        self.blocks.push(Block::Header { text: text.into() });
        self
    }

    pub fn paragraph(mut self, text: impl Into<String>) -> Self {
        self.blocks.push(Block::Text { text: text.into() });
        self
    }

    pub fn fields<K: Into<String>, V: Into<String>>(
        mut self,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.blocks.push(Block::Fields {
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        });
        self
    }

    pub fn table(mut self, headers: &[&str], rows: Vec<Vec<String>>) -> Self {
        self.blocks.push(Block::Table {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows,
        });
        self
    }

    pub fn code(mut self, text: impl Into<String>) -> Self {
        self.blocks.push(Block::Code { text: text.into() });
        self
    }

    pub fn context(mut self, text: impl Into<String>) -> Self {
        self.blocks.push(Block::Context { text: text.into() });
        self
    }

    pub fn buttons(mut self, buttons: Vec<Button>) -> Self {
        self.blocks.push(Block::Actions { buttons });
        self
    }

    pub fn attach(mut self, attachment: Attachment) -> Self {
        self.attachments.push(attachment);
        self
    }

    /// All text in the message, for searching in tests and for secret scanning.
    pub fn plain_text(&self) -> String {
        render_text(self)
    }
}

/// Renders a message as plain text (console, logs, fallbacks for notifications).
pub fn render_text(m: &Message) -> String {
    let mut out = String::new();
    for (i, b) in m.blocks.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match b {
            Block::Header { text } => {
                let _ = write!(out, "{} {text}", m.tone.emoji());
            }
            Block::Text { text } | Block::Context { text } => out.push_str(text),
            Block::Fields { fields } => {
                let width = fields
                    .iter()
                    .map(|(k, _)| k.chars().count())
                    .max()
                    .unwrap_or(0);
                for (j, (k, v)) in fields.iter().enumerate() {
                    if j > 0 {
                        out.push('\n');
                    }
                    let _ = write!(out, "  {k:<width$}  {v}");
                }
            }
            Block::Table { headers, rows } => out.push_str(&render_table(headers, rows)),
            Block::Code { text } => {
                for (j, line) in text.lines().enumerate() {
                    if j > 0 {
                        out.push('\n');
                    }
                    let _ = write!(out, "  | {line}");
                }
            }
            Block::Actions { buttons } => {
                let labels: Vec<String> =
                    buttons.iter().map(|b| format!("[{}]", b.label)).collect();
                out.push_str(&labels.join(" "));
            }
            Block::Divider => out.push_str("  ---"),
        }
    }
    for a in &m.attachments {
        let _ = write!(
            out,
            "\n  📎 {} ({}, {} bytes)",
            a.filename,
            a.title,
            a.bytes.len()
        );
    }
    out
}

/// A fixed-width table, each column as wide as its widest cell.
pub fn render_table(headers: &[String], rows: &[Vec<String>]) -> String {
    let cols = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::from(" ");
        for (i, w) in widths.iter().enumerate() {
            let c = cells.get(i).map(String::as_str).unwrap_or("");
            let pad = w.saturating_sub(c.chars().count());
            let _ = write!(s, " {c}{}", " ".repeat(pad));
            if i + 1 < cols {
                s.push(' ');
            }
        }
        s.trim_end().to_owned()
    };
    let mut out = line(headers);
    for r in rows {
        out.push('\n');
        out.push_str(&line(r));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rendering_aligns_fields_and_tables() {
        let m = Message::new(Tone::Success)
            .header("Scaled agent-engine")
            .fields([("replicas", "2 → 5"), ("namespace", "voiceassistant-prod")])
            .table(
                &["POD", "STATUS"],
                vec![vec!["a-1".into(), "Running".into()]],
            );
        let text = render_text(&m);
        assert_eq!(
            text,
            "✅ Scaled agent-engine\n  replicas   2 → 5\n  namespace  voiceassistant-prod\n  POD  STATUS\n  a-1  Running"
        );
    }
}
