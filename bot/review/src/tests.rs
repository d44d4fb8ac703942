#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine as _;
use chrono::Utc;
use http_body_util::BodyExt;
use tower::ServiceExt;
use vabot_commands::model::{Actor, ChannelRef, DeliveryId, Invocation, Platform};
use vabot_commands::pins::{ChatMessage, PinEvent, pin};
use vabot_commands::pipeline::{Deps, handle};
use vabot_commands::secret::Secret;
use vabot_commands::store::{EventKind, MemoryStore, Store};
use vabot_commands::testing::demo_deps;

use super::*;

const TOKEN: &str = "review-token-for-tests";

async fn say(deps: &Deps, user: &str, text: &str, n: &mut u32) -> vabot_commands::pipeline::Reply {
    *n += 1;
    handle(
        deps,
        Invocation {
            actor: Actor::new(Platform::Console, user),
            channel: ChannelRef::new(Platform::Console, "#incident-prod"),
            text: text.into(),
            delivery: DeliveryId::new(format!("d{n}")),
        },
    )
    .await
}

/// An incident with a write, an approval flow, a denial and a pinned message whose text
/// tries to be markup.
async fn world() -> (Arc<dyn Store>, String, String) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let deps = demo_deps(store.clone());
    let mut n = 0;
    say(
        &deps,
        "alice",
        "/va incident start Checkout <b>latency</b>",
        &mut n,
    )
    .await;
    say(&deps, "alice", "/va restart agent-engine", &mut n).await;
    let asked = say(&deps, "alice", "/va scale agent-engine 0", &mut n).await;
    let approval = asked.opened.expect("approval opened").to_string();
    say(&deps, "bob", &format!("/va approve {approval}"), &mut n).await;
    say(&deps, "carol", "/va restart agent-engine", &mut n).await;
    pin(
        &deps,
        PinEvent {
            actor: Actor::new(Platform::Console, "bob"),
            channel: ChannelRef::new(Platform::Console, "#incident-prod"),
            message: ChatMessage {
                id: "m1".into(),
                author: "dave".into(),
                author_name: None,
                text: "<script>alert(1)</script> pool exhausted at postgres://app:hunter2@db/x"
                    .into(),
                at: Utc::now(),
                link: Some("javascript:alert(2)".into()),
            },
            pinned: true,
            delivery: DeliveryId::new("pin1"),
        },
    )
    .await
    .expect("pinned");
    say(&deps, "alice", "/va incident end", &mut n).await;
    let events = store.events(None, None).await.unwrap();
    let incident = events
        .iter()
        .find(|e| e.kind == EventKind::IncidentStarted)
        .and_then(|e| e.invocation.clone())
        .expect("incident")
        .to_string();
    (store, incident, approval)
}

fn app(store: Arc<dyn Store>) -> Router {
    router(store, Auth::Bearer(Secret::new(TOKEN)))
}

async fn get(
    app: &Router,
    path: &str,
    auth: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::get(path);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

fn bearer() -> Option<&'static str> {
    Some("Bearer review-token-for-tests")
}

#[tokio::test]
async fn requests_without_the_credentials_get_401_and_a_challenge() {
    let (store, incident, _) = world().await;
    let app = app(store);
    let timeline = format!("/review/timeline?incident={incident}");
    for path in [
        "/review",
        timeline.as_str(),
        "/review/export.md?channel=console%3A%23incident-prod",
    ] {
        for auth in [
            None,
            Some("Bearer wrong"),
            Some("Basic YWxpY2U6eA=="),
            Some(TOKEN),
        ] {
            let (status, headers, body) = get(&app, path, auth).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path} with {auth:?}");
            assert_eq!(headers["www-authenticate"], "Bearer realm=\"vabot review\"");
            assert!(!body.contains("alice"), "{body}");
        }
    }
    assert_eq!(get(&app, "/review", bearer()).await.0, StatusCode::OK);
}

#[tokio::test]
async fn basic_auth_accepts_exactly_the_configured_user_and_password() {
    let (store, _, _) = world().await;
    let app = router(
        store,
        Auth::Basic {
            user: "review".into(),
            password: Secret::new("s3cret"),
        },
    );
    let b64 = |s: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    };
    assert_eq!(
        get(&app, "/review", Some(&b64("review:s3cret"))).await.0,
        StatusCode::OK
    );
    for wrong in ["review:s3cre", "revie:s3cret", "review:s3cret2", ""] {
        let (status, headers, _) = get(&app, "/review", Some(&b64(wrong))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{wrong}");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic ")
        );
    }
}

