//! Pinned chat: the pin reaction (`pushpin` by default) on any message pins it into the
//! channel's timeline; removing the reaction unpins it.
//!
//! Adding: the reacting person must be allowed to view the channel (checked before the
//! message is read), the message is fetched through the Web API (conversations.history,
//! or conversations.replies for a thread reply) with its permalink, and
//! [`pins::pin`] records it. Removing: the message is taken from the timeline as it was
//! pinned (nothing is fetched), so an unpin works even after the message was deleted.
//! Every answer is an ephemeral note to the person who reacted; the channel sees nothing.

use chrono::{DateTime, TimeZone, Utc};
use slack_morphism::prelude::*;
use tracing::{debug, info, warn};
use vabot_chat::pins::{self as chat_pins, Fetched, MessageSource, PinDelivery, PinReply};
use vabot_commands::error::PipelineError;
use vabot_commands::model::{Platform, ThreadId, new_short_id};
use vabot_commands::pins::ChatMessage;
use vabot_commands::render::render_error;

use super::{SlackAdapter, Target};
use crate::SlackError;
use crate::blocks::{self, escape, render};

impl SlackAdapter {
    /// Whether a reaction is the pin reaction.
    pub(super) fn is_pin(&self, reaction: &str) -> bool {
        crate::SlackConfig::is_reaction(reaction, &self.config.pin_reaction)
    }

    /// `reaction_added` / `reaction_removed` with the pin reaction.
    pub(super) async fn on_pin(
        &self,
        team: &str,
        user: &str,
        item: SlackReactionsItem,
        pinned: bool,
        delivery: String,
    ) {
        // A pin on a file (not a message) has no place in the timeline.
        let SlackReactionsItem::Message(msg) = item else {
            debug!("Pin reaction on a file ignored");
            return;
        };
        let Some(channel) = msg.origin.channel.as_ref().map(|c| c.0.clone()) else {
            return;
        };
        let ts = msg.origin.ts.0.clone();
        let target = Target {
            channel: channel.clone(),
            thread: None,
            user: user.to_owned(),
        };
        if pinned {
            self.pin_added(team, &ts, target, delivery).await;
        } else {
            self.pin_removed(team, &ts, target, delivery).await;
        }
    }

    async fn pin_added(&self, team: &str, ts: &str, target: Target, delivery: String) {
        let actor = self.actor(&target.user).await;
        let place = Self::channel_ref(team, &target.channel, None);
        let source = SlackSource {
            adapter: self,
            channel: &target.channel,
            ts,
        };
        let reply = chat_pins::add(
            &self.deps,
            actor,
            place,
            &target.channel,
            ts,
            &source,
            PinDelivery::Given(delivery),
        )
        .await;
        self.tell(target, reply).await;
    }

    async fn pin_removed(&self, team: &str, ts: &str, target: Target, delivery: String) {
        let actor = self.actor(&target.user).await;
        let place = Self::channel_ref(team, &target.channel, None);
        let reply =
            chat_pins::remove(&self.deps, actor, &place, ts, PinDelivery::Given(delivery)).await;
        self.tell(target, reply).await;
    }

    /// Every answer to a pin is an ephemeral note to the person, in the pin's thread.
    async fn tell(&self, mut target: Target, reply: PinReply) {
        let (line, plain) = match reply {
            PinReply::Nothing => return,
            PinReply::OnApprovalCard { thread } => {
                target.thread = thread;
                let line = ":pushpin: Approval cards are on the timeline already, with their votes and result; nothing was pinned.";
                (line.to_owned(), line.to_owned())
            }
            PinReply::Refused { error, consequence } => {
                return self.refuse(&target, &error, consequence).await;
            }
            PinReply::Gone => {
                let line = ":pushpin: Slack has no such message any more (deleted?), so nothing was pinned.";
                (line.to_owned(), line.to_owned())
            }
            PinReply::Unreadable(why) => (why.clone(), why),
            PinReply::Pinned { message, thread } => {
                target.thread = thread.map(|t| t.to_string());
                pinned_note(&message)
            }
            PinReply::Unpinned {
                message,
                others,
                thread,
            } => {
                target.thread = thread.map(|t| t.to_string());
                let others = chat_pins::users_of(&others, Platform::Slack);
                unpinned_note(&message, &others)
            }
        };
        self.note(&target, &line, &plain).await;
    }

