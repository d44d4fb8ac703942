//! What every workload command needs: the Deployment or StatefulSet behind a catalog
//! service, found, loaded, patched.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec, Service as KubeService};
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch};
use serde_json::Value;
use vabot_commands::catalog::{Service, WorkloadKind};
use vabot_commands::plan::ObjectRef;
use vabot_commands::ports::ExecError;

use super::{Restore, fp_of, params, target};
use crate::Ctx;

// === workloads ===

/// The workload's pod selector as a label selector string.
pub(crate) async fn selector_of(ctx: &Ctx, svc: &Service) -> Result<String, ExecError> {
    let ns = svc.namespace.as_str();
    let labels = match svc.kind {
        WorkloadKind::Deployment => get_deployment(ctx, svc).await?.spec.map(|s| s.selector),
        WorkloadKind::StatefulSet => get_statefulset(ctx, svc).await?.spec.map(|s| s.selector),
    }
    .and_then(|s| s.match_labels)
    .unwrap_or_default();
    if labels.is_empty() {
        return Err(ExecError::Precondition {
            why: format!(
                "{} {}/{} has no matchLabels selector",
                svc.kind, ns, svc.name
            ),
        });
    }
    Ok(label_selector(&labels))
}

/// `k=v,k=v`: labels as a label selector.
pub(crate) fn label_selector(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The Kubernetes Service `name`'s pod selector (empty when it has none); `None` when
/// there is no such Service. One list by name: the Role grants `services list`.
pub(crate) async fn service_selector(
    ctx: &Ctx,
    ns: &str,
    name: &str,
) -> Result<Option<BTreeMap<String, String>>, ExecError> {
    let api: Api<KubeService> = Api::namespaced(ctx.client.clone(), ns);
    Ok(ctx
        .op("list", "services", ns, name)
        .run(api.list(&ListParams::default().fields(&format!("metadata.name={name}"))))
        .await?
        .items
        .into_iter()
        .next()
        .map(|s| s.spec.and_then(|s| s.selector).unwrap_or_default()))
}

/// A 404 for a catalog workload: say so, and whether it exists in another namespace.
pub(crate) async fn missing(ctx: &Ctx, svc: &Service, other_namespaces: &[String]) -> ExecError {
    for ns in other_namespaces {
        if ns == svc.namespace.as_str() {
            continue;
        }
        let found = match svc.kind {
            WorkloadKind::Deployment => Api::<Deployment>::namespaced(ctx.client.clone(), ns)
                .get_opt(&svc.name)
                .await
                .ok()
                .flatten()
                .is_some(),
            WorkloadKind::StatefulSet => Api::<StatefulSet>::namespaced(ctx.client.clone(), ns)
                .get_opt(&svc.name)
                .await
                .ok()
                .flatten()
                .is_some(),
        };
        if found {
            return ExecError::Precondition {
                why: format!(
                    "{} {} is not in {}, where the catalog places it, but in {ns}; vabot only acts on the catalog's namespace",
                    svc.kind, svc.name, svc.namespace
                ),
            };
        }
    }
    ExecError::NotFound {
        what: format!("{} {} in {}", svc.kind, svc.name, svc.namespace),
    }
}

pub(crate) async fn get_deployment(ctx: &Ctx, svc: &Service) -> Result<Deployment, ExecError> {
    let ns = svc.namespace.as_str();
    let api: Api<Deployment> = Api::namespaced(ctx.client.clone(), ns);
    match ctx
        .op("get", "deployments", ns, &svc.name)
        .run(api.get(&svc.name))
        .await
    {
        Err(ExecError::NotFound { .. }) => Err(missing(ctx, svc, &other_ns(svc)).await),
        r => r,
    }
}

pub(crate) async fn get_statefulset(ctx: &Ctx, svc: &Service) -> Result<StatefulSet, ExecError> {
    let ns = svc.namespace.as_str();
    let api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), ns);
    match ctx
        .op("get", "statefulsets", ns, &svc.name)
        .run(api.get(&svc.name))
        .await
    {
        Err(ExecError::NotFound { .. }) => Err(missing(ctx, svc, &other_ns(svc)).await),
        r => r,
    }
}

/// The namespaces to look in when a workload is not where the catalog says.
pub(crate) fn other_ns(svc: &Service) -> Vec<String> {
    ["voiceassistant-prod", "voiceassistant-infra", "default"]
        .iter()
        .map(|s| (*s).to_owned())
        .filter(|n| n != svc.namespace.as_str())
        .collect()
}

pub(crate) async fn list_pods(ctx: &Ctx, ns: &str, selector: &str) -> Result<Vec<Pod>, ExecError> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let mut pods = ctx
        .op("list", "pods", ns, "")
        .run(api.list(&ListParams::default().labels(selector)))
        .await?
        .items;
    pods.sort_by_key(|p| p.name_any());
    Ok(pods)
}

