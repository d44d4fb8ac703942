//! Leader election on a `coordination.k8s.io/v1` Lease: exactly one replica holds the
//! Discord gateway. A holder renews every `renew_every`; anyone may take over a lease not
//! renewed for `duration`. Writes carry the resourceVersion they read, so two contenders
//! can never both win (the loser gets a 409 and stays a follower).

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use tokio::sync::watch;
use tracing::{info, warn};

/// How a replica takes part in an election.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    /// This replica's identity (pod name, or host and pid).
    pub identity: String,
    pub duration: Duration,
    pub renew_every: Duration,
}

/// What one round of the election saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Round {
    Leading,
    Following { holder: String },
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// The cluster's RBAC refuses vabot's own identity the Lease (the chart's `-lease` Role).
    #[error("the cluster's RBAC denies vabot get/create/update on leases in {namespace}")]
    Forbidden { namespace: String },
    #[error("lease API call failed")]
    Api(#[source] kube::Error),
}

fn now_micro() -> MicroTime {
    MicroTime(k8s_openapi::jiff::Timestamp::now())
}

fn secs_since(t: &MicroTime) -> i64 {
    k8s_openapi::jiff::Timestamp::now().as_second() - t.0.as_second()
}

/// One round: create, renew, take over, or follow.
impl LeaseError {
    fn of(e: kube::Error, cfg: &LeaseConfig) -> Self {
        match &e {
            kube::Error::Api(s) if s.code == 403 => LeaseError::Forbidden {
                namespace: cfg.namespace.clone(),
            },
            _ => LeaseError::Api(e),
        }
    }
}

pub async fn round(api: &Api<Lease>, cfg: &LeaseConfig) -> Result<Round, LeaseError> {
    let duration_secs = i32::try_from(cfg.duration.as_secs()).unwrap_or(i32::MAX);
    let Some(mut lease) = api
        .get_opt(&cfg.name)
        .await
        .map_err(|e| LeaseError::of(e, cfg))?
    else {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(cfg.name.clone()),
                namespace: Some(cfg.namespace.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(cfg.identity.clone()),
                lease_duration_seconds: Some(duration_secs),
                acquire_time: Some(now_micro()),
                renew_time: Some(now_micro()),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            }),
        };
        return match api.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(Round::Leading),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(Round::Following {
                holder: "unknown (lost the race to create)".into(),
            }),
            Err(e) => Err(LeaseError::of(e, cfg)),
        };
    };
    let spec = lease.spec.clone().unwrap_or_default();
    let holder = spec.holder_identity.clone().unwrap_or_default();
    let held_for = spec
        .lease_duration_seconds
        .map(i64::from)
        .unwrap_or(cfg.duration.as_secs() as i64);
    let expired = spec
        .renew_time
        .as_ref()
        .is_none_or(|t| secs_since(t) > held_for);
    if holder != cfg.identity && !holder.is_empty() && !expired {
        return Ok(Round::Following { holder });
    }
    let mut next = spec.clone();
    if holder != cfg.identity {
        next.holder_identity = Some(cfg.identity.clone());
        next.acquire_time = Some(now_micro());
        next.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
    }
    next.renew_time = Some(now_micro());
    next.lease_duration_seconds = Some(duration_secs);
    lease.spec = Some(next);
    // `replace` sends the resourceVersion we read: a concurrent writer makes this a 409.
    match api.replace(&cfg.name, &PostParams::default(), &lease).await {
        Ok(_) => Ok(Round::Leading),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(Round::Following { holder }),
        Err(e) => Err(LeaseError::of(e, cfg)),
    }
}

/// Runs the election until the receiver side is dropped; `true` while leading.
pub fn spawn(client: kube::Client, cfg: LeaseConfig) -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let api: Api<Lease> = Api::namespaced(client, &cfg.namespace);
        loop {
            let leading = match round(&api, &cfg).await {
                Ok(Round::Leading) => true,
                Ok(Round::Following { .. }) => false,
                Err(error) => {
                    // Cannot renew: stop acting as leader before the lease can pass to another.
                    warn!(error = %error, detail = ?std::error::Error::source(&error), "Lease round failed");
                    false
                }
            };
            if *tx.borrow() != leading {
                info!(identity = %cfg.identity, leading, lease = %cfg.name, "Leadership changed");
            }
            // Every round, so a follower reports 0 from the start rather than nothing.
            metrics::gauge!("vabot_leader").set(if leading { 1.0 } else { 0.0 });
            if tx.send(leading).is_err() {
                break;
            }
            tokio::time::sleep(cfg.renew_every).await;
        }
    });
    rx
}
