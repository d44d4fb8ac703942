//! Parity with kubectl: the same operation through `kubectl` on one Deployment (or
//! StatefulSet) and through the bot on an identical twin must leave identical pod
//! templates (ignoring the pod-template-hash) and identical revision histories.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod common;

use common::*;
use k8s_openapi::api::apps::v1::{ControllerRevision, Deployment, ReplicaSet, StatefulSet};
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::Value;

fn kubectl_run(args: &[&str]) {
    let out = std::process::Command::new(kubectl())
        .args(args)
        .env("KUBECONFIG", kubeconfig_path())
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The pod template with names and volatile values made comparable.
fn template(d: &Deployment, name: &str) -> Value {
    let mut t = serde_json::to_value(&d.spec.as_ref().unwrap().template).unwrap();
    let s = serde_json::to_string(&t).unwrap().replace(name, "NAME");
    t = serde_json::from_str(&s).unwrap();
    if let Some(l) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        l.remove("pod-template-hash");
    }
    // `restartedAt` differs by the second the two restarts happened; its presence is compared.
    if let Some(a) = t
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
        && a.contains_key("kubectl.kubernetes.io/restartedAt")
    {
        a.insert(
            "kubectl.kubernetes.io/restartedAt".into(),
            Value::String("SET".into()),
        );
    }
    t
}

/// `(revision, change-cause, image)` of every ReplicaSet, sorted by revision.
async fn history(client: &kube::Client, ns: &str, name: &str) -> Vec<(String, String, String)> {
    let api: Api<ReplicaSet> = Api::namespaced(client.clone(), ns);
    let mut rows: Vec<(String, String, String)> = api
        .list(&ListParams::default().labels(&format!("app={name}")))
        .await
        .unwrap()
        .items
        .iter()
        .map(|rs| {
            let a = rs.annotations();
            (
                a.get("deployment.kubernetes.io/revision")
                    .cloned()
                    .unwrap_or_default(),
                a.get("kubernetes.io/change-cause")
                    .cloned()
                    .unwrap_or_default(),
                rs.spec
                    .as_ref()
                    .unwrap()
                    .template
                    .as_ref()
                    .unwrap()
                    .spec
                    .as_ref()
                    .unwrap()
                    .containers[0]
                    .image
                    .clone()
                    .unwrap_or_default()
                    .replace(name, "NAME"),
            )
        })
        .collect();
    rows.sort();
    rows
}

async fn assert_twins(ns: &TestNs, a: &str, b: &str) {
    wait_rolled_out(&ns.client, &ns.name, a).await;
    wait_rolled_out(&ns.client, &ns.name, b).await;
    let api: Api<Deployment> = Api::namespaced(ns.client.clone(), &ns.name);
    let da = api.get(a).await.unwrap();
    let db = api.get(b).await.unwrap();
    assert_eq!(template(&da, a), template(&db, b), "pod templates differ");
    assert_eq!(
        da.spec.as_ref().unwrap().replicas,
        db.spec.as_ref().unwrap().replicas,
        "replicas differ"
    );
    let ann = |d: &Deployment| {
        let mut m = d.annotations().clone();
        m.remove("kubectl.kubernetes.io/last-applied-configuration");
        m
    };
    assert_eq!(ann(&da), ann(&db), "deployment annotations differ");
    assert_eq!(
        history(&ns.client, &ns.name, a).await,
        history(&ns.client, &ns.name, b).await,
        "revision histories differ"
    );
}

