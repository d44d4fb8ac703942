use std::sync::{Arc, RwLock};

use chrono::{TimeZone, Utc};

use super::*;
use crate::approval::{Claim, Verdict, Vote};
use crate::catalog::Catalog;
use crate::config::{Directory, Policy};
use crate::model::{Actor, ChannelRef, DeliveryId, Invocation, Platform, ReplicaId};
use crate::pipeline::{Deps, handle};
use crate::ports::{Clock, Unconfigured};
use crate::store::{MemoryStore, Store};
use crate::testing::{FakeCluster, ManualClock};

const POLICY: &str = include_str!("../../deploy/demo/policy.yaml");

struct World {
    deps: Deps,
    cluster: Arc<FakeCluster>,
    clock: Arc<ManualClock>,
    store: Arc<MemoryStore>,
}

fn world() -> World {
    let catalog = Catalog::voicehelper();
    let policy = Policy::parse("policy.yaml", POLICY, false, &catalog).expect("policy");
    let cluster = Arc::new(FakeCluster::new());
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0)
            .single()
            .expect("time"),
    ));
    let store = Arc::new(MemoryStore::new());
    World {
        deps: Deps {
            catalog: Arc::new(catalog),
            policy: Arc::new(RwLock::new(Arc::new(policy))),
            directory: Arc::new(Directory::default()),
            cluster: cluster.clone(),
            dependencies: Arc::new(Unconfigured),
            store: store.clone(),
            clock: clock.clone(),
            replica: ReplicaId::new("replica-here"),
        },
        cluster,
        clock,
        store,
    }
}

impl World {
    /// Another replica on the same store, cluster and clock.
    fn elsewhere(&self, name: &str) -> Deps {
        let mut d = self.deps.clone();
        d.replica = ReplicaId::new(name);
        d
    }

    /// alice asks for a destructive change; the open request.
    async fn request(&self) -> ApprovalRequest {
        let reply = handle(
            &self.deps,
            Invocation {
                actor: Actor::new(Platform::Console, "alice"),
                channel: ChannelRef::new(Platform::Console, "#incident-prod"),
                text: "envoyfilter delete rate-limit-filter".into(),
                delivery: DeliveryId::new(format!("d-{}", self.clock.now().timestamp_micros())),
            },
        )
        .await;
        let id = reply.opened.expect("an approval request");
        self.store.approval(&id).await.unwrap().unwrap()
    }

    /// The request as a replica left it: bob's approval counted, then `status` (and a
    /// claim by `claimed_by`).
    async fn left(
        &self,
        req: &ApprovalRequest,
        status: ApprovalStatus,
        claimed_by: Option<&str>,
    ) -> ApprovalRequest {
        let mut approved = req.successor();
        approved.votes.push(Vote {
            voter: Actor::new(Platform::Console, "bob"),
            verdict: Verdict::Approve,
            at: self.clock.now(),
            via: "command".into(),
        });
        approved.status = ApprovalStatus::Approved;
        assert!(self.store.replace_approval(&approved, req).await.unwrap());
        if status == ApprovalStatus::Approved {
            return approved;
        }
        let mut claimed = approved.successor();
        claimed.status = status;
        claimed.claim = claimed_by.map(|r| Claim {
            replica: ReplicaId::new(r),
            at: self.clock.now(),
        });
        assert!(
            self.store
                .replace_approval(&claimed, &approved)
                .await
                .unwrap()
        );
        claimed
    }

    async fn status(&self, req: &ApprovalRequest) -> ApprovalStatus {
        self.store.approval(&req.id).await.unwrap().unwrap().status
    }
}

#[tokio::test]
async fn an_approved_request_nobody_ran_is_executed_once_whichever_replicas_sweep() {
    let w = world();
    let req = w.request().await;
    w.left(&req, ApprovalStatus::Approved, None).await;
    let (a, b) = (w.elsewhere("replica-a"), w.elsewhere("replica-b"));
    let (ra, rb) = tokio::join!(sweep(&a), sweep(&b));
    let follow_ups: Vec<FollowUp> = ra.unwrap().into_iter().chain(rb.unwrap()).collect();
    assert_eq!(w.cluster.executed(), 1, "executed once");
    assert_eq!(w.status(&req).await, ApprovalStatus::Executed);
    let posted = follow_ups
        .iter()
        .find(|f| f.reply.card_update.is_some())
        .expect("a follow-up with the card");
    let text: String = posted
        .reply
        .messages
        .iter()
        .map(crate::message::render_text)
        .collect();
    assert!(text.contains("Deleted EnvoyFilter"), "{text}");
    assert_eq!(posted.request.id, req.id);
}

