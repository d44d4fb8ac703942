//! The PostgreSQL store going away while commands run, through a TCP proxy on loopback in
//! front of the shared server (which is never stopped: other tests use it). Writes fail
//! closed with a clear reply, nothing hangs or panics, and the bot works again once the
//! database is back. Needs `POSTGRES_URL` (the local environment).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use common::TestDb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vabot_commands::approval::Approved;
use vabot_commands::authz::Permit;
use vabot_commands::catalog::Catalog;
use vabot_commands::config::{Directory, Policy};
use vabot_commands::message::render_text;
use vabot_commands::model::{Actor, ChannelRef, DeliveryId, Invocation, Platform};
use vabot_commands::pipeline::{Deps, Reply, handle};
use vabot_commands::plan::Plan;
use vabot_commands::ports::{
    Cluster, ClusterSnapshot, ExecError, Outcome, PlanContext, Unconfigured,
};
use vabot_commands::testing::{FakeCluster, ManualClock};
use vabot_store::SqlStore;

const POLICY: &str = include_str!("../../../deploy/demo/policy.yaml");

/// No reply may take longer than this: the pool's acquire timeout (10 s) plus margin.
/// It guards against a hang; it is not a performance figure.
const HANG: Duration = Duration::from_secs(30);

// === A proxy that can be cut ===

const UP: u8 = 0;
/// Open connections are cut, new ones refused: the server process is gone.
const DOWN: u8 = 1;
/// Connections are accepted and bytes swallowed, nothing comes back: a hung server.
const SILENT: u8 = 2;

