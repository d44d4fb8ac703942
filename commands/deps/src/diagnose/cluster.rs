//! The cluster checks the playbooks share: failing pods, workloads short of replicas,
//! warning events, stale caches (all from the watch caches).

use vabot_commands::ports::{ClusterSnapshot, ExecError, PodState};

use super::{Finding, Severity};
use crate::executor::Inner;

// === cluster checks ===

pub(crate) async fn snapshot(x: &Inner) -> Result<ClusterSnapshot, ExecError> {
    x.timed("Kubernetes", x.cluster.snapshot(&x.namespaces))
        .await
}

pub(crate) fn matches(pod: &PodState, service: Option<&str>) -> bool {
    match service {
        None => true,
        Some(s) => pod.service.as_deref() == Some(s),
    }
}

pub(crate) const CRASH_REASONS: [&str; 7] = [
    "CrashLoopBackOff",
    "Error",
    "OOMKilled",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "InvalidImageName",
];

/// Pods of the given services (all when empty) that are crashing or not ready.
pub(crate) fn pod_findings(
    snap: &ClusterSnapshot,
    services: &[&str],
    scope: Option<&str>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let relevant = |p: &&PodState| {
        (services.is_empty() || p.service.as_deref().is_some_and(|s| services.contains(&s)))
            && matches(p, scope)
    };
    for p in snap.pods.iter().filter(relevant) {
        let svc = p.service.clone().unwrap_or_else(|| p.name.clone());
        let reason = p.reason.clone().unwrap_or_default();
        let where_ = format!(
            "{}/{}: phase {}, ready {}, reason {}, {} restarts, node {}",
            p.namespace,
            p.name,
            p.phase,
            p.ready,
            if reason.is_empty() {
                "-"
            } else {
                reason.as_str()
            },
            p.restarts,
            p.node.as_deref().unwrap_or("-")
        );
        if CRASH_REASONS.contains(&reason.as_str()) {
            let mut f = Finding::new(Severity::Critical, format!("Pod {} is in {reason}", p.name))
                .evidence(where_)
                .next(format!("/va describe {}", p.name))
                .next(format!("/va logs {} --previous", p.name));
            if reason.contains("Image") {
                f = f
                    .evidence(
                        "the image cannot be pulled: check the registry credentials and the tag",
                    )
                    .next(format!("/va rollout history {svc}"));
            } else if reason == "OOMKilled" {
                f = f
                    .evidence("the container exceeded its memory limit: check resources.limits")
                    .next("/va top pods".to_owned());
            } else if reason == "CreateContainerConfigError" {
                f = f
                    .evidence("a ConfigMap or Secret it references is missing or invalid")
                    .next(format!("/va config get {svc}"));
            } else {
                f = f.next(format!("/va config get {svc}"));
            }
            out.push(f.next(format!("/va events {svc}")));
        } else if !p.ready {
            out.push(
                Finding::new(Severity::Warning, format!("Pod {} is not ready", p.name))
                    .evidence(where_)
                    .next(format!("/va describe {}", p.name))
                    .next(format!("/va events {svc}")),
            );
        } else if p.restarts >= 3 {
            out.push(
                Finding::new(
                    Severity::Warning,
                    format!("Pod {} has restarted {} times", p.name, p.restarts),
                )
                .evidence(where_)
                .next(format!("/va logs {} --previous", p.name)),
            );
        }
    }
    out
}

pub(crate) fn workload_findings(
    snap: &ClusterSnapshot,
    services: &[&str],
    scope: Option<&str>,
) -> Vec<Finding> {
    snap.workloads
        .iter()
        .filter(|w| services.is_empty() || services.contains(&w.name.as_str()))
        .filter(|w| scope.is_none_or(|s| w.name == s))
        .filter(|w| w.ready < w.desired)
        .map(|w| {
            Finding::new(
                Severity::Warning,
                format!(
                    "{} {} has {}/{} replicas ready",
                    w.kind, w.name, w.ready, w.desired
                ),
            )
            .evidence(format!("{}/{}", w.namespace, w.name))
            .next(format!("/va pods {}", w.name))
            .next(format!("/va rollout status {}", w.name))
        })
        .collect()
}

pub(crate) fn warning_events(snap: &ClusterSnapshot, scope: Option<&str>) -> Option<Finding> {
    let events: Vec<String> = snap
        .warnings
        .iter()
        .filter(|e| scope.is_none_or(|s| e.object.contains(s)))
        .take(10)
        .map(|e| {
            format!(
                "{}/{}: {} ×{}: {}",
                e.namespace, e.object, e.reason, e.count, e.message
            )
        })
        .collect();
    if events.is_empty() {
        return None;
    }
    let mut f = Finding::new(
        Severity::Info,
        format!("{} recent Warning event(s)", events.len()),
    );
    f.evidence = events;
    Some(f)
}

pub(crate) fn stale(snap: &ClusterSnapshot) -> Option<Finding> {
    (snap.cache_age_secs > 120).then(|| {
        Finding::new(
            Severity::Info,
            format!(
                "Cluster data is {} s old (the watch caches lost the API server)",
                snap.cache_age_secs
            ),
        )
    })
}
