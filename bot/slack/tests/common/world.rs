//! A Slack adapter over the pipeline on the local control plane (a seeded topology of the
//! test's own), an in-memory store, a manual clock and the demo policy extended with Slack
//! users and the incident channel.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response};
use chrono::{TimeZone, Utc};
use serde_json::Value;
use tower::ServiceExt;
use vabot_commands::config::{Directory, Policy};
use vabot_commands::pipeline::Deps;
use vabot_commands::ports::Unconfigured;
use vabot_commands::store::MemoryStore;
use vabot_commands::testing::ManualClock;
use vabot_slack::signature::sign;
use vabot_slack::{SlackAdapter, SlackConfig, SlackMode, http_router};
use vabot_testkit::{Counting, Topology};

use super::fake::FakeSlack;

pub const SECRET: &str = "test-signing-secret";

pub const POLICY: &str = r#"
roles:
  viewer:   { may: [read] }
  operator: { may: [read, write, destructive] }
  approver: { may: [read, write, destructive], approve: true }
  admin:    { may: [read, write, destructive], approve: true }
users:
  "console:alice": [operator]
  "console:bob":   [approver]
  "slack:U0ALICE": [operator]
  "slack:U0BOB":   [approver]
  "slack:U0CAROL": [viewer]
groups: {}
channels:
  "console:#incident-prod":
    namespaces: [voiceassistant-prod, voiceassistant-infra]
    allow: [read, write, destructive]
  "slack:C0INCIDENT":
    namespaces: [voiceassistant-prod, voiceassistant-infra]
    allow: [read, write, destructive]
approvals:
  - when: { risk: destructive }
    approvals: 1
    approvers: [approver, admin]
    expiry: 15m
    exclude_requester: true
"#;

pub struct World {
    pub fake: FakeSlack,
    pub adapter: Arc<SlackAdapter>,
    pub router: Router,
    /// The real cluster, counting what it executes.
    pub cluster: Arc<Counting>,
    /// Where the commands act: agent-engine, its HPA and ConfigMap, the EnvoyFilter.
    pub topology: Arc<Topology>,
    pub clock: Arc<ManualClock>,
    pub store: Arc<MemoryStore>,
    pub deps: Deps,
    pub config: SlackConfig,
}

pub struct Options {
    pub mode: SlackMode,
    pub pace_ms: u64,
    pub progress_after_ms: u64,
    /// How long each change takes to execute (to see progress messages).
    pub slow_execute: Duration,
    pub secret: String,
    /// The bot's clock at the start (Unix seconds).
    pub now: i64,
    pub groups_refresh_secs: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            mode: SlackMode::Http,
            pace_ms: 20,
            progress_after_ms: 5_000,
            slow_execute: Duration::ZERO,
            groups_refresh_secs: 300,
            secret: SECRET.into(),
            now: Utc
                .with_ymd_and_hms(2026, 11, 25, 3, 0, 0)
                .single()
                .expect("time")
                .timestamp(),
        }
    }
}

pub async fn world(opts: Options) -> World {
    let fake = FakeSlack::start().await;
    let topology = Arc::new(Topology::seed("slack", &["agent-engine"]).await);
    let catalog = topology.catalog();
    let policy = Policy::parse(
        "slack-test-policy.yaml",
        &topology.rename(POLICY),
        false,
        &catalog,
    )
    .expect("policy");
    let cluster = Counting::connect(&topology, opts.slow_execute).await;
    let clock = Arc::new(ManualClock::new(
        Utc.timestamp_opt(opts.now, 0).single().expect("time"),
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
    let mut config = SlackConfig::new("xoxb-test-bot-token", opts.secret.clone());
    config.mode = opts.mode;
    config.api_base = fake.api_base();
    config.app_token = Some(vabot_commands::secret::Secret::new("xapp-1-test"));
    config.pace_ms = opts.pace_ms;
    config.progress_after_ms = opts.progress_after_ms;
    config.socket_connections = 1;
    config.groups_refresh_secs = opts.groups_refresh_secs;
    let adapter = Arc::new(SlackAdapter::new(config.clone(), deps.clone()).expect("adapter"));
    let router = http_router(adapter.clone());
    World {
        fake,
        adapter,
        router,
        cluster,
        topology,
        clock,
        store,
        deps,
        config,
    }
}

impl World {
    /// Another process on the same store, clock and fake Slack (a restart, a replica).
    pub fn replica(&self) -> Arc<SlackAdapter> {
        Arc::new(SlackAdapter::new(self.config.clone(), self.deps.clone()).expect("adapter"))
    }

    /// A request signed as Slack would sign it now (by the bot's clock).
    pub fn signed(&self, path: &str, content_type: &str, body: String) -> Request<Body> {
        let ts = self.adapter.now_unix().to_string();
        Request::post(path)
            .header("content-type", content_type)
            .header("x-slack-request-timestamp", &ts)
            .header("x-slack-signature", sign(SECRET, &ts, body.as_bytes()))
            .body(Body::from(body))
            .expect("request")
    }

    pub async fn send(&self, req: Request<Body>) -> (u16, String) {
        let started = std::time::Instant::now();
        let resp: Response<Body> = self.router.clone().oneshot(req).await.expect("router");
        let status = resp.status().as_u16();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .expect("body");
        // Slack's deadline is 3 s: the ack must never wait for the work. (How fast it
        // is belongs to the benchmarks, BENCHMARKS.md.)
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "ack took {:?}, past Slack's deadline",
            started.elapsed()
        );
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    pub async fn command(&self, user: &str, text: &str, trigger: &str) -> u16 {
        let form = super::fixtures::slash_form(user, text, trigger);
        self.send(self.signed("/slack/commands", "application/x-www-form-urlencoded", form))
            .await
            .0
    }

    pub async fn event(&self, payload: &Value) -> u16 {
        self.send(self.signed("/slack/events", "application/json", payload.to_string()))
            .await
            .0
    }

    pub async fn retried_event(&self, payload: &Value, n: u32) -> u16 {
        let mut req = self.signed("/slack/events", "application/json", payload.to_string());
        req.headers_mut()
            .insert("x-slack-retry-num", n.to_string().parse().expect("header"));
        req.headers_mut().insert(
            "x-slack-retry-reason",
            "http_timeout".parse().expect("header"),
        );
        self.send(req).await.0
    }

    pub async fn interaction(&self, payload: &Value) -> u16 {
        let form = serde_urlencoded::to_string([("payload", payload.to_string())]).expect("form");
        self.send(self.signed(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            form,
        ))
        .await
        .0
    }
}
