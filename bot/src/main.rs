//! `vabot`: the ChatOps bot for VoiceHelper incident channels.
//!
//! This binary loads configuration, initialises telemetry, builds the pipeline's
//! dependencies and runs the chosen adapter. All ChatOps logic lives in `vabot-commands`.

mod adapters;
mod config;
mod telemetry;
mod wiring;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use vabot_commands::catalog::Catalog;

use crate::config::{ProcessEnv, Settings};

#[derive(Debug, Parser)]
#[command(
    name = "vabot",
    version,
    about = "ChatOps for VoiceHelper incident channels"
)]
struct Cli {
    /// Configuration file (YAML or TOML); the embedded demo configuration if omitted.
    #[arg(long, global = true, env = "VABOT_CONFIG")]
    config: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text")]
    log_format: telemetry::LogFormat,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Chat with the bot in the terminal, or script it from stdin (one command per line).
    Console {
        /// Acting user (switch with `:as <user>`).
        #[arg(long, default_value = "alice")]
        user: String,
        /// Channel (switch with `:in <channel>`).
        #[arg(long, default_value = "#incident-prod")]
        channel: String,
    },
    /// Validate the configuration and the policy file, then exit.
    CheckConfig,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_filter = match cli.command {
        Cmd::Console { .. } => "warn",
        _ => "info",
    };
    telemetry::init(cli.log_format, default_filter);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(cli.config.as_deref(), &ProcessEnv)?;
    match cli.command {
        Cmd::CheckConfig => {
            let catalog = Catalog::voicehelper();
            settings.load_policy(&catalog)?;
            println!(
                "configuration OK ({})",
                cli.config
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "embedded demo".into())
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Console { user, channel } => {
            let deps = wiring::build(&settings).await?;
            adapters::console::run(&deps, &user, &channel).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
