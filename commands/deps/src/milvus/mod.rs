//! Milvus: REST v2 `POST /v2/vectordb/collections/list`, and `GET /healthz` and
//! `GET /metrics` on the metrics port (9091).

pub(crate) mod collections;
pub(crate) mod health;
pub mod stats;

use serde::{Deserialize, Serialize};
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use crate::http::{Http, excerpt, join};

pub(crate) const WHAT: &str = "Milvus";

/// The REST v2 envelope: `code` 0 is success, anything else comes with a `message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestResponse<T> {
    pub code: i64,
    pub message: Option<String>,
    pub data: Option<T>,
}

/// `/healthz` when asked for JSON: overall state and one entry per component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthResponse {
    /// `OK` when healthy, otherwise a reason.
    pub state: String,
    #[serde(default)]
    pub detail: Option<Vec<ComponentHealth>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentHealth {
    pub name: String,
    /// Milvus' StateCode: 0 Initializing, 1 Healthy, 2 Abnormal, 3 StandBy, 4 Stopping.
    pub code: i32,
    #[serde(default)]
    pub reason: Option<String>,
}

/// What vabot concluded from `/healthz`.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub healthy: bool,
    pub state: String,
    pub unhealthy_components: Vec<String>,
}

pub(crate) async fn health(http: &Http, metrics_base: &str) -> Result<Health, ExecError> {
    let raw = http
        .get_raw(WHAT, &join(metrics_base, "healthz"), true)
        .await?;
    // JSON when the server honours the header; older servers answer `OK` as text.
    let parsed: Option<HealthResponse> = serde_json::from_str(&raw.body).ok();
    let (state, bad) = match parsed {
        Some(h) => {
            let bad = h
                .detail
                .unwrap_or_default()
                .into_iter()
                .filter(|c| c.code != 1)
                .map(|c| match c.reason {
                    Some(r) if !r.is_empty() => format!("{} (code {}: {})", c.name, c.code, r),
                    _ => format!("{} (code {})", c.name, c.code),
                })
                .collect::<Vec<_>>();
            (h.state, bad)
        }
        None => (excerpt(&raw.body, 200), Vec::new()),
    };
    let healthy = raw.status.is_success() && state.eq_ignore_ascii_case("ok") && bad.is_empty();
    Ok(Health {
        healthy,
        state,
        unhealthy_components: bad,
    })
}

pub(crate) async fn collections(
    http: &Http,
    base: &str,
    token: Option<&str>,
) -> Result<Vec<String>, ExecError> {
    let resp: RestResponse<Vec<String>> = http
        .post_json(
            WHAT,
            &join(base, "v2/vectordb/collections/list"),
            &serde_json::json!({ "dbName": "default" }),
            token,
        )
        .await?;
    if resp.code != 0 {
        return Err(ExecError::Unavailable {
            what: WHAT.into(),
            detail: format!(
                "collections/list answered code {}: {}",
                resp.code,
                resp.message.unwrap_or_default()
            ),
        });
    }
    let mut list = resp.data.unwrap_or_default();
    list.sort();
    Ok(list)
}
