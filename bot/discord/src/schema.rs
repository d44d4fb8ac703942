//! The `/va` application command, generated from the grammar's command table
//! ([`SPECS`]), and the way back: an interaction's options → the text the grammar parses.
//!
//! One source of truth with `help`: a spec's name becomes a subcommand (`scale`) or a
//! subcommand group and subcommand (`rollout status`), and its `args` string becomes the
//! options (`<x>` required, `[x]` optional, `[--flag value]`, `[--switch]`, `key=<v>`).
//! Discord allows at most 25 entries at the top level; when the natural layout has more,
//! whole command families are folded into one group each (`deps`, `bot`, `log`), largest
//! saving first, until it fits. The Kubernetes family is folded last and only in part: its
//! one-word reads go under `show` (`/va show pods`, `/va show nodes`), while every write
//! (`scale`, `rollback`, `undo`, …) and every multi-word group stays at the top.

use serenity::all::{
    CommandDataOption, CommandDataOptionValue, CommandOptionType, CreateCommand,
    CreateCommandOption,
};
use vabot_commands::grammar::spec::{Family, SPECS, Spec};
use vabot_commands::plan::RiskClass;

/// Discord's limits on application commands.
pub const MAX_CHOICES: usize = 25;
const MAX_NAME: usize = 32;
const MAX_DESCRIPTION: usize = 100;

/// The top-level command's name.
pub const COMMAND: &str = "va";

/// What an option's value means to the grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgKind {
    /// A word in position: `<service>`, `[n]`.
    Positional,
    /// `min=<n>`: the text is `key=value`.
    KeyValue { key: String },
    /// `[--tail n]`: the text is `--tail value`.
    Flag { flag: String },
    /// `[--restart]`: the text is `--restart` when true.
    Switch { flag: String },
}

/// The Discord type of an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    String,
    Integer,
    Boolean,
}

/// What autocomplete offers for an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// Catalog service names.
    Service,
    /// Catalog service names and the platform's namespaces.
    ServiceOrNamespace,
    /// Pending approval ids in this channel.
    Approval,
}

/// One option of a subcommand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionDef {
    pub name: String,
    pub description: String,
    pub required: bool,
    pub kind: ArgKind,
    pub value: ValueType,
    /// Fixed literals (`pods|nodes`); shown as choices.
    pub choices: Vec<String>,
    pub completion: Option<Completion>,
    /// `<x>...`: several words, inserted unquoted.
    pub variadic: bool,
}

/// One subcommand: where it sits and which spec it runs.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// `[subcommand]` or `[group, subcommand]`.
    pub path: Vec<String>,
    pub spec: &'static Spec,
    pub options: Vec<OptionDef>,
}

/// The whole generated command.
#[derive(Debug, Clone)]
pub struct Schema {
    pub leaves: Vec<Leaf>,
}

/// Why an interaction could not be turned into command text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "`/{COMMAND} {0}` is not a command this bot registered; the command list may be out of date, try again in a minute"
    )]
    UnknownSubcommand(String),
    #[error("the option `{option}` of `/{COMMAND} {command}` is required")]
    MissingOption { command: String, option: String },
    #[error("the `/{COMMAND}` command has more entries than Discord allows ({0} > 25)")]
    TooLarge(usize),
}

// === Generation ===

/// The group name a folded family gets.
fn family_group(f: Family) -> &'static str {
    match f {
        Family::Dependency => "deps",
        Family::Meta => "bot",
        Family::History => "log",
        Family::Kube => "kube",
    }
}

fn family_description(f: Family) -> &'static str {
    match f {
        Family::Dependency => {
            "Dependencies: PostgreSQL, Redis, Elasticsearch, Milvus, Nacos, Prometheus, runbooks"
        }
        Family::Meta => "The bot itself: help, links, on-call, approvals",
        Family::History => "History, timeline, pending approvals, incidents",
        Family::Kube => "Kubernetes",
    }
}

/// Friendlier names for choice lists, which have no placeholder word to name them.
fn choice_name(spec: &str) -> &'static str {
    match spec {
        "top" => "kind",
        "redis info" => "section",
        "diagnose" => "playbook",
        _ => "choice",
    }
}

