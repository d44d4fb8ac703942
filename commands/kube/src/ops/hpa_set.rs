//! `hpa set <service> min=<n> max=<m>`: an autoscaler's bounds.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::ResourceExt;
use kube::api::{Api, Patch};
use serde_json::{Value, json};
use vabot_commands::catalog::Service;
use vabot_commands::plan::RiskClass;
use vabot_commands::ports::ExecError;

use super::hpa::find_hpa;
use super::{Done, Restore, check, fp_of, params, target};
use crate::Ctx;

// === HPA ===

pub(crate) async fn hpa_set(
    ctx: &Ctx,
    svc: &Service,
    min: i32,
    max: i32,
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    if min > max || min < 1 {
        return Err(ExecError::Precondition {
            why: format!("min={min} max={max} is not a valid range (1 ≤ min ≤ max)"),
        });
    }
    let h = find_hpa(ctx, svc).await?;
    let ns = svc.namespace.as_str().to_owned();
    let name = h.name_any();
    let fp = fp_of(&h.metadata);
    let what = format!("HorizontalPodAutoscaler {ns}/{name}");
    check(expect, &fp, &what)?;
    let spec = h.spec.clone();
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(ctx.client.clone(), &ns);
    let patch: Patch<Value> =
        Patch::Merge(json!({"spec": {"minReplicas": min, "maxReplicas": max}}));
    ctx.op("patch", "horizontalpodautoscalers", &ns, &name)
        .run(api.patch(&name, &params(expect.is_none()), &patch))
        .await?;
    Ok(Done {
        summary: format!("Set bounds of {what}"),
        done_title: "Bounds set on".into(),
        target: target("HorizontalPodAutoscaler", &ns, &name),
        changes: vec![
            (
                "minReplicas".into(),
                spec.min_replicas.unwrap_or(1).to_string(),
                min.to_string(),
            ),
            (
                "maxReplicas".into(),
                spec.max_replicas.to_string(),
                max.to_string(),
            ),
        ],
        fingerprint: fp,
        notes: Vec::new(),
        risk: RiskClass::Write,
        before: Restore::HpaBounds {
            namespace: ns.clone(),
            name: name.clone(),
            min: spec.min_replicas,
            max: spec.max_replicas,
        },
        after: json!({"min": min, "max": max}),
    })
}
