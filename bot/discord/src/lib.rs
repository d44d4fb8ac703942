//! The Discord adapter: the `/va` application command, reactions and buttons → the
//! pipeline; replies → embeds in a thread per invocation. A 📌 (`pin_emoji`) on any
//! message fetches it over REST and pins it into the channel's timeline
//! (`vabot_commands::pins`); removing the reaction unpins it.
//!
//! It never talks to Kubernetes or a database itself: commands go through
//! [`vabot_commands::pipeline::handle`], votes through
//! [`vabot_commands::pipeline::handle_vote`], and the only state it keeps is which
//! Discord message shows which approval card ([`vabot_commands::store::Store::record_posted`]),
//! so a reaction can be mapped back after a gateway reconnect or a restart.
//!
//! Wiring: `run(config, deps, shutdown)` connects to the gateway and serves until
//! `shutdown` completes; serenity reconnects (RESUME, or IDENTIFY again) on its own.

mod adapter;
mod chat;
pub mod render;
pub mod schema;

use std::future::Future;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serenity::all::{ApplicationId, ClientBuilder, GatewayIntents, Http, HttpBuilder};
use tracing::info;
use vabot_commands::pipeline::Deps;
use vabot_commands::secret::Secret;

pub use adapter::Adapter;
pub use chat::DiscordChat;
pub use schema::{Schema, SchemaError};

/// Discord settings (the `discord:` section of the bot's configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// The bot token (without the `Bot ` prefix).
    pub token: Secret,
    /// The application's id (Developer Portal → General Information).
    pub application_id: u64,
    /// Guilds to register `/va` in (instant); empty registers it globally (slow to appear).
    #[serde(default)]
    pub guild_ids: Vec<u64>,
    /// Tests only: the base URL of a fake Discord REST API (`http://127.0.0.1:PORT`).
    /// When set, serenity's ratelimiter is disabled, because it ignores the proxy.
    #[serde(default)]
    pub api_base: Option<String>,
    /// Tests only: the gateway URL, so a broken fake can never make the bot dial Discord.
    #[serde(default)]
    pub gateway_url: Option<String>,
    /// The reaction that approves an approval card.
    #[serde(default = "default_approve_emoji")]
    pub approve_emoji: String,
    /// The reaction that denies an approval card.
    #[serde(default = "default_deny_emoji")]
    pub deny_emoji: String,
    /// The reaction that pins any message into the channel's timeline (removing it
    /// unpins). The pinned text needs the Message Content intent switched on for the
    /// application in the Developer Portal (see [`intents`]).
    #[serde(default = "default_pin_emoji")]
    pub pin_emoji: String,
}

fn default_approve_emoji() -> String {
    "✅".into()
}

fn default_deny_emoji() -> String {
    "❌".into()
}

fn default_pin_emoji() -> String {
    "📌".into()
}

impl Default for DiscordConfig {
    fn default() -> Self {
        Self {
            token: Secret::default(),
            application_id: 0,
            guild_ids: Vec::new(),
            api_base: None,
            gateway_url: None,
            approve_emoji: default_approve_emoji(),
            deny_emoji: default_deny_emoji(),
            pin_emoji: default_pin_emoji(),
        }
    }
}

