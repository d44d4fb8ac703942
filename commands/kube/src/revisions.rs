//! `kubectl rollout undo`, exactly: the same revision choice, the same template
//! cleaning, the same annotations and the same patch (k8s.io/kubectl
//! `polymorphichelpers/rollback.go`, `DeploymentRollbacker` and `StatefulSetRollbacker`).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{ControllerRevision, Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use kube::ResourceExt;
use serde_json::{Value, json};

/// The annotation holding a ReplicaSet's (or Deployment's) revision.
pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// Annotations kubectl keeps from the Deployment rather than copying from the ReplicaSet.
const ANNOTATIONS_TO_SKIP: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    "deployment.kubernetes.io/revision-history",
    "deployment.kubernetes.io/desired-replicas",
    "deployment.kubernetes.io/max-replicas",
    "deprecated.deployment.rollback.to",
];

/// Why a rollback cannot be planned; each reads as the reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollbackError {
    #[error("unable to find specified revision {0} in history")]
    NoSuchRevision(i64),
    #[error("no rollout history found for {0}")]
    NoHistory(String),
    #[error(
        "you cannot rollback a paused deployment; resume it first with `kubectl rollout resume` and try again"
    )]
    Paused,
    #[error("skipped rollback (current template already matches revision {0})")]
    AlreadyThere(i64),
}

pub fn revision_of(annotations: &BTreeMap<String, String>) -> Option<i64> {
    annotations.get(REVISION).and_then(|v| v.parse().ok())
}

/// The ReplicaSets a Deployment controls (by controller owner reference).
pub fn owned_replica_sets<'a>(d: &Deployment, all: &'a [ReplicaSet]) -> Vec<&'a ReplicaSet> {
    let uid = d.metadata.uid.as_deref().unwrap_or_default();
    all.iter()
        .filter(|rs| {
            rs.owner_references()
                .iter()
                .any(|o| o.controller == Some(true) && o.uid == uid)
        })
        .collect()
}

/// kubectl's choice: `to_revision` if given, else the highest revision below the latest.
fn pick<T: Clone>(
    items: &[(i64, T)],
    to_revision: Option<i64>,
    what: &str,
) -> Result<(i64, T), RollbackError> {
    if let Some(r) = to_revision.filter(|r| *r > 0) {
        return items
            .iter()
            .find(|(v, _)| *v == r)
            .cloned()
            .ok_or(RollbackError::NoSuchRevision(r));
    }
    let mut max: Option<(i64, T)> = None;
    let mut previous: Option<(i64, T)> = None;
    for (v, item) in items {
        match &max {
            Some((m, _)) if *v <= *m => {
                if previous.as_ref().is_none_or(|(p, _)| *v > *p) {
                    previous = Some((*v, item.clone()));
                }
            }
            _ => {
                previous = max.take();
                max = Some((*v, item.clone()));
            }
        }
    }
    previous.ok_or_else(|| RollbackError::NoHistory(what.to_owned()))
}

/// A planned Deployment rollback.
#[derive(Debug, Clone)]
pub struct DeploymentRollback {
    pub from_revision: Option<i64>,
    pub to_revision: i64,
    /// The JSON patch kubectl sends.
    pub patch: Value,
    /// The template being restored, for the plan's description.
    pub template: PodTemplateSpec,
}

/// Pod templates compared the way kubectl does (`equalIgnoreHash`).
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    let mut a = a.clone();
    let mut b = b.clone();
    for t in [&mut a, &mut b] {
        if let Some(l) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
            l.remove(POD_TEMPLATE_HASH);
        }
    }
    serde_json::to_value(&a).ok() == serde_json::to_value(&b).ok()
}

/// Plans `kubectl rollout undo deployment/<d> [--to-revision n]`.
pub fn plan_deployment(
    d: &Deployment,
    replica_sets: &[ReplicaSet],
    to_revision: Option<i64>,
) -> Result<DeploymentRollback, RollbackError> {
    if d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false) {
        return Err(RollbackError::Paused);
    }
    let owned = owned_replica_sets(d, replica_sets);
    let items: Vec<(i64, &ReplicaSet)> = owned
        .into_iter()
        .filter_map(|rs| revision_of(rs.annotations()).map(|v| (v, rs)))
        .collect();
    let (revision, rs) = pick(
        &items,
        to_revision,
        &format!("deployment \"{}\"", d.name_any()),
    )?;
    let mut template = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .unwrap_or_default();
    let current = d
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    if equal_ignore_hash(&template, &current) {
        return Err(RollbackError::AlreadyThere(revision));
    }
    if let Some(l) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        l.remove(POD_TEMPLATE_HASH);
    }
    let mut annotations: BTreeMap<String, String> = BTreeMap::new();
    for k in ANNOTATIONS_TO_SKIP {
        if let Some(v) = d.annotations().get(k) {
            annotations.insert(k.to_owned(), v.clone());
        }
    }
    for (k, v) in rs.annotations() {
        if !ANNOTATIONS_TO_SKIP.contains(&k.as_str()) {
            annotations.insert(k.clone(), v.clone());
        }
    }
    let patch = json!([
        {"op": "replace", "path": "/spec/template", "value": template},
        {"op": "replace", "path": "/metadata/annotations", "value": annotations},
    ]);
    Ok(DeploymentRollback {
        from_revision: revision_of(d.annotations()),
        to_revision: revision,
        patch,
        template,
    })
}

