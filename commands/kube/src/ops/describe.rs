//! `describe <service|pod>`: spec summary, resources, init containers, volumes and their
//! claims, conditions and recent events.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, PodTemplateSpec};
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use vabot_commands::catalog::WorkloadKind;
use vabot_commands::grammar::Target;
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use super::events::{EVENT_HEADERS, recent_events};
use super::workload::{age_of, get_deployment, get_statefulset};
use crate::cache::pod_state;
use crate::{Ctx, Inner};

/// A status condition as a CONDITION / STATUS / REASON / MESSAGE row.
pub(crate) fn condition_row(
    type_: &str,
    status: &str,
    reason: Option<&str>,
    message: Option<&str>,
) -> Vec<String> {
    vec![
        type_.to_owned(),
        status.to_owned(),
        reason.unwrap_or_default().to_owned(),
        message.unwrap_or_default().to_owned(),
    ]
}

pub(crate) fn template_lines(t: &PodTemplateSpec) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(spec) = &t.spec {
        for c in &spec.containers {
            out.push((
                format!("container {}", c.name),
                c.image.clone().unwrap_or_default(),
            ));
            if let Some(r) = &c.resources {
                let fmt = |m: &Option<
                    BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
                >| {
                    m.as_ref()
                        .map(|m| {
                            m.iter()
                                .map(|(k, v)| format!("{k}={}", v.0))
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .unwrap_or_else(|| "-".into())
                };
                out.push((
                    format!("resources {}", c.name),
                    format!("requests {} · limits {}", fmt(&r.requests), fmt(&r.limits)),
                ));
            }
        }
        // Init containers run first, in order: one that never finishes holds the pod in
        // Init (a dependency not ready, runbook §4.1).
        for c in spec.init_containers.iter().flatten() {
            out.push((
                format!("init container {}", c.name),
                c.image.clone().unwrap_or_default(),
            ));
        }
        for v in spec.volumes.iter().flatten() {
            if let Some(claim) = &v.persistent_volume_claim {
                out.push((
                    format!("volume {}", v.name),
                    format!("PVC {}", claim.claim_name),
                ));
            }
        }
    }
    out
}

/// The claims a pod mounts, with their phase and size (Pending is why a pod waits).
async fn claim_lines(ctx: &Ctx, ns: &str, p: &Pod) -> Result<Vec<(String, String)>, ExecError> {
    let claims: Vec<(String, String)> = p
        .spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| {
            v.persistent_volume_claim
                .as_ref()
                .map(|c| (v.name.clone(), c.claim_name.clone()))
        })
        .collect();
    if claims.is_empty() {
        return Ok(Vec::new());
    }
    let api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), ns);
    let list = ctx
        .op("list", "persistentvolumeclaims", ns, "")
        .run(api.list(&ListParams::default()))
        .await?
        .items;
    Ok(claims
        .into_iter()
        .map(|(volume, claim)| {
            let found = list.iter().find(|c| c.name_any() == claim);
            let state = match found.and_then(|c| c.status.clone()) {
                Some(st) => {
                    let phase = st.phase.unwrap_or_else(|| "Unknown".into());
                    let size = st
                        .capacity
                        .and_then(|c| c.get("storage").map(|q| q.0.clone()))
                        .map(|s| format!(" {s}"))
                        .unwrap_or_default();
                    if phase == "Bound" {
                        format!("PVC {claim}: Bound{size}")
                    } else {
                        format!("⚠ PVC {claim}: {phase} (`/va pvc {ns}` says why)")
                    }
                }
                None => format!("⚠ PVC {claim}: does not exist"),
            };
            (format!("volume {volume}"), state)
        })
        .collect())
}

/// Each init container's state: the one still running or failing is what the pod waits on.
fn init_rows(p: &Pod) -> Vec<Vec<String>> {
    p.status
        .iter()
        .flat_map(|s| s.init_container_statuses.iter().flatten())
        .map(|c| {
            let state = c.state.clone().unwrap_or_default();
            let text = if let Some(t) = state.terminated {
                if t.exit_code == 0 {
                    "Completed".to_owned()
                } else {
                    format!(
                        "⚠ exited {} ({})",
                        t.exit_code,
                        t.reason.unwrap_or_else(|| "Error".into())
                    )
                }
            } else if let Some(w) = state.waiting {
                format!("⚠ waiting: {}", w.reason.unwrap_or_else(|| "-".into()))
            } else if state.running.is_some() {
                "⚠ running: the pod waits for it to finish".to_owned()
            } else {
                "-".to_owned()
            };
            vec![c.name.clone(), text, c.restart_count.to_string()]
        })
        .collect()
}

