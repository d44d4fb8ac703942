//! The dependency clients named by `endpoints.*` (`POSTGRES_URL`, `REDIS_URL`, …).

use std::sync::Arc;

use vabot_commands::ports::{Dependencies, Unconfigured};

use crate::config::Settings;

pub async fn connect(_settings: &Settings) -> anyhow::Result<Arc<dyn Dependencies>> {
    Ok(Arc::new(Unconfigured))
}
