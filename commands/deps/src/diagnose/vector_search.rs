//! §4.4 vector-search: Milvus health and collections, Elasticsearch health.

use super::cluster::{pod_findings, snapshot, workload_findings};
use super::{Finding, Severity};
use crate::executor::Inner;

// === §4.4 vector-search ===

pub(crate) async fn vector_search(x: &Inner) -> Vec<Finding> {
    const NAME: &str = "diagnose";
    let (health, collections, snap) = tokio::join!(
        x.milvus_health(NAME),
        x.milvus_collections(NAME),
        snapshot(x)
    );
    let mut out = Vec::new();
    match health {
        Ok(h) if h.healthy => out.push(
            Finding::new(Severity::Ok, "Milvus reports healthy")
                .evidence(format!("/healthz: {}", h.state)),
        ),
        Ok(h) => {
            let mut f = Finding::new(Severity::Critical, "Milvus reports unhealthy")
                .evidence(format!("/healthz: {}", h.state));
            for c in h.unhealthy_components {
                f = f.evidence(c);
            }
            out.push(
                f.next("/va logs milvus --tail 200".to_owned())
                    .next("/va pods milvus".to_owned()),
            );
        }
        Err(e) => out.push(
            Finding::unreachable(Severity::Critical, "Milvus health", &e)
                .next("/va pods milvus".to_owned()),
        ),
    }
    match collections {
        Ok(list) => {
            let missing: Vec<&String> = x
                .cfg
                .milvus_collections
                .iter()
                .filter(|c| !list.contains(c))
                .collect();
            if !missing.is_empty() {
                let mut f = Finding::new(
                    Severity::Critical,
                    format!(
                        "Expected collection(s) missing: {}",
                        missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                )
                .evidence(format!(
                    "Milvus has {} collection(s): {}",
                    list.len(),
                    if list.is_empty() { "none".to_owned() } else { list.join(", ") }
                ))
                .evidence("retrieval against a missing collection fails; rebuild it through indexing-service (runbook §4.4 step 3)");
                f = f
                    .next("/va milvus collections".to_owned())
                    .next("/va logs indexing-service --tail 200".to_owned());
                out.push(f);
            } else if list.is_empty() {
                out.push(
                    Finding::new(Severity::Warning, "Milvus has no collections")
                        .next("/va logs indexing-service --tail 200".to_owned()),
                );
            } else {
                out.push(
                    Finding::new(
                        Severity::Ok,
                        format!("{} collection(s) present", list.len()),
                    )
                    .evidence(list.join(", ")),
                );
            }
        }
        Err(e) => out.push(Finding::unreachable(
            Severity::Critical,
            "Milvus collections",
            &e,
        )),
    }
    match snap {
        Ok(snap) => {
            let svcs = ["milvus", "indexing-service", "knowledge-service"];
            out.extend(pod_findings(&snap, &svcs, None));
            out.extend(workload_findings(&snap, &svcs, None));
        }
        Err(e) => out.push(Finding::unreachable(Severity::Info, "the milvus pods", &e)),
    }
    out
}
