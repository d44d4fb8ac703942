//! Every dependency command through the pipeline, against the local PostgreSQL, Redis and
//! Prometheus, and fakes of Elasticsearch, Milvus and Nacos serving documented responses.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod common;

use common::*;
use redis::AsyncCommands;
use sqlx::Connection;
use vabot_deps::DepsConfig;
use vabot_deps::es::{CatIndex, ClusterHealth};
use vabot_deps::milvus::{HealthResponse, RestResponse};
use vabot_deps::nacos::V2Result;
use vabot_deps::nacos::services::{InstanceList, ServiceList};
use vabot_deps::prom::{ApiResponse, QueryData};

async fn redis_conn(db: u8) -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_db_url(db))
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to the local Redis")
}

// === PostgreSQL ===

#[tokio::test]
async fn pg_status_reports_version_uptime_connections_and_longest_transaction() {
    let w = world(real_config(), empty_cluster());
    // A transaction left open, so "longest transaction" has something to show.
    let mut held = sqlx::PgConnection::connect(&postgres_url())
        .await
        .expect("pg");
    let mut tx = held.begin().await.expect("begin");
    sqlx::query("select 1")
        .execute(&mut *tx)
        .await
        .expect("select");
    let out = text(&w.say("alice", "pg status").await);
    assert!(out.contains("PostgreSQL status"), "{out}");
    assert!(out.contains("version"), "{out}");
    assert!(
        out.contains("15."),
        "the local server is PostgreSQL 15: {out}"
    );
    assert!(out.contains("max_connections"), "{out}");
    assert!(out.contains("uptime"), "{out}");
    assert!(out.contains("longest transaction"), "{out}");
    assert!(
        !out.contains("none open"),
        "an open transaction exists: {out}"
    );
    tx.rollback().await.expect("rollback");
}

#[tokio::test]
async fn pg_connections_groups_connections_by_state_and_application() {
    let w = world(real_config(), empty_cluster());
    let app = format!("vabot-it-conn-{}", unique());
    let opts: sqlx::postgres::PgConnectOptions = postgres_url().parse().expect("url");
    let _held = sqlx::ConnectOptions::connect(&opts.application_name(&app))
        .await
        .expect("pg");
    let out = text(&w.say("alice", "pg connections").await);
    assert!(out.contains("STATE"), "{out}");
    assert!(out.contains("APPLICATION"), "{out}");
    let line = out
        .lines()
        .find(|l| l.contains(&app))
        .unwrap_or_else(|| panic!("{app} missing: {out}"));
    assert!(line.contains("idle"), "{line}");
}

#[tokio::test]
async fn pg_slow_lists_statements_from_pg_stat_statements() {
    let w = world(real_config(), empty_cluster());
    let mut c = sqlx::PgConnection::connect(&postgres_url())
        .await
        .expect("pg");
    sqlx::query("select pg_sleep(0.05)")
        .execute(&mut c)
        .await
        .expect("sleep");
    let out = text(&w.say("alice", "pg slow 5").await);
    assert!(out.contains("Slowest"), "{out}");
    assert!(out.contains("TOTAL MS"), "{out}");
    assert!(out.contains("from pg_stat_statements"), "{out}");
}

#[tokio::test]
async fn pg_slow_says_so_when_pg_stat_statements_is_not_installed() {
    // The `postgres` database of the local server has no extensions.
    let url = postgres_url();
    let (base, _) = url.rsplit_once('/').expect("url with a database");
    let cfg = DepsConfig {
        postgres: Some(vabot_commands::secret::Secret::new(format!(
            "{base}/postgres"
        ))),
        ..DepsConfig::default()
    };
    let w = world(cfg, empty_cluster());
    let out = text(&w.say("alice", "pg slow").await);
    assert!(out.contains("pg_stat_statements is not installed"), "{out}");
}

// === Redis ===

