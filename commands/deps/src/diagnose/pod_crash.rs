//! §4.1 pod-crash: CrashLoopBackOff, OOMKilled, image pull errors, restarts.

use super::cluster::{pod_findings, snapshot, stale, warning_events, workload_findings};
use super::{Finding, Severity};
use crate::executor::Inner;

// === §4.1 pod-crash ===

pub(crate) async fn pod_crash(x: &Inner, service: Option<&str>) -> Vec<Finding> {
    let snap = match snapshot(x).await {
        Ok(s) => s,
        Err(e) => return vec![Finding::unreachable(Severity::Critical, "the cluster", &e)],
    };
    let mut out = pod_findings(&snap, &[], service);
    out.extend(workload_findings(&snap, &[], service));
    if !snap.pending_pvcs.is_empty() {
        let mut f = Finding::new(
            Severity::Warning,
            format!(
                "{} PersistentVolumeClaim(s) are not Bound",
                snap.pending_pvcs.len()
            ),
        );
        f.evidence = snap.pending_pvcs.clone();
        out.push(f.next("/va events".to_owned()));
    }
    out.extend(warning_events(&snap, service));
    out.extend(stale(&snap));
    if !out.iter().any(|f| f.severity >= Severity::Warning) {
        out.push(Finding::new(
            Severity::Ok,
            match service {
                Some(s) => format!("No crashing or unready pods for {s}"),
                None => "No crashing or unready pods".to_owned(),
            },
        ));
    }
    out
}
