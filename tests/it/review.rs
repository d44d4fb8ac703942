//! The review UI end to end: a store filled by a real `vabot console` session, by Slack
//! and Discord through the running `vabot serve` and their fakes (signed Slack events and
//! Discord gateway interactions, and a 📌 reaction in each whose message the bot fetches
//! from the fake), served by that `vabot serve`, read by headless Chromium (`tests/browser/review.mjs`),
//! then tampered with to see the broken chain on the page.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, RwLock, mpsc};
use std::time::{Duration, Instant};

use super::discord_fake::FakeDiscord;
use super::fixtures as dfx;
use super::replicas::{slack_fake, slack_fixtures as fx};
use vabot_commands::catalog::Catalog;
use vabot_commands::config::{Directory, Policy};
use vabot_commands::model::{Actor, ChannelRef, DeliveryId, Platform};
use vabot_commands::pins::{ChatMessage, PinEvent, PinOutcome, pin};
use vabot_commands::pipeline::Deps;
use vabot_commands::ports::{Clock as _, SystemClock, Unconfigured};
use vabot_commands::store::{EventKind, Store};
use vabot_store::SqlStore;
use vabot_testkit::Topology;

const TOKEN: &str = "review-token-0123456789";
const SLACK_SECRET: &str = "review-test-signing-secret";
/// The Slack thread the incident is worked in.
const THREAD: &str = "1764583200.000100";
const INCIDENT: &str = "Checkout latency spike";

const POLICY: &str = r#"
roles:
  viewer:   { may: [read] }
  operator: { may: [read, write, destructive] }
  approver: { may: [read, write, destructive], approve: true }
users:
  "console:alice": [operator]
  "console:bob":   [approver]
  "console:carol": [viewer]
  "slack:U0ALICE": [operator]
  "slack:U0BOB":   [approver]
  "slack:U0DAVE":  [viewer]
  "discord:800000000000000001": [operator]
  "discord:800000000000000002": [approver]
groups: {}
channels:
  "console:#incident-prod":
    namespaces: [voiceassistant-prod, voiceassistant-infra]
    allow: [read, write, destructive]
  "slack:C0INCIDENT":
    namespaces: [voiceassistant-prod, voiceassistant-infra]
    allow: [read, write, destructive]
  "discord:900000000000000010":
    namespaces: [voiceassistant-prod, voiceassistant-infra]
    allow: [read, write, destructive]
approvals:
  - when: { risk: destructive }
    approvals: 1
    approvers: [approver]
    expiry: 15m
    exclude_requester: true
"#;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

// === The console session ===

struct Console {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Console {
    fn start(config: &Path, db: &str) -> Self {
        let mut child = Command::new(crate::vabot_bin())
            .args(["--config", config.to_str().unwrap(), "console"])
            .env("DATABASE_URL", db)
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("vabot console starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}").expect("console stdin");
        stdin.flush().expect("flush");
    }

    /// Sends `line` and returns the first reply line containing `needle`.
    fn ask(&mut self, line: &str, needle: &str) -> String {
        self.send(line);
        let end = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return l,
                Ok(l) => seen.push(l),
                Err(_) => break,
            }
        }
        panic!("no `{needle}` after `{line}`; got:\n{}", seen.join("\n"))
    }

    fn finish(mut self) {
        drop(self.child.stdin.take());
        let status = self.child.wait().expect("console exits");
        assert!(status.success(), "console exited with {status}");
    }
}

