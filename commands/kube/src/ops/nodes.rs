//! `nodes`: the cluster's nodes (ready, schedulable, roles, capacity, version) and the
//! pods that wait for room (runbook §5.3: after adding nodes, `kubectl get nodes`).
//! Resizing a cloud node group is done in EKS/GKE, not here; this is what to check.

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use super::workload::age_of;
use crate::Ctx;

fn ready(n: &Node) -> Option<bool> {
    n.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| c.status == "True")
}

fn roles(n: &Node) -> String {
    let roles: Vec<&str> = n
        .labels()
        .keys()
        .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
        .filter(|r| !r.is_empty())
        .collect();
    if roles.is_empty() {
        "-".into()
    } else {
        roles.join(",")
    }
}

/// A pod the scheduler could not place, with its reason.
fn unschedulable(p: &Pod) -> Option<String> {
    let c = p
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")?;
    Some(
        c.message
            .clone()
            .unwrap_or_else(|| c.reason.clone().unwrap_or_else(|| "not scheduled".into())),
    )
}

pub(crate) async fn nodes(ctx: &Ctx, namespaces: &[String]) -> Result<Message, ExecError> {
    let api: Api<Node> = Api::all(ctx.client.clone());
    let list = ctx
        .op("list", "nodes", "", "")
        .run(api.list(&ListParams::default()))
        .await?
        .items;
    let mut waiting = Vec::new();
    for ns in namespaces {
        let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
        let pending = ctx
            .op("list", "pods", ns, "")
            .run(pods.list(&ListParams::default().fields("status.phase=Pending")))
            .await?
            .items;
        for p in &pending {
            if let Some(why) = unschedulable(p) {
                waiting.push(format!("{ns}/{}: {why}", p.name_any()));
            }
        }
    }
    let mut not_ready = 0;
    let mut cordoned = 0;
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|n| {
            let spec = n.spec.clone().unwrap_or_default();
            let status = n.status.clone().unwrap_or_default();
            let mut state = match ready(n) {
                Some(true) => "Ready".to_owned(),
                Some(false) => {
                    not_ready += 1;
                    "⚠ NotReady".to_owned()
                }
                None => {
                    not_ready += 1;
                    "⚠ Unknown".to_owned()
                }
            };
            if spec.unschedulable == Some(true) {
                cordoned += 1;
                state.push_str(",SchedulingDisabled");
            }
            let alloc = status.allocatable.unwrap_or_default();
            let q = |k: &str| {
                alloc
                    .get(k)
                    .map(|q| q.0.clone())
                    .unwrap_or_else(|| "-".into())
            };
            vec![
                n.name_any(),
                state,
                roles(n),
                format!("{} cpu, {} mem, {} pods", q("cpu"), q("memory"), q("pods")),
                status
                    .node_info
                    .map(|i| i.kubelet_version)
                    .unwrap_or_else(|| "-".into()),
                age_of(n.metadata.creation_timestamp.as_ref()),
            ]
        })
        .collect();
    let total = rows.len();
    let tone = if not_ready > 0 || !waiting.is_empty() {
        Tone::Warning
    } else {
        Tone::Info
    };
    let mut m = Message::new(tone)
        .header(format!(
            "{total} node(s): {} ready{}",
            total - not_ready,
            if cordoned > 0 {
                format!(", {cordoned} cordoned")
            } else {
                String::new()
            }
        ))
        .table(
            &["NODE", "STATUS", "ROLES", "ALLOCATABLE", "VERSION", "AGE"],
            rows,
        );
    if waiting.is_empty() {
        m = m.paragraph(format!(
            "No pod in {} is waiting for a node.",
            namespaces.join(", ")
        ));
    } else {
        m = m.paragraph(format!(
            "{} pod(s) wait for room:\n{}",
            waiting.len(),
            waiting.join("\n")
        ));
    }
    Ok(m.context(
        "Adding nodes is done in the node group (EKS: eksctl scale nodegroup; GKE: gcloud container clusters resize); run `/va nodes` again once they join.",
    ))
}
