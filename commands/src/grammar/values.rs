//! Validators for argument values. Each error names the bound that applies.

use std::time::Duration;

use super::ParseError;
use super::spec::Spec;
use crate::catalog::{Catalog, Service, suggest};

/// A service name from the catalog.
pub fn service<'c>(
    spec: &'static Spec,
    catalog: &'c Catalog,
    token: &str,
) -> Result<&'c Service, ParseError> {
    if let Some(s) = catalog.get(token) {
        return Ok(s);
    }
    let lowered = token.to_ascii_lowercase();
    if let Some(s) = catalog.get(&lowered) {
        return Err(ParseError::invalid(
            spec,
            format!("service names are lowercase: did you mean `{}`?", s.name),
        ));
    }
    let suggestions: Vec<String> = suggest(&lowered, catalog.names())
        .into_iter()
        .map(str::to_owned)
        .collect();
    Err(ParseError::unknown_service(spec, token, suggestions))
}

/// DNS-1123 subdomain (Kubernetes object names): lowercase alphanumerics, `-` and `.`,
/// starting and ending alphanumeric, at most 253 characters.
pub fn dns1123_subdomain(
    spec: &'static Spec,
    what: &str,
    token: &str,
) -> Result<String, ParseError> {
    let ok = !token.is_empty()
        && token.len() <= 253
        && token
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && token.as_bytes()[0].is_ascii_alphanumeric()
        && token.as_bytes()[token.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(token.to_owned())
    } else {
        Err(ParseError::invalid(
            spec,
            format!(
                "`{token}` is not a valid {what}: use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters (DNS-1123)"
            ),
        ))
    }
}

/// DNS-1123 label (subset names, namespaces): as a subdomain but no `.` and at most 63.
pub fn dns1123_label(spec: &'static Spec, what: &str, token: &str) -> Result<String, ParseError> {
    let ok = !token.is_empty()
        && token.len() <= 63
        && token
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && token.as_bytes()[0].is_ascii_alphanumeric()
        && token.as_bytes()[token.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(token.to_owned())
    } else {
        Err(ParseError::invalid(
            spec,
            format!(
                "`{token}` is not a valid {what}: use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters (DNS-1123 label)"
            ),
        ))
    }
}

/// An integer within `min..=max`; the error names the bound and what it is for.
pub fn int_in(
    spec: &'static Spec,
    what: &str,
    token: &str,
    min: i64,
    max: i64,
) -> Result<i64, ParseError> {
    let n: i64 = token.parse().map_err(|_| {
        ParseError::invalid(
            spec,
            format!("{what} must be a whole number, got `{token}`"),
        )
    })?;
    if n < min {
        return Err(ParseError::out_of_range(
            spec,
            format!("{what} must be at least {min}, got {n}"),
        ));
    }
    if n > max {
        return Err(ParseError::out_of_range(
            spec,
            format!("{what} must be at most {max}, got {n}"),
        ));
    }
    Ok(n)
}

/// Replica count for a service: 0 (scale to zero) or within the catalog's bounds.
pub fn replicas(spec: &'static Spec, svc: &Service, token: &str) -> Result<u32, ParseError> {
    let n: i64 = token.parse().map_err(|_| {
        ParseError::invalid(
            spec,
            format!("replicas must be a whole number, got `{token}`"),
        )
    })?;
    if n < 0 {
        return Err(ParseError::out_of_range(
            spec,
            format!("replicas cannot be negative, got {n}"),
        ));
    }
    if n > i64::from(svc.max_replicas) {
        return Err(ParseError::out_of_range(
            spec,
            format!(
                "{} allows at most {} replicas (catalog bound), got {n}",
                svc.name, svc.max_replicas
            ),
        ));
    }
    if n != 0 && n < i64::from(svc.min_replicas) {
        return Err(ParseError::out_of_range(
            spec,
            format!(
                "{} needs at least {} replicas (catalog bound), or 0 to stop it, got {n}",
                svc.name, svc.min_replicas
            ),
        ));
    }
    // Bounded by max_replicas (a u32) above.
    Ok(u32::try_from(n).unwrap_or(svc.max_replicas))
}

/// The longest window `--since` accepts.
pub const MAX_SINCE: Duration = Duration::from_secs(7 * 24 * 3600);

