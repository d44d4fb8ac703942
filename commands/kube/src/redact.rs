//! Redaction of secret-looking text: log lines and ConfigMap values.
//!
//! Deliberately over-eager: a redacted harmless value costs nothing, a leaked token in a
//! chat channel cannot be taken back.

use std::sync::LazyLock;

use regex::Regex;

/// What replaces a secret.
pub const MASK: &str = "[REDACTED]";

/// Key names that hold secrets (`DB_PASSWORD`, `api_token`, `privateKey`, `dsn`, …).
static SECRET_KEY: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a constant pattern, covered by the tests below
    Regex::new(r"(?i)(pass(word|wd)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|(^|[_.-])key$|credential|auth|cookie|session|dsn|conn(ection)?[_-]?str|database[_-]?url|signature)").unwrap()
});

/// `"key": "value"`, `key=value`, `key: value` where the key is secret-looking.
static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a constant pattern, covered by the tests below
    Regex::new(r#"(?i)("?)([A-Za-z0-9_.-]*(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential|authorization|cookie|dsn)[A-Za-z0-9_.-]*)("?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;&}"']+)"#).unwrap()
});

static BEARER: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a constant pattern, covered by the tests below
    Regex::new(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}").unwrap()
});

/// `scheme://user:password@host`.
static URL_CREDS: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a constant pattern, covered by the tests below
    Regex::new(r"([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+@").unwrap()
});

/// JWTs and well-known token prefixes (`sk-…`, `ghp_…`, `xoxb-…`, AWS access keys).
static TOKEN_SHAPES: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a constant pattern, covered by the tests below
    Regex::new(r"\b(eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|sk-[A-Za-z0-9-]{16,}|gh[pousr]_[A-Za-z0-9]{20,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16})\b").unwrap()
});

/// Whether a key name (ConfigMap key, env var) suggests a secret value.
pub fn secret_key(key: &str) -> bool {
    SECRET_KEY.is_match(key)
}

/// Whether a value looks like a secret whatever its key.
pub fn secret_value(value: &str) -> bool {
    BEARER.is_match(value) || URL_CREDS.is_match(value) || TOKEN_SHAPES.is_match(value)
}

/// A ConfigMap entry as it may be shown.
pub fn config_value(key: &str, value: &str) -> String {
    if secret_key(key) || secret_value(value) {
        MASK.to_owned()
    } else {
        value.to_owned()
    }
}

/// Redacts every secret-looking part of free text (a log).
pub fn text(input: &str) -> String {
    // Shapes first: `Authorization: Bearer x` must lose `x`, not just the word `Bearer`.
    let s = BEARER.replace_all(input, |c: &regex::Captures<'_>| format!("{} {MASK}", &c[1]));
    let s = URL_CREDS.replace_all(&s, |c: &regex::Captures<'_>| format!("{}{MASK}@", &c[1]));
    let s = TOKEN_SHAPES.replace_all(&s, MASK);
    KEY_VALUE
        .replace_all(&s, |c: &regex::Captures<'_>| {
            let value = &c[4];
            let quote = if value.starts_with('"') {
                "\""
            } else if value.starts_with('\'') {
                "'"
            } else {
                ""
            };
            format!("{}{}{}{quote}{MASK}{quote}", &c[1], &c[2], &c[3])
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_log_fields_with_secret_names_are_masked() {
        let line = r#"{"level":"debug","msg":"loaded config","DB_PASSWORD":"Sup3rS3cret-dev-only","api_token":"abc123xyz","user":"agent"}"#;
        let out = text(line);
        assert!(!out.contains("Sup3rS3cret"), "{out}");
        assert!(!out.contains("abc123xyz"), "{out}");
        assert!(out.contains(r#""user":"agent""#), "{out}");
        assert!(out.contains(r#""DB_PASSWORD":"[REDACTED]""#), "{out}");
    }

    #[test]
    fn bearer_tokens_connection_strings_and_key_value_pairs_are_masked() {
        let out = text(
            "Authorization: Bearer abcdef123456 dsn=postgres://agent:hunter2@db:5432/x password=pw1 ok=1",
        );
        assert!(!out.contains("abcdef123456"), "{out}");
        assert!(!out.contains("hunter2"), "{out}");
        assert!(!out.contains("pw1"), "{out}");
        assert!(out.contains("ok=1"), "{out}");
        assert!(!text("key sk-dev-0123456789abcdef0123456789abcdef").contains("0123456789abcdef"));
    }

    #[test]
    fn config_values_are_masked_by_key_or_by_shape() {
        assert_eq!(config_value("DB_PASSWORD", "x"), MASK);
        assert_eq!(config_value("API_TOKEN", "x"), MASK);
        assert_eq!(config_value("ENCRYPTION_KEY", "x"), MASK);
        assert_eq!(config_value("URL", "redis://u:p@h:1"), MASK);
        assert_eq!(config_value("LOG_LEVEL", "info"), "info");
        assert_eq!(config_value("KEYBOARD_LAYOUT", "us"), "us");
    }
}
