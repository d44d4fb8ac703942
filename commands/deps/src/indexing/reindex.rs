//! `reindex <collection>`: a write (approval as the policy says), planned against Milvus'
//! collection list when Milvus is configured; executed as one job on indexing-service,
//! followed for at most [`FOLLOW`] and reported with its final (or current) state. A
//! rebuilt index has no previous state to go back to: there is no undo.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use vabot_commands::authz::Permit;
use vabot_commands::message::{Message, Tone};
use vabot_commands::plan::{ObjectRef, Plan};
use vabot_commands::ports::{ExecError, Outcome};

use super::{ApiError, Job, WHAT};
use crate::executor::Inner;
use crate::http::{excerpt, join};

/// How long the job is followed before the reply says it is still running.
pub const FOLLOW: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(500);

pub(crate) async fn plan(x: &Inner, permit: &Permit, collection: &str) -> Result<Plan, ExecError> {
    x.indexing("reindex")?;
    let mut plan = Plan::new(
        permit,
        format!("Rebuild the index of Milvus collection {collection} through indexing-service"),
    )
    .with_target(ObjectRef {
        kind: "Milvus collection".into(),
        namespace: "milvus".into(),
        name: collection.to_owned(),
    })
    .with_change("index", "current", "rebuilt")
    .with_fingerprint(format!("reindex {collection}"))
    .with_note(
        "Searches on the collection may be slower while the index is rebuilt. There is no undo: a rebuilt index has no previous state to restore.",
    );
    if x.cfg.milvus.is_some() {
        let known = x.milvus_collections("reindex").await?;
        if !known.iter().any(|c| c == collection) {
            return Err(ExecError::Precondition {
                why: format!(
                    "Milvus has no collection `{collection}` (it has: {}); `/va milvus collections` lists them",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            });
        }
    } else {
        plan =
            plan.with_note("Milvus is not configured: the collection's existence was not checked.");
    }
    Ok(plan)
}

pub(crate) async fn run(x: &Inner, collection: &str) -> Result<Outcome, ExecError> {
    let base = x.indexing("reindex")?;
    let url = join(base, &format!("api/v1/collections/{collection}/reindex"));
    let raw = x
        .timed(
            WHAT,
            x.http
                .post_raw(WHAT, &url, &serde_json::json!({"requested_by": "vabot"})),
        )
        .await?;
    let refusal = || serde_json::from_str::<ApiError>(&raw.body).ok();
    let mut job: Job = match raw.status {
        s if s.is_success() => {
            serde_json::from_str(&raw.body).map_err(|e| ExecError::Unavailable {
                what: WHAT.into(),
                detail: format!(
                    "the reindex answer is not a job ({e}): {}",
                    excerpt(&raw.body, 200)
                ),
            })?
        }
        StatusCode::NOT_FOUND => {
            return Err(ExecError::NotFound {
                what: format!("collection `{collection}` at indexing-service"),
            });
        }
        StatusCode::CONFLICT => {
            let running = refusal()
                .and_then(|e| e.job_id)
                .unwrap_or_else(|| "?".into());
            return Err(ExecError::Conflict {
                what: format!(
                    "a reindex of `{collection}` already running (job {running}); wait for it rather than starting a second one"
                ),
            });
        }
        s => {
            return Err(ExecError::Unavailable {
                what: WHAT.into(),
                detail: format!(
                    "HTTP {}: {}",
                    s.as_u16(),
                    refusal()
                        .map(|e| e.error)
                        .unwrap_or_else(|| excerpt(&raw.body, 200))
                ),
            });
        }
    };
    let started = Instant::now();
    let job_url = join(base, &format!("api/v1/jobs/{}", job.job_id));
    while !job.finished() && started.elapsed() < FOLLOW {
        tokio::time::sleep(POLL).await;
        job = x.timed(WHAT, x.http.get_json(WHAT, &job_url, &[])).await?;
    }
    tracing::info!(collection, job = %job.job_id, state = %job.state, "reindex");
    let summary = format!("reindex {collection}: job {} {}", job.job_id, job.state);
    Ok(Outcome {
        message: render(&job, started.elapsed()),
        summary,
        before: None,
        after: Some(serde_json::json!({"job": job.job_id, "state": job.state})),
    })
}

pub(crate) fn render(job: &Job, followed: Duration) -> Message {
    let progress = match (job.indexed, job.total) {
        (Some(i), Some(t)) if t > 0 => {
            format!("{i} of {t} entities ({:.0}%)", i as f64 * 100.0 / t as f64)
        }
        (Some(i), _) => format!("{i} entities"),
        _ => "not started".into(),
    };
    let (tone, header, line) = match job.state.as_str() {
        "succeeded" => (
            Tone::Success,
            format!("Reindexed {}", job.collection),
            format!("Job {} succeeded: {progress}.", job.job_id),
        ),
        "failed" => (
            Tone::Danger,
            format!("Reindex of {} failed", job.collection),
            format!(
                "Job {} failed after {progress}: {}",
                job.job_id,
                job.error.as_deref().unwrap_or("no reason given")
            ),
        ),
        other => (
            Tone::Warning,
            format!("Reindex of {} still {other}", job.collection),
            format!(
                "Job {} is {other} after {} s: {progress}. It goes on without vabot; `/va milvus stats` shows the collection's state.",
                job.job_id,
                followed.as_secs()
            ),
        ),
    };
    Message::new(tone)
        .header(header)
        .paragraph(line)
        .context("Through indexing-service's API; there is no undo for a rebuilt index.")
}
