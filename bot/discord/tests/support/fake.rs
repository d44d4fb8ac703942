//! A local fake of Discord: the REST API under `/api/v10` and the gateway at `/gw`, on
//! 127.0.0.1. It records every REST call, answers with payloads from [`fixtures`], and
//! lets a test inject gateway events, drop the connection, and see RESUME or IDENTIFY.
//! It keeps the messages, threads and member roles a test gives it and serves them over
//! REST, opens DM channels, and — as Discord does — tells the gateway when a reaction is
//! deleted.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::fixtures as fx;

/// One REST call the bot made.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub body: Value,
    pub files: Vec<String>,
    /// What the fake answered (a message, a thread), if a body.
    pub response: Value,
    pub status: u16,
}

impl Call {
    pub fn is(&self, method: &str, path_prefix: &str) -> bool {
        self.method == method && self.path.starts_with(path_prefix)
    }
    /// All embed text of a request body (titles, descriptions, fields, footers).
    pub fn text(&self) -> String {
        let data = if self.body.get("data").is_some() {
            &self.body["data"]
        } else {
            &self.body
        };
        let mut out = data["content"].as_str().unwrap_or("").to_owned();
        for e in data["embeds"].as_array().into_iter().flatten() {
            for k in ["title", "description"] {
                if let Some(s) = e[k].as_str() {
                    out.push('\n');
                    out.push_str(s);
                }
            }
            for f in e["fields"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "\n{}: {}",
                    f["name"].as_str().unwrap_or(""),
                    f["value"].as_str().unwrap_or("")
                ));
            }
            if let Some(s) = e["footer"]["text"].as_str() {
                out.push('\n');
                out.push_str(s);
            }
        }
        out
    }
    pub fn response_id(&self) -> u64 {
        self.response["id"].as_str().unwrap().parse().unwrap()
    }
}

enum Outbound {
    Frame(Value),
    /// Close with a resumable code, as Discord does when it drops a session's socket.
    Drop,
}

#[derive(Default)]
struct Gateway {
    session: String,
    /// Dispatches sent in this session, for RESUME replay.
    sent: Vec<(u64, Value)>,
    conn: Option<mpsc::UnboundedSender<Outbound>>,
}

#[derive(Default)]
pub struct Inner {
    calls: Mutex<Vec<Call>>,
    gateway: Mutex<Gateway>,
    seq: AtomicU64,
    ids: AtomicU64,
    pub identifies: AtomicUsize,
    pub resumes: AtomicUsize,
    pub heartbeats: AtomicUsize,
    /// Every gateway frame sent, for the fidelity test.
    pub frames: Mutex<Vec<Value>>,
    /// Every REST response body, for the fidelity test.
    pub responses: Mutex<Vec<(String, Value)>>,
    /// interaction token → channel, so follow-ups land where the command was typed.
    tokens: Mutex<HashMap<String, u64>>,
    /// (channel, message id) → the message `GET /channels/{c}/messages/{m}` returns.
    messages: Mutex<HashMap<(u64, u64), Value>>,
    /// Channels whose messages the bot may not read (403 Missing Access).
    forbidden: Mutex<Vec<u64>>,
    /// thread → parent channel.
    threads: Mutex<HashMap<u64, u64>>,
    /// user → guild role ids, for `GET /guilds/{g}/members/{u}`.
    roles: Mutex<HashMap<u64, Vec<u64>>>,
    /// DM channel → the user it is with.
    dms: Mutex<HashMap<u64, u64>>,
    addr: Mutex<Option<SocketAddr>>,
}

#[derive(Clone)]
pub struct FakeDiscord {
    pub addr: SocketAddr,
    pub inner: Arc<Inner>,
}