/// Why the adapter stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    #[error("invalid Discord configuration: {0}")]
    Config(String),
    #[error("the /va command cannot be generated from the grammar")]
    Schema(#[source] SchemaError),
    #[error("the Discord client could not be built")]
    Client(#[source] serenity::Error),
    #[error("the Discord gateway connection failed")]
    Gateway(#[source] serenity::Error),
}

/// The gateway intents the adapter needs: guilds (threads) and reactions on messages
/// (`GUILD_MESSAGE_REACTIONS` carries both MESSAGE_REACTION_ADD and _REMOVE, threads
/// included). Interactions need none.
///
/// `MESSAGE_CONTENT` is deliberately not requested: no gateway event's text is read. A
/// pinned message is fetched over REST, where Discord returns its text only if the
/// application has the Message Content intent switched on in the Developer Portal (Bot →
/// Privileged Gateway Intents); without it a pin keeps author, time and link but an empty
/// text. Asking for it here instead would make Discord refuse the whole connection (close
/// code 4014) wherever the portal switch is off.
pub fn intents() -> GatewayIntents {
    GatewayIntents::GUILDS | GatewayIntents::GUILD_MESSAGE_REACTIONS
}

/// The REST client: Discord's, rate limited; or a fake's, when `api_base` is set.
pub fn http_client(config: &DiscordConfig) -> Http {
    let mut http = HttpBuilder::new(config.token.expose())
        .application_id(ApplicationId::new(config.application_id.max(1)));
    if let Some(base) = &config.api_base {
        // serenity's ratelimiter builds requests without the proxy, so a fake base URL
        // only takes effect with it off; production keeps it on and respects 429s.
        http = http
            .proxy(base.trim_end_matches('/'))
            .ratelimiter_disabled(true);
    }
    http.build()
}

/// Connects to Discord and serves until `shutdown` completes.
pub async fn run(
    config: DiscordConfig,
    deps: Deps,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), DiscordError> {
    if config.token.expose().trim().is_empty() {
        return Err(DiscordError::Config("discord.token is empty".into()));
    }
    if config.application_id == 0 {
        return Err(DiscordError::Config(
            "discord.application_id is missing (Developer Portal → General Information)".into(),
        ));
    }
    let emoji = [&config.approve_emoji, &config.deny_emoji, &config.pin_emoji];
    if emoji.iter().any(|e| e.trim().is_empty()) {
        return Err(DiscordError::Config(
            "discord.approve_emoji, deny_emoji and pin_emoji must not be empty".into(),
        ));
    }
    if adapter::same_emoji(emoji[0], emoji[1])
        || adapter::same_emoji(emoji[2], emoji[0])
        || adapter::same_emoji(emoji[2], emoji[1])
    {
        return Err(DiscordError::Config(
            "discord.approve_emoji, deny_emoji and pin_emoji must be three different emoji".into(),
        ));
    }
    let schema = Arc::new(Schema::generate().map_err(DiscordError::Schema)?);
    let http = http_client(&config);
    let gateway_url = config.gateway_url.clone();
    let adapter = Adapter::new(config, deps, schema);
    let mut client = ClientBuilder::new_with_http(http, intents())
        .event_handler(adapter)
        .await
        .map_err(DiscordError::Client)?;
    if let Some(url) = gateway_url {
        *client.ws_url.lock().await = url;
    }
    let manager = client.shard_manager.clone();
    info!("Discord adapter starting");
    tokio::select! {
        result = client.start() => result.map_err(DiscordError::Gateway),
        () = shutdown => {
            info!("Discord adapter stopping");
            manager.shutdown_all().await;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_config_votes_with_check_and_cross_marks() {
        let c: DiscordConfig =
            serde_json::from_str(r#"{"token": "t", "application_id": 7, "guild_ids": [1]}"#)
                .unwrap();
        assert_eq!(c.approve_emoji, "✅");
        assert_eq!(c.deny_emoji, "❌");
        assert_eq!(c.pin_emoji, "📌");
        assert_eq!(c.api_base, None);
        assert!(!format!("{c:?}").contains("\"t\""), "the token is redacted");
        assert!(
            serde_json::from_str::<DiscordConfig>(
                r#"{"token": "t", "application_id": 7, "tokn": 1}"#
            )
            .is_err()
        );
    }

    #[test]
    fn production_keeps_the_ratelimiter_and_only_tests_use_a_proxy() {
        let prod = DiscordConfig {
            token: Secret::new("t"),
            application_id: 7,
            ..DiscordConfig::default()
        };
        let http = http_client(&prod);
        assert!(http.ratelimiter.is_some());
        assert_eq!(http.proxy, None);
        let test = DiscordConfig {
            api_base: Some("http://127.0.0.1:9/".into()),
            ..prod
        };
        let http = http_client(&test);
        assert!(
            http.ratelimiter.is_none(),
            "serenity ignores the proxy while rate limiting"
        );
        assert_eq!(http.proxy.as_deref(), Some("http://127.0.0.1:9"));
    }

    fn deps() -> Deps {
        use std::sync::RwLock;
        use vabot_commands::{
            catalog::Catalog,
            config::{Directory, Policy},
            ports,
            store::MemoryStore,
            testing::FakeCluster,
        };
        Deps {
            catalog: Arc::new(Catalog::voicehelper()),
            policy: Arc::new(RwLock::new(Arc::new(Policy::default()))),
            directory: Arc::new(Directory::default()),
            cluster: Arc::new(FakeCluster::new()),
            dependencies: Arc::new(ports::Unconfigured),
            store: Arc::new(MemoryStore::new()),
            clock: Arc::new(ports::SystemClock),
            replica: vabot_commands::model::ReplicaId::generate(Some("test")),
        }
    }

    #[tokio::test]
    async fn a_config_without_token_or_application_is_refused_before_connecting() {
        let no_token = run(
            DiscordConfig {
                application_id: 7,
                ..DiscordConfig::default()
            },
            deps(),
            async {},
        )
        .await;
        assert!(matches!(no_token, Err(DiscordError::Config(m)) if m.contains("token")));
        let no_app = run(
            DiscordConfig {
                token: Secret::new("t"),
                ..DiscordConfig::default()
            },
            deps(),
            async {},
        )
        .await;
        assert!(matches!(no_app, Err(DiscordError::Config(m)) if m.contains("application_id")));
        let pin_votes = run(
            DiscordConfig {
                token: Secret::new("t"),
                application_id: 7,
                pin_emoji: "✅\u{fe0f}".into(),
                ..DiscordConfig::default()
            },
            deps(),
            async {},
        )
        .await;
        assert!(
            matches!(pin_votes, Err(DiscordError::Config(m)) if m.contains("three different emoji")),
            "a pin emoji that also approves is refused before connecting"
        );
    }
}
