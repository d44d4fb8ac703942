//! The Slack adapter: slash commands, `@va` mentions, reactions and buttons → the
//! pipeline; replies → Block Kit in the command's thread. A 📌 (`pin_reaction`) on any
//! message fetches it through the Web API and pins it into the channel's timeline
//! (`vabot_commands::pins`); removing the reaction unpins it.
//!
//! Two transports, chosen by [`SlackConfig::mode`]: HTTP ([`http_router`], signed
//! requests) and Socket Mode ([`run_socket_mode`]). Both hand the same typed
//! slack-morphism events to one [`SlackAdapter`], which acks at once and does the work
//! in a spawned task. The adapter reaches Kubernetes and the database only through
//! `vabot_commands::pipeline` and the store's posted-message bookkeeping.

mod adapter;
pub mod blocks;
mod config;
pub mod groups;
mod http;
pub mod outbound;
pub mod signature;
mod socket;

pub use adapter::{Job, SlackAdapter};
pub use config::{SlackConfig, SlackMode};
pub use http::http_router;
pub use socket::run_socket_mode;
pub use vabot_chat::inbox::Accepted;

/// What can go wrong talking to Slack. Never shown in a channel; logged.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    #[error("invalid Slack configuration: {0}")]
    Config(String),
    #[error("Slack's {method} failed")]
    Api {
        method: &'static str,
        /// Slack's error code (`not_in_channel`, `missing_scope`…) when it answered with one.
        code: Option<String>,
        /// Log-only: the library's error.
        detail: String,
    },
    #[error("Slack rate-limited {method} for {secs} s")]
    RateLimited { method: &'static str, secs: u64 },
    #[error("a message could not be rendered as Block Kit")]
    Render(#[from] serde_json::Error),
    #[error("the history store failed while recording a posted message")]
    Store(#[from] vabot_commands::store::StoreError),
}
