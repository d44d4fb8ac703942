//! Shared harness: the real local control plane, a namespace per test, the pipeline.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test
#![allow(dead_code)] // each test binary uses a different part of the harness

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace as K8sNamespace, ServiceAccount};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use vabot_commands::catalog::{Catalog, Namespaces, Service, WorkloadKind};
use vabot_commands::config::{Directory, Policy};
use vabot_commands::message::render_text;
use vabot_commands::model::{Actor, ChannelRef, DeliveryId, Invocation, Platform};
use vabot_commands::pipeline::{Deps, Reply, handle};
use vabot_commands::ports::{SystemClock, Unconfigured};
use vabot_commands::store::MemoryStore;
use vabot_kube::KubeCluster;
pub use vabot_kube::KubeConfig;

pub const DEMO_POLICY: &str = include_str!("../../../../deploy/demo/policy.yaml");
pub const WAIT: Duration = Duration::from_secs(60);

pub fn kubeconfig_path() -> String {
    std::env::var("KUBECONFIG").unwrap_or_else(|_| {
        panic!("KUBECONFIG is not set: run `source /root/.cache/vabot/dev/env.sh` (or `deploy/dev/env up`) first; CI's tests/run sets it")
    })
}

pub fn kubectl() -> String {
    std::env::var("KUBECTL").unwrap_or_else(|_| "/root/.cache/vabot/k8s-1.36.3/kubectl".into())
}

pub async fn admin_config() -> kube::Config {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = Kubeconfig::read_from(kubeconfig_path()).expect("readable KUBECONFIG");
    kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("usable KUBECONFIG")
}

pub async fn admin() -> Client {
    Client::try_from(admin_config().await).expect("client")
}

/// A namespace of its own, deleted when dropped.
pub struct TestNs {
    pub name: String,
    pub client: Client,
}

impl TestNs {
    pub async fn new(purpose: &str) -> Self {
        let client = admin().await;
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("vabot-it-{purpose}-{:06x}", n & 0xff_ffff);
        let api: Api<K8sNamespace> = Api::all(client.clone());
        api.create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": name, "labels": {"vabot.dev/test": "kube"}}}),
            )
            .unwrap(),
        )
        .await
        .expect("create namespace");
        // Pods cannot be created before the ServiceAccount controller made `default`.
        let sa: Api<ServiceAccount> = Api::namespaced(client.clone(), &name);
        wait_until("default ServiceAccount", || async {
            sa.get_opt("default").await.ok().flatten().is_some()
        })
        .await;
        Self { name, client }
    }
}

impl Drop for TestNs {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop cannot await; a short-lived runtime on a thread does the delete.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let api: Api<K8sNamespace> = Api::all(admin().await);
                let _ = api.delete(&name, &DeleteParams::background()).await;
            });
        })
        .join();
    }
}

pub async fn wait_until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < WAIT {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("timed out after {:?} waiting for {what}", WAIT);
}

pub fn deployment_json(name: &str, image: &str, replicas: i32, cause: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}, "annotations": {"kubernetes.io/change-cause": cause}},
        "spec": {
            "replicas": replicas,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": name, "version": "blue"}},
                "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                    "name": name, "image": image,
                    "env": [{"name": "SERVICE_NAME", "value": name}],
                    "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}}
                }]}
            }
        }
    })
}

/// A Deployment with two revisions (1.4.2 → 1.5.0, change-cause set), rolled out.
pub async fn two_revision_deployment(client: &Client, ns: &str, name: &str, replicas: i32) {
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let d: Deployment = serde_json::from_value(deployment_json(
        name,
        &format!("registry.local/{name}:1.4.2"),
        replicas,
        "initial release 1.4.2",
    ))
    .unwrap();
    api.create(&PostParams::default(), &d)
        .await
        .expect("create deployment");
    wait_rolled_out(client, ns, name).await;
    let patch = json!({
        "metadata": {"annotations": {"kubernetes.io/change-cause": "upgrade to 1.5.0"}},
        "spec": {"template": {"spec": {"containers": [{"name": name, "image": format!("registry.local/{name}:1.5.0")}]}}}
    });
    api.patch(name, &PatchParams::default(), &Patch::Strategic(patch))
        .await
        .expect("second revision");
    wait_rolled_out(client, ns, name).await;
}

pub async fn wait_rolled_out(client: &Client, ns: &str, name: &str) {
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    wait_until(&format!("rollout of {ns}/{name}"), || async {
        let Ok(d) = api.get(name).await else {
            return false;
        };
        let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let st = d.status.clone().unwrap_or_default();
        st.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
            && st.updated_replicas.unwrap_or(0) == want
            && st.replicas.unwrap_or(0) == want
            && st.available_replicas.unwrap_or(0) == want
            && st.ready_replicas.unwrap_or(0) == want
    })
    .await;
}

pub fn service(name: &str, ns: &str) -> Service {
    Service {
        name: name.into(),
        kind: WorkloadKind::Deployment,
        namespace: ns.into(),
        min_replicas: 0,
        max_replicas: 20,
        containers: vec![name.into()],
        dependency: None,
        hpa: None,
        configmap: None,
        secret: None,
        virtual_service: None,
        sidecars: Vec::new(),
        probe_port: None,
        probe_path: None,
    }
}

