//! The post-incident review UI: server-rendered HTML, read-only, from the `Store` port.
//!
//! `vabot serve` mounts [`router`] under `/review` when `review.enabled` is set. Pages:
//! the index (channels, incidents, audit chain status), a timeline (an incident, a channel,
//! a thread or a window; filters are query parameters, so filtering needs no script and
//! every view is a shareable link), an approval's detail, and the timeline's exports
//! (`export.md`, `export.json`, `export.csv`) — the very code `vabot audit export` runs.
//!
//! Everything that came from chat or the cluster is HTML-escaped, the pages carry a CSP
//! that allows no script at all, and every request must present the configured bearer
//! token or basic-auth credentials (compared in constant time).

mod auth;
mod html;
mod pages;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;
use tracing::warn;
use vabot_commands::store::Store;
use vabot_store::export::{ExportError, Filter, Scope, Timeline, parse_since};

pub use auth::Auth;

#[derive(Clone)]
struct AppState {
    store: Arc<dyn Store>,
}

/// The review routes, all under `/review`, all behind `auth`.
pub fn router(store: Arc<dyn Store>, auth: Auth) -> Router {
    let state = AppState { store };
    Router::new()
        .route("/review", get(index))
        .route("/review/", get(|| async { Redirect::permanent("/review") }))
        .route("/review/timeline", get(timeline))
        .route("/review/approvals/{id}", get(approval))
        .route("/review/files/{sha256}", get(file))
        .route("/review/export.md", get(export_md))
        .route("/review/export.json", get(export_json))
        .route("/review/export.csv", get(export_csv))
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(auth),
            auth::require,
        ))
}

/// Scope and filters, as query parameters; empty values mean "any".
#[derive(Debug, Clone, Default, Deserialize)]
struct Params {
    channel: Option<String>,
    incident: Option<String>,
    thread: Option<String>,
    since: Option<String>,
    until: Option<String>,
    user: Option<String>,
    command: Option<String>,
    risk: Option<String>,
    outcome: Option<String>,
}