#[tokio::test]
async fn redis_info_memory_is_parsed_into_named_fields() {
    let w = world(real_config(), empty_cluster());
    let out = text(&w.say("alice", "redis info memory").await);
    assert!(out.contains("Redis INFO memory"), "{out}");
    for field in [
        "used_memory_human",
        "maxmemory",
        "maxmemory_policy",
        "mem_fragmentation_ratio",
    ] {
        assert!(out.contains(field), "{field} missing: {out}");
    }
    assert!(!out.contains("# Memory"), "raw INFO text leaked: {out}");
}

#[tokio::test]
async fn redis_info_stats_shows_ops_per_second_and_evictions() {
    let w = world(real_config(), empty_cluster());
    let out = text(&w.say("alice", "redis info stats").await);
    for field in [
        "instantaneous_ops_per_sec",
        "evicted_keys",
        "keyspace_hits",
        "keyspace_misses",
    ] {
        assert!(out.contains(field), "{field} missing: {out}");
    }
    let summary = text(&w.say("alice", "redis info").await);
    assert!(summary.contains("redis_version"), "{summary}");
}

#[tokio::test]
async fn redis_hitrate_warns_below_the_configured_threshold() {
    let mut c = redis_conn(5).await;
    let key = format!("vabot-it-miss-{}", unique());
    let _: Option<String> = c.get(&key).await.expect("get");
    // With at least one miss recorded the ratio is below 100%.
    let strict = world(
        DepsConfig {
            redis_hitrate_warning: 1.0,
            ..real_config()
        },
        empty_cluster(),
    );
    let out = text(&strict.say("alice", "redis hitrate").await);
    assert!(out.contains("Redis hit rate"), "{out}");
    assert!(out.contains("below 100%"), "{out}");
    assert!(out.contains("keyspace_misses"), "{out}");

    let lenient = world(
        DepsConfig {
            redis_hitrate_warning: 0.0,
            ..real_config()
        },
        empty_cluster(),
    );
    let out = text(&lenient.say("alice", "redis hitrate").await);
    assert!(out.contains("Redis hit rate"), "{out}");
    assert!(!out.contains("possible cache penetration"), "{out}");
}

#[tokio::test]
async fn redis_slowlog_lists_a_slow_script() {
    let mut c = redis_conn(5).await;
    // About 20–50 ms of Lua: over the default 10 ms slowlog threshold.
    let _: i64 = redis::cmd("EVAL")
        .arg("local i = 0 while i < 3000000 do i = i + 1 end return i")
        .arg(0)
        .query_async(&mut c)
        .await
        .expect("eval");
    let w = world(real_config(), empty_cluster());
    let out = text(&w.say("alice", "redis slowlog 50").await);
    assert!(out.contains("Redis slow log"), "{out}");
    assert!(out.contains("EVAL"), "{out}");
}