pub fn catalog(ns: &str, services: Vec<Service>) -> Catalog {
    Catalog {
        namespaces: Namespaces {
            apps: ns.into(),
            infra: ns.into(),
            mesh: None,
        },
        services,
    }
}

/// The demo policy with its namespaces replaced by the test's.
pub fn policy(catalog: &Catalog, ns: &str) -> Policy {
    policy_in(catalog, &[ns])
}

/// The demo policy whose channels reach `namespaces`.
pub fn policy_in(catalog: &Catalog, namespaces: &[&str]) -> Policy {
    let text = DEMO_POLICY.replace(
        "[voiceassistant-prod, voiceassistant-infra]",
        &format!("[{}]", namespaces.join(", ")),
    );
    Policy::parse("policy.yaml", &text, false, catalog).expect("policy")
}

pub struct World {
    pub deps: Deps,
    pub cluster: KubeCluster,
    pub n: std::sync::atomic::AtomicU64,
}

pub async fn world_with(
    catalog: Catalog,
    policy: Policy,
    settings: KubeConfig,
    config: kube::Config,
) -> World {
    let catalog = Arc::new(catalog);
    let cluster = KubeCluster::from_config(config, &settings, catalog.clone())
        .await
        .expect("connect");
    assert!(
        cluster.ready(WAIT).await,
        "watch caches did not sync within {WAIT:?}"
    );
    World {
        deps: Deps {
            catalog,
            policy: Arc::new(RwLock::new(Arc::new(policy))),
            directory: Arc::new(Directory::default()),
            cluster: Arc::new(cluster.clone()),
            dependencies: Arc::new(Unconfigured),
            store: Arc::new(MemoryStore::new()),
            clock: Arc::new(SystemClock),
            replica: vabot_commands::model::ReplicaId::generate(Some("test")),
        },
        cluster,
        n: 0.into(),
    }
}

pub async fn world(ns: &str, services: Vec<Service>) -> World {
    let cat = catalog(ns, services);
    let pol = policy(&cat, ns);
    world_with(cat, pol, KubeConfig::default(), admin_config().await).await
}

impl World {
    pub async fn say(&self, user: &str, text: &str) -> Reply {
        let n = self.n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        handle(
            &self.deps,
            Invocation {
                actor: Actor::new(Platform::Console, user),
                channel: ChannelRef::new(Platform::Console, "#incident-prod"),
                text: text.into(),
                delivery: DeliveryId::new(format!("d{n}-{}", std::process::id())),
            },
        )
        .await
    }

    /// Runs a command and returns the reply's text (all messages), runs of spaces
    /// collapsed so field/value layout does not matter to assertions.
    pub async fn text(&self, user: &str, text: &str) -> String {
        let reply = self.say(user, text).await;
        collapse(
            &reply
                .messages
                .iter()
                .map(render_text)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    }

    /// A destructive command: alice asks, bob approves; returns the invocation id and the result text.
    pub async fn approved(&self, text: &str) -> (String, String) {
        let reply = self.say("alice", text).await;
        let id = reply.opened.clone().unwrap_or_else(|| {
            panic!(
                "expected an approval request for `{text}`, got: {}",
                reply
                    .messages
                    .iter()
                    .map(render_text)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        let inv = reply.invocation.clone().expect("invocation").to_string();
        let out = self.text("bob", &format!("approve {id}")).await;
        (inv, out)
    }
}

pub fn collapse(s: &str) -> String {
    s.lines()
        .map(|l| {
            l.split(' ')
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn invocation_of(reply: &Reply) -> String {
    reply.invocation.clone().expect("invocation id").to_string()
}

pub fn dynamic(
    client: &Client,
    ns: &str,
    group: &str,
    version: &str,
    kind: &str,
) -> Api<DynamicObject> {
    Api::namespaced_with(
        client.clone(),
        ns,
        &ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind)),
    )
}

pub async fn create_envoy_filter(client: &Client, ns: &str, name: &str) {
    let api = dynamic(client, ns, "networking.istio.io", "v1alpha3", "EnvoyFilter");
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "networking.istio.io/v1alpha3", "kind": "EnvoyFilter",
        "metadata": {"name": name, "namespace": ns, "labels": {"purpose": "rate-limit"}},
        "spec": {"workloadSelector": {"labels": {"app": "svc"}}, "configPatches": [{"applyTo": "HTTP_FILTER",
            "patch": {"operation": "INSERT_BEFORE", "value": {"name": "envoy.filters.http.local_ratelimit"}}}]}
    }))
    .unwrap();
    api.create(&PostParams::default(), &obj)
        .await
        .expect("create EnvoyFilter");
}

pub async fn create_virtual_service(client: &Client, ns: &str, name: &str, host: &str) {
    let api = dynamic(client, ns, "networking.istio.io", "v1", "VirtualService");
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"hosts": [host], "http": [{"name": "blue-green", "route": [
            {"destination": {"host": host, "subset": "blue"}, "weight": 80},
            {"destination": {"host": host, "subset": "green"}, "weight": 20}]}]}
    }))
    .unwrap();
    api.create(&PostParams::default(), &obj)
        .await
        .expect("create VirtualService");
}

pub fn name_of<K: kube::Resource>(o: &K) -> String {
    o.name_any()
}
