//! One suite, run on SQLite and on PostgreSQL: every Store method, duplicate deliveries,
//! the approval compare-and-set under racing callers, and the audit chain with each kind of
//! tampering. Needs `POSTGRES_URL` (the local environment).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

mod common;

use std::sync::{Arc, RwLock};

use chrono::{TimeZone, Utc};
use common::TestDb;
use serde_json::json;
use vabot_commands::approval::{ApprovalRequest, ApprovalStatus};
use vabot_commands::catalog::Catalog;
use vabot_commands::config::{Directory, Policy};
use vabot_commands::model::{
    Actor, ApprovalId, ChannelRef, DeliveryId, Invocation, InvocationId, Platform,
};
use vabot_commands::pipeline::{Deps, Reply, handle};
use vabot_commands::ports::Unconfigured;
use vabot_commands::store::{
    ChainBreak, EventKind, ExecutionRecord, InvocationRecord, NewEvent, PostedMessage, Recorded,
    Store,
};
use vabot_commands::testing::{FakeCluster, ManualClock};
use vabot_store::{ChainReport, SqlStore};

const POLICY: &str = include_str!("../../../deploy/demo/policy.yaml");

fn deps(store: Arc<dyn Store>, cluster: Arc<FakeCluster>, clock: Arc<ManualClock>) -> Deps {
    let catalog = Catalog::voicehelper();
    let policy = Policy::parse("policy.yaml", POLICY, false, &catalog).expect("policy");
    Deps {
        catalog: Arc::new(catalog),
        policy: Arc::new(RwLock::new(Arc::new(policy))),
        directory: Arc::new(Directory::default()),
        cluster,
        dependencies: Arc::new(Unconfigured),
        store,
        clock,
        replica: vabot_commands::model::ReplicaId::generate(Some("test")),
    }
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0)
            .single()
            .expect("time"),
    ))
}

async fn say(deps: &Deps, user: &str, text: &str, delivery: &str) -> Reply {
    handle(
        deps,
        Invocation {
            actor: Actor::new(Platform::Console, user),
            channel: ChannelRef::new(Platform::Console, "#incident-prod"),
            text: text.into(),
            delivery: DeliveryId::new(delivery),
        },
    )
    .await
}

fn ev(channel: &str, n: usize) -> NewEvent {
    NewEvent {
        invocation: Some(InvocationId::from_number('i', n as u64)),
        channel: ChannelRef::new(Platform::Slack, channel),
        actor: Some(Actor::new(Platform::Slack, "U1")),
        kind: EventKind::Invocation,
        summary: format!("event {n}"),
        data: json!({"n": n, "nested": {"b": 1, "a": [1.5, "x"]}}),
    }
}

