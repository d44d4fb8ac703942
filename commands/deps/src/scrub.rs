//! Removes connection strings and passwords from log-only error details: library errors
//! sometimes quote the URL they failed on, and these details end up in logs.

/// The strings that must never appear in a detail.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scrubber {
    needles: Vec<String>,
}

impl Scrubber {
    /// Remembers a URL and, if it has one, its password.
    pub(crate) fn add_url(&mut self, url: &str) {
        if url.is_empty() {
            return;
        }
        self.needles.push(url.to_owned());
        if let Some(password) = password_of(url) {
            // Very short "passwords" would scrub ordinary words; they are not secrets anyway.
            if password.len() >= 3 {
                self.needles.push(password);
            }
        }
        // Longest first, so a URL is replaced whole before its password is.
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    }

    /// Remembers a bare secret (a token).
    pub(crate) fn add_secret(&mut self, secret: &str) {
        if secret.len() >= 3 {
            self.needles.push(secret.to_owned());
            self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        }
    }

    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), "[redacted]");
            }
        }
        out
    }
}

/// `scheme://user:password@host…` → `password`.
fn password_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let password = userinfo.split_once(':')?.1;
    (!password.is_empty()).then(|| password.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_their_passwords_are_redacted() {
        let mut s = Scrubber::default();
        s.add_url("postgres://vabot:hunter2@127.0.0.1:5432/db");
        let out = s.scrub("failed: postgres://vabot:hunter2@127.0.0.1:5432/db; auth hunter2");
        assert_eq!(out, "failed: [redacted]; auth [redacted]");
    }

    #[test]
    fn a_url_without_password_is_still_redacted() {
        let mut s = Scrubber::default();
        s.add_url("redis://127.0.0.1:6379");
        assert_eq!(
            s.scrub("io error at redis://127.0.0.1:6379"),
            "io error at [redacted]"
        );
    }
}
