//! Write commands. One function per command serves both stages: planning reads the
//! current state and sends the change with `dryRun=All`; execution re-reads, checks the
//! plan's fingerprint (so a changed target is refused) and sends it for real. Each
//! returns the before-state as a [`Restore`], which is what `undo` applies.

use std::collections::BTreeMap;
use std::fmt::Debug;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, PodTemplateSpec};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vabot_commands::catalog::{Service, WorkloadKind};
use vabot_commands::grammar::{Command, Weight};
use vabot_commands::message::{Message, Tone};
use vabot_commands::plan::{ObjectRef, RiskClass};
use vabot_commands::ports::{ExecError, Outcome};
use vabot_commands::store::ExecutionRecord;

use crate::cache::envoy_filter_resource;
use crate::error::is_conflict;
use crate::read::{self, virtual_service_resource};
use crate::rollback::{self, image_of};
use crate::{Ctx, Inner, redact};

const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

/// A before-state that `undo` can put back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "restore", rename_all = "snake_case")]
pub enum Restore {
    Scale {
        kind: WorkloadKind,
        namespace: String,
        name: String,
        replicas: i32,
    },
    /// A workload's pod template (and, for rollbacks, its annotations).
    Template {
        kind: WorkloadKind,
        namespace: String,
        name: String,
        template: Value,
        #[serde(default)]
        annotations: Option<BTreeMap<String, String>>,
    },
    HpaBounds {
        namespace: String,
        name: String,
        min: Option<i32>,
        max: i32,
    },
    Config {
        namespace: String,
        name: String,
        key: String,
        /// None: the key did not exist.
        value: Option<String>,
        /// The workload restarted with the change, restarted again on undo.
        #[serde(default)]
        restart: Option<(WorkloadKind, String)>,
    },
    VsHttp {
        namespace: String,
        name: String,
        http: Value,
    },
    /// A deleted object: its full manifest.
    Create { manifest: Value },
    /// An object that did not exist before (an undone deletion).
    Delete {
        api_version: String,
        kind: String,
        namespace: String,
        name: String,
    },
}

/// What a write did or would do.
#[derive(Debug, Clone)]
pub struct Done {
    pub summary: String,
    /// "Scaled", "Restarted", … for the result message.
    pub done_title: String,
    pub target: ObjectRef,
    pub changes: Vec<(String, String, String)>,
    pub fingerprint: String,
    pub notes: Vec<String>,
    pub risk: RiskClass,
    pub before: Restore,
    pub after: Value,
}