/// A real approval request, opened through the pipeline.
async fn open_request(store: &SqlStore) -> ApprovalRequest {
    let d = deps(
        Arc::new(store.clone()),
        Arc::new(FakeCluster::new()),
        clock(),
    );
    let r = say(
        &d,
        "alice",
        "envoyfilter delete rate-limit-filter",
        &format!("req-{}", rand_suffix()),
    )
    .await;
    let id = r.opened.expect("an approval request");
    store.approval(&id).await.expect("store").expect("request")
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_retried_delivery_is_recognised_and_returns_the_first_invocation() {
    for db in TestDb::both().await {
        let store = db.open().await;
        let rec = InvocationRecord {
            id: InvocationId::from_number('i', 1),
            at: Utc::now(),
            actor: Actor::new(Platform::Slack, "U1"),
            channel: ChannelRef::new(Platform::Slack, "C1"),
            text: "scale agent-engine 4".into(),
            delivery: DeliveryId::new("Ev01"),
        };
        assert_eq!(
            store.record_invocation(&rec).await.expect("record"),
            Recorded::New
        );
        let retry = InvocationRecord {
            id: InvocationId::from_number('i', 2),
            ..rec.clone()
        };
        assert_eq!(
            store.record_invocation(&retry).await.expect("record"),
            Recorded::Duplicate(rec.id.clone()),
            "{}",
            db.name
        );
        // The same delivery id on another platform is another event.
        let discord = InvocationRecord {
            id: InvocationId::from_number('i', 3),
            channel: ChannelRef::new(Platform::Discord, "C1"),
            ..rec.clone()
        };
        assert_eq!(
            store.record_invocation(&discord).await.expect("record"),
            Recorded::New
        );
        let back = store
            .invocation(&rec.id)
            .await
            .expect("read")
            .expect("kept");
        assert_eq!(back.text, rec.text);
        assert_eq!(back.delivery, rec.delivery);
        assert!(store.invocation(&retry.id).await.expect("read").is_none());
        db.drop_db().await;
    }
}

#[tokio::test]
async fn appended_events_chain_filter_by_channel_and_time_and_verify() {
    for db in TestDb::both().await {
        let store = db.open().await;
        let mut sealed = Vec::new();
        for n in 0..6 {
            sealed.push(
                store
                    .append(ev(if n % 2 == 0 { "C1" } else { "C2" }, n))
                    .await
                    .expect("append"),
            );
        }
        assert_eq!(sealed[0].seq, 1);
        assert_eq!(sealed[1].prev_hash, sealed[0].hash);
        let all = store.events(None, None).await.expect("events");
        assert_eq!(all, sealed, "{}: stored events read back exactly", db.name);
        let c1 = store.events(Some("slack:C1"), None).await.expect("events");
        assert_eq!(c1.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 3, 5]);
        let later = store
            .events(None, Some(sealed[4].at))
            .await
            .expect("events");
        assert!(later.iter().all(|e| e.at >= sealed[4].at) && later.len() >= 2);
        assert_eq!(
            store.head().await.expect("head"),
            (6, sealed[5].hash.clone())
        );
        assert_eq!(
            store.verify().await.expect("verify"),
            ChainReport::Intact { records: 6 }
        );
        // Reopening (a restart) continues the same chain.
        let again = db.open().await;
        let next = again.append(ev("C1", 7)).await.expect("append");
        assert_eq!(
            (next.seq, next.prev_hash.clone()),
            (7, sealed[5].hash.clone())
        );
        db.drop_db().await;
    }
}

async fn tampered(db: &TestDb, sql: &[&str]) -> ChainReport {
    let store = db.open().await;
    for n in 0..5 {
        store.append(ev("C1", n)).await.expect("append");
    }
    assert_eq!(
        store.verify().await.expect("verify"),
        ChainReport::Intact { records: 5 }
    );
    for q in sql {
        sqlx::query(sqlx::AssertSqlSafe(q.to_string()))
            .execute(store.pool())
            .await
            .expect("tamper");
    }
    store.verify().await.expect("verify")
}

#[tokio::test]
async fn verify_detects_an_edited_row() {
    for db in TestDb::both().await {
        let r = tampered(
            &db,
            &["UPDATE audit_events SET summary = 'nothing to see' WHERE seq = 3"],
        )
        .await;
        assert_eq!(
            r,
            ChainReport::Broken(ChainBreak::Edited { seq: 3 }),
            "{}",
            db.name
        );
        db.drop_db().await;
    }
}

#[tokio::test]
async fn verify_detects_a_deleted_row() {
    for db in TestDb::both().await {
        let r = tampered(&db, &["DELETE FROM audit_events WHERE seq = 3"]).await;
        assert_eq!(
            r,
            ChainReport::Broken(ChainBreak::Gap { seq: 4, prev: 2 }),
            "{}",
            db.name
        );
        db.drop_db().await;
    }
}

#[tokio::test]
async fn verify_detects_a_truncated_tail() {
    for db in TestDb::both().await {
        let r = tampered(&db, &["DELETE FROM audit_events WHERE seq >= 4"]).await;
        assert_eq!(
            r,
            ChainReport::Broken(ChainBreak::Truncated {
                last: 3,
                expected: 5
            }),
            "{}",
            db.name
        );
        db.drop_db().await;
    }
}

