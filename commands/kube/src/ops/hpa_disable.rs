//! `hpa disable <service>`: deletes the autoscaler; its manifest is the undo.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams};
use serde_json::json;
use vabot_commands::catalog::Service;
use vabot_commands::plan::RiskClass;
use vabot_commands::ports::ExecError;

use super::hpa::find_hpa;
use super::{Done, Restore, check, fp_of, target};
use crate::Ctx;

pub(crate) async fn hpa_disable(
    ctx: &Ctx,
    svc: &Service,
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    let h = find_hpa(ctx, svc).await?;
    let ns = svc.namespace.as_str().to_owned();
    let name = h.name_any();
    let fp = fp_of(&h.metadata);
    let what = format!("HorizontalPodAutoscaler {ns}/{name}");
    check(expect, &fp, &what)?;
    let spec = h.spec.clone();
    let manifest = serde_json::to_value(&h).map_err(|e| ExecError::Internal {
        detail: e.to_string(),
    })?;
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(ctx.client.clone(), &ns);
    let dp = if expect.is_none() {
        DeleteParams::default().dry_run()
    } else {
        DeleteParams::default()
    };
    ctx.op("delete", "horizontalpodautoscalers", &ns, &name)
        .run(api.delete(&name, &dp))
        .await?;
    Ok(Done {
        summary: format!("Delete {what}"),
        done_title: "Deleted".into(),
        target: target("HorizontalPodAutoscaler", &ns, &name),
        changes: vec![(
            "HorizontalPodAutoscaler".into(),
            format!(
                "present (min {}, max {})",
                spec.min_replicas.unwrap_or(1),
                spec.max_replicas
            ),
            "deleted".into(),
        )],
        fingerprint: fp,
        notes: vec![format!(
            "{} keeps its current replica count; its manifest is kept so `/va undo` re-creates the HPA.",
            svc.name
        )],
        risk: RiskClass::Destructive,
        before: Restore::Create { manifest },
        after: json!({"deleted": true}),
    })
}
