//! The Slack adapter: slash commands, mentions, reactions and buttons → the pipeline;
//! replies → Block Kit in the thread.

use serde::{Deserialize, Serialize};

/// Slack settings (the `slack:` section of the bot's configuration).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {}
