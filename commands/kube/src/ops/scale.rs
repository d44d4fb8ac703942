//! `scale <service> <n>`: the scale subresource (0 is destructive); the old count is the
//! undo.

use std::fmt::Debug;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use kube::Resource;
use kube::api::{Api, Patch, PostParams};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use vabot_commands::catalog::{Service, WorkloadKind};
use vabot_commands::plan::RiskClass;
use vabot_commands::ports::ExecError;

use super::workload::{Workload, load};
use super::{Done, Restore, check, params};
use crate::Ctx;
use crate::error::is_conflict;

/// Sets replicas through the scale subresource: read, set, update with the read
/// resourceVersion; a 409 (someone else wrote in between) is retried.
pub(crate) async fn set_scale<K>(
    ctx: &Ctx,
    api: Api<K>,
    resource: &str,
    ns: &str,
    name: &str,
    replicas: i32,
) -> Result<(), ExecError>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let mut attempt = 0u32;
    loop {
        let mut scale = ctx
            .op("get", resource, ns, name)
            .run(api.get_scale(name))
            .await?;
        scale.spec.get_or_insert_with(Default::default).replicas = Some(replicas);
        match ctx
            .op("update", resource, ns, name)
            .run(api.replace_scale(name, &PostParams::default(), &scale))
            .await
        {
            Err(e) if is_conflict(&e) && attempt < 4 => {
                attempt += 1;
                tracing::info!(attempt, name, "Scale conflicted; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(50 * u64::from(attempt))).await;
            }
            r => return r.map(|_| ()),
        }
    }
}

pub(crate) async fn apply_scale(
    ctx: &Ctx,
    wl: &Workload,
    replicas: i32,
    dry: bool,
) -> Result<(), ExecError> {
    let resource = format!("{}/scale", wl.resource());
    if dry {
        let patch: Patch<Value> = Patch::Merge(json!({"spec": {"replicas": replicas}}));
        let op = ctx.op("patch", &resource, &wl.ns, &wl.name);
        return match wl.kind {
            WorkloadKind::Deployment => {
                let api: Api<Deployment> = Api::namespaced(ctx.client.clone(), &wl.ns);
                op.run(api.patch_scale(&wl.name, &params(true), &patch))
                    .await
                    .map(|_| ())
            }
            WorkloadKind::StatefulSet => {
                let api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &wl.ns);
                op.run(api.patch_scale(&wl.name, &params(true), &patch))
                    .await
                    .map(|_| ())
            }
        };
    }
    match wl.kind {
        WorkloadKind::Deployment => {
            set_scale(
                ctx,
                Api::<Deployment>::namespaced(ctx.client.clone(), &wl.ns),
                &resource,
                &wl.ns,
                &wl.name,
                replicas,
            )
            .await
        }
        WorkloadKind::StatefulSet => {
            set_scale(
                ctx,
                Api::<StatefulSet>::namespaced(ctx.client.clone(), &wl.ns),
                &resource,
                &wl.ns,
                &wl.name,
                replicas,
            )
            .await
        }
    }
}

pub(crate) async fn scale(
    ctx: &Ctx,
    svc: &Service,
    replicas: i32,
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    let wl = load(ctx, svc).await?;
    check(expect, &wl.fingerprint, &wl.what())?;
    if wl.replicas == replicas {
        return Err(ExecError::Precondition {
            why: format!("{} already has {replicas} replicas", wl.what()),
        });
    }
    let mut notes = Vec::new();
    if let Some(h) = &svc.hpa {
        notes.push(format!(
            "HorizontalPodAutoscaler {h} also manages the replica count; it keeps it within its min/max."
        ));
    }
    apply_scale(ctx, &wl, replicas, expect.is_none()).await?;
    Ok(Done {
        summary: format!("Scale {}", wl.what()),
        done_title: "Scaled".into(),
        target: wl.target(),
        changes: vec![(
            "replicas".into(),
            wl.replicas.to_string(),
            replicas.to_string(),
        )],
        fingerprint: wl.fingerprint.clone(),
        notes,
        risk: if replicas == 0 {
            RiskClass::Destructive
        } else {
            RiskClass::Write
        },
        before: Restore::Scale {
            kind: wl.kind,
            namespace: wl.ns.clone(),
            name: wl.name.clone(),
            replicas: wl.replicas,
        },
        after: json!({"replicas": replicas}),
    })
}
