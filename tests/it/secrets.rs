//! Secret hygiene of the real process: the Slack bot token and signing secret, the Discord
//! token, connection strings with passwords (the store's, PostgreSQL's, Redis's), the
//! values of the seeded Secret `agent-engine-secret` and the secret-looking values of the
//! ConfigMap `agent-engine-config` (also in the seeded pods' logs) never appear in a reply,
//! in the tracing output (at `debug`), or in `vabot audit export`.
//!
//! Needs the local environment (`KUBECONFIG`, `POSTGRES_URL`, `REDIS_URL`); every command
//! here only reads the seeded cluster.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PG_PASSWORD: &str = "Pg-s3cret-hygiene-71";
const REDIS_PASSWORD: &str = "Rd-s3cret-hygiene-72";
const STORE_PASSWORD: &str = "Db-s3cret-hygiene-73";
const BOT_TOKEN: &str = "xoxb-hygiene-0000-1111-abcdefghijklmnop";
const SIGNING_SECRET: &str = "hygiene-signing-secret-9f8e7d6c5b4a";
const DISCORD_TOKEN: &str = "MTIzNDU2Nzg5.hygiene.discord-token-zyxwvu";
const TYPED_SECRET: &str = "sk-typed-in-chat-0042abcdef";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: `source /root/.cache/vabot/dev/env.sh` (deploy/dev/env up); tests/run sets it")
    })
}

/// `host:port` of a URL such as `postgres://u:p@127.0.0.1:55432/db`.
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").expect("a URL").1;
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next().expect("host").to_owned()
}

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn temp(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!(
        "vabot-secrets-{}-{nanos}-{name}",
        std::process::id()
    ))
}

/// The seeded secret values, read from the manifests the environment applies: the
/// ConfigMap's secret-looking keys and every key of the Secret (also the password inside
/// its `DATABASE_URL`).
fn seeded_secrets() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/dev/manifests/05-config.yaml");
    let text = std::fs::read_to_string(&path).expect("seeded config manifest");
    let mut out = Vec::new();
    for key in [
        "DB_PASSWORD",
        "API_TOKEN",
        "OPENAI_API_KEY",
        "DATABASE_URL",
        "JWT_SIGNING_KEY",
    ] {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{key}:")))
            .unwrap_or_else(|| panic!("{key} in {}", path.display()));
        let value = line
            .split_once(':')
            .unwrap()
            .1
            .trim()
            .trim_matches('"')
            .to_owned();
        assert!(value.len() >= 8, "{key}: {value}");
        out.push(value);
    }
    out.push("agent-dev-password".into());
    out
}

fn assert_clean(what: &str, text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(
            !text.contains(s.as_str()),
            "{what} contains the secret {s:?}:\n{text}"
        );
    }
}

fn base_command(args: &[&str]) -> Command {
    let mut c = Command::new(crate::vabot_bin());
    c.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::var("HOME").unwrap_or_default())
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "debug");
    c
}

