//! The `slack:` section of the bot's configuration.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use vabot_commands::secret::Secret;

/// How Slack reaches the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlackMode {
    /// Slack POSTs to `/slack/commands`, `/slack/events` and `/slack/interactions`
    /// (needs a public URL; requests are signed with the signing secret).
    #[default]
    Http,
    /// The bot opens a WebSocket to Slack with the app-level token (no public URL).
    Socket,
}

/// Slack settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    #[serde(default)]
    pub mode: SlackMode,
    /// The Web API base, without a trailing slash; tests point it at a local fake.
    #[serde(default = "default_api_base")]
    pub api_base: String,
    /// `xoxb-…`: every Web API call.
    pub bot_token: Secret,
    /// Verifies HTTP-mode requests (unused in Socket Mode).
    #[serde(default)]
    pub signing_secret: Secret,
    /// `xapp-…`: opens Socket Mode connections (required in Socket Mode).
    #[serde(default)]
    pub app_token: Option<Secret>,
    /// The reaction (emoji name without colons) that approves a request.
    #[serde(default = "default_approve")]
    pub approve_reaction: String,
    /// The reaction that denies a request.
    #[serde(default = "default_deny")]
    pub deny_reaction: String,
    /// The reaction that pins any message into the channel's timeline (removing it
    /// unpins); needs the `channels:history` / `groups:history` scopes to read the message.
    #[serde(default = "default_pin")]
    pub pin_reaction: String,
    /// Minimum gap between two messages to one channel, in milliseconds (Slack allows
    /// about one message per second per channel).
    #[serde(default = "default_pace_ms")]
    pub pace_ms: u64,
    /// A command still running after this long gets a "working on it" reply that is
    /// later updated in place with the result.
    #[serde(default = "default_progress_ms")]
    pub progress_after_ms: u64,
    /// Largest request body accepted in HTTP mode.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Socket Mode connections kept open (Slack spreads events across them).
    #[serde(default = "default_connections")]
    pub socket_connections: u32,
    /// Commands, events and clicks worked on at once; more wait, recorded in the store,
    /// instead of in memory.
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// How often the members of the policy's Slack user groups are fetched again
    /// (`usergroups.users.list`), in seconds.
    #[serde(default = "default_groups_refresh")]
    pub groups_refresh_secs: u64,
}

fn default_api_base() -> String {
    "https://slack.com/api".into()
}
fn default_approve() -> String {
    "white_check_mark".into()
}
fn default_deny() -> String {
    "x".into()
}
fn default_pin() -> String {
    "pushpin".into()
}
fn default_pace_ms() -> u64 {
    1000
}
fn default_progress_ms() -> u64 {
    1500
}
fn default_max_body() -> usize {
    // Interaction payloads carry the whole message they came from; 1 MiB is ample.
    1024 * 1024
}
fn default_connections() -> u32 {
    2
}
fn default_workers() -> usize {
    32
}
fn default_groups_refresh() -> u64 {
    300
}

impl SlackConfig {
    /// A configuration with every default and the given bot token and signing secret.
    pub fn new(bot_token: impl Into<String>, signing_secret: impl Into<String>) -> Self {
        Self {
            mode: SlackMode::Http,
            api_base: default_api_base(),
            bot_token: Secret::new(bot_token),
            signing_secret: Secret::new(signing_secret),
            app_token: None,
            approve_reaction: default_approve(),
            deny_reaction: default_deny(),
            pin_reaction: default_pin(),
            pace_ms: default_pace_ms(),
            progress_after_ms: default_progress_ms(),
            max_body_bytes: default_max_body(),
            socket_connections: default_connections(),
            workers: default_workers(),
            groups_refresh_secs: default_groups_refresh(),
        }
    }

    /// Whether a reaction Slack reports (`pushpin`) is the one configured as `configured`
    /// (written with or without colons).
    pub fn is_reaction(reported: &str, configured: &str) -> bool {
        reaction_name(reported) == reaction_name(configured)
    }

