//! `health [namespace|service]`: one glanceable summary from the watch caches (no API
//! request).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use vabot_commands::grammar::HealthScope;
use vabot_commands::message::{Message, Tone};
use vabot_commands::model::Namespace;
use vabot_commands::ports::{ClusterSnapshot, ExecError};

use super::all_ns;
use crate::{Ctx, Inner};

// === health ===

pub(crate) async fn health(
    inner: &Inner,
    ctx: &Ctx,
    scope: &HealthScope,
) -> Result<Message, ExecError> {
    let (namespaces, service, title) = match scope {
        HealthScope::All => (all_ns(inner), None, "all namespaces".to_owned()),
        HealthScope::Namespace(ns) => (vec![ns.as_str().to_owned()], None, ns.to_string()),
        HealthScope::Mesh(ns) => return mesh(ctx, ns).await,
        HealthScope::Service(s) => {
            let svc = inner.service(s)?;
            (
                vec![svc.namespace.as_str().to_owned()],
                Some(s.clone()),
                s.clone(),
            )
        }
    };
    if let Some(ns) = namespaces.iter().find(|n| !inner.caches.covers(n)) {
        return Err(ExecError::Precondition {
            why: format!(
                "vabot does not watch namespace {ns}; it watches the catalog's namespaces"
            ),
        });
    }
    if !inner.caches.wait_synced(inner.timeout).await {
        return Err(ExecError::Unavailable {
            what: "the cluster's watch caches (still syncing)".into(),
            detail: format!("not synced: {}", inner.caches.unhealthy().join(", ")),
        });
    }
    let mut snap = inner.caches.snapshot(&namespaces);
    if let Some(s) = &service {
        filter_to_service(&mut snap, s);
    }
    let age = inner.caches.age();
    Ok(render_health(&snap, &title, age))
}

