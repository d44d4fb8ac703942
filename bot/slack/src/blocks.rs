//! `Message` → Block Kit. Pure: the same message always gives the same payload, which
//! the snapshot tests pin.
//!
//! Blocks are written as JSON (the shape Slack documents) and then read into
//! slack-morphism's own `SlackBlock` type, so a block Slack's model would not accept
//! fails here, in a test, rather than at Slack.

use serde_json::{Value, json};
use slack_morphism::prelude::{SlackBlock, SlackMessageContent};
use vabot_commands::message::{
    Attachment, Block, Button, Message, Tone, render_table, render_text,
};

/// Slack's limits (https://api.slack.com/reference/block-kit/blocks).
const MAX_BLOCKS: usize = 50;
const MAX_SECTION_TEXT: usize = 3000;
const MAX_HEADER_TEXT: usize = 150;
const MAX_FIELDS: usize = 10;
const MAX_FIELD_TEXT: usize = 2000;
const MAX_FALLBACK_TEXT: usize = 3000;
/// Code longer than this is shown as a preview, and posted whole as a file.
const MAX_CODE_INLINE: usize = 2800;
const PREVIEW_LINES: usize = 25;

/// A rendered message: the chat payload and the files to upload into the same thread.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub content: SlackMessageContent,
    pub files: Vec<Attachment>,
}

/// The Slack emoji for a tone.
pub fn tone_emoji(tone: Tone) -> &'static str {
    match tone {
        Tone::Info => ":information_source:",
        Tone::Success => ":white_check_mark:",
        Tone::Warning => ":warning:",
        Tone::Danger => ":octagonal_sign:",
    }
}