#[tokio::test]
async fn redis_flushdb_needs_approval_and_flushes_only_that_db() {
    let (target, other) = (6u8, 7u8);
    let mut t = redis_conn(target).await;
    let mut o = redis_conn(other).await;
    let () = redis::cmd("FLUSHDB")
        .query_async(&mut t)
        .await
        .expect("clean");
    let () = redis::cmd("FLUSHDB")
        .query_async(&mut o)
        .await
        .expect("clean");
    for i in 0..5 {
        let () = t.set(format!("k{i}"), i).await.expect("seed");
    }
    for i in 0..3 {
        let () = o.set(format!("k{i}"), i).await.expect("seed");
    }
    let w = world(real_config(), empty_cluster());

    let r = w.say("alice", &format!("redis flushdb {target}")).await;
    let id = r
        .opened
        .clone()
        .unwrap_or_else(|| panic!("no approval opened: {}", text(&r)));
    let card = text(&r);
    assert!(
        card.contains(&format!("FLUSHDB on Redis db {target} (5 keys)")),
        "{card}"
    );
    assert!(card.contains("all → none"), "{card}");
    assert!(card.contains("holds 5 keys now"), "{card}");
    let n: u64 = redis::cmd("DBSIZE")
        .query_async(&mut t)
        .await
        .expect("dbsize");
    assert_eq!(n, 5, "nothing is flushed before approval");

    let r = w.say("alice", &format!("approve {id}")).await;
    assert!(text(&r).contains("four-eyes"), "{}", text(&r));
    let n: u64 = redis::cmd("DBSIZE")
        .query_async(&mut t)
        .await
        .expect("dbsize");
    assert_eq!(n, 5, "the requester cannot approve her own flush");

    let r = w.say("bob", &format!("approve {id}")).await;
    let out = text(&r);
    assert!(out.contains(&format!("Flushed Redis db {target}")), "{out}");
    assert!(out.contains("keys before  5"), "{out}");
    assert!(out.contains("keys after   0"), "{out}");
    let n: u64 = redis::cmd("DBSIZE")
        .query_async(&mut t)
        .await
        .expect("dbsize");
    assert_eq!(n, 0);
    let n: u64 = redis::cmd("DBSIZE")
        .query_async(&mut o)
        .await
        .expect("dbsize");
    assert_eq!(n, 3, "the other db is untouched");
    let () = redis::cmd("FLUSHDB")
        .query_async(&mut o)
        .await
        .expect("clean");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_approved_while_the_cache_is_written_to_executes_once() {
    let db = 8u8;
    let mut c = redis_conn(db).await;
    let () = redis::cmd("FLUSHDB")
        .query_async(&mut c)
        .await
        .expect("clean");
    for i in 0..20 {
        let () = c.set(format!("seed{i}"), i).await.expect("seed");
    }
    // A busy cache: a key every 100 ms, from before the request until after the vote.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let mut w = redis_conn(db).await;
        tokio::spawn(async move {
            let mut i = 0u32;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let () = w.set(format!("live{i}"), i).await.expect("write");
                i += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            i
        })
    };
    let w = world(real_config(), empty_cluster());
    let r = w.say("alice", &format!("redis flushdb {db}")).await;
    let id = r
        .opened
        .clone()
        .unwrap_or_else(|| panic!("no approval opened: {}", text(&r)));
    // Keys keep arriving while the approver reads the card.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let r = w.say("bob", &format!("approve {id}")).await;
    let out = text(&r);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let written = writer.await.expect("writer");
    assert!(
        written >= 7,
        "the cache was written to during the vote ({written} keys)"
    );
    assert!(out.contains(&format!("Flushed Redis db {db}")), "{out}");
    assert!(
        !out.contains("target changed"),
        "superseded by the key count: {out}"
    );
    let req = w.deps.store.approval(&id).await.unwrap().unwrap();
    assert_eq!(
        req.status,
        vabot_commands::approval::ApprovalStatus::Executed
    );
    let events = w.deps.store.events(None, None).await.unwrap();
    let finished = events
        .iter()
        .filter(|e| e.kind == vabot_commands::store::EventKind::ExecutionFinished)
        .count();
    assert_eq!(finished, 1, "executed once");
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == vabot_commands::store::EventKind::ApprovalRequested)
            .count(),
        1,
        "never asked again"
    );
    let () = redis::cmd("FLUSHDB")
        .query_async(&mut c)
        .await
        .expect("clean");
}

// === Elasticsearch, Milvus, Nacos (fakes) ===

