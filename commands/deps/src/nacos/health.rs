//! `nacos health`: the readiness endpoint (v2, falling back to v1).

use super::*;
use crate::executor::Inner;
use vabot_commands::ports::Outcome;

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

pub(crate) async fn run(x: &Inner) -> Result<Outcome, ExecError> {
    let base = x.nacos("nacos health")?;
    let h = x.timed(WHAT, health(&x.http, base)).await?;
    let summary = format!(
        "nacos health: {}",
        if h.ready { "ready" } else { "not ready" }
    );
    Ok(Outcome::reply(render(&h), summary))
}
