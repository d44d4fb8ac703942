//! Text → [`Command`].
//!
//! Every command of DESIGN §3 is a variant; the definitions in [`spec`] drive `help`, the
//! usage lines in errors and the Discord option generator. A parse failure says what was
//! wrong and what would work (usage, example, or "did you mean …").

mod deps;
mod kube;
mod lexer;
mod meta;
pub mod spec;
#[cfg(test)]
mod tests;
pub mod values;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, suggest};
use crate::model::{ApprovalId, InvocationId, Namespace};
use crate::plan::RiskClass;
pub use lexer::tokenize;
use spec::{SPECS, Spec};

// === Command model ===

/// What `logs` and `describe` point at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Service(String),
    /// A pod name, with the service it belongs to.
    Pod {
        service: String,
        pod: String,
    },
}

impl Target {
    pub fn service(&self) -> &str {
        match self {
            Target::Service(s) => s,
            Target::Pod { service, .. } => service,
        }
    }
}

/// The scope of `health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthScope {
    All,
    Namespace(Namespace),
    Service(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopKind {
    Pods,
    Nodes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PgCommand {
    Status,
    Connections,
    Slow { n: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedisCommand {
    Info { section: Option<String> },
    Slowlog { n: u32 },
    Hitrate,
    Flushdb { db: u8 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EsCommand {
    Health,
    Indices,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MilvusCommand {
    Health,
    Collections,
}

/// The runbook's troubleshooting sections (§4.1–§4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Playbook {
    PodCrash,
    ServiceComm,
    DbTimeout,
    VectorSearch,
    CachePenetration,
    RateLimit,
}

impl Playbook {
    pub const ALL: [Playbook; 6] = [
        Playbook::PodCrash,
        Playbook::ServiceComm,
        Playbook::DbTimeout,
        Playbook::VectorSearch,
        Playbook::CachePenetration,
        Playbook::RateLimit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Playbook::PodCrash => "pod-crash",
            Playbook::ServiceComm => "service-comm",
            Playbook::DbTimeout => "db-timeout",
            Playbook::VectorSearch => "vector-search",
            Playbook::CachePenetration => "cache-penetration",
            Playbook::RateLimit => "rate-limit",
        }
    }

    pub fn runbook(self) -> &'static str {
        match self {
            Playbook::PodCrash => "§4.1",
            Playbook::ServiceComm => "§4.2",
            Playbook::DbTimeout => "§4.3",
            Playbook::VectorSearch => "§4.4",
            Playbook::CachePenetration => "§4.5",
            Playbook::RateLimit => "§4.6",
        }
    }
}

/// One VirtualService subset weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Weight {
    pub subset: String,
    pub weight: u8,
}

/// A parsed command. Service names are catalog names, already checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    Help {
        topic: Option<String>,
    },
    Health {
        scope: HealthScope,
    },
    Pods {
        service: String,
    },
    Describe {
        target: Target,
    },
    Events {
        service: Option<String>,
    },
    Logs {
        target: Target,
        previous: bool,
        container: Option<String>,
        tail: u32,
        #[serde(with = "secs_opt")]
        since: Option<Duration>,
    },
    Endpoints {
        service: String,
    },
    Netpol {
        namespace: Option<Namespace>,
    },
    Top {
        kind: TopKind,
    },
    RolloutStatus {
        service: String,
    },
    RolloutHistory {
        service: String,
    },
    Hpa {
        service: Option<String>,
    },
    HpaSet {
        service: String,
        min: u32,
        max: u32,
    },
    HpaDisable {
        service: String,
    },
    ConfigGet {
        service: String,
        key: Option<String>,
    },
    ConfigSet {
        service: String,
        key: String,
        value: String,
        restart: bool,
    },
    Istio {
        namespace: Option<Namespace>,
    },
    Scale {
        service: String,
        replicas: u32,
    },
    Restart {
        service: String,
    },
    Rollback {
        service: String,
        to_revision: Option<u32>,
    },
    SetImage {
        service: String,
        container: String,
        image: String,
    },
    Traffic {
        service: String,
        weights: Vec<Weight>,
    },
    EnvoyFilterDelete {
        name: String,
    },
    Pg(PgCommand),
    Redis(RedisCommand),
    Es(EsCommand),
    Milvus(MilvusCommand),
    Nacos,
    Prom {
        query: String,
        #[serde(with = "secs_opt")]
        since: Option<Duration>,
    },
    Diagnose {
        playbook: Playbook,
        service: Option<String>,
    },
    Links,
    Oncall,
    History {
        n: u32,
    },
    Timeline {
        #[serde(with = "secs_opt")]
        since: Option<Duration>,
    },
    Pending,
    IncidentStart {
        title: String,
    },
    IncidentEnd,
    Undo {
        invocation: InvocationId,
    },
    Approve {
        id: ApprovalId,
    },
    Deny {
        id: ApprovalId,
    },
    Cancel {
        id: ApprovalId,
    },
}

mod secs_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_secs))
    }
}