impl FakeDiscord {
    pub async fn start() -> Self {
        let inner = Arc::new(Inner {
            ids: AtomicU64::new(900_000),
            ..Inner::default()
        });
        let app = Router::new()
            .route("/gw", get(gateway))
            .fallback(rest)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        *inner.addr.lock().unwrap() = Some(addr);
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, inner }
    }

    pub fn api_base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn gateway_url(&self) -> String {
        format!("ws://{}/gw", self.addr)
    }

    pub fn next_id(&self) -> u64 {
        self.inner.ids.fetch_add(1, Ordering::SeqCst)
    }

    pub fn calls(&self) -> Vec<Call> {
        self.inner.calls.lock().unwrap().clone()
    }

    /// Sends a dispatch now, or queues it for RESUME replay when disconnected.
    pub fn dispatch(&self, t: &str, d: Value) {
        self.inner.dispatch(t, d);
    }

    /// A message someone posted, for the bot to fetch.
    pub fn put_message(&self, channel: u64, id: u64, author: u64, content: &str) {
        self.inner.messages.lock().unwrap().insert(
            (channel, id),
            fx::user_message(id, channel, author, content),
        );
    }

    /// A thread someone started under `parent`.
    pub fn put_thread(&self, thread: u64, parent: u64) {
        self.inner.threads.lock().unwrap().insert(thread, parent);
    }

    /// The bot lacks Read Message History in `channel`.
    pub fn forbid_reading(&self, channel: u64) {
        self.inner.forbidden.lock().unwrap().push(channel);
    }

    /// The guild roles `user` has, as the members endpoint reports them.
    pub fn set_roles(&self, user: u64, roles: &[u64]) {
        self.inner
            .roles
            .lock()
            .unwrap()
            .insert(user, roles.to_vec());
    }

    /// The texts of the direct messages the bot sent to `user`, oldest first.
    pub fn dms_to(&self, user: u64) -> Vec<String> {
        let dms = self.inner.dms.lock().unwrap().clone();
        self.calls()
            .iter()
            .filter(|c| c.method == "POST" && c.path.ends_with("/messages"))
            .filter(|c| {
                c.path
                    .split('/')
                    .nth(2)
                    .and_then(|ch| ch.parse::<u64>().ok())
                    .and_then(|ch| dms.get(&ch))
                    == Some(&user)
            })
            .map(Call::text)
            .collect()
    }

    pub fn remember_token(&self, interaction: u64, channel: u64) {
        self.inner
            .tokens
            .lock()
            .unwrap()
            .insert(fx::token_of(interaction), channel);
    }

    /// Closes the gateway socket with 4000 (unknown error; the session may be resumed).
    pub fn drop_connection(&self) {
        let mut g = self.inner.gateway.lock().unwrap();
        if let Some(c) = g.conn.take() {
            let _ = c.send(Outbound::Drop);
        }
    }

    /// Drops the socket and forgets the session, as after a long outage: RESUME is
    /// refused (op 9) and the bot has to IDENTIFY again.
    pub fn drop_connection_and_session(&self) {
        let mut g = self.inner.gateway.lock().unwrap();
        g.session = String::new();
        g.sent.clear();
        if let Some(c) = g.conn.take() {
            let _ = c.send(Outbound::Drop);
        }
    }

    pub fn connected(&self) -> bool {
        self.inner.gateway.lock().unwrap().conn.is_some()
    }

    /// Waits until a recorded call satisfies `pred`; panics with the calls seen after 10 s.
    pub async fn wait_for(&self, what: &str, pred: impl Fn(&Call) -> bool) -> Call {
        for _ in 0..500 {
            if let Some(c) = self.calls().into_iter().find(|c| pred(c)) {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let seen: Vec<String> = self
            .calls()
            .iter()
            .map(|c| format!("{} {} {}", c.method, c.path, c.text().replace('\n', " | ")))
            .collect();
        panic!("timed out waiting for {what}; calls:\n{}", seen.join("\n"));
    }

    pub async fn wait_until(&self, what: &str, cond: impl Fn() -> bool) {
        for _ in 0..750 {
            if cond() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("timed out waiting for {what}");
    }
}

impl Inner {
    fn dispatch(&self, t: &str, d: Value) {
        let s = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let frame = fx::dispatch(t, s, d);
        let mut g = self.gateway.lock().unwrap();
        g.sent.push((s, frame.clone()));
        if let Some(c) = &g.conn {
            let _ = c.send(Outbound::Frame(frame.clone()));
        }
        self.frames.lock().unwrap().push(frame);
    }

    fn id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::SeqCst)
    }
}

async fn gateway(ws: WebSocketUpgrade, State(inner): State<Arc<Inner>>) -> Response {
    ws.on_upgrade(move |socket| session(socket, inner))
}

async fn send(socket: &mut WebSocket, inner: &Inner, v: Value) -> bool {
    inner.frames.lock().unwrap().push(v.clone());
    socket
        .send(WsMessage::Text(v.to_string().into()))
        .await
        .is_ok()
}

