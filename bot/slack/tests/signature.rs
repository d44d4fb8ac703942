//! Request signatures: Slack's published example, and every way a request is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod common;

use axum::body::Body;
use axum::http::Request;
use common::world::{Options, world};
use vabot_slack::signature::{SignatureError, sign, verify_at};

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const TS: &str = "1531420618";
const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

#[test]
fn slacks_published_signing_example_verifies_byte_for_byte() {
    assert_eq!(sign(SECRET, TS, BODY.as_bytes()), SIG);
    assert_eq!(
        verify_at(
            SECRET,
            Some(TS),
            Some(SIG),
            BODY.as_bytes(),
            1531420618 + 10
        ),
        Ok(())
    );
}

#[test]
fn the_published_example_is_refused_six_minutes_later_and_when_altered() {
    let now = 1531420618 + 301;
    assert_eq!(
        verify_at(SECRET, Some(TS), Some(SIG), BODY.as_bytes(), now),
        Err(SignatureError::Stale)
    );
    let tampered = BODY.replace("text=", "text=scale+agent-engine+0");
    assert_eq!(
        verify_at(SECRET, Some(TS), Some(SIG), tampered.as_bytes(), 1531420618),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_at(
            "wrong-secret",
            Some(TS),
            Some(SIG),
            BODY.as_bytes(),
            1531420618
        ),
        Err(SignatureError::Mismatch)
    );
}

fn request(body: &str, ts: Option<&str>, sig: Option<&str>) -> Request<Body> {
    let mut b = Request::post("/slack/commands")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some(ts) = ts {
        b = b.header("x-slack-request-timestamp", ts);
    }
    if let Some(sig) = sig {
        b = b.header("x-slack-signature", sig);
    }
    b.body(Body::from(body.to_owned())).expect("request")
}

async fn published_world(now: i64) -> common::world::World {
    world(Options {
        secret: SECRET.into(),
        now,
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn the_router_accepts_the_published_example_at_its_own_time() {
    let w = published_world(1531420618 + 5).await;
    let (status, _) = w.send(request(BODY, Some(TS), Some(SIG))).await;
    assert_eq!(status, 200);
    // `/va` with no text is a user mistake: answered privately, no public thread.
    let calls = w
        .fake
        .wait_for("the ephemeral help", |c| {
            c.iter().any(|c| c.method == "chat.postEphemeral")
        })
        .await;
    let eph = calls
        .iter()
        .find(|c| c.method == "chat.postEphemeral")
        .expect("ephemeral");
    assert_eq!(eph.str("user"), Some("U2CERLKJA"));
    assert_eq!(eph.str("channel"), Some("G8PSS9T3V"));
    assert!(
        calls.iter().all(|c| c.method != "chat.postMessage"),
        "a typo must not open a public thread"
    );
}

#[tokio::test]
async fn a_tampered_body_is_refused_with_401() {
    let w = published_world(1531420618 + 5).await;
    let tampered = BODY.replace("text=", "text=envoyfilter+delete+rate-limit-filter");
    assert_eq!(w.send(request(&tampered, Some(TS), Some(SIG))).await.0, 401);
}

#[tokio::test]
async fn a_signature_made_with_another_secret_is_refused_with_401() {
    let w = published_world(1531420618 + 5).await;
    let forged = sign("not-the-secret", TS, BODY.as_bytes());
    assert_eq!(w.send(request(BODY, Some(TS), Some(&forged))).await.0, 401);
}

#[tokio::test]
async fn a_stale_request_is_refused_with_401_even_when_correctly_signed() {
    let w = published_world(1531420618 + 301).await;
    assert_eq!(w.send(request(BODY, Some(TS), Some(SIG))).await.0, 401);
    let w = published_world(1531420618 - 301).await;
    assert_eq!(w.send(request(BODY, Some(TS), Some(SIG))).await.0, 401);
}

#[tokio::test]
async fn requests_missing_either_header_are_refused_with_400() {
    let w = published_world(1531420618 + 5).await;
    assert_eq!(w.send(request(BODY, None, Some(SIG))).await.0, 400);
    assert_eq!(w.send(request(BODY, Some(TS), None)).await.0, 400);
    assert_eq!(w.send(request(BODY, None, None)).await.0, 400);
    assert!(
        w.fake.calls().is_empty(),
        "a refused request must not reach Slack or the pipeline"
    );
}

#[tokio::test]
async fn url_verification_is_answered_with_the_challenge() {
    let w = world(Options::default()).await;
    let req = w.signed(
        "/slack/events",
        "application/json",
        common::fixtures::url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
            .to_string(),
    );
    let (status, body) = w.send(req).await;
    assert_eq!(status, 200);
    assert_eq!(body, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
}

#[tokio::test]
async fn an_oversized_body_is_refused_before_it_is_read_whole() {
    let w = world(Options::default()).await;
    let big = "x".repeat(2 * 1024 * 1024);
    let (status, _) = w
        .send(w.signed("/slack/events", "application/json", big))
        .await;
    assert_eq!(status, 413);
}
