//! `restart <service>`: a rolling restart as `kubectl rollout restart` does it (the
//! pod-template annotation).

use k8s_openapi::api::core::v1::PodTemplateSpec;
use kube::api::Patch;
use serde_json::json;
use vabot_commands::catalog::Service;
use vabot_commands::plan::RiskClass;
use vabot_commands::ports::ExecError;

use super::workload::{Workload, load, patch_workload, template_restore};
use super::{Done, check};
use crate::Ctx;

pub(crate) const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

pub(crate) fn restarted_at(t: &PodTemplateSpec) -> Option<String> {
    t.metadata
        .as_ref()
        .and_then(|m| m.annotations.as_ref())
        .and_then(|a| a.get(RESTARTED_AT).cloned())
}

/// `kubectl rollout restart`: the pod-template annotation, by strategic merge patch.
pub(crate) async fn restart_workload(
    ctx: &Ctx,
    wl: &Workload,
    dry: bool,
) -> Result<String, ExecError> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let patch = Patch::Strategic(
        json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}),
    );
    patch_workload(ctx, wl, patch, dry).await?;
    Ok(now)
}

pub(crate) async fn restart(
    ctx: &Ctx,
    svc: &Service,
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    let wl = load(ctx, svc).await?;
    check(expect, &wl.fingerprint, &wl.what())?;
    let at = restart_workload(ctx, &wl, expect.is_none()).await?;
    Ok(Done {
        summary: format!("Restart {} (rolling)", wl.what()),
        done_title: "Restarted".into(),
        target: wl.target(),
        changes: vec![(
            "restartedAt".into(),
            restarted_at(&wl.template).unwrap_or_else(|| "never".into()),
            if expect.is_none() {
                "now (at execution)".into()
            } else {
                at.clone()
            },
        )],
        fingerprint: wl.fingerprint.clone(),
        notes: vec![format!(
            "Pods are replaced one by one ({} replicas).",
            wl.replicas
        )],
        risk: RiskClass::Write,
        before: template_restore(&wl, false)?,
        after: json!({"restartedAt": at}),
    })
}