pub(crate) async fn describe(
    inner: &Inner,
    ctx: &Ctx,
    target: &Target,
) -> Result<Message, ExecError> {
    let svc = inner.service(target.service())?;
    let ns = svc.namespace.as_str();
    match target {
        Target::Service(_) => {
            let mut claim_templates = Vec::new();
            let (kind, replicas, ready, template, conditions, strategy) = match svc.kind {
                WorkloadKind::Deployment => {
                    let d = get_deployment(ctx, svc).await?;
                    let spec = d.spec.clone().unwrap_or_default();
                    let st = d.status.clone().unwrap_or_default();
                    (
                        "Deployment",
                        spec.replicas.unwrap_or(1),
                        st.ready_replicas.unwrap_or(0),
                        spec.template,
                        st.conditions
                            .unwrap_or_default()
                            .iter()
                            .map(|c| {
                                condition_row(
                                    &c.type_,
                                    &c.status,
                                    c.reason.as_deref(),
                                    c.message.as_deref(),
                                )
                            })
                            .collect::<Vec<_>>(),
                        spec.strategy
                            .and_then(|s| s.type_)
                            .unwrap_or_else(|| "RollingUpdate".into()),
                    )
                }
                WorkloadKind::StatefulSet => {
                    let s = get_statefulset(ctx, svc).await?;
                    let spec = s.spec.clone().unwrap_or_default();
                    for t in spec.volume_claim_templates.iter().flatten() {
                        let ts = t.spec.clone().unwrap_or_default();
                        let size = ts
                            .resources
                            .and_then(|r| r.requests)
                            .and_then(|r| r.get("storage").map(|q| q.0.clone()))
                            .unwrap_or_else(|| "-".into());
                        claim_templates.push((
                            format!("claim template {}", t.name_any()),
                            format!(
                                "{size}, class {}",
                                ts.storage_class_name.unwrap_or_else(|| "(default)".into())
                            ),
                        ));
                    }
                    let st = s.status.clone().unwrap_or_default();
                    (
                        "StatefulSet",
                        spec.replicas.unwrap_or(1),
                        st.ready_replicas.unwrap_or(0),
                        spec.template,
                        st.conditions
                            .unwrap_or_default()
                            .iter()
                            .map(|c| {
                                condition_row(
                                    &c.type_,
                                    &c.status,
                                    c.reason.as_deref(),
                                    c.message.as_deref(),
                                )
                            })
                            .collect::<Vec<_>>(),
                        spec.update_strategy
                            .and_then(|s| s.type_)
                            .unwrap_or_else(|| "RollingUpdate".into()),
                    )
                }
            };
            let mut fields = vec![
                ("Kind".to_owned(), kind.to_owned()),
                ("Replicas".into(), format!("{ready}/{replicas} ready")),
                ("Strategy".into(), strategy),
            ];
            fields.extend(template_lines(&template));
            fields.extend(claim_templates);
            let mut m = Message::new(Tone::Info)
                .header(format!("{kind} {ns}/{}", svc.name))
                .fields(fields);
            if !conditions.is_empty() {
                m = m.table(&["CONDITION", "STATUS", "REASON", "MESSAGE"], conditions);
            }
            let events = recent_events(ctx, ns, &svc.name, 10).await?;
            if !events.is_empty() {
                m = m.table(&EVENT_HEADERS, events);
            }
            Ok(m)
        }
        Target::Pod { pod, .. } => {
            let api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
            let p = ctx.op("get", "pods", ns, pod).run(api.get(pod)).await?;
            let s = pod_state(&p);
            let mut fields = vec![
                (
                    "Status".to_owned(),
                    s.reason.clone().unwrap_or_else(|| s.phase.clone()),
                ),
                ("Node".into(), s.node.clone().unwrap_or_default()),
                ("Restarts".into(), s.restarts.to_string()),
                ("Age".into(), age_of(p.metadata.creation_timestamp.as_ref())),
            ];
            fields.extend(template_lines(&PodTemplateSpec {
                metadata: None,
                spec: p.spec.clone(),
            }));
            let claims = claim_lines(ctx, ns, &p).await?;
            // The template's "volume X: PVC c" lines, now with the claim's state.
            fields.retain(|(k, _)| !claims.iter().any(|(ck, _)| ck == k));
            fields.extend(claims);
            let init = init_rows(&p);
            let conditions: Vec<Vec<String>> = p
                .status
                .as_ref()
                .and_then(|s| s.conditions.clone())
                .unwrap_or_default()
                .iter()
                .map(|c| {
                    condition_row(
                        &c.type_,
                        &c.status,
                        c.reason.as_deref(),
                        c.message.as_deref(),
                    )
                })
                .collect();
            let mut m = Message::new(Tone::Info)
                .header(format!("Pod {ns}/{pod}"))
                .fields(fields);
            if !init.is_empty() {
                m = m.table(&["INIT CONTAINER", "STATE", "RESTARTS"], init);
            }
            if !conditions.is_empty() {
                m = m.table(&["CONDITION", "STATUS", "REASON", "MESSAGE"], conditions);
            }
            let events = recent_events(ctx, ns, pod, 10).await?;
            if !events.is_empty() {
                m = m.table(&EVENT_HEADERS, events);
            }
            Ok(m)
        }
    }
}
