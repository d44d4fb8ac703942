//! Text → [`Command`].
//!
//! Every command of DESIGN §3 is a variant; the definitions in [`spec`] drive `help`, the
//! usage lines in errors and the Discord option generator. A parse failure says what was
//! wrong and what would work (usage, example, or "did you mean …").

mod command;
mod deps;
mod error;
mod kube;
mod lexer;
mod meta;
pub mod spec;
#[cfg(test)]
mod tests;
pub mod values;

use crate::catalog::{Catalog, suggest};
use crate::grammar::spec::{SPECS, Spec};
use crate::plan::RiskClass;

pub use command::{
    Command, EsCommand, HealthScope, MilvusCommand, PgCommand, Playbook, RedisCommand, Target,
    TopKind, Weight,
};
pub use error::{ParseError, ParseErrorKind, ParseErrorReport};
pub use lexer::tokenize;

// === Parsing ===

/// The longest command text accepted (Slack's slash-command text limit is about 4,000).
pub const MAX_INPUT: usize = 4000;

/// Parses the text after `/va` (a leading `/va`, `va` or `@va` is tolerated).
pub fn parse(text: &str, catalog: &Catalog) -> Result<Command, ParseError> {
    if text.len() > MAX_INPUT {
        return Err(ParseError::syntax(format!(
            "the command is {} characters long; the limit is {MAX_INPUT}",
            text.len()
        )));
    }
    let mut tokens = tokenize(text)?;
    if matches!(
        tokens.first().map(String::as_str),
        Some("/va" | "va" | "@va")
    ) {
        tokens.remove(0);
    }
    if tokens.is_empty() {
        return Err(ParseError {
            kind: ParseErrorKind::Empty,
            message: "no command given; try `/va help`".into(),
            spec: None,
            suggestions: vec!["help".into()],
        });
    }
    let mut verb = tokens.remove(0).to_ascii_lowercase();
    // `scale --all <ns> <n>`, kubectl's spelling, is `scale-all`.
    if verb == "scale" && tokens.first().is_some_and(|t| t == "--all") {
        tokens.remove(0);
        verb = "scale-all".into();
    }
    let subs: Vec<&'static Spec> = spec::specs_of(&verb).collect();
    if subs.is_empty() {
        let verbs = spec::verbs();
        let suggestions: Vec<String> = suggest(&verb, verbs.iter().copied())
            .into_iter()
            .map(str::to_owned)
            .collect();
        let message = match suggestions.first() {
            Some(s) => format!(
                "unknown command `{verb}`: did you mean `{s}`? (`/va help` lists all commands)"
            ),
            None => format!("unknown command `{verb}`; `/va help` lists all commands"),
        };
        return Err(ParseError {
            kind: ParseErrorKind::UnknownCommand,
            message,
            spec: None,
            suggestions,
        });
    }
    // A verb with sub-commands (`rollout status`, `hpa set`, …) picks the spec by the next word;
    // `hpa` and `help` etc. also exist bare.
    let sub = tokens.first().map(|t| t.to_ascii_lowercase());
    let chosen = sub
        .as_deref()
        .and_then(|w| subs.iter().find(|s| s.name == format!("{verb} {w}")))
        .copied();
    let spec = match chosen {
        Some(spec) => {
            tokens.remove(0);
            spec
        }
        None => match subs.iter().find(|s| s.name == verb) {
            Some(bare) => bare,
            None => return Err(unknown_subcommand(&verb, sub.as_deref(), &subs)),
        },
    };
    let args = lexer::Args::new(spec, tokens);
    match spec.family {
        spec::Family::Kube => kube::parse(spec, args, catalog),
        spec::Family::Dependency => deps::parse(spec, args, catalog),
        spec::Family::Meta | spec::Family::History => meta::parse(spec, args, catalog),
    }
}

fn unknown_subcommand(verb: &str, sub: Option<&str>, subs: &[&'static Spec]) -> ParseError {
    let options: Vec<&str> = subs
        .iter()
        .filter_map(|s| s.name.split_once(' ').map(|(_, w)| w))
        .collect();
    let suggestions: Vec<String> = sub
        .map(|w| suggest(w, options.iter().copied()))
        .unwrap_or_default()
        .into_iter()
        .map(|w| format!("{verb} {w}"))
        .collect();
    let listed = options
        .iter()
        .map(|w| format!("`{verb} {w}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let message = match (sub, suggestions.first()) {
        (Some(w), Some(s)) => {
            format!("`{verb} {w}` is not a command: did you mean `{s}`? ({listed})")
        }
        (Some(w), None) => format!("`{verb} {w}` is not a command; try one of {listed}"),
        (None, _) => format!("`{verb}` needs a sub-command: {listed}"),
    };
    ParseError {
        kind: ParseErrorKind::UnknownCommand,
        message,
        spec: None,
        suggestions,
    }
}

// === Help ===

/// `help` with no topic: every command with its summary, grouped by family.
pub fn help_all() -> String {
    let mut out = String::from("vabot commands (type `/va help <command>` for details):\n");
    let groups = [
        (spec::Family::Kube, "Kubernetes"),
        (spec::Family::Dependency, "Dependencies"),
        (spec::Family::History, "History and incidents"),
        (spec::Family::Meta, "Other"),
    ];
    for (family, title) in groups {
        out.push_str(&format!("\n{title}:\n"));
        for s in SPECS.iter().filter(|s| s.family == family) {
            let risk = match s.risk {
                RiskClass::Read => "",
                RiskClass::Write => " [write]",
                RiskClass::Destructive => " [destructive]",
            };
            out.push_str(&format!("  {:<62} {}{risk}\n", s.usage(), s.summary));
        }
    }
    out
}

/// `help <topic>`: the matching command(s), or suggestions.
pub fn help_topic(topic: &str) -> Result<String, String> {
    let topic = topic.trim().to_ascii_lowercase();
    let matches: Vec<&Spec> = SPECS
        .iter()
        .filter(|s| s.name == topic || s.name.split(' ').next() == Some(topic.as_str()))
        .collect();
    if matches.is_empty() {
        let names = SPECS.iter().map(|s| s.name);
        let sugg = suggest(&topic, names);
        return Err(match sugg.first() {
            Some(s) => format!("no command `{topic}`: did you mean `{s}`?"),
            None => format!("no command `{topic}`; `/va help` lists all commands"),
        });
    }
    let mut out = String::new();
    for s in matches {
        out.push_str(&format!(
            "{}\n  {}\n  risk: {}{}\n  example: /va {}\n",
            s.usage(),
            s.summary,
            s.risk,
            if s.runbook.is_empty() {
                String::new()
            } else {
                format!(" · runbook {}", s.runbook)
            },
            s.example
        ));
    }
    Ok(out)
}
