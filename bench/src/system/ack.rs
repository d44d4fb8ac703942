//! Slash-command acks under load: `in_flight` signed `/va` requests kept open at once on
//! loopback, `total` in all (bounded in count and in time), each timed from just before it
//! is sent until its response has been read.
//! The bot records each delivery in PostgreSQL before it answers 200, so the figure
//! includes the signature check, the form parse and that durable insert.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use vabot_slack::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};

use super::process::{CHANNEL, SIGNING_SECRET, TEAM, USER};

/// What one load run measured.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub ok: usize,
    pub failed: usize,
    /// Per request, milliseconds, sorted.
    pub latencies_ms: Vec<f64>,
    pub wall: Duration,
}

impl LoadReport {
    pub fn p(&self, pct: f64) -> f64 {
        vabot_bench::percentile(&self.latencies_ms, pct)
    }
    pub fn max(&self) -> f64 {
        self.latencies_ms.last().copied().unwrap_or(f64::NAN)
    }
}

/// A slash command body as Slack sends it (form-encoded).
pub fn slash_form(text: &str, trigger: &str) -> String {
    serde_urlencoded::to_string([
        ("token", "legacy-verification-token"),
        ("team_id", TEAM),
        ("team_domain", "bench"),
        ("channel_id", CHANNEL),
        ("channel_name", "bench"),
        ("user_id", USER),
        ("user_name", "bench"),
        ("command", "/va"),
        ("text", text),
        ("api_app_id", "A0VABOT"),
        (
            "response_url",
            "https://hooks.slack.com/commands/T0BENCH/1/abc",
        ),
        ("trigger_id", trigger),
    ])
    .unwrap_or_default()
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Fires `total` signed slash commands at `url`, `in_flight` at a time; stops early at
/// `deadline` (the requests not yet sent are simply not sent).
pub async fn fire(
    client: &reqwest::Client,
    url: &str,
    text: &str,
    run: &str,
    total: usize,
    in_flight: usize,
    deadline: Duration,
) -> LoadReport {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..in_flight {
        let (client, url, text, run, next) = (
            client.clone(),
            url.to_owned(),
            text.to_owned(),
            run.to_owned(),
            next.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut mine = LoadReport::default();
            loop {
                let n = next.fetch_add(1, Ordering::SeqCst);
                if n >= total || started.elapsed() > deadline {
                    return mine;
                }
                let body = slash_form(&text, &format!("bench.{run}.{n}"));
                let ts = now_unix().to_string();
                let sig = sign(SIGNING_SECRET, &ts, body.as_bytes());
                let t0 = Instant::now();
                let res = client
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .header(TIMESTAMP_HEADER, &ts)
                    .header(SIGNATURE_HEADER, sig)
                    .body(body)
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                let ok = match res {
                    Ok(r) => {
                        let good = r.status().is_success();
                        good && r.bytes().await.is_ok()
                    }
                    Err(_) => false,
                };
                let ms = t0.elapsed().as_secs_f64() * 1000.0;
                if ok {
                    mine.ok += 1;
                    mine.latencies_ms.push(ms);
                } else {
                    mine.failed += 1;
                }
            }
        }));
    }
    let mut all = LoadReport::default();
    for w in workers {
        if let Ok(r) = w.await {
            all.ok += r.ok;
            all.failed += r.failed;
            all.latencies_ms.extend(r.latencies_ms);
        }
    }
    all.wall = started.elapsed();
    all.latencies_ms.sort_by(f64::total_cmp);
    all
}
