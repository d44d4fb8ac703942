//! `redis hitrate`: the keyspace hit ratio, with a warning threshold.

use super::*;
use crate::executor::Inner;
use vabot_commands::ports::Outcome;

pub(crate) fn render_hitrate(rate: Option<HitRate>, threshold: f64) -> Message {
    let Some(rate) = rate else {
        return Message::text(
            Tone::Warning,
            "Redis INFO stats has no keyspace_hits/keyspace_misses.",
        );
    };
    let Some(ratio) = rate.ratio() else {
        return Message::new(Tone::Info)
            .header("Redis hit rate: no lookups yet")
            .fields([("keyspace_hits", "0"), ("keyspace_misses", "0")]);
    };
    let low = ratio < threshold;
    let mut m = Message::new(if low { Tone::Warning } else { Tone::Success })
        .header(format!("Redis hit rate {:.1}%", ratio * 100.0))
        .fields([
            ("keyspace_hits", rate.hits.to_string()),
            ("keyspace_misses", rate.misses.to_string()),
            ("warning below", format!("{:.0}%", threshold * 100.0)),
        ]);
    if low {
        m = m.paragraph(format!(
            "⚠️ The hit rate is below {:.0}%: possible cache penetration (runbook §4.5). \
             Run `/va diagnose cache-penetration`.",
            threshold * 100.0
        ));
    }
    m.context("since the Redis server started (or its stats were last reset)")
}

pub(crate) async fn run(x: &Inner) -> Result<Outcome, ExecError> {
    let info = x
        .timed(WHAT, x.redis("redis hitrate")?.info(Some("stats")))
        .await?;
    let rate = info.hit_rate();
    let summary = match rate.and_then(|r| r.ratio()) {
        Some(r) => format!("redis hitrate {:.1}%", r * 100.0),
        None => "redis hitrate: no lookups".into(),
    };
    Ok(Outcome::reply(
        render_hitrate(rate, x.cfg.redis_hitrate_warning),
        summary,
    ))
}
