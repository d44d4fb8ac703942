//! A fresh pair of namespaces seeded with the VoiceHelper manifests (`deploy/dev/manifests`,
//! namespaces renamed), and the catalog naming them. Deleted when dropped.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace as K8sNamespace, ServiceAccount};
use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use vabot_commands::catalog::{Catalog, DEFAULT_CATALOG};

use crate::env;

/// The manifests a topology is seeded from, in the order `deploy/dev/env` applies them.
const MANIFESTS: &[&str] = &[
    "05-config.yaml",
    "10-prod-deployments.yaml",
    "20-infra-statefulsets.yaml",
    "30-policies.yaml",
    "40-istio.yaml",
    "45-istio-system.yaml",
];

const PROD: &str = "voiceassistant-prod";
const INFRA: &str = "voiceassistant-infra";
const MESH: &str = "istio-system";

/// How long seeding and the state probes wait.
pub const WAIT: Duration = Duration::from_secs(90);

/// The seeded namespaces of one test.
pub struct Topology {
    pub prod: String,
    pub infra: String,
    /// The mesh control plane's namespace (`istio-system`): created only when the seeded
    /// services include its Deployments (the whole topology, or `istiod`).
    pub mesh: String,
    services: Vec<String>,
    client: kube::Client,
}

impl Topology {
    /// Seeds the objects of `services` (all of the topology when empty): their workloads,
    /// Services, ConfigMaps, Secrets and HPAs, plus the Istio objects (the EnvoyFilter
    /// `rate-limit-filter`, the VirtualService `agent-engine-internal`) and, for the
    /// whole topology, the NetworkPolicies. Waits until every workload is rolled out.
    pub async fn seed(prefix: &str, services: &[&str]) -> Self {
        let base = crate::unique(prefix);
        let topo = Self {
            prod: format!("{base}-prod"),
            infra: format!("{base}-infra"),
            mesh: format!("{base}-mesh"),
            services: services.iter().map(|s| (*s).to_owned()).collect(),
            client: env::admin().await,
        };
        for ns in [&topo.prod, &topo.infra] {
            topo.create_namespace(ns).await;
        }
        let services: Vec<&str> = topo.services.iter().map(String::as_str).collect();
        if topo
            .documents(&services)
            .iter()
            .any(|d| d["metadata"]["namespace"] == topo.mesh.as_str())
        {
            topo.create_namespace(&topo.mesh).await;
        }
        topo.apply().await;
        topo
    }

    /// Applies the seeded objects again, as they were at the start (replicas, images,
    /// ConfigMap values, the HPA, the EnvoyFilter, weights), and waits for the rollouts.
    pub async fn reapply(&self) {
        self.apply().await;
    }

    async fn apply(&self) {
        let services: Vec<&str> = self.services.iter().map(String::as_str).collect();
        let docs = self.documents(&services);
        let topo = self;
        let text = docs
            .iter()
            .map(|d| serde_json::to_string(d).unwrap())
            .collect::<Vec<_>>()
            .join("\n---\n");
        // kubectl resolves every kind (CRDs included) and applies in order.
        let _ = tokio::task::spawn_blocking(move || {
            env::kubectl_run(&["apply", "-f", "-"], Some(&text))
        })
        .await
        .unwrap();
        for d in &docs {
            let kind = d["kind"].as_str().unwrap_or_default();
            let ns = d["metadata"]["namespace"].as_str().unwrap_or_default();
            let name = d["metadata"]["name"].as_str().unwrap_or_default();
            match kind {
                "Deployment" => topo.wait_deployment(ns, name).await,
                "StatefulSet" => topo.wait_statefulset(ns, name).await,
                _ => {}
            }
        }
    }

