//! `undo <invocation>`: puts back the before-state an earlier change recorded (a
//! [`Restore`](super::Restore)).

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, PodTemplateSpec};
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use vabot_commands::plan::RiskClass;
use vabot_commands::ports::ExecError;
use vabot_commands::store::ExecutionRecord;

use super::envoyfilter_set::restore_bucket;
use super::hpa_set::utilisation;
use super::istio::virtual_service_resource;
use super::restart::{restart_workload, restarted_at};
use super::scale::apply_scale;
use super::scale_all::batch_fingerprint;
use super::traffic::weights_text;
use super::workload::{json_patch, load_named, patch_workload, template_restore};
use super::{Done, Restore, ScaleItem, check, fp_of, params, target};
use crate::revisions::image_of;
use crate::{Ctx, redact};

// === undo ===

pub(crate) fn api_resource(api_version: &str, kind: &str) -> ApiResource {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
}

/// A deleted object's manifest, made creatable again.
pub(crate) fn clean_manifest(mut m: Value) -> Value {
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

pub(crate) async fn undo(
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
        Restore::Scales { workloads } => {
            let mut loaded = Vec::new();
            for item in &workloads {
                loaded.push((
                    load_named(ctx, item.kind, &item.namespace, &item.name).await?,
                    item.replicas,
                ));
            }
            let fingerprint = batch_fingerprint(loaded.iter().map(|(w, _)| w));
            check(expect, &fingerprint, "the scaled workloads")?;
            for (wl, replicas) in &loaded {
                apply_scale(ctx, wl, *replicas, dry).await?;
            }
            let ns = workloads
                .first()
                .map(|w| w.namespace.clone())
                .unwrap_or_default();
            Ok(Done {
                summary: summary(format!("scale {} workloads back", loaded.len())),
                done_title: "Undone on".into(),
                target: target("Workloads", &ns, "all"),
                changes: loaded
                    .iter()
                    .map(|(w, r)| {
                        (
                            format!("{} replicas", w.name),
                            w.replicas.to_string(),
                            r.to_string(),
                        )
                    })
                    .collect(),
                fingerprint,
                notes: Vec::new(),
                risk: RiskClass::Write,
                before: Restore::Scales {
                    workloads: loaded
                        .iter()
                        .map(|(w, _)| ScaleItem {
                            kind: w.kind,
                            namespace: w.ns.clone(),
                            name: w.name.clone(),
                            replicas: w.replicas,
                        })
                        .collect(),
                },
                after: json!({"workloads": workloads.len()}),
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
            metrics,
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
            let mut body = json!({"minReplicas": min, "maxReplicas": max});
            let mut changes = vec![
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
            ];
            if let Some(m) = &metrics {
                body["metrics"] = m.clone();
                let before: Vec<k8s_openapi::api::autoscaling::v2::MetricSpec> =
                    serde_json::from_value(m.clone()).unwrap_or_default();
                let now = spec.metrics.clone().unwrap_or_default();
                for r in ["cpu", "memory"] {
                    let (a, b) = (utilisation(&now, r), utilisation(&before, r));
                    if a != b {
                        let p = |v: Option<i32>| v.map_or("none".into(), |v| format!("{v}%"));
                        changes.push((format!("{r} target"), p(a), p(b)));
                    }
                }
            }
            let patch: Patch<Value> = Patch::Merge(json!({ "spec": body }));
            ctx.op("patch", "horizontalpodautoscalers", &namespace, &name)
                .run(api.patch(&name, &params(dry), &patch))
                .await?;
            Ok(Done {
                summary: summary("restore the HPA bounds".into()),
                done_title: "Undone on".into(),
                target: target("HorizontalPodAutoscaler", &namespace, &name),
                changes,
                fingerprint: fp,
                notes: Vec::new(),
                risk: RiskClass::Write,
                before: Restore::HpaBounds {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    min: spec.min_replicas,
                    max: spec.max_replicas,
                    metrics: metrics.as_ref().and_then(|_| {
                        serde_json::to_value(spec.metrics.clone().unwrap_or_default()).ok()
                    }),
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
        Restore::EnvoyBucket {
            namespace,
            name,
            path,
            bucket,
        } => {
            let (fp, current, changes) =
                restore_bucket(ctx, &namespace, &name, &path, &bucket, expect).await?;
            Ok(Done {
                summary: summary("restore the token bucket".into()),
                done_title: "Undone on".into(),
                target: target("EnvoyFilter", &namespace, &name),
                changes,
                fingerprint: fp,
                notes: Vec::new(),
                risk: RiskClass::Write,
                before: Restore::EnvoyBucket {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    path: path.clone(),
                    bucket: current,
                },
                after: bucket,
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
    use vabot_commands::catalog::WorkloadKind;

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
