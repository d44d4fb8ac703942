//! `describe <service|pod>`: spec summary, resources, conditions and recent events.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use kube::api::Api;
use vabot_commands::catalog::WorkloadKind;
use vabot_commands::grammar::Target;
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use super::events::{EVENT_HEADERS, recent_events};
use super::workload::{age_of, get_deployment, get_statefulset};
use crate::cache::pod_state;
use crate::{Ctx, Inner};

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
    }
    out
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
                                vec![
                                    c.type_.clone(),
                                    c.status.clone(),
                                    c.reason.clone().unwrap_or_default(),
                                    c.message.clone().unwrap_or_default(),
                                ]
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
                                vec![
                                    c.type_.clone(),
                                    c.status.clone(),
                                    c.reason.clone().unwrap_or_default(),
                                    c.message.clone().unwrap_or_default(),
                                ]
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
            let conditions: Vec<Vec<String>> = p
                .status
                .as_ref()
                .and_then(|s| s.conditions.clone())
                .unwrap_or_default()
                .iter()
                .map(|c| {
                    vec![
                        c.type_.clone(),
                        c.status.clone(),
                        c.reason.clone().unwrap_or_default(),
                        c.message.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            let mut m = Message::new(Tone::Info)
                .header(format!("Pod {ns}/{pod}"))
                .fields(fields);
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