/// Returns the approval id bob approved. `pin` records a pinned message while the
/// session runs (another process appending to the same SQLite file, as a replica would).
fn console_session(config: &Path, db: &str, mut pin: impl FnMut(&str, &str, &str)) -> String {
    let mut c = Console::start(config, db);
    c.send(":as alice");
    c.send(":in #incident-prod");
    c.ask(
        &format!("/va incident start {INCIDENT}"),
        "Incident started",
    );
    c.ask("/va pods agent-engine", "pods");
    pin(
        "dave",
        "p99 checkout latency is 4.2 s since 09:58; the agent-engine pool is exhausted: 100/100 connections",
        "bob",
    );
    c.ask("/va history 5", "commands");
    c.ask("/va restart agent-engine", "undo with");
    pin(
        "erin",
        "Restart did not help. Scaling agent-engine to 0 to drain the stuck connections, then back up",
        "alice",
    );
    let card = c.ask("/va scale agent-engine 0", "Approval needed (");
    let approval = card
        .split("Approval needed (")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .expect("approval id")
        .to_owned();
    c.send(":as bob");
    c.ask(&format!("/va approve {approval}"), "Scaled Deployment");
    c.send(":as carol");
    c.ask("/va restart agent-engine", "may not run write commands");
    c.send(":as alice");
    c.ask("/va incident end", "Incident ended");
    c.finish();
    approval
}

// === Slack and Discord records, through the pipeline ===

fn deps(store: Arc<SqlStore>) -> Deps {
    let catalog = Catalog::voicehelper();
    let policy = Policy::parse("policy.yaml", POLICY, false, &catalog).expect("test policy");
    Deps {
        catalog: Arc::new(catalog),
        policy: Arc::new(RwLock::new(Arc::new(policy))),
        directory: Arc::new(Directory::default()),
        // Pins read no cluster.
        cluster: Arc::new(Unconfigured),
        dependencies: Arc::new(Unconfigured),
        store,
        clock: Arc::new(SystemClock),
        replica: vabot_commands::model::ReplicaId::generate(Some("test")),
    }
}

struct Chat {
    deps: Deps,
    channel: ChannelRef,
    n: u32,
}

impl Chat {
    async fn pin(&mut self, by: &str, message: ChatMessage) {
        self.n += 1;
        let platform = self.channel.platform;
        let outcome = pin(
            &self.deps,
            PinEvent {
                actor: Actor::new(platform, by),
                channel: self.channel.clone(),
                message,
                pinned: true,
                delivery: DeliveryId::new(format!("{platform}-pin-{}", self.n)),
            },
        )
        .await
        .expect("pin recorded");
        assert_eq!(outcome, PinOutcome::Pinned);
    }
}

fn message(id: &str, author: &str, name: &str, text: &str, link: &str) -> ChatMessage {
    ChatMessage {
        id: id.into(),
        author: author.into(),
        author_name: Some(name.into()),
        text: text.into(),
        at: SystemClock.now(),
        link: (!link.is_empty()).then(|| link.into()),
    }
}

// === Discord, through the running bot and the fake ===

const DISCORD_CHANNEL: u64 = 900000000000000010;
const DISCORD_THREAD: u64 = 900000000000000011;
const DISCORD_OPERATOR: u64 = 800000000000000001;
const DISCORD_APPROVER: u64 = 800000000000000002;