impl Command {
    /// The spec name (`rollout status`, `redis flushdb`, …): for logs, metrics and help.
    pub fn name(&self) -> &'static str {
        use Command::*;
        match self {
            Help { .. } => "help",
            Health { .. } => "health",
            Pods { .. } => "pods",
            Describe { .. } => "describe",
            Events { .. } => "events",
            Logs { .. } => "logs",
            Endpoints { .. } => "endpoints",
            Netpol { .. } => "netpol",
            Top { .. } => "top",
            RolloutStatus { .. } => "rollout status",
            RolloutHistory { .. } => "rollout history",
            Hpa { .. } => "hpa",
            HpaSet { .. } => "hpa set",
            HpaDisable { .. } => "hpa disable",
            ConfigGet { .. } => "config get",
            ConfigSet { .. } => "config set",
            Istio { .. } => "istio",
            Scale { .. } => "scale",
            Restart { .. } => "restart",
            Rollback { .. } => "rollback",
            SetImage { .. } => "set-image",
            Traffic { .. } => "traffic",
            EnvoyFilterDelete { .. } => "envoyfilter delete",
            Pg(PgCommand::Status) => "pg status",
            Pg(PgCommand::Connections) => "pg connections",
            Pg(PgCommand::Slow { .. }) => "pg slow",
            Redis(RedisCommand::Info { .. }) => "redis info",
            Redis(RedisCommand::Slowlog { .. }) => "redis slowlog",
            Redis(RedisCommand::Hitrate) => "redis hitrate",
            Redis(RedisCommand::Flushdb { .. }) => "redis flushdb",
            Es(EsCommand::Health) => "es health",
            Es(EsCommand::Indices) => "es indices",
            Milvus(MilvusCommand::Health) => "milvus health",
            Milvus(MilvusCommand::Collections) => "milvus collections",
            Nacos => "nacos health",
            Prom { .. } => "prom",
            Diagnose { .. } => "diagnose",
            Links => "links",
            Oncall => "oncall",
            History { .. } => "history",
            Timeline { .. } => "timeline",
            Pending => "pending",
            IncidentStart { .. } => "incident start",
            IncidentEnd => "incident end",
            Undo { .. } => "undo",
            Approve { .. } => "approve",
            Deny { .. } => "deny",
            Cancel { .. } => "cancel",
        }
    }

    pub fn spec(&self) -> &'static Spec {
        // Every name() is a SPECS entry: checked by `every_command_name_has_a_spec`.
        spec::spec(self.name()).unwrap_or(&SPECS[0])
    }

    /// The default risk class of this exact command (`scale … 0` is destructive).
    pub fn risk(&self) -> RiskClass {
        match self {
            Command::Scale { replicas: 0, .. } => RiskClass::Destructive,
            _ => self.spec().risk,
        }
    }

    /// The service this command acts on, if any.
    pub fn service(&self) -> Option<&str> {
        use Command::*;
        match self {
            Pods { service }
            | Endpoints { service }
            | RolloutStatus { service }
            | RolloutHistory { service }
            | HpaSet { service, .. }
            | HpaDisable { service }
            | ConfigGet { service, .. }
            | ConfigSet { service, .. }
            | Scale { service, .. }
            | Restart { service }
            | Rollback { service, .. }
            | SetImage { service, .. }
            | Traffic { service, .. } => Some(service),
            Describe { target } | Logs { target, .. } => Some(target.service()),
            Events { service } | Hpa { service } | Diagnose { service, .. } => service.as_deref(),
            Health {
                scope: HealthScope::Service(s),
            } => Some(s),
            Pg(_) => Some("postgres"),
            Redis(_) => Some("redis"),
            Es(_) => Some("elasticsearch"),
            Milvus(_) => Some("milvus"),
            Nacos => Some("nacos"),
            _ => None,
        }
    }

    /// The dependency a dependency command reaches (`postgres`, `redis`, …).
    pub fn dependency(&self) -> Option<&'static str> {
        match self {
            Command::Pg(_) => Some("postgres"),
            Command::Redis(_) => Some("redis"),
            Command::Es(_) => Some("elasticsearch"),
            Command::Milvus(_) => Some("milvus"),
            Command::Nacos => Some("nacos"),
            _ => None,
        }
    }

    /// The namespaces this command touches: `None` for channel-scoped commands (help,
    /// history, votes…), which the channel's namespace list does not restrict.
    pub fn namespaces(&self, catalog: &Catalog) -> Option<Vec<Namespace>> {
        if let Some(dep) = self.dependency() {
            // Where the catalog runs that dependency (whatever its service is called);
            // the infra namespace when the catalog does not list it. Never unchecked.
            let ns = catalog
                .services
                .iter()
                .find(|s| s.dependency.as_deref() == Some(dep))
                .or_else(|| catalog.get(dep))
                .map(|s| s.namespace.clone())
                .unwrap_or_else(|| catalog.namespaces.infra.clone());
            return Some(vec![ns]);
        }
        if let Some(svc) = self.service() {
            // A service the catalog does not know touches no namespace it may: fail closed.
            return Some(
                catalog
                    .get(svc)
                    .map(|s| vec![s.namespace.clone()])
                    .unwrap_or_default(),
            );
        }
        match self {
            Command::Health {
                scope: HealthScope::Namespace(ns),
            }
            | Command::Netpol {
                namespace: Some(ns),
            }
            | Command::Istio {
                namespace: Some(ns),
            } => Some(vec![ns.clone()]),
            Command::Health { .. }
            | Command::Netpol { .. }
            | Command::Istio { .. }
            | Command::Events { .. }
            | Command::Hpa { .. }
            | Command::Top { .. }
            | Command::Diagnose { .. } => Some(catalog.all_namespaces()),
            Command::EnvoyFilterDelete { .. } => Some(vec![catalog.namespaces.apps.clone()]),
            Command::Prom { .. } => Some(vec![catalog.namespaces.apps.clone()]),
            _ => None,
        }
    }
}

