//! In-process figures (criterion): the grammar, the Slack signature check, rendering a
//! health reply, and hash-chained audit appends on SQLite and PostgreSQL.
//!
//! `cargo bench -p vabot-bench --bench inproc` (needs `POSTGRES_URL`: the local environment).
#![allow(clippy::unwrap_used, clippy::expect_used)] // bench start-up: a panic is a failed run

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use vabot_bench::{PgSchema, SqliteFile, audit_event, fake_deps, reply_of};
use vabot_commands::catalog::Catalog;
use vabot_commands::grammar;
use vabot_commands::message::render_text;
use vabot_commands::store::Store;
use vabot_slack::signature::{sign, verify_at};
use vabot_store::SqlStore;

/// A slash command body as Slack sends it (form-encoded, ~450 bytes).
const SLASH_BODY: &str = "token=legacy-verification-token&team_id=T0VOICE&team_domain=voicehelper&channel_id=C0INCIDENT&channel_name=incident&user_id=U0ALICE&user_name=alice&command=%2Fva&text=scale+agent-engine+5&api_app_id=A0VABOT&is_enterprise_install=false&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT0VOICE%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn grammar_parse(c: &mut Criterion) {
    let catalog = Catalog::voicehelper();
    let mut g = c.benchmark_group("grammar_parse");
    for (name, text) in [
        ("health", "health"),
        ("scale", "scale agent-engine 5"),
        (
            "logs_flags",
            "logs agent-engine --previous --container agent-engine --tail 200 --since 10m",
        ),
        ("traffic", "traffic agent-engine blue=20 green=80"),
        ("typo_with_suggestions", "scael agent-engin 5"),
    ] {
        g.bench_with_input(BenchmarkId::from_parameter(name), text, |b, t| {
            b.iter(|| grammar::parse(black_box(t), &catalog))
        });
    }
    g.finish();
}

fn slack_signature(c: &mut Criterion) {
    let secret = "8f742231b10e8888abcd99yyyzzz85a5";
    let ts = "1531420618";
    let body = SLASH_BODY.as_bytes();
    let good = sign(secret, ts, body);
    let bad = sign("another-secret-of-the-same-size", ts, body);
    let mut g = c.benchmark_group("slack_signature");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("verify_valid", |b| {
        b.iter(|| {
            verify_at(
                secret,
                Some(ts),
                Some(black_box(&good)),
                body,
                1_531_420_618,
            )
        })
    });
    g.bench_function("verify_forged", |b| {
        b.iter(|| verify_at(secret, Some(ts), Some(black_box(&bad)), body, 1_531_420_618))
    });
    g.finish();
}

fn render(c: &mut Criterion) {
    let rt = runtime();
    let deps = fake_deps().expect("deps");
    let health = rt
        .block_on(reply_of(&deps, "carol", "health", "bench-render-1"))
        .expect("a health reply");
    let help = rt
        .block_on(reply_of(&deps, "carol", "help", "bench-render-2"))
        .expect("a help reply");
    let mut g = c.benchmark_group("render");
    g.bench_function("health_block_kit", |b| {
        b.iter(|| vabot_slack::blocks::render(black_box(&health)))
    });
    g.bench_function("health_text", |b| {
        b.iter(|| render_text(black_box(&health)))
    });
    g.bench_function("help_block_kit", |b| {
        b.iter(|| vabot_slack::blocks::render(black_box(&help)))
    });
    g.finish();
}

/// Appends `iters` events, one after the other or from `tasks` concurrent callers.
async fn append_n(store: &Arc<SqlStore>, iters: u64, tasks: u64, base: u64) -> Duration {
    let started = Instant::now();
    let mut handles = Vec::new();
    let mut next = base;
    for t in 0..tasks {
        // Exactly `iters` appends in all: the first `iters % tasks` callers do one more.
        let mine = iters / tasks + u64::from(t < iters % tasks);
        let store = store.clone();
        let first = next;
        next += mine;
        handles.push(tokio::spawn(async move {
            for n in 0..mine {
                store.append(audit_event(first + n)).await.expect("append");
            }
        }));
    }
    for h in handles {
        h.await.expect("append task");
    }
    started.elapsed()
}

fn audit_appends(c: &mut Criterion) {
    let rt = runtime();
    let pg = rt.block_on(PgSchema::create("criterion")).expect(
        "PostgreSQL: source /root/.cache/vabot/dev/env.sh (deploy/dev/env up) before benching",
    );
    let sqlite = SqliteFile::new("criterion");
    let stores = [
        (
            "postgres",
            Arc::new(rt.block_on(SqlStore::open(&pg.url)).expect("open pg")),
        ),
        (
            "sqlite",
            Arc::new(
                rt.block_on(SqlStore::open(&sqlite.url))
                    .expect("open sqlite"),
            ),
        ),
    ];
    let mut g = c.benchmark_group("audit_append");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(10));
    let mut base = 0u64;
    for (name, store) in &stores {
        for tasks in [1u64, 8] {
            g.bench_function(BenchmarkId::new(*name, format!("{tasks}_callers")), |b| {
                b.to_async(&rt).iter_custom(|iters| {
                    let store = store.clone();
                    let at = base;
                    base += iters;
                    async move { append_n(&store, iters, tasks, at).await }
                })
            });
        }
    }
    g.finish();
    // The chain the benchmark built is intact.
    for (name, store) in &stores {
        let report = rt.block_on(store.verify()).expect("verify");
        assert!(
            matches!(report, vabot_store::ChainReport::Intact { .. }),
            "{name}: {report:?}"
        );
    }
    drop(stores);
    rt.block_on(pg.drop_schema()).expect("drop schema");
    sqlite.remove();
}

criterion_group!(
    benches,
    grammar_parse,
    slack_signature,
    render,
    audit_appends
);
criterion_main!(benches);
