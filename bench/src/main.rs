//! `vabot-bench`: the whole-system figures of DESIGN §9 against the real `vabot serve`
//! (Slack HTTP mode, PostgreSQL store, the local cluster), printed as one table.
//!
//! ```text
//! vabot-bench [--requests N] [--in-flight N] [--workloads N] [--replicas N]
//!             [--health-commands N] [--kubectl-runs N] [--appends N] [--starts N]
//!             [--only startup,ack,audit,health] [--out FILE]
//! ```
//!
//! Needs `POSTGRES_URL`; the cluster figures need `KUBECONFIG` (the local environment:
//! `source /root/.cache/vabot/dev/env.sh`). Every loop is bounded in count and in time.

mod system;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use vabot_bench::slack_fake::FakeSlack;
use vabot_bench::{PgSchema, percentile};
use vabot_store::SqlStore;

use system::process::{Spec, Vabot};

struct Args {
    requests: usize,
    in_flight: usize,
    workloads: usize,
    replicas: usize,
    health_commands: usize,
    kubectl_runs: usize,
    appends: usize,
    starts: usize,
    only: BTreeSet<String>,
    out: Option<PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        requests: 5000,
        in_flight: 500,
        workloads: 60,
        replicas: 10,
        health_commands: 200,
        kubectl_runs: 20,
        appends: 2000,
        starts: 5,
        only: ["startup", "ack", "audit", "health"]
            .map(String::from)
            .into(),
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        let num = |v: String| v.parse::<usize>().with_context(|| format!("{flag} {v}"));
        match flag.as_str() {
            "--requests" => a.requests = num(value()?)?,
            "--in-flight" => a.in_flight = num(value()?)?,
            "--workloads" => a.workloads = num(value()?)?,
            "--replicas" => a.replicas = num(value()?)?,
            "--health-commands" => a.health_commands = num(value()?)?,
            "--kubectl-runs" => a.kubectl_runs = num(value()?)?,
            "--appends" => a.appends = num(value()?)?,
            "--starts" => a.starts = num(value()?)?,
            "--only" => a.only = value()?.split(',').map(str::to_owned).collect(),
            "--out" => a.out = Some(value()?.into()),
            other => bail!("unknown argument {other}; see the doc comment of bench/src/main.rs"),
        }
    }
    // Bounds: a bench must end.
    a.requests = a.requests.min(100_000);
    a.in_flight = a.in_flight.clamp(1, 2000);
    Ok(a)
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

/// Rows of the result table: figure, value, target, verdict.
#[derive(Default)]
struct Table {
    rows: Vec<[String; 4]>,
    notes: Vec<String>,
}

impl Table {
    fn row(&mut self, figure: &str, value: String, target: &str, verdict: &str) {
        self.rows
            .push([figure.into(), value, target.into(), verdict.into()]);
        // Progress on stderr as figures arrive; the table comes at the end.
        eprintln!("  {figure}: {}", self.rows.last().map_or("", |r| &r[1]));
    }
    fn render(&self) -> String {
        let mut s = String::from("| figure | value | target | verdict |\n|---|---|---|---|\n");
        for r in &self.rows {
            let _ = writeln!(s, "| {} | {} | {} | {} |", r[0], r[1], r[2], r[3]);
        }
        for n in &self.notes {
            let _ = writeln!(s, "\n{n}");
        }
        s
    }
}

