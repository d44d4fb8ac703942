//! Nacos: `GET /nacos/v2/console/health/readiness` (v2 API), falling back to
//! `/nacos/v1/console/health/readiness` on servers without it.

use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use crate::http::{Http, excerpt, join};

pub(crate) const WHAT: &str = "Nacos";

/// The v2 open-API envelope: `{"code":0,"message":"success","data":"ok"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct V2Result<T> {
    pub code: i64,
    pub message: Option<String>,
    pub data: Option<T>,
}

/// Readiness and liveness as Nacos reported them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub ready: bool,
    pub api: &'static str,
    pub answer: String,
}

pub(crate) async fn health(http: &Http, base: &str) -> Result<Health, ExecError> {
    let v2 = http
        .get_raw(
            WHAT,
            &join(base, "nacos/v2/console/health/readiness"),
            false,
        )
        .await?;
    if v2.status != StatusCode::NOT_FOUND {
        let parsed: Option<V2Result<String>> = serde_json::from_str(&v2.body).ok();
        return Ok(match parsed {
            Some(r) => Health {
                ready: v2.status.is_success() && r.code == 0,
                api: "v2",
                answer: r
                    .data
                    .or(r.message)
                    .unwrap_or_else(|| format!("code {}", r.code)),
            },
            None => Health {
                ready: v2.status.is_success(),
                api: "v2",
                answer: excerpt(&v2.body, 200),
            },
        });
    }
    let v1 = http
        .get_raw(
            WHAT,
            &join(base, "nacos/v1/console/health/readiness"),
            false,
        )
        .await?;
    if v1.status == StatusCode::NOT_FOUND {
        return Err(ExecError::Unavailable {
            what: WHAT.into(),
            detail: "neither the v2 nor the v1 readiness endpoint exists (HTTP 404)".into(),
        });
    }
    Ok(Health {
        ready: v1.status.is_success(),
        api: "v1",
        answer: excerpt(&v1.body, 200),
    })
}

pub(crate) fn render(h: &Health) -> Message {
    let (tone, head) = if h.ready {
        (Tone::Success, "Nacos is ready")
    } else {
        (Tone::Danger, "Nacos is not ready")
    };
    let mut m = Message::new(tone)
        .header(head)
        .fields([("readiness", h.answer.clone()), ("api", h.api.to_owned())]);
    if !h.ready {
        m = m.context("Next: `/va pods nacos`, `/va logs nacos --tail 200`");
    }
    m
}
