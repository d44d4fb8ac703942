//! Slack request signatures: `v0=HMAC-SHA256(signing_secret, "v0:{timestamp}:{body}")`,
//! accepted within five minutes of the bot's clock.
//!
//! slack-morphism's verifier checks against the wall clock and keeps `verify_at_time`
//! private, so this one takes `now` as an argument: the published example (from 2018)
//! can then be checked byte for byte, and tests control the window.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-slack-signature";
/// The timestamp header.
pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
/// Requests older or newer than this (seconds) are refused as replays.
pub const MAX_AGE_SECS: i64 = 300;

/// Why a request was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request has no {0} header")]
    Missing(&'static str),
    #[error("the {0} header is malformed")]
    Malformed(&'static str),
    #[error("the request timestamp is outside the five-minute window")]
    Stale,
    #[error("the request signature does not match")]
    Mismatch,
}

/// The `v0=…` signature Slack would send for this body.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    format!("v0={}", hex::encode(mac(secret, timestamp, body)))
}

fn mac(secret: &str, timestamp: &str, body: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return Vec::new(),
    };
    m.update(b"v0:");
    m.update(timestamp.as_bytes());
    m.update(b":");
    m.update(body);
    m.finalize().into_bytes().to_vec()
}

/// Verifies a request at time `now` (Unix seconds). The signature is compared in
/// constant time, and checked before the timestamp so a forged request learns nothing
/// about the window.
pub fn verify_at(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let timestamp = timestamp.ok_or(SignatureError::Missing(TIMESTAMP_HEADER))?;
    let signature = signature.ok_or(SignatureError::Missing(SIGNATURE_HEADER))?;
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SignatureError::Malformed(TIMESTAMP_HEADER))?;
    let given = signature
        .trim()
        .strip_prefix("v0=")
        .and_then(|h| hex::decode(h).ok())
        .ok_or(SignatureError::Malformed(SIGNATURE_HEADER))?;
    let expected = mac(secret, timestamp.trim(), body);
    if secret.is_empty() || !bool::from(expected.ct_eq(&given)) {
        return Err(SignatureError::Mismatch);
    }
    if (now - ts).abs() > MAX_AGE_SECS {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_morphisms_own_vector_recomputes() {
        assert_eq!(
            sign(
                "fa2c05deeef5a4077494e89f54394de0",
                "1531420618",
                b"test-body"
            ),
            "v0=baa91ef62d346e56607bbdd278a8acd570b91226854f15a382f43d33be42f666"
        );
    }

    #[test]
    fn a_non_hex_signature_is_malformed_not_a_panic() {
        assert_eq!(
            verify_at("s", Some("1"), Some("v0=zz"), b"", 1),
            Err(SignatureError::Malformed(SIGNATURE_HEADER))
        );
        assert_eq!(
            verify_at("s", Some("x"), Some("v0=00"), b"", 1),
            Err(SignatureError::Malformed(TIMESTAMP_HEADER))
        );
    }
}
