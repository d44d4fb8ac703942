//! Shared test setup: the local environment's endpoints, fakes for Elasticsearch, Milvus and
//! Nacos (axum on 127.0.0.1:0, serving fixtures), a cluster with a seeded snapshot, and a
//! pipeline world (demo policy, MemoryStore) around the real executor.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use axum::Router;
use axum::routing::{get, post};
use vabot_commands::approval::{self, Approved, Decision};
use vabot_commands::authz;
use vabot_commands::catalog::Catalog;
use vabot_commands::config::{Directory, Policy};
use vabot_commands::message::render_text;
use vabot_commands::model::{Actor, ChannelRef, DeliveryId, Invocation, Platform};
use vabot_commands::pipeline::{Deps, Reply, handle};
use vabot_commands::plan::Plan;
use vabot_commands::ports::{
    Cluster, ClusterSnapshot, Dependencies, ExecError, Outcome, PlanContext, SystemClock,
};
use vabot_commands::secret::Secret;
use vabot_commands::store::MemoryStore;
use vabot_deps::{DepsConfig, DepsExecutor};

pub const POLICY: &str = include_str!("../../../../deploy/demo/policy.yaml");

pub const ES_HEALTH: &str = include_str!("../fixtures/es_cluster_health.json");
pub const ES_INDICES: &str = include_str!("../fixtures/es_cat_indices.json");
pub const MILVUS_LIST: &str = include_str!("../fixtures/milvus_collections_list.json");
pub const MILVUS_LIST_MISSING: &str =
    include_str!("../fixtures/milvus_collections_list_missing.json");
pub const MILVUS_HEALTHZ: &str = include_str!("../fixtures/milvus_healthz.json");
pub const MILVUS_METRICS: &str = include_str!("../fixtures/milvus_metrics.txt");
pub const INDEXING_QUEUED: &str = include_str!("../fixtures/indexing_job_queued.json");
pub const INDEXING_RUNNING: &str = include_str!("../fixtures/indexing_job_running.json");
pub const INDEXING_SUCCEEDED: &str = include_str!("../fixtures/indexing_job_succeeded.json");
pub const INDEXING_CONFLICT: &str = include_str!("../fixtures/indexing_conflict.json");
pub const NACOS_READY: &str = include_str!("../fixtures/nacos_readiness_v2.json");
pub const NACOS_SERVICES: &str = include_str!("../fixtures/nacos_service_list_v2.json");
pub const NACOS_INSTANCES: &str = include_str!("../fixtures/nacos_instance_list_v2.json");
pub const NACOS_CONFIG: &str = include_str!("../fixtures/nacos_config_v2.json");

/// A variable the local environment sets (`source $VABOT_DEV_HOME/env.sh`); CI always does.
pub fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: start the local environment (`deploy/dev/env up`) and \
             `source /root/.cache/vabot/dev/env.sh` before running these tests"
        )
    })
}

pub fn postgres_url() -> String {
    env("POSTGRES_URL")
}
pub fn redis_url() -> String {
    env("REDIS_URL")
}
pub fn prometheus_url() -> String {
    env("PROMETHEUS_URL")
}

/// A Redis URL for one of this crate's own databases (5–9).
pub fn redis_db_url(db: u8) -> String {
    format!("{}/{db}", redis_url().trim_end_matches('/'))
}

/// A config pointing at the real local servers.
pub fn real_config() -> DepsConfig {
    DepsConfig {
        postgres: Some(Secret::new(postgres_url())),
        redis: Some(Secret::new(redis_url())),
        prometheus: Some(prometheus_url()),
        ..DepsConfig::default()
    }
}

/// A unique suffix for names in shared servers.
pub fn unique() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}-{nanos:x}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

// === fakes ===

/// Serves `router` on 127.0.0.1:0; returns its base URL. The server lives as long as the runtime.
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a fake");
    let addr = listener.local_addr().expect("fake address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

/// A handler answering `body` as JSON.
fn json(
    body: &'static str,
) -> impl Fn() -> std::future::Ready<axum::response::Response> + Clone + Send + Sync + 'static {
    move || {
        std::future::ready(axum::response::IntoResponse::into_response((
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )))
    }
}

