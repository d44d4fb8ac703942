//! `hpa set <service> [min=<n>] [max=<m>] [cpu=<percent>] [memory=<percent>]`: an
//! autoscaler's bounds and its resource utilisation targets (runbook §5.2 `kubectl edit
//! hpa`). The whole previous spec part (bounds and metrics) is the undo.

use k8s_openapi::api::autoscaling::v2::{
    HorizontalPodAutoscaler, MetricSpec, MetricTarget, ResourceMetricSource,
};
use kube::ResourceExt;
use kube::api::{Api, Patch};
use serde_json::{Value, json};
use vabot_commands::catalog::Service;
use vabot_commands::plan::RiskClass;
use vabot_commands::ports::ExecError;

use super::hpa::find_hpa;
use super::{Done, Restore, check, fp_of, params, target};
use crate::Ctx;

/// What to change; `None` keeps the current value.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct HpaChange {
    pub min: Option<i32>,
    pub max: Option<i32>,
    pub cpu: Option<i32>,
    pub memory: Option<i32>,
}

/// The utilisation target of a resource metric, if the HPA has one.
pub(crate) fn utilisation(metrics: &[MetricSpec], resource: &str) -> Option<i32> {
    metrics
        .iter()
        .filter_map(|m| m.resource.as_ref())
        .find(|r| r.name == resource)
        .and_then(|r| r.target.average_utilization)
}

/// Sets (or adds) a resource metric's utilisation target, keeping every other metric.
fn with_utilisation(mut metrics: Vec<MetricSpec>, resource: &str, pct: i32) -> Vec<MetricSpec> {
    let target = MetricTarget {
        type_: "Utilization".into(),
        average_utilization: Some(pct),
        ..Default::default()
    };
    match metrics
        .iter_mut()
        .filter_map(|m| m.resource.as_mut())
        .find(|r| r.name == resource)
    {
        Some(r) => r.target = target,
        None => metrics.push(MetricSpec {
            type_: "Resource".into(),
            resource: Some(ResourceMetricSource {
                name: resource.into(),
                target,
            }),
            ..Default::default()
        }),
    }
    metrics
}

fn pct(v: Option<i32>) -> String {
    v.map_or_else(|| "none".to_owned(), |v| format!("{v}%"))
}

pub(crate) async fn hpa_set(
    ctx: &Ctx,
    svc: &Service,
    change: HpaChange,
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    let h = find_hpa(ctx, svc).await?;
    let ns = svc.namespace.as_str().to_owned();
    let name = h.name_any();
    let fp = fp_of(&h.metadata);
    let what = format!("HorizontalPodAutoscaler {ns}/{name}");
    check(expect, &fp, &what)?;
    let spec = h.spec.clone();
    let old_min = spec.min_replicas.unwrap_or(1);
    let (min, max) = (
        change.min.unwrap_or(old_min),
        change.max.unwrap_or(spec.max_replicas),
    );
    if min > max || min < 1 {
        return Err(ExecError::Precondition {
            why: format!(
                "min={min} max={max} is not a valid range (1 ≤ min ≤ max; {name} has min={old_min} max={})",
                spec.max_replicas
            ),
        });
    }
    let old_metrics = spec.metrics.clone().unwrap_or_default();
    let mut metrics = old_metrics.clone();
    let mut changes = Vec::new();
    if change.min.is_some() {
        changes.push(("minReplicas".into(), old_min.to_string(), min.to_string()));
    }
    if change.max.is_some() {
        changes.push((
            "maxReplicas".into(),
            spec.max_replicas.to_string(),
            max.to_string(),
        ));
    }
    for (resource, value) in [("cpu", change.cpu), ("memory", change.memory)] {
        if let Some(v) = value {
            changes.push((
                format!("{resource} target"),
                pct(utilisation(&old_metrics, resource)),
                format!("{v}%"),
            ));
            metrics = with_utilisation(metrics, resource, v);
        }
    }
    if changes.iter().all(|(_, b, a)| b == a) {
        return Err(ExecError::Precondition {
            why: format!("{what} already has these settings"),
        });
    }
    let mut body = json!({"minReplicas": min, "maxReplicas": max});
    if change.cpu.is_some() || change.memory.is_some() {
        body["metrics"] = serde_json::to_value(&metrics).map_err(|e| ExecError::Internal {
            detail: e.to_string(),
        })?;
    }
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(ctx.client.clone(), &ns);
    // A merge patch replaces the metrics list whole: every other metric is in it as it was.
    let patch: Patch<Value> = Patch::Merge(json!({ "spec": body }));
    ctx.op("patch", "horizontalpodautoscalers", &ns, &name)
        .run(api.patch(&name, &params(expect.is_none()), &patch))
        .await?;
    Ok(Done {
        summary: format!("Set {what}"),
        done_title: "Set".into(),
        target: target("HorizontalPodAutoscaler", &ns, &name),
        changes,
        fingerprint: fp,
        notes: Vec::new(),
        risk: RiskClass::Write,
        before: Restore::HpaBounds {
            namespace: ns.clone(),
            name: name.clone(),
            min: spec.min_replicas,
            max: spec.max_replicas,
            metrics: (change.cpu.is_some() || change.memory.is_some())
                .then(|| serde_json::to_value(&old_metrics).ok())
                .flatten(),
        },
        after: json!({"min": min, "max": max, "cpu": change.cpu, "memory": change.memory}),
    })
}
