//! Every read command through `pipeline::handle` against the seeded VoiceHelper
//! namespaces (read-only: nothing here changes them), compared with the API's own state.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod common;

use common::*;
use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use vabot_commands::catalog::Catalog;
use vabot_commands::config::Policy;
use vabot_commands::message::Block;
use vabot_kube::KubeConfig;

async fn seeded() -> World {
    let cat = Catalog::voicehelper();
    let pol = Policy::parse("policy.yaml", DEMO_POLICY, false, &cat).unwrap();
    world_with(cat, pol, KubeConfig::default(), admin_config().await).await
}

async fn agent_pods() -> Vec<Pod> {
    let api: Api<Pod> = Api::namespaced(admin().await, "voiceassistant-prod");
    api.list(&ListParams::default().labels("app=agent-engine"))
        .await
        .unwrap()
        .items
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_pods_describe_and_events_show_the_clusters_state() {
    let w = seeded().await;
    let health = w.say("carol", "health").await;
    let msg = &health.messages[0];
    let text = vabot_commands::message::render_text(msg);
    assert!(
        text.contains("agent-engine") && text.contains("postgres"),
        "{text}"
    );
    assert!(
        msg.blocks.iter().any(|b| matches!(b, Block::Table { .. })),
        "health has no table"
    );
    assert!(text.contains("cache age"), "{text}");

    let pods = agent_pods().await;
    let reply = w.text("carol", "pods agent-engine").await;
    for p in &pods {
        assert!(
            reply.contains(&p.name_any()),
            "pod {} missing: {reply}",
            p.name_any()
        );
    }

    let d = w.text("carol", "describe agent-engine").await;
    assert!(
        d.contains("Deployment voiceassistant-prod/agent-engine") && d.contains("limits cpu=500m"),
        "{d}"
    );
    let pod = pods[0].name_any();
    let d = w.text("carol", &format!("describe {pod}")).await;
    assert!(d.contains(&format!("Pod voiceassistant-prod/{pod}")), "{d}");

    let e = w.text("carol", "events").await;
    assert!(e.contains("events") || e.contains("REASON"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_come_through_the_api_server_redacted_with_previous_tail_and_container() {
    let w = seeded().await;
    let out = w.text("carol", "logs agent-engine").await;
    assert!(out.contains("connected to postgres"), "{out}");
    assert!(
        !out.contains("Sup3rS3cret") && !out.contains("0123456789abcdef"),
        "a secret leaked: {out}"
    );
    assert!(out.contains("[REDACTED]"), "{out}");

    let prev = w.text("carol", "logs agent-engine --previous").await;
    assert!(
        prev.contains("password authentication failed") || prev.contains("panic"),
        "{prev}"
    );
    assert!(
        !prev.contains("agent-dev-password"),
        "a secret leaked: {prev}"
    );

    let tail = w
        .text(
            "carol",
            "logs agent-engine --tail 2 --container agent-engine",
        )
        .await;
    assert!(
        tail.contains("rate limited") && !tail.contains("starting service"),
        "{tail}"
    );

    let since = w.text("carol", "logs agent-engine --since 1h").await;
    assert!(
        since.starts_with("ℹ️") || since.contains("Logs of") || since.contains("no log lines"),
        "{since}"
    );

    let bad = w
        .text("carol", "logs agent-engine --container sidecar")
        .await;
    assert!(bad.contains("no container `sidecar`"), "{bad}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_netpol_top_rollout_hpa_config_and_istio_answer_from_the_api() {
    let w = seeded().await;
    let ep = w.text("carol", "endpoints agent-engine").await;
    assert!(ep.contains("ready"), "{ep}");
    for p in agent_pods().await {
        assert!(
            ep.contains(&p.name_any()),
            "endpoint of {} missing: {ep}",
            p.name_any()
        );
    }

    let np = w.text("carol", "netpol voiceassistant-prod").await;
    assert!(
        np.contains("default-deny-ingress") && np.contains("allow-voice-gateway-to-agent-engine"),
        "{np}"
    );

    let top = w.text("carol", "top pods").await;
    assert!(
        top.contains("metrics API (metrics.k8s.io) is not available"),
        "{top}"
    );

    let st = w.text("carol", "rollout status identity-service").await;
    assert!(st.contains("successfully rolled out"), "{st}");
    let hist = w.text("carol", "rollout history identity-service").await;
    assert!(
        hist.contains("CHANGE-CAUSE") && hist.contains("1.4.2") && hist.contains("1.5.0"),
        "{hist}"
    );
    let sts = w.text("carol", "rollout status postgres").await;
    assert!(sts.contains("statefulset"), "{sts}");

    let hpa = w.text("carol", "hpa").await;
    assert!(
        hpa.contains("agent-engine-hpa") && hpa.contains("Deployment/agent-engine"),
        "{hpa}"
    );

    let cfg = w.text("carol", "config get agent-engine").await;
    assert!(
        cfg.contains("LOG_LEVEL") && cfg.contains("RATE_LIMIT_RPS"),
        "{cfg}"
    );
    assert!(
        !cfg.contains("Sup3rS3cret") && !cfg.contains("sk-dev-"),
        "a secret leaked: {cfg}"
    );
    assert!(cfg.contains("agent-engine-secret holds the keys"), "{cfg}");
    let one = w.text("carol", "config get agent-engine LOG_LEVEL").await;
    assert!(
        one.contains("LOG_LEVEL") && !one.contains("RATE_LIMIT_RPS"),
        "{one}"
    );

    let istio = w.text("carol", "istio").await;
    assert!(
        istio.contains("rate-limit-filter") && istio.contains("agent-engine-internal"),
        "{istio}"
    );
    assert!(istio.contains("blue") && istio.contains("green"), "{istio}");
}