/// Elasticsearch's `_cluster/health` and `_cat/indices`.
pub async fn fake_es() -> String {
    serve(
        Router::new()
            .route("/_cluster/health", get(json(ES_HEALTH)))
            .route("/_cat/indices", get(json(ES_INDICES))),
    )
    .await
}

/// Milvus' REST v2 collections/list and metrics `/healthz` on one port.
pub async fn fake_milvus(list: &'static str) -> String {
    serve(
        Router::new()
            .route("/v2/vectordb/collections/list", post(json(list)))
            .route("/healthz", get(json(MILVUS_HEALTHZ)))
            .route("/metrics", get(|| async { MILVUS_METRICS })),
    )
    .await
}

/// Nacos v2: readiness, the naming registry (agent-engine has one unhealthy instance, the
/// others none) and one config, `agent-engine.properties` in `DEFAULT_GROUP`; any other
/// dataId answers as Nacos does for a missing config (HTTP 404, code 20004).
pub async fn fake_nacos() -> String {
    use axum::extract::Query;
    use axum::response::IntoResponse;
    type Q = Query<std::collections::HashMap<String, String>>;
    let body = |status: u16, b: String| {
        (
            axum::http::StatusCode::from_u16(status).unwrap(),
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            b,
        )
            .into_response()
    };
    let instances = move |Query(q): Q| async move {
        if q.get("serviceName").map(String::as_str) == Some("agent-engine") {
            body(200, NACOS_INSTANCES.to_owned())
        } else {
            body(
                200,
                r#"{"code":0,"message":"success","data":{"name":"x","hosts":[]}}"#.to_owned(),
            )
        }
    };
    let config = move |Query(q): Q| async move {
        let known = q.get("dataId").map(String::as_str) == Some("agent-engine.properties")
            && q.get("group").map(String::as_str) == Some("DEFAULT_GROUP");
        if known {
            body(200, NACOS_CONFIG.to_owned())
        } else {
            body(
                404,
                r#"{"code":20004,"message":"resource not found","data":null}"#.to_owned(),
            )
        }
    };
    serve(
        Router::new()
            .route("/nacos/v2/console/health/readiness", get(json(NACOS_READY)))
            .route("/nacos/v2/ns/service/list", get(json(NACOS_SERVICES)))
            .route("/nacos/v2/ns/instance/list", get(instances))
            .route("/nacos/v2/cs/config", get(config)),
    )
    .await
}

/// Answers every request after 10 s.
/// indexing-service: `voice_knowledge` is reindexed (queued, running, then succeeded on
/// the third poll), `documents` already has a job running (409), anything else is 404.
/// Returns the base URL and how many reindex requests it received.
pub async fn fake_indexing() -> (String, Arc<AtomicU64>) {
    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    #[derive(Clone)]
    struct S {
        posts: Arc<AtomicU64>,
        polls: Arc<AtomicU64>,
    }
    async fn reindex(State(s): State<S>, Path(c): Path<String>) -> (StatusCode, String) {
        s.posts.fetch_add(1, Ordering::SeqCst);
        match c.as_str() {
            "voice_knowledge" => (StatusCode::ACCEPTED, INDEXING_QUEUED.into()),
            "documents" => (StatusCode::CONFLICT, INDEXING_CONFLICT.into()),
            _ => (
                StatusCode::NOT_FOUND,
                r#"{"error":"no such collection"}"#.into(),
            ),
        }
    }
    async fn job(State(s): State<S>, Path(_): Path<String>) -> String {
        if s.polls.fetch_add(1, Ordering::SeqCst) < 2 {
            INDEXING_RUNNING.into()
        } else {
            INDEXING_SUCCEEDED.into()
        }
    }
    let posts = Arc::new(AtomicU64::new(0));
    let state = S {
        posts: posts.clone(),
        polls: Arc::new(AtomicU64::new(0)),
    };
    let url = serve(
        Router::new()
            .route("/api/v1/collections/{name}/reindex", post(reindex))
            .route("/api/v1/jobs/{id}", get(job))
            .with_state(state),
    )
    .await;
    (url, posts)
}

