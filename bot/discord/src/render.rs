//! [`Message`] → Discord embeds, buttons and files.
//!
//! One message becomes one embed, coloured by its tone. Headers are titles, paragraphs the
//! description, field blocks embed fields, code and tables code blocks, context the
//! footer; approval buttons become a button row. What does not fit Discord's embed limits
//! (a long log, a wide table) is posted as a text file with a short preview, and charts
//! are attachments shown as the embed's image.

use serde_json::json;
use serenity::all::{
    ButtonStyle, Colour, CreateActionRow, CreateAttachment, CreateButton, CreateEmbed,
    CreateEmbedFooter, CreateInteractionResponseFollowup, CreateInteractionResponseMessage,
    CreateMessage, EditInteractionResponse, EditMessage,
};
use vabot_commands::message::{Block, Message, Tone, Visibility, render_table};

// Discord's embed limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 4096;
const FIELD_NAME_MAX: usize = 256;
const FIELD_VALUE_MAX: usize = 1024;
const FIELDS_MAX: usize = 25;
const FOOTER_MAX: usize = 2048;
/// Code longer than this goes to a file even if the description could hold it: a screen
/// of log in a chat message is harder to read than a file.
const CODE_INLINE_MAX: usize = 1500;
const PREVIEW_LINES: usize = 12;

/// A zero-width space: the name of a field that is really a paragraph.
const BLANK: &str = "\u{200b}";

/// A message as Discord takes it.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub embed: CreateEmbed,
    pub components: Vec<CreateActionRow>,
    pub files: Vec<CreateAttachment>,
    pub ephemeral: bool,
    /// A short plain-text form, for thread names and logs.
    pub summary: String,
}

/// The embed colour of a tone (Discord's own palette).
pub fn colour(tone: Tone) -> Colour {
    Colour::new(match tone {
        Tone::Info => 0x5865F2,
        Tone::Success => 0x57F287,
        Tone::Warning => 0xFEE75C,
        Tone::Danger => 0xED4245,
    })
}

