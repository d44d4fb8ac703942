//! indexing-service, the platform's own index builder (runbook §4.4 step 3 "通过
//! indexing-service API重建"): `POST /api/v1/collections/{name}/reindex` starts a job,
//! `GET /api/v1/jobs/{id}` reports it. These types are the API's contract; the test fake
//! serves fixtures that must deserialize into them.

pub(crate) mod reindex;

use serde::{Deserialize, Serialize};

pub(crate) const WHAT: &str = "indexing-service";

/// A reindex job as the service reports it (the `POST` answer and `GET /jobs/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub job_id: String,
    pub collection: String,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub state: String,
    /// Entities indexed so far and in all (absent while queued).
    #[serde(default)]
    pub indexed: Option<u64>,
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub error: Option<String>,
}

impl Job {
    pub fn finished(&self) -> bool {
        matches!(self.state.as_str(), "succeeded" | "failed")
    }
}

/// The body of a refusal (`404` unknown collection, `409` a job already running).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: String,
    #[serde(default)]
    pub job_id: Option<String>,
}