#[tokio::test]
async fn verify_detects_a_reordered_pair() {
    for db in TestDb::both().await {
        let r = tampered(
            &db,
            &[
                "UPDATE audit_events SET seq = -3 WHERE seq = 3",
                "UPDATE audit_events SET seq = 3 WHERE seq = 4",
                "UPDATE audit_events SET seq = 4 WHERE seq = -3",
            ],
        )
        .await;
        assert_eq!(
            r,
            ChainReport::Broken(ChainBreak::Unlinked { seq: 3 }),
            "{}",
            db.name
        );
        db.drop_db().await;
    }
}

#[tokio::test]
async fn appends_from_several_replicas_at_once_form_one_chain() {
    for db in TestDb::both().await {
        let replicas = [db.open().await, db.open().await, db.open().await];
        let mut tasks = Vec::new();
        for (r, store) in replicas.iter().enumerate() {
            for n in 0..20 {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    store.append(ev("C1", r * 100 + n)).await
                }));
            }
        }
        for t in tasks {
            t.await.expect("task").expect("append");
        }
        assert_eq!(
            replicas[0].verify().await.expect("verify"),
            ChainReport::Intact { records: 60 },
            "{}",
            db.name
        );
        db.drop_db().await;
    }
}

#[tokio::test]
async fn approvals_insert_read_list_and_compare_and_set() {
    for db in TestDb::both().await {
        let store = db.open().await;
        let req = open_request(&store).await;
        assert_eq!(req.status, ApprovalStatus::Pending);
        assert!(
            store.insert_approval(&req).await.is_err(),
            "{}: a second insert of the same id is refused",
            db.name
        );
        let pending = store
            .approvals(Some("console:#incident-prod"), ApprovalStatus::Pending)
            .await
            .expect("list");
        assert_eq!(pending, vec![req.clone()]);
        assert!(
            store
                .approvals(Some("console:#general"), ApprovalStatus::Pending)
                .await
                .expect("list")
                .is_empty()
        );
        let mut claimed = req.successor();
        claimed.status = ApprovalStatus::Executing;
        assert!(store.replace_approval(&claimed, &req).await.expect("cas"));
        // A stale caller (still holding the pending version) loses.
        let mut stale = req.successor();
        stale.status = ApprovalStatus::Cancelled;
        assert!(!store.replace_approval(&stale, &req).await.expect("cas"));
        // A replacement that does not move the version on is refused outright.
        let mut skipped = claimed.successor().successor();
        skipped.status = ApprovalStatus::Executed;
        assert!(store.replace_approval(&skipped, &claimed).await.is_err());
        // The same status twice (a claim taken back from a dead replica, say) still
        // needs the current version: two takers, one winner.
        let mut retaken = claimed.successor();
        retaken.plan.summary = "retaken".into();
        assert!(
            store
                .replace_approval(&retaken, &claimed)
                .await
                .expect("cas")
        );
        assert!(
            !store
                .replace_approval(&retaken, &claimed)
                .await
                .expect("cas")
        );
        let claimed = retaken;
        assert_eq!(
            store.approval(&req.id).await.expect("read"),
            Some(claimed.clone())
        );
        assert!(
            store
                .approval(&ApprovalId::from_number('a', 7))
                .await
                .expect("read")
                .is_none()
        );
        assert_eq!(
            store
                .approvals(None, ApprovalStatus::Executing)
                .await
                .expect("list"),
            vec![claimed]
        );
        db.drop_db().await;
    }
}

#[tokio::test]
async fn racing_callers_on_one_approval_have_exactly_one_winner() {
    for db in TestDb::both().await {
        let stores = [db.open().await, db.open().await];
        for round in 0..5 {
            let req = open_request(&stores[0]).await;
            let mut tasks = Vec::new();
            for t in 0..16 {
                let store = stores[t % 2].clone();
                let req = req.clone();
                tasks.push(tokio::spawn(async move {
                    let mut next = req.successor();
                    next.status = ApprovalStatus::Executing;
                    next.plan.summary = format!("claimed by {t}");
                    store.replace_approval(&next, &req).await
                }));
            }
            let mut winners = 0;
            for t in tasks {
                if t.await.expect("task").expect("cas") {
                    winners += 1;
                }
            }
            assert_eq!(winners, 1, "{} round {round}", db.name);
        }
        db.drop_db().await;
    }
}

