//! Watch caches: kube-runtime reflectors started at connect time, one per kind and
//! namespace, so `health` and the diagnose playbooks cost no API request once synced.
//!
//! Each reflector runs the watcher with its default backoff: when the API server goes
//! away the stream yields errors (recorded as "failing" with the time of the last good
//! contact, which `health` reports as the cache age) and resumes or re-lists when it is
//! back.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim, Pod};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::reflector::{self, Store, store::Writer};
use kube::runtime::watcher::{self, Event as WatchEvent};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;
use tracing::{debug, warn};
use vabot_commands::ports::{
    ClusterSnapshot, EndpointState, PodState, WarningEvent, WorkloadState,
};

/// The EnvoyFilter API (Istio CRD), watched through the dynamic API.
pub fn envoy_filter_resource() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(
        "networking.istio.io",
        "v1alpha3",
        "EnvoyFilter",
    ))
}

/// One watch's health.
#[derive(Debug)]
struct WatchState {
    name: String,
    synced: AtomicBool,
    failing: AtomicBool,
    /// The API server refuses vabot this list or watch (RBAC): it will not heal by itself.
    forbidden: AtomicBool,
    last_ok: Mutex<Instant>,
}

impl WatchState {
    fn new(name: String) -> Arc<Self> {
        Arc::new(Self {
            name,
            synced: AtomicBool::new(false),
            failing: AtomicBool::new(false),
            forbidden: AtomicBool::new(false),
            last_ok: Mutex::new(Instant::now()),
        })
    }

    fn ok(&self) {
        self.failing.store(false, Ordering::SeqCst);
        self.forbidden.store(false, Ordering::SeqCst);
        if let Ok(mut t) = self.last_ok.lock() {
            *t = Instant::now();
        }
    }

    fn since_ok(&self) -> Duration {
        self.last_ok.lock().map(|t| t.elapsed()).unwrap_or_default()
    }
}

/// The caches of one namespace.
struct NsCaches {
    pods: Store<Pod>,
    deployments: Store<Deployment>,
    statefulsets: Store<StatefulSet>,
    slices: Store<EndpointSlice>,
    pvcs: Store<PersistentVolumeClaim>,
    warnings: Store<Event>,
    envoy_filters: Option<Store<DynamicObject>>,
}

/// All watch caches, and the tasks feeding them (aborted on drop).
pub struct Caches {
    namespaces: BTreeMap<String, NsCaches>,
    watches: Vec<Arc<WatchState>>,
    tasks: Vec<JoinHandle<()>>,
    started: Instant,
}

impl Drop for Caches {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Whether cache state is fresh, as `health` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheAge {
    pub synced: bool,
    /// Some watch is failing (the API server is unreachable or refusing).
    pub failing: bool,
    /// Seconds since a failing watch last heard from the API server (0 when all are live).
    pub stale_secs: u64,
    /// Seconds since the caches were started.
    pub uptime_secs: u64,
}

impl Caches {
    /// Starts the reflectors for `namespaces`; returns at once (see [`Caches::is_synced`]).
    pub fn start(client: &Client, namespaces: &[String], envoy_filters: bool) -> Self {
        let mut caches = Caches {
            namespaces: BTreeMap::new(),
            watches: Vec::new(),
            tasks: Vec::new(),
            started: Instant::now(),
        };
        for ns in namespaces {
            if caches.namespaces.contains_key(ns) {
                continue;
            }
            let pods = caches.watch::<Pod>(
                Api::namespaced(client.clone(), ns),
                watcher::Config::default(),
                reflector::store(),
                format!("pods/{ns}"),
            );
            let deployments = caches.watch::<Deployment>(
                Api::namespaced(client.clone(), ns),
                watcher::Config::default(),
                reflector::store(),
                format!("deployments/{ns}"),
            );
            let statefulsets = caches.watch::<StatefulSet>(
                Api::namespaced(client.clone(), ns),
                watcher::Config::default(),
                reflector::store(),
                format!("statefulsets/{ns}"),
            );
            let slices = caches.watch::<EndpointSlice>(
                Api::namespaced(client.clone(), ns),
                watcher::Config::default(),
                reflector::store(),
                format!("endpointslices/{ns}"),
            );
            let pvcs = caches.watch::<PersistentVolumeClaim>(
                Api::namespaced(client.clone(), ns),
                watcher::Config::default(),
                reflector::store(),
                format!("persistentvolumeclaims/{ns}"),
            );
            let warnings = caches.watch::<Event>(
                Api::namespaced(client.clone(), ns),
                watcher::Config::default().fields("type=Warning"),
                reflector::store(),
                format!("events/{ns}"),
            );
            let envoy_filters = envoy_filters.then(|| {
                let ar = envoy_filter_resource();
                let writer = Writer::new(ar.clone());
                let reader = writer.as_reader();
                caches.watch::<DynamicObject>(
                    Api::namespaced_with(client.clone(), ns, &ar),
                    watcher::Config::default(),
                    (reader, writer),
                    format!("envoyfilters/{ns}"),
                )
            });
            caches.namespaces.insert(
                ns.clone(),
                NsCaches {
                    pods,
                    deployments,
                    statefulsets,
                    slices,
                    pvcs,
                    warnings,
                    envoy_filters,
                },
            );
        }
        caches
    }

