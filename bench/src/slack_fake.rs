//! A minimal fake of Slack's Web API for the whole-system bench: every method answers
//! `ok`, `chat.postMessage` with a fresh `ts`. It counts the calls, so the bench can wait
//! for the work behind the acks to finish. (The adapter's own tests use the full fake in
//! `bot/slack/tests/common/fake.rs`, with failure injection.)

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::{Value, json};

#[derive(Default)]
struct Counters {
    calls: AtomicU64,
    posts: AtomicU64,
    ts: AtomicU64,
}

/// The running fake.
pub struct FakeSlack {
    pub addr: SocketAddr,
    counters: Arc<Counters>,
}

impl FakeSlack {
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let counters = Arc::new(Counters::default());
        let app = Router::new()
            .route("/api/{method}", post(api).get(api))
            .with_state(counters.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, counters })
    }

    /// What `slack.api_base` should be.
    pub fn api_base(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    pub fn calls(&self) -> u64 {
        self.counters.calls.load(Ordering::SeqCst)
    }

    /// Successful `chat.postMessage` calls.
    pub fn posts(&self) -> u64 {
        self.counters.posts.load(Ordering::SeqCst)
    }
}

async fn api(
    State(c): State<Arc<Counters>>,
    Path(method): Path<String>,
    body: Bytes,
) -> impl IntoResponse {
    c.calls.fetch_add(1, Ordering::SeqCst);
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let n = c.ts.fetch_add(1, Ordering::SeqCst) + 1;
    let ts = format!("1764000000.{n:06}");
    let channel = parsed.get("channel").cloned().unwrap_or(json!("C0BENCH"));
    let out = match method.as_str() {
        "chat.postMessage" => {
            c.posts.fetch_add(1, Ordering::SeqCst);
            json!({"ok": true, "channel": channel, "ts": ts,
                   "message": {"ts": ts, "text": "", "bot_id": "B0VABOT", "type": "message"}})
        }
        "chat.update" => json!({"ok": true, "channel": channel,
            "ts": parsed.get("ts").cloned().unwrap_or(json!(ts)),
            "message": {"text": "", "bot_id": "B0VABOT"}}),
        "chat.postEphemeral" => json!({"ok": true, "message_ts": ts}),
        _ => json!({"ok": true}),
    };
    (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        out.to_string(),
    )
}
