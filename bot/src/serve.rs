//! `vabot serve`: the configured adapters plus one HTTP server, until SIGTERM.
//!
//! The probes answer from the first moment (not ready) while the store, the cluster's
//! watch caches and the adapters come up; the adapters' routes join once they exist.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;
use tower::ServiceExt as _;
use tracing::{error, info, warn};
use vabot_commands::approval::ApprovalStatus;
use vabot_commands::model::Platform;
use vabot_commands::pipeline::{self, Deps};
use vabot_commands::ports::{Chat, Cluster};
use vabot_server::Readiness;
use vabot_server::lease::{self, LeaseConfig};

use crate::config::Settings;
use crate::wiring;

use vabot_commands::recovery::SWEEP_EVERY;
/// How often the cache state is read for `/readyz` and `/metrics`.
const CACHE_POLL: Duration = Duration::from_millis(250);

pub async fn run(settings: Settings, http: SocketAddr) -> anyhow::Result<()> {
    let review = settings.review.auth()?;
    let metrics = vabot_server::http::install_metrics()?;
    let readiness = Readiness::new();
    let (stop_tx, stop_rx) = watch::channel(false);
    // The listener and the probes first: they answer (not ready) while everything else
    // comes up, and the adapters' routes are mounted once they exist.
    let listener = tokio::net::TcpListener::bind(http)
        .await
        .with_context(|| format!("cannot listen on {http}"))?;
    info!(addr = %listener.local_addr()?, "HTTP server listening");
    let routes: Arc<OnceLock<Router>> = Arc::new(OnceLock::new());
    let app = vabot_server::router(readiness.clone(), Some(metrics), Router::new())
        .fallback(adapter_routes(routes.clone()));
    let shutdown = async move {
        shutdown_signal().await;
        info!("Shutting down: finishing in-flight requests; pending approvals stay pending");
        let _ = stop_tx.send(true);
    };
    let server = tokio::spawn(vabot_server::serve(listener, app, shutdown));

    let built = wiring::build(&settings).await?;
    let deps = built.deps;
    tokio::spawn(watch_caches(
        deps.cluster.clone(),
        readiness.clone(),
        stop_rx.clone(),
    ));
    wiring::store::spawn_heartbeat(deps.clone());
    // Where a sweep's follow-ups go, by platform.
    let mut chats: Vec<(Platform, Arc<dyn Chat>)> = Vec::new();
    if let Some(policy) = settings.policy_path() {
        vabot_server::reload::spawn_sighup_reload(deps.clone(), policy);
    }

    let mut extra = Router::new();
    if let Some(auth) = review {
        // Read-only pages over the same store, behind the configured credentials.
        extra = extra.merge(vabot_review::router(deps.store.clone(), auth));
        info!("Review UI on /review");
    }
    if let Some(slack) = settings.slack.clone() {
        let adapter = Arc::new(vabot_slack::SlackAdapter::new(slack.clone(), deps.clone())?);
        adapter.start();
        chats.push((Platform::Slack, adapter.clone()));
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
    let leading = match (lease_config(&settings), built.kube) {
        (Some(cfg), Some(client)) => {
            info!(lease = %cfg.name, identity = %cfg.identity, "Joining the leader election");
            Some(lease::spawn(client, cfg))
        }
        (Some(cfg), None) => {
            // Never leading is the safe side: Discord stays with a replica that can elect.
            error!(lease = %cfg.name, "A Lease is configured but no cluster is; this replica will not lead");
            Some(watch::channel(false).1)
        }
        (None, _) => None,
    };
    if let Some(discord) = settings.discord.clone() {
        // Posting needs no gateway: every replica follows up over REST.
        chats.push((
            Platform::Discord,
            Arc::new(vabot_discord::DiscordChat::new(
                &discord,
                deps.store.clone(),
            )),
        ));
        tokio::spawn(discord_when_leader(
            discord,
            deps.clone(),
            leading,
            stop_rx.clone(),
        ));
    }
    tokio::spawn(sweeper(deps.clone(), chats, stop_rx.clone()));
    let _ = routes.set(extra);
    // Ready to take traffic only with the store migrated *and* the adapters mounted (the
    // caches' half of readiness is `watch_caches`').
    readiness.set_store_ready();

    server.await.context("the HTTP server task failed")??;
    drain().await;
    Ok(())
}

/// After SIGTERM: commands already running finish (bounded by Kubernetes' grace period);
/// anything still running after that is left as its records say (an approval claimed
/// for execution shows as interrupted at the next start, never re-run blindly).
async fn drain() {
    const GRACE: Duration = Duration::from_secs(25);
    let end = tokio::time::Instant::now() + GRACE;
    let mut waiting = pipeline::in_flight();
    if waiting > 0 {
        info!(
            in_flight = waiting,
            "Waiting for in-flight commands to finish"
        );
    }
    while waiting > 0 && tokio::time::Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waiting = pipeline::in_flight();
    }
    if waiting > 0 {
        warn!(
            in_flight = waiting,
            "Stopping with commands still in flight; their records show them as started"
        );
    } else {
        // Replies computed at the last moment still go out (adapters post after `handle`).
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    info!("Stopped");
}

/// Routes requests to the adapters once they are mounted; `503` until then.
fn adapter_routes(
    routes: Arc<OnceLock<Router>>,
) -> impl Fn(Request) -> std::pin::Pin<Box<dyn Future<Output = Response> + Send>> + Clone {
    move |req: Request| {
        let routes = routes.clone();
        Box::pin(async move {
            match routes.get() {
                Some(router) => match router.clone().oneshot(req).await {
                    Ok(res) => res,
                    Err(never) => match never {},
                },
                None => (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response(),
            }
        })
    }
}

/// Ready once the watch caches have synced (they may take longer than start-up waits);
/// publishes their staleness for `/metrics`.
async fn watch_caches(
    cluster: Arc<dyn Cluster>,
    readiness: Arc<Readiness>,
    mut stop: watch::Receiver<bool>,
) {
    let mut announced = false;
    loop {
        if cluster.caches_synced() {
            readiness.set_caches_ready();
            if !announced {
                info!("Watch caches synced: ready");
                announced = true;
            }
        }
        if let Some(stale) = cluster.cache_stale_secs() {
            #[allow(clippy::cast_precision_loss)] // seconds, far below 2^52
            metrics::gauge!("vabot_cache_stale_seconds").set(stale as f64);
        }
        tokio::select! {
            _ = tokio::time::sleep(CACHE_POLL) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Every replica sweeps (exactly-once by compare-and-set): expired cards are updated,
/// approved requests nobody executed are run, claims of replicas that stopped are taken
/// back; each follow-up is posted where the request's card is.
async fn sweeper(
    deps: Deps,
    chats: Vec<(Platform, Arc<dyn Chat>)>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        for f in wiring::store::sweep(&deps).await {
            let platform = f.request.channel.platform;
            match chats.iter().find(|(p, _)| *p == platform) {
                Some((_, chat)) => {
                    let card = f.reply.card_update.as_ref().map(|(_, c)| c);
                    chat.follow_up(&f.request, &f.reply.messages, card).await;
                }
                None => {
                    info!(approval = %f.request.id, %platform, "No adapter here for this request's platform; its follow-up is in the history only")
                }
            }
        }
        match deps.store.approvals(None, ApprovalStatus::Pending).await {
            #[allow(clippy::cast_precision_loss)] // a count, far below 2^52
            Ok(pending) => metrics::gauge!("vabot_approvals_pending").set(pending.len() as f64),
            Err(error) => warn!(%error, "Cannot count pending approvals"),
        }
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
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
    leading: Option<watch::Receiver<bool>>,
    stop: watch::Receiver<bool>,
) {
    let Some(mut leading) = leading else {
        if let Err(error) = vabot_discord::run(cfg, deps, wait_stop(stop)).await {
            error!(%error, "Discord adapter stopped");
        }
        return;
    };
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

/// `lease.name` (`VABOT_LEASE_NAME`, set by the Helm chart) turns election on.
fn lease_config(settings: &Settings) -> Option<LeaseConfig> {
    let l = &settings.lease;
    let name = l.name.clone().filter(|n| !n.is_empty())?;
    let namespace = l
        .namespace
        .clone()
        .or_else(|| {
            std::fs::read_to_string(settings.kube.service_account_dir.join("namespace"))
                .ok()
                .map(|s| s.trim().to_owned())
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".into());
    let identity = l
        .identity
        .clone()
        .unwrap_or_else(|| format!("vabot-{}", std::process::id()));
    // The renewal interval is a third of the duration, as with client-go's defaults.
    let secs = l.seconds.max(3);
    Some(LeaseConfig {
        namespace,
        name,
        identity,
        duration: Duration::from_secs(secs),
        renew_every: Duration::from_secs(secs / 3),
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