fn button_style(tone: Tone) -> ButtonStyle {
    match tone {
        Tone::Success => ButtonStyle::Success,
        Tone::Danger => ButtonStyle::Danger,
        Tone::Warning => ButtonStyle::Primary,
        Tone::Info => ButtonStyle::Secondary,
    }
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

fn fenced(text: &str) -> String {
    // A ``` inside the text would end the block early.
    format!("```\n{}\n```", text.replace("```", "`\u{200b}``"))
}

struct Builder {
    title: Option<String>,
    description: Vec<String>,
    fields: Vec<(String, String, bool)>,
    footer: Vec<String>,
    files: Vec<CreateAttachment>,
    image: Option<String>,
    buttons: Vec<CreateButton>,
}

impl Builder {
    /// Text goes to the description until fields start, then into blank-named fields, so
    /// the reading order of the message is kept.
    fn text(&mut self, text: String) {
        if self.fields.is_empty()
            || text.chars().count() > FIELD_VALUE_MAX
            || self.fields.len() >= FIELDS_MAX
        {
            self.description.push(text);
        } else {
            self.fields.push((BLANK.to_owned(), text, false));
        }
    }

    fn code(&mut self, text: &str, kind: &str) {
        if text.chars().count() <= CODE_INLINE_MAX {
            self.text(fenced(text));
            return;
        }
        let n = self
            .files
            .iter()
            .filter(|f| f.filename.ends_with(".txt"))
            .count()
            + 1;
        let filename = if n == 1 {
            format!("{kind}.txt")
        } else {
            format!("{kind}-{n}.txt")
        };
        let lines = text.lines().count();
        let preview: Vec<&str> = text.lines().take(PREVIEW_LINES).collect();
        self.text(format!(
            "{}\n📎 {lines} lines; the full text is in `{filename}`.",
            fenced(&cut(&preview.join("\n"), CODE_INLINE_MAX))
        ));
        self.files
            .push(CreateAttachment::bytes(text.as_bytes().to_vec(), filename));
    }
}

/// Renders one message.
pub fn render(m: &Message) -> Rendered {
    let mut b = Builder {
        title: None,
        description: Vec::new(),
        fields: Vec::new(),
        footer: Vec::new(),
        files: Vec::new(),
        image: None,
        buttons: Vec::new(),
    };
    for block in &m.blocks {
        match block {
            Block::Header { text } => {
                if b.title.is_none() {
                    b.title = Some(format!("{} {text}", m.tone.emoji()));
                } else {
                    b.text(format!("**{text}**"));
                }
            }
            Block::Text { text } => b.text(text.clone()),
            Block::Fields { fields } => {
                for (k, v) in fields {
                    if b.fields.len() >= FIELDS_MAX {
                        b.description.push(format!("**{k}**: {v}"));
                        continue;
                    }
                    let v = if v.is_empty() {
                        "–".to_owned()
                    } else {
                        v.clone()
                    };
                    // Short values sit side by side; long ones take the full width.
                    let inline = v.chars().count() <= 40;
                    b.fields
                        .push((cut(k, FIELD_NAME_MAX), cut(&v, FIELD_VALUE_MAX), inline));
                }
            }
            Block::Table { headers, rows } => b.code(&render_table(headers, rows), "table"),
            Block::Code { text } => b.code(text, "output"),
            Block::Context { text } => b.footer.push(text.clone()),
            Block::Actions { buttons } => {
                for x in buttons {
                    b.buttons.push(
                        CreateButton::new(x.action.clone())
                            .label(x.label.clone())
                            .style(button_style(x.style)),
                    );
                }
            }
            Block::Divider => b.text("───".to_owned()),
        }
    }
    for a in &m.attachments {
        if a.mime.starts_with("image/") && b.image.is_none() {
            b.image = Some(format!("attachment://{}", a.filename));
        }
        let mut file = CreateAttachment::bytes(a.bytes.clone(), a.filename.clone());
        if !a.title.is_empty() {
            file = file.description(a.title.clone());
        }
        b.files.push(file);
    }

    let mut embed = CreateEmbed::new().colour(colour(m.tone));
    if let Some(t) = &b.title {
        embed = embed.title(cut(t, TITLE_MAX));
    }
    let description = b.description.join("\n\n");
    if !description.is_empty() {
        embed = embed.description(cut(&description, DESCRIPTION_MAX));
    }
    for (k, v, inline) in &b.fields {
        embed = embed.field(k.clone(), v.clone(), *inline);
    }
    if !b.footer.is_empty() {
        embed = embed.footer(CreateEmbedFooter::new(cut(
            &b.footer.join(" · "),
            FOOTER_MAX,
        )));
    }
    if let Some(img) = &b.image {
        embed = embed.image(img.clone());
    }
    // Five buttons per row is Discord's limit.
    let components = b
        .buttons
        .chunks(5)
        .map(|c| CreateActionRow::Buttons(c.to_vec()))
        .collect();
    let summary = b
        .title
        .clone()
        .or_else(|| {
            m.blocks.iter().find_map(|bl| match bl {
                Block::Text { text } => Some(text.clone()),
                _ => None,
            })
        })
        .unwrap_or_else(|| m.plain_text());
    Rendered {
        embed,
        components,
        files: b.files,
        ephemeral: m.visibility == Visibility::Ephemeral,
        summary: cut(summary.lines().next().unwrap_or(""), 100),
    }
}

impl Rendered {
    pub fn followup(&self) -> CreateInteractionResponseFollowup {
        CreateInteractionResponseFollowup::new()
            .embed(self.embed.clone())
            .components(self.components.clone())
            .add_files(self.files.clone())
            .ephemeral(self.ephemeral)
    }

    pub fn message(&self) -> CreateMessage {
        CreateMessage::new()
            .embed(self.embed.clone())
            .components(self.components.clone())
            .add_files(self.files.clone())
    }

    /// Replaces a posted message's embed and buttons (a decided card loses its buttons).
    pub fn edit(&self) -> EditMessage {
        EditMessage::new()
            .embed(self.embed.clone())
            .components(self.components.clone())
    }

    pub fn edit_response(&self) -> EditInteractionResponse {
        EditInteractionResponse::new()
            .embed(self.embed.clone())
            .components(self.components.clone())
    }

    /// The body of an interaction response (UpdateMessage or an ephemeral Message).
    pub fn response(&self) -> CreateInteractionResponseMessage {
        CreateInteractionResponseMessage::new()
            .embed(self.embed.clone())
            .components(self.components.clone())
            .ephemeral(self.ephemeral)
    }

    /// A serializable view, for snapshots and logs.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "embed": self.embed,
            "components": self.components,
            "files": self.files.iter().map(|f| json!({"filename": f.filename, "bytes": f.data.len(), "description": f.description})).collect::<Vec<_>>(),
            "ephemeral": self.ephemeral,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vabot_commands::message::{Attachment, Button};
    use vabot_commands::model::ShortId;

    fn snap(m: &Message) -> serde_json::Value {
        render(m).to_json()
    }

    #[test]
    fn a_header_fields_and_context_become_title_fields_and_footer() {
        let m = Message::new(Tone::Success)
            .header("Scaled agent-engine")
            .fields([("Replicas", "2 → 5"), ("Namespace", "voiceassistant-prod")])
            .context("i-7K2F9Q · undo with `/va undo i-7K2F9Q`");
        insta::assert_yaml_snapshot!(snap(&m));
    }

    #[test]
    fn an_approval_card_has_buttons_that_carry_the_approval_id() {
        let id = ShortId::from_number('a', 4242);
        let m = Message::new(Tone::Warning)
            .header(format!(
                "Approval needed ({id}) — Delete EnvoyFilter rate-limit-filter"
            ))
            .fields([
                ("Action", "Delete EnvoyFilter rate-limit-filter"),
                ("Risk", "DESTRUCTIVE"),
            ])
            .paragraph("Note: traffic will no longer be rate limited")
            .context("Approve with ✅")
            .buttons(vec![Button::approve(&id), Button::deny(&id)]);
        let r = render(&m);
        let json = r.to_json();
        assert_eq!(
            json["components"][0]["components"][0]["custom_id"],
            format!("approve:{id}")
        );
        assert_eq!(
            json["components"][0]["components"][1]["custom_id"],
            format!("deny:{id}")
        );
        insta::assert_yaml_snapshot!(json);
    }

    #[test]
    fn every_tone_has_its_own_colour() {
        let colours: Vec<u32> = [Tone::Info, Tone::Success, Tone::Warning, Tone::Danger]
            .into_iter()
            .map(|t| colour(t).0)
            .collect();
        let mut unique = colours.clone();
        unique.dedup();
        assert_eq!(unique.len(), 4);
        let danger =
            snap(&Message::text(Tone::Danger, "Not allowed: viewer cannot write").ephemeral());
        assert_eq!(danger["embed"]["color"], 0xED4245);
        assert_eq!(danger["ephemeral"], true);
        insta::assert_yaml_snapshot!(danger);
    }

    #[test]
    fn short_code_and_tables_are_code_blocks() {
        let m = Message::new(Tone::Info)
            .header("Pods of agent-engine")
            .table(
                &["POD", "STATUS"],
                vec![vec!["agent-engine-1".into(), "Running".into()]],
            )
            .code("line 1\nline 2")
            .paragraph("after the code")
            .with_divider();
        insta::assert_yaml_snapshot!(snap(&m));
    }

    #[test]
    fn a_long_log_becomes_a_file_with_a_preview() {
        let log: String = (1..=400)
            .map(|i| format!("2026-11-25T04:00:{i:03} INFO request {i} served\n"))
            .collect();
        let m = Message::new(Tone::Info)
            .header("Logs of agent-engine")
            .code(log.clone());
        let r = render(&m);
        assert_eq!(r.files.len(), 1);
        assert_eq!(r.files[0].filename, "output.txt");
        assert_eq!(r.files[0].data, log.as_bytes());
        let json = r.to_json();
        let desc = json["embed"]["description"].as_str().unwrap();
        assert!(desc.contains("400 lines"), "{desc}");
        assert!(desc.chars().count() <= DESCRIPTION_MAX);
        insta::assert_yaml_snapshot!(json);
    }

    #[test]
    fn a_chart_is_an_attachment_shown_as_the_embed_image() {
        let m = Message::new(Tone::Info)
            .header("429-rate over 1h")
            .fields([("now", "0.4/s")])
            .attach(Attachment {
                filename: "429-rate.png".into(),
                mime: "image/png".into(),
                bytes: vec![0x89, b'P', b'N', b'G'],
                title: "429-rate".into(),
            });
        let json = snap(&m);
        assert_eq!(json["embed"]["image"]["url"], "attachment://429-rate.png");
        insta::assert_yaml_snapshot!(json);
    }

    #[test]
    fn more_than_twenty_five_fields_spill_into_the_description() {
        let fields: Vec<(String, String)> = (0..30)
            .map(|i| (format!("k{i}"), format!("v{i}")))
            .collect();
        let json = snap(&Message::new(Tone::Info).fields(fields));
        assert_eq!(json["embed"]["fields"].as_array().unwrap().len(), 25);
        assert!(
            json["embed"]["description"]
                .as_str()
                .unwrap()
                .contains("**k29**: v29")
        );
    }

    trait WithDivider {
        fn with_divider(self) -> Self;
    }
    impl WithDivider for Message {
        fn with_divider(mut self) -> Self {
            self.blocks.push(Block::Divider);
            self
        }
    }
}