fn audit_export(db: &str, format: &str) -> String {
    let out = base_command(&[
        "audit",
        "export",
        "--channel",
        "console:#incident-prod",
        "--format",
        format,
    ])
    .env("DATABASE_URL", db)
    .output()
    .expect("vabot audit export runs");
    assert!(
        out.status.success(),
        "audit export --format {format}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn secrets_reach_no_reply_no_log_line_and_no_audit_export() {
    let db_path = temp("console.db");
    let db = format!("sqlite://{}?mode=rwc", db_path.display());
    let pg = format!(
        "postgres://vabot:{PG_PASSWORD}@{}/vabot",
        host_port(&env("POSTGRES_URL"))
    );
    let redis = format!("redis://:{REDIS_PASSWORD}@{}", host_port(&env("REDIS_URL")));
    let mut secrets = seeded_secrets();
    secrets.extend([
        PG_PASSWORD.to_owned(),
        REDIS_PASSWORD.to_owned(),
        pg.clone(),
        redis.clone(),
    ]);

    let script = "\
:as alice
:in #incident-prod
/va config get agent-engine
/va config get agent-engine DB_PASSWORD
/va config get agent-engine API_TOKEN
/va logs agent-engine --tail 50
/va logs agent-engine --previous
/va describe agent-engine
/va pg status
/va pg connections
/va redis info memory
/va diagnose db-timeout
/va health
";
    let mut child = base_command(&["console"])
        .env("DATABASE_URL", &db)
        .env("KUBECONFIG", env("KUBECONFIG"))
        .env("POSTGRES_URL", &pg)
        .env("REDIS_URL", &redis)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vabot console starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().expect("vabot console exits");
    let replies = String::from_utf8_lossy(&out.stdout).into_owned();
    let logs = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "console failed: {logs}");

    // The commands really ran against the seeded cluster and the dependencies.
    assert!(
        replies.contains("LOG_LEVEL") && replies.contains("DB_PASSWORD"),
        "config get showed no keys: {replies}"
    );
    assert!(
        replies.contains("agent-engine-secret"),
        "config get did not name the Secret: {replies}"
    );
    assert!(
        replies.contains("PostgreSQL") && replies.contains("Redis"),
        "{replies}"
    );
    assert!(
        logs.lines().filter(|l| l.contains("DEBUG")).count() > 0,
        "debug logging was not on: {logs}"
    );
    assert_clean("a reply", &replies, &secrets);
    assert_clean("the log", &logs, &secrets);

    for format in ["md", "json", "csv"] {
        let export = audit_export(&db, format);
        assert!(
            export.contains("config get agent-engine"),
            "the export lacks the commands: {export}"
        );
        assert_clean(
            &format!("audit export --format {format}"),
            &export,
            &secrets,
        );
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db_path.display()));
    }
}

#[test]
fn a_secret_typed_into_a_command_is_masked_in_the_audit_export_and_never_stored() {
    let db_path = temp("typed.db");
    let db = format!("sqlite://{}?mode=rwc", db_path.display());
    // carol is a viewer: the write is refused, so nothing touches the seeded ConfigMap,
    // but the invocation is recorded with what she typed.
    let mut child = base_command(&["console", "--user", "carol"])
        .env("DATABASE_URL", &db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vabot console starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("/va config set agent-engine API_TOKEN={TYPED_SECRET}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().expect("vabot console exits");
    let replies = String::from_utf8_lossy(&out.stdout);
    assert!(replies.contains("may not run write commands"), "{replies}");
    let secrets = [TYPED_SECRET.to_owned()];
    assert_clean("the log", &String::from_utf8_lossy(&out.stderr), &secrets);
    for format in ["md", "json", "csv"] {
        let export = audit_export(&db, format);
        assert!(export.contains("config set agent-engine"), "{export}");
        assert_clean(
            &format!("audit export --format {format}"),
            &export,
            &secrets,
        );
    }
    // Not masked on the way out only: the database itself (every page of the file and
    // of its write-ahead log) never held the value.
    for suffix in ["", "-wal"] {
        let bytes = std::fs::read(format!("{}{suffix}", db_path.display())).unwrap_or_default();
        assert_clean(
            &format!("the database file{suffix}"),
            &String::from_utf8_lossy(&bytes),
            &secrets,
        );
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db_path.display()));
    }
}

// === vabot serve ===

