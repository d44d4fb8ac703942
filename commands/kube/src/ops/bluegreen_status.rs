//! `bluegreen status <service>`: both versions side by side (runbook §6.4) — each subset
//! of the VirtualService with its weight, the DestinationRule labels that define it, the
//! Deployments whose pods it reaches and how many of those pods are ready. Traffic sent
//! to a subset with no ready pod is the failure this catches.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;
use vabot_commands::catalog::Service;
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use super::istio::virtual_service_resource;
use super::workload::{label_selector, list_pods, service_selector};
use crate::cache::pod_state;
use crate::{Ctx, Inner};

fn destination_rule_resource() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(
        "networking.istio.io",
        "v1",
        "DestinationRule",
    ))
}

/// One subset as routed: its weight and the host it is a subset of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub subset: String,
    pub host: String,
    pub weight: i64,
}

/// The first HTTP route's destinations (the one `traffic` sets).
pub(crate) fn routes(vs: &Value) -> Vec<Route> {
    let route = vs["spec"]["http"][0]["route"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let single = route.len() == 1;
    route
        .iter()
        .map(|r| Route {
            subset: r["destination"]["subset"].as_str().unwrap_or("").to_owned(),
            host: r["destination"]["host"].as_str().unwrap_or("").to_owned(),
            weight: r["weight"].as_i64().unwrap_or(if single { 100 } else { 0 }),
        })
        .collect()
}

/// `agent-engine.voiceassistant-prod.svc.cluster.local` and `agent-engine` are one host.
fn same_host(a: &str, b: &str) -> bool {
    a.split('.').next() == b.split('.').next()
}

fn labels_of(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) async fn bluegreen_status(
    inner: &Inner,
    ctx: &Ctx,
    svc: &Service,
) -> Result<Message, ExecError> {
    if !inner.has_istio() {
        return Err(ExecError::Precondition {
            why: "the Istio API (networking.istio.io) is not served by this cluster".into(),
        });
    }
    let name = &svc.name;
    let ns = svc.namespace.as_str();
    let Some(vs_name) = svc.virtual_service.as_deref() else {
        return Err(ExecError::Precondition {
            why: format!(
                "the catalog names no VirtualService for {name}: blue/green needs one (`virtual_service:`)"
            ),
        });
    };
    let vs_api: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), ns, &virtual_service_resource());
    let vs = ctx
        .op("get", "virtualservices", ns, vs_name)
        .run(vs_api.get(vs_name))
        .await?;
    let routes = routes(&vs.data);
    let dr_api: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), ns, &destination_rule_resource());
    let rules = ctx
        .op("list", "destinationrules", ns, "")
        .run(dr_api.list(&ListParams::default()))
        .await?
        .items;
    // The Service's selector: every version's pods carry it.
    let base = service_selector(ctx, ns, name).await?.unwrap_or_default();
    let deployments: Api<Deployment> = Api::namespaced(ctx.client.clone(), ns);
    let deployments = ctx
        .op("list", "deployments", ns, "")
        .run(deployments.list(&ListParams::default()))
        .await?
        .items;

    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut idle = Vec::new();
    for r in &routes {
        let rule = rules.iter().find(|d| {
            d.data["spec"]["host"]
                .as_str()
                .is_some_and(|h| same_host(h, &r.host))
        });
        let subset_labels = rule.and_then(|d| {
            d.data["spec"]["subsets"]
                .as_array()
                .and_then(|subs| subs.iter().find(|s| s["name"] == r.subset.as_str()))
                .map(|s| labels_of(&s["labels"]))
        });
        let Some(subset_labels) = subset_labels else {
            problems.push(format!(
                "subset `{}` ({}%) is not defined in any DestinationRule for {}: Envoy rejects the route",
                r.subset, r.weight, r.host
            ));
            rows.push(vec![
                r.subset.clone(),
                format!("{}%", r.weight),
                "— undefined".into(),
                "—".into(),
                "—".into(),
            ]);
            continue;
        };
        let mut selector = base.clone();
        selector.extend(subset_labels.clone());
        let pods = list_pods(ctx, ns, &label_selector(&selector)).await?;
        let ready = pods.iter().filter(|p| pod_state(p).ready).count();
        let owners: Vec<String> = deployments
            .iter()
            .filter(|d| {
                let labels = d
                    .spec
                    .as_ref()
                    .and_then(|s| s.template.metadata.as_ref())
                    .and_then(|m| m.labels.clone())
                    .unwrap_or_default();
                selector.iter().all(|(k, v)| labels.get(k) == Some(v))
            })
            .map(|d| {
                let st = d.status.clone().unwrap_or_default();
                format!(
                    "{} {}/{}",
                    d.name_any(),
                    st.ready_replicas.unwrap_or(0),
                    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
                )
            })
            .collect();
        if r.weight > 0 && ready == 0 {
            problems.push(format!(
                "{}% of {name}'s traffic goes to `{}`, which has no ready pod",
                r.weight, r.subset
            ));
        }
        if r.weight == 0 && ready > 0 {
            idle.push(r.subset.clone());
        }
        rows.push(vec![
            r.subset.clone(),
            format!("{}%", r.weight),
            label_selector(&subset_labels),
            if owners.is_empty() {
                "none".into()
            } else {
                owners.join(", ")
            },
            format!("{ready} of {}", pods.len()),
        ]);
    }
    let tone = if problems.is_empty() {
        Tone::Success
    } else {
        Tone::Danger
    };
    let mut m = Message::new(tone)
        .header(format!("Blue/green of {name}"))
        .paragraph(if problems.is_empty() {
            format!("Every subset that receives traffic has ready pods (VirtualService {vs_name}).")
        } else {
            problems.join("; ")
        })
        .table(
            &["SUBSET", "WEIGHT", "LABELS", "DEPLOYMENTS", "PODS READY"],
            rows,
        );
    if !idle.is_empty() {
        m = m.paragraph(format!(
            "Ready but receiving nothing: {}. Shift with `/va traffic {name} <subset>=<weight>…`.",
            idle.join(", ")
        ));
    }
    Ok(m.context("From the API server: the VirtualService, the DestinationRules, the Service's selector and the pods of each subset"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routes_read_weights_and_a_single_route_is_all_the_traffic() {
        let vs = json!({"spec": {"http": [{"route": [
            {"destination": {"host": "agent-engine", "subset": "blue"}, "weight": 80},
            {"destination": {"host": "agent-engine", "subset": "green"}, "weight": 20}]}]}});
        let r = routes(&vs);
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].subset.as_str(), r[0].weight), ("blue", 80));
        let single = json!({"spec": {"http": [{"route": [
            {"destination": {"host": "agent-engine", "subset": "blue"}}]}]}});
        assert_eq!(routes(&single)[0].weight, 100);
        assert!(same_host(
            "agent-engine.voiceassistant-prod.svc.cluster.local",
            "agent-engine"
        ));
        assert!(!same_host("agent-engine", "voice-gateway"));
    }
}