#[tokio::test]
async fn executions_upsert_and_posted_messages_map_back() {
    for db in TestDb::both().await {
        let store = db.open().await;
        let req = open_request(&store).await;
        let mut rec = ExecutionRecord {
            invocation: req.invocation.clone(),
            approval: Some(req.id.clone()),
            plan: req.plan.clone(),
            started_at: Utc::now(),
            finished_at: None,
            succeeded: None,
            summary: String::new(),
            before: None,
            after: None,
        };
        store.record_execution(&rec).await.expect("record");
        rec.finished_at = Some(Utc::now());
        rec.succeeded = Some(true);
        rec.before = Some(json!({"replicas": 2}));
        rec.after = Some(json!({"replicas": 5}));
        store.record_execution(&rec).await.expect("update");
        assert_eq!(
            store.execution(&req.invocation).await.expect("read"),
            Some(rec.clone()),
            "{}",
            db.name
        );
        let card = |message: &str| PostedMessage {
            platform: Platform::Slack,
            channel: "C1".into(),
            message: message.into(),
            thread: Some("1700000000.000100".into()),
            invocation: Some(req.invocation.clone()),
            approval: Some(req.id.clone()),
            at: Utc::now(),
        };
        store.record_posted(&card("1.1")).await.expect("post");
        store.record_posted(&card("1.2")).await.expect("post");
        assert_eq!(
            store
                .card_of(Platform::Slack, &req.id)
                .await
                .expect("read")
                .map(|m| m.message),
            Some("1.2".to_owned()),
            "the latest card"
        );
        assert!(
            store
                .card_of(Platform::Discord, &req.id)
                .await
                .expect("read")
                .is_none()
        );
        assert_eq!(
            store
                .posted(Platform::Slack, "C1", "1.1")
                .await
                .expect("read")
                .and_then(|m| m.approval),
            Some(req.id.clone())
        );
        assert!(
            store
                .posted(Platform::Slack, "C2", "1.1")
                .await
                .expect("read")
                .is_none()
        );
        db.drop_db().await;
    }
}

#[tokio::test]
async fn the_in_memory_sqlite_url_opens_and_keeps_its_data() {
    let store = SqlStore::open("sqlite::memory:").await.expect("open");
    store.append(ev("C1", 1)).await.expect("append");
    store.append(ev("C1", 2)).await.expect("append");
    assert_eq!(
        store.verify().await.expect("verify"),
        ChainReport::Intact { records: 2 }
    );
}

#[tokio::test]
async fn an_unknown_scheme_is_refused_with_the_supported_ones() {
    let Err(e) = SqlStore::open("mysql://x").await else {
        panic!("mysql is not supported")
    };
    assert!(e.to_string().contains("use `postgres://…`"), "{e}");
}

/// Correctness only: how fast appends are is a benchmark (`bench/`, BENCHMARKS.md).
#[tokio::test]
async fn sequential_appends_number_the_chain_without_gaps_on_both_backends() {
    const N: usize = 200;
    for db in TestDb::both().await {
        let store = db.open().await;
        let mut prev = vabot_commands::store::GENESIS.to_owned();
        for n in 0..N {
            let sealed = store.append(ev("C1", n)).await.expect("append");
            assert_eq!(sealed.seq, n as u64 + 1, "{}", db.name);
            assert_eq!(
                sealed.prev_hash, prev,
                "{}: record {n} is not linked",
                db.name
            );
            prev = sealed.hash;
        }
        assert_eq!(
            store.head().await.expect("head"),
            (N as u64, prev),
            "{}: the head is the last record",
            db.name
        );
        assert_eq!(
            store.verify().await.expect("verify"),
            ChainReport::Intact { records: N }
        );
        db.drop_db().await;
    }
}