    async fn create_namespace(&self, ns: &str) {
        let api: Api<K8sNamespace> = Api::all(self.client.clone());
        api.create(
            &PostParams::default(),
            &serde_json::from_value(
                json!({"metadata": {"name": ns, "labels": {"vabot.dev/test": "topology"}}}),
            )
            .unwrap(),
        )
        .await
        .unwrap_or_else(|e| panic!("create namespace {ns}: {e}"));
        // Pods cannot be created before the ServiceAccount controller made `default`.
        let sa: Api<ServiceAccount> = Api::namespaced(self.client.clone(), ns);
        wait_until(&format!("the default ServiceAccount of {ns}"), || async {
            sa.get_opt("default").await.ok().flatten().is_some()
        })
        .await;
    }

    /// The manifests' documents for `services`, with the namespaces renamed.
    fn documents(&self, services: &[&str]) -> Vec<Value> {
        let mut out = Vec::new();
        for file in MANIFESTS {
            let path = crate::repo().join("deploy/dev/manifests").join(file);
            let text = self.rename(&std::fs::read_to_string(&path).unwrap());
            for doc in serde_norway::Deserializer::from_str(&text) {
                let v: Value = serde::Deserialize::deserialize(doc).unwrap();
                if v.is_null() || !wanted(&v, services) {
                    continue;
                }
                out.push(v);
            }
        }
        out
    }

    /// Text with the seeded namespaces in place of the VoiceHelper ones.
    pub fn rename(&self, text: &str) -> String {
        text.replace(PROD, &self.prod)
            .replace(INFRA, &self.infra)
            .replace(MESH, &self.mesh)
    }

    /// Text with the VoiceHelper namespace names in place of the seeded ones (so output
    /// compares to a snapshot).
    pub fn rename_back(&self, text: &str) -> String {
        text.replace(&self.prod, PROD)
            .replace(&self.infra, INFRA)
            .replace(&self.mesh, MESH)
    }

    /// The embedded catalog, naming this topology's namespaces.
    pub fn catalog_yaml(&self) -> String {
        self.rename(DEFAULT_CATALOG)
    }

    pub fn catalog(&self) -> Catalog {
        Catalog::parse("topology catalog", &self.catalog_yaml()).unwrap()
    }

    /// Writes the catalog into `dir` (for a `vabot` process: `catalog: <path>`).
    pub fn write_catalog(&self, dir: &Path) -> PathBuf {
        let p = dir.join("catalog.yaml");
        std::fs::write(&p, self.catalog_yaml()).unwrap();
        p
    }

    /// `[prod, infra]`, for a policy's `namespaces:`.
    pub fn namespaces(&self) -> String {
        format!("[{}, {}]", self.prod, self.infra)
    }

    /// The namespace a catalog service lives in.
    pub fn ns_of(&self, service: &str) -> String {
        self.catalog()
            .get(service)
            .unwrap_or_else(|| panic!("{service} is not in the catalog"))
            .namespace
            .to_string()
    }

    fn deployments(&self, ns: &str) -> Api<Deployment> {
        Api::namespaced(self.client.clone(), ns)
    }

    fn statefulsets(&self, ns: &str) -> Api<StatefulSet> {
        Api::namespaced(self.client.clone(), ns)
    }

    /// `spec.replicas` of a service's Deployment or StatefulSet.
    pub async fn replicas(&self, service: &str) -> i32 {
        let ns = self.ns_of(service);
        if let Ok(Some(d)) = self.deployments(&ns).get_opt(service).await {
            return d.spec.and_then(|s| s.replicas).unwrap_or(1);
        }
        let s = self.statefulsets(&ns).get(service).await.unwrap();
        s.spec.and_then(|s| s.replicas).unwrap_or(1)
    }

    /// The image of a service's container, as the workload's pod template has it.
    pub async fn image(&self, service: &str, container: &str) -> String {
        let ns = self.ns_of(service);
        let template = match self.deployments(&ns).get_opt(service).await.unwrap() {
            Some(d) => d.spec.unwrap().template,
            None => {
                self.statefulsets(&ns)
                    .get(service)
                    .await
                    .unwrap()
                    .spec
                    .unwrap()
                    .template
            }
        };
        template
            .spec
            .unwrap()
            .containers
            .into_iter()
            .find(|c| c.name == container)
            .and_then(|c| c.image)
            .unwrap_or_default()
    }