async fn twins(purpose: &str) -> (TestNs, World) {
    let ns = TestNs::new(purpose).await;
    two_revision_deployment(&ns.client, &ns.name, "kctl", 1).await;
    two_revision_deployment(&ns.client, &ns.name, "bot", 1).await;
    let w = world(&ns.name, vec![service("bot", &ns.name)]).await;
    (ns, w)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_matches_kubectl_rollout_undo() {
    let (ns, w) = twins("parity-undo").await;
    kubectl_run(&["-n", &ns.name, "rollout", "undo", "deployment/kctl"]);
    let out = w.text("alice", "rollback bot").await;
    assert!(out.contains("Rolled back"), "{out}");
    assert_twins(&ns, "kctl", "bot").await;

    kubectl_run(&[
        "-n",
        &ns.name,
        "rollout",
        "undo",
        "deployment/kctl",
        "--to-revision=2",
    ]);
    w.text("alice", "rollback bot --to-revision 2").await;
    assert_twins(&ns, "kctl", "bot").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_matches_kubectl_rollout_restart() {
    let (ns, w) = twins("parity-restart").await;
    kubectl_run(&["-n", &ns.name, "rollout", "restart", "deployment/kctl"]);
    let out = w.text("alice", "restart bot").await;
    assert!(out.contains("Restarted"), "{out}");
    assert_twins(&ns, "kctl", "bot").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_and_set_image_match_kubectl() {
    let (ns, w) = twins("parity-scale").await;
    kubectl_run(&["-n", &ns.name, "scale", "deployment/kctl", "--replicas=3"]);
    w.text("alice", "scale bot 3").await;
    assert_twins(&ns, "kctl", "bot").await;

    kubectl_run(&[
        "-n",
        &ns.name,
        "set",
        "image",
        "deployment/kctl",
        "kctl=registry.local/kctl:2.0.0",
    ]);
    let out = w
        .text("alice", "set-image bot registry.local/bot:2.0.0")
        .await;
    assert!(out.contains("2.0.0"), "{out}");
    assert_twins(&ns, "kctl", "bot").await;
}

// === StatefulSets (nacos, postgres, …): the same comparisons through ControllerRevisions ===

fn statefulset_json(name: &str, image: &str) -> Value {
    serde_json::json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": 1,
            "serviceName": name,
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": {"app": name}},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                    "name": name, "image": image,
                    "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}
                }]}
            }
        }
    })
}

async fn wait_sts_rolled_out(client: &kube::Client, ns: &str, name: &str) {
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    wait_until(&format!("rollout of statefulset {ns}/{name}"), || async {
        let Ok(s) = api.get(name).await else {
            return false;
        };
        let want = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let Some(st) = s.status.as_ref() else {
            return false;
        };
        st.observed_generation == s.metadata.generation
            && st.update_revision.is_some()
            && st.current_revision == st.update_revision
            && st.updated_replicas.unwrap_or(0) == want
            && st.ready_replicas.unwrap_or(0) == want
            && st.replicas == want
    })
    .await;
}

/// A StatefulSet with two revisions (1.4.2 → 1.5.0), rolled out.
async fn two_revision_statefulset(client: &kube::Client, ns: &str, name: &str) {
    let api: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    let s: StatefulSet = serde_json::from_value(statefulset_json(
        name,
        &format!("registry.local/{name}:1.4.2"),
    ))
    .unwrap();
    api.create(&PostParams::default(), &s)
        .await
        .expect("create");
    wait_sts_rolled_out(client, ns, name).await;
    let patch = serde_json::json!({"spec": {"template": {"spec": {"containers": [
        {"name": name, "image": format!("registry.local/{name}:1.5.0")}
    ]}}}});
    api.patch(name, &PatchParams::default(), &Patch::Strategic(patch))
        .await
        .expect("second revision");
    wait_sts_rolled_out(client, ns, name).await;
}

fn sts_template(s: &StatefulSet, name: &str) -> Value {
    let t = serde_json::to_value(&s.spec.as_ref().unwrap().template).unwrap();
    let mut t: Value =
        serde_json::from_str(&serde_json::to_string(&t).unwrap().replace(name, "NAME")).unwrap();
    if let Some(a) = t
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
        && a.contains_key("kubectl.kubernetes.io/restartedAt")
    {
        a.insert(
            "kubectl.kubernetes.io/restartedAt".into(),
            Value::String("SET".into()),
        );
    }
    t
}

