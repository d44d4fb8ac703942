//! A local fake of Slack: the Web API (`/api/{method}`), the upload URL files go to,
//! and the Socket Mode WebSocket. Binds 127.0.0.1:0, records every call, and answers a
//! 429 with `Retry-After`, a 500 or an `ok:false` error when told to. It keeps the
//! channel messages a test puts in it and serves them through conversations.history and
//! conversations.replies (with Slack's paging by `latest`/`oldest`) and chat.getPermalink.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// One recorded Web API call.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub body: Value,
    pub auth: Option<String>,
    /// What the fake answered (200, 429, 500).
    pub status: u16,
    pub at: Instant,
}

impl Call {
    /// Every text in the payload (fallback text and blocks), for searching.
    pub fn text(&self) -> String {
        self.body.to_string()
    }
    pub fn str(&self, key: &str) -> Option<&str> {
        self.body.get(key).and_then(Value::as_str)
    }
    pub fn ok(&self) -> bool {
        self.status == 200
    }
}

/// What to answer instead of success, once.
#[derive(Debug, Clone, Copy)]
pub enum Failure {
    RateLimited {
        retry_after_secs: u64,
    },
    ServerError,
    /// `{"ok": false, "error": code}` with a 200, as Slack reports most errors.
    Error(&'static str),
}

#[derive(Default)]
struct State_ {
    calls: Mutex<Vec<Call>>,
    failures: Mutex<VecDeque<(String, Failure)>>,
    uploads: Mutex<Vec<(String, usize)>>,
    acks: Mutex<Vec<Value>>,
    /// (channel, message as history returns it), in posting order.
    messages: Mutex<Vec<(String, Value)>>,
    socket: Mutex<Option<mpsc::UnboundedSender<String>>>,
    /// User group id → member user ids (usergroups.users.list).
    usergroups: Mutex<std::collections::BTreeMap<String, Vec<String>>>,
    connections: AtomicU64,
    ts: AtomicU64,
    addr: Mutex<Option<SocketAddr>>,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeSlack {
    pub addr: SocketAddr,
    state: Arc<State_>,
}

impl FakeSlack {
    pub async fn start() -> Self {
        let state = Arc::new(State_::default());
        let app = Router::new()
            .route("/api/{method}", any(api))
            .route("/upload/{file}", post(upload))
            .route("/link", get(link))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake");
        let addr = listener.local_addr().expect("fake address");
        *state.addr.lock().expect("fake state lock") = Some(addr);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, state }
    }

    /// Sets a user group's members (what usergroups.users.list answers).
    pub fn set_usergroup(&self, id: &str, users: &[&str]) {
        self.state
            .usergroups
            .lock()
            .expect("fake state lock")
            .insert(
                id.to_owned(),
                users.iter().map(|u| (*u).to_owned()).collect(),
            );
    }

    /// The base URL to give the adapter.
    pub fn api_base(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().expect("fake state lock").clone()
    }

    /// Successful calls to one method.
    pub fn ok_calls(&self, method: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method && c.ok())
            .collect()
    }

    pub fn uploads(&self) -> Vec<(String, usize)> {
        self.state.uploads.lock().expect("fake state lock").clone()
    }

    pub fn acks(&self) -> Vec<Value> {
        self.state.acks.lock().expect("fake state lock").clone()
    }

    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// A message someone posted in `channel` (see `fixtures::history_message`).
    pub fn put_message(&self, channel: &str, message: Value) {
        self.state
            .messages
            .lock()
            .expect("fake state lock")
            .push((channel.to_owned(), message));
    }

    /// The next call to `method` fails this way.
    pub fn fail_next(&self, method: &str, failure: Failure) {
        self.state
            .failures
            .lock()
            .expect("fake state lock")
            .push_back((method.to_owned(), failure));
    }

    /// Sends a Socket Mode frame to the connected client.
    pub fn send_envelope(&self, frame: Value) {
        let tx = self.state.socket.lock().expect("fake state lock").clone();
        tx.expect("no Socket Mode client is connected")
            .send(frame.to_string())
            .expect("socket closed");
    }

