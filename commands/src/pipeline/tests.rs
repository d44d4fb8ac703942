use std::sync::atomic::Ordering;

use chrono::TimeZone;
use proptest::prelude::*;

use std::sync::{Arc, RwLock};

use chrono::Utc;

use super::*;
use crate::approval::{ApprovalStatus, Verdict};
use crate::authz;
use crate::catalog::Catalog;
use crate::config::{Directory, Policy};
use crate::grammar;
use crate::model::{Actor, ApprovalId, ChannelRef, Invocation};
use crate::model::{DeliveryId, Platform};
use crate::ports::Unconfigured;
use crate::recovery::sweep;
use crate::store::MemoryStore;
use crate::testing::{FakeCluster, ManualClock};

const POLICY: &str = include_str!("../../../deploy/demo/policy.yaml");

struct World {
    deps: Deps,
    cluster: Arc<FakeCluster>,
    clock: Arc<ManualClock>,
    store: Arc<MemoryStore>,
    n: std::sync::atomic::AtomicU64,
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
            replica: crate::model::ReplicaId::generate(Some("test")),
        },
        cluster,
        clock,
        store,
        n: 0.into(),
    }
}

impl World {
    async fn say(&self, user: &str, text: &str) -> Reply {
        let n = self.n.fetch_add(1, Ordering::SeqCst);
        self.say_with_delivery(user, text, &format!("d{n}")).await
    }

    async fn say_with_delivery(&self, user: &str, text: &str, delivery: &str) -> Reply {
        self.say_in(user, "#incident-prod", text, delivery).await
    }

    async fn say_in(&self, user: &str, channel: &str, text: &str, delivery: &str) -> Reply {
        handle(
            &self.deps,
            Invocation {
                actor: Actor::new(Platform::Console, user),
                channel: ChannelRef::new(Platform::Console, channel),
                text: text.into(),
                delivery: DeliveryId::new(delivery),
            },
        )
        .await
    }
}

