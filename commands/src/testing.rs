//! Fakes for pipeline tests here and in other crates: a manual clock and a cluster that
//! plans and "executes" against an in-memory replica table.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::approval::Approved;
use crate::authz::Permit;
use crate::grammar::Command;
use crate::message::{Message, Tone};
use crate::plan::{ObjectRef, Plan};
use crate::ports::{Clock, Cluster, ExecError, Outcome, PlanContext};

/// A clock that only moves when told to.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Mutex::new(start))
    }
    pub fn advance(&self, by: chrono::Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
            .lock()
            .map(|t| *t)
            .unwrap_or_else(|p| *p.into_inner())
    }
}

/// A cluster of replica counts and named objects; counts every execution.
#[derive(Default)]
pub struct FakeCluster {
    pub replicas: Mutex<BTreeMap<String, u32>>,
    pub objects: Mutex<BTreeMap<String, bool>>,
    pub executions: AtomicUsize,
    /// Bumped to simulate someone else changing the target.
    pub generation: AtomicUsize,
}

impl FakeCluster {
    pub fn new() -> Self {
        let f = Self::default();
        if let Ok(mut r) = f.replicas.lock() {
            r.insert("agent-engine".into(), 2);
        }
        if let Ok(mut o) = f.objects.lock() {
            o.insert("rate-limit-filter".into(), true);
        }
        f
    }

    pub fn executed(&self) -> usize {
        self.executions.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Cluster for FakeCluster {
    async fn snapshot(
        &self,
        _: &[crate::model::Namespace],
    ) -> Result<crate::ports::ClusterSnapshot, ExecError> {
        Ok(crate::ports::ClusterSnapshot::default())
    }

    async fn plan(&self, permit: &Permit, _: &PlanContext) -> Result<Plan, ExecError> {
        let generation = self.generation.load(Ordering::SeqCst).to_string();
        match permit.command() {
            Command::Scale { service, replicas } => {
                let now = self
                    .replicas
                    .lock()
                    .map(|r| r.get(service).copied().unwrap_or(1))
                    .unwrap_or(1);
                Ok(Plan::new(permit, format!("Scale {service}"))
                    .with_target(ObjectRef {
                        kind: "Deployment".into(),
                        namespace: "voiceassistant-prod".into(),
                        name: service.clone(),
                    })
                    .with_change("replicas", now, replicas)
                    .with_fingerprint(generation))
            }
            Command::EnvoyFilterDelete { name } => {
                let exists = self
                    .objects
                    .lock()
                    .map(|o| o.get(name).copied().unwrap_or(false))
                    .unwrap_or(false);
                if !exists {
                    return Err(ExecError::NotFound {
                        what: format!("EnvoyFilter {name}"),
                    });
                }
                Ok(Plan::new(permit, format!("Delete EnvoyFilter {name}"))
                    .with_target(ObjectRef {
                        kind: "EnvoyFilter".into(),
                        namespace: "voiceassistant-prod".into(),
                        name: name.clone(),
                    })
                    .with_change("exists", "yes", "no (manifest kept for undo)")
                    .with_fingerprint(generation))
            }
            other => Ok(Plan::new(permit, other.name().to_owned()).with_fingerprint(generation)),
        }
    }

    async fn execute(&self, plan: &Approved) -> Result<Outcome, ExecError> {
        self.executions.fetch_add(1, Ordering::SeqCst);
        match &plan.plan().command {
            Command::Scale { service, replicas } => {
                if let Ok(mut r) = self.replicas.lock() {
                    r.insert(service.clone(), *replicas);
                }
                Ok(Outcome::reply(
                    Message::text(Tone::Success, format!("Scaled {service} to {replicas}")),
                    format!("scaled {service} to {replicas}"),
                ))
            }
            Command::EnvoyFilterDelete { name } => {
                if let Ok(mut o) = self.objects.lock() {
                    o.insert(name.clone(), false);
                }
                Ok(Outcome::reply(
                    Message::text(Tone::Success, format!("Deleted EnvoyFilter {name}")),
                    format!("deleted {name}"),
                ))
            }
            other => Ok(Outcome::reply(
                Message::text(Tone::Info, format!("ran {}", other.name())),
                other.name(),
            )),
        }
    }
}

/// Pipeline dependencies on the demo policy and the VoiceHelper catalog, with a
/// [`FakeCluster`], no dependency executor and a [`ManualClock`] at a fixed time.
pub fn demo_deps(store: std::sync::Arc<dyn crate::store::Store>) -> crate::pipeline::Deps {
    use std::sync::{Arc, RwLock};
    let catalog = crate::catalog::Catalog::voicehelper();
    let policy = crate::config::Policy::parse(
        "policy.yaml",
        include_str!("../../deploy/demo/policy.yaml"),
        false,
        &catalog,
    )
    .unwrap_or_else(|e| panic!("the demo policy parses: {e}"));
    let start = DateTime::parse_from_rfc3339("2026-11-25T03:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default();
    crate::pipeline::Deps {
        catalog: Arc::new(catalog),
        policy: Arc::new(RwLock::new(Arc::new(policy))),
        directory: Arc::new(crate::config::Directory::default()),
        cluster: Arc::new(FakeCluster::new()),
        dependencies: Arc::new(crate::ports::Unconfigured),
        store,
        clock: Arc::new(ManualClock::new(start)),
        replica: crate::model::ReplicaId::generate(Some("test")),
    }
}