    /// Waits (up to 10 s) until `pred` holds for the recorded calls.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&[Call]) -> bool) -> Vec<Call> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let calls = self.calls();
            if pred(&calls) {
                return calls;
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; calls: {:#?}",
                    summary(&calls)
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until something other than the socket or `pred` is true.
    pub async fn wait_until(&self, what: &str, pred: impl Fn(&FakeSlack) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pred(self) {
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; calls: {:#?}",
                    summary(&self.calls())
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn summary(calls: &[Call]) -> Vec<String> {
    calls
        .iter()
        .map(|c| {
            format!(
                "{} {} {}",
                c.status,
                c.method,
                truncate(&c.body.to_string(), 300)
            )
        })
        .collect()
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// The fake's answers: each is checked against slack-morphism's response types in
/// the fixture test.
pub fn success_body(method: &str, body: &Value, ts: &str, addr: SocketAddr) -> Value {
    match method {
        "chat.postMessage" => json!({
            "ok": true,
            "channel": body.get("channel").cloned().unwrap_or(json!("C0UNKNOWN")),
            "ts": ts,
            "message": {"ts": ts, "text": body.get("text").cloned().unwrap_or(json!("")), "bot_id": "B0VABOT", "type": "message"}
        }),
        "chat.update" => json!({
            "ok": true,
            "channel": body.get("channel").cloned().unwrap_or(json!("C0UNKNOWN")),
            "ts": body.get("ts").cloned().unwrap_or(json!(ts)),
            "message": {"text": body.get("text").cloned().unwrap_or(json!("")), "bot_id": "B0VABOT"}
        }),
        "chat.postEphemeral" => json!({"ok": true, "message_ts": ts}),
        "files.getUploadURLExternal" => json!({
            "ok": true,
            "upload_url": format!("http://{addr}/upload/F0FILE{}", ts.replace('.', "")),
            "file_id": format!("F0FILE{}", ts.replace('.', "")),
        }),
        "files.completeUploadExternal" => json!({
            "ok": true,
            "files": body.get("files").cloned().unwrap_or(json!([]))
        }),
        "apps.connections.open" => {
            json!({"ok": true, "url": format!("ws://{addr}/link?ticket=t1")})
        }
        _ => json!({"ok": true}),
    }
}

/// usergroups.users.list: the members of `usergroup`, or Slack's `no_such_subteam`.
pub fn usergroups_body(
    groups: &std::collections::BTreeMap<String, Vec<String>>,
    args: &Value,
) -> Value {
    let id = args
        .get("usergroup")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match groups.get(id) {
        Some(users) => json!({"ok": true, "users": users}),
        None => json!({"ok": false, "error": "no_such_subteam"}),
    }
}

/// `1764000000.000100` → a comparable key.
fn ts_key(ts: &str) -> (i64, i64) {
    let (a, b) = ts.split_once('.').unwrap_or((ts, "0"));
    (a.parse().unwrap_or(0), b.parse().unwrap_or(0))
}

fn arg<'a>(args: &'a Value, key: &str) -> Option<&'a str> {
    args.get(key).and_then(Value::as_str)
}

/// Whether `ts` lies within the request's `oldest`/`latest` (exclusive unless `inclusive`).
fn in_range(ts: &str, args: &Value) -> bool {
    let inclusive = arg(args, "inclusive") == Some("true");
    let k = ts_key(ts);
    let after_oldest = arg(args, "oldest").is_none_or(|o| {
        let o = ts_key(o);
        k > o || (inclusive && k == o)
    });
    let before_latest = arg(args, "latest").is_none_or(|l| {
        let l = ts_key(l);
        k < l || (inclusive && k == l)
    });
    after_oldest && before_latest
}

fn limit(args: &Value, default: usize) -> usize {
    arg(args, "limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(default)
}

fn is_reply(m: &Value) -> bool {
    m.get("thread_ts").is_some_and(|t| t != &m["ts"])
}

/// conversations.history: the channel's messages (thread replies excluded), newest first.
pub fn history_body(messages: &[(String, Value)], args: &Value) -> Value {
    let channel = arg(args, "channel").unwrap_or_default();
    let mut found: Vec<&Value> = messages
        .iter()
        .filter(|(c, m)| c == channel && !is_reply(m))
        .map(|(_, m)| m)
        .filter(|m| in_range(m["ts"].as_str().unwrap_or_default(), args))
        .collect();
    found.sort_by_key(|m| std::cmp::Reverse(ts_key(m["ts"].as_str().unwrap_or_default())));
    let n = limit(args, 100);
    let has_more = found.len() > n;
    found.truncate(n);
    json!({"ok": true, "messages": found, "has_more": has_more, "pin_count": 0,
           "response_metadata": {"next_cursor": ""}})
}

/// conversations.replies: the thread `ts` belongs to, parent first, oldest first; or
/// `thread_not_found`.
pub fn replies_body(messages: &[(String, Value)], args: &Value) -> Value {
    let channel = arg(args, "channel").unwrap_or_default();
    let ts = arg(args, "ts").unwrap_or_default();
    let Some(root) = messages
        .iter()
        .find(|(c, m)| c == channel && m["ts"] == ts)
        .map(|(_, m)| {
            m.get("thread_ts")
                .cloned()
                .unwrap_or_else(|| m["ts"].clone())
        })
    else {
        return json!({"ok": false, "error": "thread_not_found"});
    };
    let mut thread: Vec<&Value> = messages
        .iter()
        .filter(|(c, m)| c == channel && (m["ts"] == root || m.get("thread_ts") == Some(&root)))
        .map(|(_, m)| m)
        .collect();
    thread.sort_by_key(|m| ts_key(m["ts"].as_str().unwrap_or_default()));
    // Slack always puts the parent first, then the replies in the time range.
    let mut out: Vec<&Value> = thread.iter().copied().filter(|m| m["ts"] == root).collect();
    out.extend(
        thread
            .iter()
            .copied()
            .filter(|m| m["ts"] != root && in_range(m["ts"].as_str().unwrap_or_default(), args)),
    );
    out.truncate(limit(args, 1000));
    json!({"ok": true, "messages": out, "has_more": false, "response_metadata": {"next_cursor": ""}})
}

/// chat.getPermalink: Slack's link format, with `thread_ts` for a reply.
pub fn permalink_body(messages: &[(String, Value)], args: &Value) -> Value {
    let channel = arg(args, "channel").unwrap_or_default();
    let ts = arg(args, "message_ts").unwrap_or_default();
    let Some(m) = messages
        .iter()
        .find(|(c, m)| c == channel && m["ts"] == ts)
        .map(|(_, m)| m)
    else {
        return json!({"ok": false, "error": "message_not_found"});
    };
    let mut link = format!(
        "https://voicehelper.slack.com/archives/{channel}/p{}",
        ts.replace('.', "")
    );
    if is_reply(m) {
        link.push_str(&format!(
            "?thread_ts={}&cid={channel}",
            m["thread_ts"].as_str().unwrap_or_default()
        ));
    }
    json!({"ok": true, "channel": channel, "permalink": link})
}

async fn api(
    State(st): State<Arc<State_>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed: Value = serde_json::from_slice(&body).unwrap_or_else(|_| {
        // GET methods carry their arguments in the query string, others may be forms.
        let src = if body.is_empty() {
            query.unwrap_or_default().into_bytes()
        } else {
            body.to_vec()
        };
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&src).unwrap_or_default();
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
    });
    let failure = {
        let mut f = st.failures.lock().expect("fake state lock");
        match f.iter().position(|(m, _)| *m == method) {
            Some(i) => f.remove(i).map(|(_, x)| x),
            None => None,
        }
    };
    let status = match failure {
        Some(Failure::RateLimited { .. }) => 429,
        Some(Failure::ServerError) => 500,
        Some(Failure::Error(_)) | None => 200,
    };
    st.calls.lock().expect("fake state lock").push(Call {
        method: method.clone(),
        body: parsed.clone(),
        auth: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        status,
        at: Instant::now(),
    });
    match failure {
        Some(Failure::RateLimited { retry_after_secs }) => (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (header::RETRY_AFTER, retry_after_secs.to_string()),
                (header::CONTENT_TYPE, "application/json".to_owned()),
            ],
            json!({"ok": false, "error": "ratelimited"}).to_string(),
        )
            .into_response(),
        Some(Failure::ServerError) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "upstream exploded").into_response()
        }
        Some(Failure::Error(code)) => (
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            json!({"ok": false, "error": code}).to_string(),
        )
            .into_response(),
        None => {
            let n = st.ts.fetch_add(1, Ordering::SeqCst) + 1;
            let ts = format!("1764000000.{n:06}");
            let addr = st
                .addr
                .lock()
                .expect("fake state lock")
                .expect("fake address");
            let out = {
                let messages = st.messages.lock().expect("fake state lock");
                match method.as_str() {
                    "conversations.history" => history_body(&messages, &parsed),
                    "conversations.replies" => replies_body(&messages, &parsed),
                    "chat.getPermalink" => permalink_body(&messages, &parsed),
                    "usergroups.users.list" => {
                        usergroups_body(&st.usergroups.lock().expect("fake state lock"), &parsed)
                    }
                    _ => success_body(&method, &parsed, &ts, addr),
                }
            };
            (
                [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                out.to_string(),
            )
                .into_response()
        }
    }
}

async fn upload(State(st): State<Arc<State_>>, Path(file): Path<String>, body: Bytes) -> Response {
    st.uploads
        .lock()
        .expect("fake state lock")
        .push((file, body.len()));
    (
        [(header::CONTENT_TYPE, "text/plain")],
        format!("OK - {}", body.len()),
    )
        .into_response()
}

async fn link(State(st): State<Arc<State_>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| serve_socket(st, socket))
}

/// The Socket Mode hello frame.
pub fn hello() -> Value {
    json!({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0VABOT"}, "debug_info": {"host": "fake-slack"}})
}

async fn serve_socket(st: Arc<State_>, socket: WebSocket) {
    st.connections.fetch_add(1, Ordering::SeqCst);
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    *st.socket.lock().expect("fake state lock") = Some(tx);
    if sink
        .send(WsMessage::Text(hello().to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(frame) => if sink.send(WsMessage::Text(frame.into())).await.is_err() { break },
                None => break,
            },
            inc = stream.next() => match inc {
                Some(Ok(WsMessage::Text(t))) => {
                    if let Ok(v) = serde_json::from_str::<Value>(&t) {
                        st.acks.lock().expect("fake state lock").push(v);
                    }
                }
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
}