struct Serve {
    child: Child,
    log: PathBuf,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http(port: u16, request: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn signed_command(port: u16, secret: &str, text: &str, trigger: &str) -> Option<String> {
    let body = format!(
        "team_id=T0HYG&channel_id=C0HYG&user_id=U0HYG&command=%2Fva&text={}&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1&trigger_id={trigger}",
        text.replace(' ', "+")
    );
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let sig = vabot_slack::signature::sign(secret, &ts, body.as_bytes());
    http(
        port,
        &format!(
            "POST /slack/commands HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Slack-Request-Timestamp: {ts}\r\nX-Slack-Signature: {sig}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

#[test]
fn tokens_and_connection_strings_stay_out_of_the_serve_logs() {
    let dir = temp("serve");
    std::fs::create_dir_all(&dir).unwrap();

    // A store URL with a password that cannot be reached: start-up fails, and says so
    // without the URL.
    let bad_store = format!(
        "postgres://vabot:{STORE_PASSWORD}@127.0.0.1:{}/vabot",
        closed_port()
    );
    let out = base_command(&["serve", "--http", &format!("127.0.0.1:{}", closed_port())])
        .env("DATABASE_URL", &bad_store)
        .output()
        .expect("vabot serve runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve started without its store");
    assert!(err.contains("history store"), "{err}");
    assert_clean(
        "the start-up error",
        &err,
        &[STORE_PASSWORD.to_owned(), bad_store.clone()],
    );

    // Slack (HTTP mode) and Discord configured against closed ports: every outbound call
    // fails and is logged.
    let db_path = dir.join("serve.db");
    let closed = closed_port();
    let config = dir.join("vabot.yaml");
    std::fs::write(
        &config,
        format!(
            "database:\n  url: \"sqlite://{}?mode=rwc\"\nslack:\n  mode: http\n  api_base: \"http://127.0.0.1:{closed}/api\"\n  bot_token: \"{BOT_TOKEN}\"\n  signing_secret: \"{SIGNING_SECRET}\"\n  pace_ms: 0\ndiscord:\n  token: \"{DISCORD_TOKEN}\"\n  application_id: 123456789012345678\n  api_base: \"http://127.0.0.1:{closed}\"\n  gateway_url: \"ws://127.0.0.1:{closed}\"\n",
            db_path.display()
        ),
    )
    .unwrap();
    let port = closed_port();
    let log = dir.join("serve.log");
    let child = base_command(&[
        "--config",
        config.to_str().unwrap(),
        "serve",
        "--http",
        &format!("127.0.0.1:{port}"),
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(&log).unwrap())
    .spawn()
    .expect("vabot serve starts");
    let mut serve = Serve { child, log };
    let started = Instant::now();
    loop {
        let ready = http(
            port,
            "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )
        .is_some_and(|r| r.starts_with("HTTP/1.1 200"));
        if ready {
            break;
        }
        assert!(
            serve.child.try_wait().unwrap().is_none(),
            "serve exited: {}",
            std::fs::read_to_string(&serve.log).unwrap_or_default()
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "serve never became ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let ok = signed_command(port, SIGNING_SECRET, "health", "trig.hyg.1").expect("answer");
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let forged = signed_command(port, "not-the-secret", "health", "trig.hyg.2").expect("answer");
    assert!(forged.starts_with("HTTP/1.1 401"), "{forged}");
    assert_clean("a refusal", &forged, &[SIGNING_SECRET.to_owned()]);

    // Wait until the failed Slack post and a Discord connection attempt were logged.
    let until = Instant::now() + Duration::from_secs(30);
    let mut text = String::new();
    while Instant::now() < until {
        text = std::fs::read_to_string(&serve.log).unwrap_or_default();
        if text.contains("Slack request refused")
            && text.contains("Could not open the command's thread")
            && text.to_ascii_lowercase().contains("discord")
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(text.contains("Slack request refused"), "{text}");
    assert!(
        text.contains("Could not open the command's thread"),
        "the failed Slack post was not logged: {text}"
    );
    assert!(
        serve.child.try_wait().unwrap().is_none(),
        "serve died: {text}"
    );
    drop(serve);
    let text = std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default();
    assert_clean(
        "the serve log",
        &text,
        &[
            BOT_TOKEN.to_owned(),
            SIGNING_SECRET.to_owned(),
            DISCORD_TOKEN.to_owned(),
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
}
