//! Slack HTTP mode, as the handlers see a request: the signature check on arbitrary
//! headers and body, then the payload parsers of `/slack/commands` (form), `/slack/events`
//! (JSON) and `/slack/interactions` (form with a JSON `payload`), with the same types.
//! Properties: nothing panics; a body signed with the secret verifies at its own
//! timestamp and fails once a byte of it changes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Deserialize;
use slack_morphism::prelude::*;
use vabot_slack::signature::{sign, verify_at};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

#[derive(Deserialize)]
struct InteractionForm {
    payload: String,
}

/// Splits the input into (timestamp, signature, body) at the first two newlines.
fn split(data: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let a = parts.next().unwrap_or_default();
    let b = parts.next().unwrap_or_default();
    let c = parts.next().unwrap_or_default();
    (a, b, c)
}

fuzz_target!(|data: &[u8]| {
    let (ts, sig, body) = split(data);
    let ts = String::from_utf8_lossy(ts);
    let sig = String::from_utf8_lossy(sig);

    // Arbitrary headers: a verdict, never a panic.
    let _ = verify_at(SECRET, Some(&ts), Some(&sig), body, 1_531_420_618);
    let _ = verify_at(SECRET, None, Some(&sig), body, 0);
    let _ = verify_at("", Some(&ts), Some(&sig), body, i64::MAX);

    // A genuine signature verifies at its own time and not after tampering.
    if let Ok(t) = ts.trim().parse::<i64>() {
        let good = sign(SECRET, ts.trim(), body);
        assert!(verify_at(SECRET, Some(ts.trim()), Some(&good), body, t).is_ok());
        let mut tampered = body.to_vec();
        tampered.push(b'x');
        assert!(verify_at(SECRET, Some(ts.trim()), Some(&good), &tampered, t).is_err());
    }

    // The payload parsers of the three endpoints.
    let _ = serde_urlencoded::from_bytes::<SlackCommandEvent>(body);
    let _ = serde_json::from_slice::<SlackPushEvent>(body);
    if let Ok(form) = serde_urlencoded::from_bytes::<InteractionForm>(body) {
        let _ = serde_json::from_str::<SlackInteractionEvent>(&form.payload);
    }
    let _ = serde_json::from_slice::<SlackInteractionEvent>(body);
});