#[tokio::test]
async fn the_index_lists_the_incident_and_the_channel_with_an_intact_chain() {
    let (store, incident, _) = world().await;
    let (status, headers, body) = get(&app(store), "/review", bearer()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    assert!(
        body.contains(&format!("href=\"/review/timeline?incident={incident}\"")),
        "{body}"
    );
    assert!(
        body.contains("Checkout &lt;b&gt;latency&lt;/b&gt;"),
        "titles are escaped: {body}"
    );
    assert!(
        body.contains("/review/timeline?channel=console%3A%23incident-prod"),
        "{body}"
    );
    assert!(body.contains("data-chain=\"intact\""), "{body}");
}

#[tokio::test]
async fn the_timeline_merges_commands_votes_and_pins_and_escapes_what_came_from_chat() {
    let (store, incident, approval) = world().await;
    let (status, _, body) = get(
        &app(store),
        &format!("/review/timeline?incident={incident}"),
        bearer(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("<code class=\"cmd\">/va scale agent-engine 0</code>"),
        "{body}"
    );
    assert!(
        body.contains(&format!("href=\"/review/approvals/{approval}\"")),
        "{body}"
    );
    assert!(body.contains("replicas 2 → 0"), "{body}");
    assert!(body.contains("data-user=\"bob\""), "{body}");
    assert!(
        body.contains("class=\"row out-denied\" data-user=\"carol\""),
        "{body}"
    );
    assert!(body.contains("📌 pinned message"), "{body}");
    assert!(
        body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{body}"
    );
    assert!(
        !body.contains("<script>") && !body.contains("javascript:"),
        "{body}"
    );
    assert!(
        !body.contains("hunter2"),
        "connection-string passwords are masked: {body}"
    );
}

#[tokio::test]
async fn filters_are_query_parameters_and_keep_only_matching_invocations() {
    let (store, incident, _) = world().await;
    let (_, _, body) = get(
        &app(store),
        &format!("/review/timeline?incident={incident}&user=bob"),
        bearer(),
    )
    .await;
    assert!(body.contains("data-user=\"bob\""), "{body}");
    assert!(
        !body.contains("data-user=\"alice\"") && !body.contains("data-user=\"carol\""),
        "{body}"
    );
    assert!(
        body.contains("<option value=\"bob\" selected>bob</option>"),
        "{body}"
    );
    assert!(body.contains("where user=bob"), "{body}");
    assert!(
        body.contains(&format!(
            "/review/export.md?incident={incident}&amp;user=bob"
        )),
        "exports keep the filters: {body}"
    );
}

#[tokio::test]
async fn the_approval_detail_shows_the_plan_the_votes_and_the_outcome() {
    let (store, _, approval) = world().await;
    let (status, _, body) = get(
        &app(store),
        &format!("/review/approvals/{approval}"),
        bearer(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("data-status=\"executed\""), "{body}");
    assert!(body.contains("<td class=\"mono\">replicas</td><td class=\"mono\">2</td><td class=\"arrow\">→</td><td class=\"mono\">0</td>"), "{body}");
    assert!(
        body.contains("<td><b>bob</b></td><td><span class=\"badge out\">approved</span></td>"),
        "{body}"
    );
    assert!(
        body.contains("1 approval(s) from approver, admin"),
        "{body}"
    );
    let (status, _, _) = get(
        &app(Arc::new(MemoryStore::new())),
        &format!("/review/approvals/{approval}"),
        bearer(),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn exports_download_the_same_timeline_as_the_cli_in_three_formats() {
    let (store, incident, approval) = world().await;
    let app = app(store);
    let (status, headers, md) = get(
        &app,
        &format!("/review/export.md?incident={incident}"),
        bearer(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=\"incident-{incident}.md\"")
    );
    assert!(
        md.starts_with("# Incident: Checkout <b>latency</b>\n"),
        "{md}"
    );
    assert!(md.contains("## Pinned messages"), "{md}");
    assert!(md.contains(&format!("{approval} (executed)")), "{md}");
    assert!(!md.contains("hunter2"), "{md}");
    let (_, headers, json) = get(
        &app,
        &format!("/review/export.json?incident={incident}&user=carol"),
        bearer(),
    )
    .await;
    assert_eq!(headers["content-type"], "application/json");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let entries = v["entries"].as_array().unwrap();
    assert!(
        !entries.is_empty() && entries.iter().all(|e| e["user"] == "carol"),
        "{json}"
    );
    let (_, _, csv) = get(
        &app,
        &format!("/review/export.csv?incident={incident}&outcome=pinned"),
        bearer(),
    )
    .await;
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.lines().nth(1).unwrap().contains(",message,"), "{csv}");
}

#[tokio::test]
async fn an_unknown_incident_is_a_404_not_an_error() {
    let (store, _, _) = world().await;
    let (status, _, body) = get(&app(store), "/review/timeline?incident=i-ZZZZZZ", bearer()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("no incident `i-ZZZZZZ`"), "{body}");
}

/// Answers every dependency command with a chart, as `/va prom 429-rate` does.
struct Charting;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n not really a chart, but bytes with a hash";

#[async_trait::async_trait]
impl vabot_commands::ports::Dependencies for Charting {
    async fn plan(
        &self,
        permit: &vabot_commands::authz::Permit,
    ) -> Result<vabot_commands::plan::Plan, vabot_commands::ports::ExecError> {
        Ok(vabot_commands::plan::Plan::read(permit))
    }
    async fn execute(
        &self,
        _: &vabot_commands::approval::Approved,
    ) -> Result<vabot_commands::ports::Outcome, vabot_commands::ports::ExecError> {
        use vabot_commands::message::{Attachment, Message, Tone};
        let m = Message::text(Tone::Info, "429s per second").attach(Attachment {
            filename: "429-rate.png".into(),
            mime: "image/png".into(),
            bytes: PNG.to_vec(),
            title: "HTTP 429 rate, last 1h".into(),
        });
        Ok(vabot_commands::ports::Outcome::reply(
            m,
            "charted the 429 rate",
        ))
    }
}

#[tokio::test]
async fn a_chart_posted_during_an_incident_shows_on_its_timeline_and_a_swapped_file_is_refused() {
    use sha2::{Digest, Sha256};
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut deps = demo_deps(store.clone());
    deps.dependencies = Arc::new(Charting);
    let mut n = 0;
    say(&deps, "alice", "/va incident start 429 storm", &mut n).await;
    let reply = say(&deps, "alice", "/va prom 429-rate --since 1h", &mut n).await;
    assert!(
        reply.messages.iter().any(|m| !m.attachments.is_empty()),
        "{reply:?}"
    );
    say(&deps, "alice", "/va incident end", &mut n).await;
    let sha = hex::encode(Sha256::digest(PNG));
    let events = store.events(None, None).await.unwrap();
    let chart = events
        .iter()
        .find(|e| e.kind == EventKind::ChartPosted)
        .expect("the chart is in the audit log");
    assert_eq!(chart.data["sha256"], sha.as_str());
    let incident = events
        .iter()
        .find(|e| e.kind == EventKind::IncidentStarted)
        .and_then(|e| e.invocation.clone())
        .unwrap()
        .to_string();

    let app = app(store.clone());
    let (status, _, body) = get(
        &app,
        &format!("/review/timeline?incident={incident}"),
        bearer(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(&format!("<img src=\"/review/files/{sha}\"")),
        "{body}"
    );
    assert!(body.contains("HTTP 429 rate, last 1h"), "{body}");
    let (status, headers, _) = get(&app, &format!("/review/files/{sha}"), bearer()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let (status, _, _) = get(&app, &format!("/review/files/{sha}"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = get(&app, "/review/files/not-a-hash", bearer()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A file whose bytes no longer match the hash it is kept (and logged) under.
    let forged = "0".repeat(64);
    store.keep_file(&forged, "image/png", PNG).await.unwrap();
    let (status, _, body) = get(&app, &format!("/review/files/{forged}"), bearer()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body.contains("altered after it was recorded"), "{body}");

    // The exports name the chart and its hash.
    let (_, _, md) = get(
        &app,
        &format!("/review/export.md?incident={incident}"),
        bearer(),
    )
    .await;
    assert!(md.contains(&format!("sha256 {sha}")), "{md}");
}