/// An incident worked in a Discord thread: `/va` interactions over the gateway, and Mei's
/// message pinned with 📌 by the approver; the bot fetches the message from the fake.
fn discord_session(rt: &tokio::runtime::Runtime, fake: &FakeDiscord, db: &str) {
    rt.block_on(fake.wait_for("command registration", |c| {
        c.is(
            "PUT",
            &format!(
                "/applications/{}/guilds/{}/commands",
                dfx::APP_ID,
                dfx::GUILD_ID
            ),
        )
    }));
    fake.put_thread(DISCORD_THREAD, DISCORD_CHANNEL);
    let command = |options: serde_json::Value| {
        let id = fake.next_id();
        fake.remember_token(id, DISCORD_THREAD);
        fake.dispatch(
            "INTERACTION_CREATE",
            dfx::command_interaction_in_thread(
                id,
                DISCORD_OPERATOR,
                &[],
                DISCORD_THREAD,
                DISCORD_CHANNEL,
                options,
            ),
        );
    };
    let on_discord = |kind: EventKind| {
        move |e: &vabot_commands::store::AuditEvent| {
            e.kind == kind && e.channel.platform == Platform::Discord
        }
    };
    command(discord_options(
        "incident start",
        serde_json::json!([{"name": "title", "type": 3, "value": "Search timeouts"}]),
    ));
    wait_for_event(
        rt,
        db,
        "the Discord incident",
        on_discord(EventKind::IncidentStarted),
    );
    command(discord_options(
        "pods",
        serde_json::json!([{"name": "service", "type": 3, "value": "indexing-service"}]),
    ));
    wait_for_event(
        rt,
        db,
        "the Discord pods",
        |e: &vabot_commands::store::AuditEvent| {
            e.kind == EventKind::Permitted
                && e.channel.platform == Platform::Discord
                && e.summary.starts_with("pods")
        },
    );
    fake.put_message(
        DISCORD_THREAD,
        900000000000000042,
        800000000000000003,
        "ES went yellow at 11:02: two shards unassigned after the node drain",
    );
    fake.dispatch(
        "MESSAGE_REACTION_ADD",
        dfx::reaction(
            DISCORD_APPROVER,
            &[],
            DISCORD_THREAD,
            900000000000000042,
            "📌",
            false,
        ),
    );
    wait_for_event(
        rt,
        db,
        "the Discord pin",
        on_discord(EventKind::MessagePinned),
    );
    command(discord_options("incident end", serde_json::json!([])));
    wait_for_event(
        rt,
        db,
        "the end of the Discord incident",
        on_discord(EventKind::IncidentEnded),
    );

    let pins = rt
        .block_on(async {
            let store = SqlStore::connect(db).await.unwrap();
            store.events(None, None).await.unwrap()
        })
        .iter()
        .filter(|e| e.kind == EventKind::MessagePinned && e.channel.platform != Platform::Console)
        .count();
    // One pinned in Slack, one in Discord (the console session pinned its own before).
    assert_eq!(pins, 2);
}

// === Slack, through the running bot and the fake ===

