//! SIGKILL at random points of approval flows: no lost record, no double execution.
//!
//! The real `vabot console` runs on a SQLite store against the local control plane (a
//! topology of its own). Each round starts it, drives approval flows (`scale
//! identity-service 0` is destructive: alice asks, bob approves), kills it with SIGKILL at
//! a random moment, and restarts it. At the end the store is one judge (`vabot audit
//! export` and `audit verify`), and the Deployment's generation the other: it counts the
//! replica changes the cluster actually saw.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use vabot_testkit::Topology;
use vabot_testkit::env::{self, kubectl_run};

struct Bot {
    child: Child,
    lines: mpsc::Receiver<String>,
}

const SERVICE: &str = "identity-service";

fn vabot(dir: &Path, db: &str) -> Command {
    let mut cmd = Command::new(crate::vabot_bin());
    cmd.arg("--config")
        .arg(dir.join("vabot.yaml"))
        .env("DATABASE_URL", db)
        .env("KUBECONFIG", env::kubeconfig())
        .env_remove("POSTGRES_URL")
        .env_remove("REDIS_URL")
        .env_remove("PROMETHEUS_URL");
    cmd
}

fn start(dir: &Path, db: &str) -> Bot {
    let mut child = vabot(dir, db)
        .arg("console")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("vabot starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Bot { child, lines }
}

impl Bot {
    fn send(&mut self, line: &str) -> bool {
        let stdin = self.child.stdin.as_mut().expect("stdin");
        writeln!(stdin, "{line}")
            .and_then(|_| stdin.flush())
            .is_ok()
    }

    /// The first line containing `needle` within the timeout.
    fn expect(&self, needle: &str, timeout: Duration) -> Option<String> {
        let end = Instant::now() + timeout;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return Some(l),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
        None
    }

    fn kill(mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

/// A small xorshift: random kill points without another dependency.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// (spec.replicas, metadata.generation) of the Deployment, as the API server has them.
fn deployment(t: &Topology) -> (i64, i64) {
    let out = kubectl_run(
        &[
            "-n",
            &t.prod,
            "get",
            "deployment",
            SERVICE,
            "-o",
            "jsonpath={.spec.replicas} {.metadata.generation}",
        ],
        None,
    );
    let mut it = out.split_whitespace().map(|n| n.parse::<i64>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_of_200_approval_flows_loses_nothing_and_never_double_executes() {
    let t = Topology::seed("crash", &[SERVICE]).await;
    tokio::task::block_in_place(|| flows(&t));
}

fn flows(t: &Topology) {
    let dir = std::env::temp_dir().join(vabot_testkit::unique("vabot-crash"));
    std::fs::create_dir_all(&dir).unwrap();
    t.write_catalog(&dir);
    std::fs::write(
        dir.join("policy.yaml"),
        crate::DEMO_POLICY.replace(
            "[voiceassistant-prod, voiceassistant-infra]",
            &t.namespaces(),
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("vabot.yaml"),
        "policy: policy.yaml\ncatalog: catalog.yaml\n",
    )
    .unwrap();
    let db = format!("sqlite://{}/crash.db?mode=rwc", dir.display());
    let (_, generation_at_start) = deployment(t);
    // Replica changes the test made itself (putting the replicas back before a flow).
    let mut resets = 0;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id()));
    let mut flows = 0;
    let mut acknowledged: BTreeSet<String> = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(150);
    let wait = Duration::from_secs(10);

    while flows < 200 && Instant::now() < deadline {
        let mut bot = start(&dir, &db);
        // Start-up (recovery included) is over once the console answers.
        bot.send(":whoami");
        bot.expect("(alice in", wait).expect("the console starts");
        // Kill somewhere inside one of the next few flows, at one of its steps.
        let kill_flow = rng.below(4);
        let kill_step = rng.below(4);
        'round: for f in 0..4 {
            flows += 1;
            for step in 0..4 {
                if f == kill_flow && step == kill_step {
                    if rng.below(2) == 0 {
                        std::thread::sleep(Duration::from_millis(rng.below(30)));
                    }
                    break 'round;
                }
                match step {
                    0 => {
                        bot.send(":as alice");
                        // Something to scale down: the last flow may have scaled to 0.
                        if deployment(t).0 == 0 {
                            kubectl_run(
                                &[
                                    "-n",
                                    &t.prod,
                                    "scale",
                                    "deployment",
                                    SERVICE,
                                    "--replicas=2",
                                ],
                                None,
                            );
                            resets += 1;
                        }
                    }
                    1 => {
                        bot.send(&format!("/va scale {SERVICE} 0"));
                    }
                    2 => {
                        let Some(card) = bot.expect("Approval needed (", wait) else {
                            panic!("no approval card within {wait:?}")
                        };
                        let id = card
                            .split("Approval needed (")
                            .nth(1)
                            .and_then(|r| r.split(')').next())
                            .expect("approval id")
                            .to_owned();
                        acknowledged.insert(id.clone());
                        bot.send(":as bob");
                        bot.send(&format!("/va approve {id}"));
                    }
                    _ => {
                        bot.expect(&format!("Scaled Deployment {}/{SERVICE}", t.prod), wait)
                            .expect("the approved flow executes");
                    }
                }
            }
        }
        bot.kill();
    }
    assert!(flows >= 200, "only {flows} flows within the time budget");

    // One clean start recovers (sweep, resume approved-but-unclaimed), then exits at EOF.
    let out = vabot(&dir, &db)
        .arg("console")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());

    let (_, generation_at_end) = deployment(t);
    let verify = vabot(&dir, &db).args(["audit", "verify"]).output().unwrap();
    let verdict = String::from_utf8_lossy(&verify.stdout);
    assert!(verify.status.success(), "audit verify: {verdict}");
    assert!(verdict.contains("chain intact"), "{verdict}");

    let export = vabot(&dir, &db)
        .args([
            "audit",
            "export",
            "--channel",
            "console:#incident-prod",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let timeline: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap();
    let entries = timeline["entries"].as_array().expect("entries");

    let mut requested: BTreeSet<String> = BTreeSet::new();
    let mut started: BTreeMap<String, usize> = BTreeMap::new();
    let mut status: BTreeMap<String, String> = BTreeMap::new();
    for e in entries {
        let approval = e["approval"].as_str().unwrap_or_default().to_owned();
        if approval.is_empty() {
            continue;
        }
        status.insert(
            approval.clone(),
            e["approval_status"].as_str().unwrap_or_default().to_owned(),
        );
        match e["event"].as_str().unwrap_or_default() {
            "approval_requested" => {
                requested.insert(approval);
            }
            "execution_started" => *started.entry(approval).or_default() += 1,
            _ => {}
        }
    }
    // No lost record: every approval id the process printed is in the store.
    let lost: Vec<&String> = acknowledged.difference(&requested).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    // Never twice; executed ⇔ exactly one start.
    for (id, n) in &started {
        assert_eq!(*n, 1, "{id} started {n} times");
    }
    for id in &requested {
        let s = status.get(id).map(String::as_str).unwrap_or("");
        let n = started.get(id).copied().unwrap_or(0);
        match s {
            "executed" => assert_eq!(n, 1, "{id} is {s} with {n} starts"),
            // Failed at execution (one start), or when re-planned after a restart found
            // nothing left to change (none): never twice.
            "failed" => assert!(n <= 1, "{id} is {s} with {n} starts"),
            // Killed between the claim and the result: recorded, never re-run blindly.
            "executing" => assert!(n <= 1, "{id}"),
            // `superseded`: the target changed before execution (the test put the replicas
            // back), so the bot re-planned and asked again instead of running it.
            "pending" | "expired" | "approved" | "superseded" => {
                assert_eq!(n, 0, "{id} is {s} but started");
            }
            other => panic!("{id} has unexpected status `{other}`"),
        }
    }
    // The cluster's own count: every replica change bumps the Deployment's generation.
    let changes = generation_at_end - generation_at_start - resets;
    let count = |want: &[&str]| {
        requested
            .iter()
            .filter(|id| want.contains(&status.get(*id).map(String::as_str).unwrap_or("")))
            .count() as i64
    };
    let executed = count(&["executed"]);
    let maybe = count(&["executing", "failed"]);
    println!(
        "{flows} flows: {} approvals recorded, {executed} executed, {maybe} interrupted/failed; the cluster saw {changes} changes by vabot",
        requested.len()
    );
    assert!(
        executed <= changes && changes <= executed + maybe,
        "the cluster saw {changes} replica changes by vabot; the store says {executed} executed, {maybe} interrupted or failed"
    );
    assert!(
        started.len() >= 10,
        "too few executions to mean anything: {}",
        started.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
