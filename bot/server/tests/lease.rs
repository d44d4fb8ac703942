//! Leader election against the real local control plane (KUBECONFIG from `deploy/dev/env up`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, DeleteParams};
use vabot_server::lease::{LeaseConfig, Round, round, spawn};

async fn client() -> kube::Client {
    vabot_server::install_crypto_provider();
    assert!(
        std::env::var_os("KUBECONFIG").is_some(),
        "KUBECONFIG is not set: run the tests through tests/run (it starts the local cluster)"
    );
    kube::Client::try_default()
        .await
        .expect("cluster reachable")
}

fn cfg(name: &str, identity: &str) -> LeaseConfig {
    LeaseConfig {
        namespace: "default".into(),
        name: name.into(),
        identity: identity.into(),
        duration: Duration::from_secs(3),
        renew_every: Duration::from_millis(500),
    }
}

#[tokio::test]
async fn only_one_replica_leads_and_a_dead_leaders_lease_moves_within_its_duration() {
    let c = client().await;
    let name = format!("vabot-lease-test-{}", std::process::id());
    let api: Api<Lease> = Api::namespaced(c.clone(), "default");

    assert_eq!(round(&api, &cfg(&name, "a")).await.unwrap(), Round::Leading);
    assert_eq!(
        round(&api, &cfg(&name, "b")).await.unwrap(),
        Round::Following { holder: "a".into() }
    );
    assert_eq!(
        round(&api, &cfg(&name, "a")).await.unwrap(),
        Round::Leading,
        "renewal"
    );

    // Two electors run; one leads. Stop the leader's task (as if its replica died).
    let rx_a = spawn(c.clone(), cfg(&name, "a"));
    let mut rx_b = spawn(c.clone(), cfg(&name, "b"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        *rx_a.borrow() && !*rx_b.borrow(),
        "a keeps the lease it holds"
    );
    drop(rx_a); // the task stops at its next send: no more renewals
    let died = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), rx_b.wait_for(|l| *l))
        .await
        .expect("b takes over")
        .expect("b's elector runs");
    let took = died.elapsed();
    assert!(
        took <= Duration::from_secs(3) + Duration::from_millis(1500),
        "took {took:?}"
    );
    let lease = api.get(&name).await.unwrap();
    assert_eq!(lease.spec.unwrap().holder_identity.as_deref(), Some("b"));
    let _ = api.delete(&name, &DeleteParams::default()).await;
}
