//! `rollback <service> [--to-revision n]`: `kubectl rollout undo` semantics, for
//! Deployments (ReplicaSet history) and StatefulSets (ControllerRevisions).

use kube::api::Patch;
use serde_json::{Value, json};
use vabot_commands::catalog::{Service, WorkloadKind};
use vabot_commands::plan::RiskClass;
use vabot_commands::ports::ExecError;

use super::rollout_history::{deployment_history, statefulset_revisions};
use super::workload::{
    json_patch, load_from_deployment, load_from_statefulset, patch_workload, template_restore,
};
use super::{Done, check};
use crate::Ctx;
use crate::revisions::{self, image_of};

/// `(generation, observed)` when the controller has not yet seen the latest spec.
pub(crate) fn observed(generation: Option<i64>, seen: Option<i64>) -> Option<(i64, i64)> {
    let g = generation.unwrap_or(0);
    let o = seen.unwrap_or(0);
    (o < g).then_some((g, o))
}

/// Reads a workload's revision history once its controller has recorded the latest
/// change: right after a `set-image`, the new revision does not exist yet, and "the
/// previous revision" would be one too far back.
pub(crate) async fn settled<T, F, Fut>(
    ctx: &Ctx,
    svc: &Service,
    read: F,
    lagging: impl Fn(&T) -> Option<(i64, i64)>,
) -> Result<T, ExecError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, ExecError>>,
{
    let end = tokio::time::Instant::now() + ctx.timeout.min(std::time::Duration::from_secs(8));
    loop {
        let got = read().await?;
        match lagging(&got) {
            None => return Ok(got),
            Some((g, o)) if tokio::time::Instant::now() >= end => {
                return Err(ExecError::Precondition {
                    why: format!(
                        "the controller has not recorded the last change to {} yet (generation {g}, observed {o}), so its history is not current; try again in a moment",
                        svc.name
                    ),
                });
            }
            Some(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
        }
    }
}

pub(crate) async fn rollback(
    ctx: &Ctx,
    svc: &Service,
    to: Option<i64>,
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    let dry = expect.is_none();
    match svc.kind {
        WorkloadKind::Deployment => {
            let (d, all, _) = settled(
                ctx,
                svc,
                || deployment_history(ctx, svc),
                |(d, ..)| {
                    observed(
                        d.metadata.generation,
                        d.status.as_ref().and_then(|s| s.observed_generation),
                    )
                },
            )
            .await?;
            let wl = load_from_deployment(svc, &d);
            check(expect, &wl.fingerprint, &wl.what())?;
            let plan = revisions::plan_deployment(&d, &all, to)
                .map_err(|e| ExecError::Precondition { why: e.to_string() })?;
            patch_workload(ctx, &wl, json_patch(plan.patch.clone())?, dry).await?;
            Ok(Done {
                summary: format!("Roll back {} to revision {}", wl.what(), plan.to_revision),
                done_title: "Rolled back".into(),
                target: wl.target(),
                changes: vec![(
                    "revision".into(),
                    format!(
                        "{} (image {})",
                        plan.from_revision.map_or_else(|| "?".into(), |r| r.to_string()),
                        image_of(&wl.template)
                    ),
                    format!("{} (image {})", plan.to_revision, image_of(&plan.template)),
                )],
                fingerprint: wl.fingerprint.clone(),
                notes: vec!["As `kubectl rollout undo`: the Deployment gets the old ReplicaSet's template, which becomes the newest revision.".into()],
                risk: RiskClass::Write,
                before: template_restore(&wl, true)?,
                after: json!({"revision": plan.to_revision, "image": image_of(&plan.template)}),
            })
        }
        WorkloadKind::StatefulSet => {
            let (s, revisions) = settled(
                ctx,
                svc,
                || statefulset_revisions(ctx, svc),
                |(s, _)| {
                    observed(
                        s.metadata.generation,
                        s.status.as_ref().and_then(|st| st.observed_generation),
                    )
                },
            )
            .await?;
            let wl = load_from_statefulset(svc, &s);
            check(expect, &wl.fingerprint, &wl.what())?;
            let current = s.status.as_ref().and_then(|st| st.update_revision.clone());
            let plan = revisions::plan_statefulset(
                s.metadata.uid.as_deref().unwrap_or_default(),
                &svc.name,
                current.as_deref(),
                &revisions,
                to,
            )
            .map_err(|e| ExecError::Precondition { why: e.to_string() })?;
            let image = plan
                .patch
                .pointer("/spec/template/spec/containers/0/image")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            patch_workload(ctx, &wl, Patch::Strategic(plan.patch.clone()), dry).await?;
            Ok(Done {
                summary: format!("Roll back {} to revision {}", wl.what(), plan.to_revision),
                done_title: "Rolled back".into(),
                target: wl.target(),
                changes: vec![(
                    "revision".into(),
                    format!(
                        "{} (image {})",
                        plan.from_revision
                            .map_or_else(|| "?".into(), |r| r.to_string()),
                        image_of(&wl.template)
                    ),
                    format!("{} (image {image})", plan.to_revision),
                )],
                fingerprint: wl.fingerprint.clone(),
                notes: Vec::new(),
                risk: RiskClass::Write,
                before: template_restore(&wl, false)?,
                after: json!({"revision": plan.to_revision, "image": image}),
            })
        }
    }
}