#[test]
fn fixtures_deserialize_into_the_client_types() {
    let h: ClusterHealth = serde_json::from_str(ES_HEALTH).expect("es health");
    assert_eq!((h.status.as_str(), h.unassigned_shards), ("yellow", 4));
    let i: Vec<CatIndex> = serde_json::from_str(ES_INDICES).expect("es indices");
    assert_eq!(i.len(), 3);
    assert_eq!(i[0].docs_count.as_deref(), Some("182734"));
    assert_eq!(i[2].health, None);
    let l: RestResponse<Vec<String>> = serde_json::from_str(MILVUS_LIST).expect("milvus list");
    assert_eq!(l.code, 0);
    assert_eq!(l.data.map(|d| d.len()), Some(3));
    let l: RestResponse<Vec<String>> =
        serde_json::from_str(MILVUS_LIST_MISSING).expect("milvus list");
    assert_eq!(l.data, Some(vec!["documents".to_owned()]));
    let hz: HealthResponse = serde_json::from_str(MILVUS_HEALTHZ).expect("healthz");
    assert_eq!(hz.state, "OK");
    assert_eq!(hz.detail.map(|d| d.len()), Some(4));
    let n: V2Result<String> = serde_json::from_str(NACOS_READY).expect("nacos");
    assert_eq!((n.code, n.data.as_deref()), (0, Some("ok")));
    let s: V2Result<ServiceList> = serde_json::from_str(NACOS_SERVICES).expect("service list");
    assert_eq!(s.data.map(|d| d.services.len()), Some(3));
    let i: V2Result<InstanceList> = serde_json::from_str(NACOS_INSTANCES).expect("instances");
    assert_eq!(i.data.map(|d| d.hosts.len()), Some(2));
    let c: V2Result<String> = serde_json::from_str(NACOS_CONFIG).expect("config");
    assert!(c.data.unwrap().contains("server.port"));
}

#[tokio::test]
async fn es_health_and_indices_come_from_the_cluster_api() {
    let es = fake_es().await;
    let w = world(
        DepsConfig {
            elasticsearch: Some(es),
            ..DepsConfig::default()
        },
        empty_cluster(),
    );
    let out = text(&w.say("alice", "es health").await);
    assert!(
        out.contains("Elasticsearch voiceassistant-es: yellow"),
        "{out}"
    );
    assert!(out.contains("4 unassigned"), "{out}");
    let out = text(&w.say("alice", "es indices").await);
    assert!(out.contains("Elasticsearch indices (3)"), "{out}");
    assert!(out.contains("conversations-2026.11"), "{out}");
    assert!(out.contains("500.0 MiB"), "{out}");
    assert!(out.contains("audit-2025.12"), "{out}");
}

#[tokio::test]
async fn milvus_health_and_collections_come_from_rest_v2_and_healthz() {
    let m = fake_milvus(MILVUS_LIST).await;
    let w = world(
        DepsConfig {
            milvus: Some(m.clone()),
            milvus_metrics: Some(m),
            ..DepsConfig::default()
        },
        empty_cluster(),
    );
    let out = text(&w.say("alice", "milvus health").await);
    assert!(out.contains("Milvus is healthy"), "{out}");
    let out = text(&w.say("alice", "milvus collections").await);
    assert!(out.contains("Milvus collections (3)"), "{out}");
    assert!(out.contains("voice_knowledge"), "{out}");
}

#[tokio::test]
async fn milvus_stats_reads_the_figures_that_matter_from_metrics() {
    // The fixture is parsed by the same parser the command uses: every sample is read.
    let samples = vabot_deps::milvus::stats::parse_metrics(MILVUS_METRICS);
    assert_eq!(
        samples.len(),
        MILVUS_METRICS
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count()
    );
    let m = fake_milvus(MILVUS_LIST).await;
    let w = world(
        DepsConfig {
            milvus: Some(m.clone()),
            milvus_metrics: Some(m),
            ..DepsConfig::default()
        },
        empty_cluster(),
    );
    let out = text(&w.say("alice", "milvus stats").await);
    let out = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(out.contains("collections 3"), "{out}");
    assert!(
        out.contains("entities 150000 total, 120000 loaded"),
        "{out}"
    );
    assert!(out.contains("searches 9800 ok, 200 failed (2.0%)"), "{out}");
    assert!(out.contains("search latency 45.0 ms average"), "{out}");
    assert!(out.contains("memory (RSS) 2048 MiB"), "{out}");
    assert!(
        out.contains("not loaded (searches on them fail): documents"),
        "{out}"
    );
}

