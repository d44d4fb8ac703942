//! `rollout history <service>`: revisions with their change-cause.

use k8s_openapi::api::apps::v1::{ControllerRevision, Deployment, ReplicaSet, StatefulSet};
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use serde_json::Value;
use vabot_commands::catalog::{Service, WorkloadKind};
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use super::workload::{get_deployment, get_statefulset};
use crate::Ctx;
use crate::revisions::{CHANGE_CAUSE, image_of, revision_of};

/// `(revision, change-cause, image)` rows of a Deployment's history, oldest first.
pub(crate) async fn deployment_history(
    ctx: &Ctx,
    svc: &Service,
) -> Result<(Deployment, Vec<ReplicaSet>, Vec<(i64, String, String)>), ExecError> {
    let d = get_deployment(ctx, svc).await?;
    let ns = svc.namespace.as_str();
    let selector = d
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.clone())
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), ns);
    let all = ctx
        .op("list", "replicasets", ns, "")
        .run(api.list(&ListParams::default().labels(&selector)))
        .await?
        .items;
    let mut rows: Vec<(i64, String, String)> = crate::revisions::owned_replica_sets(&d, &all)
        .into_iter()
        .filter_map(|rs| {
            let rev = revision_of(rs.annotations())?;
            let cause = rs
                .annotations()
                .get(CHANGE_CAUSE)
                .cloned()
                .unwrap_or_else(|| "<none>".into());
            let image = rs
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .map(image_of)
                .unwrap_or_default();
            Some((rev, cause, image))
        })
        .collect();
    rows.sort_by_key(|r| r.0);
    Ok((d, all, rows))
}

pub(crate) async fn statefulset_revisions(
    ctx: &Ctx,
    svc: &Service,
) -> Result<(StatefulSet, Vec<ControllerRevision>), ExecError> {
    let s = get_statefulset(ctx, svc).await?;
    let ns = svc.namespace.as_str();
    let api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), ns);
    let all = ctx
        .op("list", "controllerrevisions", ns, "")
        .run(api.list(&ListParams::default()))
        .await?
        .items;
    Ok((s, all))
}

pub(crate) async fn rollout_history(ctx: &Ctx, svc: &Service) -> Result<Message, ExecError> {
    let ns = svc.namespace.as_str();
    let (current, rows) = match svc.kind {
        WorkloadKind::Deployment => {
            let (d, _, rows) = deployment_history(ctx, svc).await?;
            (revision_of(d.annotations()), rows)
        }
        WorkloadKind::StatefulSet => {
            let (s, all) = statefulset_revisions(ctx, svc).await?;
            let uid = s.metadata.uid.clone().unwrap_or_default();
            let current_name = s.status.as_ref().and_then(|st| st.update_revision.clone());
            let mut current = None;
            let mut rows: Vec<(i64, String, String)> = all
                .iter()
                .filter(|r| {
                    r.owner_references()
                        .iter()
                        .any(|o| o.controller == Some(true) && o.uid == uid)
                })
                .map(|r| {
                    if Some(r.name_any()) == current_name {
                        current = Some(r.revision);
                    }
                    let image = r
                        .data
                        .as_ref()
                        .and_then(|d| d.0.pointer("/spec/template/spec/containers/0/image"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    (
                        r.revision,
                        r.annotations()
                            .get(CHANGE_CAUSE)
                            .cloned()
                            .unwrap_or_else(|| "<none>".into()),
                        image,
                    )
                })
                .collect();
            rows.sort_by_key(|r| r.0);
            (current, rows)
        }
    };
    let table = rows
        .iter()
        .map(|(rev, cause, image)| {
            vec![
                format!(
                    "{rev}{}",
                    if Some(*rev) == current {
                        " (current)"
                    } else {
                        ""
                    }
                ),
                cause.clone(),
                image.clone(),
            ]
        })
        .collect();
    Ok(Message::new(Tone::Info)
        .header(format!("Rollout history of {} {ns}/{}", svc.kind, svc.name))
        .table(&["REVISION", "CHANGE-CAUSE", "IMAGE"], table))
}
