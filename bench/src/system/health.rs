//! `/va health` from the watch caches next to `kubectl get pods -A`, on the local cluster
//! scaled to `workloads` Deployments × `replicas` pods in a namespace of the bench's own.
//!
//! The scale-up never touches what others test against: the pods go to kwok nodes made
//! for this run, tainted so that no other pod is scheduled there, and the namespace and
//! the nodes are deleted at the end (also after a failure).

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace as K8sNamespace, Node, Pod, ServiceAccount};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;
use vabot_bench::percentile;
use vabot_bench::proxy::CountingProxy;
use vabot_commands::catalog::{Catalog, Namespaces, Service, WorkloadKind};
use vabot_commands::config::{Directory, Policy};
use vabot_commands::message::render_text;
use vabot_commands::model::{Actor, ChannelRef, DeliveryId, Invocation, Platform};
use vabot_commands::pipeline::{Deps, handle};
use vabot_commands::ports::{SystemClock, Unconfigured};
use vabot_commands::store::MemoryStore;
use vabot_kube::{KubeCluster, KubeConfig};

/// Pods per bench node (kwok's seeded nodes take 110 each).
const PODS_PER_NODE: usize = 200;

pub struct HealthReport {
    pub workloads: usize,
    pub pods: usize,
    pub nodes: usize,
    pub setup: Duration,
    /// `/va health` through the pipeline, ms, sorted.
    pub health_ms: Vec<f64>,
    /// Bytes the bot sent to the API server while answering them (0 = no request).
    pub health_bytes: u64,
    pub health_commands: usize,
    /// `kubectl get pods -A` as a process, ms, sorted.
    pub kubectl_ms: Vec<f64>,
    /// API requests one `kubectl get pods -A` makes (from its `-v=6` log).
    pub kubectl_requests: usize,
    pub kubectl_rows: usize,
}

pub fn kubectl_bin() -> String {
    std::env::var("KUBECTL").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
        format!("{home}/.cache/vabot/k8s-1.36.3/kubectl")
    })
}

async fn admin_config(kubeconfig: &Path) -> anyhow::Result<kube::Config> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = Kubeconfig::read_from(kubeconfig).context("readable KUBECONFIG")?;
    Ok(kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?)
}

fn bench_node(name: &str, label: &str, cidr: &str) -> anyhow::Result<Node> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                       "kubernetes.io/arch": "amd64", "type": "kwok", "vabot.dev/bench": label}
        },
        "spec": {
            "podCIDR": cidr, "podCIDRs": [cidr],
            "taints": [{"key": "vabot.dev/bench", "value": label, "effect": "NoSchedule"}]
        },
        "status": {
            "addresses": [{"address": "127.0.0.1", "type": "InternalIP"}, {"address": "localhost", "type": "Hostname"}],
            "allocatable": {"cpu": "64", "memory": "512Gi", "pods": PODS_PER_NODE.to_string()},
            "capacity": {"cpu": "64", "memory": "512Gi", "pods": PODS_PER_NODE.to_string()},
            "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux"}
        }
    }))?)
}

fn bench_deployment(name: &str, replicas: usize, label: &str) -> anyhow::Result<Deployment> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "nodeSelector": {"vabot.dev/bench": label},
                    "tolerations": [{"key": "vabot.dev/bench", "operator": "Equal", "value": label, "effect": "NoSchedule"}],
                    "containers": [{"name": name, "image": format!("registry.local/{name}:1.0.0")}]
                }
            }
        }
    }))?)
}

fn ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// What the run created, for the cleanup.
struct Created {
    client: kube::Client,
    namespace: String,
    nodes: Vec<String>,
}