pub async fn fake_slow() -> String {
    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_secs(10)).await;
        "{}"
    }
    serve(Router::new().fallback(slow)).await
}

/// Refuses every request with 401, as a secured cluster does without credentials.
pub async fn fake_unauthorized() -> String {
    async fn no() -> (axum::http::StatusCode, &'static str) {
        (
            axum::http::StatusCode::UNAUTHORIZED,
            r#"{"error":"security_exception"}"#,
        )
    }
    serve(Router::new().fallback(no)).await
}

/// A TCP port that accepts connections and never answers (a hung database).
pub async fn silent_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    port
}

/// A port nothing listens on.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

// === cluster ===

/// A cluster whose snapshot is whatever the test seeded.
pub struct SeededCluster(pub ClusterSnapshot);

#[async_trait]
impl Cluster for SeededCluster {
    async fn snapshot(
        &self,
        _: &[vabot_commands::model::Namespace],
    ) -> Result<ClusterSnapshot, ExecError> {
        Ok(self.0.clone())
    }
    async fn plan(
        &self,
        permit: &vabot_commands::authz::Permit,
        _: &PlanContext,
    ) -> Result<Plan, ExecError> {
        Ok(Plan::new(permit, permit.command().name().to_owned()))
    }
    async fn execute(&self, _: &Approved) -> Result<Outcome, ExecError> {
        Err(ExecError::Internal {
            detail: "the seeded cluster executes nothing".into(),
        })
    }
}

// === pipeline world ===

pub struct World {
    pub deps: Deps,
    n: AtomicU64,
}

pub fn world(cfg: DepsConfig, cluster: Arc<dyn Cluster>) -> World {
    let catalog = Catalog::voicehelper();
    let policy = Policy::parse("policy.yaml", POLICY, false, &catalog).expect("demo policy");
    let executor =
        DepsExecutor::new(cfg, cluster.clone(), catalog.all_namespaces()).expect("executor");
    World {
        deps: Deps {
            catalog: Arc::new(catalog),
            policy: Arc::new(RwLock::new(Arc::new(policy))),
            directory: Arc::new(Directory::default()),
            cluster,
            dependencies: Arc::new(executor),
            store: Arc::new(MemoryStore::new()),
            clock: Arc::new(SystemClock),
            replica: vabot_commands::model::ReplicaId::generate(Some("test")),
        },
        n: AtomicU64::new(0),
    }
}

pub fn empty_cluster() -> Arc<dyn Cluster> {
    Arc::new(SeededCluster(ClusterSnapshot::default()))
}

impl World {
    pub async fn say(&self, user: &str, text: &str) -> Reply {
        let n = self.n.fetch_add(1, Ordering::SeqCst);
        handle(
            &self.deps,
            Invocation {
                actor: Actor::new(Platform::Console, user),
                channel: ChannelRef::new(Platform::Console, "#incident-prod"),
                text: text.into(),
                delivery: DeliveryId::new(format!("d{n}-{}", unique())),
            },
        )
        .await
    }
}

pub fn text(r: &Reply) -> String {
    r.messages
        .iter()
        .map(render_text)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs a read command straight on an executor (no pipeline), to see the ExecError itself.
pub async fn run_direct(exec: &DepsExecutor, text: &str) -> Result<Outcome, ExecError> {
    let catalog = Catalog::voicehelper();
    let policy = Policy::parse("policy.yaml", POLICY, false, &catalog).expect("demo policy");
    let command = vabot_commands::parse(text, &catalog).expect("command parses");
    let permit = authz::authorize(
        &policy,
        &catalog,
        &Actor::new(Platform::Console, "alice"),
        &ChannelRef::new(Platform::Console, "#incident-prod"),
        &command,
    )
    .expect("alice may run it");
    let plan = if permit.risk() == vabot_commands::plan::RiskClass::Read {
        Plan::read(&permit)
    } else {
        exec.plan(&permit).await?
    };
    match approval::decide(&policy, plan, permit.namespaces()) {
        Decision::Proceed(approved) => exec.execute(&approved).await,
        Decision::NeedsApproval { .. } => panic!("run_direct is for commands without approval"),
    }
}