pub(crate) fn age_of(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> String {
    let Some(t) = t else { return "-".into() };
    let secs = (k8s_openapi::jiff::Timestamp::now().as_second() - t.0.as_second()).max(0);
    human_secs(secs)
}

pub(crate) fn human_secs(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

// === workloads ===

/// The parts of a Deployment or StatefulSet the writes need.
pub(crate) struct Workload {
    pub(crate) kind: WorkloadKind,
    pub(crate) ns: String,
    pub(crate) name: String,
    pub(crate) replicas: i32,
    pub(crate) fingerprint: String,
    pub(crate) template: PodTemplateSpec,
    pub(crate) annotations: BTreeMap<String, String>,
}

impl Workload {
    pub(crate) fn what(&self) -> String {
        format!("{} {}/{}", self.kind, self.ns, self.name)
    }
    pub(crate) fn target(&self) -> ObjectRef {
        target(self.kind.to_string(), &self.ns, &self.name)
    }
    pub(crate) fn resource(&self) -> &'static str {
        match self.kind {
            WorkloadKind::Deployment => "deployments",
            WorkloadKind::StatefulSet => "statefulsets",
        }
    }
}

pub(crate) async fn load(ctx: &Ctx, svc: &Service) -> Result<Workload, ExecError> {
    Ok(match svc.kind {
        WorkloadKind::Deployment => {
            let d = get_deployment(ctx, svc).await?;
            let spec = d.spec.clone().unwrap_or_default();
            Workload {
                kind: svc.kind,
                ns: svc.namespace.as_str().to_owned(),
                name: svc.name.clone(),
                replicas: spec.replicas.unwrap_or(1),
                fingerprint: fp_of(&d.metadata),
                template: spec.template,
                annotations: d.annotations().clone(),
            }
        }
        WorkloadKind::StatefulSet => {
            let s = get_statefulset(ctx, svc).await?;
            let spec = s.spec.clone().unwrap_or_default();
            Workload {
                kind: svc.kind,
                ns: svc.namespace.as_str().to_owned(),
                name: svc.name.clone(),
                replicas: spec.replicas.unwrap_or(1),
                fingerprint: fp_of(&s.metadata),
                template: spec.template,
                annotations: s.annotations().clone(),
            }
        }
    })
}

/// Loads a workload named by a restore record (undo) through a synthetic catalog entry.
pub(crate) async fn load_named(
    ctx: &Ctx,
    kind: WorkloadKind,
    ns: &str,
    name: &str,
) -> Result<Workload, ExecError> {
    let svc = Service {
        name: name.to_owned(),
        kind,
        namespace: ns.into(),
        min_replicas: 0,
        max_replicas: 0,
        containers: Vec::new(),
        dependency: None,
        hpa: None,
        configmap: None,
        secret: None,
        virtual_service: None,
        sidecars: Vec::new(),
        probe_port: None,
        probe_path: None,
    };
    load(ctx, &svc).await
}

pub(crate) async fn patch_workload(
    ctx: &Ctx,
    wl: &Workload,
    patch: Patch<Value>,
    dry: bool,
) -> Result<(), ExecError> {
    let op = ctx.op("patch", wl.resource(), &wl.ns, &wl.name);
    match wl.kind {
        WorkloadKind::Deployment => {
            let api: Api<Deployment> = Api::namespaced(ctx.client.clone(), &wl.ns);
            op.run(api.patch(&wl.name, &params(dry), &patch))
                .await
                .map(|_| ())
        }
        WorkloadKind::StatefulSet => {
            let api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &wl.ns);
            op.run(api.patch(&wl.name, &params(dry), &patch))
                .await
                .map(|_| ())
        }
    }
}

pub(crate) fn json_patch(v: Value) -> Result<Patch<Value>, ExecError> {
    serde_json::from_value::<json_patch::Patch>(v)
        .map(Patch::Json)
        .map_err(|e| ExecError::Internal {
            detail: format!("building a JSON patch: {e}"),
        })
}

pub(crate) fn template_restore(wl: &Workload, annotations: bool) -> Result<Restore, ExecError> {
    Ok(Restore::Template {
        kind: wl.kind,
        namespace: wl.ns.clone(),
        name: wl.name.clone(),
        template: serde_json::to_value(&wl.template).map_err(|e| ExecError::Internal {
            detail: e.to_string(),
        })?,
        annotations: annotations.then(|| wl.annotations.clone()),
    })
}

pub(crate) fn load_from_deployment(svc: &Service, d: &Deployment) -> Workload {
    let spec = d.spec.clone().unwrap_or_default();
    Workload {
        kind: WorkloadKind::Deployment,
        ns: svc.namespace.as_str().to_owned(),
        name: svc.name.clone(),
        replicas: spec.replicas.unwrap_or(1),
        fingerprint: fp_of(&d.metadata),
        template: spec.template,
        annotations: d.annotations().clone(),
    }
}

pub(crate) fn load_from_statefulset(svc: &Service, s: &StatefulSet) -> Workload {
    let spec = s.spec.clone().unwrap_or_default();
    Workload {
        kind: WorkloadKind::StatefulSet,
        ns: svc.namespace.as_str().to_owned(),
        name: svc.name.clone(),
        replicas: spec.replicas.unwrap_or(1),
        fingerprint: fp_of(&s.metadata),
        template: spec.template,
        annotations: s.annotations().clone(),
    }
}
