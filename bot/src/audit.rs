//! `vabot migrate` and `vabot audit verify|export`: the store's command-line face.

use std::path::Path;

use anyhow::Context as _;
use vabot_store::export::{Filter, Scope, Timeline, parse_since};
use vabot_store::{ChainReport, SqlStore};

use crate::config::Settings;

/// Export formats for `vabot audit export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Md,
    Json,
    Csv,
}

async fn sql_store(settings: &Settings, what: &str) -> anyhow::Result<SqlStore> {
    let url = settings.database_url();
    if url == "memory:" {
        anyhow::bail!(
            "`vabot {what}` needs a database: database.url is `memory:`; set DATABASE_URL (or database.url) to `sqlite://path?mode=rwc` or `postgres://…`"
        );
    }
    // The default history file: say where it was looked for rather than create an empty one.
    if settings.database.url.is_none() && what != "migrate" {
        let file = settings.data_dir().join("vabot.db");
        if !file.exists() {
            anyhow::bail!(
                "no history at {} (the default when database.url is unset); set DATABASE_URL to the bot's store",
                file.display()
            );
        }
    }
    // The error never shows the URL: it may carry a password.
    SqlStore::open(&url)
        .await
        .context("failed to open the history store named by database.url / DATABASE_URL")
}

/// Runs the migrations of the configured database (opening it applies them).
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    sql_store(settings, "migrate").await.map(|_| ())
}

/// Verifies the hash chain; returns whether it is intact (and prints the first break).
pub async fn verify(settings: &Settings) -> anyhow::Result<bool> {
    let store = sql_store(settings, "audit verify").await?;
    let report = store
        .verify()
        .await
        .map_err(|e| anyhow::anyhow!("reading the audit log failed: {e}"))?;
    Ok(match report {
        ChainReport::Intact { records } => {
            println!("chain intact: {records} records");
            true
        }
        ChainReport::Broken(b) => {
            println!("chain broken: {b}");
            false
        }
    })
}

/// Writes the timeline of an incident, or of a channel (optionally a window of it).
pub async fn export(
    settings: &Settings,
    channel: Option<&str>,
    incident: Option<&str>,
    since: Option<&str>,
    format: ExportFormat,
    out: Option<&Path>,
) -> anyhow::Result<()> {
    let since = since
        .map(|s| parse_since(s, chrono::Utc::now()))
        .transpose()
        .map_err(|e| anyhow::anyhow!("--since {e}"))?;
    if channel.is_none() && incident.is_none() {
        anyhow::bail!("name what to export: --channel platform:id or --incident i-…");
    }
    let store = sql_store(settings, "audit export").await?;
    let scope = Scope {
        channel: channel.map(str::to_owned),
        incident: incident.map(str::to_owned),
        since,
        ..Scope::default()
    };
    let timeline = Timeline::load(&store, &scope, &Filter::default())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let text = match format {
        ExportFormat::Md => timeline.to_markdown(),
        ExportFormat::Json => timeline.to_json(),
        ExportFormat::Csv => timeline.to_csv(),
    };
    match out {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}
