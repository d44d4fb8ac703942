//! `hpa [service]`: autoscalers with current/desired/min/max and targets; for one
//! service also its conditions (AbleToScale, ScalingActive, ScalingLimited) and events.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use vabot_commands::catalog::Service;
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use super::all_ns;
use super::describe::condition_row;
use super::events::{EVENT_HEADERS, recent_events};
use crate::{Ctx, Inner};

pub(crate) async fn find_hpa(
    ctx: &Ctx,
    svc: &Service,
) -> Result<HorizontalPodAutoscaler, ExecError> {
    let ns = svc.namespace.as_str();
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(ctx.client.clone(), ns);
    if let Some(name) = &svc.hpa {
        return ctx
            .op("get", "horizontalpodautoscalers", ns, name)
            .run(api.get(name))
            .await;
    }
    let list = ctx
        .op("list", "horizontalpodautoscalers", ns, "")
        .run(api.list(&ListParams::default()))
        .await?;
    list.items
        .into_iter()
        .find(|h| h.spec.scale_target_ref.name == svc.name)
        .ok_or_else(|| ExecError::NotFound {
            what: format!("a HorizontalPodAutoscaler for {} in {ns}", svc.name),
        })
}

pub(crate) async fn hpa(
    inner: &Inner,
    ctx: &Ctx,
    service: Option<&str>,
) -> Result<Message, ExecError> {
    let hpas = match service {
        Some(s) => vec![find_hpa(ctx, inner.service(s)?).await?],
        None => {
            let mut v = Vec::new();
            for ns in all_ns(inner) {
                let api: Api<HorizontalPodAutoscaler> = Api::namespaced(ctx.client.clone(), &ns);
                v.extend(
                    ctx.op("list", "horizontalpodautoscalers", &ns, "")
                        .run(api.list(&ListParams::default()))
                        .await?
                        .items,
                );
            }
            v
        }
    };
    if hpas.is_empty() {
        return Ok(Message::text(
            Tone::Info,
            "No HorizontalPodAutoscalers in the catalog's namespaces.",
        ));
    }
    let rows = hpas
        .iter()
        .map(|h| {
            let spec = h.spec.clone();
            let st = h.status.clone().unwrap_or_default();
            let targets = spec
                .metrics
                .unwrap_or_default()
                .iter()
                .filter_map(|m| m.resource.as_ref())
                .map(|r| {
                    let cur = st
                        .current_metrics
                        .as_ref()
                        .and_then(|cm| {
                            cm.iter()
                                .find_map(|c| c.resource.as_ref().filter(|x| x.name == r.name))
                        })
                        .and_then(|c| c.current.average_utilization)
                        .map_or_else(|| "<unknown>".to_owned(), |v| format!("{v}%"));
                    format!(
                        "{}: {cur}/{}%",
                        r.name,
                        r.target.average_utilization.unwrap_or(0)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                format!("{}/{}", h.namespace().unwrap_or_default(), h.name_any()),
                format!(
                    "{}/{}",
                    spec.scale_target_ref.kind, spec.scale_target_ref.name
                ),
                targets,
                spec.min_replicas.unwrap_or(1).to_string(),
                spec.max_replicas.to_string(),
                st.current_replicas.unwrap_or(0).to_string(),
                st.desired_replicas.to_string(),
            ]
        })
        .collect();
    let mut m = Message::new(Tone::Info)
        .header("HorizontalPodAutoscalers")
        .table(
            &[
                "HPA", "TARGET", "METRICS", "MIN", "MAX", "CURRENT", "DESIRED",
            ],
            rows,
        );
    // One autoscaler: why it does (not) scale, as `kubectl describe hpa` shows it.
    if let (Some(_), [h]) = (service, hpas.as_slice()) {
        let conditions: Vec<Vec<String>> = h
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
        let limited = conditions
            .iter()
            .any(|c| c[0] == "ScalingLimited" && c[1] == "True");
        if conditions.is_empty() {
            m = m.paragraph("No conditions yet: the controller has not evaluated it.");
        } else {
            m = m.table(&["CONDITION", "STATUS", "REASON", "MESSAGE"], conditions);
        }
        if limited {
            m = m.paragraph(format!(
                "It is held at a bound: `/va hpa set {} max=<n>` raises it.",
                service.unwrap_or_default()
            ));
        }
        let ns = h.namespace().unwrap_or_default();
        let events = recent_events(ctx, &ns, &h.name_any(), 10).await?;
        if events.is_empty() {
            m = m.context("No recent events for it.");
        } else {
            m = m.table(&EVENT_HEADERS, events);
        }
    }
    Ok(m)
}