/// Escapes the three characters Slack's mrkdwn treats as control characters.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn mrkdwn(text: &str) -> Value {
    json!({"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)})
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": mrkdwn(text)})
}

fn code_block(text: &str) -> String {
    // Triple backticks inside the text would end the block early.
    format!("```\n{}\n```", escape(text).replace("```", "`\u{200b}``"))
}

/// Renders a message. `files` collects the attachments plus any code too long to show.
pub fn render(message: &Message) -> Result<Rendered, serde_json::Error> {
    let mut blocks: Vec<Value> = Vec::new();
    let mut files = message.attachments.clone();
    let has_header = message
        .blocks
        .iter()
        .any(|b| matches!(b, Block::Header { .. }));
    let mut toned = has_header;
    for (i, b) in message.blocks.iter().enumerate() {
        match b {
            Block::Header { text } => blocks.push(json!({
                "type": "header",
                "text": {"type": "plain_text", "text": truncate(&format!("{} {text}", message.tone.emoji()), MAX_HEADER_TEXT), "emoji": true}
            })),
            Block::Text { text } => {
                let text = escape(text);
                let text = if toned {
                    text
                } else {
                    // No header: the first paragraph carries the tone.
                    toned = true;
                    format!("{} {text}", tone_emoji(message.tone))
                };
                blocks.push(section(&text));
            }
            Block::Fields { fields } => {
                for chunk in fields.chunks(MAX_FIELDS) {
                    let fields: Vec<Value> = chunk
                        .iter()
                        .map(|(k, v)| {
                            json!({"type": "mrkdwn", "text": truncate(&format!("*{}*\n{}", escape(k), escape(v)), MAX_FIELD_TEXT)})
                        })
                        .collect();
                    blocks.push(json!({"type": "section", "fields": fields}));
                }
            }
            Block::Table { headers, rows } => {
                code(&mut blocks, &mut files, &render_table(headers, rows), "table", i);
            }
            Block::Code { text } => code(&mut blocks, &mut files, text, "output", i),
            Block::Context { text } => blocks.push(json!({
                "type": "context",
                "elements": [mrkdwn(&escape(text))]
            })),
            Block::Actions { buttons } => blocks.push(json!({
                "type": "actions",
                "block_id": "approval",
                "elements": buttons.iter().map(button).collect::<Vec<_>>()
            })),
            Block::Divider => blocks.push(json!({"type": "divider"})),
        }
    }
    if blocks.len() > MAX_BLOCKS {
        blocks.truncate(MAX_BLOCKS - 1);
        blocks.push(json!({"type": "context", "elements": [mrkdwn("… the rest of this message was too long for Slack")]}));
    }
    let typed: Vec<SlackBlock> = serde_json::from_value(Value::Array(blocks))?;
    // The plain-text rendering already starts a header with the tone's emoji.
    let plain = render_text(message);
    let fallback = if has_header {
        truncate(&plain, MAX_FALLBACK_TEXT)
    } else {
        truncate(
            &format!("{} {plain}", message.tone.emoji()),
            MAX_FALLBACK_TEXT,
        )
    };
    Ok(Rendered {
        content: SlackMessageContent::new()
            .with_text(fallback)
            .with_blocks(typed),
        files,
    })
}

fn code(blocks: &mut Vec<Value>, files: &mut Vec<Attachment>, text: &str, name: &str, i: usize) {
    if text.chars().count() <= MAX_CODE_INLINE {
        blocks.push(section(&code_block(text)));
        return;
    }
    let total = text.lines().count();
    let preview: Vec<&str> = text.lines().take(PREVIEW_LINES).collect();
    let preview = truncate(&preview.join("\n"), MAX_CODE_INLINE);
    blocks.push(section(&code_block(&preview)));
    let filename = format!("{name}-{i}.txt");
    blocks.push(json!({
        "type": "context",
        "elements": [mrkdwn(&format!("Showing the first lines of {total}; the whole {name} is attached as `{filename}`."))]
    }));
    files.push(Attachment {
        filename,
        mime: "text/plain".into(),
        bytes: text.as_bytes().to_vec(),
        title: format!("Full {name} ({total} lines)"),
    });
}

/// `approve:a-123` → a button with `action_id` `approve` and `value` `a-123`.
fn button(b: &Button) -> Value {
    let (action, value) = b.action.split_once(':').unwrap_or((b.action.as_str(), ""));
    let mut v = json!({
        "type": "button",
        "action_id": action,
        "text": {"type": "plain_text", "text": b.label, "emoji": true},
        "value": value,
    });
    let style = match b.style {
        Tone::Success => Some("primary"),
        Tone::Danger => Some("danger"),
        _ => None,
    };
    if let (Some(s), Some(obj)) = (style, v.as_object_mut()) {
        obj.insert("style".into(), json!(s));
    }
    v
}

/// The root message a slash command opens its thread with: who ran what.
pub fn root_message(user: &str, text: &str) -> Result<SlackMessageContent, serde_json::Error> {
    let line = format!(
        "<@{user}> ran `/va {}`",
        escape(text.trim()).replace('`', "'")
    );
    let blocks: Vec<SlackBlock> = serde_json::from_value(json!([section(&line)]))?;
    Ok(SlackMessageContent::new()
        .with_text(format!("{user} ran /va {}", text.trim()))
        .with_blocks(blocks))
}

/// The placeholder a slow command shows until its result replaces it.
pub fn working_message(text: &str) -> Result<SlackMessageContent, serde_json::Error> {
    let line = format!(
        ":hourglass_flowing_sand: Working on `{}`…",
        escape(text.trim()).replace('`', "'")
    );
    let blocks: Vec<SlackBlock> =
        serde_json::from_value(json!([{"type": "context", "elements": [mrkdwn(&line)]}]))?;
    Ok(SlackMessageContent::new()
        .with_text(format!("Working on {}…", text.trim()))
        .with_blocks(blocks))
}

/// A one-line private note, e.g. the acknowledgement of a pin. `line` is mrkdwn the caller
/// built (escaping what users wrote); `fallback` is its plain-text form.
pub fn note(line: &str, fallback: &str) -> Result<SlackMessageContent, serde_json::Error> {
    let blocks: Vec<SlackBlock> =
        serde_json::from_value(json!([{"type": "context", "elements": [mrkdwn(line)]}]))?;
    Ok(SlackMessageContent::new()
        .with_text(truncate(fallback, MAX_FALLBACK_TEXT))
        .with_blocks(blocks))
}
