//! Bad input and faults: each a clear reply within 5 seconds, never a hang or a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use vabot_kube::{KubeCluster, KubeConfig};

const LIMIT: Duration = Duration::from_secs(5);

async fn timed(w: &World, user: &str, text: &str) -> String {
    let t0 = Instant::now();
    let out = w.text(user, text).await;
    assert!(
        t0.elapsed() < LIMIT,
        "`{text}` took {:?}: {out}",
        t0.elapsed()
    );
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_workload_and_one_in_another_namespace_get_clear_replies() {
    let ns = TestNs::new("faults").await;
    // `ghost` is in the catalog but not in the cluster; `agent-engine` is placed in the
    // test namespace by this catalog but really lives in voiceassistant-prod.
    let w = world(
        &ns.name,
        vec![
            service("ghost", &ns.name),
            service("agent-engine", &ns.name),
        ],
    )
    .await;

    let out = timed(&w, "alice", "scale ghost 2").await;
    assert!(
        out.contains(&format!("Deployment ghost in {} was not found", ns.name)),
        "{out}"
    );
    let out = timed(&w, "alice", "pods ghost").await;
    assert!(out.contains("not found"), "{out}");

    let out = timed(&w, "alice", "scale agent-engine 3").await;
    assert!(
        out.contains("voiceassistant-prod") && out.contains("catalog"),
        "{out}"
    );

    let out = timed(&w, "alice", "rollback ghost").await;
    assert!(out.contains("not found"), "{out}");
    let out = timed(&w, "alice", "envoyfilter delete no-such-filter").await;
    assert!(
        out.contains("no-such-filter") && out.contains("not found"),
        "{out}"
    );
}

async fn unsynced_world(url: String, ns: &str) -> World {
    let mut config = admin_config().await;
    config.cluster_url = url.parse().unwrap();
    let cat = catalog(ns, vec![service("svc-f", ns)]);
    let pol = policy(&cat, ns);
    let catalog = Arc::new(cat);
    let cluster = KubeCluster::from_config(config, &KubeConfig::default(), catalog.clone())
        .await
        .expect("a client is built even when the server is down");
    assert!(!cluster.is_synced());
    World {
        deps: vabot_commands::pipeline::Deps {
            catalog,
            policy: Arc::new(std::sync::RwLock::new(Arc::new(pol))),
            directory: Arc::new(Default::default()),
            cluster: Arc::new(cluster.clone()),
            dependencies: Arc::new(vabot_commands::ports::Unconfigured),
            store: Arc::new(vabot_commands::store::MemoryStore::new()),
            clock: Arc::new(vabot_commands::ports::SystemClock),
            replica: vabot_commands::model::ReplicaId::generate(Some("test")),
        },
        cluster,
        n: 0.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_api_server_gets_a_clear_reply_within_five_seconds() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let w = unsynced_world(format!("https://127.0.0.1:{port}"), "vabot-it-nowhere").await;
    let out = timed(&w, "alice", "scale svc-f 2").await;
    assert!(out.contains("not reachable"), "{out}");
    let out = timed(&w, "carol", "pods svc-f").await;
    assert!(out.contains("not reachable"), "{out}");
    let out = timed(&w, "carol", "health").await;
    assert!(out.contains("still syncing"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_api_server_times_out_within_five_seconds() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let w = unsynced_world(format!("https://127.0.0.1:{port}"), "vabot-it-silent").await;
    let out = timed(&w, "alice", "scale svc-f 2").await;
    assert!(out.contains("did not answer within"), "{out}");
    let out = timed(&w, "carol", "rollout status svc-f").await;
    assert!(out.contains("did not answer within"), "{out}");
}