fn some(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

impl Params {
    fn scope(&self) -> Result<Scope, String> {
        let now = chrono::Utc::now();
        let time = |v: &Option<String>, name: &str| {
            some(v)
                .map(|s| parse_since(&s, now).map_err(|e| format!("{name}: {e}")))
                .transpose()
        };
        Ok(Scope {
            channel: some(&self.channel),
            incident: some(&self.incident),
            thread: some(&self.thread),
            since: time(&self.since, "since")?,
            until: time(&self.until, "until")?,
        })
    }

    fn filter(&self) -> Filter {
        Filter {
            user: some(&self.user),
            command: some(&self.command),
            risk: some(&self.risk),
            outcome: some(&self.outcome),
        }
    }

    /// The query string that reproduces this view (scope, then filters).
    fn query(&self, with_filters: bool) -> String {
        let mut pairs = vec![
            ("incident", &self.incident),
            ("channel", &self.channel),
            ("thread", &self.thread),
            ("since", &self.since),
            ("until", &self.until),
        ];
        if with_filters {
            pairs.extend([
                ("user", &self.user),
                ("command", &self.command),
                ("risk", &self.risk),
                ("outcome", &self.outcome),
            ]);
        }
        html::query(&pairs)
    }
}

/// Headers every page gets: no script may run, nothing is cached or framed.
fn page(status: StatusCode, body: String) -> Response {
    let mut res = (status, axum::response::Html(body)).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

fn failure(error: &dyn std::fmt::Display) -> Response {
    // Logged once with detail; the page says only that the store could not be read.
    warn!(%error, "Review page failed");
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        html::layout(
            "Unavailable",
            "<p class=\"empty\">The history store could not be read. Try again shortly; the bot's log has the details.</p>",
        ),
    )
}

fn not_found(what: &str) -> Response {
    page(
        StatusCode::NOT_FOUND,
        html::layout(
            "Not found",
            &format!(
                "<p class=\"empty\">{}</p><p><a href=\"/review\">← all incidents and channels</a></p>",
                html::Esc(what)
            ),
        ),
    )
}

async fn index(State(s): State<AppState>) -> Response {
    let loaded = async {
        let events = s.store.events(None, None).await?;
        let head = s.store.chain_head().await?;
        Ok::<_, vabot_commands::store::StoreError>((events, head))
    }
    .await;
    match loaded {
        Ok((events, head)) => page(
            StatusCode::OK,
            pages::index(&events, head.as_ref().map(|(s, h)| (*s, h.as_str()))),
        ),
        Err(e) => failure(&e),
    }
}

async fn load(s: &AppState, p: &Params) -> Result<Timeline, Response> {
    let scope = p.scope().map_err(|e| not_found(&e))?;
    match Timeline::load(s.store.as_ref(), &scope, &Filter::default()).await {
        Ok(t) => Ok(t),
        Err(e @ (ExportError::UnknownIncident(_) | ExportError::NoScope)) => {
            Err(not_found(&e.to_string()))
        }
        Err(e) => Err(failure(&e)),
    }
}

async fn timeline(State(s): State<AppState>, Query(p): Query<Params>) -> Response {
    match load(&s, &p).await {
        Ok(t) => page(
            StatusCode::OK,
            pages::timeline(&t, &p.filter(), &p.query(false), &p.query(true)),
        ),
        Err(r) => r,
    }
}

async fn approval(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(id) = vabot_commands::model::ShortId::parse('a', &id) else {
        return not_found("That is not an approval id (they look like a-3MZ81C).");
    };
    let req = match s.store.approval(&id).await {
        Ok(Some(r)) => r,
        Ok(None) => return not_found(&format!("No approval {id} in the history.")),
        Err(e) => return failure(&e),
    };
    let loaded = async {
        let events = s.store.events(None, None).await?;
        let execution = s.store.execution(&req.invocation).await?;
        let card = s.store.card_of(req.channel.platform, &req.id).await?;
        Ok::<_, vabot_commands::store::StoreError>((events, execution, card))
    }
    .await;
    match loaded {
        Ok((events, execution, card)) => page(
            StatusCode::OK,
            pages::approval(&req, &events, execution.as_ref(), card.as_ref()),
        ),
        Err(e) => failure(&e),
    }
}

/// A chart kept by the store, served only while its bytes hash to its name (the hash the
/// audit log recorded); raster images only, never sniffed.
async fn file(State(s): State<AppState>, Path(sha256): Path<String>) -> Response {
    use sha2::{Digest, Sha256};
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return not_found("That is not a file id (a SHA-256 in hex).");
    }
    let (mime, bytes) = match s.store.file(&sha256.to_ascii_lowercase()).await {
        Ok(Some(f)) => f,
        Ok(None) => return not_found("No such file in the history."),
        Err(e) => return failure(&e),
    };
    if hex::encode(Sha256::digest(&bytes)) != sha256.to_ascii_lowercase() {
        return page(
            StatusCode::CONFLICT,
            "<div class=\"chain broken\" role=\"alert\"><div>⚠ This file was altered after it was recorded<small>Its bytes no longer match the SHA-256 in the audit log.</small></div></div>".into(),
        );
    }
    let mime = match mime.as_str() {
        "image/png" | "image/jpeg" | "image/gif" | "image/webp" => mime,
        _ => "application/octet-stream".to_owned(),
    };
    let mut res = (StatusCode::OK, bytes).into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600, immutable"),
    );
    res
}

fn download(body: String, mime: &'static str, name: String) -> Response {
    let mut res = (StatusCode::OK, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// A file name from the scope: `incident-i-7K2F9Q.md`, `timeline-console-incident-prod.csv`.
fn file_name(t: &Timeline, ext: &str) -> String {
    let base = match &t.incident {
        Some(i) => format!("incident-{}", i.id),
        None => format!("timeline-{}", t.channel),
    };
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{}.{ext}", clean.trim_matches('-'))
}

async fn export(s: AppState, p: Params, ext: &'static str) -> Response {
    match load(&s, &p).await {
        Ok(t) => {
            let t = t.filtered(&p.filter());
            let name = file_name(&t, ext);
            match ext {
                "md" => download(t.to_markdown(), "text/markdown; charset=utf-8", name),
                "json" => download(t.to_json(), "application/json", name),
                _ => download(t.to_csv(), "text/csv; charset=utf-8", name),
            }
        }
        Err(r) => r,
    }
}

async fn export_md(State(s): State<AppState>, Query(p): Query<Params>) -> Response {
    export(s, p, "md").await
}

async fn export_json(State(s): State<AppState>, Query(p): Query<Params>) -> Response {
    export(s, p, "json").await
}

async fn export_csv(State(s): State<AppState>, Query(p): Query<Params>) -> Response {
    export(s, p, "csv").await
}

#[cfg(test)]
mod tests;
