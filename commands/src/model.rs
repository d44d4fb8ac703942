//! Newtypes for the identities and references that flow through the pipeline.
//!
//! Identity is always the platform's user ID, never a display name.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The chat platform an invocation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Console,
    Slack,
    Discord,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Console => "console",
            Platform::Slack => "slack",
            Platform::Discord => "discord",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Platform {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "console" => Ok(Platform::Console),
            "slack" => Ok(Platform::Slack),
            "discord" => Ok(Platform::Discord),
            other => Err(format!(
                "unknown platform `{other}` (expected console, slack or discord)"
            )),
        }
    }
}

macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }
    };
}

string_newtype!(
    /// A platform user ID (`U024BE7LH` on Slack, a snowflake on Discord, a name on the console).
    UserId
);
string_newtype!(
    /// A platform channel ID (`C0123` on Slack, a snowflake on Discord, `#name` on the console).
    ChannelId
);
string_newtype!(
    /// A Slack workspace / Discord guild; empty on the console.
    WorkspaceId
);
string_newtype!(
    /// A thread reference: Slack `thread_ts`, a Discord thread channel ID.
    ThreadId
);
string_newtype!(
    /// The platform's delivery id of an event (Slack `event_id` / trigger id, Discord
    /// interaction id); the key that makes a retried delivery run at most once.
    DeliveryId
);
string_newtype!(
    /// A Kubernetes namespace.
    Namespace
);
string_newtype!(
    /// A group / role on the platform (Slack user group ID, Discord role ID).
    GroupId
);
string_newtype!(
    /// One running vabot process (pod name, process id and a random part): what owns
    /// claimed work, and whose heartbeat says it is alive.
    ReplicaId
);

impl ReplicaId {
    /// A fresh identity for this process: `name-pid-XXXX` (name: the pod's, else `vabot`).
    pub fn generate(name: Option<&str>) -> Self {
        let suffix = new_short_id('r');
        Self(format!(
            "{}-{}-{}",
            name.filter(|n| !n.is_empty()).unwrap_or("vabot"),
            std::process::id(),
            &suffix.as_str()[2..]
        ))
    }
}

/// The identity of whoever typed a command or voted, as the platform reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    pub platform: Platform,
    pub user: UserId,
    /// Platform groups the user belongs to (Slack user groups, Discord guild roles).
    #[serde(default)]
    pub groups: Vec<GroupId>,
}

impl Actor {
    pub fn new(platform: Platform, user: impl Into<String>) -> Self {
        Self {
            platform,
            user: UserId::new(user),
            groups: Vec::new(),
        }
    }

    /// `platform:user`, the key used by the policy file.
    pub fn key(&self) -> String {
        format!("{}:{}", self.platform, self.user)
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.user)
    }
}

/// Where a command was typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChannelRef {
    pub platform: Platform,
    pub workspace: WorkspaceId,
    pub channel: ChannelId,
    pub thread: Option<ThreadId>,
}

impl ChannelRef {
    pub fn new(platform: Platform, channel: impl Into<String>) -> Self {
        Self {
            platform,
            workspace: WorkspaceId::new(""),
            channel: ChannelId::new(channel),
            thread: None,
        }
    }

    /// `platform:channel`, the key used by the policy file.
    pub fn key(&self) -> String {
        format!("{}:{}", self.platform, self.channel)
    }
}

/// One command typed by one person in one place.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invocation {
    pub actor: Actor,
    pub channel: ChannelRef,
    pub text: String,
    pub delivery: DeliveryId,
}

/// A short, human-typable identifier: a prefix and 6 characters of Crockford base32.
///
/// Invocation ids look like `i-7K2F9Q`, approval ids like `a-3MZ81C`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ShortId(String);

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

impl ShortId {
    /// Builds an id from a prefix and a number (e.g. a random value or a sequence).
    pub fn from_number(prefix: char, mut n: u64) -> Self {
        let mut s = String::with_capacity(8);
        s.push(prefix);
        s.push('-');
        let mut chars = [b'0'; 6];
        for c in chars.iter_mut().rev() {
            *c = CROCKFORD[(n % 32) as usize];
            n /= 32;
        }
        s.extend(chars.iter().map(|&b| b as char));
        Self(s)
    }

    /// Accepts the id in any case, with or without its prefix; `None` if it is not one.
    pub fn parse(prefix: char, text: &str) -> Option<Self> {
        let upper = text.trim().to_ascii_uppercase();
        let body = upper
            .strip_prefix(&format!("{}-", prefix.to_ascii_uppercase()))
            .unwrap_or(&upper);
        if body.len() != 6 || !body.bytes().all(|b| CROCKFORD.contains(&b)) {
            return None;
        }
        Some(Self(format!("{prefix}-{body}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ShortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Identifies one invocation; `undo` and the audit export refer to it.
pub type InvocationId = ShortId;
/// Identifies one approval request; votes and buttons carry it.
pub type ApprovalId = ShortId;

/// A fresh random short id.
pub fn new_short_id(prefix: char) -> ShortId {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded from the OS per process and per instance: enough entropy
    // for ids that only need to be unique within a store (the store enforces it).
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    ShortId::from_number(prefix, h.finish() % (1 << 30))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_round_trip_case_insensitively() {
        let id = ShortId::from_number('a', 123_456);
        assert_eq!(id.as_str().len(), 8);
        assert_eq!(
            ShortId::parse('a', &id.as_str().to_lowercase()),
            Some(id.clone())
        );
        let bare = &id.as_str()[2..];
        assert_eq!(ShortId::parse('a', bare), Some(id));
        assert_eq!(ShortId::parse('a', "a-12"), None);
        assert_eq!(ShortId::parse('a', "a-UUUUUU"), None, "U is not Crockford");
    }
}