// === Errors ===

/// Why a text is not a command; what would work is part of the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub kind: ParseErrorKind,
    pub message: String,
    /// The command the error is about, for its usage line and example.
    pub spec: Option<&'static str>,
    pub suggestions: Vec<String>,
}

/// Bounded set of error kinds, for metrics labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    Empty,
    Syntax,
    UnknownCommand,
    UnknownService,
    MissingArgument,
    InvalidValue,
    OutOfRange,
}

impl ParseError {
    pub(crate) fn syntax(message: String) -> Self {
        Self {
            kind: ParseErrorKind::Syntax,
            message,
            spec: None,
            suggestions: Vec::new(),
        }
    }

    pub(crate) fn missing(spec: &'static Spec, what: &str) -> Self {
        Self {
            kind: ParseErrorKind::MissingArgument,
            message: format!("`{}` needs {what}", spec.name),
            spec: Some(spec.name),
            suggestions: Vec::new(),
        }
    }

    pub(crate) fn invalid(spec: &'static Spec, message: String) -> Self {
        Self {
            kind: ParseErrorKind::InvalidValue,
            message,
            spec: Some(spec.name),
            suggestions: Vec::new(),
        }
    }

    pub(crate) fn out_of_range(spec: &'static Spec, message: String) -> Self {
        Self {
            kind: ParseErrorKind::OutOfRange,
            message,
            spec: Some(spec.name),
            suggestions: Vec::new(),
        }
    }

    pub(crate) fn unknown_service(
        spec: &'static Spec,
        input: &str,
        suggestions: Vec<String>,
    ) -> Self {
        let message = match suggestions.as_slice() {
            [] => format!("unknown service `{input}`; `/va health` lists the services"),
            [one] => format!("unknown service `{input}`: did you mean `{one}`?"),
            many => format!(
                "unknown service `{input}`: did you mean {}?",
                many.iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        };
        Self {
            kind: ParseErrorKind::UnknownService,
            message,
            spec: Some(spec.name),
            suggestions,
        }
    }

    /// The usage line and example of the command this error is about.
    pub fn usage(&self) -> Option<(String, &'static str)> {
        let spec = spec::spec(self.spec?)?;
        Some((spec.usage(), spec.example))
    }

    /// A stable label for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self.kind {
            ParseErrorKind::Empty => "empty",
            ParseErrorKind::Syntax => "syntax",
            ParseErrorKind::UnknownCommand => "unknown_command",
            ParseErrorKind::UnknownService => "unknown_service",
            ParseErrorKind::MissingArgument => "missing_argument",
            ParseErrorKind::InvalidValue => "invalid_value",
            ParseErrorKind::OutOfRange => "out_of_range",
        }
    }
}

/// The full text of a parse error as a user should read it (message, usage, example).
pub struct ParseErrorReport<'a>(pub &'a ParseError);

impl fmt::Display for ParseErrorReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.message)?;
        if let Some((usage, example)) = self.0.usage() {
            write!(f, "\nUsage: {usage}\nExample: /va {example}")?;
        }
        Ok(())
    }
}

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
    let verb = tokens.remove(0).to_ascii_lowercase();
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

impl Command {
    /// The command as the history keeps it: a value typed for a secret-looking key
    /// (`config set agent-engine API_TOKEN=…`) is masked.
    pub fn for_record(&self) -> Command {
        match self {
            Command::ConfigSet {
                service,
                key,
                value: _,
                restart,
            } if crate::secret::secret_looking_key(key) => Command::ConfigSet {
                service: service.clone(),
                key: key.clone(),
                value: "[redacted]".into(),
                restart: *restart,
            },
            other => other.clone(),
        }
    }
}