#[tokio::test]
async fn nacos_health_reads_the_v2_readiness_endpoint() {
    let n = fake_nacos().await;
    let w = world(
        DepsConfig {
            nacos: Some(n),
            ..DepsConfig::default()
        },
        empty_cluster(),
    );
    let out = text(&w.say("alice", "nacos health").await);
    assert!(out.contains("Nacos is ready"), "{out}");
    assert!(out.contains("v2"), "{out}");
}

#[tokio::test]
async fn nacos_services_and_config_read_the_v2_open_api_with_secrets_masked() {
    let n = fake_nacos().await;
    let w = world(
        DepsConfig {
            nacos: Some(n),
            ..DepsConfig::default()
        },
        empty_cluster(),
    );
    let out = text(&w.say("alice", "nacos services").await);
    let out = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(out.contains("Nacos services in DEFAULT_GROUP (3)"), "{out}");
    assert!(
        out.contains("agent-engine ⚠ 1 of 2 healthy 127.0.0.2:8080"),
        "{out}"
    );
    assert!(
        out.contains("identity-service ⚠ no instance registered"),
        "{out}"
    );

    let cfg = text(&w.say("alice", "nacos config agent-engine.properties").await);
    assert!(
        cfg.contains("server.port=8080") && cfg.contains("rate_limit.tokens=100"),
        "{cfg}"
    );
    assert!(
        !cfg.contains("sk-live-9f8e7d6c5b4a39281706"),
        "a secret was shown: {cfg}"
    );
    assert!(cfg.contains("llm.api_key= [redacted]"), "{cfg}");
    assert!(cfg.contains("sha256"), "{cfg}");

    let missing = text(&w.say("alice", "nacos config nope.yaml").await);
    assert!(
        missing.contains("nope.yaml") && missing.to_lowercase().contains("not found"),
        "{missing}"
    );
    let bad = text(&w.say("alice", "nacos config 'a b'").await);
    assert!(bad.contains("is not a Nacos dataId"), "{bad}");
}

// === Prometheus ===

/// Decodes a PNG: (width, height, share of non-white pixels, distinct colours).
fn inspect_png(bytes: &[u8]) -> (u32, u32, f64, usize) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a PNG frame");
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    let non_white = pixels
        .iter()
        .filter(|p| p.iter().take(3).any(|c| *c < 250))
        .count();
    let colours: std::collections::BTreeSet<Vec<u8>> = pixels.iter().map(|p| p.to_vec()).collect();
    (
        info.width,
        info.height,
        non_white as f64 / pixels.len() as f64,
        colours.len(),
    )
}