async fn session(mut socket: WebSocket, inner: Arc<Inner>) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Outbound>();
    if !send(&mut socket, &inner, fx::hello()).await {
        return;
    }
    let resume_url = format!("ws://{}/gw", inner.addr.lock().unwrap().unwrap());
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Outbound::Frame(v)) => { if socket.send(WsMessage::Text(v.to_string().into())).await.is_err() { break; } }
                Some(Outbound::Drop) | None => {
                    let _ = socket.send(WsMessage::Close(Some(CloseFrame { code: 4000, reason: "dropped by the fake".into() }))).await;
                    break;
                }
            },
            msg = socket.recv() => {
                let Some(Ok(msg)) = msg else { break };
                let text = match msg {
                    WsMessage::Text(t) => t.to_string(),
                    WsMessage::Close(_) => break,
                    _ => continue,
                };
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                match v["op"].as_u64() {
                    Some(1) => {
                        inner.heartbeats.fetch_add(1, Ordering::SeqCst);
                        if !send(&mut socket, &inner, json!({"op": 11})).await { break; }
                    }
                    Some(2) => {
                        assert_eq!(v["d"]["token"], "Bot test-token", "IDENTIFY carries the bot token");
                        inner.identifies.fetch_add(1, Ordering::SeqCst);
                        let session = format!("session-{}", inner.id());
                        {
                            let mut g = inner.gateway.lock().unwrap();
                            g.session = session.clone();
                            g.sent.clear();
                            g.conn = Some(tx.clone());
                        }
                        inner.dispatch("READY", fx::ready(&session, &resume_url));
                    }
                    Some(6) => {
                        inner.resumes.fetch_add(1, Ordering::SeqCst);
                        let want = v["d"]["session_id"].as_str().unwrap_or("").to_owned();
                        let seq = v["d"]["seq"].as_u64().unwrap_or(0);
                        let replay: Option<Vec<Value>> = {
                            let mut g = inner.gateway.lock().unwrap();
                            if g.session == want {
                                g.conn = Some(tx.clone());
                                Some(g.sent.iter().filter(|(s, _)| *s > seq).map(|(_, f)| f.clone()).collect())
                            } else {
                                None
                            }
                        };
                        match replay {
                            Some(frames) => {
                                for f in frames {
                                    if socket.send(WsMessage::Text(f.to_string().into())).await.is_err() { return; }
                                }
                                inner.dispatch("RESUMED", json!({}));
                            }
                            // Unknown session: not resumable, IDENTIFY again.
                            None => { if !send(&mut socket, &inner, json!({"op": 9, "d": false})).await { break; } }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let mut g = inner.gateway.lock().unwrap();
    if g.conn.as_ref().is_some_and(|c| c.same_channel(&tx)) {
        g.conn = None;
    }
}

/// Extracts `payload_json` and file names from a multipart body.
fn multipart(body: &[u8], content_type: &str) -> (Value, Vec<String>) {
    let Some(boundary) = content_type.split("boundary=").nth(1) else {
        return (Value::Null, Vec::new());
    };
    let boundary = boundary.trim_matches('"');
    let sep = format!("--{boundary}");
    let text = String::from_utf8_lossy(body);
    let mut payload = Value::Null;
    let mut files = Vec::new();
    for part in text.split(&sep) {
        let Some((head, content)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        if head.contains("name=\"payload_json\"") {
            payload = serde_json::from_str(content.trim_end_matches("\r\n")).unwrap_or(Value::Null);
        } else if let Some(f) = head.split("filename=\"").nth(1) {
            files.push(f.split('"').next().unwrap_or("").to_owned());
        }
    }
    (payload, files)
}

async fn rest(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path()
        .strip_prefix("/api/v10")
        .unwrap_or(uri.path())
        .to_owned();
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let (body, files) = if ct.starts_with("multipart/") {
        multipart(&body, &ct)
    } else {
        (
            serde_json::from_slice(&body).unwrap_or(Value::Null),
            Vec::new(),
        )
    };
    let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let m = method.as_str();
    let flags = body["flags"].as_u64().unwrap_or(0);
    let embeds = body.get("embeds").cloned().unwrap_or(json!([]));
    let content = body["content"].as_str().unwrap_or("").to_owned();
    let (status, response): (u16, Value) = match (m, seg.as_slice()) {
        ("GET", ["gateway"]) => (
            200,
            json!({"url": format!("ws://{}/gw", inner.addr.lock().unwrap().unwrap())}),
        ),
        ("PUT", ["applications", _, "guilds", _, "commands"])
        | ("PUT", ["applications", _, "commands"]) => (200, json!([])),
        ("POST", ["interactions", _, _, "callback"]) => (204, Value::Null),
        ("POST", ["webhooks", _, token]) => {
            let channel = inner
                .tokens
                .lock()
                .unwrap()
                .get(*token)
                .copied()
                .unwrap_or(0);
            (
                200,
                fx::message(inner.id(), channel, &content, embeds, flags),
            )
        }
        ("PATCH", ["webhooks", _, token, "messages", _]) => {
            let channel = inner
                .tokens
                .lock()
                .unwrap()
                .get(*token)
                .copied()
                .unwrap_or(0);
            (
                200,
                fx::message(inner.id(), channel, &content, embeds, flags),
            )
        }
        ("DELETE", ["webhooks", _, _, "messages", _]) => (204, Value::Null),
        ("POST", ["channels", c, "messages", _, "threads"]) => {
            let name = body["name"].as_str().unwrap_or("thread");
            let parent = c.parse().unwrap_or(0);
            let id = inner.id();
            inner.threads.lock().unwrap().insert(id, parent);
            (201, fx::thread(id, parent, name))
        }
        ("GET", ["channels", c, "messages", m]) => {
            let key = (c.parse().unwrap_or(0), m.parse().unwrap_or(0));
            if inner.forbidden.lock().unwrap().contains(&key.0) {
                (403, json!({"message": "Missing Access", "code": 50001}))
            } else {
                match inner.messages.lock().unwrap().get(&key) {
                    Some(msg) => (200, msg.clone()),
                    None => (404, json!({"message": "Unknown Message", "code": 10008})),
                }
            }
        }
        ("GET", ["channels", c]) => {
            let id: u64 = c.parse().unwrap_or(0);
            let parent = inner.threads.lock().unwrap().get(&id).copied();
            match parent {
                Some(p) => (200, fx::thread(id, p, "thread")),
                None => (200, fx::text_channel(id)),
            }
        }
        ("GET", ["guilds", _, "members", u]) => {
            let id: u64 = u.parse().unwrap_or(0);
            let roles = inner
                .roles
                .lock()
                .unwrap()
                .get(&id)
                .cloned()
                .unwrap_or_default();
            (200, fx::guild_member(id, &roles))
        }
        ("POST", ["users", "@me", "channels"]) => {
            let user: u64 = body["recipient_id"]
                .as_str()
                .and_then(|u| u.parse().ok())
                .or_else(|| body["recipient_id"].as_u64())
                .unwrap_or(0);
            let id = inner.id();
            inner.dms.lock().unwrap().insert(id, user);
            (200, fx::private_channel(id, user))
        }
        ("POST", ["channels", c, "messages"]) => (
            200,
            fx::message(inner.id(), c.parse().unwrap_or(0), &content, embeds, 0),
        ),
        ("PATCH", ["channels", c, "messages", id]) => (
            200,
            fx::message(
                id.parse().unwrap_or(0),
                c.parse().unwrap_or(0),
                &content,
                embeds,
                0,
            ),
        ),
        ("PUT", ["channels", c, "messages", msg, "reactions", emoji, "@me"]) => {
            // Discord tells every client about every reaction, the bot's own included.
            let emoji = percent_decode(emoji);
            let d = fx::reaction(
                fx::BOT_ID,
                &[],
                c.parse().unwrap_or(0),
                msg.parse().unwrap_or(0),
                &emoji,
                true,
            );
            inner.dispatch("MESSAGE_REACTION_ADD", d);
            (204, Value::Null)
        }
        ("DELETE", ["channels", c, "messages", msg, "reactions", emoji, user]) => {
            // Discord tells every client that the reaction is gone.
            if let Ok(user) = user.parse::<u64>() {
                let d = fx::reaction_removed(
                    user,
                    c.parse().unwrap_or(0),
                    msg.parse().unwrap_or(0),
                    &percent_decode(emoji),
                );
                inner.dispatch("MESSAGE_REACTION_REMOVE", d);
            }
            (204, Value::Null)
        }
        _ => (404, json!({"message": "404: Not Found", "code": 0})),
    };
    inner.calls.lock().unwrap().push(Call {
        method: m.to_owned(),
        path: path.clone(),
        body,
        files,
        response: response.clone(),
        status,
    });
    if !response.is_null() && status < 400 {
        inner
            .responses
            .lock()
            .unwrap()
            .push((path, response.clone()));
    }
    let code = StatusCode::from_u16(status).unwrap();
    if response.is_null() {
        code.into_response()
    } else {
        (
            code,
            [("content-type", "application/json")],
            response.to_string(),
        )
            .into_response()
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
