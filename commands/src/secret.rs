//! A value that must never be printed: tokens, passwords, connection strings.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `Debug` and `Display` redact it; [`Secret::expose`] is the one way to read it.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself; call only where it is handed to a client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Masks the password of every `scheme://user:password@host` in free text (a connection
/// string someone pasted into chat, or an error that quoted one), and the value of every
/// secret-looking `KEY=VALUE` (`config set agent-engine API_TOKEN=…` typed in chat).
pub fn scrub(text: &str) -> String {
    mask_secret_assignments(&scrub_urls(text))
}

/// Key names that hold secrets, as the Kubernetes redaction judges ConfigMap keys.
pub fn secret_looking_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "apikey",
        "api_key",
        "credential",
        "private",
        "dsn",
    ]
    .iter()
    .any(|w| k.contains(w))
}

fn mask_secret_assignments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        match word.split_once('=') {
            Some((key, value)) if !value.is_empty() && secret_looking_key(key) => {
                out.push_str(key);
                out.push_str("=[redacted]");
            }
            _ => out.push_str(word),
        }
    }
    out
}

fn scrub_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '/' | '"' | '\'' | '`' | '>'))
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..colon]);
                out.push_str(":[redacted]");
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}
