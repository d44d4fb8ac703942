//! Two real `vabot serve` replicas on one PostgreSQL and the real control plane: one holds
//! the Lease, killing it hands the Lease to the other, and a pending approval voted on
//! both replicas at once executes exactly once. The local Prometheus scrapes `/metrics`,
//! and `/readyz` stays false until the watch caches have synced.
//!
//! Slack is the local fake (HTTP mode: the test posts signed requests to each replica).
//! Commands run against the local control plane, in a topology of the test's own: the
//! store says "executed once", and the Deployment shows it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

#[path = "../../bot/slack/tests/common/fake.rs"]
#[allow(dead_code)] // shared with the Slack crate's tests; this test uses a part
pub(crate) mod slack_fake;
#[path = "../../bot/slack/tests/common/fixtures.rs"]
#[allow(dead_code)]
pub(crate) mod slack_fixtures;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use slack_fixtures::{ALICE, BOB, CHANNEL};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vabot_commands::approval::ApprovalStatus;
use vabot_commands::store::{EventKind, Store};
use vabot_store::SqlStore;
use vabot_testkit::Topology;

const SECRET: &str = "replica-test-signing-secret";
const ERIN: &str = "U0ERIN";
/// Short, so the handover is quick; renewals every third of it.
const LEASE_SECS: u64 = 6;

fn policy(namespaces: &str) -> String {
    format!(
        r#"
roles:
  operator: {{ may: [read, write, destructive] }}
  approver: {{ may: [read, write, destructive], approve: true }}
users:
  "slack:{ALICE}": [operator]
  "slack:{BOB}":   [approver]
  "slack:{ERIN}":  [approver]
groups: {{}}
channels:
  "slack:{CHANNEL}":
    namespaces: {namespaces}
    allow: [read, write, destructive]
approvals:
  - when: {{ risk: destructive }}
    approvals: 1
    approvers: [approver]
    expiry: 15m
    exclude_requester: true
"#
    )
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: source /root/.cache/vabot/dev/env.sh (deploy/dev/env up) or run tests/run")
    })
}

