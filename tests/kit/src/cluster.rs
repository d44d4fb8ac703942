//! The real cluster port over a seeded [`Topology`], counting what it executes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use vabot_commands::approval::Approved;
use vabot_commands::authz::Permit;
use vabot_commands::model::Namespace;
use vabot_commands::plan::{Plan, RiskClass};
use vabot_commands::ports::{Cluster, ClusterSnapshot, ExecError, Outcome, PlanContext};
use vabot_kube::{KubeCluster, KubeConfig};

use crate::{Topology, env};

/// The kube-rs cluster port, wrapped: counts the changes it carries out (so "ran once"
/// is counted where it happens) and can make executions slow.
pub struct Counting {
    inner: KubeCluster,
    executions: AtomicUsize,
    delay: Duration,
}

impl Counting {
    /// Connects to the local control plane with the admin identity and the topology's
    /// catalog, and waits for the watch caches.
    pub async fn connect(t: &Topology, delay: Duration) -> Arc<Self> {
        let catalog = Arc::new(t.catalog());
        let inner =
            KubeCluster::from_config(env::admin_config().await, &KubeConfig::default(), catalog)
                .await
                .expect("connect to the local control plane");
        assert!(
            inner.ready(Duration::from_secs(60)).await,
            "watch caches did not sync"
        );
        Arc::new(Self {
            inner,
            executions: AtomicUsize::new(0),
            delay,
        })
    }

    /// How many changes (write or destructive plans) were executed.
    pub fn executed(&self) -> usize {
        self.executions.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Cluster for Counting {
    async fn snapshot(&self, ns: &[Namespace]) -> Result<ClusterSnapshot, ExecError> {
        self.inner.snapshot(ns).await
    }
    async fn plan(&self, permit: &Permit, ctx: &PlanContext) -> Result<Plan, ExecError> {
        self.inner.plan(permit, ctx).await
    }
    async fn execute(&self, plan: &Approved) -> Result<Outcome, ExecError> {
        if plan.plan().risk > RiskClass::Read {
            self.executions.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
        }
        self.inner.execute(plan).await
    }
    fn caches_synced(&self) -> bool {
        self.inner.caches_synced()
    }
    fn cache_stale_secs(&self) -> Option<u64> {
        self.inner.cache_stale_secs()
    }
}
