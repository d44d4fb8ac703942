//! The console adapter: a terminal chat, scriptable from stdin.
//!
//! One command per line; replies are printed in order. Meta-lines switch identity and
//! place: `:as <user>`, `:in <channel>`; `:whoami` shows them; `:quit` (or EOF) ends.

use std::io::{BufRead, IsTerminal, Write};

use vabot_commands::Invocation;
use vabot_commands::message::render_text;
use vabot_commands::model::{Actor, ChannelRef, DeliveryId, Platform};
use vabot_commands::pipeline::{Deps, handle};

/// The console's state between lines.
pub struct Console {
    pub user: String,
    pub channel: String,
    counter: u64,
    session: u128,
}

impl Console {
    pub fn new(user: &str, channel: &str) -> Self {
        Self {
            user: user.to_owned(),
            channel: channel.to_owned(),
            counter: 0,
            session: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        }
    }

    /// Handles one line; returns the text to print (possibly empty), or `None` to quit.
    pub async fn line(&mut self, deps: &Deps, line: &str) -> Option<String> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') && !line.starts_with("#incident") {
            return Some(String::new());
        }
        if let Some(meta) = line.strip_prefix(':') {
            let (cmd, arg) = meta
                .split_once(' ')
                .map(|(c, a)| (c, a.trim()))
                .unwrap_or((meta, ""));
            return match cmd {
                "as" if !arg.is_empty() => {
                    self.user = arg.to_owned();
                    Some(format!("(now acting as {})", self.user))
                }
                "in" if !arg.is_empty() => {
                    self.channel = arg.to_owned();
                    Some(format!("(now in {})", self.channel))
                }
                "whoami" => Some(format!("({} in {})", self.user, self.channel)),
                "quit" | "q" | "exit" => None,
                _ => Some("console commands: `:as <user>`, `:in <channel>`, `:whoami`, `:quit`; anything else is a /va command".into()),
            };
        }
        self.counter += 1;
        let inv = Invocation {
            actor: Actor::new(Platform::Console, &self.user),
            channel: ChannelRef::new(Platform::Console, &self.channel),
            text: line.to_owned(),
            delivery: DeliveryId::new(format!("{}-{}", self.session, self.counter)),
        };
        let reply = handle(deps, inv).await;
        let mut out = Vec::new();
        for m in &reply.messages {
            let prefix = match m.visibility {
                vabot_commands::message::Visibility::Ephemeral => "(only you) ",
                vabot_commands::message::Visibility::Thread => "",
            };
            out.push(format!("{prefix}{}", render_text(m)));
        }
        if let Some((id, card)) = &reply.card_update {
            out.push(format!("(card {id} updated)\n{}", render_text(card)));
        }
        Some(out.join("\n"))
    }
}

/// Runs the console on stdin/stdout until EOF or `:quit`.
/// Prints what a sweep did (a resumed approval's result, an expired card).
async fn print_follow_ups(out: &mut std::io::Stdout, deps: &Deps) -> anyhow::Result<()> {
    for f in crate::wiring::store::sweep(deps).await {
        for m in &f.reply.messages {
            writeln!(out, "({} resumed) {}", f.request.id, render_text(m))?;
        }
        if let Some((id, card)) = &f.reply.card_update {
            writeln!(out, "(card {id} updated)\n{}", render_text(card))?;
        }
    }
    Ok(())
}

pub async fn run(deps: &Deps, user: &str, channel: &str) -> anyhow::Result<()> {
    let mut console = Console::new(user, channel);
    let interactive = std::io::stdin().is_terminal();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(16);
    // stdin is blocking; read it on its own thread so the runtime stays free.
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            let Ok(line) = line else { break };
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    let mut stdout = std::io::stdout();
    if interactive {
        writeln!(
            stdout,
            "vabot console — type `/va help`; `:as <user>`, `:in <channel>`, `:quit`"
        )?;
    }
    // Requests a previous run left behind (approved but not executed, expired) first.
    print_follow_ups(&mut stdout, deps).await?;
    let mut sweep = tokio::time::interval(vabot_commands::recovery::SWEEP_EVERY);
    sweep.tick().await;
    loop {
        if interactive {
            write!(stdout, "{}@{}> ", console.user, console.channel)?;
            stdout.flush()?;
        }
        let line = tokio::select! {
            line = rx.recv() => line,
            _ = sweep.tick() => {
                print_follow_ups(&mut stdout, deps).await?;
                continue;
            }
        };
        let Some(line) = line else { break };
        match console.line(deps, &line).await {
            None => break,
            Some(out) if out.is_empty() => {}
            Some(out) => {
                writeln!(stdout, "{out}")?;
                if !interactive {
                    writeln!(stdout)?;
                }
            }
        }
    }
    Ok(())
}
