//! The test world: a fake Discord, the real adapter, and the pipeline over the local
//! control plane (a seeded topology of the test's own), an in-memory store, a manual clock
//! and the demo policy extended with Discord identities.

#![allow(dead_code)]
// Test support: a panic here is a failed test, with the message at hand.
#![allow(clippy::unwrap_used)]

pub mod fake;
pub mod fixtures;

use std::sync::{Arc, RwLock};

use chrono::TimeZone;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use vabot_commands::catalog::Catalog;
use vabot_commands::config::{ChannelRule, Directory, Policy};
use vabot_commands::pipeline::Deps;
use vabot_commands::plan::RiskClass;
use vabot_commands::ports::Unconfigured;
use vabot_commands::secret::Secret;
use vabot_commands::store::MemoryStore;
use vabot_commands::testing::ManualClock;
use vabot_discord::{DiscordConfig, DiscordError};
use vabot_testkit::{Counting, Topology};

use fake::{Call, FakeDiscord};
use fixtures as fx;

pub const CHANNEL: u64 = 3001;
pub const OPERATOR: u64 = 1001;
pub const APPROVER: u64 = 1002;
pub const VIEWER: u64 = 1003;
/// Has no user entry: an approver only through the role below.
pub const ROLE_HOLDER: u64 = 1004;
pub const APPROVER_ROLE: u64 = 2002;

const DEMO_POLICY: &str = include_str!("../../../../deploy/demo/policy.yaml");

/// The demo policy plus Discord users, a role and a channel.
pub fn policy(catalog: &Catalog) -> Policy {
    let namespaces: Vec<String> = catalog
        .all_namespaces()
        .iter()
        .map(ToString::to_string)
        .collect();
    let demo = DEMO_POLICY.replace(
        "[voiceassistant-prod, voiceassistant-infra]",
        &format!("[{}]", namespaces.join(", ")),
    );
    let mut p = Policy::parse("policy.yaml", &demo, false, catalog).unwrap();
    p.users
        .insert(format!("discord:{OPERATOR}"), vec!["operator".into()]);
    p.users
        .insert(format!("discord:{APPROVER}"), vec!["approver".into()]);
    p.users
        .insert(format!("discord:{VIEWER}"), vec!["viewer".into()]);
    p.groups
        .insert(format!("discord:{APPROVER_ROLE}"), vec!["approver".into()]);
    p.channels.insert(
        format!("discord:{CHANNEL}"),
        ChannelRule {
            namespaces,
            allow: [RiskClass::Read, RiskClass::Write, RiskClass::Destructive]
                .into_iter()
                .collect(),
            dependencies: None,
        },
    );
    p
}

pub struct World {
    pub fake: FakeDiscord,
    pub deps: Deps,
    /// The real cluster, counting what it executes.
    pub cluster: Arc<Counting>,
    pub topology: Arc<Topology>,
    pub clock: Arc<ManualClock>,
    pub store: Arc<MemoryStore>,
    stop: Option<oneshot::Sender<()>>,
    pub task: Option<JoinHandle<Result<(), DiscordError>>>,
}

pub async fn start() -> World {
    let fake = FakeDiscord::start().await;
    let topology = Arc::new(Topology::seed("discord", &["agent-engine"]).await);
    let catalog = topology.catalog();
    let policy = policy(&catalog);
    let cluster = Counting::connect(&topology, std::time::Duration::ZERO).await;
    let clock = Arc::new(ManualClock::new(
        chrono::Utc.with_ymd_and_hms(2026, 11, 25, 4, 0, 0).unwrap(),
    ));
    let store = Arc::new(MemoryStore::new());
    let deps = Deps {
        catalog: Arc::new(catalog),
        policy: Arc::new(RwLock::new(Arc::new(policy))),
        directory: Arc::new(Directory::default()),
        cluster: cluster.clone(),
        dependencies: Arc::new(Unconfigured),
        store: store.clone(),
        clock: clock.clone(),
        replica: vabot_commands::model::ReplicaId::generate(Some("test")),
    };
    let config = DiscordConfig {
        token: Secret::new("test-token"),
        application_id: fx::APP_ID,
        guild_ids: vec![fx::GUILD_ID],
        api_base: Some(fake.api_base()),
        gateway_url: Some(fake.gateway_url()),
        ..DiscordConfig::default()
    };
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(vabot_discord::run(config, deps.clone(), async move {
        let _ = rx.await;
    }));
    let w = World {
        fake,
        deps,
        cluster,
        topology,
        clock,
        store,
        stop: Some(tx),
        task: Some(task),
    };
    // Ready means: identified, and `/va` registered in the guild.
    w.fake
        .wait_for("command registration", |c| {
            c.is(
                "PUT",
                &format!(
                    "/applications/{}/guilds/{}/commands",
                    fx::APP_ID,
                    fx::GUILD_ID
                ),
            )
        })
        .await;
    w
}