    /// An annotation of a service's pod template (`kubectl.kubernetes.io/restartedAt`, …).
    pub async fn template_annotation(&self, service: &str, key: &str) -> Option<String> {
        let ns = self.ns_of(service);
        let d = self.deployments(&ns).get(service).await.unwrap();
        d.spec?.template.metadata?.annotations?.get(key).cloned()
    }

    fn dynamic(&self, ns: &str, group: &str, version: &str, kind: &str) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.client.clone(),
            ns,
            &ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind)),
        )
    }

    /// Whether the EnvoyFilter exists in the apps namespace.
    pub async fn envoy_filter_exists(&self, name: &str) -> bool {
        self.dynamic(&self.prod, "networking.istio.io", "v1alpha3", "EnvoyFilter")
            .get_opt(name)
            .await
            .unwrap()
            .is_some()
    }

    /// The `(subset, weight)` routes of a VirtualService in the apps namespace.
    pub async fn weights(&self, vs: &str) -> Vec<(String, i64)> {
        let obj = self
            .dynamic(&self.prod, "networking.istio.io", "v1", "VirtualService")
            .get(vs)
            .await
            .unwrap();
        obj.data["spec"]["http"][0]["route"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                (
                    r["destination"]["subset"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    r["weight"].as_i64().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Polls `probe` until it returns `want` (at most [`WAIT`]); panics with the last value.
    pub async fn eventually<T, F, Fut>(&self, what: &str, want: T, mut probe: F)
    where
        T: PartialEq + std::fmt::Debug,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        let end = Instant::now() + WAIT;
        loop {
            let got = probe().await;
            if got == want {
                return;
            }
            assert!(
                Instant::now() < end,
                "{what}: still {got:?}, expected {want:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn wait_deployment(&self, ns: &str, name: &str) {
        let api = self.deployments(ns);
        wait_until(&format!("rollout of deployment {ns}/{name}"), || async {
            let Ok(d) = api.get(name).await else {
                return false;
            };
            let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            let st = d.status.clone().unwrap_or_default();
            st.observed_generation.unwrap_or(0) >= d.metadata.generation.unwrap_or(0)
                && st.updated_replicas.unwrap_or(0) == want
                && st.available_replicas.unwrap_or(0) == want
        })
        .await;
    }

    async fn wait_statefulset(&self, ns: &str, name: &str) {
        let api = self.statefulsets(ns);
        wait_until(&format!("rollout of statefulset {ns}/{name}"), || async {
            let Ok(s) = api.get(name).await else {
                return false;
            };
            let want = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            s.status.and_then(|st| st.ready_replicas).unwrap_or(0) == want
        })
        .await;
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        let names = [self.prod.clone(), self.infra.clone(), self.mesh.clone()];
        // Drop cannot await; a short-lived runtime on a thread does the delete.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let api: Api<K8sNamespace> = Api::all(env::admin().await);
                for n in names {
                    let _ = api.delete(&n, &DeleteParams::background()).await;
                }
            });
        })
        .join();
    }
}

/// Whether a manifest document belongs to the selected services (all when empty).
fn wanted(doc: &Value, services: &[&str]) -> bool {
    if services.is_empty() {
        return true;
    }
    let kind = doc["kind"].as_str().unwrap_or_default();
    let name = doc["metadata"]["name"].as_str().unwrap_or_default();
    let app = doc["metadata"]["labels"]["app"]
        .as_str()
        .unwrap_or_default();
    match kind {
        "Namespace" | "CustomResourceDefinition" | "NetworkPolicy" => false,
        "EnvoyFilter" => true,
        _ => services.iter().any(|s| {
            app == *s || name == *s || name.strip_prefix(s).is_some_and(|r| r.starts_with('-'))
        }),
    }
}

pub async fn wait_until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = Instant::now() + WAIT;
    while Instant::now() < end {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out after {WAIT:?} waiting for {what}");
}