fn kubectl() -> PathBuf {
    std::env::var_os("KUBECTL").map_or_else(|| PathBuf::from("kubectl"), PathBuf::from)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh PostgreSQL schema; the URL selects it for every connection.
async fn pg_schema() -> (String, String) {
    let admin = env("POSTGRES_URL");
    let schema = unique("vabot_it_replicas").replace('-', "_");
    let store = SqlStore::connect(&admin)
        .await
        .expect("PostgreSQL reachable");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(store.pool())
        .await
        .expect("create schema");
    store.pool().close().await;
    let sep = if admin.contains('?') { '&' } else { '?' };
    (
        format!("{admin}{sep}options=-c%20search_path%3D{schema}"),
        schema,
    )
}

async fn drop_schema(schema: &str) {
    let store = SqlStore::connect(&env("POSTGRES_URL")).await.unwrap();
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(store.pool())
        .await;
}

struct Replica {
    name: String,
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Replica {
    fn start(dir: &Path, name: &str, lease: Option<&str>, kubeconfig: &str) -> Self {
        Self::start_with(dir, name, lease, kubeconfig, &[])
    }

    fn start_with(
        dir: &Path,
        name: &str,
        lease: Option<&str>,
        kubeconfig: &str,
        vars: &[(&str, &Path)],
    ) -> Self {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let log = dir.join(format!("{name}.log"));
        let mut cmd = Command::new(crate::vabot_bin());
        cmd.args(["serve", "--http", &addr.to_string()])
            .arg("--config")
            .arg(dir.join("vabot.yaml"))
            .env("KUBECONFIG", kubeconfig)
            .env("POD_NAME", name)
            .env("RUST_LOG", "info")
            .env_remove("DATABASE_URL")
            .env_remove("XDG_DATA_HOME")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        for (k, v) in vars {
            cmd.env(k, v);
        }
        if let Some(lease) = lease {
            cmd.env("VABOT_LEASE_NAME", lease)
                .env("POD_NAMESPACE", "default")
                .env("VABOT_LEASE_SECONDS", LEASE_SECS.to_string());
        }
        let child = cmd.spawn().expect("vabot serve starts");
        Self {
            name: name.into(),
            child,
            addr,
            log,
        }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_ready(&mut self, within: Duration) {
        let end = Instant::now() + within;
        loop {
            if let Ok((200, _)) = get(self.addr, "/readyz").await {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}):\n{}", self.name, self.logs());
            }
            assert!(
                Instant::now() < end,
                "{} not ready within {within:?}:\n{}",
                self.name,
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL: no goodbye, the Lease just stops being renewed
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One HTTP/1.1 request on loopback; `(status, body)`.
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut s = tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr))
        .await??;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await?;
    s.write_all(body).await?;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await??;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

async fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    request(addr, "GET", path, &[], b"").await
}

/// A request signed as Slack signs it.
async fn slack_post(addr: SocketAddr, path: &str, body: String) -> u16 {
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let sig = vabot_slack::signature::sign(SECRET, &ts, body.as_bytes());
    let headers = [
        ("X-Slack-Request-Timestamp", ts),
        ("X-Slack-Signature", sig),
        (
            "Content-Type",
            "application/x-www-form-urlencoded".to_owned(),
        ),
    ];
    request(addr, "POST", path, &headers, body.as_bytes())
        .await
        .map(|(s, _)| s)
        .unwrap_or(0)
}

fn button_form(user: &str, approval: &str, action_ts: &str) -> String {
    let payload = slack_fixtures::button(
        user,
        "approve",
        approval,
        "1764000000.000001",
        "1764000000.000001",
        action_ts,
    );
    serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
}

fn lease_holder(lease: &str, kubeconfig: &str) -> Option<String> {
    let out = Command::new(kubectl())
        .args([
            "--kubeconfig",
            kubeconfig,
            "-n",
            "default",
            "get",
            "lease",
            lease,
        ])
        .args(["-o", "jsonpath={.spec.holderIdentity}"])
        .output()
        .ok()?;
    let holder = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !holder.is_empty()).then_some(holder)
}

async fn wait_holder(lease: &str, kubeconfig: &str, want: impl Fn(&str) -> bool) -> String {
    let end = Instant::now() + Duration::from_secs(4 * LEASE_SECS);
    loop {
        if let Some(h) = lease_holder(lease, kubeconfig).filter(|h| want(h)) {
            return h;
        }
        assert!(
            Instant::now() < end,
            "lease holder never became as expected"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn leader_gauge(metrics: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with("vabot_leader "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

async fn wait_leader_gauge(r: &Replica, want: f64) {
    let end = Instant::now() + Duration::from_secs(2 * LEASE_SECS);
    loop {
        let (_, body) = get(r.addr, "/metrics").await.unwrap_or_default();
        if leader_gauge(&body) == Some(want) {
            return;
        }
        assert!(
            Instant::now() < end,
            "{}: vabot_leader never became {want}; /metrics:\n{body}",
            r.name
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn write_config(dir: &Path, db: &str, slack_api: &str, topology: &Topology) {
    std::fs::write(dir.join("policy.yaml"), policy(&topology.namespaces())).unwrap();
    topology.write_catalog(dir);
    let cfg = format!(
        r#"
policy: policy.yaml
catalog: catalog.yaml
database:
  url: "{db}"
slack:
  mode: http
  api_base: "{slack_api}"
  bot_token: "xoxb-replica-test"
  signing_secret: "{SECRET}"
  pace_ms: 10
  progress_after_ms: 60000
"#
    );
    std::fs::write(dir.join("vabot.yaml"), cfg).unwrap();
}

async fn pending(store: &SqlStore) -> Vec<vabot_commands::approval::ApprovalRequest> {
    store
        .approvals(None, ApprovalStatus::Pending)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_one_lease_handed_over_on_death_and_an_approval_executes_once() {
    let kubeconfig = env("KUBECONFIG");
    let topology = Topology::seed("replicas", &["agent-engine"]).await;
    let (db, schema) = pg_schema().await;
    let fake = slack_fake::FakeSlack::start().await;
    let dir = std::env::temp_dir().join(unique("vabot-replicas"));
    std::fs::create_dir_all(&dir).unwrap();
    write_config(&dir, &db, &fake.api_base(), &topology);
    let lease = unique("vabot-it-lease");

    let mut a = Replica::start(&dir, "replica-a", Some(&lease), &kubeconfig);
    a.wait_ready(Duration::from_secs(60)).await;
    let mut b = Replica::start(&dir, "replica-b", Some(&lease), &kubeconfig);
    b.wait_ready(Duration::from_secs(60)).await;

    // Exactly one leads, and each replica says which it is.
    let holder = wait_holder(&lease, &kubeconfig, |h| h.starts_with("replica-")).await;
    let (mut leader, follower) = if holder == a.name { (a, b) } else { (b, a) };
    wait_leader_gauge(&leader, 1.0).await;
    wait_leader_gauge(&follower, 0.0).await;

    // A destructive command on the leader opens an approval.
    let store = SqlStore::open(&db).await.unwrap();
    let form = serde_urlencoded::to_string(slack_fixtures::slash(
        ALICE,
        "scale agent-engine 0",
        "trigger-replicas-1",
    ))
    .unwrap();
    assert_eq!(slack_post(leader.addr, "/slack/commands", form).await, 200);
    let end = Instant::now() + Duration::from_secs(10);
    let request = loop {
        if let Some(r) = pending(&store).await.into_iter().next() {
            break r;
        }
        assert!(
            Instant::now() < end,
            "no approval request:\n{}",
            leader.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // The leader dies; the Lease passes to the survivor once it expires.
    let died = Instant::now();
    leader.kill();
    let survivor = follower.name.clone();
    wait_holder(&lease, &kubeconfig, |h| h == survivor).await;
    let handover = died.elapsed();
    assert!(
        handover <= Duration::from_secs(LEASE_SECS + LEASE_SECS / 3 + 2),
        "the Lease took {handover:?} to move (duration {LEASE_SECS}s, renewals every {}s)",
        LEASE_SECS / 3
    );
    wait_leader_gauge(&follower, 1.0).await;

    // The dead replica comes back as a new pod; now vote on both replicas at once: bob's
    // click delivered to each (Slack may retry to either), and erin's on the other.
    let mut back = Replica::start(&dir, "replica-c", Some(&lease), &kubeconfig);
    back.wait_ready(Duration::from_secs(60)).await;
    let id = request.id.to_string();
    let (r1, r2, r3) = tokio::join!(
        slack_post(
            follower.addr,
            "/slack/interactions",
            button_form(BOB, &id, "1764000100.000001")
        ),
        slack_post(
            back.addr,
            "/slack/interactions",
            button_form(BOB, &id, "1764000100.000001")
        ),
        slack_post(
            back.addr,
            "/slack/interactions",
            button_form(ERIN, &id, "1764000100.000002")
        ),
    );
    assert_eq!((r1, r2, r3), (200, 200, 200));

    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let now = store.approval(&request.id).await.unwrap().unwrap();
        if now.status == ApprovalStatus::Executed {
            break;
        }
        assert!(
            Instant::now() < end,
            "approval is {:?}; logs:\n{}\n{}",
            now.status,
            follower.logs(),
            back.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Give a would-be second execution time to show up, then count.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let events = store.events(None, None).await.unwrap();
    let of_request = |k: EventKind| {
        events
            .iter()
            .filter(|e| e.kind == k && e.invocation.as_ref() == Some(&request.invocation))
            .count()
    };
    assert_eq!(of_request(EventKind::ExecutionStarted), 1, "{events:#?}");
    assert_eq!(of_request(EventKind::ExecutionFinished), 1, "{events:#?}");
    let decided = events
        .iter()
        .filter(|e| e.kind == EventKind::ApprovalDecided)
        .count();
    assert_eq!(decided, 1, "one deciding vote, whichever replica saw it");
    assert!(vabot_commands::store::verify_chain(&events, None).is_ok());
    // And the cluster did it, once: 2 → 0 replicas.
    topology
        .eventually("agent-engine's replicas", 0, || {
            topology.replicas("agent-engine")
        })
        .await;

    drop((follower, back));
    let _ = Command::new(kubectl())
        .args([
            "--kubeconfig",
            &kubeconfig,
            "-n",
            "default",
            "delete",
            "lease",
            &lease,
        ])
        .output();
    drop_schema(&schema).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The local Prometheus scrapes a replica's `/metrics` (a file-discovered target).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_prometheus_scrapes_metrics_of_a_replica() {
    let prom: SocketAddr = env("PROMETHEUS_URL")
        .trim_start_matches("http://")
        .parse()
        .expect("PROMETHEUS_URL is http://127.0.0.1:PORT");
    let targets = PathBuf::from(env("PROM_TARGETS_DIR"));
    let fake = slack_fake::FakeSlack::start().await;
    let dir = std::env::temp_dir().join(unique("vabot-scrape"));
    std::fs::create_dir_all(&dir).unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.join("store.db").display());
    let topology = Topology::seed("scrape", &["identity-service"]).await;
    write_config(&dir, &db, &fake.api_base(), &topology);
    let mut r = Replica::start(&dir, "scraped", None, &env("KUBECONFIG"));
    r.wait_ready(Duration::from_secs(60)).await;
    // A command, so there is a command counter to find.
    let form = serde_urlencoded::to_string(slack_fixtures::slash(ALICE, "help", "trigger-scrape"))
        .unwrap();
    assert_eq!(slack_post(r.addr, "/slack/commands", form).await, 200);

    let instance = r.addr.to_string();
    let target = targets.join(format!("{}.json", unique("it")));
    std::fs::create_dir_all(&targets).unwrap();
    std::fs::write(
        &target,
        serde_json::json!([{"targets": [instance], "labels": {"test": "replicas"}}]).to_string(),
    )
    .unwrap();
    let query = format!(
        "/api/v1/query?query=vabot_commands_total%7Binstance%3D%22{}%22%7D",
        instance.replace(':', "%3A")
    );
    let end = Instant::now() + Duration::from_secs(30);
    let found = loop {
        let (_, body) = get(prom, &query).await.unwrap_or_default();
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let result = v["data"]["result"].as_array().cloned().unwrap_or_default();
        if let Some(series) = result
            .into_iter()
            .find(|s| s["metric"]["command"] == "help")
        {
            break series;
        }
        if Instant::now() > end {
            let _ = std::fs::remove_file(&target);
            panic!("Prometheus never scraped {instance}; last answer: {body}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let _ = std::fs::remove_file(&target);
    assert_eq!(found["metric"]["job"], "vabot");
    assert_eq!(found["value"][1], "1", "{found}");
    drop(r);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `/readyz` answers at once, and says not ready until the watch caches have synced:
/// the API server is reached through a loopback gate that holds every connection
/// (accepts, never answers) until the test opens it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_is_false_until_the_watch_caches_sync() {
    let kubeconfig = env("KUBECONFIG");
    let api: SocketAddr = env("KUBE_APISERVER_URL")
        .trim_start_matches("https://")
        .parse()
        .expect("KUBE_APISERVER_URL is https://127.0.0.1:PORT");
    let gate = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gate_addr = gate.local_addr().unwrap();
    let (open_tx, open_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = gate.accept().await {
            let mut open = open_rx.clone();
            tokio::spawn(async move {
                // Held, not refused: the client waits as on a hung API server.
                if open.wait_for(|o| *o).await.is_err() {
                    return;
                }
                if let Ok(mut upstream) = tokio::net::TcpStream::connect(api).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut upstream).await;
                }
            });
        }
    });
    let dir = std::env::temp_dir().join(unique("vabot-readyz"));
    std::fs::create_dir_all(&dir).unwrap();
    let gated = std::fs::read_to_string(&kubeconfig)
        .unwrap()
        .replace(&api.to_string(), &gate_addr.to_string());
    assert_ne!(gated, std::fs::read_to_string(&kubeconfig).unwrap());
    let gated_path = dir.join("kubeconfig.yaml");
    std::fs::write(&gated_path, gated).unwrap();
    std::fs::write(dir.join("policy.yaml"), policy("[\"*\"]")).unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.join("store.db").display());
    std::fs::write(
        dir.join("vabot.yaml"),
        format!(
            "policy: policy.yaml\ndatabase:\n  url: \"{db}\"\nkube:\n  kubeconfig: \"{}\"\n",
            gated_path.display()
        ),
    )
    .unwrap();
    let mut r = Replica::start(&dir, "gated", None, gated_path.to_str().unwrap());

    // The probes answer while the caches cannot sync.
    let end = Instant::now() + Duration::from_secs(20);
    let body = loop {
        match get(r.addr, "/readyz").await {
            Ok((503, body)) if body.contains("watch caches: not ready") => break body,
            Ok((200, body)) => panic!("ready with the API server unreachable: {body}"),
            _ => {}
        }
        assert!(Instant::now() < end, "no /readyz answer:\n{}", r.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(body.contains("store: "), "{body}");
    assert_eq!(get(r.addr, "/healthz").await.unwrap().0, 200);
    // Start-up gives up waiting for the caches and serves; readiness must not follow.
    let end = Instant::now() + Duration::from_secs(40);
    while !r.logs().contains("serving anyway") {
        assert!(
            Instant::now() < end,
            "start-up never gave up waiting:\n{}",
            r.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let end = Instant::now() + Duration::from_secs(10);
    let body = loop {
        let (code, body) = get(r.addr, "/readyz").await.unwrap();
        assert_eq!(code, 503, "ready with the API server unreachable: {body}");
        if body.contains("store: ready") {
            break body;
        }
        assert!(Instant::now() < end, "the store never became ready: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(body.contains("watch caches: not ready"), "{body}");

    open_tx.send(true).unwrap();
    r.wait_ready(Duration::from_secs(60)).await;
    drop(r);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A loopback TCP proxy in front of the API server that can freeze every connection it
/// carries (bytes stop flowing both ways, nothing is closed): a replica behind it hangs
/// mid-request, as on a stalled network.
struct Gate {
    addr: SocketAddr,
    frozen: tokio::sync::watch::Sender<bool>,
}

impl Gate {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (frozen, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let rx = rx.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (ri, wi) = inbound.into_split();
                    let (ro, wo) = outbound.into_split();
                    tokio::join!(pump(ri, wo, rx.clone()), pump(ro, wi, rx));
                });
            }
        });
        Self { addr, frozen }
    }

    fn freeze(&self) {
        let _ = self.frozen.send(true);
    }
}

/// Copies bytes while the gate is open; holds them while it is frozen.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut frozen: tokio::sync::watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if frozen.wait_for(|f| !*f).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_right_after_the_deciding_vote_is_finished_by_the_other_within_30s() {
    let topology = Topology::seed("takeover", &["agent-engine"]).await;
    let kubeconfig = env("KUBECONFIG");
    let api: SocketAddr = env("KUBE_APISERVER_URL")
        .trim_start_matches("https://")
        .parse()
        .unwrap();
    let gate = Gate::start(api).await;
    let (db, schema) = pg_schema().await;
    let fake = slack_fake::FakeSlack::start().await;
    let dir = std::env::temp_dir().join(unique("vabot-takeover"));
    std::fs::create_dir_all(&dir).unwrap();
    write_config(&dir, &db, &fake.api_base(), &topology);
    // Replica A reaches the API server through the gate; B directly.
    let gated = dir.join("gated-kubeconfig.yaml");
    std::fs::write(
        &gated,
        std::fs::read_to_string(&kubeconfig)
            .unwrap()
            .replace(&api.to_string(), &gate.addr.to_string()),
    )
    .unwrap();
    let mut a = Replica::start(&dir, "replica-a", None, gated.to_str().unwrap());
    let mut b = Replica::start(&dir, "replica-b", None, &kubeconfig);
    a.wait_ready(Duration::from_secs(60)).await;
    b.wait_ready(Duration::from_secs(60)).await;

    let store = SqlStore::open(&db).await.unwrap();
    let form = serde_urlencoded::to_string(slack_fixtures::slash(
        ALICE,
        "scale agent-engine 0",
        "trigger-takeover",
    ))
    .unwrap();
    assert_eq!(slack_post(a.addr, "/slack/commands", form).await, 200);
    let end = Instant::now() + Duration::from_secs(15);
    let request = loop {
        if let Some(r) = pending(&store).await.into_iter().next() {
            break r;
        }
        assert!(Instant::now() < end, "no approval request:\n{}", a.logs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // A's network to the API server stalls; bob's click reaches A, which claims the
    // request and hangs re-planning it. Then A dies.
    gate.freeze();
    let id = request.id.to_string();
    assert_eq!(
        slack_post(
            a.addr,
            "/slack/interactions",
            button_form(BOB, &id, "1764000200.000001")
        )
        .await,
        200
    );
    let end = Instant::now() + Duration::from_secs(3);
    loop {
        let now = store.approval(&request.id).await.unwrap().unwrap();
        if now.status == ApprovalStatus::Executing {
            let claim = now.claim.expect("a claim");
            assert!(claim.replica.as_str().starts_with("replica-a"), "{claim:?}");
            break;
        }
        assert!(
            Instant::now() < end,
            "A never claimed: {:?}\n{}",
            now.status,
            a.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill();
    let died = Instant::now();

    // B notices A's heartbeat stopped, takes the claim back, executes and posts the
    // result into the card's thread, and updates the card.
    let done = |c: &[slack_fake::Call]| {
        c.iter()
            .any(|p| p.method == "chat.postMessage" && p.text().contains("Scaled Deployment"))
            && c.iter()
                .any(|u| u.method == "chat.update" && u.text().contains("executed"))
    };
    let calls = loop {
        let calls = fake.calls();
        if done(&calls) {
            break calls;
        }
        assert!(
            died.elapsed() < Duration::from_secs(30),
            "B did not finish within 30 s; B's log:\n{}",
            b.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let took = died.elapsed();
    let result = calls
        .iter()
        .find(|p| p.method == "chat.postMessage" && p.text().contains("Scaled Deployment"))
        .unwrap();
    assert!(result.text().contains("2 → 0"), "{}", result.text());
    assert!(
        result.str("thread_ts").is_some(),
        "the result is in the thread"
    );
    println!("replica B executed and posted {took:?} after A was killed");
    topology
        .eventually("agent-engine's replicas", 0, || {
            topology.replicas("agent-engine")
        })
        .await;
    let done = store.approval(&request.id).await.unwrap().unwrap();
    assert_eq!(done.status, ApprovalStatus::Executed);
    assert!(
        done.claim
            .unwrap()
            .replica
            .as_str()
            .starts_with("replica-b")
    );
    let events = store.events(None, None).await.unwrap();
    let started = events
        .iter()
        .filter(|e| {
            e.kind == EventKind::ExecutionStarted
                && e.invocation.as_ref() == Some(&request.invocation)
        })
        .count();
    assert_eq!(started, 1, "executed once");
    assert!(
        events
            .iter()
            .any(|e| e.summary.contains("taken over from replica-a"))
    );
    drop(b);
    drop_schema(&schema).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_no_database_setting_keeps_its_history_across_a_restart() {
    let topology = Topology::seed("durable", &["identity-service"]).await;
    let fake = slack_fake::FakeSlack::start().await;
    let dir = std::env::temp_dir().join(unique("vabot-durable"));
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    // The replicas' config without its `database:` section: the default applies.
    write_config(&dir, "unused", &fake.api_base(), &topology);
    let cfg = std::fs::read_to_string(dir.join("vabot.yaml")).unwrap();
    let cfg = cfg.replace("database:\n  url: \"unused\"\n", "");
    assert!(!cfg.contains("database"), "{cfg}");
    std::fs::write(dir.join("vabot.yaml"), cfg).unwrap();
    let vars = [("HOME", home.as_path())];
    let kubeconfig = env("KUBECONFIG");

    let mut first = Replica::start_with(&dir, "durable-1", None, &kubeconfig, &vars);
    first.wait_ready(Duration::from_secs(60)).await;
    let form = serde_urlencoded::to_string(slack_fixtures::slash(
        ALICE,
        "scale identity-service 2",
        "trigger-durable-1",
    ))
    .unwrap();
    assert_eq!(slack_post(first.addr, "/slack/commands", form).await, 200);
    fake.wait_for("the result", |c| {
        c.iter()
            .any(|p| p.method == "chat.postMessage" && p.text().contains("1 → 2"))
    })
    .await;
    first.kill(); // SIGKILL: no orderly shutdown
    let file = home.join(".local/share/vabot/vabot.db");
    assert!(
        file.exists(),
        "the default SQLite history is at {}",
        file.display()
    );

    let mut second = Replica::start_with(&dir, "durable-2", None, &kubeconfig, &vars);
    second.wait_ready(Duration::from_secs(60)).await;
    let form =
        serde_urlencoded::to_string(slack_fixtures::slash(ALICE, "history", "trigger-durable-2"))
            .unwrap();
    assert_eq!(slack_post(second.addr, "/slack/commands", form).await, 200);
    let calls = fake
        .wait_for("the history", |c| {
            c.iter()
                .any(|p| p.method == "chat.postMessage" && p.text().contains("Last 1 commands"))
        })
        .await;
    let history = calls
        .iter()
        .find(|p| p.method == "chat.postMessage" && p.text().contains("Last 1 commands"))
        .unwrap();
    assert!(
        history.text().contains("scale identity-service 2"),
        "{}",
        history.text()
    );
    assert!(
        history.text().contains("execution_finished"),
        "{}",
        history.text()
    );
    drop(second);
    // The CLI finds the same history with no setting either, and the chain is whole.
    let out = Command::new(crate::vabot_bin())
        .args(["audit", "verify"])
        .env_remove("DATABASE_URL")
        .env_remove("XDG_DATA_HOME")
        .env("HOME", &home)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains("chain intact"),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
