//! Impersonation against real RBAC objects: the cluster's own Role/RoleBinding decide,
//! on top of vabot's policy.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod common;

use common::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, PostParams};
use serde_json::json;
use vabot_kube::KubeConfig;

async fn role(ns: &TestNs, name: &str, rules: serde_json::Value, user: &str) {
    let roles: Api<Role> = Api::namespaced(ns.client.clone(), &ns.name);
    roles
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": name}, "rules": rules})).unwrap(),
        )
        .await
        .unwrap();
    let bindings: Api<RoleBinding> = Api::namespaced(ns.client.clone(), &ns.name);
    bindings
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": format!("{name}-binding")},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]
            }))
            .unwrap(),
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_impersonation_the_clusters_rbac_permits_alice_and_refuses_bob() {
    let ns = TestNs::new("imp").await;
    two_revision_deployment(&ns.client, &ns.name, "svc-p", 1).await;
    // alice may scale; bob may only read deployments.
    role(
        &ns,
        "scaler",
        json!([
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "watch", "patch"]},
            {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "patch", "update"]}
        ]),
        "console:alice",
    )
    .await;
    role(
        &ns,
        "reader",
        json!([{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list", "watch"]}]),
        "console:bob",
    )
    .await;
    let cat = catalog(&ns.name, vec![service("svc-p", &ns.name)]);
    let pol = policy(&cat, &ns.name);
    let settings = KubeConfig {
        impersonate: true,
        ..KubeConfig::default()
    };
    let w = world_with(cat, pol, settings, admin_config().await).await;
    let api: Api<Deployment> = Api::namespaced(ns.client.clone(), &ns.name);

    let ok = w.text("alice", "scale svc-p 2").await;
    assert!(ok.contains("replicas 1 → 2"), "{ok}");
    assert_eq!(
        api.get("svc-p").await.unwrap().spec.unwrap().replicas,
        Some(2)
    );

    // bob is an approver in vabot's policy (may write), but the cluster says no.
    let refused = w.text("bob", "scale svc-p 3").await;
    assert!(
        refused.contains(&format!(
            "the cluster's RBAC denies bob: patch deployments/scale in {}",
            ns.name
        )),
        "{refused}"
    );
    assert_eq!(
        api.get("svc-p").await.unwrap().spec.unwrap().replicas,
        Some(2),
        "bob's scale went through"
    );

    // erin has no RoleBinding at all: refused at the first read.
    let nobody = w.text("erin", "restart svc-p").await;
    assert!(
        nobody.contains("the cluster's RBAC denies erin: get deployments"),
        "{nobody}"
    );
}
