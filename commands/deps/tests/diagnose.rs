//! Each diagnose playbook finds a seeded fault: in the cluster snapshot, in the local
//! PostgreSQL, Redis and Prometheus, or in the Milvus fake.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod common;

use std::sync::Arc;

use common::*;
use redis::AsyncCommands;
use sqlx::Connection;
use vabot_commands::ports::{ClusterSnapshot, EndpointState, PodState, WorkloadState};
use vabot_deps::DepsConfig;

fn pod(name: &str, service: &str, ready: bool, reason: Option<&str>, restarts: u32) -> PodState {
    PodState {
        namespace: "voiceassistant-prod".into(),
        name: name.into(),
        service: Some(service.into()),
        phase: "Running".into(),
        ready,
        reason: reason.map(str::to_owned),
        restarts,
        node: Some("kwok-node-0".into()),
    }
}

fn healthy_snapshot() -> ClusterSnapshot {
    ClusterSnapshot {
        workloads: vec![WorkloadState {
            namespace: "voiceassistant-prod".into(),
            name: "agent-engine".into(),
            kind: "Deployment".into(),
            desired: 2,
            ready: 2,
        }],
        pods: vec![
            pod("agent-engine-7d9f8-aaaaa", "agent-engine", true, None, 0),
            pod("agent-engine-7d9f8-bbbbb", "agent-engine", true, None, 0),
            pod(
                "identity-service-5c6d-ccccc",
                "identity-service",
                true,
                None,
                0,
            ),
        ],
        endpoints: vec![
            EndpointState {
                namespace: "voiceassistant-prod".into(),
                service: "agent-engine".into(),
                ready: 2,
                not_ready: 0,
            },
            EndpointState {
                namespace: "voiceassistant-prod".into(),
                service: "identity-service".into(),
                ready: 1,
                not_ready: 0,
            },
        ],
        envoy_filters: vec!["voiceassistant-prod/rate-limit-filter".into()],
        ..ClusterSnapshot::default()
    }
}

/// The index of the first line containing `needle`.
fn line_of(out: &str, needle: &str) -> usize {
    out.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not in:\n{out}"))
}

#[tokio::test]
async fn pod_crash_finds_the_crashlooping_pod_and_suggests_its_previous_logs() {
    let mut snap = healthy_snapshot();
    snap.pods[1] = pod(
        "agent-engine-7d9f8-bbbbb",
        "agent-engine",
        false,
        Some("CrashLoopBackOff"),
        7,
    );
    snap.workloads[0].ready = 1;
    let w = world(DepsConfig::default(), Arc::new(SeededCluster(snap)));
    let out = text(&w.say("alice", "diagnose pod-crash agent-engine").await);
    assert!(
        out.contains("Diagnose pod-crash for agent-engine (runbook §4.1)"),
        "{out}"
    );
    assert!(
        out.contains("Pod agent-engine-7d9f8-bbbbb is in CrashLoopBackOff"),
        "{out}"
    );
    assert!(out.contains("7 restarts"), "{out}");
    assert!(
        out.contains("/va logs agent-engine-7d9f8-bbbbb --previous"),
        "{out}"
    );
    assert!(
        out.contains("/va describe agent-engine-7d9f8-bbbbb"),
        "{out}"
    );
    // Ranked: the critical finding comes before the warning about replicas.
    assert!(
        line_of(out.as_str(), "*critical*") < line_of(out.as_str(), "*warning*"),
        "{out}"
    );
    assert!(
        !out.contains("aaaaa is"),
        "healthy pods are not findings: {out}"
    );
}

#[tokio::test]
async fn pod_crash_on_a_healthy_cluster_finds_nothing_wrong() {
    let w = world(
        DepsConfig::default(),
        Arc::new(SeededCluster(healthy_snapshot())),
    );
    let out = text(&w.say("alice", "diagnose pod-crash").await);
    assert!(out.contains("No crashing or unready pods"), "{out}");
    assert!(!out.contains("*critical*"), "{out}");
}

#[tokio::test]
async fn service_comm_finds_a_service_without_ready_endpoints() {
    let mut snap = healthy_snapshot();
    snap.endpoints[1].ready = 0;
    snap.endpoints[1].not_ready = 1;
    snap.pods[2].ready = false;
    let w = world(DepsConfig::default(), Arc::new(SeededCluster(snap)));
    let out = text(
        &w.say("alice", "diagnose service-comm identity-service")
            .await,
    );
    assert!(out.contains("(runbook §4.2)"), "{out}");
    assert!(
        out.contains("Service identity-service has no ready endpoints"),
        "{out}"
    );
    assert!(out.contains("/va endpoints identity-service"), "{out}");
    assert!(out.contains("/va netpol voiceassistant-prod"), "{out}");
    assert!(
        !out.contains("Service agent-engine"),
        "scoped to the service: {out}"
    );
}

