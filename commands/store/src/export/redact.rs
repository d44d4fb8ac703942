//! What never leaves the store in an export: values of credential-looking keys, and
//! passwords in connection strings, at any depth.

use serde_json::Value;
use vabot_commands::secret::scrub;

// === Redaction ===

/// Keys whose values never leave the store in an export.
pub(crate) const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "authorization",
    "credentials",
    "stringdata",
    "private_key",
];

/// A copy of `v` with credential-like values replaced, and the `data` of Secret objects.
pub fn redact(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let is_secret = map.get("kind").and_then(Value::as_str) == Some("Secret");
            Value::Object(
                map.iter()
                    .map(|(k, x)| {
                        let lower = k.to_ascii_lowercase();
                        let hide = SECRET_KEYS.iter().any(|s| lower.contains(s))
                            || (is_secret && (lower == "data" || lower == "binarydata"));
                        let x = if hide {
                            Value::String("[redacted]".into())
                        } else {
                            redact(x)
                        };
                        (k.clone(), x)
                    })
                    .collect(),
            )
        }
        Value::Array(xs) => Value::Array(xs.iter().map(redact).collect()),
        Value::String(s) => Value::String(scrub(s)),
        other => other.clone(),
    }
}