/// A duration such as `30s`, `15m`, `1h30m`, `2d`, at most 7 days.
pub fn duration(spec: &'static Spec, what: &str, token: &str) -> Result<Duration, ParseError> {
    let bad = || {
        ParseError::invalid(
            spec,
            format!("{what} must be a duration such as 30s, 15m, 1h or 1h30m, got `{token}`"),
        )
    };
    if token.is_empty() {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for ch in token.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        let unit = match ch {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        if digits.is_empty() || digits.len() > 6 {
            return Err(bad());
        }
        let n: u64 = digits.parse().map_err(|_| bad())?;
        total = total.saturating_add(n.saturating_mul(unit));
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    if total == 0 {
        return Err(ParseError::out_of_range(
            spec,
            format!("{what} must be longer than zero"),
        ));
    }
    let d = Duration::from_secs(total);
    if d > MAX_SINCE {
        return Err(ParseError::out_of_range(
            spec,
            format!("{what} can be at most 7d, got {token}"),
        ));
    }
    Ok(d)
}

/// An image reference with an explicit tag or digest:
/// `[registry[:port]/]path[:tag][@sha256:hex]`.
pub fn image(spec: &'static Spec, token: &str) -> Result<String, ParseError> {
    let bad = |why: &str| {
        ParseError::invalid(
            spec,
            format!(
                "`{token}` is not a valid image reference: {why}; expected e.g. ghcr.io/voiceassistant/agent-engine:1.1.0"
            ),
        )
    };
    if token.len() > 512 {
        return Err(bad("it is longer than 512 characters"));
    }
    let (name_tag, digest) = match token.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (token, None),
    };
    if let Some(d) = digest {
        let Some((algo, hex)) = d.split_once(':') else {
            return Err(bad("the digest must look like sha256:<64 hex digits>"));
        };
        if algo != "sha256" || hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("the digest must look like sha256:<64 hex digits>"));
        }
    }
    // The tag is after the last ':' that follows the last '/'.
    let last_slash = name_tag.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match name_tag[last_slash..].rfind(':') {
        Some(i) => (
            &name_tag[..last_slash + i],
            Some(&name_tag[last_slash + i + 1..]),
        ),
        None => (name_tag, None),
    };
    if let Some(tag) = tag {
        let valid = !tag.is_empty()
            && tag.len() <= 128
            && (tag.as_bytes()[0].is_ascii_alphanumeric() || tag.as_bytes()[0] == b'_')
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !valid {
            return Err(bad(
                "the tag may hold letters, digits, '_', '.' and '-' (at most 128)",
            ));
        }
    } else if digest.is_none() {
        return Err(bad(
            "it has no tag or digest (an untagged image means :latest, which is not reproducible)",
        ));
    }
    if name.is_empty() {
        return Err(bad("the repository name is empty"));
    }
    for (i, part) in name.split('/').enumerate() {
        let is_registry = i == 0
            && name.contains('/')
            && (part.contains('.') || part.contains(':') || part == "localhost");
        let valid = if is_registry {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
        } else {
            !part.is_empty()
                && part.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                })
                && part.as_bytes()[0].is_ascii_alphanumeric()
                && part.as_bytes()[part.len() - 1].is_ascii_alphanumeric()
        };
        if !valid {
            return Err(bad(&format!(
                "the path component `{part}` must be lowercase letters, digits and separators"
            )));
        }
    }
    Ok(token.to_owned())
}

/// A ConfigMap key: letters, digits, `-`, `_` and `.`, at most 253.
/// Letters, digits, '-', '_' and '.', 1 to 253 of them: a ConfigMap key's alphabet.
fn key_chars(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 253
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

pub fn config_key(spec: &'static Spec, token: &str) -> Result<String, ParseError> {
    if key_chars(token) {
        Ok(token.to_owned())
    } else {
        Err(ParseError::invalid(
            spec,
            format!(
                "`{token}` is not a valid ConfigMap key: use letters, digits, '-', '_' and '.', at most 253 characters"
            ),
        ))
    }
}

/// An environment variable's name: letters, digits, '_', '-' and '.', not starting with a digit.
pub fn env_name(spec: &'static Spec, token: &str) -> Result<String, ParseError> {
    if key_chars(token) && !token.starts_with(|c: char| c.is_ascii_digit()) {
        Ok(token.to_owned())
    } else {
        Err(ParseError::invalid(
            spec,
            format!(
                "`{token}` is not an environment variable name: use letters, digits, '_', '-' and '.', not starting with a digit (e.g. LOG_LEVEL)"
            ),
        ))
    }
}

/// A PostgreSQL database name vabot accepts: a letter or `_`, then letters, digits, `_`
/// and `-`, at most 63 bytes.
pub fn is_pg_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A backup id as `pg backup` names them: a file-name stem, never a path.
pub fn is_backup_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 120
        && !s.starts_with('.')
        && !s.contains("..")
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}