#[tokio::test]
async fn db_timeout_finds_many_connections_idle_in_transaction() {
    let app = format!("vabot-it-dbtimeout-{}", unique());
    let opts: sqlx::postgres::PgConnectOptions = postgres_url().parse().expect("url");
    let mut held = Vec::new();
    for _ in 0..8 {
        let mut c = sqlx::ConnectOptions::connect(&opts.clone().application_name(&app))
            .await
            .expect("pg");
        sqlx::query("begin").execute(&mut c).await.expect("begin");
        sqlx::query("select 1")
            .execute(&mut c)
            .await
            .expect("select");
        held.push(c);
    }
    let w = world(real_config(), empty_cluster());
    let out = text(&w.say("alice", "diagnose db-timeout").await);
    assert!(out.contains("(runbook §4.3)"), "{out}");
    assert!(
        out.contains("idle in transaction (they hold connections and locks)"),
        "{out}"
    );
    assert!(
        out.contains(&format!("{app}: 8 idle in transaction")),
        "{out}"
    );
    assert!(out.contains("of max_connections"), "{out}");
    assert!(out.contains("/va pg connections"), "{out}");
    for c in held {
        let _ = c.close().await;
    }
}

#[tokio::test]
async fn vector_search_finds_the_missing_collection() {
    let m = fake_milvus(MILVUS_LIST_MISSING).await;
    let cfg = DepsConfig {
        milvus: Some(m.clone()),
        milvus_metrics: Some(m),
        milvus_collections: vec!["documents".into(), "voice_knowledge".into()],
        ..DepsConfig::default()
    };
    let w = world(cfg, Arc::new(SeededCluster(healthy_snapshot())));
    let out = text(&w.say("alice", "diagnose vector-search").await);
    assert!(out.contains("(runbook §4.4)"), "{out}");
    assert!(
        out.contains("Expected collection(s) missing: voice_knowledge"),
        "{out}"
    );
    assert!(out.contains("Milvus reports healthy"), "{out}");
    assert!(
        line_of(&out, "missing") < line_of(&out, "reports healthy"),
        "ranked: {out}"
    );
    assert!(out.contains("/va milvus collections"), "{out}");
}

#[tokio::test]
async fn cache_penetration_finds_a_low_hit_rate() {
    let client = redis::Client::open(redis_db_url(8)).expect("url");
    let mut c = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    // Enough misses (in our own db 8) to push the server-wide ratio well under 80%.
    let stats: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(&mut c)
        .await
        .expect("info");
    let hits: u64 = stats
        .lines()
        .find_map(|l| l.strip_prefix("keyspace_hits:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let misses_needed = (hits * 3).clamp(200, 200_000);
    let mut pipe = redis::pipe();
    for i in 0..misses_needed {
        pipe.get(format!("vabot-it-absent-{i}")).ignore();
    }
    let () = pipe.query_async(&mut c).await.expect("misses");
    let _: Option<String> = c.get("vabot-it-absent-last").await.expect("get");

    let w = world(real_config(), Arc::new(SeededCluster(healthy_snapshot())));
    let out = text(&w.say("alice", "diagnose cache-penetration").await);
    assert!(out.contains("(runbook §4.5)"), "{out}");
    assert!(out.contains("likely cache penetration"), "{out}");
    assert!(out.contains("keyspace_misses"), "{out}");
    assert!(out.contains("/va redis slowlog 10"), "{out}");
}

#[tokio::test]
async fn rate_limit_finds_429s_in_prometheus_and_the_envoy_filter() {
    let w = world(real_config(), Arc::new(SeededCluster(healthy_snapshot())));
    let out = text(&w.say("alice", "diagnose rate-limit agent-engine").await);
    assert!(out.contains("(runbook §4.6)"), "{out}");
    assert!(out.contains("Requests are being rate-limited"), "{out}");
    assert!(out.contains("agent-engine:"), "per-service evidence: {out}");
    assert!(
        out.contains("voiceassistant-prod/rate-limit-filter"),
        "{out}"
    );
    assert!(out.contains("/va prom 429-rate --since 1h"), "{out}");
    assert!(
        line_of(&out, "rate-limited") < line_of(&out, "EnvoyFilter(s)"),
        "ranked: {out}"
    );
}

#[tokio::test]
async fn a_playbook_whose_dependency_is_down_reports_that_as_a_finding() {
    let cfg = DepsConfig {
        redis: Some(vabot_commands::secret::Secret::new(format!(
            "redis://127.0.0.1:{}",
            closed_port()
        ))),
        ..DepsConfig::default()
    };
    let w = world(cfg, Arc::new(SeededCluster(healthy_snapshot())));
    let out = text(&w.say("alice", "diagnose cache-penetration").await);
    assert!(
        out.contains("Could not check Redis: Redis is not reachable right now"),
        "{out}"
    );
    assert!(out.contains("*critical*"), "{out}");
}
