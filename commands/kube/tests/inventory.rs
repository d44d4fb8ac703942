//! The inventory reads (`svc`, `pvc`, `nodes`, `env`) against the real control plane, each
//! in a namespace of its own with objects made to show the interesting cases: a Service
//! with no ready endpoint, a claim that cannot bind, a pod no node can take, a pod that
//! started before its ConfigMap changed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod common;

use common::*;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    ConfigMap, Node, PersistentVolume, PersistentVolumeClaim, Pod, Service as KubeService,
};
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

async fn create<K>(client: &Client, ns: Option<&str>, v: Value) -> K
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns.unwrap_or("default"));
    api.create(&PostParams::default(), &serde_json::from_value(v).unwrap())
        .await
        .expect("create")
}

/// A Service `name` selecting `app=<app>`, port `http` 80 → 8080.
async fn http_service(ns: &TestNs, name: &str, app: &str) {
    create::<KubeService>(
        &ns.client,
        Some(&ns.name),
        json!({"metadata": {"name": name}, "spec": {"selector": {"app": app},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn svc_lists_ports_selectors_and_puts_services_without_ready_endpoints_first() {
    let ns = TestNs::new("svc").await;
    two_revision_deployment(&ns.client, &ns.name, "svc-a", 2).await;
    for (name, app) in [("svc-a", "svc-a"), ("orphan", "nobody")] {
        http_service(&ns, name, app).await;
    }
    let w = world(&ns.name, vec![service("svc-a", &ns.name)]).await;
    // The EndpointSlice controller fills svc-a's slice with its two ready pods.
    let mut text = String::new();
    for _ in 0..40 {
        text = w.text("carol", &format!("svc {}", ns.name)).await;
        if text.contains("2 of 2 ready") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(
        text.contains(&format!(
            "{}/svc-a ClusterIP 80→8080/TCP app=svc-a 2 of 2 ready",
            ns.name
        )),
        "{text}"
    );
    let orphan = text.find("/orphan").expect("orphan listed");
    assert!(
        orphan < text.find("/svc-a ").unwrap(),
        "the empty Service comes first: {text}"
    );
    assert!(
        text.contains("⚠ none: no pod matches the selector"),
        "{text}"
    );
    assert!(
        text.contains("1 Service(s) have no ready endpoint"),
        "{text}"
    );
    // An unknown namespace is refused with the ones vabot manages.
    let bad = w.text("carol", "svc nowhere").await;
    assert!(bad.contains("unknown namespace `nowhere`"), "{bad}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pvc_shows_bound_claims_and_says_why_a_pending_one_is_not_bound() {
    let ns = TestNs::new("pvc").await;
    let pv_name = format!("{}-pv", ns.name);
    let pvs: Api<PersistentVolume> = Api::all(ns.client.clone());
    pvs.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": pv_name},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                "storageClassName": "manual", "hostPath": {"path": "/tmp/vabot-pv"},
                "claimRef": {"namespace": ns.name, "name": "data"}}}))
        .unwrap(),
    )
    .await
    .expect("pv");
    for (name, class) in [("data", "manual"), ("stuck", "no-such-class")] {
        create::<PersistentVolumeClaim>(
            &ns.client,
            Some(&ns.name),
            json!({"metadata": {"name": name}, "spec": {"accessModes": ["ReadWriteOnce"],
                "storageClassName": class, "resources": {"requests": {"storage": "1Gi"}}}}),
        )
        .await;
    }
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(ns.client.clone(), &ns.name);
    wait_until("the claim to bind", || async {
        claims
            .get("data")
            .await
            .ok()
            .and_then(|c| c.status?.phase)
            .as_deref()
            == Some("Bound")
    })
    .await;
    let w = world(&ns.name, vec![service("svc-a", &ns.name)]).await;
    let text = w.text("carol", &format!("pvc {}", ns.name)).await;
    assert!(text.contains(": 1 not bound"), "{text}");
    assert!(
        text.contains(&format!(
            "{}/data Bound 1Gi ReadWriteOnce manual {pv_name}",
            ns.name
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}/stuck ⚠ Pending 1Gi (requested)", ns.name)),
        "{text}"
    );
    assert!(
        text.find("/stuck").unwrap() < text.find("/data").unwrap(),
        "{text}"
    );
    let _ = pvs.delete(&pv_name, &DeleteParams::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_match_the_api_and_name_the_pod_that_no_node_can_take() {
    let ns = TestNs::new("nodes").await;
    create::<Pod>(
        &ns.client,
        Some(&ns.name),
        json!({"metadata": {"name": "homeless"}, "spec": {
            "nodeSelector": {"vabot.dev/pool": "does-not-exist"},
            "containers": [{"name": "c", "image": "registry.local/c:1"}]}}),
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    wait_until("the scheduler to give up on the pod", || async {
        pods.get("homeless")
            .await
            .ok()
            .and_then(|p| p.status?.conditions)
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c.type_ == "PodScheduled" && c.status == "False")
            })
    })
    .await;
    let w = world(&ns.name, vec![service("svc-a", &ns.name)]).await;
    let text = w.text("carol", "nodes").await;
    let nodes = Api::<Node>::all(ns.client.clone())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    assert!(text.contains(&format!("{} node(s)", nodes.len())), "{text}");
    for n in &nodes {
        assert!(text.contains(n.metadata.name.as_deref().unwrap()), "{text}");
    }
    assert!(text.contains("1 pod(s) wait for room"), "{text}");
    assert!(
        text.contains(&format!("{}/homeless: 0/", ns.name)),
        "{text}"
    );
    assert!(
        text.contains("node affinity/selector"),
        "the scheduler's reason: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_says_where_a_variable_comes_from_hides_secret_values_and_flags_pods_older_than_their_configmap()
 {
    let ns = TestNs::new("env").await;
    create::<ConfigMap>(
        &ns.client,
        Some(&ns.name),
        json!({"metadata": {"name": "svc-e-config"}, "data": {"LOG_LEVEL": "info", "FEATURE_X": "on"}}),
    )
    .await;
    let mut d = deployment_json("svc-e", "registry.local/svc-e:1", 1, "env test");
    d["spec"]["template"]["spec"]["containers"][0]["env"] = json!([
        {"name": "LOG_LEVEL", "valueFrom": {"configMapKeyRef": {"name": "svc-e-config", "key": "LOG_LEVEL"}}},
        {"name": "API_TOKEN", "value": "tok-3f9a8b7c6d5e4f3a2b1c"},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "svc-e-secret", "key": "password"}}}
    ]);
    d["spec"]["template"]["spec"]["containers"][0]["envFrom"] =
        json!([{"configMapRef": {"name": "svc-e-config"}}]);
    create::<Deployment>(&ns.client, Some(&ns.name), d).await;
    wait_rolled_out(&ns.client, &ns.name, "svc-e").await;
    let w = world(&ns.name, vec![service("svc-e", &ns.name)]).await;

    let level = w.text("carol", "env svc-e LOG_LEVEL").await;
    assert!(
        level.contains("svc-e: `info` — from ConfigMap svc-e-config key LOG_LEVEL = `info`"),
        "{level}"
    );
    assert!(level.contains("as the template"), "{level}");
    let from_all = w.text("carol", "env svc-e FEATURE_X").await;
    assert!(
        from_all.contains("envFrom ConfigMap svc-e-config = `on`"),
        "{from_all}"
    );
    let token = w.text("carol", "env svc-e API_TOKEN").await;
    assert!(
        !token.contains("tok-3f9a8b7c6d5e4f3a2b1c"),
        "a secret-looking value was shown: {token}"
    );
    assert!(token.contains("literal"), "{token}");
    let password = w.text("carol", "env svc-e DB_PASSWORD").await;
    assert!(
        password.contains("Secret svc-e-secret key password (value not shown)"),
        "{password}"
    );
    let missing = w.text("carol", "env svc-e NOPE").await;
    assert!(
        missing.contains("NOPE in Deployment") && missing.contains(": not set"),
        "{missing}"
    );
    let bad = w.text("carol", "env svc-e 9LIVES").await;
    assert!(bad.contains("not an environment variable name"), "{bad}");

    // The ConfigMap changes after the pod started: the pod still has the old value.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    Api::<ConfigMap>::namespaced(ns.client.clone(), &ns.name)
        .patch(
            "svc-e-config",
            &PatchParams::apply("vabot-test"),
            &Patch::Merge(json!({"data": {"LOG_LEVEL": "debug"}})),
        )
        .await
        .unwrap();
    let stale = w.text("carol", "env svc-e LOG_LEVEL").await;
    assert!(stale.contains("= `debug`"), "{stale}");
    assert!(
        stale.contains("started before the ConfigMap changed")
            && stale.contains("/va restart svc-e"),
        "{stale}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_shows_init_containers_and_the_state_of_each_claim_a_pod_mounts() {
    let ns = TestNs::new("describe").await;
    create::<PersistentVolumeClaim>(
        &ns.client,
        Some(&ns.name),
        json!({"metadata": {"name": "stuck"}, "spec": {"accessModes": ["ReadWriteOnce"],
            "storageClassName": "no-such-class", "resources": {"requests": {"storage": "1Gi"}}}}),
    )
    .await;
    let mut d = deployment_json("svc-d", "registry.local/svc-d:1", 1, "describe test");
    d["spec"]["template"]["spec"]["initContainers"] = json!([
        {"name": "wait-for-db", "image": "registry.local/wait:1"}
    ]);
    d["spec"]["template"]["spec"]["volumes"] = json!([
        {"name": "data", "persistentVolumeClaim": {"claimName": "stuck"}}
    ]);
    create::<Deployment>(&ns.client, Some(&ns.name), d).await;
    let pods: Api<Pod> = Api::namespaced(ns.client.clone(), &ns.name);
    wait_until("the pod to exist", || async {
        pods.list(&ListParams::default().labels("app=svc-d"))
            .await
            .is_ok_and(|l| !l.items.is_empty())
    })
    .await;
    let pod = pods
        .list(&ListParams::default().labels("app=svc-d"))
        .await
        .unwrap()
        .items[0]
        .metadata
        .name
        .clone()
        .unwrap();
    let w = world(&ns.name, vec![service("svc-d", &ns.name)]).await;

    let svc = w.text("carol", "describe svc-d").await;
    assert!(
        svc.contains("init container wait-for-db registry.local/wait:1"),
        "{svc}"
    );
    assert!(svc.contains("volume data PVC stuck"), "{svc}");

    let text = w.text("carol", &format!("describe {pod}")).await;
    assert!(text.contains("init container wait-for-db"), "{text}");
    assert!(
        text.contains("⚠ PVC stuck: Pending"),
        "the claim's state: {text}"
    );
    assert!(
        !text.contains("volume data PVC stuck\n"),
        "the bare template line is replaced: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netpol_shows_ingress_and_egress_peers_with_their_ports() {
    use k8s_openapi::api::networking::v1::NetworkPolicy;
    let ns = TestNs::new("netpol").await;
    create::<NetworkPolicy>(
        &ns.client,
        Some(&ns.name),
        json!({"metadata": {"name": "agent-engine-traffic"}, "spec": {
            "podSelector": {"matchLabels": {"app": "agent-engine"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "voice-gateway"}}}],
                         "ports": [{"protocol": "TCP", "port": 8080}]}],
            "egress": [
                {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}}],
                 "ports": [{"protocol": "UDP", "port": 53}]},
                {"to": [{"ipBlock": {"cidr": "127.0.0.0/8", "except": ["127.0.1.0/24"]}}],
                 "ports": [{"protocol": "TCP", "port": 5432}]}
            ]}}),
    )
    .await;
    create::<NetworkPolicy>(
        &ns.client,
        Some(&ns.name),
        json!({"metadata": {"name": "deny-egress"}, "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}),
    )
    .await;
    let w = world(&ns.name, vec![service("svc-a", &ns.name)]).await;
    let text = w.text("carol", &format!("netpol {}", ns.name)).await;
    assert!(
        text.contains("app=agent-engine Ingress,Egress app=voice-gateway on TCP/8080"),
        "{text}"
    );
    assert!(text.contains("ns kubernetes.io/metadata.name=kube-system on UDP/53; 127.0.0.0/8 except 127.0.1.0/24 on TCP/5432"), "{text}");
    assert!(
        text.contains("(all pods) Egress (not restricted) deny all"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_read_a_catalogued_sidecar_and_set_image_leaves_it_alone() {
    let ns = TestNs::new("sidecar").await;
    let mut d = deployment_json("svc-m", "registry.local/svc-m:1", 1, "mesh test");
    d["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.22.0"}));
    create::<Deployment>(&ns.client, Some(&ns.name), d).await;
    wait_rolled_out(&ns.client, &ns.name, "svc-m").await;
    let mut svc = service("svc-m", &ns.name);
    svc.sidecars = vec!["istio-proxy".into()];
    let w = world(&ns.name, vec![svc]).await;

    let logs = w
        .text("carol", "logs svc-m --container istio-proxy --tail 3")
        .await;
    assert!(logs.contains("istio-proxy"), "{logs}");
    assert!(!logs.contains("no container"), "{logs}");
    let unknown = w.text("carol", "logs svc-m --container envoy").await;
    assert!(
        unknown.contains("its containers are svc-m, istio-proxy"),
        "{unknown}"
    );

    // The sidecar's image is the mesh's, not vabot's to change.
    let refused = w
        .text(
            "alice",
            "set-image svc-m istio-proxy=docker.io/istio/proxyv2:9",
        )
        .await;
    assert!(
        refused.contains("has no container `istio-proxy`"),
        "{refused}"
    );
    let plain = w
        .text("alice", "set-image svc-m registry.local/svc-m:2")
        .await;
    assert!(plain.contains("svc-m:2"), "{plain}");
    let d = Api::<Deployment>::namespaced(ns.client.clone(), &ns.name)
        .get("svc-m")
        .await
        .unwrap();
    let images: Vec<String> = d
        .spec
        .unwrap()
        .template
        .spec
        .unwrap()
        .containers
        .iter()
        .map(|c| c.image.clone().unwrap())
        .collect();
    assert_eq!(
        images,
        vec![
            "registry.local/svc-m:2".to_owned(),
            "docker.io/istio/proxyv2:1.22.0".to_owned()
        ]
    );
}

/// A world whose catalog names `mesh` as the mesh namespace, and whose channel reaches it.
async fn mesh_world(apps: &str, mesh: &str) -> World {
    let mut cat = catalog(apps, vec![service("svc-a", apps)]);
    cat.namespaces.mesh = Some(mesh.into());
    let pol = policy_in(&cat, &[apps, mesh]);
    world_with(cat, pol, KubeConfig::default(), admin_config().await).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_of_the_mesh_namespace_reads_istiod_and_the_gateway_live() {
    let apps = TestNs::new("mesh-apps").await;
    let mesh = TestNs::new("mesh").await;
    // istiod runs; the gateway's pod can never be placed (no node has the label).
    let deployments: Api<Deployment> = Api::namespaced(mesh.client.clone(), &mesh.name);
    let istiod = deployment_json("istiod", "docker.io/istio/pilot:1.24.2", 1, "install");
    deployments
        .create(
            &PostParams::default(),
            &serde_json::from_value(istiod).unwrap(),
        )
        .await
        .unwrap();
    let mut gateway = deployment_json(
        "istio-ingressgateway",
        "docker.io/istio/proxyv2:1.24.2",
        1,
        "install",
    );
    gateway["spec"]["template"]["spec"]["nodeSelector"] = json!({"vabot.dev/no-such-node": "x"});
    deployments
        .create(
            &PostParams::default(),
            &serde_json::from_value(gateway).unwrap(),
        )
        .await
        .unwrap();
    wait_rolled_out(&mesh.client, &mesh.name, "istiod").await;

    let w = mesh_world(&apps.name, &mesh.name).await;
    let mut text = String::new();
    for _ in 0..40 {
        text = w.text("carol", &format!("health {}", mesh.name)).await;
        if text.contains("Pending") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(text.contains(&format!("Health of {}", mesh.name)), "{text}");
    assert!(
        text.contains(&format!("{}/istiod Deployment 1/1", mesh.name)),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{}/istio-ingressgateway Deployment 0/1 ⚠",
            mesh.name
        )),
        "{text}"
    );
    assert!(
        text.contains("1/2 workloads fully ready, 1 pods not Ready"),
        "{text}"
    );
    assert!(text.contains("Read live from the API server"), "{text}");

    // A namespace with no control plane says so instead of "all healthy".
    let empty = TestNs::new("mesh-empty").await;
    let w = mesh_world(&apps.name, &empty.name).await;
    let text = w.text("carol", &format!("health {}", empty.name)).await;
    assert!(
        text.contains("No Deployments and no pods") && text.contains("istiod"),
        "{text}"
    );
    // Without a mesh in the catalog, the name is an unknown scope with a hint.
    let w = world(&apps.name, vec![service("svc-a", &apps.name)]).await;
    let text = w.text("carol", &format!("health {}", mesh.name)).await;
    assert!(
        text.contains("unknown service") && text.contains("Usage: /va health"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_goes_through_the_service_proxy_and_never_has_a_simulated_pod_dialled() {
    let ns = TestNs::new("probe").await;
    two_revision_deployment(&ns.client, &ns.name, "svc-a", 1).await;
    for (name, app) in [("svc-a", "svc-a"), ("lonely", "nobody")] {
        http_service(&ns, name, app).await;
    }
    let mut a = service("svc-a", &ns.name);
    a.probe_port = Some("http".into());
    let mut lonely = service("lonely", &ns.name);
    lonely.probe_port = Some("http".into());
    lonely.probe_path = Some("/ready".into());
    let bare = service("bare", &ns.name);
    let w = world(&ns.name, vec![a, lonely, bare]).await;

    // svc-a's ready pod runs on a kwok node: there is nothing behind its address, and
    // the API server is not asked to dial it.
    let mut text = String::new();
    for _ in 0..40 {
        text = w.text("carol", "probe svc-a").await;
        if text.contains("not sent") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(text.contains("Probe of svc-a: not sent"), "{text}");
    assert!(text.contains("simulated nodes (kwok-node-"), "{text}");

    // No ready endpoint: the API server's own 503, explained.
    let text = w.text("carol", "probe lonely").await;
    assert!(text.contains("Probe of lonely: unreachable"), "{text}");
    assert!(
        text.contains("No ready pod stands behind Service `lonely`")
            && text.contains("`/ready`")
            && text
                .contains("503 ServiceUnavailable: no endpoints available for service \"lonely\""),
        "{text}"
    );
    // A service without a probe in the catalog says what to configure.
    let text = w.text("carol", "probe bare").await;
    assert!(
        text.contains("`bare` has no probe in the catalog"),
        "{text}"
    );
    // A Service that does not exist: not found, not a crash.
    let mut gone = service("gone", &ns.name);
    gone.probe_port = Some("http".into());
    let w = world(&ns.name, vec![gone]).await;
    let text = w.text("carol", "probe gone").await;
    assert!(text.contains("Service gone in"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bluegreen_status_flags_traffic_to_a_version_with_no_ready_pod() {
    let ns = TestNs::new("bluegreen").await;
    two_revision_deployment(&ns.client, &ns.name, "svc-t", 1).await;
    http_service(&ns, "svc-t", "svc-t").await;
    create_virtual_service(&ns.client, &ns.name, "svc-t-vs", "svc-t").await;
    let dr = dynamic(
        &ns.client,
        &ns.name,
        "networking.istio.io",
        "v1",
        "DestinationRule",
    );
    dr.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
            "metadata": {"name": "svc-t"},
            "spec": {"host": format!("svc-t.{}.svc.cluster.local", ns.name), "subsets": [
                {"name": "blue", "labels": {"version": "blue"}},
                {"name": "green", "labels": {"version": "green"}}]}
        }))
        .unwrap(),
    )
    .await
    .unwrap();
    let mut s = service("svc-t", &ns.name);
    s.virtual_service = Some("svc-t-vs".into());
    let w = world(&ns.name, vec![s]).await;

    // 20% goes to green, and there is no green pod.
    let text = w.text("carol", "bluegreen status svc-t").await;
    assert!(text.contains("Blue/green of svc-t"), "{text}");
    assert!(
        text.contains("20% of svc-t's traffic goes to `green`, which has no ready pod"),
        "{text}"
    );
    let flat = collapse(&text);
    assert!(
        flat.contains("blue 80% version=blue svc-t 1/1 1 of 1"),
        "{flat}"
    );
    assert!(
        flat.contains("green 20% version=green none 0 of 0"),
        "{flat}"
    );

    // The green version arrives: both serve.
    let mut green = deployment_json(
        "svc-t-green",
        "registry.voicehelper.local/svc-t:2.0.0",
        1,
        "green",
    );
    green["spec"]["selector"]["matchLabels"] = json!({"app": "svc-t", "version": "green"});
    green["spec"]["template"]["metadata"]["labels"] = json!({"app": "svc-t", "version": "green"});
    let deployments: Api<Deployment> = Api::namespaced(ns.client.clone(), &ns.name);
    deployments
        .create(
            &PostParams::default(),
            &serde_json::from_value(green).unwrap(),
        )
        .await
        .unwrap();
    wait_rolled_out(&ns.client, &ns.name, "svc-t-green").await;
    let text = w.text("carol", "bluegreen status svc-t").await;
    assert!(
        text.contains("Every subset that receives traffic has ready pods"),
        "{text}"
    );
    assert!(
        collapse(&text).contains("green 20% version=green svc-t-green 1/1 1 of 1"),
        "{text}"
    );
    // A service without a VirtualService says what is missing.
    let w = world(&ns.name, vec![service("svc-t", &ns.name)]).await;
    let text = w.text("carol", "bluegreen status svc-t").await;
    assert!(text.contains("names no VirtualService"), "{text}");
}
