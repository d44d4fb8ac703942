//! `vabot`: the ChatOps bot for VoiceHelper incident channels.
//!
//! This binary loads configuration, initialises telemetry, builds the pipeline's
//! dependencies and runs the chosen adapter. All ChatOps logic lives in `vabot-commands`.

mod adapters;
mod audit;
mod config;
mod serve;
mod telemetry;
mod wiring;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Run the configured adapters (Slack, Discord) and the HTTP server until SIGTERM.
    Serve {
        /// Listen address for /healthz, /readyz, /metrics and Slack HTTP mode.
        #[arg(long, default_value = "127.0.0.1:8080")]
        http: std::net::SocketAddr,
    },
    /// Print the Kubernetes Role rules the command catalogue needs (least privilege).
    Rbac {
        /// The rules of the mesh control plane's namespace (`health istio-system`) instead.
        #[arg(long)]
        mesh: bool,
    },
    /// Validate the configuration and the policy file, then exit.
    CheckConfig,
    /// Run the database migrations, then exit.
    Migrate,
    /// The tamper-evident history.
    Audit {
        #[command(subcommand)]
        command: AuditCmd,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCmd {
    /// Check the hash chain; exits 1 and names the first broken record if it was tampered with.
    Verify,
    /// Write a channel's or an incident's timeline (who asked what, who approved, what
    /// changed, results, pinned messages).
    Export {
        /// Channel as `platform:id`, e.g. `slack:C0123` or `console:#incident-prod`.
        #[arg(long, required_unless_present = "incident")]
        channel: Option<String>,
        /// An incident, by the id of its `incident start` invocation (`i-…`).
        #[arg(long)]
        incident: Option<String>,
        /// Only events at or after this time (RFC 3339) or within this window (e.g. `2h`).
        #[arg(long)]
        since: Option<String>,
        #[arg(long, value_enum, default_value = "md")]
        format: audit::ExportFormat,
        /// Output file (stdout if omitted).
        #[arg(long)]
        out: Option<PathBuf>,
    },
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
    vabot_server::install_crypto_provider();
    let settings = Settings::load(cli.config.as_deref(), &ProcessEnv)?;
    match cli.command {
        Cmd::CheckConfig => {
            let catalog = settings.load_catalog()?;
            settings.load_policy(&catalog)?;
            vabot_kube::access::resolve(&settings.kube, &settings.cluster_env)?;
            println!(
                "configuration OK ({})",
                cli.config
                    .as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "embedded demo".into())
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Serve { http } => {
            serve::run(settings, http).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Rbac { mesh } => {
            let catalog = settings.load_catalog()?;
            if mesh {
                print!("{}", vabot_commands::rbac::render_mesh_rules());
            } else {
                print!("{}", vabot_commands::rbac::render_rules(&catalog));
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Migrate => {
            audit::migrate(&settings).await?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Audit {
            command: AuditCmd::Verify,
        } => Ok(if audit::verify(&settings).await? {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }),
        Cmd::Audit {
            command:
                AuditCmd::Export {
                    channel,
                    incident,
                    since,
                    format,
                    out,
                },
        } => {
            audit::export(
                &settings,
                channel.as_deref(),
                incident.as_deref(),
                since.as_deref(),
                format,
                out.as_deref(),
            )
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Console { user, channel } => {
            let deps = wiring::build(&settings).await?.deps;
            wiring::store::spawn_heartbeat(deps.clone());
            adapters::console::run(&deps, &user, &channel).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