    pub fn pace(&self) -> Duration {
        Duration::from_millis(self.pace_ms)
    }

    pub fn progress_after(&self) -> Duration {
        Duration::from_millis(self.progress_after_ms)
    }

    /// What is wrong with this configuration for its mode, if anything.
    pub fn validate(&self) -> Result<(), crate::SlackError> {
        let bad = |why: &str| Err(crate::SlackError::Config(why.to_owned()));
        if self.bot_token.expose().is_empty() {
            return bad("slack.bot_token is empty");
        }
        if self.workers == 0 {
            return bad("slack.workers must be at least 1");
        }
        if !(self.api_base.starts_with("https://") || self.api_base.starts_with("http://")) {
            return bad("slack.api_base must be an http(s) URL");
        }
        if self.api_base.ends_with('/') {
            return bad("slack.api_base must not end with `/`");
        }
        let names = [
            reaction_name(&self.approve_reaction),
            reaction_name(&self.deny_reaction),
            reaction_name(&self.pin_reaction),
        ];
        if names.iter().any(|n| n.is_empty()) {
            return bad("slack.approve_reaction, deny_reaction and pin_reaction must not be empty");
        }
        if names[0] == names[1] || names[2] == names[0] || names[2] == names[1] {
            return bad(
                "slack.approve_reaction, deny_reaction and pin_reaction must be three different emoji",
            );
        }
        match self.mode {
            SlackMode::Http if self.signing_secret.expose().is_empty() => {
                bad("slack.signing_secret is required in HTTP mode")
            }
            SlackMode::Socket
                if self
                    .app_token
                    .as_ref()
                    .is_none_or(|t| t.expose().is_empty()) =>
            {
                bad("slack.app_token (xapp-…) is required in Socket Mode")
            }
            _ => Ok(()),
        }
    }
}

/// `:pushpin:` → `pushpin`: Slack reports names without colons.
fn reaction_name(name: &str) -> &str {
    name.trim().trim_matches(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_section_gets_the_documented_defaults() {
        let c: SlackConfig =
            serde_json::from_str(r#"{"bot_token": "xoxb-1", "signing_secret": "s"}"#)
                .expect("config");
        assert_eq!(c.mode, SlackMode::Http);
        assert_eq!(c.api_base, "https://slack.com/api");
        assert_eq!(c.approve_reaction, "white_check_mark");
        assert_eq!(c.deny_reaction, "x");
        assert_eq!(c.pin_reaction, "pushpin");
        assert_eq!(c.pace(), Duration::from_secs(1));
        assert!(c.validate().is_ok());
        assert!(
            !format!("{c:?}").contains("xoxb-1"),
            "tokens never reach logs"
        );
    }

    #[test]
    fn each_mode_requires_its_own_credential() {
        let mut c = SlackConfig::new("xoxb-1", "");
        assert!(c.validate().is_err(), "HTTP mode without a signing secret");
        c.mode = SlackMode::Socket;
        assert!(c.validate().is_err(), "Socket Mode without an app token");
        c.app_token = Some(Secret::new("xapp-1"));
        assert!(c.validate().is_ok());
        c.api_base = "https://slack.com/api/".into();
        assert!(
            c.validate().is_err(),
            "a trailing slash would break method URLs"
        );
    }

    #[test]
    fn the_pin_reaction_must_differ_from_the_vote_reactions() {
        let mut c = SlackConfig::new("xoxb-1", "s");
        c.pin_reaction = ":white_check_mark:".into();
        let err = c.validate().expect_err("a pin that would also approve");
        assert!(err.to_string().contains("three different emoji"), "{err}");
        c.pin_reaction = ":round_pushpin:".into();
        assert!(c.validate().is_ok());
        assert!(SlackConfig::is_reaction("round_pushpin", &c.pin_reaction));
        assert!(!SlackConfig::is_reaction("pushpin", &c.pin_reaction));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let r: Result<SlackConfig, _> =
            serde_json::from_str(r#"{"bot_token": "x", "signing_secert": "s"}"#);
        assert!(r.is_err());
    }
}