/// POSTs a Slack event to the running bot, signed as Slack signs it.
fn slack_event(addr: &str, payload: &serde_json::Value) -> u16 {
    let body = payload.to_string();
    let ts = SystemClock.now().timestamp().to_string();
    let sig = vabot_slack::signature::sign(SLACK_SECRET, &ts, body.as_bytes());
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST /slack/events HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nX-Slack-Request-Timestamp: {ts}\r\nX-Slack-Signature: {sig}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    raw.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// An incident worked in a Slack thread: `@va` mentions, and Dave's message pinned with
/// 📌 by Alice; the bot fetches the message from the fake.
fn slack_session(rt: &tokio::runtime::Runtime, addr: &str, fake: &slack_fake::FakeSlack, db: &str) {
    let commands = [
        "incident start Payments 502s",
        "pods identity-service",
        "restart identity-service",
    ];
    let posts = |c: &[slack_fake::Call]| {
        c.iter()
            .filter(|c| c.method == "chat.postMessage" && c.ok())
            .count()
    };
    for (i, text) in commands.iter().enumerate() {
        let ts = format!("1764583201.00010{i}");
        let ev = fx::mention(
            &format!("Ev0REVIEW{i}"),
            fx::ALICE,
            &format!("<@{}> {text}", fx::BOT),
            &ts,
            Some(THREAD),
        );
        assert_eq!(slack_event(addr, &ev), 200, "{text}");
        rt.block_on(fake.wait_for(text, |c| posts(c) > i));
        if i == 1 {
            // Said in the thread, then pinned.
            fake.put_message(
                fx::CHANNEL,
                fx::history_message(
                    fx::DAVE,
                    "identity-service pods are OOMKilled since 10:41; limits were halved in yesterday's release",
                    "1764583260.000200",
                    Some(THREAD),
                ),
            );
            let pin = fx::reaction_on_message(
                "Ev0REVIEWPIN",
                fx::ALICE,
                "pushpin",
                fx::CHANNEL,
                "1764583260.000200",
            );
            assert_eq!(slack_event(addr, &pin), 200);
            wait_for_event(rt, db, "the Slack pin", |e| {
                e.kind == EventKind::MessagePinned && e.channel.platform == Platform::Slack
            });
        }
    }
    wait_for_event(rt, db, "the Slack restart", |e| {
        e.kind == EventKind::ExecutionFinished && e.channel.platform == Platform::Slack
    });
    let ev = fx::mention(
        "Ev0REVIEWEND",
        fx::ALICE,
        &format!("<@{}> incident end", fx::BOT),
        "1764583299.000100",
        Some(THREAD),
    );
    assert_eq!(slack_event(addr, &ev), 200);
    wait_for_event(rt, db, "the end of the Slack incident", |e| {
        e.kind == EventKind::IncidentEnded && e.channel.platform == Platform::Slack
    });
}

fn wait_for_event(
    rt: &tokio::runtime::Runtime,
    db: &str,
    what: &str,
    pred: impl Fn(&vabot_commands::store::AuditEvent) -> bool,
) {
    let end = Instant::now() + Duration::from_secs(20);
    let store = rt.block_on(SqlStore::connect(db)).expect("store");
    let mut last = Vec::new();
    while Instant::now() < end {
        if let Ok(es) = rt.block_on(store.events(None, None)) {
            if es.iter().any(&pred) {
                return;
            }
            last = es;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let tail: Vec<String> = last
        .iter()
        .rev()
        .take(8)
        .map(|e| format!("{} {:?} {}", e.channel.key(), e.kind, e.summary))
        .collect();
    panic!(
        "no {what} in the store after 20 s; latest records:\n{}",
        tail.join("\n")
    );
}

// === The server ===

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(config: &Path, db: &str) -> Server {
    let mut child = Command::new(crate::vabot_bin())
        .args([
            "--config",
            config.to_str().unwrap(),
            "--log-format",
            "json",
            "serve",
            "--http",
            "127.0.0.1:0",
        ])
        .env("DATABASE_URL", db)
        .env("VABOT_REVIEW__ENABLED", "true")
        .env("VABOT_REVIEW__TOKEN", TOKEN)
        .env_remove("VABOT_LEASE_NAME")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vabot serve starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // The listening address, from the JSON log line (port 0: the kernel picks a free one).
    let end = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        let Ok(line) = rx.recv_timeout(left) else {
            break;
        };
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
            && v["message"] == "HTTP server listening"
        {
            let addr = v["addr"].as_str().expect("addr").to_owned();
            assert!(addr.starts_with("127.0.0.1:"), "{addr}");
            std::thread::spawn(move || while rx.recv().is_ok() {});
            let server = Server { child, addr };
            wait_for_review(&server);
            return server;
        }
        seen.push(line);
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!(
        "vabot serve did not report its address:\n{}",
        seen.join("\n")
    );
}

fn wait_for_review(server: &Server) {
    let auth = format!("Bearer {TOKEN}");
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end {
        if let Ok((200, _)) = try_get(&server.addr, "/review", Some(&auth)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the review UI never answered on {}", server.addr);
}

/// A plain HTTP/1.1 GET (the page is served on 127.0.0.1; no client library needed).
fn try_get(addr: &str, path: &str, auth: Option<&str>) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((code, text))
}

fn get(addr: &str, path: &str, auth: Option<&str>) -> (u16, String) {
    try_get(addr, path, auth).expect("GET")
}

// === The browser ===

fn browser(mode: &str, addr: &str, vars: &BTreeMap<&str, String>) -> serde_json::Value {
    let dir = repo_root().join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run `npm ci --prefix tests/browser` (tests/run does)"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: `apt-get install chromium` (tests/run does)"
    );
    let out = Command::new("node")
        .arg(dir.join("review.mjs"))
        .env("REVIEW_MODE", mode)
        .env("REVIEW_URL", format!("http://{addr}"))
        .env("REVIEW_TOKEN", TOKEN)
        .env("CHROMIUM", chromium)
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(&dir)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "browser test ({mode}) failed:\n{stdout}\n{stderr}"
    );
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn a_reviewer_reads_filters_and_exports_an_incident_in_a_browser_and_sees_tampering() {
    let dir = std::env::temp_dir().join(format!("vabot-review-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // The commands of the incident run on the local control plane, in namespaces of their own.
    let topology = rt.block_on(Topology::seed(
        "review",
        &["agent-engine", "identity-service", "indexing-service"],
    ));
    topology.write_catalog(&dir);
    let config = dir.join("vabot.yaml");
    std::fs::write(&config, "policy: policy.yaml\ncatalog: catalog.yaml\n").unwrap();
    std::fs::write(
        dir.join("policy.yaml"),
        POLICY.replace(
            "[voiceassistant-prod, voiceassistant-infra]",
            &topology.namespaces(),
        ),
    )
    .unwrap();
    let db = format!("sqlite://{}/review.db?mode=rwc", dir.display());

    let store = Arc::new(rt.block_on(SqlStore::open(&db)).expect("store"));
    let mut console = Chat {
        deps: deps(store),
        channel: ChannelRef::new(Platform::Console, "#incident-prod"),
        n: 0,
    };
    let mut pins = 0;
    let approval = console_session(&config, &db, |author, text, by| {
        pins += 1;
        let id = format!("console-msg-{pins}");
        rt.block_on(console.pin(by, message(&id, author, author, text, "")));
    });
    let fake = rt.block_on(slack_fake::FakeSlack::start());
    let discord = rt.block_on(FakeDiscord::start());
    let serve_config = dir.join("serve.yaml");
    std::fs::write(
        &serve_config,
        format!(
            "policy: policy.yaml\ncatalog: catalog.yaml\nslack:\n  mode: http\n  api_base: \"{}\"\n  bot_token: \"xoxb-review-test\"\n  signing_secret: \"{SLACK_SECRET}\"\n  pace_ms: 0\n  progress_after_ms: 60000\ndiscord:\n  token: \"test-token\"\n  application_id: {}\n  guild_ids: [{}]\n  api_base: \"{}\"\n  gateway_url: \"{}\"\n",
            fake.api_base(),
            dfx::APP_ID,
            dfx::GUILD_ID,
            discord.api_base(),
            discord.gateway_url()
        ),
    )
    .unwrap();
    let server = serve(&serve_config, &db);
    let addr = server.addr.clone();
    slack_session(&rt, &addr, &fake, &db);
    discord_session(&rt, &discord, &db);

    // Refused without the token (or with a wrong one), with a challenge.
    for auth in [None, Some("Bearer not-the-token"), Some(TOKEN)] {
        for path in [
            "/review",
            "/review/export.md?channel=console%3A%23incident-prod",
        ] {
            let (code, text) = get(&addr, path, auth);
            assert_eq!(code, 401, "{path} with {auth:?}: {text}");
            assert!(
                text.to_ascii_lowercase()
                    .contains("www-authenticate: bearer realm=\"vabot review\""),
                "{text}"
            );
            assert!(!text.contains(INCIDENT), "{text}");
        }
    }

    let screenshot = repo_root().join("docs/review.png");
    let downloads = dir.join("downloads");
    let vars = BTreeMap::from([
        ("INCIDENT_TITLE", INCIDENT.to_owned()),
        ("APPROVAL", approval.clone()),
        ("FILTER_USER", "bob".to_owned()),
        (
            "PIN_TEXT",
            "the agent-engine pool is exhausted: 100/100 connections".to_owned(),
        ),
        ("SCREENSHOT", screenshot.display().to_string()),
        ("DOWNLOADS", downloads.display().to_string()),
    ]);
    let report = browser("review", &addr, &vars);
    assert_eq!(report["approval"], approval.as_str(), "{report}");
    assert!(report["rows"].as_u64().unwrap() >= 5, "{report}");
    let md = std::fs::read_to_string(report["markdown"].as_str().unwrap()).unwrap();
    assert!(md.starts_with(&format!("# Incident: {INCIDENT}\n")), "{md}");
    assert!(md.contains(&format!("{approval} (executed)")), "{md}");
    assert!(md.contains("| alice | invocation |"), "{md}");
    assert!(md.contains("replicas 2 → 0"), "{md}");
    let png = std::fs::read(&screenshot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "docs/review.png"
    );

    // The export from the page is the export of the CLI.
    let cli = Command::new(crate::vabot_bin())
        .args([
            "--config",
            config.to_str().unwrap(),
            "audit",
            "export",
            "--incident",
        ])
        .arg(report["incident"].as_str().unwrap())
        .env("DATABASE_URL", &db)
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&cli.stdout), md);

    // Slack and Discord incidents, with their pins and links back to the chat.
    let auth = format!("Bearer {TOKEN}");
    let (code, index) = get(&addr, "/review", Some(&auth));
    assert_eq!(code, 200);
    for title in ["Payments 502s", "Search timeouts", INCIDENT] {
        assert!(index.contains(title), "{title} missing from the index");
    }
    let (_, slack) = get(
        &addr,
        "/review/timeline?channel=slack%3AC0INCIDENT",
        Some(&auth),
    );
    assert!(slack.contains("OOMKilled since 10:41"), "{slack}");
    assert!(
        slack.contains(
            "https://app.slack.com/client/T0VOICE/C0INCIDENT/thread/C0INCIDENT-1764583200.000100"
        ),
        "{slack}"
    );
    let (_, discord) = get(
        &addr,
        "/review/timeline?channel=discord%3A900000000000000010",
        Some(&auth),
    );
    assert!(discord.contains("two shards unassigned"), "{discord}");
    assert!(
        discord.contains("https://discord.com/channels/333/900000000000000011/900000000000000042"),
        "{discord}"
    );

    // Tamper with one record: the page shows the chain broken at that record.
    let (seq, original) = rt.block_on(async {
        let store = SqlStore::open(&db).await.unwrap();
        let events = store
            .events(Some("console:#incident-prod"), None)
            .await
            .unwrap();
        let target = events
            .iter()
            .find(|e| e.kind == EventKind::ExecutionFinished)
            .expect("an execution record");
        sqlx::query("UPDATE audit_events SET summary = 'scaled nothing' WHERE seq = ?1")
            .bind(target.seq as i64)
            .execute(store.pool())
            .await
            .unwrap();
        (target.seq, target.summary.clone())
    });
    let mut vars = vars;
    vars.insert("BROKEN_SEQ", seq.to_string());
    let report = browser("tampered", &addr, &vars);
    assert_eq!(report["broken"], seq, "{report}");
    let (_, index) = get(&addr, "/review", Some(&auth));
    assert!(
        index.contains(&format!("Audit chain broken at seq {seq}")),
        "{index}"
    );

    // Undo the edit, then cut off the last two records: every remaining record still
    // links to the one before it, but the stored head names a later one.
    let last = rt.block_on(async {
        let store = SqlStore::open(&db).await.unwrap();
        sqlx::query("UPDATE audit_events SET summary = ?1 WHERE seq = ?2")
            .bind(original)
            .bind(seq as i64)
            .execute(store.pool())
            .await
            .unwrap();
        let (last, _) = store.head().await.unwrap();
        last
    });
    let (_, index) = get(&addr, "/review", Some(&auth));
    assert!(index.contains("data-chain=\"intact\""), "{index}");
    rt.block_on(async {
        let store = SqlStore::open(&db).await.unwrap();
        sqlx::query("DELETE FROM audit_events WHERE seq > ?1")
            .bind(last as i64 - 2)
            .execute(store.pool())
            .await
            .unwrap();
    });
    let (_, index) = get(&addr, "/review", Some(&auth));
    assert!(index.contains("data-chain=\"broken\""), "{index}");
    assert!(index.contains("Audit chain broken at seq"), "{index}");

    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// An interaction's options for a command, wherever the generated `/va` layout puts it
/// (families fold into groups as the catalogue grows).
fn discord_options(spec: &str, options: serde_json::Value) -> serde_json::Value {
    let schema = vabot_discord::Schema::generate().expect("the /va schema");
    let path = &schema.leaf_of(spec).expect("a leaf for the spec").path;
    match path.as_slice() {
        [leaf] => serde_json::json!([{"name": leaf, "type": 1, "options": options}]),
        [group, leaf] => serde_json::json!([{"name": group, "type": 2, "options": [
            {"name": leaf, "type": 1, "options": options}
        ]}]),
        other => panic!("unexpected path {other:?}"),
    }
}