fn text(r: &Reply) -> String {
    r.messages
        .iter()
        .map(crate::message::render_text)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn destructive_command_waits_for_an_approver_other_than_the_requester() {
    let w = world();
    let r = w.say("alice", "envoyfilter delete rate-limit-filter").await;
    let id = r.opened.clone().expect("an approval request");
    assert!(text(&r).contains("Approval needed"), "{}", text(&r));
    assert_eq!(w.cluster.executed(), 0);

    let r = w.say("alice", &format!("approve {id}")).await;
    assert!(
        text(&r).contains("someone else has to approve it (four-eyes)"),
        "{}",
        text(&r)
    );
    let r = w.say("carol", &format!("approve {id}")).await;
    assert!(
        text(&r).contains("needs one of these roles: approver, admin; you have viewer"),
        "{}",
        text(&r)
    );
    assert_eq!(w.cluster.executed(), 0);

    let r = w.say("bob", &format!("approve {id}")).await;
    assert!(
        text(&r).contains("Deleted EnvoyFilter rate-limit-filter"),
        "{}",
        text(&r)
    );
    assert_eq!(w.cluster.executed(), 1);
    let r = w.say("erin", &format!("approve {id}")).await;
    assert!(text(&r).contains("is already executed"), "{}", text(&r));
    assert_eq!(w.cluster.executed(), 1);

    let timeline = text(&w.say("alice", "timeline").await);
    for needle in [
        "approval_requested",
        "vote_refused",
        "vote",
        "approval_decided",
        "execution_started",
        "execution_finished",
    ] {
        assert!(
            timeline.contains(needle),
            "timeline lacks {needle}:\n{timeline}"
        );
    }
}

#[tokio::test]
async fn write_commands_without_a_rule_run_at_once_and_record_before_and_after() {
    let w = world();
    let r = w.say("alice", "scale agent-engine 5").await;
    assert!(
        text(&r).contains("Scaled agent-engine to 5"),
        "{}",
        text(&r)
    );
    let inv = r.invocation.expect("id");
    let exec = w
        .store
        .execution(&inv)
        .await
        .expect("store")
        .expect("execution record");
    assert_eq!(exec.succeeded, Some(true));
    assert_eq!(exec.plan.changes[0].to_string(), "replicas 2 → 5");
}

#[tokio::test]
async fn scale_to_zero_is_destructive_and_needs_approval() {
    let w = world();
    let r = w.say("alice", "scale agent-engine 0").await;
    assert!(r.opened.is_some(), "{}", text(&r));
    assert_eq!(w.cluster.executed(), 0);
}

#[tokio::test]
async fn expired_requests_refuse_votes_and_never_run() {
    let w = world();
    let id = w
        .say("alice", "envoyfilter delete rate-limit-filter")
        .await
        .opened
        .expect("request");
    w.clock.advance(chrono::Duration::minutes(16));
    let r = w.say("bob", &format!("approve {id}")).await;
    assert!(text(&r).contains("expired at"), "{}", text(&r));
    assert_eq!(w.cluster.executed(), 0);
    assert_eq!(
        w.store
            .approval(&id)
            .await
            .expect("store")
            .expect("req")
            .status,
        ApprovalStatus::Expired
    );
}

#[tokio::test]
async fn sweep_expires_requests_even_if_nobody_votes() {
    let w = world();
    let id = w
        .say("alice", "envoyfilter delete rate-limit-filter")
        .await
        .opened
        .expect("request");
    assert!(sweep(&w.deps).await.expect("sweep").is_empty());
    w.clock.advance(chrono::Duration::minutes(15));
    assert_eq!(sweep(&w.deps).await.expect("sweep").len(), 1);
    assert_eq!(
        w.store
            .approval(&id)
            .await
            .expect("store")
            .expect("req")
            .status,
        ApprovalStatus::Expired
    );
}

#[tokio::test]
async fn deny_and_cancel_close_requests() {
    let w = world();
    let id = w
        .say("alice", "envoyfilter delete rate-limit-filter")
        .await
        .opened
        .expect("request");
    assert!(text(&w.say("erin", &format!("deny {id}")).await).contains("denied"));
    assert!(text(&w.say("bob", &format!("approve {id}")).await).contains("is already denied"));

    let id = w
        .say("alice", "envoyfilter delete rate-limit-filter")
        .await
        .opened
        .expect("request");
    assert!(
        text(&w.say("bob", &format!("cancel {id}")).await)
            .contains("only the requester can cancel")
    );
    assert!(text(&w.say("alice", &format!("cancel {id}")).await).contains("cancelled"));
    assert!(text(&w.say("bob", &format!("approve {id}")).await).contains("is already cancelled"));
    assert_eq!(w.cluster.executed(), 0);
}

#[tokio::test]
async fn a_changed_target_is_replanned_and_asked_again() {
    let w = world();
    let id = w
        .say("alice", "envoyfilter delete rate-limit-filter")
        .await
        .opened
        .expect("request");
    w.cluster.generation.fetch_add(1, Ordering::SeqCst);
    let r = w.say("bob", &format!("approve {id}")).await;
    assert!(text(&r).contains("The target changed"), "{}", text(&r));
    let again = r.opened.expect("a new request");
    assert_ne!(again, id);
    assert_eq!(w.cluster.executed(), 0);
    assert!(
        text(&w.say("erin", &format!("approve {again}")).await).contains("Deleted EnvoyFilter")
    );
    assert_eq!(w.cluster.executed(), 1);
}

#[tokio::test]
async fn a_retried_delivery_runs_once() {
    let w = world();
    let first = w
        .say_with_delivery("alice", "scale agent-engine 4", "slack-evt-1")
        .await;
    let retry = w
        .say_with_delivery("alice", "scale agent-engine 4", "slack-evt-1")
        .await;
    assert!(!first.duplicate && retry.duplicate);
    assert_eq!(retry.invocation, first.invocation);
    assert!(retry.messages.is_empty());
    assert_eq!(w.cluster.executed(), 1);
}

#[tokio::test]
async fn unconfigured_executors_reply_clearly() {
    let mut w = world();
    w.deps.cluster = Arc::new(Unconfigured);
    let r = w.say("alice", "pods agent-engine").await;
    assert!(
        text(&r).contains(
            "no Kubernetes cluster is configured for this bot, so `pods` cannot run here"
        ),
        "{}",
        text(&r)
    );
    let r = w.say("alice", "redis hitrate").await;
    assert!(
        text(&r).contains(
            "no dependency endpoint is configured for this bot, so `redis hitrate` cannot run here"
        ),
        "{}",
        text(&r)
    );
}

#[tokio::test]
async fn votes_from_another_channel_are_refused() {
    let w = world();
    let id = w
        .say("alice", "envoyfilter delete rate-limit-filter")
        .await
        .opened
        .expect("request");
    let r = handle(
        &w.deps,
        Invocation {
            actor: Actor::new(Platform::Console, "bob"),
            channel: ChannelRef::new(Platform::Console, "#general"),
            text: format!("approve {id}"),
            delivery: DeliveryId::new("x"),
        },
    )
    .await;
    assert!(
        text(&r).contains("was requested in #incident-prod; vote there"),
        "{}",
        text(&r)
    );
}

#[tokio::test]
async fn the_audit_chain_of_a_session_verifies() {
    let w = world();
    let id = w
        .say("alice", "envoyfilter delete rate-limit-filter")
        .await
        .opened
        .expect("request");
    w.say("bob", &format!("approve {id}")).await;
    let events = w.store.events(None, None).await.expect("events");
    assert!(crate::store::verify_chain(&events, None).is_ok());
    let mut tampered = events.clone();
    tampered[2].summary = "nothing to see".into();
    assert_eq!(
        crate::store::verify_chain(&tampered, None),
        Err(crate::store::ChainBreak::Edited { seq: 3 })
    );
}

#[tokio::test]
async fn incidents_open_and_close_once() {
    let w = world();
    assert!(
        text(&w.say("alice", "incident start agent-engine 5xx").await).contains("Incident started")
    );
    assert!(text(&w.say("bob", "incident start again").await).contains("already open"));
    assert!(text(&w.say("bob", "incident end").await).contains("Incident ended: agent-engine 5xx"));
    assert!(text(&w.say("bob", "incident end").await).contains("no incident is open"));
}

#[derive(Debug, Clone)]
enum Step {
    Request,
    Vote(&'static str, bool),
    Cancel(&'static str),
    Advance(i64),
    Sweep,
    /// A sweep by another replica on the same store.
    SweepElsewhere,
}

fn step() -> impl Strategy<Value = Step> {
    let users = prop::sample::select(vec!["alice", "bob", "erin", "carol", "mallory"]);
    prop_oneof![
        1 => Just(Step::Request),
        5 => (users.clone(), any::<bool>()).prop_map(|(u, a)| Step::Vote(u, a)),
        1 => users.prop_map(Step::Cancel),
        1 => (1i64..20).prop_map(Step::Advance),
        1 => Just(Step::Sweep),
        1 => Just(Step::SweepElsewhere),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Four-eyes in every interleaving: nothing executes without the approvals it needs
    /// from eligible people other than the requester, and nothing executes twice.
    #[test]
    fn four_eyes_holds_in_every_interleaving(steps in prop::collection::vec(step(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("rt");
        rt.block_on(async {
            let w = world();
            let mut requests: Vec<ApprovalId> = Vec::new();
            for s in steps {
                match s {
                    Step::Request => {
                        w.cluster.objects.lock().expect("lock").insert("rate-limit-filter".into(), true);
                        if let Some(id) = w.say("alice", "envoyfilter delete rate-limit-filter").await.opened {
                            requests.push(id);
                        }
                    }
                    Step::Vote(u, approve) => {
                        if let Some(id) = requests.last() {
                            let verb = if approve { "approve" } else { "deny" };
                            w.say(u, &format!("{verb} {id}")).await;
                        }
                    }
                    Step::Cancel(u) => {
                        if let Some(id) = requests.last() {
                            w.say(u, &format!("cancel {id}")).await;
                        }
                    }
                    Step::Advance(m) => w.clock.advance(chrono::Duration::minutes(m)),
                    Step::Sweep => { sweep(&w.deps).await.expect("sweep"); }
                    Step::SweepElsewhere => {
                        let mut other = w.deps.clone();
                        other.replica = crate::model::ReplicaId::generate(Some("other"));
                        sweep(&other).await.expect("sweep");
                    }
                }
            }
            let mut executed = 0;
            for id in &requests {
                let req = w.store.approval(id).await.expect("store").expect("req");
                if req.status == ApprovalStatus::Executed {
                    executed += 1;
                    let approvers: Vec<&str> = req.votes.iter().filter(|v| v.verdict == Verdict::Approve).map(|v| v.voter.user.as_str()).collect();
                    prop_assert!(!approvers.contains(&"alice"), "requester counted: {req:?}");
                    prop_assert!(approvers.iter().all(|u| *u == "bob" || *u == "erin"), "ineligible approver: {req:?}");
                    prop_assert!(!approvers.is_empty());
                    prop_assert!(req.votes.iter().all(|v| v.at < req.expires_at), "vote after expiry: {req:?}");
                }
            }
            prop_assert_eq!(w.cluster.executed(), executed, "executions vs executed requests");
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn an_undo_from_another_channel_is_refused_with_the_reason() {
    let w = world();
    let policy = Policy::parse(
        "policy.yaml",
        &POLICY.replace(
            "channels:\n",
            "channels:\n  \"console:#incident-b\":\n    namespaces: [voiceassistant-prod, voiceassistant-infra]\n    allow: [read, write, destructive]\n",
        ),
        false,
        &Catalog::voicehelper(),
    )
    .expect("policy");
    *w.deps.policy.write().unwrap() = Arc::new(policy);
    let r = w.say("alice", "scale agent-engine 3").await;
    let id = r.invocation.clone().expect("invocation");
    assert_eq!(w.cluster.executed(), 1, "{}", text(&r));
    let r = w
        .say_in("alice", "#incident-b", &format!("undo {id}"), "d-other")
        .await;
    let out = text(&r);
    assert!(
        out.contains(&format!(
            "{id} was run in #incident-prod, not here; undo it there"
        )),
        "{out}"
    );
    assert_eq!(w.cluster.executed(), 1, "nothing was undone");
    // In its own channel it is undone.
    let r = w.say("alice", &format!("undo {id}")).await;
    assert_eq!(w.cluster.executed(), 2, "{}", text(&r));
}

#[tokio::test]
async fn an_undo_is_checked_against_what_the_channel_allows_now() {
    let w = world();
    let r = w.say("alice", "scale agent-engine 3").await;
    let id = r.invocation.clone().expect("invocation");
    // The policy changes: #incident-prod may no longer act on the apps namespace.
    let narrowed = POLICY.replace(
        "namespaces: [voiceassistant-prod, voiceassistant-infra]",
        "namespaces: [voiceassistant-infra]",
    );
    *w.deps.policy.write().unwrap() = Arc::new(
        Policy::parse("policy.yaml", &narrowed, false, &Catalog::voicehelper()).expect("policy"),
    );
    let out = text(&w.say("alice", &format!("undo {id}")).await);
    assert!(out.contains("may no longer act on"), "{out}");
    assert_eq!(w.cluster.executed(), 1);
}

#[test]
fn dependency_commands_are_checked_against_the_namespace_the_catalog_runs_them_in() {
    // A catalog whose PostgreSQL service has another name: still the infra namespace.
    let renamed = crate::catalog::DEFAULT_CATALOG.replace("name: postgres,", "name: pg-primary,");
    let catalog = Catalog::parse("catalog.yaml", &renamed).expect("catalog");
    let prod_only = POLICY.replace(
        "namespaces: [voiceassistant-prod, voiceassistant-infra]",
        "namespaces: [voiceassistant-prod]",
    );
    let policy = Policy::parse("policy.yaml", &prod_only, false, &catalog).expect("policy");
    let alice = Actor::new(Platform::Console, "alice");
    let chan = ChannelRef::new(Platform::Console, "#incident-prod");
    for text in [
        "pg status",
        "redis info",
        "redis flushdb",
        "es health",
        "nacos health",
    ] {
        let cmd = grammar::parse(text, &catalog).expect(text);
        let d = authz::authorize(&policy, &catalog, &alice, &chan, &cmd).unwrap_err();
        assert_eq!(d.code, "channel_namespace", "{text}: {d}");
    }
}

#[test]
fn a_channel_may_limit_the_dependencies_it_reaches() {
    let catalog = Catalog::voicehelper();
    let limited = POLICY.replace(
        "    allow: [read, write, destructive]\n",
        "    allow: [read, write, destructive]\n    dependencies: [redis]\n",
    );
    let policy = Policy::parse("policy.yaml", &limited, false, &catalog).expect("policy");
    let alice = Actor::new(Platform::Console, "alice");
    let chan = ChannelRef::new(Platform::Console, "#incident-prod");
    let ok = grammar::parse("redis info", &catalog).unwrap();
    assert!(authz::authorize(&policy, &catalog, &alice, &chan, &ok).is_ok());
    let no = grammar::parse("pg status", &catalog).unwrap();
    let d = authz::authorize(&policy, &catalog, &alice, &chan, &no).unwrap_err();
    assert_eq!(
        d.reason,
        "`pg status` reaches postgres, which #incident-prod may not; it allows redis"
    );
    let typo = POLICY.replace(
        "    allow: [read, write, destructive]\n",
        "    allow: [read, write, destructive]\n    dependencies: [postgress]\n",
    );
    let e = Policy::parse("policy.yaml", &typo, false, &catalog)
        .unwrap_err()
        .to_string();
    assert!(e.contains("allows dependency `postgress`"), "{e}");
}