impl Done {
    pub fn outcome(&self) -> Outcome {
        let changes = self
            .changes
            .iter()
            .map(|(f, b, a)| format!("{f} {b} → {a}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut m = Message::new(Tone::Success)
            .header(format!("{} {}", self.done_title, self.target))
            .fields(
                self.changes
                    .iter()
                    .map(|(f, b, a)| (f.clone(), format!("{b} → {a}"))),
            );
        for n in self
            .notes
            .iter()
            .filter(|n| !n.starts_with(crate::IMPERSONATION_NOTE))
        {
            m = m.paragraph(n.clone());
        }
        Outcome {
            message: m,
            summary: format!("{} {}: {changes}", self.done_title, self.target),
            before: serde_json::to_value(&self.before).ok(),
            after: Some(self.after.clone()),
        }
    }
}

/// Plans (`expect` None: dry run) or executes (`expect` = the plan's fingerprint) a write.
pub async fn run(
    inner: &Inner,
    ctx: &Ctx,
    command: &Command,
    undo_of: Option<&ExecutionRecord>,
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    match command {
        Command::Scale { service, replicas } => {
            scale(ctx, inner.service(service)?, i32_of(*replicas)?, expect).await
        }
        Command::Restart { service } => restart(ctx, inner.service(service)?, expect).await,
        Command::Rollback {
            service,
            to_revision,
        } => {
            rollback(
                ctx,
                inner.service(service)?,
                to_revision.map(i64::from),
                expect,
            )
            .await
        }
        Command::SetImage {
            service,
            container,
            image,
        } => set_image(ctx, inner.service(service)?, container, image, expect).await,
        Command::HpaSet { service, min, max } => {
            hpa_set(
                ctx,
                inner.service(service)?,
                i32_of(*min)?,
                i32_of(*max)?,
                expect,
            )
            .await
        }
        Command::HpaDisable { service } => hpa_disable(ctx, inner.service(service)?, expect).await,
        Command::ConfigSet {
            service,
            key,
            value,
            restart,
        } => config_set(ctx, inner.service(service)?, key, value, *restart, expect).await,
        Command::Traffic { service, weights } => {
            traffic(inner, ctx, inner.service(service)?, weights, expect).await
        }
        Command::EnvoyFilterDelete { name } => envoyfilter_delete(inner, ctx, name, expect).await,
        Command::Undo { invocation } => {
            let record = undo_of.ok_or_else(|| ExecError::Precondition {
                why: format!("{invocation} made no recorded change to undo"),
            })?;
            undo(ctx, record, expect).await
        }
        other => Err(ExecError::Precondition {
            why: format!("`{}` is not a Kubernetes write", other.name()),
        }),
    }
}

fn i32_of(n: u32) -> Result<i32, ExecError> {
    i32::try_from(n).map_err(|_| ExecError::Precondition {
        why: format!("{n} is too large"),
    })
}

/// Refuses to execute when the target moved since it was planned.
fn check(expect: Option<&str>, fingerprint: &str, what: &str) -> Result<(), ExecError> {
    match expect {
        Some(e) if e != fingerprint => Err(ExecError::Conflict {
            what: what.to_owned(),
        }),
        _ => Ok(()),
    }
}

fn params(dry: bool) -> PatchParams {
    if dry {
        PatchParams::default().dry_run()
    } else {
        PatchParams::default()
    }
}

fn fp_of(meta: &kube::core::ObjectMeta) -> String {
    match meta.generation {
        Some(g) => format!("generation {g}"),
        None => format!(
            "resourceVersion {}",
            meta.resource_version.clone().unwrap_or_default()
        ),
    }
}

fn target(kind: impl Into<String>, ns: &str, name: &str) -> ObjectRef {
    ObjectRef {
        kind: kind.into(),
        namespace: ns.to_owned(),
        name: name.to_owned(),
    }
}

// === workloads ===

/// The parts of a Deployment or StatefulSet the writes need.
struct Workload {
    kind: WorkloadKind,
    ns: String,
    name: String,
    replicas: i32,
    fingerprint: String,
    template: PodTemplateSpec,
    annotations: BTreeMap<String, String>,
}

impl Workload {
    fn what(&self) -> String {
        format!("{} {}/{}", self.kind, self.ns, self.name)
    }
    fn target(&self) -> ObjectRef {
        target(self.kind.to_string(), &self.ns, &self.name)
    }
    fn resource(&self) -> &'static str {
        match self.kind {
            WorkloadKind::Deployment => "deployments",
            WorkloadKind::StatefulSet => "statefulsets",
        }
    }
}

async fn load(ctx: &Ctx, svc: &Service) -> Result<Workload, ExecError> {
    Ok(match svc.kind {
        WorkloadKind::Deployment => {
            let d = read::get_deployment(ctx, svc).await?;
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
            let s = read::get_statefulset(ctx, svc).await?;
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
async fn load_named(
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
    };
    load(ctx, &svc).await
}

async fn patch_workload(
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

fn json_patch(v: Value) -> Result<Patch<Value>, ExecError> {
    serde_json::from_value::<json_patch::Patch>(v)
        .map(Patch::Json)
        .map_err(|e| ExecError::Internal {
            detail: format!("building a JSON patch: {e}"),
        })
}

/// Sets replicas through the scale subresource: read, set, update with the read
/// resourceVersion; a 409 (someone else wrote in between) is retried.
async fn set_scale<K>(
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

async fn apply_scale(ctx: &Ctx, wl: &Workload, replicas: i32, dry: bool) -> Result<(), ExecError> {
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

async fn scale(
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

fn template_restore(wl: &Workload, annotations: bool) -> Result<Restore, ExecError> {
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

fn restarted_at(t: &PodTemplateSpec) -> Option<String> {
    t.metadata
        .as_ref()
        .and_then(|m| m.annotations.as_ref())
        .and_then(|a| a.get(RESTARTED_AT).cloned())
}

/// `kubectl rollout restart`: the pod-template annotation, by strategic merge patch.
async fn restart_workload(ctx: &Ctx, wl: &Workload, dry: bool) -> Result<String, ExecError> {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let patch = Patch::Strategic(
        json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}),
    );
    patch_workload(ctx, wl, patch, dry).await?;
    Ok(now)
}

async fn restart(ctx: &Ctx, svc: &Service, expect: Option<&str>) -> Result<Done, ExecError> {
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

/// `(generation, observed)` when the controller has not yet seen the latest spec.
fn observed(generation: Option<i64>, seen: Option<i64>) -> Option<(i64, i64)> {
    let g = generation.unwrap_or(0);
    let o = seen.unwrap_or(0);
    (o < g).then_some((g, o))
}

/// Reads a workload's revision history once its controller has recorded the latest
/// change: right after a `set-image`, the new revision does not exist yet, and "the
/// previous revision" would be one too far back.
async fn settled<T, F, Fut>(
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

async fn rollback(
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
                || read::deployment_history(ctx, svc),
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
            let plan = rollback::plan_deployment(&d, &all, to)
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
                || read::statefulset_revisions(ctx, svc),
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
            let plan = rollback::plan_statefulset(
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

fn load_from_deployment(svc: &Service, d: &Deployment) -> Workload {
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

fn load_from_statefulset(svc: &Service, s: &StatefulSet) -> Workload {
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

async fn set_image(
    ctx: &Ctx,
    svc: &Service,
    container: &str,
    image: &str,
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    let wl = load(ctx, svc).await?;
    check(expect, &wl.fingerprint, &wl.what())?;
    let containers = wl
        .template
        .spec
        .as_ref()
        .map(|s| s.containers.clone())
        .unwrap_or_default();
    let Some(current) = containers.iter().find(|c| c.name == container) else {
        return Err(ExecError::Precondition {
            why: format!(
                "{} has no container `{container}`; its containers: {}",
                wl.what(),
                containers
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    };
    let old = current.image.clone().unwrap_or_default();
    if old == image {
        return Err(ExecError::Precondition {
            why: format!(
                "container {container} of {} already runs {image}",
                wl.what()
            ),
        });
    }
    // What `kubectl set image` sends: a strategic merge patch keyed by container name.
    let patch = Patch::Strategic(
        json!({"spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}}),
    );
    patch_workload(ctx, &wl, patch, expect.is_none()).await?;
    Ok(Done {
        summary: format!("Set image of {} container {container}", wl.what()),
        done_title: "Image set on".into(),
        target: wl.target(),
        changes: vec![(format!("image ({container})"), old, image.to_owned())],
        fingerprint: wl.fingerprint.clone(),
        notes: Vec::new(),
        risk: RiskClass::Write,
        before: template_restore(&wl, false)?,
        after: json!({"container": container, "image": image}),
    })
}

// === HPA ===

async fn hpa_set(
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
    let h = read::find_hpa(ctx, svc).await?;
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

async fn hpa_disable(ctx: &Ctx, svc: &Service, expect: Option<&str>) -> Result<Done, ExecError> {
    let h = read::find_hpa(ctx, svc).await?;
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

// === ConfigMap ===

async fn config_set(
    ctx: &Ctx,
    svc: &Service,
    key: &str,
    value: &str,
    restart: bool,
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    let ns = svc.namespace.as_str().to_owned();
    let Some(cm_name) = svc.configmap.clone() else {
        return Err(ExecError::Precondition {
            why: format!("the catalog names no ConfigMap for {}", svc.name),
        });
    };
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ns);
    let cm = ctx
        .op("get", "configmaps", &ns, &cm_name)
        .run(api.get(&cm_name))
        .await?;
    let fp = fp_of(&cm.metadata);
    let what = format!("ConfigMap {ns}/{cm_name}");
    check(expect, &fp, &what)?;
    let old = cm.data.as_ref().and_then(|d| d.get(key).cloned());
    if old.as_deref() == Some(value) {
        return Err(ExecError::Precondition {
            why: format!("{key} in {what} already has that value"),
        });
    }
    let dry = expect.is_none();
    let patch: Patch<Value> = Patch::Merge(json!({"data": {key: value}}));
    ctx.op("patch", "configmaps", &ns, &cm_name)
        .run(api.patch(&cm_name, &params(dry), &patch))
        .await?;
    let mut notes = Vec::new();
    let mut restarted = None;
    if restart {
        let wl = load(ctx, svc).await?;
        restart_workload(ctx, &wl, dry).await?;
        notes.push(format!(
            "Then restarts {} so its pods read the new value.",
            wl.what()
        ));
        restarted = Some((wl.kind, wl.name.clone()));
    } else {
        notes.push(format!(
            "Pods of {} read the new value only after a restart (`--restart`).",
            svc.name
        ));
    }
    let shown =
        |v: Option<&str>| v.map_or_else(|| "(unset)".to_owned(), |v| redact::config_value(key, v));
    Ok(Done {
        summary: format!(
            "Set {key} in {what}{}",
            if restart { " and restart" } else { "" }
        ),
        done_title: "Updated".into(),
        target: target("ConfigMap", &ns, &cm_name),
        changes: vec![(key.to_owned(), shown(old.as_deref()), shown(Some(value)))],
        fingerprint: fp,
        notes,
        risk: RiskClass::Write,
        before: Restore::Config {
            namespace: ns.clone(),
            name: cm_name.clone(),
            key: key.to_owned(),
            value: old,
            restart: restarted,
        },
        after: json!({"key": key, "restarted": restart}),
    })
}

// === Istio ===

fn weights_text(http: &Value, index: usize) -> String {
    http[index]["route"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["destination"]["subset"].as_str().unwrap_or("?"),
                r["weight"].as_i64().unwrap_or(100)
            )
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

async fn traffic(
    inner: &Inner,
    ctx: &Ctx,
    svc: &Service,
    weights: &[Weight],
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    if !inner.has_istio() {
        return Err(ExecError::Precondition {
            why: "the Istio API (networking.istio.io) is not served by this cluster".into(),
        });
    }
    let ns = svc.namespace.as_str().to_owned();
    let Some(vs_name) = svc.virtual_service.clone() else {
        return Err(ExecError::Precondition {
            why: format!("the catalog names no VirtualService for {}", svc.name),
        });
    };
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), &ns, &virtual_service_resource());
    let vs = ctx
        .op("get", "virtualservices", &ns, &vs_name)
        .run(api.get(&vs_name))
        .await?;
    let fp = fp_of(&vs.metadata);
    let what = format!("VirtualService {ns}/{vs_name}");
    check(expect, &fp, &what)?;
    let http = vs.data["spec"]["http"].clone();
    let wanted: BTreeMap<&str, u8> = weights
        .iter()
        .map(|w| (w.subset.as_str(), w.weight))
        .collect();
    let mut ops = Vec::new();
    let mut changes = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, h) in http
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let routes = h["route"].as_array().cloned().unwrap_or_default();
        let subsets: Vec<&str> = routes
            .iter()
            .filter_map(|r| r["destination"]["subset"].as_str())
            .collect();
        if !subsets.iter().any(|s| wanted.contains_key(s)) {
            continue;
        }
        if let Some(missing) = subsets.iter().find(|s| !wanted.contains_key(*s)) {
            return Err(ExecError::Precondition {
                why: format!(
                    "route {i} of {what} also sends traffic to subset `{missing}`; give a weight for each of: {}",
                    subsets.join(", ")
                ),
            });
        }
        for (j, r) in routes.iter().enumerate() {
            let subset = r["destination"]["subset"].as_str().unwrap_or_default();
            seen.insert(subset.to_owned());
            let path = format!("/spec/http/{i}/route/{j}/weight");
            let new = wanted.get(subset).copied().unwrap_or(0);
            match r.get("weight") {
                // `test` makes the patch fail if the weight moved since it was read.
                Some(old) => {
                    ops.push(json!({"op": "test", "path": path, "value": old}));
                    ops.push(json!({"op": "replace", "path": path, "value": new}));
                }
                None => ops.push(json!({"op": "add", "path": path, "value": new})),
            }
        }
        let after = wanted
            .iter()
            .map(|(s, w)| format!("{s} {w}"))
            .collect::<Vec<_>>()
            .join(" / ");
        changes.push((
            format!("weights ({})", h["name"].as_str().unwrap_or("route")),
            weights_text(&http, i),
            after,
        ));
    }
    if let Some(unknown) = wanted.keys().find(|s| !seen.contains(**s)) {
        return Err(ExecError::Precondition {
            why: format!("{what} has no route to subset `{unknown}`"),
        });
    }
    // Custom resources reject strategic merge patches: a JSON patch it is.
    ctx.op("patch", "virtualservices", &ns, &vs_name)
        .run(api.patch(
            &vs_name,
            &params(expect.is_none()),
            &json_patch(Value::Array(ops))?,
        ))
        .await?;
    Ok(Done {
        summary: format!("Shift traffic of {what}"),
        done_title: "Traffic shifted on".into(),
        target: target("VirtualService", &ns, &vs_name),
        changes,
        fingerprint: fp,
        notes: Vec::new(),
        risk: RiskClass::Write,
        before: Restore::VsHttp {
            namespace: ns.clone(),
            name: vs_name.clone(),
            http,
        },
        after: json!({"weights": weights.iter().map(|w| (w.subset.clone(), w.weight)).collect::<BTreeMap<_, _>>()}),
    })
}

async fn envoyfilter_delete(
    inner: &Inner,
    ctx: &Ctx,
    name: &str,
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    if !inner.has_istio() {
        return Err(ExecError::Precondition {
            why: "the Istio API (networking.istio.io) is not served by this cluster".into(),
        });
    }
    let ns = inner.catalog().namespaces.apps.as_str().to_owned();
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), &ns, &envoy_filter_resource());
    let ef = ctx
        .op("get", "envoyfilters", &ns, name)
        .run(api.get(name))
        .await?;
    let fp = fp_of(&ef.metadata);
    let what = format!("EnvoyFilter {ns}/{name}");
    check(expect, &fp, &what)?;
    let manifest = serde_json::to_value(&ef).map_err(|e| ExecError::Internal {
        detail: e.to_string(),
    })?;
    let dp = if expect.is_none() {
        DeleteParams::default().dry_run()
    } else {
        DeleteParams::default()
    };
    ctx.op("delete", "envoyfilters", &ns, name)
        .run(api.delete(name, &dp))
        .await?;
    Ok(Done {
        summary: format!("Delete {what}"),
        done_title: "Deleted".into(),
        target: target("EnvoyFilter", &ns, name),
        changes: vec![("EnvoyFilter".into(), "present".into(), "deleted".into())],
        fingerprint: fp,
        notes: vec!["Its manifest is kept so `/va undo` re-creates it.".into()],
        risk: RiskClass::Destructive,
        before: Restore::Create { manifest },
        after: json!({"deleted": true}),
    })
}

// === undo ===

fn api_resource(api_version: &str, kind: &str) -> ApiResource {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
}

/// A deleted object's manifest, made creatable again.
fn clean_manifest(mut m: Value) -> Value {
    if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "managedFields",
            "generation",
            "selfLink",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        ] {
            meta.remove(k);
        }
    }
    if let Some(o) = m.as_object_mut() {
        o.remove("status");
    }
    m
}

async fn undo(
    ctx: &Ctx,
    record: &ExecutionRecord,
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    let id = &record.invocation;
    let restore: Restore = record
        .before
        .clone()
        .and_then(|b| serde_json::from_value(b).ok())
        .ok_or_else(|| ExecError::Precondition {
            why: format!("{id} recorded no before-state that vabot can restore"),
        })?;
    let dry = expect.is_none();
    let summary = |s: String| format!("Undo {id} ({}): {s}", record.plan.summary);
    match restore {
        Restore::Scale {
            kind,
            namespace,
            name,
            replicas,
        } => {
            let wl = load_named(ctx, kind, &namespace, &name).await?;
            check(expect, &wl.fingerprint, &wl.what())?;
            apply_scale(ctx, &wl, replicas, dry).await?;
            Ok(Done {
                summary: summary(format!("scale back to {replicas}")),
                done_title: "Undone on".into(),
                target: wl.target(),
                changes: vec![(
                    "replicas".into(),
                    wl.replicas.to_string(),
                    replicas.to_string(),
                )],
                fingerprint: wl.fingerprint.clone(),
                notes: Vec::new(),
                risk: RiskClass::Write,
                before: Restore::Scale {
                    kind,
                    namespace,
                    name,
                    replicas: wl.replicas,
                },
                after: json!({"replicas": replicas}),
            })
        }
        Restore::Template {
            kind,
            namespace,
            name,
            template,
            annotations,
        } => {
            let wl = load_named(ctx, kind, &namespace, &name).await?;
            check(expect, &wl.fingerprint, &wl.what())?;
            let restored: PodTemplateSpec =
                serde_json::from_value(template.clone()).map_err(|e| ExecError::Internal {
                    detail: e.to_string(),
                })?;
            let mut ops =
                vec![json!({"op": "replace", "path": "/spec/template", "value": template})];
            if let Some(a) = &annotations {
                ops.push(json!({"op": "replace", "path": "/metadata/annotations", "value": a}));
            }
            patch_workload(ctx, &wl, json_patch(Value::Array(ops))?, dry).await?;
            let describe = |t: &PodTemplateSpec| match restarted_at(t) {
                Some(r) => format!("{} (restartedAt {r})", image_of(t)),
                None => image_of(t),
            };
            Ok(Done {
                summary: summary("restore the pod template".into()),
                done_title: "Undone on".into(),
                target: wl.target(),
                changes: vec![(
                    "pod template".into(),
                    describe(&wl.template),
                    describe(&restored),
                )],
                fingerprint: wl.fingerprint.clone(),
                notes: Vec::new(),
                risk: RiskClass::Write,
                before: template_restore(&wl, annotations.is_some())?,
                after: json!({"image": image_of(&restored)}),
            })
        }
        Restore::HpaBounds {
            namespace,
            name,
            min,
            max,
        } => {
            let api: Api<HorizontalPodAutoscaler> = Api::namespaced(ctx.client.clone(), &namespace);
            let h = ctx
                .op("get", "horizontalpodautoscalers", &namespace, &name)
                .run(api.get(&name))
                .await?;
            let fp = fp_of(&h.metadata);
            check(
                expect,
                &fp,
                &format!("HorizontalPodAutoscaler {namespace}/{name}"),
            )?;
            let spec = h.spec.clone();
            let patch: Patch<Value> =
                Patch::Merge(json!({"spec": {"minReplicas": min, "maxReplicas": max}}));
            ctx.op("patch", "horizontalpodautoscalers", &namespace, &name)
                .run(api.patch(&name, &params(dry), &patch))
                .await?;
            Ok(Done {
                summary: summary("restore the HPA bounds".into()),
                done_title: "Undone on".into(),
                target: target("HorizontalPodAutoscaler", &namespace, &name),
                changes: vec![
                    (
                        "minReplicas".into(),
                        spec.min_replicas.unwrap_or(1).to_string(),
                        min.unwrap_or(1).to_string(),
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
                    namespace: namespace.clone(),
                    name: name.clone(),
                    min: spec.min_replicas,
                    max: spec.max_replicas,
                },
                after: json!({"min": min, "max": max}),
            })
        }
        Restore::Config {
            namespace,
            name,
            key,
            value,
            restart,
        } => {
            let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &namespace);
            let cm = ctx
                .op("get", "configmaps", &namespace, &name)
                .run(api.get(&name))
                .await?;
            let fp = fp_of(&cm.metadata);
            check(expect, &fp, &format!("ConfigMap {namespace}/{name}"))?;
            let current = cm.data.as_ref().and_then(|d| d.get(&key).cloned());
            // A merge patch with null removes a key that did not exist before.
            let patch: Patch<Value> = Patch::Merge(json!({"data": {key.clone(): value}}));
            ctx.op("patch", "configmaps", &namespace, &name)
                .run(api.patch(&name, &params(dry), &patch))
                .await?;
            if let Some((kind, wl_name)) = &restart {
                let wl = load_named(ctx, *kind, &namespace, wl_name).await?;
                restart_workload(ctx, &wl, dry).await?;
            }
            let shown = |v: Option<&str>| {
                v.map_or_else(|| "(unset)".to_owned(), |v| redact::config_value(&key, v))
            };
            Ok(Done {
                summary: summary(format!("restore {key}")),
                done_title: "Undone on".into(),
                target: target("ConfigMap", &namespace, &name),
                changes: vec![(
                    key.clone(),
                    shown(current.as_deref()),
                    shown(value.as_deref()),
                )],
                fingerprint: fp,
                notes: Vec::new(),
                risk: RiskClass::Write,
                before: Restore::Config {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    key: key.clone(),
                    value: current,
                    restart,
                },
                after: json!({"key": key}),
            })
        }
        Restore::VsHttp {
            namespace,
            name,
            http,
        } => {
            let api: Api<DynamicObject> =
                Api::namespaced_with(ctx.client.clone(), &namespace, &virtual_service_resource());
            let vs = ctx
                .op("get", "virtualservices", &namespace, &name)
                .run(api.get(&name))
                .await?;
            let fp = fp_of(&vs.metadata);
            check(expect, &fp, &format!("VirtualService {namespace}/{name}"))?;
            let current = vs.data["spec"]["http"].clone();
            let patch: Patch<Value> = Patch::Merge(json!({"spec": {"http": http}}));
            ctx.op("patch", "virtualservices", &namespace, &name)
                .run(api.patch(&name, &params(dry), &patch))
                .await?;
            let count = http.as_array().map(Vec::len).unwrap_or(0);
            Ok(Done {
                summary: summary("restore the routes".into()),
                done_title: "Undone on".into(),
                target: target("VirtualService", &namespace, &name),
                changes: (0..count)
                    .map(|i| {
                        (
                            format!("weights (route {i})"),
                            weights_text(&current, i),
                            weights_text(&http, i),
                        )
                    })
                    .collect(),
                fingerprint: fp,
                notes: Vec::new(),
                risk: RiskClass::Write,
                before: Restore::VsHttp {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    http: current,
                },
                after: json!({"restored": true}),
            })
        }
        Restore::Create { manifest } => {
            let manifest = clean_manifest(manifest);
            let api_version = manifest["apiVersion"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let kind = manifest["kind"].as_str().unwrap_or_default().to_owned();
            let ns = manifest["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let name = manifest["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if kind.is_empty() || name.is_empty() || ns.is_empty() {
                return Err(ExecError::Precondition {
                    why: format!("the manifest recorded by {id} is incomplete"),
                });
            }
            let ar = api_resource(&api_version, &kind);
            let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &ns, &ar);
            let resource = ar.plural.clone();
            if ctx
                .op("get", &resource, &ns, &name)
                .run(api.get_opt(&name))
                .await?
                .is_some()
            {
                return Err(ExecError::Precondition {
                    why: format!("{kind} {ns}/{name} exists again; nothing to restore"),
                });
            }
            let obj: DynamicObject =
                serde_json::from_value(manifest.clone()).map_err(|e| ExecError::Internal {
                    detail: e.to_string(),
                })?;
            let pp = PostParams {
                dry_run: dry,
                ..PostParams::default()
            };
            ctx.op("create", &resource, &ns, &name)
                .run(api.create(&pp, &obj))
                .await?;
            Ok(Done {
                summary: summary(format!("re-create {kind} {name}")),
                done_title: "Re-created".into(),
                target: target(kind.clone(), &ns, &name),
                changes: vec![(
                    kind.clone(),
                    "absent".into(),
                    "re-created from the recorded manifest".into(),
                )],
                fingerprint: "absent".into(),
                notes: Vec::new(),
                risk: RiskClass::Write,
                before: Restore::Delete {
                    api_version,
                    kind,
                    namespace: ns,
                    name,
                },
                after: json!({"created": true}),
            })
        }
        Restore::Delete {
            api_version,
            kind,
            namespace,
            name,
        } => {
            let ar = api_resource(&api_version, &kind);
            let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &namespace, &ar);
            let resource = ar.plural.clone();
            let obj = ctx
                .op("get", &resource, &namespace, &name)
                .run(api.get(&name))
                .await?;
            let fp = fp_of(&obj.metadata);
            check(expect, &fp, &format!("{kind} {namespace}/{name}"))?;
            let manifest = serde_json::to_value(&obj).map_err(|e| ExecError::Internal {
                detail: e.to_string(),
            })?;
            let dp = if dry {
                DeleteParams::default().dry_run()
            } else {
                DeleteParams::default()
            };
            ctx.op("delete", &resource, &namespace, &name)
                .run(api.delete(&name, &dp))
                .await?;
            Ok(Done {
                summary: summary(format!("delete {kind} {name} again")),
                done_title: "Deleted".into(),
                target: target(kind.clone(), &namespace, &name),
                changes: vec![(kind.clone(), "present".into(), "deleted".into())],
                fingerprint: fp,
                notes: Vec::new(),
                risk: RiskClass::Destructive,
                before: Restore::Create { manifest },
                after: json!({"deleted": true}),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restore_round_trips_through_json() {
        let r = Restore::Scale {
            kind: WorkloadKind::Deployment,
            namespace: "ns".into(),
            name: "d".into(),
            replicas: 2,
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["restore"], "scale");
        assert_eq!(serde_json::from_value::<Restore>(v).unwrap(), r);
    }

    #[test]
    fn a_recorded_manifest_loses_its_server_fields_before_re_creation() {
        let m = clean_manifest(
            json!({"apiVersion": "networking.istio.io/v1alpha3", "kind": "EnvoyFilter",
            "metadata": {"name": "f", "namespace": "n", "resourceVersion": "5", "uid": "u", "generation": 1, "labels": {"a": "b"}},
            "spec": {"x": 1}, "status": {}}),
        );
        assert!(m["metadata"].get("resourceVersion").is_none());
        assert!(m["metadata"].get("uid").is_none());
        assert!(m.get("status").is_none());
        assert_eq!(m["metadata"]["labels"]["a"], "b");
        assert_eq!(
            api_resource("networking.istio.io/v1alpha3", "EnvoyFilter").plural,
            "envoyfilters"
        );
        assert_eq!(
            api_resource("autoscaling/v2", "HorizontalPodAutoscaler").plural,
            "horizontalpodautoscalers"
        );
    }
}