impl World {
    /// Injects `/va …` and returns the interaction id.
    pub fn command(&self, user: u64, roles: &[u64], options: Value) -> u64 {
        let id = self.fake.next_id();
        self.fake.remember_token(id, CHANNEL);
        self.fake.dispatch(
            "INTERACTION_CREATE",
            fx::command_interaction(id, user, roles, CHANNEL, options),
        );
        id
    }

    /// Runs a destructive command and returns (thread id, card message id, approval id).
    pub async fn open_approval(&self) -> (u64, u64, String) {
        let iid = self.command(OPERATOR, &[], envoyfilter_delete());
        self.fake
            .wait_for("the deferral", |c| {
                c.path == format!("/interactions/{iid}/{}/callback", fx::token_of(iid))
            })
            .await;
        let card = self
            .fake
            .wait_for("the approval card", |c| {
                c.method == "POST"
                    && c.path.starts_with("/channels/")
                    && c.path.ends_with("/messages")
                    && c.text().contains("Approval needed")
            })
            .await;
        let thread: u64 = card.path.split('/').nth(2).unwrap().parse().unwrap();
        let approval = card.body["components"][0]["components"][0]["custom_id"]
            .as_str()
            .unwrap()
            .trim_start_matches("approve:")
            .to_owned();
        // The bot's own ✅ and ❌ are on the card before anyone votes.
        self.fake
            .wait_for("the bot's ❌", |c| {
                c.method == "PUT"
                    && c.path
                        .contains(&format!("/messages/{}/reactions/", card.response_id()))
                    && c.path.contains("%E2%9D%8C")
            })
            .await;
        (thread, card.response_id(), approval)
    }

    pub fn react(&self, user: u64, roles: &[u64], thread: u64, message: u64, emoji: &str) {
        self.fake.dispatch(
            "MESSAGE_REACTION_ADD",
            fx::reaction(user, roles, thread, message, emoji, false),
        );
    }

    /// Takes a reaction back (MESSAGE_REACTION_REMOVE carries no member).
    pub fn unreact(&self, user: u64, channel: u64, message: u64, emoji: &str) {
        self.fake.dispatch(
            "MESSAGE_REACTION_REMOVE",
            fx::reaction_removed(user, channel, message, emoji),
        );
    }

    pub fn click(&self, user: u64, roles: &[u64], thread: u64, card: u64, custom_id: &str) -> u64 {
        let id = self.fake.next_id();
        self.fake.remember_token(id, thread);
        let message = fx::message(card, thread, "", json!([]), 0);
        self.fake.dispatch(
            "INTERACTION_CREATE",
            fx::button_interaction(id, user, roles, thread, CHANNEL, message, custom_id),
        );
        id
    }

    pub fn calls_to(&self, pred: impl Fn(&Call) -> bool) -> Vec<Call> {
        self.fake.calls().into_iter().filter(|c| pred(c)).collect()
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let r = tokio::time::timeout(std::time::Duration::from_secs(10), task).await;
            assert!(
                matches!(r, Ok(Ok(Ok(())))),
                "the adapter did not stop cleanly: {r:?}"
            );
        }
        let unknown: Vec<String> = self
            .fake
            .calls()
            .iter()
            // Unknown routes; a 404 for a message that does not exist is Discord's answer.
            .filter(|c| c.status == 404 && c.response["code"] == 0)
            .map(|c| format!("{} {}", c.method, c.path))
            .collect();
        assert!(
            unknown.is_empty(),
            "the bot called endpoints the fake does not know: {unknown:?}"
        );
    }
}

/// A command's options wherever the generated layout puts it (`approve` or `bot approve`,
/// `pods` or `show pods`: families fold as the catalogue grows).
pub fn command(spec: &str, options: Value) -> Value {
    let schema = vabot_discord::Schema::generate().expect("the /va schema");
    match schema.leaf_of(spec).expect("a leaf").path.as_slice() {
        [leaf] => sub(leaf, options),
        [g, leaf] => group(g, leaf, options),
        other => panic!("unexpected path {other:?}"),
    }
}

pub fn sub(name: &str, options: Value) -> Value {
    json!([{"name": name, "type": 1, "options": options}])
}

pub fn group(group: &str, name: &str, options: Value) -> Value {
    json!([{"name": group, "type": 2, "options": [{"name": name, "type": 1, "options": options}]}])
}

pub fn envoyfilter_delete() -> Value {
    group(
        "envoyfilter",
        "delete",
        json!([{"name": "name", "type": 3, "value": "rate-limit-filter"}]),
    )
}