struct Proxy {
    addr: SocketAddr,
    mode: Arc<AtomicU8>,
    generation: Arc<AtomicU64>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(AtomicU8::new(UP));
        let generation = Arc::new(AtomicU64::new(0));
        let (m, g) = (mode.clone(), generation.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                match m.load(Ordering::SeqCst) {
                    DOWN => {
                        drop(client);
                        continue;
                    }
                    SILENT => {
                        // Hold the socket open, answer nothing.
                        tokio::spawn(async move {
                            let mut client = client;
                            let mut buf = [0u8; 4096];
                            while let Ok(n) = client.read(&mut buf).await {
                                if n == 0 {
                                    return;
                                }
                            }
                        });
                        continue;
                    }
                    _ => {}
                }
                let (m, g) = (m.clone(), g.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let born = g.load(Ordering::SeqCst);
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let silent = Arc::new(AtomicBool::new(false));
                    let up_dir = async {
                        let mut buf = vec![0u8; 16384];
                        loop {
                            let n = match cr.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            if m.load(Ordering::SeqCst) == SILENT {
                                silent.store(true, Ordering::SeqCst);
                                continue; // swallowed
                            }
                            if sw.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    let down_dir = async {
                        let mut buf = vec![0u8; 16384];
                        loop {
                            let n = match sr.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            if silent.load(Ordering::SeqCst) {
                                continue;
                            }
                            if cw.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    let killed = async {
                        while g.load(Ordering::SeqCst) == born {
                            tokio::time::sleep(Duration::from_millis(20)).await;
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
            mode,
            generation,
        }
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
        if mode == DOWN {
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The database URL with its host and port replaced by the proxy's.
    fn url(&self, db_url: &str) -> String {
        let (scheme, rest) = db_url.split_once("://").unwrap();
        let (auth, after_at) = rest.split_once('@').unwrap();
        let path = &after_at[after_at.find('/').unwrap()..];
        format!("{scheme}://{auth}@{}{path}", self.addr)
    }
}

async fn upstream(db_url: &str) -> SocketAddr {
    let after_at = db_url.split_once('@').unwrap().1;
    let hostport = &after_at[..after_at.find('/').unwrap()];
    tokio::net::lookup_host(hostport)
        .await
        .unwrap()
        .next()
        .unwrap()
}

// === A cluster that takes the store away at a chosen moment ===

#[derive(Clone, Copy, PartialEq)]
enum CutAt {
    Never,
    /// While the write is being planned: before anything was changed.
    Plan,
    /// While the write is being carried out: after the change was made.
    Execute,
}

struct CuttingCluster {
    inner: Arc<FakeCluster>,
    proxy: Arc<Proxy>,
    at: std::sync::Mutex<CutAt>,
    mode: u8,
}

impl CuttingCluster {
    fn cut(&self, now: CutAt) {
        let mut at = self.at.lock().unwrap();
        if *at == now {
            self.proxy.set(self.mode);
            *at = CutAt::Never;
        }
    }
}

#[async_trait]
impl Cluster for CuttingCluster {
    async fn snapshot(
        &self,
        ns: &[vabot_commands::model::Namespace],
    ) -> Result<ClusterSnapshot, ExecError> {
        self.inner.snapshot(ns).await
    }
    async fn plan(&self, permit: &Permit, ctx: &PlanContext) -> Result<Plan, ExecError> {
        self.cut(CutAt::Plan);
        // The proxy cuts open connections within 20 ms: let it, before the pipeline goes on.
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.inner.plan(permit, ctx).await
    }
    async fn execute(&self, plan: &Approved) -> Result<Outcome, ExecError> {
        let out = self.inner.execute(plan).await;
        self.cut(CutAt::Execute);
        tokio::time::sleep(Duration::from_millis(200)).await;
        out
    }
}

struct World {
    deps: Deps,
    fake: Arc<FakeCluster>,
    proxy: Arc<Proxy>,
    store: SqlStore,
    db: TestDb,
    n: AtomicU64,
}

async fn world(at: CutAt, mode: u8) -> World {
    let db = TestDb::postgres().await;
    // Migrate through the direct URL, then run the bot through the proxy.
    db.open().await.pool().close().await;
    let proxy = Arc::new(Proxy::start(upstream(&db.url).await).await);
    let store = SqlStore::connect(&proxy.url(&db.url))
        .await
        .expect("store through the proxy");
    let fake = Arc::new(FakeCluster::new());
    let cluster = CuttingCluster {
        inner: fake.clone(),
        proxy: proxy.clone(),
        at: std::sync::Mutex::new(at),
        mode,
    };
    let catalog = Catalog::voicehelper();
    let policy = Policy::parse("policy.yaml", POLICY, false, &catalog).expect("policy");
    let deps = Deps {
        catalog: Arc::new(catalog),
        policy: Arc::new(RwLock::new(Arc::new(policy))),
        directory: Arc::new(Directory::default()),
        cluster: Arc::new(cluster),
        dependencies: Arc::new(Unconfigured),
        store: Arc::new(store.clone()),
        clock: Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0)
                .single()
                .unwrap(),
        )),
        replica: vabot_commands::model::ReplicaId::generate(Some("test")),
    };
    World {
        deps,
        fake,
        proxy,
        store,
        db,
        n: AtomicU64::new(0),
    }
}

impl World {
    async fn say(&self, user: &str, text: &str) -> (Reply, String) {
        let n = self.n.fetch_add(1, Ordering::SeqCst);
        let inv = Invocation {
            actor: Actor::new(Platform::Console, user),
            channel: ChannelRef::new(Platform::Console, "#incident-prod"),
            text: text.into(),
            delivery: DeliveryId::new(format!("faults-{}-{n}", std::process::id())),
        };
        let reply = tokio::time::timeout(HANG, handle(&self.deps, inv))
            .await
            .unwrap_or_else(|_| panic!("`{text}` hung for {HANG:?} with the store away"));
        let text = reply
            .messages
            .iter()
            .map(render_text)
            .collect::<Vec<_>>()
            .join("\n");
        (reply, text)
    }

    async fn finish(self) {
        // A connection stuck in a query the hung server never answered is never returned
        // to the pool, so closing it is bounded; the schema is dropped over a fresh one.
        let _ = tokio::time::timeout(Duration::from_secs(5), self.store.pool().close()).await;
        self.db.drop_db().await;
    }
}

// === Tests ===

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_fails_closed_when_postgres_goes_away_before_it_runs_and_works_once_it_is_back() {
    let w = world(CutAt::Plan, DOWN).await;
    let (_, out) = w.say("alice", "scale agent-engine 3").await;
    assert!(
        out.contains("history store is unavailable") && out.contains("nothing was changed"),
        "{out}"
    );
    assert_eq!(w.fake.executed(), 0, "a write ran without its record");
    assert!(
        !out.contains("127.0.0.1") && !out.contains("vabot:vabot"),
        "the reply shows connection details: {out}"
    );

    // Reads fail closed too while it is away: nothing runs without its record.
    let (_, out) = w.say("carol", "health").await;
    assert!(out.contains("history store is unavailable"), "{out}");

    w.proxy.set(UP);
    let (_, out) = w.say("alice", "scale agent-engine 3").await;
    assert!(out.contains("Scaled agent-engine to 3"), "{out}");
    assert_eq!(w.fake.executed(), 1);
    assert!(
        matches!(
            w.store.verify().await.expect("verify"),
            vabot_store::ChainReport::Intact { .. }
        ),
        "the chain survived the outage"
    );
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_store_hangs_before_it_runs_fails_closed_instead_of_hanging() {
    let w = world(CutAt::Plan, SILENT).await;
    let (_, out) = w.say("alice", "scale agent-engine 4").await;
    assert!(out.contains("history store is unavailable"), "{out}");
    assert_eq!(w.fake.executed(), 0, "a write ran without its record");
    w.proxy.set(UP);
    w.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_postgres_goes_away_after_a_write_ran_the_reply_does_not_claim_nothing_changed() {
    let w = world(CutAt::Execute, DOWN).await;
    let (_, out) = w.say("alice", "scale agent-engine 5").await;
    assert_eq!(
        w.fake.executed(),
        1,
        "the write ran before the store went away"
    );
    assert!(
        !out.contains("nothing was changed"),
        "the change was made, but the reply says nothing was changed: {out}"
    );
    assert!(
        out.contains("history store is unavailable"),
        "the reply should say the record is missing: {out}"
    );
    w.proxy.set(UP);
    w.finish().await;
}
