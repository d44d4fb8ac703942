//! `health` answers from the watch caches: no API request once synced (counted by a TCP
//! proxy on loopback in front of the API server), a CrashLoopBackOff shows up as soon as
//! the watch delivers it, and the caches recover after the API server was unreachable.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vabot_kube::KubeConfig;

/// Forwards TCP to the API server, counting the bytes clients send (TLS stays end to
/// end: any request, however small, is bytes from the client).
struct Proxy {
    addr: SocketAddr,
    sent: Arc<AtomicU64>,
    up: Arc<AtomicBool>,
    /// Bumped to cut every open connection.
    generation: Arc<AtomicU64>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sent = Arc::new(AtomicU64::new(0));
        let up = Arc::new(AtomicBool::new(true));
        let generation = Arc::new(AtomicU64::new(0));
        let (s, u, g) = (sent.clone(), up.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if !u.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let (s, g) = (s.clone(), g.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let born = g.load(Ordering::SeqCst);
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up_dir = async {
                        let mut buf = vec![0u8; 16384];
                        loop {
                            let n = match cr.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            s.fetch_add(n as u64, Ordering::SeqCst);
                            if sw.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    let down_dir = async {
                        let _ = tokio::io::copy(&mut sr, &mut cw).await;
                    };
                    let killed = async {
                        while g.load(Ordering::SeqCst) == born {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    };
                    tokio::select! {
                        _ = up_dir => {}
                        _ = down_dir => {}
                        _ = killed => {}
                    }
                });
            }
        });
        Self {
            addr,
            sent,
            up,
            generation,
        }
    }

    fn sent(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }

    /// Simulates the API server going away: open connections cut, new ones refused.
    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

async fn proxied_world(
    ns: &TestNs,
    proxy: &Proxy,
    services: Vec<vabot_commands::catalog::Service>,
) -> World {
    let mut config = admin_config().await;
    config.cluster_url = format!("https://{}", proxy.addr).parse().unwrap();
    let cat = catalog(&ns.name, services);
    let pol = policy(&cat, &ns.name);
    world_with(cat, pol, KubeConfig::default(), config).await
}

async fn upstream() -> SocketAddr {
    let config = admin_config().await;
    let host = config.cluster_url.host().unwrap().to_owned();
    let port = config.cluster_url.port_u16().unwrap_or(443);
    tokio::net::lookup_host((host.as_str(), port))
        .await
        .unwrap()
        .next()
        .unwrap()
}

async fn crashloop(ns: &TestNs, pod: &str) {
    let api: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    let p = api.get(pod).await.unwrap();
    let container = p.spec.as_ref().unwrap().containers[0].name.clone();
    let patch = json!({"status": {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "False"}, {"type": "ContainersReady", "status": "False"}],
        "containerStatuses": [{"name": container, "image": "x", "imageID": "", "ready": false, "restartCount": 6,
            "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}});
    api.patch_status(pod, &PatchParams::default(), &Patch::Strategic(patch))
        .await
        .expect("patch pod status");
}

async fn first_pod(ns: &TestNs, app: &str) -> String {
    let api: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    api.list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .unwrap()
        .items
        .first()
        .expect("a pod")
        .name_any()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_makes_no_api_request_once_synced_and_shows_a_crashloop_within_ten_seconds() {
    let ns = TestNs::new("health").await;
    two_revision_deployment(&ns.client, &ns.name, "svc-hc", 2).await;
    let proxy = Proxy::start(upstream().await).await;
    let w = proxied_world(&ns, &proxy, vec![service("svc-hc", &ns.name)]).await;
    // Let the initial lists and watch requests finish going out.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let before = proxy.sent();
    for _ in 0..5 {
        let text = w.text("carol", "health").await;
        assert!(text.contains("svc-hc") && text.contains("2/2"), "{text}");
        assert!(text.contains("cache age 0 s"), "{text}");
    }
    assert_eq!(proxy.sent(), before, "health sent bytes to the API server");

    // The counter does see requests: `pods` is answered by the API server.
    w.text("carol", "pods svc-hc").await;
    assert!(
        proxy.sent() > before,
        "the proxy counted no request for `pods`"
    );

    let pod = first_pod(&ns, "svc-hc").await;
    crashloop(&ns, &pod).await;
    let start = Instant::now();
    loop {
        let text = w.text("carol", "health").await;
        if text.contains("CrashLoopBackOff") && text.contains(&pod) {
            assert!(text.contains('6'), "restart count missing: {text}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no CrashLoopBackOff in health after 10 s: {text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watch_caches_report_staleness_and_recover_when_the_api_server_comes_back() {
    let ns = TestNs::new("recover").await;
    two_revision_deployment(&ns.client, &ns.name, "svc-rc", 1).await;
    let proxy = Proxy::start(upstream().await).await;
    let w = proxied_world(&ns, &proxy, vec![service("svc-rc", &ns.name)]).await;

    proxy.down();
    // While the API server is unreachable, health still answers (from the cache) and says it is stale.
    let start = Instant::now();
    loop {
        let t0 = Instant::now();
        let text = w.text("carol", "health").await;
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "health took {:?}",
            t0.elapsed()
        );
        if text.contains("STALE") {
            break;
        }
        assert!(
            start.elapsed() < WAIT,
            "health never reported stale caches: {text}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // A write in that state fails clearly, fast.
    let t0 = Instant::now();
    let out = w.text("alice", "scale svc-rc 2").await;
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "scale took {:?}",
        t0.elapsed()
    );
    assert!(
        out.contains("not reachable") || out.contains("did not answer"),
        "{out}"
    );

    // Changes made meanwhile arrive once it is back.
    let pod = first_pod(&ns, "svc-rc").await;
    crashloop(&ns, &pod).await;
    proxy.restore();
    let start = Instant::now();
    loop {
        let text = w.text("carol", "health").await;
        if text.contains("CrashLoopBackOff") && text.contains("live") {
            break;
        }
        assert!(start.elapsed() < WAIT, "caches did not recover: {text}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