#[tokio::test]
async fn a_claim_of_a_replica_that_stopped_before_executing_is_taken_over() {
    let w = world();
    let req = w.request().await;
    // replica-a was alive when it claimed; its heartbeat then stopped.
    w.store
        .heartbeat(&ReplicaId::new("replica-a"), w.clock.now())
        .await
        .unwrap();
    w.left(&req, ApprovalStatus::Executing, Some("replica-a"))
        .await;
    // While it is still alive, nobody touches its claim.
    assert!(sweep(&w.deps).await.unwrap().is_empty());
    assert_eq!(w.cluster.executed(), 0);
    w.clock.advance(chrono::Duration::seconds(11));
    let b = w.elsewhere("replica-b");
    let (x, y) = tokio::join!(sweep(&w.deps), sweep(&b));
    let n = x.unwrap().len() + y.unwrap().len();
    assert_eq!(n, 1, "one replica took it over");
    assert_eq!(w.cluster.executed(), 1);
    assert_eq!(w.status(&req).await, ApprovalStatus::Executed);
    let events = w.store.events(None, None).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.summary.contains("taken over from replica-a")),
        "the takeover is in the history"
    );
}

#[tokio::test]
async fn a_replica_that_stopped_mid_change_leaves_an_interrupted_request_never_re_run() {
    let w = world();
    let req = w.request().await;
    let claimed = w
        .left(&req, ApprovalStatus::Executing, Some("replica-a"))
        .await;
    // replica-a recorded the start of the execution, then died (never heartbeats again).
    w.store
        .record_execution(&ExecutionRecord {
            invocation: claimed.invocation.clone(),
            approval: Some(claimed.id.clone()),
            plan: claimed.plan.clone(),
            started_at: w.clock.now(),
            finished_at: None,
            succeeded: None,
            summary: String::new(),
            before: None,
            after: None,
        })
        .await
        .unwrap();
    let done = sweep(&w.deps).await.unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(w.cluster.executed(), 0, "never re-run blindly");
    assert_eq!(w.status(&req).await, ApprovalStatus::Failed);
    let text = crate::message::render_text(&done[0].reply.messages[0]);
    assert!(text.contains("was interrupted"), "{text}");
    assert!(text.contains("check the target"), "{text}");
    let card = &done[0].reply.card_update.as_ref().expect("card").1;
    assert!(crate::message::render_text(card).contains("Interrupted"));
    // A second sweep has nothing left to do.
    assert!(sweep(&w.elsewhere("replica-b")).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_expired_request_gets_its_card_updated_once() {
    let w = world();
    let req = w.request().await;
    w.clock.advance(chrono::Duration::minutes(16));
    let b = w.elsewhere("replica-b");
    let (x, y) = tokio::join!(sweep(&w.deps), sweep(&b));
    let done: Vec<FollowUp> = x.unwrap().into_iter().chain(y.unwrap()).collect();
    assert_eq!(done.len(), 1, "expired once");
    let (id, card) = done[0].reply.card_update.as_ref().expect("card update");
    assert_eq!(id, &req.id);
    let text = crate::message::render_text(card);
    assert!(text.contains("Expired at 03:15:00 UTC"), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
    assert_eq!(w.status(&req).await, ApprovalStatus::Expired);
}

#[tokio::test]
async fn a_claim_taken_over_stops_the_replica_that_lost_it() {
    let w = world();
    let req = w.request().await;
    // This replica claims; another takes the claim over before it executes.
    let claimed = w
        .left(&req, ApprovalStatus::Executing, Some("replica-here"))
        .await;
    let mut stolen = claimed.successor();
    stolen.claim = Some(Claim {
        replica: ReplicaId::new("replica-b"),
        at: w.clock.now(),
    });
    assert!(w.store.replace_approval(&stolen, &claimed).await.unwrap());
    let approved = claimed.approved_plan().expect("approved");
    let err = crate::pipeline::tests_support::execute(&w.deps, &claimed, approved)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("taken over"), "{err}");
    assert_eq!(w.cluster.executed(), 0);
}