impl Created {
    async fn cleanup(&self) {
        let ns: Api<K8sNamespace> = Api::all(self.client.clone());
        let _ = ns
            .delete(&self.namespace, &DeleteParams::background())
            .await;
        // The namespace's pods go first (kwok finishes them), then the nodes.
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let until = Instant::now() + Duration::from_secs(120);
        while Instant::now() < until {
            match pods.list(&ListParams::default().limit(1)).await {
                Ok(l) if l.items.is_empty() => break,
                Err(_) => break,
                Ok(_) => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
        let nodes: Api<Node> = Api::all(self.client.clone());
        for n in &self.nodes {
            let _ = nodes.delete(n, &DeleteParams::default()).await;
        }
    }
}

pub async fn run(
    kubeconfig: &Path,
    workloads: usize,
    replicas: usize,
    commands: usize,
    kubectl_runs: usize,
) -> anyhow::Result<HealthReport> {
    let config = admin_config(kubeconfig).await?;
    let client = kube::Client::try_from(config.clone())?;
    let label = format!("b{}", vabot_bench::unique().replace('_', "-"));
    let namespace = format!("vabot-bench-health-{label}");
    let pods_total = workloads * replicas;
    let node_count = pods_total.div_ceil(PODS_PER_NODE - 10);
    let created = Created {
        client: client.clone(),
        namespace: namespace.clone(),
        nodes: (0..node_count)
            .map(|i| format!("vabot-bench-{label}-{i}"))
            .collect(),
    };
    let result = measure(
        &created,
        &config,
        kubeconfig,
        &label,
        workloads,
        replicas,
        commands,
        kubectl_runs,
    )
    .await;
    created.cleanup().await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    created: &Created,
    config: &kube::Config,
    kubeconfig: &Path,
    label: &str,
    workloads: usize,
    replicas: usize,
    commands: usize,
    kubectl_runs: usize,
) -> anyhow::Result<HealthReport> {
    let client = &created.client;
    let ns = &created.namespace;
    let setup_started = Instant::now();
    let nodes: Api<Node> = Api::all(client.clone());
    for (i, name) in created.nodes.iter().enumerate() {
        nodes
            .create(
                &PostParams::default(),
                &bench_node(name, label, &format!("10.250.{i}.0/24"))?,
            )
            .await
            .with_context(|| format!("create node {name}"))?;
    }
    let nss: Api<K8sNamespace> = Api::all(client.clone());
    nss.create(
        &PostParams::default(),
        &serde_json::from_value(
            json!({"metadata": {"name": ns, "labels": {"vabot.dev/bench": label}}}),
        )?,
    )
    .await
    .context("create the bench namespace")?;
    let sa: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
    wait(
        "the default ServiceAccount",
        Duration::from_secs(60),
        || async { sa.get_opt("default").await.ok().flatten().is_some() },
    )
    .await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let names: Vec<String> = (0..workloads)
        .map(|i| format!("bench-svc-{i:02}"))
        .collect();
    for name in &names {
        deployments
            .create(
                &PostParams::default(),
                &bench_deployment(name, replicas, label)?,
            )
            .await
            .with_context(|| format!("create deployment {name}"))?;
    }
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let want = workloads * replicas;
    wait(
        &format!("{want} Ready pods in {ns}"),
        Duration::from_secs(600),
        || async {
            pods.list(&ListParams::default())
                .await
                .map(|l| l.items.iter().filter(|p| ready(p)).count() >= want)
                .unwrap_or(false)
        },
    )
    .await?;
    let setup = setup_started.elapsed();

    // The bot's cluster port, through a counting proxy, watching the bench namespace.
    let upstream = {
        let host = config.cluster_url.host().context("API server host")?;
        let port = config.cluster_url.port_u16().unwrap_or(443);
        tokio::net::lookup_host((host, port))
            .await?
            .next()
            .context("API server address")?
    };
    let proxy = CountingProxy::start(upstream).await?;
    let mut via_proxy = config.clone();
    via_proxy.cluster_url = format!("https://{}", proxy.addr).parse()?;
    let catalog = Arc::new(Catalog {
        namespaces: Namespaces {
            apps: ns.as_str().into(),
            infra: ns.as_str().into(),
            mesh: None,
        },
        services: names
            .iter()
            .map(|n| Service {
                name: n.clone(),
                kind: WorkloadKind::Deployment,
                namespace: ns.as_str().into(),
                min_replicas: 0,
                max_replicas: 50,
                containers: vec![n.clone()],
                dependency: None,
                hpa: None,
                configmap: None,
                secret: None,
                virtual_service: None,
                sidecars: Vec::new(),
                probe_port: None,
                probe_path: None,
            })
            .collect(),
    });
    let policy_text = vabot_bench::DEMO_POLICY.replace(
        "[voiceassistant-prod, voiceassistant-infra]",
        &format!("[{ns}]"),
    );
    let policy = Policy::parse("policy.yaml", &policy_text, false, &catalog)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let cluster = KubeCluster::from_config(via_proxy, &KubeConfig::default(), catalog.clone())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if !cluster.ready(Duration::from_secs(120)).await {
        bail!("the watch caches did not sync within 120 s");
    }
    let deps = Deps {
        catalog,
        policy: Arc::new(RwLock::new(Arc::new(policy))),
        directory: Arc::new(Directory::default()),
        cluster: Arc::new(cluster),
        dependencies: Arc::new(Unconfigured),
        store: Arc::new(MemoryStore::new()),
        clock: Arc::new(SystemClock),
        replica: vabot_commands::model::ReplicaId::generate(Some("test")),
    };
    let say = |n: usize| {
        handle(
            &deps,
            Invocation {
                actor: Actor::new(Platform::Console, "carol"),
                channel: ChannelRef::new(Platform::Console, "#incident-prod"),
                text: "health".into(),
                delivery: DeliveryId::new(format!("bench-health-{n}")),
            },
        )
    };
    // Warm up, and check the answer covers the scaled namespace.
    let first = say(0).await;
    let text: String = first.messages.iter().map(render_text).collect();
    if !(text.contains(&format!("{workloads}/{workloads}")) || text.contains("bench-svc-")) {
        bail!("health does not show the bench workloads: {text}");
    }
    for n in 1..5 {
        say(n).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = proxy.sent();
    let mut health_ms = Vec::with_capacity(commands);
    for n in 0..commands {
        let t0 = Instant::now();
        let r = say(100 + n).await;
        health_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        if r.messages.is_empty() {
            bail!("health gave no reply");
        }
    }
    let health_bytes = proxy.sent() - before;
    health_ms.sort_by(f64::total_cmp);

    // kubectl as a process against the same cluster, alternating nothing else.
    let kubectl = kubectl_bin();
    let mut kubectl_ms = Vec::with_capacity(kubectl_runs);
    let mut kubectl_rows = 0;
    for _ in 0..kubectl_runs {
        let t0 = Instant::now();
        let out = Command::new(&kubectl)
            .args(["get", "pods", "-A"])
            .env("KUBECONFIG", kubeconfig)
            .output()
            .with_context(|| format!("run {kubectl}"))?;
        kubectl_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        if !out.status.success() {
            bail!(
                "kubectl get pods -A failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        kubectl_rows = String::from_utf8_lossy(&out.stdout).lines().count() - 1;
    }
    kubectl_ms.sort_by(f64::total_cmp);
    let verbose = Command::new(&kubectl)
        .args(["get", "pods", "-A", "-v=6"])
        .env("KUBECONFIG", kubeconfig)
        .output()?;
    let kubectl_requests = String::from_utf8_lossy(&verbose.stderr)
        .lines()
        .filter(|l| l.contains("\"Response\"") || l.contains("GET https://"))
        .count();
    Ok(HealthReport {
        workloads,
        pods: want,
        nodes: created.nodes.len(),
        setup,
        health_commands: commands,
        health_ms,
        health_bytes,
        kubectl_ms,
        kubectl_requests,
        kubectl_rows,
    })
}

async fn wait<F, Fut>(what: &str, within: Duration, mut f: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + within;
    while Instant::now() < until {
        if f().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    bail!("timed out after {within:?} waiting for {what}")
}

impl HealthReport {
    pub fn health_p(&self, p: f64) -> f64 {
        percentile(&self.health_ms, p)
    }
    pub fn kubectl_p(&self, p: f64) -> f64 {
        percentile(&self.kubectl_ms, p)
    }
}
