//! The pipeline's approval flows on SqlStore (both backends), with restarts: a fresh
//! `Deps` and a fresh store connection on the same database, as after a crash.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod common;

use std::sync::{Arc, RwLock};

use chrono::{TimeZone, Utc};
use common::TestDb;
use proptest::prelude::*;
use vabot_commands::approval::{ApprovalStatus, Verdict};
use vabot_commands::catalog::Catalog;
use vabot_commands::config::{Directory, Policy};
use vabot_commands::model::{Actor, ApprovalId, ChannelRef, DeliveryId, Invocation, Platform};
use vabot_commands::pipeline::{Deps, handle};
use vabot_commands::ports::Unconfigured;
use vabot_commands::recovery::sweep;
use vabot_commands::store::{EventKind, Store};
use vabot_commands::testing::{FakeCluster, ManualClock};
use vabot_store::ChainReport;

const POLICY: &str = include_str!("../../../deploy/demo/policy.yaml");

async fn deps(db: &TestDb, cluster: Arc<FakeCluster>, clock: Arc<ManualClock>) -> Deps {
    let catalog = Catalog::voicehelper();
    let policy = Policy::parse("policy.yaml", POLICY, false, &catalog).expect("policy");
    Deps {
        catalog: Arc::new(catalog),
        policy: Arc::new(RwLock::new(Arc::new(policy))),
        directory: Arc::new(Directory::default()),
        cluster,
        dependencies: Arc::new(Unconfigured),
        store: Arc::new(db.open().await),
        clock,
        replica: vabot_commands::model::ReplicaId::generate(Some("test")),
    }
}

#[derive(Debug, Clone)]
enum Step {
    Request,
    Vote(&'static str, bool),
    Cancel(&'static str),
    Advance(i64),
    Sweep,
    Restart,
}

fn step() -> impl Strategy<Value = Step> {
    let users = prop::sample::select(vec!["alice", "bob", "erin", "carol", "mallory"]);
    prop_oneof![
        2 => Just(Step::Request),
        5 => (users.clone(), any::<bool>()).prop_map(|(u, a)| Step::Vote(u, a)),
        1 => users.prop_map(Step::Cancel),
        1 => (1i64..20).prop_map(Step::Advance),
        1 => Just(Step::Sweep),
        1 => Just(Step::Restart),
    ]
}

async fn say(d: &Deps, n: u64, user: &str, text: String) -> vabot_commands::pipeline::Reply {
    handle(
        d,
        Invocation {
            actor: Actor::new(Platform::Console, user),
            channel: ChannelRef::new(Platform::Console, "#incident-prod"),
            text,
            delivery: DeliveryId::new(format!("d{n}")),
        },
    )
    .await
}

async fn run(db: &TestDb, steps: Vec<Step>) -> Result<(), TestCaseError> {
    // The cluster outlives restarts of the bot, as a real one does.
    let cluster = Arc::new(FakeCluster::new());
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0)
            .single()
            .expect("time"),
    ));
    let mut d = deps(db, cluster.clone(), clock.clone()).await;
    let mut requests: Vec<ApprovalId> = Vec::new();
    let mut n = 0u64;
    for s in steps {
        n += 1;
        match s {
            Step::Request => {
                cluster
                    .objects
                    .lock()
                    .expect("lock")
                    .insert("rate-limit-filter".into(), true);
                if let Some(id) = say(
                    &d,
                    n,
                    "alice",
                    "envoyfilter delete rate-limit-filter".into(),
                )
                .await
                .opened
                {
                    requests.push(id);
                }
            }
            Step::Vote(u, approve) => {
                if let Some(id) = requests.last() {
                    let verb = if approve { "approve" } else { "deny" };
                    say(&d, n, u, format!("{verb} {id}")).await;
                }
            }
            Step::Cancel(u) => {
                if let Some(id) = requests.last() {
                    say(&d, n, u, format!("cancel {id}")).await;
                }
            }
            Step::Advance(m) => clock.advance(chrono::Duration::minutes(m)),
            Step::Sweep => {
                sweep(&d).await.expect("sweep");
            }
            Step::Restart => {
                d = deps(db, cluster.clone(), clock.clone()).await;
                sweep(&d).await.expect("sweep");
            }
        }
    }
    let store = db.open().await;
    let events = store.events(None, None).await.expect("events");
    let mut executed = 0;
    for id in &requests {
        let req = store.approval(id).await.expect("store").expect("req");
        let started = events
            .iter()
            .filter(|e| {
                e.kind == EventKind::ExecutionStarted
                    && e.data.get("approval").and_then(|a| a.as_str()) == Some(id.as_str())
            })
            .count();
        prop_assert!(started <= 1, "{id} started {started} times");
        if req.status == ApprovalStatus::Executed {
            executed += 1;
            prop_assert_eq!(started, 1);
            let approvers: Vec<&str> = req
                .votes
                .iter()
                .filter(|v| v.verdict == Verdict::Approve)
                .map(|v| v.voter.user.as_str())
                .collect();
            prop_assert!(!approvers.contains(&"alice"), "requester counted: {req:?}");
            prop_assert!(
                approvers.iter().all(|u| *u == "bob" || *u == "erin"),
                "ineligible approver: {req:?}"
            );
            prop_assert!(approvers.len() >= req.rule.approvals as usize);
            prop_assert!(
                req.votes.iter().all(|v| v.at < req.expires_at),
                "vote after expiry: {req:?}"
            );
        } else {
            prop_assert_eq!(started, 0, "{} is {:?} but started", id, req.status);
        }
    }
    prop_assert_eq!(
        cluster.executed(),
        executed,
        "executions vs executed requests"
    );
    let intact = matches!(
        store.verify().await.expect("verify"),
        ChainReport::Intact { .. }
    );
    prop_assert!(intact, "the audit chain verifies");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Four-eyes in every interleaving, across restarts, on both backends: nothing executes
    /// without the approvals it needs from eligible people other than the requester, and
    /// nothing executes twice.
    #[test]
    fn four_eyes_holds_across_restarts_on_both_backends(steps in prop::collection::vec(step(), 1..30)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        rt.block_on(async {
            for db in TestDb::both().await {
                let result = run(&db, steps.clone()).await;
                db.drop_db().await;
                result?;
            }
            Ok::<(), TestCaseError>(())
        })?;
    }
}
