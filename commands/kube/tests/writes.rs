//! Every write command through `pipeline::handle`, against the real control plane, each
//! in its own namespace; assertions are on the cluster's resulting state.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod common;

use std::collections::BTreeMap;

use common::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

async fn deployment(ns: &TestNs, name: &str) -> Deployment {
    Api::<Deployment>::namespaced(ns.client.clone(), &ns.name)
        .get(name)
        .await
        .expect("deployment")
}

fn image(d: &Deployment) -> String {
    d.spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
        .image
        .clone()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_sets_the_replicas_through_the_scale_subresource_and_undo_scales_back() {
    let ns = TestNs::new("scale").await;
    two_revision_deployment(&ns.client, &ns.name, "svc-a", 2).await;
    let w = world(&ns.name, vec![service("svc-a", &ns.name)]).await;

    let reply = w.say("alice", "scale svc-a 4").await;
    let inv = invocation_of(&reply);
    let text = collapse(
        &reply
            .messages
            .iter()
            .map(vabot_commands::message::render_text)
            .collect::<String>(),
    );
    assert!(text.contains("replicas 2 → 4"), "{text}");
    assert_eq!(
        deployment(&ns, "svc-a").await.spec.unwrap().replicas,
        Some(4)
    );
    wait_rolled_out(&ns.client, &ns.name, "svc-a").await;

    let pods = w.text("alice", "pods svc-a").await;
    assert!(pods.contains("4 of 4 pods Running"), "{pods}");

    let undo = w.text("alice", &format!("undo {inv}")).await;
    assert!(undo.contains("replicas 4 → 2"), "{undo}");
    assert_eq!(
        deployment(&ns, "svc-a").await.spec.unwrap().replicas,
        Some(2)
    );

    // Scaling to the current count is refused with a clear reason, and changes nothing.
    let same = w.text("alice", "scale svc-a 2").await;
    assert!(same.contains("already has 2 replicas"), "{same}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_sets_restarted_at_and_undo_restores_the_previous_template() {
    let ns = TestNs::new("restart").await;
    two_revision_deployment(&ns.client, &ns.name, "svc-r", 1).await;
    let w = world(&ns.name, vec![service("svc-r", &ns.name)]).await;

    let reply = w.say("alice", "restart svc-r").await;
    let inv = invocation_of(&reply);
    let d = deployment(&ns, "svc-r").await;
    let ann = d
        .spec
        .unwrap()
        .template
        .metadata
        .unwrap()
        .annotations
        .unwrap_or_default();
    assert!(
        ann.contains_key("kubectl.kubernetes.io/restartedAt"),
        "{ann:?}"
    );
    wait_rolled_out(&ns.client, &ns.name, "svc-r").await;
    assert_eq!(
        deployment(&ns, "svc-r").await.metadata.annotations.unwrap()["deployment.kubernetes.io/revision"],
        "3"
    );

    w.text("alice", &format!("undo {inv}")).await;
    let d = deployment(&ns, "svc-r").await;
    let ann = d
        .spec
        .unwrap()
        .template
        .metadata
        .unwrap()
        .annotations
        .unwrap_or_default();
    assert!(
        !ann.contains_key("kubectl.kubernetes.io/restartedAt"),
        "undo kept the annotation: {ann:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_goes_to_the_previous_or_the_given_revision_and_refuses_unknown_ones() {
    let ns = TestNs::new("rollback").await;
    two_revision_deployment(&ns.client, &ns.name, "svc-b", 1).await;
    let w = world(&ns.name, vec![service("svc-b", &ns.name)]).await;

    let text = w.text("alice", "rollback svc-b").await;
    assert!(
        text.contains(
            "revision 2 (image registry.local/svc-b:1.5.0) → 1 (image registry.local/svc-b:1.4.2)"
        ),
        "{text}"
    );
    let d = deployment(&ns, "svc-b").await;
    assert_eq!(image(&d), "registry.local/svc-b:1.4.2");
    assert_eq!(
        d.metadata.annotations.as_ref().unwrap()["kubernetes.io/change-cause"],
        "initial release 1.4.2"
    );
    wait_rolled_out(&ns.client, &ns.name, "svc-b").await;

    let history = w.text("alice", "rollout history svc-b").await;
    assert!(
        history.contains("3 (current)") && history.contains("upgrade to 1.5.0"),
        "{history}"
    );

    w.text("alice", "rollback svc-b --to-revision 2").await;
    assert_eq!(
        image(&deployment(&ns, "svc-b").await),
        "registry.local/svc-b:1.5.0"
    );
    wait_rolled_out(&ns.client, &ns.name, "svc-b").await;

    let missing = w.text("alice", "rollback svc-b --to-revision 9").await;
    assert!(
        missing.contains("unable to find specified revision 9"),
        "{missing}"
    );
    let status = w.text("alice", "rollout status svc-b").await;
    assert!(status.contains("successfully rolled out"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_image_changes_one_container_and_undo_puts_the_old_image_back() {
    let ns = TestNs::new("setimage").await;
    two_revision_deployment(&ns.client, &ns.name, "svc-i", 1).await;
    let w = world(&ns.name, vec![service("svc-i", &ns.name)]).await;

    let reply = w
        .say("alice", "set-image svc-i registry.local/svc-i:2.0.0")
        .await;
    let inv = invocation_of(&reply);
    assert_eq!(
        image(&deployment(&ns, "svc-i").await),
        "registry.local/svc-i:2.0.0"
    );
    wait_rolled_out(&ns.client, &ns.name, "svc-i").await;
    w.text("alice", &format!("undo {inv}")).await;
    assert_eq!(
        image(&deployment(&ns, "svc-i").await),
        "registry.local/svc-i:1.5.0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpa_set_patches_the_bounds_and_hpa_disable_is_undone_by_re_creating_it() {
    let ns = TestNs::new("hpa").await;
    two_revision_deployment(&ns.client, &ns.name, "svc-h", 1).await;
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(ns.client.clone(), &ns.name);
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "svc-h-hpa"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "svc-h"},
                "minReplicas": 1, "maxReplicas": 3,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    let mut svc = service("svc-h", &ns.name);
    svc.hpa = Some("svc-h-hpa".into());
    let w = world(&ns.name, vec![svc]).await;

    let text = w.text("alice", "hpa set svc-h min=2 max=5").await;
    assert!(
        text.contains("minReplicas 1 → 2") && text.contains("maxReplicas 3 → 5"),
        "{text}"
    );
    let spec = api.get("svc-h-hpa").await.unwrap().spec;
    assert_eq!((spec.min_replicas, spec.max_replicas), (Some(2), 5));
    let listing = w.text("alice", "hpa svc-h").await;
    assert!(listing.contains("Deployment/svc-h"), "{listing}");

    let (inv, out) = w.approved("hpa disable svc-h").await;
    assert!(out.contains("deleted"), "{out}");
    assert!(
        api.get_opt("svc-h-hpa").await.unwrap().is_none(),
        "the HPA still exists"
    );

    let (_, undone) = w.approved(&format!("undo {inv}")).await;
    assert!(undone.contains("Re-created"), "{undone}");
    let spec = api.get("svc-h-hpa").await.expect("HPA re-created").spec;
    assert_eq!((spec.min_replicas, spec.max_replicas), (Some(2), 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_set_with_restart_patches_the_key_and_restarts_and_config_get_redacts() {
    let ns = TestNs::new("config").await;
    two_revision_deployment(&ns.client, &ns.name, "svc-c", 1).await;
    let cms: Api<ConfigMap> = Api::namespaced(ns.client.clone(), &ns.name);
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "svc-c-config"},
            "data": {"LOG_LEVEL": "info", "DB_PASSWORD": "hunter2-secret", "API_TOKEN": "sk-test-0123456789abcdef0123"}}))
        .unwrap(),
    )
    .await
    .unwrap();
    let secrets: Api<Secret> = Api::namespaced(ns.client.clone(), &ns.name);
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "svc-c-secret"}, "stringData": {"DB_USER": "agent", "DB_PASS": "very-secret-value"}}))
                .unwrap(),
        )
        .await
        .unwrap();
    let mut svc = service("svc-c", &ns.name);
    svc.configmap = Some("svc-c-config".into());
    svc.secret = Some("svc-c-secret".into());
    let w = world(&ns.name, vec![svc]).await;

    let shown = w.text("alice", "config get svc-c").await;
    assert!(
        shown.contains("LOG_LEVEL") && shown.contains("info"),
        "{shown}"
    );
    assert!(
        !shown.contains("hunter2-secret") && !shown.contains("sk-test-0123"),
        "{shown}"
    );
    assert!(
        shown.contains("DB_PASS") && !shown.contains("very-secret-value"),
        "{shown}"
    );

    let reply = w
        .say("alice", "config set svc-c LOG_LEVEL=debug --restart")
        .await;
    let inv = invocation_of(&reply);
    assert_eq!(
        cms.get("svc-c-config").await.unwrap().data.unwrap()["LOG_LEVEL"],
        "debug"
    );
    let d = deployment(&ns, "svc-c").await;
    assert!(
        d.spec
            .unwrap()
            .template
            .metadata
            .unwrap()
            .annotations
            .unwrap_or_default()
            .contains_key("kubectl.kubernetes.io/restartedAt")
    );
    wait_rolled_out(&ns.client, &ns.name, "svc-c").await;

    w.text("alice", &format!("undo {inv}")).await;
    assert_eq!(
        cms.get("svc-c-config").await.unwrap().data.unwrap()["LOG_LEVEL"],
        "info"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_sets_virtual_service_weights_with_a_json_patch_and_undo_restores_them() {
    let ns = TestNs::new("traffic").await;
    two_revision_deployment(&ns.client, &ns.name, "svc-t", 1).await;
    create_virtual_service(&ns.client, &ns.name, "svc-t-internal", "svc-t.local").await;
    let mut svc = service("svc-t", &ns.name);
    svc.virtual_service = Some("svc-t-internal".into());
    let w = world(&ns.name, vec![svc]).await;
    let vs = dynamic(
        &ns.client,
        &ns.name,
        "networking.istio.io",
        "v1",
        "VirtualService",
    );
    let weights = |o: &kube::api::DynamicObject| -> BTreeMap<String, i64> {
        o.data["spec"]["http"][0]["route"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["destination"]["subset"].as_str().unwrap().to_owned(),
                    r["weight"].as_i64().unwrap(),
                )
            })
            .collect()
    };

    let reply = w.say("alice", "traffic svc-t blue=20 green=80").await;
    let inv = invocation_of(&reply);
    let got = weights(&vs.get("svc-t-internal").await.unwrap());
    assert_eq!(
        got,
        BTreeMap::from([("blue".into(), 20), ("green".into(), 80)])
    );
    let istio = w.text("alice", &format!("istio {}", ns.name)).await;
    assert!(istio.contains("blue 20% / green 80%"), "{istio}");

    let unknown = w.text("alice", "traffic svc-t blue=50 canary=50").await;
    assert!(
        unknown.contains("canary") || unknown.contains("green"),
        "{unknown}"
    );

    w.text("alice", &format!("undo {inv}")).await;
    let got = weights(&vs.get("svc-t-internal").await.unwrap());
    assert_eq!(
        got,
        BTreeMap::from([("blue".into(), 80), ("green".into(), 20)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoyfilter_delete_keeps_the_manifest_and_undo_re_creates_it() {
    let ns = TestNs::new("envoy").await;
    create_envoy_filter(&ns.client, &ns.name, "rate-limit-filter").await;
    let w = world(&ns.name, vec![service("svc-e", &ns.name)]).await;
    let api = dynamic(
        &ns.client,
        &ns.name,
        "networking.istio.io",
        "v1alpha3",
        "EnvoyFilter",
    );
    let original = api.get("rate-limit-filter").await.unwrap();

    let (inv, out) = w.approved("envoyfilter delete rate-limit-filter").await;
    assert!(out.contains("Deleted"), "{out}");
    assert!(
        api.get_opt("rate-limit-filter").await.unwrap().is_none(),
        "still there"
    );
    let record = w
        .deps
        .store
        .execution(&vabot_commands::model::InvocationId::parse('i', &inv).unwrap())
        .await
        .unwrap()
        .unwrap();
    let before = record.before.expect("before-state recorded");
    assert_eq!(
        before["manifest"]["spec"], original.data["spec"],
        "the full manifest is kept"
    );

    let (_, undone) = w.approved(&format!("undo {inv}")).await;
    assert!(undone.contains("Re-created"), "{undone}");
    let back = api.get("rate-limit-filter").await.expect("re-created");
    assert_eq!(back.data["spec"], original.data["spec"]);
    assert_eq!(back.metadata.labels, original.metadata.labels);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_changed_after_the_plan_is_detected_before_execution() {
    let ns = TestNs::new("changed").await;
    two_revision_deployment(&ns.client, &ns.name, "svc-x", 2).await;
    let w = world(&ns.name, vec![service("svc-x", &ns.name)]).await;
    // scale to 0 is destructive: planned now, approved later.
    let reply = w.say("alice", "scale svc-x 0").await;
    let id = reply.opened.clone().expect("approval request");
    // Someone else changes the target in between.
    Api::<Deployment>::namespaced(ns.client.clone(), &ns.name)
        .patch(
            "svc-x",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .unwrap();
    let out = w.text("bob", &format!("approve {id}")).await;
    assert!(out.contains("target changed"), "{out}");
    assert_eq!(
        deployment(&ns, "svc-x").await.spec.unwrap().replicas,
        Some(3),
        "executed despite the change"
    );
}

async fn replicas_of(ns: &TestNs, name: &str) -> Option<i32> {
    deployment(ns, name).await.spec.unwrap().replicas
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_is_approved_by_someone_else_scales_to_zero_and_undo_restores_the_count() {
    let ns = TestNs::new("stop").await;
    two_revision_deployment(&ns.client, &ns.name, "svc-s", 3).await;
    let w = world(&ns.name, vec![service("svc-s", &ns.name)]).await;

    let reply = w.say("alice", "stop svc-s").await;
    let id = reply
        .opened
        .clone()
        .expect("stop is destructive: an approval request");
    let inv = invocation_of(&reply);
    let card = collapse(
        &reply
            .messages
            .iter()
            .map(vabot_commands::message::render_text)
            .collect::<String>(),
    );
    assert!(card.contains("replicas 3 → 0"), "{card}");
    assert_eq!(
        replicas_of(&ns, "svc-s").await,
        Some(3),
        "changed before approval"
    );
    // The requester's own vote does not count.
    let own = w.text("alice", &format!("approve {id}")).await;
    assert!(own.contains("someone else has to approve"), "{own}");
    assert_eq!(replicas_of(&ns, "svc-s").await, Some(3));

    let out = w.text("bob", &format!("approve {id}")).await;
    assert!(
        out.contains("Stopped") && out.contains("replicas 3 → 0"),
        "{out}"
    );
    assert_eq!(replicas_of(&ns, "svc-s").await, Some(0));

    // Stopping a stopped service is refused at once, with the way back.
    let again = w.text("alice", "stop svc-s").await;
    assert!(
        again.contains("already stopped") && again.contains("/va scale svc-s"),
        "{again}"
    );

    // Undo of a destructive change is approved like it.
    let (_, undone) = w.approved(&format!("undo {inv}")).await;
    assert!(undone.contains("replicas 0 → 3"), "{undone}");
    assert_eq!(replicas_of(&ns, "svc-s").await, Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_all_lists_every_workload_in_one_approval_and_undo_puts_each_count_back() {
    let ns = TestNs::new("scaleall").await;
    for (name, n) in [("svc-a", 2), ("svc-b", 1), ("svc-c", 0)] {
        two_revision_deployment(&ns.client, &ns.name, name, n).await;
    }
    let services = ["svc-a", "svc-b", "svc-c"]
        .iter()
        .map(|s| service(s, &ns.name))
        .collect();
    let w = world(&ns.name, services).await;

    // kubectl's spelling; the plan names every workload it changes and the ones it leaves.
    let reply = w.say("alice", &format!("scale --all {} 0", ns.name)).await;
    let id = reply
        .opened
        .clone()
        .expect("scale all is destructive: an approval request");
    let inv = invocation_of(&reply);
    let card = collapse(
        &reply
            .messages
            .iter()
            .map(vabot_commands::message::render_text)
            .collect::<String>(),
    );
    assert!(card.contains("svc-a replicas 2 → 0"), "{card}");
    assert!(card.contains("svc-b replicas 1 → 0"), "{card}");
    assert!(card.contains("left alone: svc-c"), "{card}");
    assert_eq!(
        replicas_of(&ns, "svc-a").await,
        Some(2),
        "changed before approval"
    );

    // One approval runs the whole batch.
    let out = w.text("bob", &format!("approve {id}")).await;
    assert!(
        out.contains("svc-a replicas 2 → 0") && out.contains("svc-b replicas 1 → 0"),
        "{out}"
    );
    for name in ["svc-a", "svc-b", "svc-c"] {
        assert_eq!(replicas_of(&ns, name).await, Some(0), "{name}");
    }

    let (_, undone) = w.approved(&format!("undo {inv}")).await;
    assert!(undone.contains("svc-a replicas 0 → 2"), "{undone}");
    assert_eq!(replicas_of(&ns, "svc-a").await, Some(2));
    assert_eq!(replicas_of(&ns, "svc-b").await, Some(1));
    assert_eq!(replicas_of(&ns, "svc-c").await, Some(0));

    // A count beyond one workload's catalog bound is refused before anything is planned.
    let over = w.text("alice", &format!("scale-all {} 25", ns.name)).await;
    assert!(over.contains("at most 20 replicas"), "{over}");
    let unknown = w.text("alice", "scale --all nowhere 1").await;
    assert!(unknown.contains("unknown namespace `nowhere`"), "{unknown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpa_set_changes_utilisation_targets_keeps_other_metrics_and_undo_restores_them() {
    let ns = TestNs::new("hpatarget").await;
    two_revision_deployment(&ns.client, &ns.name, "svc-t", 1).await;
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(ns.client.clone(), &ns.name);
    api.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": "svc-t-hpa"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "svc-t"},
                "minReplicas": 1, "maxReplicas": 4,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    let mut svc = service("svc-t", &ns.name);
    svc.hpa = Some("svc-t-hpa".into());
    let w = world(&ns.name, vec![svc]).await;
    let targets = |h: &HorizontalPodAutoscaler| {
        h.spec
            .metrics
            .clone()
            .unwrap_or_default()
            .iter()
            .filter_map(|m| m.resource.clone())
            .map(|r| (r.name, r.target.average_utilization))
            .collect::<Vec<_>>()
    };

    let reply = w.say("alice", "hpa set svc-t cpu=55 memory=80").await;
    let inv = invocation_of(&reply);
    let text = collapse(
        &reply
            .messages
            .iter()
            .map(vabot_commands::message::render_text)
            .collect::<String>(),
    );
    assert!(
        text.contains("cpu target 70% → 55%") && text.contains("memory target none → 80%"),
        "{text}"
    );
    let h = api.get("svc-t-hpa").await.unwrap();
    assert_eq!(
        targets(&h),
        vec![("cpu".into(), Some(55)), ("memory".into(), Some(80))]
    );
    assert_eq!(
        (h.spec.min_replicas, h.spec.max_replicas),
        (Some(1), 4),
        "bounds kept"
    );

    // Only max: the metrics are left as they are.
    let max = w.text("alice", "hpa set svc-t max=6").await;
    assert!(
        max.contains("maxReplicas 4 → 6") && !max.contains("minReplicas"),
        "{max}"
    );
    let h = api.get("svc-t-hpa").await.unwrap();
    assert_eq!(h.spec.max_replicas, 6);
    assert_eq!(targets(&h).len(), 2);
    // A min above the current max is refused before anything is sent.
    let over = w.text("alice", "hpa set svc-t min=7").await;
    assert!(
        over.contains("not a valid range") && over.contains("max=6"),
        "{over}"
    );

    let undone = w.text("alice", &format!("undo {inv}")).await;
    assert!(
        undone.contains("cpu target 55% → 70%") && undone.contains("memory target 80% → none"),
        "{undone}"
    );
    let h = api.get("svc-t-hpa").await.unwrap();
    assert_eq!(targets(&h), vec![("cpu".into(), Some(70))]);

    // With a service, `hpa` shows the controller's conditions (no metrics API here, so it
    // cannot compute a utilisation) and its events.
    let mut shown = String::new();
    for _ in 0..120 {
        shown = w.text("carol", "hpa svc-t").await;
        if shown.contains("ScalingActive") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(shown.contains("AbleToScale"), "{shown}");
    assert!(
        shown.contains("ScalingActive False FailedGetResourceMetric"),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoyfilter_set_changes_the_token_bucket_only_and_undo_restores_it() {
    let ns = TestNs::new("efset").await;
    let api = dynamic(
        &ns.client,
        &ns.name,
        "networking.istio.io",
        "v1alpha3",
        "EnvoyFilter",
    );
    let obj: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "networking.istio.io/v1alpha3", "kind": "EnvoyFilter",
        "metadata": {"name": "rate-limit-filter", "namespace": ns.name},
        "spec": {"workloadSelector": {"labels": {"app": "agent-engine"}}, "configPatches": [{
            "applyTo": "HTTP_FILTER",
            "patch": {"operation": "INSERT_BEFORE", "value": {
                "name": "envoy.filters.http.local_ratelimit",
                "typed_config": {
                    "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
                    "type_url": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
                    "value": {"stat_prefix": "http_local_rate_limiter",
                        "token_bucket": {"max_tokens": 200, "tokens_per_fill": 200, "fill_interval": "1s"}}}}}}]}
    }))
    .unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap();
    create_envoy_filter(&ns.client, &ns.name, "no-bucket").await;
    let w = world(&ns.name, vec![service("svc-a", &ns.name)]).await;
    let bucket = |o: &kube::api::DynamicObject| {
        o.data
            .pointer("/spec/configPatches/0/patch/value/typed_config/value/token_bucket")
            .cloned()
            .unwrap()
    };

    let reply = w
        .say(
            "alice",
            "envoyfilter set rate-limit-filter tokens=400 fill=2s",
        )
        .await;
    let inv = invocation_of(&reply);
    let text = collapse(
        &reply
            .messages
            .iter()
            .map(vabot_commands::message::render_text)
            .collect::<String>(),
    );
    assert!(
        text.contains("max_tokens 200 → 400") && text.contains("fill_interval 1s → 2s"),
        "{text}"
    );
    let now = api.get("rate-limit-filter").await.unwrap();
    assert_eq!(
        bucket(&now),
        json!({"max_tokens": 400, "tokens_per_fill": 400, "fill_interval": "2s"})
    );
    assert_eq!(
        now.data
            .pointer("/spec/configPatches/0/patch/value/typed_config/value/stat_prefix"),
        Some(&json!("http_local_rate_limiter")),
        "the rest of the filter is kept"
    );

    let none = w.text("alice", "envoyfilter set no-bucket tokens=10").await;
    assert!(
        none.contains("has no envoy.filters.http.local_ratelimit filter with a token_bucket"),
        "{none}"
    );
    let bad = w
        .text("alice", "envoyfilter set rate-limit-filter rate=5")
        .await;
    assert!(
        bad.contains("expected tokens=<n> or fill=<interval>"),
        "{bad}"
    );

    let undone = w.text("alice", &format!("undo {inv}")).await;
    assert!(undone.contains("max_tokens 400 → 200"), "{undone}");
    let back = api.get("rate-limit-filter").await.unwrap();
    assert_eq!(
        bucket(&back),
        json!({"max_tokens": 200, "tokens_per_fill": 200, "fill_interval": "1s"})
    );
}