#[tokio::test]
async fn prom_alias_replies_with_current_values_and_a_png_chart() {
    let w = world(real_config(), empty_cluster());
    let r = w.say("alice", "prom 429-rate --since 1h").await;
    let out = text(&r);
    assert!(out.contains("Prometheus: 429-rate"), "{out}");
    assert!(
        out.contains(r#"response_code="429""#),
        "the alias's PromQL is shown: {out}"
    );
    assert!(out.contains("CURRENT"), "{out}");
    let m = &r.messages[0];
    assert_eq!(m.attachments.len(), 1, "{out}");
    let a = &m.attachments[0];
    assert_eq!(a.mime, "image/png");
    assert_eq!(a.filename, "prom-429-rate.png");
    let (width, height, ink, colours) = inspect_png(&a.bytes);
    assert_eq!((width, height), (900, 450));
    assert!(ink > 0.01, "the chart is blank ({ink:.4} non-white)");
    assert!(colours > 3, "only {colours} colours: no line or text drawn");
    if let Ok(path) = std::env::var("VABOT_SAMPLE_CHART") {
        std::fs::write(&path, &a.bytes).expect("write the sample chart");
    }
}

#[tokio::test]
async fn prom_query_shows_one_row_per_series() {
    let w = world(real_config(), empty_cluster());
    let r = w
        .say(
            "alice",
            r#"prom sum by (destination_service_name) (rate(istio_requests_total[5m])) --since 10m"#,
        )
        .await;
    let out = text(&r);
    assert!(out.contains("Prometheus query"), "{out}");
    assert!(
        out.contains(r#"destination_service_name="agent-engine""#),
        "{out}"
    );
    assert!(
        out.contains(r#"destination_service_name="voice-gateway""#),
        "{out}"
    );
    assert_eq!(r.messages[0].attachments.len(), 1);
}

#[tokio::test]
async fn prom_says_what_prometheus_rejected_in_a_bad_query() {
    let w = world(real_config(), empty_cluster());
    let out = text(&w.say("alice", "prom sum(rate(x[5m]").await);
    assert!(out.contains("Prometheus rejected the query"), "{out}");
}

#[test]
fn prometheus_api_answers_deserialize_into_the_client_types() {
    let v: ApiResponse<QueryData> = serde_json::from_str(
        r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1795581971.948,"6.0005"]}]}}"#,
    )
    .expect("vector");
    assert!(matches!(v.data, Some(QueryData::Vector(ref s)) if s.len() == 1));
    let e: ApiResponse<QueryData> =
        serde_json::from_str(r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#)
            .expect("error");
    assert_eq!(e.error_type.as_deref(), Some("bad_data"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_monitor_samples_for_the_given_seconds_and_shows_key_patterns_not_values() {
    let w = world(real_config(), empty_cluster());
    // A client working while the sample runs: SETs and GETs of per-user keys.
    let writer = tokio::spawn(async move {
        let mut c = redis_conn(3).await;
        let start = std::time::Instant::now();
        let mut sent = 0u32;
        while start.elapsed() < std::time::Duration::from_millis(2500) {
            let key = format!("vabotmon:user:{}:profile", 100_000 + sent);
            let () = c.set(&key, format!("hunter2-{sent}")).await.expect("set");
            let _: Option<String> = c.get(&key).await.expect("get");
            sent += 1;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        sent
    });
    let started = std::time::Instant::now();
    let out = text(&w.say("alice", "redis monitor --seconds 2").await);
    // Table cells are padded: compare with runs of spaces collapsed.
    let out = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n");
    let took = started.elapsed();
    let sent = writer.await.unwrap();
    assert!(sent > 20, "the writer ran: {sent}");
    assert!(
        took >= std::time::Duration::from_secs(2) && took < std::time::Duration::from_secs(6),
        "bounded by --seconds: {took:?}"
    );
    assert!(out.contains("Redis MONITOR:"), "{out}");
    assert!(out.contains("SET vabotmon:user:*:profile"), "{out}");
    assert!(out.contains("GET vabotmon:user:*:profile"), "{out}");
    assert!(!out.contains("hunter2"), "a value was shown: {out}");
    assert!(!out.contains("user:1000"), "an identifier was shown: {out}");

    let over = text(&w.say("alice", "redis monitor --seconds 30").await);
    assert!(over.contains("--seconds must be at most 10"), "{over}");
}

#[tokio::test]
async fn reindex_is_planned_against_milvus_followed_to_the_end_and_approved_by_policy() {
    // The fixtures are the API's contract: each one is one of the client's types.
    for f in [INDEXING_QUEUED, INDEXING_RUNNING, INDEXING_SUCCEEDED] {
        serde_json::from_str::<vabot_deps::indexing::Job>(f).expect("a Job");
    }
    serde_json::from_str::<vabot_deps::indexing::ApiError>(INDEXING_CONFLICT).expect("an ApiError");
    let m = fake_milvus(MILVUS_LIST).await;
    let (idx, posts) = fake_indexing().await;
    let w = world(
        DepsConfig {
            milvus: Some(m.clone()),
            milvus_metrics: Some(m),
            indexing: Some(idx),
            ..DepsConfig::default()
        },
        empty_cluster(),
    );
    // A write: an operator runs it; followed until the job succeeds.
    let out = text(&w.say("alice", "reindex voice_knowledge").await);
    assert!(out.contains("Reindexed voice_knowledge"), "{out}");
    assert!(
        out.contains("Job rx-20261203-0007 succeeded: 120000 of 120000 entities (100%)"),
        "{out}"
    );
    assert_eq!(posts.load(std::sync::atomic::Ordering::SeqCst), 1);
    // A collection Milvus does not have is refused at planning: nothing is sent.
    let out = text(&w.say("alice", "reindex voice_knowledg").await);
    assert!(
        out.contains("Milvus has no collection `voice_knowledg`")
            && out.contains("voice_knowledge"),
        "{out}"
    );
    assert_eq!(posts.load(std::sync::atomic::Ordering::SeqCst), 1);
    // A job already running: the service's 409, said plainly.
    let out = text(&w.say("alice", "reindex documents").await);
    assert!(
        out.contains("already running (job rx-20261203-0006)"),
        "{out}"
    );
    // Bad names never reach anything; a viewer may not write.
    let out = text(&w.say("alice", "reindex ../etc").await);
    assert!(out.contains("is not a Milvus collection name"), "{out}");
    let out = text(&w.say("carol", "reindex voice_knowledge").await);
    assert!(
        out.contains("not allowed") || out.contains("may not"),
        "{out}"
    );
    // Nothing to undo.
    let out = text(&w.say("alice", "undo").await);
    assert!(!out.contains("Reindexed"), "{out}");

    // With a policy rule for it, a reindex waits for someone else's approval.
    let strict = format!(
        "{POLICY}\n  - when: {{ command: reindex }}\n    approvals: 1\n    approvers: [approver, admin]\n    expiry: 15m\n"
    );
    let catalog = vabot_commands::catalog::Catalog::voicehelper();
    *w.deps.policy.write().unwrap() = std::sync::Arc::new(
        vabot_commands::config::Policy::parse("policy.yaml", &strict, false, &catalog).unwrap(),
    );
    let r = w.say("alice", "reindex voice_knowledge").await;
    let id = r
        .opened
        .clone()
        .unwrap_or_else(|| panic!("no approval opened: {}", text(&r)));
    assert!(
        text(&r).contains("Rebuild the index of Milvus collection voice_knowledge"),
        "{}",
        text(&r)
    );
    assert_eq!(
        posts.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "nothing sent before approval"
    );
    let r = w.say("bob", &format!("approve {id}")).await;
    assert!(
        text(&r).contains("Reindexed voice_knowledge"),
        "{}",
        text(&r)
    );
    assert_eq!(posts.load(std::sync::atomic::Ordering::SeqCst), 3);
}

/// A database of the test's own, created and dropped on the real PostgreSQL.
struct TestDb(String);

impl TestDb {
    async fn new() -> Self {
        let name = format!("vabot_bk_{}", unique().replace('-', "_"));
        let mut c = sqlx::PgConnection::connect(&postgres_url())
            .await
            .expect("connect");
        // The name is made here from letters, digits and `_`.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut c)
            .await
            .expect("create database (the env grants CREATEDB)");
        Self(name)
    }

    fn url(&self) -> String {
        let base = postgres_url();
        let (head, _) = base.rsplit_once('/').expect("a database in the URL");
        format!("{head}/{}", self.0)
    }

    async fn rows(&self) -> i64 {
        let mut c = sqlx::PgConnection::connect(&self.url())
            .await
            .expect("connect");
        sqlx::query_scalar("select count(*) from tickets")
            .fetch_one(&mut c)
            .await
            .expect("count")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.0.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok(mut c) = sqlx::PgConnection::connect(&postgres_url()).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut c)
                    .await;
                }
            });
        })
        .join();
    }
}