    fn watch<K>(
        &mut self,
        api: Api<K>,
        config: watcher::Config,
        (reader, mut writer): (Store<K>, Writer<K>),
        name: String,
    ) -> Store<K>
    where
        K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
        K::DynamicType: Eq + Hash + Clone + Send + Sync,
    {
        let state = WatchState::new(name);
        self.watches.push(state.clone());
        self.tasks.push(tokio::spawn(async move {
            let mut delay = Duration::from_millis(500);
            // On any error the watch is restarted from a fresh list, so "live again" means
            // a complete, current list arrived (a resumed watch with no events would
            // never prove that).
            loop {
                let mut stream = std::pin::pin!(watcher::watcher(api.clone(), config.clone()));
                while let Some(item) = stream.next().await {
                    match item {
                        Ok(ev) => {
                            writer.apply_watcher_event(&ev);
                            match ev {
                                // Emitted before the list is even requested: proves nothing.
                                WatchEvent::Init => {}
                                WatchEvent::InitDone => {
                                    state.ok();
                                    delay = Duration::from_millis(500);
                                    if !state.synced.swap(true, Ordering::SeqCst) {
                                        debug!(watch = %state.name, "Watch cache synced");
                                    }
                                }
                                _ => {
                                    if !state.failing.load(Ordering::SeqCst) {
                                        state.ok();
                                    }
                                }
                            }
                        }
                        Err(e) => {
                            state.forbidden.store(is_forbidden(&e), Ordering::SeqCst);
                            if !state.failing.swap(true, Ordering::SeqCst) {
                                warn!(watch = %state.name, error = %e, "Watch failing; re-listing with backoff");
                            }
                            break;
                        }
                    }
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }));
        reader
    }

    /// Whether every watch has completed its first list.
    pub fn is_synced(&self) -> bool {
        self.watches.iter().all(|w| w.synced.load(Ordering::SeqCst))
    }

    /// Waits until synced, at most `within`; returns whether it is. Gives up early when
    /// a watch is forbidden: waiting would not change RBAC.
    pub async fn wait_synced(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.is_synced() {
                return true;
            }
            if Instant::now() >= deadline || !self.forbidden().is_empty() {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn age(&self) -> CacheAge {
        let stale = self
            .watches
            .iter()
            .filter(|w| w.failing.load(Ordering::SeqCst))
            .map(|w| w.since_ok().as_secs())
            .max()
            .unwrap_or(0);
        CacheAge {
            synced: self.is_synced(),
            failing: self
                .watches
                .iter()
                .any(|w| w.failing.load(Ordering::SeqCst)),
            stale_secs: stale,
            uptime_secs: self.started.elapsed().as_secs(),
        }
    }

    /// The watches the API server refuses vabot (RBAC), e.g. `pods/voiceassistant-prod`.
    pub fn forbidden(&self) -> Vec<String> {
        self.watches
            .iter()
            .filter(|w| w.forbidden.load(Ordering::SeqCst))
            .map(|w| w.name.clone())
            .collect()
    }

    /// The watches that are not synced or failing, for error messages.
    pub fn unhealthy(&self) -> Vec<String> {
        self.watches
            .iter()
            .filter(|w| !w.synced.load(Ordering::SeqCst) || w.failing.load(Ordering::SeqCst))
            .map(|w| w.name.clone())
            .collect()
    }

    pub fn covers(&self, ns: &str) -> bool {
        self.namespaces.contains_key(ns)
    }

    /// State of the given namespaces, from the caches only.
    pub fn snapshot(&self, namespaces: &[String]) -> ClusterSnapshot {
        let mut snap = ClusterSnapshot {
            cache_age_secs: self.age().stale_secs,
            ..ClusterSnapshot::default()
        };
        for ns in namespaces {
            let Some(c) = self.namespaces.get(ns) else {
                continue;
            };
            let mut workloads: Vec<WorkloadState> = c
                .deployments
                .state()
                .iter()
                .map(|d| deployment_state(ns, d))
                .chain(c.statefulsets.state().iter().map(|s| {
                    WorkloadState {
                        namespace: ns.clone(),
                        name: s.name_any(),
                        kind: "StatefulSet".into(),
                        desired: u32_of(s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
                        ready: u32_of(
                            s.status
                                .as_ref()
                                .and_then(|s| s.ready_replicas)
                                .unwrap_or(0),
                        ),
                    }
                }))
                .collect();
            workloads.sort_by(|a, b| a.name.cmp(&b.name));
            snap.workloads.extend(workloads);

            let mut pods: Vec<PodState> = c.pods.state().iter().map(|p| pod_state(p)).collect();
            pods.sort_by(|a, b| a.name.cmp(&b.name));
            snap.pods.extend(pods);

            let mut eps: BTreeMap<String, EndpointState> = BTreeMap::new();
            for s in c.slices.state() {
                let Some(svc) = s.labels().get("kubernetes.io/service-name").cloned() else {
                    continue;
                };
                let e = eps.entry(svc.clone()).or_insert_with(|| EndpointState {
                    namespace: ns.clone(),
                    service: svc,
                    ready: 0,
                    not_ready: 0,
                });
                for ep in s.endpoints.iter().flatten() {
                    // The API says a nil `ready` means ready.
                    let ready = ep.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
                    let n = ep.addresses.len() as u32;
                    if ready {
                        e.ready += n;
                    } else {
                        e.not_ready += n;
                    }
                }
            }
            snap.endpoints.extend(eps.into_values());

            let mut pvcs: Vec<String> = c
                .pvcs
                .state()
                .iter()
                .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Bound"))
                .map(|p| format!("{ns}/{}", p.name_any()))
                .collect();
            pvcs.sort();
            snap.pending_pvcs.extend(pvcs);

            let mut events: Vec<Arc<Event>> = c.warnings.state();
            events.sort_by_key(|e| std::cmp::Reverse(event_time(e)));
            snap.warnings.extend(events.iter().take(50).map(|e| {
                WarningEvent {
                    namespace: ns.clone(),
                    object: format!(
                        "{}/{}",
                        e.involved_object.kind.clone().unwrap_or_default(),
                        e.involved_object.name.clone().unwrap_or_default()
                    ),
                    reason: e.reason.clone().unwrap_or_default(),
                    message: e.message.clone().unwrap_or_default(),
                    count: e
                        .count
                        .or_else(|| e.series.as_ref().and_then(|s| s.count))
                        .map(u32_of)
                        .unwrap_or(1),
                }
            }));

            if let Some(ef) = &c.envoy_filters {
                let mut names: Vec<String> = ef
                    .state()
                    .iter()
                    .map(|o| format!("{ns}/{}", o.name_any()))
                    .collect();
                names.sort();
                snap.envoy_filters.extend(names);
            }
        }
        snap
    }
}

/// A Deployment as `health` shows it: ready of desired replicas.
pub fn deployment_state(ns: &str, d: &Deployment) -> WorkloadState {
    WorkloadState {
        namespace: ns.to_owned(),
        name: d.name_any(),
        kind: "Deployment".into(),
        desired: u32_of(d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
        ready: u32_of(
            d.status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0),
        ),
    }
}

fn u32_of(n: i32) -> u32 {
    u32::try_from(n).unwrap_or(0)
}

/// When an event last happened (for sorting).
pub fn event_time(e: &Event) -> Option<chrono::DateTime<chrono::Utc>> {
    e.last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.first_timestamp.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
        .and_then(|t| chrono::DateTime::from_timestamp(t.as_second(), 0))
}

/// A pod as `health` sees it; the reason is what `kubectl get pods` shows in STATUS.
pub fn pod_state(p: &Pod) -> PodState {
    let status = p.status.clone().unwrap_or_default();
    let phase = status.phase.clone().unwrap_or_else(|| "Unknown".into());
    let ready = status
        .conditions
        .as_ref()
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True");
    let statuses = status.container_statuses.clone().unwrap_or_default();
    let restarts = statuses
        .iter()
        .map(|c| u32_of(c.restart_count))
        .sum::<u32>();
    let waiting = statuses.iter().find_map(|c| {
        c.state
            .as_ref()
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.clone())
    });
    let terminated = statuses.iter().find_map(|c| {
        c.state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .and_then(|t| t.reason.clone())
    });
    let last_oom = statuses.iter().any(|c| {
        c.last_state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .and_then(|t| t.reason.as_deref())
            == Some("OOMKilled")
    });
    let reason = if p.metadata.deletion_timestamp.is_some() {
        Some("Terminating".to_owned())
    } else if ready {
        None
    } else if let Some(w) = waiting {
        Some(w)
    } else if let Some(t) = terminated {
        Some(t)
    } else if last_oom {
        Some("OOMKilled".to_owned())
    } else if phase == "Pending" {
        let unschedulable = status
            .conditions
            .as_ref()
            .and_then(|cs| cs.iter().find(|c| c.type_ == "PodScheduled"))
            .and_then(|c| c.reason.clone());
        Some(unschedulable.map_or_else(|| "Pending".to_owned(), |r| format!("Pending ({r})")))
    } else if phase == "Succeeded" || phase == "Failed" {
        Some(phase.clone())
    } else {
        Some("NotReady".to_owned())
    };
    PodState {
        namespace: p.namespace().unwrap_or_default(),
        name: p.name_any(),
        service: p.labels().get("app").cloned(),
        phase,
        ready,
        reason,
        restarts,
        node: p.spec.as_ref().and_then(|s| s.node_name.clone()),
    }
}

/// Whether a watcher error is the API server refusing the request (401/403).
fn is_forbidden(e: &watcher::Error) -> bool {
    let api = match e {
        watcher::Error::InitialListFailed(e)
        | watcher::Error::WatchStartFailed(e)
        | watcher::Error::WatchFailed(e) => match e {
            kube::Error::Api(status) => Some(status.code),
            _ => None,
        },
        watcher::Error::WatchError(status) => Some(status.code),
        watcher::Error::NoResourceVersion => None,
    };
    matches!(api, Some(401 | 403))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: serde_json::Value) -> Pod {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_crashlooping_pod_reports_crashloopbackoff_and_its_restarts() {
        let p = pod(serde_json::json!({
            "metadata": {"name": "a-1", "namespace": "ns", "labels": {"app": "a"}},
            "status": {"phase": "Running",
                "conditions": [{"type": "Ready", "status": "False"}],
                "containerStatuses": [{"name": "a", "image": "i", "imageID": "", "ready": false, "restartCount": 7,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}
        }));
        let s = pod_state(&p);
        assert_eq!(s.reason.as_deref(), Some("CrashLoopBackOff"));
        assert_eq!(s.restarts, 7);
        assert_eq!(s.service.as_deref(), Some("a"));
        assert!(!s.ready);
    }

    #[test]
    fn an_unscheduled_pod_is_pending_and_a_ready_pod_has_no_reason() {
        let p = pod(serde_json::json!({
            "metadata": {"name": "a-1", "namespace": "ns"},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}
        }));
        assert_eq!(
            pod_state(&p).reason.as_deref(),
            Some("Pending (Unschedulable)")
        );
        let p = pod(serde_json::json!({
            "metadata": {"name": "a-1", "namespace": "ns"},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
        }));
        assert_eq!(pod_state(&p).reason, None);
    }
}
