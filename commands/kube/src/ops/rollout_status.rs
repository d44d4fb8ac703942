//! `rollout status <service>`: progress as `kubectl rollout status` reports it.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::ResourceExt;
use vabot_commands::catalog::{Service, WorkloadKind};
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use super::workload::{get_deployment, get_statefulset};
use crate::Ctx;

pub(crate) async fn rollout_status(ctx: &Ctx, svc: &Service) -> Result<Message, ExecError> {
    let (done, text) = match svc.kind {
        WorkloadKind::Deployment => {
            let d = get_deployment(ctx, svc).await?;
            deployment_status(&d)
        }
        WorkloadKind::StatefulSet => {
            let s = get_statefulset(ctx, svc).await?;
            statefulset_status(&s)
        }
    };
    Ok(Message::text(
        if done { Tone::Success } else { Tone::Warning },
        text,
    ))
}

/// kubectl's `DeploymentStatusViewer`, one poll.
pub(crate) fn deployment_status(d: &Deployment) -> (bool, String) {
    let name = d.name_any();
    let generation = d.metadata.generation.unwrap_or(0);
    let st = d.status.clone().unwrap_or_default();
    if generation > st.observed_generation.unwrap_or(0) {
        return (
            false,
            "Waiting for deployment spec update to be observed...".into(),
        );
    }
    let progressing = st
        .conditions
        .as_ref()
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Progressing"));
    if progressing.is_some_and(|c| c.reason.as_deref() == Some("ProgressDeadlineExceeded")) {
        return (
            false,
            format!("deployment \"{name}\" exceeded its progress deadline"),
        );
    }
    let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let updated = st.updated_replicas.unwrap_or(0);
    let total = st.replicas.unwrap_or(0);
    let available = st.available_replicas.unwrap_or(0);
    if updated < replicas {
        return (
            false,
            format!(
                "Waiting for deployment \"{name}\" rollout to finish: {updated} out of {replicas} new replicas have been updated..."
            ),
        );
    }
    if total > updated {
        return (
            false,
            format!(
                "Waiting for deployment \"{name}\" rollout to finish: {} old replicas are pending termination...",
                total - updated
            ),
        );
    }
    if available < updated {
        return (
            false,
            format!(
                "Waiting for deployment \"{name}\" rollout to finish: {available} of {updated} updated replicas are available..."
            ),
        );
    }
    (
        true,
        format!("deployment \"{name}\" successfully rolled out"),
    )
}

/// kubectl's `StatefulSetStatusViewer` (RollingUpdate), one poll.
pub(crate) fn statefulset_status(s: &StatefulSet) -> (bool, String) {
    let st = s.status.clone().unwrap_or_default();
    if st.observed_generation.unwrap_or(0) < s.metadata.generation.unwrap_or(0) {
        return (
            false,
            "Waiting for statefulset spec update to be observed...".into(),
        );
    }
    let replicas = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let ready = st.ready_replicas.unwrap_or(0);
    if ready < replicas {
        return (
            false,
            format!("Waiting for {} pods to be ready...", replicas - ready),
        );
    }
    if st.update_revision != Some(st.current_revision.clone().unwrap_or_default()) {
        return (
            false,
            format!(
                "waiting for statefulset rolling update to complete {} pods at revision {}...",
                st.updated_replicas.unwrap_or(0),
                st.update_revision.unwrap_or_default()
            ),
        );
    }
    (
        true,
        format!(
            "statefulset rolling update complete {replicas} pods at revision {}...",
            st.current_revision.unwrap_or_default()
        ),
    )
}
