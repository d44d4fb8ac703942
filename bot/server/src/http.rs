//! The HTTP server: liveness, readiness, Prometheus metrics, plus adapter routes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// What must be true before this replica takes traffic.
#[derive(Debug, Default)]
pub struct Readiness {
    store: AtomicBool,
    caches: AtomicBool,
}

impl Readiness {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    /// The store is open and migrated.
    pub fn set_store_ready(&self) {
        self.store.store(true, Ordering::SeqCst);
    }
    /// The watch caches have synced (or no cluster is configured).
    pub fn set_caches_ready(&self) {
        self.caches.store(true, Ordering::SeqCst);
    }
    pub fn is_ready(&self) -> bool {
        self.store.load(Ordering::SeqCst) && self.caches.load(Ordering::SeqCst)
    }
    fn report(&self) -> String {
        let yn = |b: bool| if b { "ready" } else { "not ready" };
        format!(
            "store: {}\nwatch caches: {}\n",
            yn(self.store.load(Ordering::SeqCst)),
            yn(self.caches.load(Ordering::SeqCst))
        )
    }
}

#[derive(Clone)]
struct AppState {
    readiness: Arc<Readiness>,
    metrics: Option<PrometheusHandle>,
}

/// Installs the global Prometheus recorder (once per process) and returns its handle.
pub fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    PrometheusBuilder::new()
        .set_buckets(&[
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ])?
        .install_recorder()
        .map_err(|e| anyhow::anyhow!("cannot install the metrics recorder: {e}"))
}

/// `/healthz`, `/readyz` and `/metrics`, merged with the adapters' routes.
pub fn router(
    readiness: Arc<Readiness>,
    metrics: Option<PrometheusHandle>,
    extra: Router,
) -> Router {
    let state = AppState { readiness, metrics };
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(state)
        .merge(extra)
}

async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    let code = if s.readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, s.readiness.report())
}

async fn metrics_text(State(s): State<AppState>) -> impl IntoResponse {
    match &s.metrics {
        Some(h) => (
            StatusCode::OK,
            [("content-type", "text/plain; version=0.0.4")],
            h.render(),
        ),
        None => (
            StatusCode::NOT_FOUND,
            [("content-type", "text/plain")],
            "metrics are not enabled\n".to_owned(),
        ),
    }
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    async fn get(app: &Router, path: &str) -> (StatusCode, String) {
        let res = app
            .clone()
            .oneshot(Request::get(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn readyz_is_false_until_store_and_caches_are_ready() {
        let r = Readiness::new();
        let app = router(r.clone(), None, Router::new());
        assert_eq!(get(&app, "/healthz").await.0, StatusCode::OK);
        let (code, body) = get(&app, "/readyz").await;
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("store: not ready"));
        r.set_store_ready();
        assert_eq!(
            get(&app, "/readyz").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        r.set_caches_ready();
        let (code, body) = get(&app, "/readyz").await;
        assert_eq!(code, StatusCode::OK, "{body}");
    }
}
