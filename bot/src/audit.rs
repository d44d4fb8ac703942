//! `vabot migrate` and `vabot audit verify|export`: the store's command-line face.

use std::path::Path;

use crate::config::Settings;

/// Export formats for `vabot audit export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Md,
    Json,
    Csv,
}

/// Runs the migrations of the configured database.
pub async fn migrate(_settings: &Settings) -> anyhow::Result<()> {
    anyhow::bail!("`vabot migrate` needs a database store; this build only has the in-memory store")
}

/// Verifies the hash chain; returns whether it is intact (and prints the first break).
pub async fn verify(_settings: &Settings) -> anyhow::Result<bool> {
    anyhow::bail!(
        "`vabot audit verify` needs a database store; this build only has the in-memory store"
    )
}

/// Writes a channel's timeline.
pub async fn export(
    _settings: &Settings,
    _channel: &str,
    _since: Option<&str>,
    _format: ExportFormat,
    _out: Option<&Path>,
) -> anyhow::Result<()> {
    anyhow::bail!(
        "`vabot audit export` needs a database store; this build only has the in-memory store"
    )
}
