//! Nacos: `nacos health` (`GET /nacos/v2/console/health/readiness`, falling back to v1),
//! `nacos services` (the naming registry) and `nacos config` (one configuration).

pub mod config;
pub(crate) mod health;
pub mod services;

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
