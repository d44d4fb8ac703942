//! The post-incident timeline (`vabot audit export` and the review page's downloads): who
//! asked what, who approved, what changed (before → after), results, and the chat messages
//! pinned into it, with timestamps; as Markdown, JSON or CSV.
//!
//! One implementation for every reader: the timeline is built from what the
//! [`Store`] port returns, scoped to an incident, a channel, a thread or a time window,
//! and optionally filtered by user, command, risk class and outcome. Values that look like
//! credentials are redacted, and passwords in connection strings masked, before anything
//! is written.

mod csv;
mod json;
mod markdown;
mod redact;
mod scope;
mod timeline;

use vabot_commands::store::StoreError;

pub use markdown::human;
pub use redact::redact;
pub use scope::{Filter, Incident, Scope, incidents, parse_since};
pub use timeline::{Chain, Entry, Timeline, chat_link};

pub use vabot_commands::secret::scrub;

/// Why a timeline could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("no incident `{0}` in the history")]
    UnknownIncident(String),
    #[error("name a channel (`platform:id`) or an incident")]
    NoScope,
    #[error("reading the audit log failed")]
    Store(#[from] StoreError),
}

#[cfg(test)]
mod tests;
