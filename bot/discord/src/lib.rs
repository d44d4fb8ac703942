//! The Discord adapter: the `/va` application command, reactions and buttons → the
//! pipeline; replies → embeds in a thread per invocation.

use serde::{Deserialize, Serialize};

/// Discord settings (the `discord:` section of the bot's configuration).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {}