async fn run() -> anyhow::Result<()> {
    let a = args()?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = std::env::var("KUBECONFIG").ok().map(PathBuf::from);
    let started = chrono::Utc::now();
    let mut t = Table::default();
    t.notes.push(format!(
        "Run {} on {} CPUs; load average at start {}.",
        started.format("%Y-%m-%d %H:%M UTC"),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    ));
    let dir = std::env::temp_dir().join(format!("vabot-bench-{}", vabot_bench::unique()));
    std::fs::create_dir_all(&dir)?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.in_flight)
        .build()?;

    if a.only.contains("startup") || a.only.contains("ack") {
        let schema = PgSchema::create("serve").await?;
        let r = serve_figures(&a, &mut t, &dir, &schema, kubeconfig.as_deref(), &client).await;
        schema.drop_schema().await?;
        r?;
    }
    if a.only.contains("audit") {
        eprintln!("audit appends ({} per case) …", a.appends);
        for r in system::audit::run(a.appends).await? {
            let target = if r.backend == "postgres" {
                "≥ 1,000/s on PostgreSQL"
            } else {
                "(no target)"
            };
            let verdict = match r.backend {
                "postgres" => met(r.per_sec() >= 1000.0),
                _ => "–",
            };
            t.row(
                &format!("audit appends/s, {}, {} caller(s)", r.backend, r.callers),
                format!(
                    "{:.0}/s (p50 {:.2} ms, p99 {:.2} ms; {} appends; chain {})",
                    r.per_sec(),
                    percentile(&r.latencies_ms, 50.0),
                    percentile(&r.latencies_ms, 99.0),
                    r.appends,
                    if r.intact { "intact" } else { "BROKEN" }
                ),
                target,
                verdict,
            );
        }
    }
    if a.only.contains("health") {
        match kubeconfig.as_deref() {
            None => t
                .notes
                .push("health: not measured, KUBECONFIG is not set.".into()),
            Some(kc) => health_figures(&a, &mut t, kc).await?,
        }
    }
    t.notes
        .push(format!("Load average at the end {}.", loadavg()));
    let out = t.render();
    println!("{out}");
    if let Some(path) = &a.out {
        std::fs::write(path, &out).with_context(|| format!("write {}", path.display()))?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn serve_figures(
    a: &Args,
    t: &mut Table,
    dir: &std::path::Path,
    schema: &PgSchema,
    kubeconfig: Option<&std::path::Path>,
    client: &reqwest::Client,
) -> anyhow::Result<()> {
    let fake = FakeSlack::start().await?;
    let api_base = fake.api_base();
    let spec = |kc| Spec {
        database_url: &schema.url,
        kubeconfig: kc,
        slack_api_base: &api_base,
    };
    // Start-up to ready, without a cluster (store + migrations) and with one (watch caches).
    let mut variants = vec![("without a cluster", None)];
    if let Some(kc) = kubeconfig {
        variants.push(("with cache sync", Some(kc)));
    } else {
        t.notes
            .push("start-up with cache sync: not measured, KUBECONFIG is not set.".into());
    }
    let mut last = None;
    for (name, kc) in variants {
        let mut times = Vec::new();
        for _ in 0..a.starts.max(1) {
            let (bot, took) = Vabot::start(dir, &spec(kc), client).await?;
            times.push(took.as_secs_f64() * 1000.0);
            last = Some(bot);
        }
        times.sort_by(f64::total_cmp);
        t.row(
            &format!("start-up to ready, {name}"),
            format!(
                "median {:.0} ms (min {:.0}, max {:.0}; {} starts)",
                percentile(&times, 50.0),
                times[0],
                times[times.len() - 1],
                times.len()
            ),
            "(no target)",
            "–",
        );
    }
    if !a.only.contains("ack") {
        return Ok(());
    }
    let Some(mut bot) = last else {
        bail!("no vabot process was started");
    };
    let with_cluster = kubeconfig.is_some();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (idle, _) = bot.memory_kib()?;
    t.row(
        &format!(
            "resident memory idle ({})",
            if with_cluster {
                "watch caches of the seeded topology"
            } else {
                "no cluster"
            }
        ),
        format!("{:.1} MiB", mib(idle)),
        "< 32 MiB",
        met(mib(idle) < 32.0),
    );

    // The ack under load, with a memory sampler beside it.
    let url = format!("{}/slack/commands", bot.base);
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, peak, pid) = (stop.clone(), peak.clone(), bot.pid());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                if let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status"))
                    && let Some(kib) = s
                        .lines()
                        .find(|l| l.starts_with("VmRSS:"))
                        .and_then(|l| l.split_whitespace().nth(1))
                        .and_then(|v| v.parse::<u64>().ok())
                {
                    peak.fetch_max(kib, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    eprintln!(
        "ack: warm-up {} + {} signed /va health in flight {} …",
        a.in_flight, a.requests, a.in_flight
    );
    let warm = system::ack::fire(
        client,
        &url,
        "health",
        "warm",
        a.in_flight,
        a.in_flight,
        Duration::from_secs(60),
    )
    .await;
    let load_started = Instant::now();
    let load = system::ack::fire(
        client,
        &url,
        "health",
        "load",
        a.requests,
        a.in_flight,
        Duration::from_secs(180),
    )
    .await;
    let sent = warm.ok + load.ok;
    // The work behind each ack: a root message and the health reply, both posted.
    let drain_deadline = Instant::now() + Duration::from_secs(300);
    while ((fake.posts() as usize) < 2 * sent
        || count(&schema.url, "invocations").await? < sent as u64)
        && Instant::now() < drain_deadline
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let drained = load_started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let _ = sampler.await;
    let (after, hwm) = bot.memory_kib()?;
    let alive = bot.alive();
    let recorded = count(&schema.url, "invocations").await?;
    let accepted = count(&schema.url, "deliveries").await?;
    let settled = count(&schema.url, "deliveries WHERE settled_at IS NOT NULL").await?;
    let p99 = load.p(99.0);
    t.row(
        &format!(
            "slash-command ack (real `vabot serve`), {} in flight",
            a.in_flight
        ),
        format!(
            "p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms ({} acked, {} failed, {:.0} req/s)",
            load.p(50.0),
            p99,
            load.p(99.9),
            load.max(),
            load.ok,
            load.failed,
            load.ok as f64 / load.wall.as_secs_f64()
        ),
        "p99 < 10 ms incl. signature check and durable insert",
        if load.failed > 0 {
            "NOT met (failures)"
        } else {
            met(p99 < 10.0)
        },
    );
    t.row(
        "work behind those acks",
        format!(
            "{} acked; {} deliveries recorded before their ack, {} settled; {} invocations recorded; {} Slack posts; all done {:.1} s after the load began ({:.0} commands/s end to end); process {}",
            sent,
            accepted,
            settled,
            recorded,
            fake.posts(),
            drained.as_secs_f64(),
            sent as f64 / drained.as_secs_f64(),
            if alive { "alive" } else { "DIED" }
        ),
        "every acked command recorded, nothing crashes",
        met(accepted >= sent as u64 && settled >= sent as u64 && recorded >= sent as u64 && alive),
    );
    let loaded = peak.load(Ordering::SeqCst).max(after);
    t.row(
        "resident memory under the ack load (peak sampled every 50 ms; VmHWM)",
        format!(
            "{:.1} MiB (VmHWM {:.1} MiB; {:.1} MiB after the backlog drained)",
            mib(loaded),
            mib(hwm),
            mib(after)
        ),
        "< 96 MiB",
        met(mib(hwm.max(loaded)) < 96.0),
    );
    drop(bot);
    Ok(())
}

/// `SELECT COUNT(*) FROM {what}` (a table, optionally with a constant WHERE clause).
async fn count(url: &str, what: &str) -> anyhow::Result<u64> {
    let store = SqlStore::connect(url).await?;
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {what}")))
        .fetch_one(store.pool())
        .await?;
    store.pool().close().await;
    Ok(n as u64)
}

async fn health_figures(a: &Args, t: &mut Table, kc: &std::path::Path) -> anyhow::Result<()> {
    eprintln!(
        "health: scaling a bench namespace to {} workloads × {} pods …",
        a.workloads, a.replicas
    );
    let h = system::health::run(
        kc,
        a.workloads,
        a.replicas,
        a.health_commands,
        a.kubectl_runs,
    )
    .await?;
    let (hp50, kp50) = (h.health_p(50.0), h.kubectl_p(50.0));
    t.row(
        &format!(
            "`/va health` from the watch caches ({} workloads, {} pods; {} commands)",
            h.workloads, h.pods, h.health_commands
        ),
        format!(
            "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            hp50,
            h.health_p(99.0),
            h.health_ms.last().copied().unwrap_or(f64::NAN)
        ),
        "p50 ≤ 1/5 of kubectl's",
        met(hp50 * 5.0 <= kp50),
    );
    t.row(
        &format!(
            "peer: `kubectl get pods -A` as a process, same run ({} runs, {} rows)",
            h.kubectl_ms.len(),
            h.kubectl_rows
        ),
        format!(
            "p50 {:.1} ms, p99 {:.1} ms ({:.0}× the health p50)",
            kp50,
            h.kubectl_p(99.0),
            kp50 / hp50
        ),
        "(the peer)",
        "–",
    );
    t.row(
        "API requests per `/va health` after sync",
        format!(
            "{} bytes sent to the API server over {} commands ⇒ {} requests (kubectl: {} requests per run)",
            h.health_bytes,
            h.health_commands,
            if h.health_bytes == 0 { "0" } else { "> 0" },
            h.kubectl_requests
        ),
        "0",
        met(h.health_bytes == 0),
    );
    t.notes.push(format!(
        "health setup: {} bench nodes, {} pods Ready in {:.0} s; namespace and nodes deleted afterwards.",
        h.nodes,
        h.pods,
        h.setup.as_secs_f64()
    ));
    Ok(())
}