#[tokio::test]
async fn deliveries_are_accepted_once_claimed_once_and_resumed_until_settled() {
    use vabot_commands::model::ReplicaId;
    use vabot_commands::store::{Delivery, Unsettled};
    let q = |accepted_before, claimed_before, owner_seen_before| Unsettled {
        me: ReplicaId::new("the-sweeper"),
        accepted_before,
        claimed_before,
        owner_seen_before,
        max_attempts: 3,
    };
    for db in TestDb::both().await {
        let (ra, rb) = (ReplicaId::new("replica-a"), ReplicaId::new("replica-b"));
        // Two replicas, each receiving every delivery twice (Slack retries), all at once:
        // the batched inserts still say "new" exactly once per delivery.
        let replicas = [db.open().await, db.open().await];
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).unwrap();
        let delivery = |n: usize| Delivery {
            platform: Platform::Slack,
            id: DeliveryId::new(format!("cmd:trig{n}")),
            received_at: at,
            payload: format!("{{\"n\":{n}}}"),
            attempts: 0,
            owner: Some(ReplicaId::new("replica-a")),
        };
        let mut tasks = Vec::new();
        for store in &replicas {
            for n in 0..40 {
                for _ in 0..2 {
                    let (store, d) = (store.clone(), delivery(n));
                    tasks.push(tokio::spawn(async move { store.accept(&d).await }));
                }
            }
        }
        let mut new = 0;
        for t in tasks {
            new += usize::from(t.await.expect("task").expect("accept"));
        }
        assert_eq!(new, 40, "{}", db.name);

        // A claim is a compare-and-set: of two replicas holding the same copy, one wins.
        let d = delivery(7);
        let later = at + chrono::Duration::seconds(1);
        // Both replicas are alive (heartbeats at `at`).
        for (store, r) in replicas.iter().zip([&ra, &rb]) {
            store.heartbeat(r, at).await.unwrap();
        }
        let (a, b) = tokio::join!(
            replicas[0].claim(&d, later, &ra),
            replicas[1].claim(&d, later, &rb)
        );
        assert_eq!(
            u8::from(a.unwrap()) + u8::from(b.unwrap()),
            1,
            "{}",
            db.name
        );
        // Unclaimed ones are left behind; the claimed one only once its worker is presumed dead.
        let soon = at + chrono::Duration::seconds(31);
        let left = replicas[0]
            .unsettled(Platform::Slack, q(soon, at, at))
            .await
            .unwrap();
        assert_eq!(left.len(), 39, "{}", db.name);
        assert_eq!(left[0].payload.chars().next(), Some('{'));
        // The claimed one's owner stops: its heartbeat is older than the cut-off, so the
        // delivery is owed again at once (no need to wait until its worker is presumed lost).
        let owner_gone = at + chrono::Duration::seconds(10);
        let left = replicas[1]
            .unsettled(Platform::Slack, q(at, at, owner_gone))
            .await
            .unwrap();
        assert_eq!(
            left.len(),
            40,
            "every delivery's owner is gone: {}",
            db.name
        );
        let alive = replicas[1]
            .unsettled(Platform::Slack, q(at, at, at))
            .await
            .unwrap();
        assert!(alive.is_empty(), "live owners keep theirs: {}", db.name);
        let dead = at + chrono::Duration::minutes(20);
        let left = replicas[1]
            .unsettled(Platform::Slack, q(soon, dead, at))
            .await
            .unwrap();
        assert_eq!(left.len(), 40, "{}", db.name);
        let resumed = left.iter().find(|x| x.id == d.id).unwrap();
        assert_eq!(resumed.attempts, 1);
        for x in &left {
            replicas[0]
                .settle(Platform::Slack, &x.id, dead)
                .await
                .unwrap();
        }
        assert!(
            replicas[1]
                .unsettled(Platform::Slack, q(dead, dead, dead))
                .await
                .unwrap()
                .is_empty()
        );
        db.drop_db().await;
    }
}