/// `health istio-system`: the mesh control plane (istiod, gateways) is not a catalog
/// namespace, so it has no watch cache: one live list of its Deployments and one of its
/// pods, rendered like any other health.
async fn mesh(ctx: &Ctx, ns: &Namespace) -> Result<Message, ExecError> {
    let ns = ns.as_str();
    let deployments: Api<Deployment> = Api::namespaced(ctx.client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let deployments = ctx
        .op("list", "deployments", ns, "")
        .run(deployments.list(&ListParams::default()))
        .await?
        .items;
    let pods = ctx
        .op("list", "pods", ns, "")
        .run(pods.list(&ListParams::default()))
        .await?
        .items;
    let mut snap = ClusterSnapshot {
        workloads: deployments
            .iter()
            .map(|d| crate::cache::deployment_state(ns, d))
            .collect(),
        pods: pods.iter().map(crate::cache::pod_state).collect(),
        ..ClusterSnapshot::default()
    };
    snap.workloads.sort_by(|a, b| a.name.cmp(&b.name));
    snap.pods.sort_by(|a, b| a.name.cmp(&b.name));
    if snap.workloads.is_empty() && snap.pods.is_empty() {
        return Ok(Message::new(Tone::Danger)
            .header(format!("Health of {ns}"))
            .paragraph(format!(
                "No Deployments and no pods in `{ns}`: the Istio control plane (istiod) is not running there, so sidecars get no configuration updates."
            ))
            .context("Read live from the API server (the mesh namespace has no watch cache)"));
    }
    let missing_istiod = !snap.workloads.iter().any(|w| w.name.starts_with("istiod"));
    let mut m = health_body(&snap, ns);
    if missing_istiod {
        m = m.paragraph("No `istiod` Deployment here: is the control plane installed under another name or namespace?");
    }
    Ok(m.context(
        "Read live from the API server (the mesh namespace has no watch cache): 2 requests",
    ))
}

pub(crate) fn filter_to_service(snap: &mut ClusterSnapshot, service: &str) {
    snap.workloads.retain(|w| w.name == service);
    snap.pods.retain(|p| p.service.as_deref() == Some(service));
    snap.endpoints.retain(|e| e.service == service);
    snap.warnings.retain(|w| {
        w.object
            .split('/')
            .nth(1)
            .is_some_and(|n| n.starts_with(service))
    });
}

pub(crate) fn render_health(snap: &ClusterSnapshot, title: &str, age: crate::CacheAge) -> Message {
    let cache = if !age.synced {
        "Watch caches are still syncing".to_owned()
    } else if age.failing {
        format!(
            "STALE: the watch caches last heard from the API server {} s ago (reconnecting)",
            age.stale_secs
        )
    } else {
        format!(
            "From the watch caches: live (cache age 0 s, watching for {} s)",
            age.uptime_secs
        )
    };
    health_body(snap, title).context(cache)
}

/// The summary, tables and lists of a health answer, without where it came from.
fn health_body(snap: &ClusterSnapshot, title: &str) -> Message {
    let degraded: Vec<_> = snap
        .workloads
        .iter()
        .filter(|w| w.ready < w.desired)
        .collect();
    let failing: Vec<_> = snap
        .pods
        .iter()
        .filter(|p| !p.ready && p.phase != "Succeeded")
        .collect();
    let restarting: Vec<_> = snap.pods.iter().filter(|p| p.restarts > 0).collect();
    let empty_eps: Vec<_> = snap.endpoints.iter().filter(|e| e.ready == 0).collect();
    let problems = degraded.len() + failing.len() + empty_eps.len() + snap.pending_pvcs.len();
    let tone = if problems == 0 {
        Tone::Success
    } else if failing.iter().any(|p| {
        p.reason.as_deref().is_some_and(|r| {
            r.contains("CrashLoop") || r.contains("ImagePull") || r.contains("OOM")
        })
    }) {
        Tone::Danger
    } else {
        Tone::Warning
    };
    let ready_workloads = snap.workloads.len() - degraded.len();
    let mut m = Message::new(tone)
        .header(format!("Health of {title}"))
        .paragraph(if problems == 0 {
            format!(
                "All {} workloads ready; {} pods Running; every endpoint has ready addresses.",
                snap.workloads.len(),
                snap.pods.len()
            )
        } else {
            format!(
                "{ready_workloads}/{} workloads fully ready, {} pods not Ready, {} services without ready endpoints, {} pending PVCs.",
                snap.workloads.len(),
                failing.len(),
                empty_eps.len(),
                snap.pending_pvcs.len()
            )
        });
    m = m.table(
        &["WORKLOAD", "KIND", "READY"],
        snap.workloads
            .iter()
            .map(|w| {
                vec![
                    format!("{}/{}", w.namespace, w.name),
                    w.kind.clone(),
                    format!(
                        "{}/{}{}",
                        w.ready,
                        w.desired,
                        if w.ready < w.desired { " ⚠" } else { "" }
                    ),
                ]
            })
            .collect(),
    );
    if !failing.is_empty() {
        m = m.table(
            &["POD NOT READY", "REASON", "RESTARTS", "NODE"],
            failing
                .iter()
                .map(|p| {
                    vec![
                        format!("{}/{}", p.namespace, p.name),
                        p.reason.clone().unwrap_or_else(|| p.phase.clone()),
                        p.restarts.to_string(),
                        p.node.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
        );
    }
    if !restarting.is_empty() {
        m = m.fields(
            restarting
                .iter()
                .map(|p| (format!("restarts {}", p.name), p.restarts.to_string())),
        );
    }
    if !empty_eps.is_empty() {
        m = m.paragraph(format!(
            "Endpoints without ready addresses: {}",
            empty_eps
                .iter()
                .map(|e| format!("{}/{} ({} not ready)", e.namespace, e.service, e.not_ready))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !snap.pending_pvcs.is_empty() {
        m = m.paragraph(format!("Pending PVCs: {}", snap.pending_pvcs.join(", ")));
    }
    if !snap.warnings.is_empty() {
        m = m.table(
            &["WARNING", "OBJECT", "COUNT", "MESSAGE"],
            snap.warnings
                .iter()
                .take(5)
                .map(|w| {
                    vec![
                        w.reason.clone(),
                        w.object.clone(),
                        w.count.to_string(),
                        truncate(&w.message, 80),
                    ]
                })
                .collect(),
        );
    }
    m
}

pub(crate) fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}