    /// A refused or failed pin, privately, in the pipeline's own words.
    async fn refuse(&self, target: &Target, e: &PipelineError, consequence: &str) {
        let request = new_short_id('i');
        if e.is_user_error() {
            info!(reason = %e, user = %target.user, "Pin refused");
        } else {
            warn!(error = %e, request = %request, "Pin failed");
        }
        let message = render_error(e, &request).context(consequence).ephemeral();
        match render(&message) {
            Ok(r) => self.send_note(target, &r.content).await,
            Err(e) => warn!(error = %e, "A refusal could not be rendered as Block Kit"),
        }
    }

    async fn note(&self, target: &Target, line: &str, plain: &str) {
        match blocks::note(line, plain) {
            Ok(content) => self.send_note(target, &content).await,
            Err(e) => warn!(error = %e, "A note could not be rendered as Block Kit"),
        }
    }

    async fn send_note(&self, target: &Target, content: &SlackMessageContent) {
        if let Err(e) = self
            .out
            .ephemeral(
                &target.channel,
                &target.user,
                target.thread.as_deref(),
                content,
            )
            .await
        {
            warn!(error = %e, "Could not send a pin note");
        }
    }
}

/// Reads a pinned message: conversations.history / .replies, and its permalink.
struct SlackSource<'a> {
    adapter: &'a SlackAdapter,
    channel: &'a str,
    ts: &'a str,
}

#[async_trait::async_trait]
impl MessageSource for SlackSource<'_> {
    async fn fetch(&self) -> Fetched {
        let out = &self.adapter.out;
        let fetched = match out.message(self.channel, self.ts).await {
            Ok(Some(m)) => m,
            Ok(None) => return Fetched::Gone,
            Err(e) => return Fetched::Unreadable(fetch_failure(&e)),
        };
        let thread = fetched
            .origin
            .thread_ts
            .as_ref()
            .map(|t| t.0.clone())
            .filter(|t| t != self.ts);
        let link = match out.permalink(self.channel, self.ts).await {
            Ok(l) => Some(l),
            Err(e) => {
                // The pin is still worth having without its link.
                info!(error = %e, "No permalink for a pinned message");
                None
            }
        };
        let message = chat_message(&fetched, link, self.adapter.deps.clock.now());
        Fetched::Message(message, thread.map(ThreadId::new))
    }
}

/// What to tell someone whose pin could not read the message.
fn fetch_failure(e: &SlackError) -> String {
    let code = match e {
        SlackError::Api { code, .. } => code.as_deref(),
        _ => None,
    };
    match code {
        Some("not_in_channel" | "channel_not_found") => ":warning: vabot cannot read this channel's messages: invite it to the channel (`/invite @va`). Nothing was pinned.".into(),
        Some("missing_scope") => ":warning: The vabot Slack app may not read message history here (it needs `channels:history`, or `groups:history` in a private channel); an admin can reinstall it from `deploy/slack/manifest.yaml`. Nothing was pinned.".into(),
        _ => ":warning: Slack did not return the message just now, so nothing was pinned; remove the reaction and add it again in a moment.".into(),
    }
}

/// `1764000000.000100` → that instant.
fn ts_time(ts: &str) -> Option<DateTime<Utc>> {
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, "0"));
    let secs: i64 = secs.parse().ok()?;
    let micros: u32 = format!("{frac:0<6}").get(..6)?.parse().ok()?;
    Utc.timestamp_opt(secs, micros * 1000).single()
}