/// A planned StatefulSet rollback: the ControllerRevision's data is the patch.
#[derive(Debug, Clone)]
pub struct StatefulSetRollback {
    pub from_revision: Option<i64>,
    pub to_revision: i64,
    /// The strategic merge patch kubectl sends (the revision's `data`).
    pub patch: Value,
}

/// Plans `kubectl rollout undo statefulset/<s> [--to-revision n]`.
pub fn plan_statefulset(
    sts_uid: &str,
    sts_name: &str,
    current_revision: Option<&str>,
    revisions: &[ControllerRevision],
    to_revision: Option<i64>,
) -> Result<StatefulSetRollback, RollbackError> {
    let owned: Vec<(i64, &ControllerRevision)> = revisions
        .iter()
        .filter(|r| {
            r.owner_references()
                .iter()
                .any(|o| o.controller == Some(true) && o.uid == sts_uid)
        })
        .map(|r| (r.revision, r))
        .collect();
    let (revision, cr) = pick(&owned, to_revision, &format!("statefulset \"{sts_name}\""))?;
    if current_revision == Some(cr.name_any().as_str()) {
        return Err(RollbackError::AlreadyThere(revision));
    }
    let from = current_revision.and_then(|name| {
        owned
            .iter()
            .find(|(_, r)| r.name_any() == name)
            .map(|(v, _)| *v)
    });
    Ok(StatefulSetRollback {
        from_revision: from,
        to_revision: revision,
        patch: cr.data.as_ref().map(|d| d.0.clone()).unwrap_or(Value::Null),
    })
}

/// The first container image of a template, for plan descriptions.
pub fn image_of(t: &PodTemplateSpec) -> String {
    t.spec
        .as_ref()
        .map(|s| {
            s.containers
                .iter()
                .map(|c| c.image.clone().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "d", "uid": "u1", "annotations": {
                REVISION: "2", CHANGE_CAUSE: "set image 1.5.0",
                "kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": {
                "metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "d", "image": "d:1.5.0"}]}}}
        }))
        .unwrap()
    }

    fn rs(name: &str, rev: &str, image: &str, cause: &str) -> ReplicaSet {
        serde_json::from_value(json!({
            "metadata": {"name": name, "annotations": {REVISION: rev, CHANGE_CAUSE: cause, "deployment.kubernetes.io/desired-replicas": "2"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "d", "uid": "u1", "controller": true}]},
            "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": {
                "metadata": {"labels": {"app": "d", "pod-template-hash": name}},
                "spec": {"containers": [{"name": "d", "image": image}]}}}
        }))
        .unwrap()
    }

    #[test]
    fn undo_picks_the_previous_revision_strips_the_hash_and_keeps_skipped_annotations() {
        let rss = vec![
            rs("a", "1", "d:1.4.2", "create 1.4.2"),
            rs("b", "2", "d:1.5.0", "set image 1.5.0"),
        ];
        let plan = plan_deployment(&deployment(), &rss, None).unwrap();
        assert_eq!(plan.to_revision, 1);
        assert_eq!(plan.from_revision, Some(2));
        let ops = plan.patch.as_array().unwrap();
        assert_eq!(ops[0]["path"], "/spec/template");
        assert!(
            ops[0]["value"]["metadata"]["labels"]
                .get("pod-template-hash")
                .is_none()
        );
        assert_eq!(ops[0]["value"]["spec"]["containers"][0]["image"], "d:1.4.2");
        let ann = &ops[1]["value"];
        assert_eq!(ann[CHANGE_CAUSE], "create 1.4.2");
        assert_eq!(ann[REVISION], "2");
        assert_eq!(
            ann["kubectl.kubernetes.io/last-applied-configuration"],
            "{}"
        );
        assert!(
            ann.get("deployment.kubernetes.io/desired-replicas")
                .is_none()
        );
    }

    #[test]
    fn a_missing_revision_and_the_current_template_are_refused_like_kubectl() {
        let rss = vec![rs("a", "1", "d:1.4.2", ""), rs("b", "2", "d:1.5.0", "")];
        assert_eq!(
            plan_deployment(&deployment(), &rss, Some(9)).unwrap_err(),
            RollbackError::NoSuchRevision(9)
        );
        assert_eq!(
            plan_deployment(&deployment(), &rss, Some(2)).unwrap_err(),
            RollbackError::AlreadyThere(2)
        );
        assert!(matches!(
            plan_deployment(&deployment(), &rss[1..], None).unwrap_err(),
            RollbackError::NoHistory(_)
        ));
    }
}
