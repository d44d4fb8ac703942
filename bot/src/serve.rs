//! `vabot serve`: the configured adapters plus one HTTP server, until SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::watch;
use tracing::{error, info, warn};
use vabot_commands::pipeline::{self, Deps};
use vabot_server::Readiness;
use vabot_server::lease::{self, LeaseConfig};

use crate::config::Settings;
use crate::wiring;

/// How often pending approvals are checked for expiry.
const SWEEP_EVERY: Duration = Duration::from_secs(15);

pub async fn run(settings: Settings, http: SocketAddr) -> anyhow::Result<()> {
    let metrics = vabot_server::http::install_metrics()?;
    let readiness = Readiness::new();
    let (stop_tx, stop_rx) = watch::channel(false);
    // The listener first: probes answer (not ready) while the store and caches come up.
    let listener = tokio::net::TcpListener::bind(http)
        .await
        .with_context(|| format!("cannot listen on {http}"))?;
    info!(addr = %listener.local_addr()?, "HTTP server listening");

    let deps = wiring::build(&settings).await?;
    readiness.set_store_ready();
    // `wiring::build` waited for the watch caches (bounded); the cluster reports its own age.
    readiness.set_caches_ready();
    wiring::store::recover(&deps).await?;
    tokio::spawn(sweeper(deps.clone(), stop_rx.clone()));
    if let Some(policy) = settings.policy_path() {
        vabot_server::reload::spawn_sighup_reload(deps.clone(), policy);
    }

    let mut extra = axum::Router::new();
    if let Some(slack) = settings.slack.clone() {
        let adapter = Arc::new(vabot_slack::SlackAdapter::new(slack.clone(), deps.clone())?);
        match slack.mode {
            vabot_slack::SlackMode::Http => extra = extra.merge(vabot_slack::http_router(adapter)),
            vabot_slack::SlackMode::Socket => {
                // Every replica opens its own Socket Mode connections; Slack spreads events.
                let stop = wait_stop(stop_rx.clone());
                tokio::spawn(async move {
                    if let Err(error) = vabot_slack::run_socket_mode(adapter, stop).await {
                        error!(%error, "Slack Socket Mode stopped");
                    }
                });
            }
        }
    }
    if let Some(discord) = settings.discord.clone() {
        tokio::spawn(discord_when_leader(discord, deps.clone(), stop_rx.clone()));
    }

    let app = vabot_server::router(readiness, Some(metrics), extra);
    let shutdown = async move {
        shutdown_signal().await;
        info!("Shutting down: finishing in-flight requests; pending approvals stay pending");
        let _ = stop_tx.send(true);
    };
    vabot_server::serve(listener, app, shutdown).await
}

async fn sweeper(deps: Deps, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {
                if let Err(error) = pipeline::sweep(&deps).await {
                    warn!(%error, "Approval sweep failed");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

async fn wait_stop(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Holds the Discord gateway only while this replica leads the Lease (in a cluster), or
/// always when no Lease is configured (one replica).
async fn discord_when_leader(
    cfg: vabot_discord::DiscordConfig,
    deps: Deps,
    stop: watch::Receiver<bool>,
) {
    let lease = lease_config();
    let Some(lease) = lease else {
        if let Err(error) = vabot_discord::run(cfg, deps, wait_stop(stop)).await {
            error!(%error, "Discord adapter stopped");
        }
        return;
    };
    let client = match kube::Client::try_default().await {
        Ok(c) => c,
        Err(error) => {
            error!(%error, "Cannot reach the cluster for the Discord lease; Discord is off");
            return;
        }
    };
    let mut leading = lease::spawn(client, lease);
    loop {
        if leading.wait_for(|l| *l).await.is_err() || *stop.borrow() {
            return;
        }
        info!("Leading: connecting to the Discord gateway");
        let mut lost = leading.clone();
        let until = {
            let stop = stop.clone();
            async move {
                tokio::select! {
                    _ = lost.wait_for(|l| !*l) => {}
                    _ = wait_stop(stop) => {}
                }
            }
        };
        if let Err(error) = vabot_discord::run(cfg.clone(), deps.clone(), until).await {
            error!(%error, "Discord adapter stopped");
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        if *stop.borrow() {
            return;
        }
    }
}

/// `VABOT_LEASE_NAME` and `POD_NAMESPACE` (set by the Helm chart) turn election on.
fn lease_config() -> Option<LeaseConfig> {
    let name = std::env::var("VABOT_LEASE_NAME").ok()?;
    let namespace = std::env::var("POD_NAMESPACE").ok()?;
    let identity =
        std::env::var("POD_NAME").unwrap_or_else(|_| format!("vabot-{}", std::process::id()));
    Some(LeaseConfig {
        namespace,
        name,
        identity,
        duration: Duration::from_secs(15),
        renew_every: Duration::from_secs(5),
    })
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