/// The timeline's view of a fetched message: author, text, time, link.
fn chat_message(m: &SlackHistoryMessage, link: Option<String>, now: DateTime<Utc>) -> ChatMessage {
    let author = m
        .sender
        .user
        .as_ref()
        .map(|u| u.0.clone())
        .or_else(|| m.sender.bot_id.as_ref().map(|b| b.0.clone()))
        .unwrap_or_default();
    let profile_name = m.sender.user_profile.as_ref().and_then(|p| {
        [&p.display_name, &p.real_name]
            .into_iter()
            .flatten()
            .find(|n| !n.is_empty())
            .cloned()
    });
    let author_name = profile_name
        .or_else(|| m.sender.username.clone())
        .or_else(|| m.sender.bot_profile.as_ref().map(|b| b.name.clone()));
    let mut text = m.content.text.clone().unwrap_or_default();
    if text.trim().is_empty() {
        // A file shared without a comment: name the files rather than pin nothing.
        let names: Vec<String> = m
            .content
            .files
            .iter()
            .flatten()
            .filter_map(|f| f.title.clone().or_else(|| f.name.clone()))
            .collect();
        if !names.is_empty() {
            text = format!("[file: {}]", names.join(", "));
        }
    }
    ChatMessage {
        id: m.origin.ts.0.clone(),
        author,
        author_name,
        text,
        at: ts_time(&m.origin.ts.0).unwrap_or(now),
        link,
    }
}

/// Slack shows `<!date^…>` in each reader's own time zone.
fn when(at: DateTime<Utc>) -> String {
    let plain = at.format("%Y-%m-%d %H:%M UTC").to_string();
    format!(
        "<!date^{}^{{date_short_pretty}} {{time}}|{plain}>",
        at.timestamp()
    )
}

fn message_ref(m: &ChatMessage) -> String {
    let what = match &m.link {
        Some(l) => format!("<{l}|message>"),
        None => "message".into(),
    };
    let by = if m.author.starts_with('U') || m.author.starts_with('W') {
        format!("<@{}>", m.author)
    } else {
        escape(m.author_name.as_deref().unwrap_or(&m.author))
    };
    format!("{what} from {by} ({})", when(m.at))
}

fn pinned_note(m: &ChatMessage) -> (String, String) {
    (
        format!(
            ":pushpin: Pinned to this channel's timeline: {}.",
            message_ref(m)
        ),
        format!(
            "Pinned to this channel's timeline: a message from {}.",
            m.author
        ),
    )
}

fn unpinned_note(m: &ChatMessage, others: &[String]) -> (String, String) {
    if others.is_empty() {
        return (
            format!(
                ":pushpin: Removed from this channel's timeline: {}.",
                message_ref(m)
            ),
            format!(
                "Removed from this channel's timeline: a message from {}.",
                m.author
            ),
        );
    }
    let who: Vec<String> = others.iter().map(|u| format!("<@{}>", escape(u))).collect();
    (
        format!(
            ":pushpin: Your pin is removed; the {} stays on the timeline while {} still pin it.",
            message_ref(m),
            who.join(", ")
        ),
        "Your pin is removed; the message stays on the timeline while others still pin it.".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slack_ts_is_the_instant_it_names() {
        let t = ts_time("1764000000.000100").expect("ts");
        assert_eq!(t.timestamp(), 1_764_000_000);
        assert_eq!(t.timestamp_subsec_micros(), 100);
        assert_eq!(
            ts_time("1764000000").expect("ts").timestamp(),
            1_764_000_000
        );
        assert_eq!(ts_time("x.1"), None);
    }

    #[test]
    fn fetch_failures_say_what_to_do_without_the_library_error() {
        let e = |code: &str| SlackError::Api {
            method: "conversations.history",
            code: Some(code.into()),
            detail: "Slack API error: raw body".into(),
        };
        assert!(fetch_failure(&e("not_in_channel")).contains("/invite @va"));
        assert!(fetch_failure(&e("missing_scope")).contains("channels:history"));
        let other = fetch_failure(&e("internal_error"));
        assert!(other.contains("again"), "{other}");
        assert!(!other.contains("raw body"));
    }
}
