//! §4.2 service-comm: endpoints without addresses, network policies in the way.

use super::cluster::{pod_findings, snapshot, stale, workload_findings};
use super::{Finding, Severity};
use crate::executor::Inner;

// === §4.2 service-comm ===

pub(crate) async fn service_comm(x: &Inner, service: Option<&str>) -> Vec<Finding> {
    let snap = match snapshot(x).await {
        Ok(s) => s,
        Err(e) => return vec![Finding::unreachable(Severity::Critical, "the cluster", &e)],
    };
    let mut out = Vec::new();
    for ep in snap
        .endpoints
        .iter()
        .filter(|e| service.is_none_or(|s| e.service == s))
    {
        if ep.ready == 0 {
            out.push(
                Finding::new(
                    Severity::Critical,
                    format!("Service {} has no ready endpoints", ep.service),
                )
                .evidence(format!(
                    "{}/{}: {} ready, {} not ready addresses",
                    ep.namespace, ep.service, ep.ready, ep.not_ready
                ))
                .evidence("callers get connection refused or 503 (no healthy upstream)")
                .next(format!("/va endpoints {}", ep.service))
                .next(format!("/va pods {}", ep.service))
                .next(format!("/va netpol {}", ep.namespace)),
            );
        } else if ep.not_ready > 0 {
            out.push(
                Finding::new(
                    Severity::Warning,
                    format!(
                        "Service {} has {} unready endpoint(s)",
                        ep.service, ep.not_ready
                    ),
                )
                .evidence(format!(
                    "{}/{}: {} ready, {} not ready",
                    ep.namespace, ep.service, ep.ready, ep.not_ready
                ))
                .next(format!("/va endpoints {}", ep.service)),
            );
        }
    }
    out.extend(
        pod_findings(&snap, &[], service)
            .into_iter()
            .filter(|f| f.severity >= Severity::Warning),
    );
    out.extend(workload_findings(&snap, &[], service));
    if !snap.envoy_filters.is_empty() {
        let mut f = Finding::new(
            Severity::Info,
            format!("{} EnvoyFilter(s) act on traffic", snap.envoy_filters.len()),
        );
        f.evidence = snap.envoy_filters.clone();
        out.push(f.next("/va istio".to_owned()));
    }
    out.extend(stale(&snap));
    if !out.iter().any(|f| f.severity >= Severity::Warning) {
        let ns = x
            .namespaces
            .first()
            .map(|n| n.to_string())
            .unwrap_or_default();
        out.push(
            Finding::new(Severity::Ok, "Every Service checked has ready endpoints")
                .next(format!("/va netpol {ns}"))
                .next(format!("/va istio {ns}")),
        );
    }
    out
}