/// A Discord option name: lowercase letters, digits, `-` and `_`, at most 32.
fn sanitize(word: &str) -> String {
    let mut s: String = word
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    s = s.trim_matches('-').to_owned();
    s.truncate(MAX_NAME);
    s
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(max - 1).collect();
    s.push('…');
    s
}

/// Splits an args string into its tokens; brackets keep `[--tail n]` whole.
fn arg_tokens(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    for ch in args.chars() {
        match ch {
            '[' | '<' => {
                depth += 1;
                cur.push(ch);
            }
            ']' | '>' => {
                depth = depth.saturating_sub(1);
                cur.push(ch);
            }
            c if c.is_whitespace() && depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn numeric(placeholder: &str) -> bool {
    matches!(placeholder, "n" | "m" | "replicas" | "db" | "percent")
}

fn completion_for(alternatives: &[&str]) -> Option<Completion> {
    let has = |w: &str| alternatives.contains(&w);
    if has("approval-id") {
        Some(Completion::Approval)
    } else if has("service") && has("namespace") {
        Some(Completion::ServiceOrNamespace)
    } else if has("service") {
        Some(Completion::Service)
    } else {
        None
    }
}

/// One token of a spec's args → an option.
fn option_of(spec: &Spec, token: &str) -> OptionDef {
    let example_words: Vec<&str> = spec.example.split_whitespace().collect();
    let (required, inner) =
        if let Some(i) = token.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            (false, i.to_owned())
        } else {
            (true, token.to_owned())
        };
    // `[--switch]` and `[--flag value]`.
    if let Some(flag) = inner.strip_prefix("--") {
        let mut words = flag.split_whitespace();
        let name = words.next().unwrap_or_default().to_owned();
        return match words.next() {
            None => OptionDef {
                name: sanitize(&name),
                description: format!("--{name}"),
                required: false,
                kind: ArgKind::Switch { flag: name },
                value: ValueType::Boolean,
                choices: Vec::new(),
                completion: None,
                variadic: false,
            },
            Some(ph) => OptionDef {
                name: sanitize(&name),
                description: format!("--{name} {ph}"),
                required: false,
                value: if numeric(ph) {
                    ValueType::Integer
                } else {
                    ValueType::String
                },
                kind: ArgKind::Flag { flag: name },
                choices: Vec::new(),
                completion: None,
                variadic: false,
            },
        };
    }
    // `key=<n>`: a literal key with a placeholder value.
    if let Some((key, rest)) = inner.split_once("=<")
        && !key.starts_with('<')
    {
        let ph = rest.trim_end_matches('>');
        return OptionDef {
            name: sanitize(key),
            description: format!("{key}=<{ph}>"),
            required,
            value: if numeric(ph) {
                ValueType::Integer
            } else {
                ValueType::String
            },
            kind: ArgKind::KeyValue {
                key: key.to_owned(),
            },
            choices: Vec::new(),
            completion: None,
            variadic: false,
        };
    }
    let variadic = inner.ends_with("...");
    let body = inner
        .trim_end_matches("...")
        .trim_start_matches('<')
        .trim_end_matches('>');
    let alternatives: Vec<&str> = body.split('|').collect();
    // Alternatives are literals when the spec's own example uses one of them.
    let literal = alternatives.len() > 1 && alternatives.iter().any(|a| example_words.contains(a));
    if literal {
        return OptionDef {
            name: choice_name(spec.name).to_owned(),
            description: alternatives.join(", "),
            required,
            kind: ArgKind::Positional,
            value: ValueType::String,
            choices: alternatives.iter().map(|a| (*a).to_owned()).collect(),
            completion: None,
            variadic,
        };
    }
    let first = alternatives.first().copied().unwrap_or(body);
    let stem = first.split([':', '=']).next().unwrap_or(first);
    let value = if alternatives.len() == 1 && numeric(first) {
        ValueType::Integer
    } else {
        ValueType::String
    };
    let mut description = alternatives.join(" or ");
    if variadic {
        description.push_str(", one or more separated by spaces");
    }
    OptionDef {
        name: sanitize(stem),
        description,
        required,
        kind: ArgKind::Positional,
        value,
        choices: Vec::new(),
        completion: completion_for(&alternatives),
        variadic,
    }
}

fn options_of(spec: &Spec) -> Vec<OptionDef> {
    let mut opts: Vec<OptionDef> = arg_tokens(spec.args)
        .iter()
        .map(|t| option_of(spec, t))
        .collect();
    // Discord lists required options first; the grammar's order is kept otherwise
    // (the text is rebuilt in the grammar's order, not Discord's).
    opts.sort_by_key(|o| !o.required);
    opts
}

impl Schema {
    /// The layout for the grammar's command table.
    pub fn generate() -> Result<Self, SchemaError> {
        Self::from_specs(SPECS)
    }

    pub fn from_specs(specs: &'static [Spec]) -> Result<Self, SchemaError> {
        let mut folded: Vec<Family> = Vec::new();
        let mut kube_reads = false;
        loop {
            let leaves = layout(specs, &folded, kube_reads);
            let top = top_level(&leaves).len();
            if top <= MAX_CHOICES {
                if kube_reads {
                    // Folding the reads may have made room: give back the families that
                    // now fit at the top again, the last folded first.
                    while let Some(f) = folded.pop() {
                        if top_level(&layout(specs, &folded, true)).len() > MAX_CHOICES {
                            folded.push(f);
                            break;
                        }
                    }
                    return Ok(Self {
                        leaves: layout(specs, &folded, true),
                    });
                }
                return Ok(Self { leaves });
            }
            // Fold the family that saves the most top-level entries.
            let best = [Family::Dependency, Family::Meta, Family::History]
                .into_iter()
                .filter(|f| !folded.contains(f))
                .map(|f| {
                    let entries = top_level(
                        &leaves
                            .iter()
                            .filter(|l| l.spec.family == f)
                            .cloned()
                            .collect::<Vec<_>>(),
                    )
                    .len();
                    (entries, f)
                })
                .max_by_key(|(entries, _)| *entries);
            match best {
                Some((entries, f)) if entries > 1 => folded.push(f),
                _ if !kube_reads => kube_reads = true,
                _ => return Err(SchemaError::TooLarge(top)),
            }
        }
    }

    /// The leaf at a subcommand path.
    pub fn leaf(&self, path: &[String]) -> Option<&Leaf> {
        self.leaves.iter().find(|l| l.path == path)
    }

    /// The leaf that runs a spec.
    pub fn leaf_of(&self, spec_name: &str) -> Option<&Leaf> {
        self.leaves.iter().find(|l| l.spec.name == spec_name)
    }

    /// The `/va` command as serenity sends it to Discord.
    pub fn command(&self) -> CreateCommand {
        let mut options = Vec::new();
        for name in top_level(&self.leaves) {
            let children: Vec<&Leaf> = self.leaves.iter().filter(|l| l.path[0] == name).collect();
            if let [leaf] = children.as_slice()
                && leaf.path.len() == 1
            {
                options.push(subcommand(leaf));
                continue;
            }
            let family = children.first().map(|l| l.spec.family);
            // A folded family's group is not named after any of its commands' words.
            let folded = children
                .iter()
                .all(|l| Some(l.path[0].as_str()) != l.spec.name.split(' ').next());
            let description = match family {
                _ if name == KUBE_READS => format!(
                    "Kubernetes reads: {}",
                    children
                        .iter()
                        .filter_map(|l| l.path.get(1).cloned())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Some(f) if folded => family_description(f).to_owned(),
                _ => format!(
                    "{name}: {}",
                    children
                        .iter()
                        .filter_map(|l| l.path.get(1).cloned())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            let mut group = CreateCommandOption::new(
                CommandOptionType::SubCommandGroup,
                name.clone(),
                truncate(&description, MAX_DESCRIPTION),
            );
            for leaf in children {
                group = group.add_sub_option(subcommand(leaf));
            }
            options.push(group);
        }
        CreateCommand::new(COMMAND)
            .description("VoiceAssistant operations: health, logs, scaling, rollbacks, approvals")
            .set_options(options)
    }

    /// An interaction's subcommand path and options → the text the grammar parses.
    pub fn text_of(&self, options: &[CommandDataOption]) -> Result<String, SchemaError> {
        let (path, args) = path_of(options);
        let leaf = self
            .leaf(&path)
            .ok_or_else(|| SchemaError::UnknownSubcommand(path.join(" ")))?;
        let mut text = leaf.spec.name.to_owned();
        // Rebuilt in the grammar's order, which `options_of` only reordered for Discord.
        for token in arg_tokens(leaf.spec.args) {
            let def = option_of(leaf.spec, &token);
            let value = args.iter().find(|o| o.name == def.name).map(|o| &o.value);
            let Some(value) = value.and_then(value_text) else {
                if def.required {
                    return Err(SchemaError::MissingOption {
                        command: leaf.path.join(" "),
                        option: def.name,
                    });
                }
                continue;
            };
            let piece = match &def.kind {
                ArgKind::Switch { flag } => {
                    if value == "true" {
                        format!("--{flag}")
                    } else {
                        continue;
                    }
                }
                ArgKind::Flag { flag } => format!("--{flag} {}", quote(&value)),
                ArgKind::KeyValue { key } => format!("{key}={}", quote(&value)),
                ArgKind::Positional if def.variadic => value,
                ArgKind::Positional => quote(&value),
            };
            text.push(' ');
            text.push_str(&piece);
        }
        Ok(text)
    }
}

/// The subcommand path an interaction selected, and the options of that subcommand.
pub fn path_of(options: &[CommandDataOption]) -> (Vec<String>, Vec<CommandDataOption>) {
    let Some(first) = options.first() else {
        return (Vec::new(), Vec::new());
    };
    match &first.value {
        CommandDataOptionValue::SubCommandGroup(inner) => match inner.first() {
            Some(sub) => match &sub.value {
                CommandDataOptionValue::SubCommand(args) => {
                    (vec![first.name.clone(), sub.name.clone()], args.clone())
                }
                _ => (vec![first.name.clone(), sub.name.clone()], Vec::new()),
            },
            None => (vec![first.name.clone()], Vec::new()),
        },
        CommandDataOptionValue::SubCommand(args) => (vec![first.name.clone()], args.clone()),
        _ => (Vec::new(), Vec::new()),
    }
}

fn value_text(v: &CommandDataOptionValue) -> Option<String> {
    match v {
        CommandDataOptionValue::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        CommandDataOptionValue::Integer(i) => Some(i.to_string()),
        CommandDataOptionValue::Number(n) => Some(n.to_string()),
        CommandDataOptionValue::Boolean(b) => Some(b.to_string()),
        CommandDataOptionValue::Autocomplete { value, .. } => Some(value.clone()),
        _ => None,
    }
}

/// Quotes a value for the grammar's tokenizer when it has spaces or quotes.
fn quote(value: &str) -> String {
    let plain = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || c == '"' || c == '\'');
    if plain {
        value.to_owned()
    } else if !value.contains('"') {
        format!("\"{value}\"")
    } else if !value.contains('\'') {
        format!("'{value}'")
    } else {
        format!("\"{}\"", value.replace('"', "'"))
    }
}

/// The group the one-word Kubernetes reads fold into.
const KUBE_READS: &str = "show";

fn layout(specs: &'static [Spec], folded: &[Family], kube_reads: bool) -> Vec<Leaf> {
    let groups: Vec<&str> = specs
        .iter()
        .filter(|s| !folded.contains(&s.family))
        .filter_map(|s| s.name.split_once(' ').map(|(g, _)| g))
        .collect();
    specs
        .iter()
        .map(|spec| {
            let one_word_read = spec.family == Family::Kube
                && spec.risk == RiskClass::Read
                && !spec.name.contains(' ')
                && !groups.contains(&spec.name);
            let path = if kube_reads && one_word_read {
                vec![KUBE_READS.to_owned(), sanitize(spec.name)]
            } else if folded.contains(&spec.family) {
                vec![
                    family_group(spec.family).to_owned(),
                    sanitize(&spec.name.replace(' ', "-")),
                ]
            } else {
                match spec.name.split_once(' ') {
                    Some((g, s)) => vec![sanitize(g), sanitize(s)],
                    // `hpa [service]` shares its word with the `hpa set` group.
                    None if groups.contains(&spec.name) => {
                        vec![sanitize(spec.name), "show".to_owned()]
                    }
                    None => vec![sanitize(spec.name)],
                }
            };
            Leaf {
                path,
                spec,
                options: options_of(spec),
            }
        })
        .collect()
}

/// Top-level entry names in first-appearance order.
fn top_level(leaves: &[Leaf]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in leaves {
        if !out.contains(&l.path[0]) {
            out.push(l.path[0].clone());
        }
    }
    out
}

fn subcommand(leaf: &Leaf) -> CreateCommandOption {
    let name = leaf.path.last().cloned().unwrap_or_default();
    let mut sub = CreateCommandOption::new(
        CommandOptionType::SubCommand,
        name,
        truncate(leaf.spec.summary, MAX_DESCRIPTION),
    );
    for o in &leaf.options {
        let kind = match o.value {
            ValueType::String => CommandOptionType::String,
            ValueType::Integer => CommandOptionType::Integer,
            ValueType::Boolean => CommandOptionType::Boolean,
        };
        let mut opt = CreateCommandOption::new(
            kind,
            o.name.clone(),
            truncate(&o.description, MAX_DESCRIPTION),
        )
        .required(o.required);
        for c in &o.choices {
            opt = opt.add_string_choice(c.clone(), c.clone());
        }
        if o.value == ValueType::Integer {
            opt = opt.min_int_value(0);
        }
        if o.completion.is_some() {
            opt = opt.set_autocomplete(true);
        }
        sub = sub.add_sub_option(opt);
    }
    sub
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::generate().unwrap()
    }

    #[test]
    fn every_spec_becomes_exactly_one_subcommand() {
        let s = schema();
        assert_eq!(s.leaves.len(), SPECS.len());
        for spec in SPECS {
            assert!(s.leaf_of(spec.name).is_some(), "{} missing", spec.name);
        }
        let mut paths: Vec<String> = s.leaves.iter().map(|l| l.path.join(" ")).collect();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), SPECS.len(), "two specs share a path");
    }

    #[test]
    fn args_strings_become_typed_options() {
        let s = schema();
        let logs = s.leaf_of("logs").unwrap();
        let names: Vec<(&str, bool, ValueType)> = logs
            .options
            .iter()
            .map(|o| (o.name.as_str(), o.required, o.value))
            .collect();
        assert_eq!(
            names,
            vec![
                ("service", true, ValueType::String),
                ("previous", false, ValueType::Boolean),
                ("container", false, ValueType::String),
                ("tail", false, ValueType::Integer),
                ("since", false, ValueType::String),
            ]
        );
        let top = s.leaf_of("top").unwrap();
        assert_eq!(top.options[0].name, "kind");
        assert_eq!(top.options[0].choices, vec!["pods", "nodes"]);
        let hpa_set = s.leaf_of("hpa set").unwrap();
        assert_eq!(
            hpa_set.options[1].kind,
            ArgKind::KeyValue { key: "min".into() }
        );
        assert_eq!(hpa_set.options[1].value, ValueType::Integer);
        assert_eq!(
            s.leaf_of("scale").unwrap().options[1].value,
            ValueType::Integer
        );
        assert_eq!(
            s.leaf_of("approve").unwrap().options[0].completion,
            Some(Completion::Approval)
        );
        assert_eq!(
            s.leaf_of("health").unwrap().options[0].completion,
            Some(Completion::ServiceOrNamespace)
        );
    }

    #[test]
    fn a_single_word_command_that_names_a_group_moves_under_show() {
        let s = schema();
        assert_eq!(s.leaf_of("hpa").unwrap().path, vec!["hpa", "show"]);
        assert_eq!(s.leaf_of("hpa set").unwrap().path, vec!["hpa", "set"]);
        assert_eq!(
            s.leaf_of("rollout status").unwrap().path,
            vec!["rollout", "status"]
        );
        assert_eq!(s.leaf_of("scale").unwrap().path, vec!["scale"]);
    }

    #[test]
    fn the_registered_command_fits_discords_limits() {
        let cmd = serde_json::to_value(schema().command()).unwrap();
        let top = cmd["options"].as_array().unwrap();
        assert!(top.len() <= 25, "{} top-level entries", top.len());
        let mut total = 0usize;
        fn walk(v: &serde_json::Value, total: &mut usize) {
            let name = v["name"].as_str().unwrap();
            let desc = v["description"].as_str().unwrap();
            assert!(
                !name.is_empty()
                    && name.len() <= 32
                    && name.chars().all(|c| c.is_ascii_lowercase()
                        || c.is_ascii_digit()
                        || c == '-'
                        || c == '_'),
                "bad name {name}"
            );
            assert!(
                !desc.is_empty() && desc.chars().count() <= 100,
                "bad description {desc}"
            );
            *total += name.chars().count() + desc.chars().count();
            if let Some(choices) = v["choices"].as_array() {
                assert!(choices.len() <= 25);
                for c in choices {
                    *total +=
                        c["name"].as_str().unwrap().len() + c["value"].as_str().unwrap().len();
                }
            }
            if let Some(opts) = v["options"].as_array() {
                assert!(opts.len() <= 25, "{name} has {} options", opts.len());
                let mut seen = std::collections::HashSet::new();
                let mut optional_seen = false;
                for o in opts {
                    assert!(
                        seen.insert(o["name"].as_str().unwrap().to_owned()),
                        "duplicate option in {name}"
                    );
                    let required = o["required"].as_bool().unwrap_or(false);
                    assert!(
                        !(required && optional_seen),
                        "required after optional in {name}"
                    );
                    optional_seen |= !required && o["type"].as_u64().unwrap() > 2;
                    walk(o, total);
                }
            }
        }
        walk(&cmd, &mut total);
        assert!(total <= 8000, "{total} characters; Discord allows 8000");
    }

    #[test]
    fn the_generated_layout_is_pinned_by_a_snapshot() {
        let layout: Vec<String> = schema()
            .leaves
            .iter()
            .map(|l| {
                let opts: Vec<String> = l
                    .options
                    .iter()
                    .map(|o| format!("{}{}", o.name, if o.required { "" } else { "?" }))
                    .collect();
                format!(
                    "/va {} {}  =>  {}",
                    l.path.join(" "),
                    opts.join(" "),
                    l.spec.name
                )
            })
            .collect();
        insta::assert_yaml_snapshot!(layout);
    }

    /// Option values as a test writes them; serenity's own option type cannot be built
    /// outside serenity, so these go through JSON, as Discord's do.
    enum V {
        String(String),
        Integer(i64),
        Boolean(bool),
        SubCommand(Vec<(String, V)>),
        SubCommandGroup(Vec<(String, V)>),
    }

    fn opt(name: &str, value: V) -> (String, V) {
        (name.to_owned(), value)
    }

    fn raw(o: &(String, V)) -> serde_json::Value {
        let (name, v) = o;
        match v {
            V::String(s) => serde_json::json!({"name": name, "type": 3, "value": s}),
            V::Integer(i) => serde_json::json!({"name": name, "type": 4, "value": i}),
            V::Boolean(b) => serde_json::json!({"name": name, "type": 5, "value": b}),
            V::SubCommand(o) => {
                serde_json::json!({"name": name, "type": 1, "options": o.iter().map(raw).collect::<Vec<_>>()})
            }
            V::SubCommandGroup(o) => {
                serde_json::json!({"name": name, "type": 2, "options": o.iter().map(raw).collect::<Vec<_>>()})
            }
        }
    }

    fn data(opts: Vec<(String, V)>) -> Vec<CommandDataOption> {
        serde_json::from_value(serde_json::Value::Array(opts.iter().map(raw).collect())).unwrap()
    }

    #[test]
    fn options_turn_back_into_the_text_the_grammar_parses() {
        let s = schema();
        // A one-word read sits under `show` once the top level is full.
        assert_eq!(s.leaf_of("logs").unwrap().path, vec!["show", "logs"]);
        let logs = vec![opt(
            "show",
            V::SubCommandGroup(vec![opt(
                "logs",
                V::SubCommand(vec![
                    opt("tail", V::Integer(100)),
                    opt("service", V::String("agent-engine".into())),
                    opt("previous", V::Boolean(true)),
                    opt("since", V::String("15m".into())),
                ]),
            )]),
        )];
        assert_eq!(
            s.text_of(&data(logs)).unwrap(),
            "logs agent-engine --previous --tail 100 --since 15m"
        );
        let hpa = vec![opt(
            "hpa",
            V::SubCommandGroup(vec![opt(
                "set",
                V::SubCommand(vec![
                    opt("service", V::String("agent-engine".into())),
                    opt("min", V::Integer(3)),
                    opt("max", V::Integer(12)),
                ]),
            )]),
        )];
        assert_eq!(
            s.text_of(&data(hpa)).unwrap(),
            "hpa set agent-engine min=3 max=12"
        );
        let traffic = vec![opt(
            "traffic",
            V::SubCommand(vec![
                opt("service", V::String("agent-engine".into())),
                opt("subset", V::String("blue=20 green=80".into())),
            ]),
        )];
        assert_eq!(
            s.text_of(&data(traffic)).unwrap(),
            "traffic agent-engine blue=20 green=80"
        );
        // Wherever the layout puts it (the History family folds when the top level is full).
        let path = &s.leaf_of("incident start").unwrap().path;
        let title = vec![opt(
            &path[0],
            V::SubCommandGroup(vec![opt(
                &path[1],
                V::SubCommand(vec![opt("title", V::String("5xx spike".into()))]),
            )]),
        )];
        assert_eq!(
            s.text_of(&data(title)).unwrap(),
            "incident start \"5xx spike\""
        );
        let missing = vec![opt(
            "scale",
            V::SubCommand(vec![opt("service", V::String("x".into()))]),
        )];
        assert!(matches!(
            s.text_of(&data(missing)),
            Err(SchemaError::MissingOption { .. })
        ));
        let unknown = vec![opt("nope", V::SubCommand(vec![]))];
        assert!(matches!(
            s.text_of(&data(unknown)),
            Err(SchemaError::UnknownSubcommand(_))
        ));
    }

    #[test]
    fn every_example_round_trips_through_discord_options_and_the_parser() {
        // For each spec: fill its options from its example, rebuild the text, parse it.
        let s = schema();
        let catalog = vabot_commands::catalog::Catalog::voicehelper();
        for leaf in &s.leaves {
            let text = leaf.spec.example;
            let direct = vabot_commands::parse(text, &catalog);
            let rebuilt = s.text_of(&data(options_from_text(leaf, text))).unwrap();
            let again = vabot_commands::parse(&rebuilt, &catalog);
            assert_eq!(
                format!("{direct:?}"),
                format!("{again:?}"),
                "{text} → {rebuilt}"
            );
        }
    }

    /// Splits an example the way a person would fill in Discord's option boxes.
    fn options_from_text(leaf: &Leaf, text: &str) -> Vec<(String, V)> {
        let mut words: Vec<String> = vabot_commands::grammar::tokenize(text).unwrap();
        words.drain(..leaf.spec.name.split(' ').count());
        let mut args = Vec::new();
        let mut positional: Vec<String> = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let w = &words[i];
            if let Some(flag) = w.strip_prefix("--") {
                let def = leaf.options.iter().find(|o| o.name == flag).unwrap();
                if def.value == ValueType::Boolean {
                    args.push(opt(flag, V::Boolean(true)));
                } else {
                    i += 1;
                    args.push(opt(flag, value_of(def, &words[i])));
                }
            } else if let Some(def) = leaf.options.iter().find(|o| matches!(&o.kind, ArgKind::KeyValue { key } if w.starts_with(&format!("{key}="))))
            {
                let v = w.split_once('=').unwrap().1;
                args.push(opt(&def.name, value_of(def, v)));
            } else {
                positional.push(w.clone());
            }
            i += 1;
        }
        let pos_defs: Vec<&OptionDef> = arg_tokens(leaf.spec.args)
            .iter()
            .map(|t| option_of(leaf.spec, t))
            .filter(|o| o.kind == ArgKind::Positional)
            .map(|o| leaf.options.iter().find(|x| x.name == o.name).unwrap())
            .collect();
        for (j, def) in pos_defs.iter().enumerate() {
            if def.variadic || j + 1 == pos_defs.len() {
                let rest = positional[j.min(positional.len())..].join(" ");
                if !rest.is_empty() {
                    args.push(opt(&def.name, value_of(def, &rest)));
                }
                break;
            }
            if let Some(w) = positional.get(j) {
                args.push(opt(&def.name, value_of(def, w)));
            }
        }
        let sub = opt(leaf.path.last().unwrap(), V::SubCommand(args));
        if leaf.path.len() == 2 {
            vec![opt(&leaf.path[0], V::SubCommandGroup(vec![sub]))]
        } else {
            vec![sub]
        }
    }

    fn value_of(def: &OptionDef, w: &str) -> V {
        match def.value {
            ValueType::Integer => V::Integer(w.parse().unwrap()),
            ValueType::Boolean => V::Boolean(w == "true"),
            ValueType::String => V::String(w.into()),
        }
    }
}