/// `(revision, image)` of every ControllerRevision of a StatefulSet, sorted.
async fn sts_history(client: &kube::Client, ns: &str, name: &str) -> Vec<(i64, String)> {
    let api: Api<ControllerRevision> = Api::namespaced(client.clone(), ns);
    let mut rows: Vec<(i64, String)> = api
        .list(&ListParams::default().labels(&format!("app={name}")))
        .await
        .unwrap()
        .items
        .iter()
        .map(|r| {
            let image = r
                .data
                .as_ref()
                .and_then(|d| d.0.pointer("/spec/template/spec/containers/0/image"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .replace(name, "NAME");
            (r.revision, image)
        })
        .collect();
    rows.sort();
    rows
}

async fn assert_sts_twins(ns: &TestNs, a: &str, b: &str) {
    wait_sts_rolled_out(&ns.client, &ns.name, a).await;
    wait_sts_rolled_out(&ns.client, &ns.name, b).await;
    let api: Api<StatefulSet> = Api::namespaced(ns.client.clone(), &ns.name);
    let (sa, sb) = (api.get(a).await.unwrap(), api.get(b).await.unwrap());
    assert_eq!(
        sts_template(&sa, a),
        sts_template(&sb, b),
        "pod templates differ"
    );
    assert_eq!(
        sa.spec.as_ref().unwrap().replicas,
        sb.spec.as_ref().unwrap().replicas,
        "replicas differ"
    );
    let history = sts_history(&ns.client, &ns.name, a).await;
    assert!(history.len() >= 2, "ControllerRevisions found: {history:?}");
    assert_eq!(
        history,
        sts_history(&ns.client, &ns.name, b).await,
        "revision histories differ"
    );
}

async fn sts_twins(purpose: &str) -> (TestNs, World) {
    let ns = TestNs::new(purpose).await;
    two_revision_statefulset(&ns.client, &ns.name, "kctl").await;
    two_revision_statefulset(&ns.client, &ns.name, "bot").await;
    let mut svc = service("bot", &ns.name);
    svc.kind = vabot_commands::catalog::WorkloadKind::StatefulSet;
    let w = world(&ns.name, vec![svc]).await;
    (ns, w)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statefulset_scale_restart_set_image_and_rollback_match_kubectl() {
    let (ns, w) = sts_twins("parity-sts").await;
    kubectl_run(&["-n", &ns.name, "scale", "statefulset/kctl", "--replicas=2"]);
    let out = w.text("alice", "scale bot 2").await;
    assert!(out.contains("replicas 1 → 2"), "{out}");
    assert_sts_twins(&ns, "kctl", "bot").await;

    kubectl_run(&["-n", &ns.name, "rollout", "restart", "statefulset/kctl"]);
    let out = w.text("alice", "restart bot").await;
    assert!(out.contains("Restarted"), "{out}");
    assert_sts_twins(&ns, "kctl", "bot").await;

    kubectl_run(&[
        "-n",
        &ns.name,
        "set",
        "image",
        "statefulset/kctl",
        "kctl=registry.local/kctl:2.0.0",
    ]);
    let out = w
        .text("alice", "set-image bot registry.local/bot:2.0.0")
        .await;
    assert!(out.contains("2.0.0"), "{out}");
    assert_sts_twins(&ns, "kctl", "bot").await;

    kubectl_run(&["-n", &ns.name, "rollout", "undo", "statefulset/kctl"]);
    let out = w.text("alice", "rollback bot").await;
    assert!(out.contains("Rolled back"), "{out}");
    assert_sts_twins(&ns, "kctl", "bot").await;

    kubectl_run(&[
        "-n",
        &ns.name,
        "rollout",
        "undo",
        "statefulset/kctl",
        "--to-revision=2",
    ]);
    let out = w.text("alice", "rollback bot --to-revision 2").await;
    assert!(out.contains("Rolled back"), "{out}");
    assert_sts_twins(&ns, "kctl", "bot").await;

    // Scaling to 0 is destructive for a StatefulSet too, and its undo brings the count back.
    let (inv, out) = w.approved("stop bot").await;
    assert!(out.contains("replicas 2 → 0"), "{out}");
    let (_, undone) = w.approved(&format!("undo {inv}")).await;
    assert!(undone.contains("replicas 0 → 2"), "{undone}");
    assert_eq!(
        api_replicas(&ns, "bot").await,
        Some(2),
        "undo restored the StatefulSet's count"
    );
}

async fn api_replicas(ns: &TestNs, name: &str) -> Option<i32> {
    Api::<StatefulSet>::namespaced(ns.client.clone(), &ns.name)
        .get(name)
        .await
        .unwrap()
        .spec
        .unwrap()
        .replicas
}