fn field<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.trim().strip_prefix(name))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no `{name}` in {out}"))
}

#[tokio::test]
async fn pg_backup_is_hashed_and_pg_restore_needs_two_approvals_and_an_intact_file() {
    use sha2::Digest;
    let db = TestDb::new().await;
    {
        let mut c = sqlx::PgConnection::connect(&db.url())
            .await
            .expect("connect");
        for q in [
            "create table tickets (id int primary key, title text)",
            "insert into tickets values (1, 'slow asr'), (2, 'tts 500'), (3, 'login loop')",
        ] {
            sqlx::query(q).execute(&mut c).await.expect(q);
        }
    }
    let dir = std::env::temp_dir().join(format!("vabot-backups-{}", unique()));
    let w = world(
        DepsConfig {
            pg_backup_dir: Some(dir.clone()),
            ..real_config()
        },
        empty_cluster(),
    );

    // A backup: a write, run at once; size and SHA-256 in the reply, the same as the file's.
    let out = text(&w.say("alice", &format!("pg backup {}", db.0)).await);
    assert!(out.contains(&format!("Backed up {}", db.0)), "{out}");
    let id = field(&out, "backup id").to_owned();
    let sha = field(&out, "SHA-256").to_owned();
    let bytes = std::fs::read(dir.join(format!("{id}.dump"))).expect("the dump");
    assert_eq!(sha, format!("{:x}", sha2::Sha256::digest(&bytes)));
    assert!(
        out.contains(&format!("({} bytes)", bytes.len()))
            || out.contains(&format!("{} bytes", bytes.len())),
        "{out}"
    );
    // The dump is a real pg_dump custom-format archive.
    assert_eq!(&bytes[..5], b"PGDMP");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(format!("{id}.json"))).unwrap()).unwrap();
    assert_eq!(manifest["sha256"], sha.as_str());

    // The incident: rows lost.
    {
        let mut c = sqlx::PgConnection::connect(&db.url())
            .await
            .expect("connect");
        sqlx::query("delete from tickets where id > 1")
            .execute(&mut c)
            .await
            .unwrap();
    }
    assert_eq!(db.rows().await, 1);

    // A restore: destructive, two approvals, never the requester's.
    let r = w.say("alice", &format!("pg restore {id}")).await;
    let approval = r
        .opened
        .clone()
        .unwrap_or_else(|| panic!("no approval opened: {}", text(&r)));
    let card = text(&r);
    assert!(
        card.contains(&format!("Restore database {} from backup {id}", db.0)),
        "{card}"
    );
    assert!(card.contains(&sha), "the card shows the hash: {card}");
    let r = w.say("alice", &format!("approve {approval}")).await;
    assert!(text(&r).contains("four-eyes"), "{}", text(&r));
    let r = w.say("bob", &format!("approve {approval}")).await;
    assert!(
        !text(&r).contains("Restored"),
        "one approval is not enough: {}",
        text(&r)
    );
    assert_eq!(db.rows().await, 1);
    let r = w.say("erin", &format!("approve {approval}")).await;
    assert!(
        text(&r).contains(&format!("Restored {} from {id}", db.0)),
        "{}",
        text(&r)
    );
    assert_eq!(db.rows().await, 3, "the deleted rows are back");

    // A dump that changed since it was taken is refused.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join(format!("{id}.dump")))
        .unwrap();
    std::io::Write::write_all(&mut f, b"x").unwrap();
    let out = text(&w.say("alice", &format!("pg restore {id}")).await);
    assert!(
        out.contains("no longer matches its recorded SHA-256"),
        "{out}"
    );
    // Unknown ids and path tricks.
    let out = text(
        &w.say("alice", "pg restore nosuch-20260101T000000000Z")
            .await,
    );
    assert!(out.contains("backup `nosuch-20260101T000000000Z`"), "{out}");
    let out = text(&w.say("alice", "pg restore ../../etc/passwd").await);
    assert!(out.contains("is not a backup id"), "{out}");
    // Without a backup directory, the reply says what to configure.
    let bare = world(real_config(), empty_cluster());
    let out = text(&bare.say("alice", "pg backup").await);
    assert!(out.contains("endpoints.pg_backup_dir"), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}
