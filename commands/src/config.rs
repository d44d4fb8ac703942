//! The policy file: roles, identities, channels and approval rules (DESIGN §4).
//!
//! Loaded from YAML or TOML. Every problem is reported with the file, the line and what
//! is wrong, so a bad file fails at start-up rather than at 3 a.m.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::grammar::spec::SPECS;
use crate::plan::RiskClass;

/// What a role may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleDef {
    /// Risk classes this role may run.
    pub may: BTreeSet<RiskClass>,
    /// Whether holders may approve others' requests.
    #[serde(default)]
    pub approve: bool,
    /// Optional allow-list of command names (`scale`, `rollout status`, …).
    #[serde(default)]
    pub commands: Option<Vec<String>>,
}

/// The dependencies vabot's commands reach.
pub const DEPENDENCIES: &[&str] = &["postgres", "redis", "elasticsearch", "milvus", "nacos"];

/// What a channel allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelRule {
    /// Namespaces commands typed here may touch (`*` for all).
    pub namespaces: Vec<String>,
    /// Risk classes allowed here.
    pub allow: BTreeSet<RiskClass>,
    /// Dependencies commands typed here may reach (`postgres`, `redis`, `elasticsearch`,
    /// `milvus`, `nacos`); unset: those running in the channel's namespaces.
    #[serde(default)]
    pub dependencies: Option<Vec<String>>,
}

/// Which requests an approval rule applies to; every given field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleMatch {
    #[serde(default)]
    pub risk: Option<RiskClass>,
    #[serde(default)]
    pub command: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
}

/// How many approvals, from whom, for how long.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRule {
    #[serde(default)]
    pub when: RuleMatch,
    /// Distinct approvals needed (0: no approval).
    pub approvals: u32,
    /// Roles whose holders may approve.
    #[serde(default)]
    pub approvers: Vec<String>,
    /// How long the request stays open, e.g. `15m`.
    #[serde(default = "default_expiry", with = "humantime")]
    pub expiry: Duration,
    /// The requester's own vote never counts (the default; four-eyes).
    #[serde(default = "yes")]
    pub exclude_requester: bool,
}

fn default_expiry() -> Duration {
    Duration::from_secs(15 * 60)
}

fn yes() -> bool {
    true
}

impl ApprovalRule {
    /// The rule that applies to a destructive command when the policy names none:
    /// fail safe, one approver other than the requester.
    pub fn destructive_default() -> Self {
        Self {
            when: RuleMatch {
                risk: Some(RiskClass::Destructive),
                ..RuleMatch::default()
            },
            approvals: 1,
            approvers: vec!["approver".into(), "admin".into()],
            expiry: default_expiry(),
            exclude_requester: true,
        }
    }
}

/// The whole policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub roles: BTreeMap<String, RoleDef>,
    /// `platform:user-id` → roles.
    #[serde(default)]
    pub users: BTreeMap<String, Vec<String>>,
    /// `platform:group-id` (Slack user group, Discord role) → roles.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    /// `platform:channel-id` → rule.
    #[serde(default)]
    pub channels: BTreeMap<String, ChannelRule>,
    /// First match wins.
    #[serde(default)]
    pub approvals: Vec<ApprovalRule>,
    /// Command name → a stricter risk class than its default.
    #[serde(default)]
    pub risk_overrides: BTreeMap<String, RiskClass>,
}

/// A problem in a configuration file, located.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// Several problems at once, so one run shows them all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl Policy {
    /// Reads and validates a policy file; `.toml` is TOML, anything else YAML.
    pub fn load(path: &Path, catalog: &Catalog) -> Result<Self, ConfigErrors> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: file.clone(),
                line: 0,
                message: format!("cannot read the policy file: {e}"),
            }])
        })?;
        let toml = path.extension().is_some_and(|e| e == "toml");
        Self::parse(&file, &text, toml, catalog)
    }

    /// Parses and validates policy text; `file` names it in errors.
    pub fn parse(
        file: &str,
        text: &str,
        toml: bool,
        catalog: &Catalog,
    ) -> Result<Self, ConfigErrors> {
        let policy: Policy = if toml {
            ::toml::from_str(text).map_err(|e| {
                let line = e
                    .span()
                    .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                    .unwrap_or(0);
                ConfigErrors(vec![ConfigError {
                    file: file.to_owned(),
                    line,
                    message: e.message().to_owned(),
                }])
            })?
        } else {
            serde_norway::from_str(text).map_err(|e| yaml_error(file, &e))?
        };
        located(file, text, policy.validate(catalog)).map(|()| policy)
    }

    /// Semantic checks: (text to locate the problem by, message).
    fn validate(&self, catalog: &Catalog) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let command_names: Vec<&str> = SPECS.iter().map(|s| s.name).collect();
        let check_roles = |out: &mut Vec<(String, String)>, key: &str, roles: &[String]| {
            for r in roles {
                if !self.roles.contains_key(r) {
                    out.push((
                        key.to_owned(),
                        format!(
                            "`{key}` is given role `{r}`, which is not defined under `roles` (defined: {})",
                            self.roles.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
        };
        for (key, roles) in self.users.iter().chain(self.groups.iter()) {
            if !matches!(key.split_once(':'), Some(("console" | "slack" | "discord", id)) if !id.is_empty())
            {
                out.push((
                    key.clone(),
                    format!("`{key}` must be `platform:id` with platform console, slack or discord (e.g. slack:U024BE7LH)"),
                ));
            }
            check_roles(&mut out, key, roles);
        }
        for (name, def) in &self.roles {
            for c in def.commands.iter().flatten() {
                if !command_names.contains(&c.as_str()) {
                    out.push((
                        c.clone(),
                        format!("role `{name}` lists unknown command `{c}`"),
                    ));
                }
            }
        }
        for (key, rule) in &self.channels {
            if !matches!(key.split_once(':'), Some(("console" | "slack" | "discord", id)) if !id.is_empty())
            {
                out.push((
                    key.clone(),
                    format!("channel `{key}` must be `platform:channel-id` (e.g. slack:C0123ABCD or console:#incident-prod)"),
                ));
            }
            for d in rule.dependencies.iter().flatten() {
                if !DEPENDENCIES.contains(&d.as_str()) {
                    out.push((
                        d.clone(),
                        format!(
                            "channel `{key}` allows dependency `{d}`; vabot knows {}",
                            DEPENDENCIES.join(", ")
                        ),
                    ));
                }
            }
            for ns in &rule.namespaces {
                if ns != "*" && !catalog.knows_namespace(ns) && !catalog.is_mesh(ns) {
                    out.push((
                        ns.clone(),
                        format!("channel `{key}` allows namespace `{ns}`, which the service catalog does not know"),
                    ));
                }
            }
        }
        for (i, rule) in self.approvals.iter().enumerate() {
            let needle = format!("approvals: {}", rule.approvals);
            for r in &rule.approvers {
                match self.roles.get(r) {
                    None => out.push((r.clone(), format!("approval rule {} names approver role `{r}`, which is not defined", i + 1))),
                    Some(def) if !def.approve => out.push((
                        r.clone(),
                        format!("approval rule {} names role `{r}` as approver, but that role has `approve: false`", i + 1),
                    )),
                    Some(_) => {}
                }
            }
            if rule.approvals > 0 && rule.approvers.is_empty() {
                out.push((
                    needle.clone(),
                    format!(
                        "approval rule {} needs {} approvals but names no approver roles",
                        i + 1,
                        rule.approvals
                    ),
                ));
            }
            if let Some(c) = &rule.when.command
                && !command_names.contains(&c.as_str())
            {
                out.push((
                    c.clone(),
                    format!("approval rule {} matches unknown command `{c}`", i + 1),
                ));
            }
            if rule.when.risk == Some(RiskClass::Destructive) && rule.approvals == 0 {
                out.push((needle, format!("approval rule {} lets destructive commands run without approval; vabot requires at least 1", i + 1)));
            }
            if rule.expiry.is_zero() {
                out.push((
                    "expiry".into(),
                    format!("approval rule {} has a zero expiry", i + 1),
                ));
            }
        }
        for cmd in self.risk_overrides.keys() {
            if !command_names.contains(&cmd.as_str()) {
                out.push((
                    cmd.clone(),
                    format!("risk_overrides names unknown command `{cmd}`"),
                ));
            }
        }
        out
    }

    /// The approval rule for a request: the first matching rule, else the fail-safe default
    /// for destructive commands, else none (no approval needed).
    pub fn approval_rule(
        &self,
        risk: RiskClass,
        command: &str,
        namespaces: &[crate::model::Namespace],
    ) -> Option<ApprovalRule> {
        let found = self.approvals.iter().find(|r| {
            r.when.risk.is_none_or(|x| x == risk)
                && r.when.command.as_deref().is_none_or(|c| c == command)
                && r.when
                    .namespace
                    .as_deref()
                    .is_none_or(|n| namespaces.iter().any(|ns| ns.as_str() == n))
        });
        match found {
            Some(r) if r.approvals == 0 && risk == RiskClass::Destructive => {
                Some(ApprovalRule::destructive_default())
            }
            Some(r) if r.approvals == 0 => None,
            Some(r) => Some(r.clone()),
            None if risk == RiskClass::Destructive => Some(ApprovalRule::destructive_default()),
            None => None,
        }
    }
}

/// A YAML syntax or shape error, at its line.
pub(crate) fn yaml_error(file: &str, e: &serde_norway::Error) -> ConfigErrors {
    let line = e.location().map(|l| l.line()).unwrap_or(0);
    let message = e.to_string();
    // serde_norway appends " at line L column C"; the location is in the prefix.
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_owned();
    ConfigErrors(vec![ConfigError {
        file: file.to_owned(),
        line,
        message,
    }])
}

/// Semantic problems `(text to find the line by, message)` as located errors; `Ok` when none.
pub(crate) fn located(
    file: &str,
    text: &str,
    problems: Vec<(String, String)>,
) -> Result<(), ConfigErrors> {
    if problems.is_empty() {
        return Ok(());
    }
    Err(ConfigErrors(
        problems
            .into_iter()
            .map(|(needle, message)| ConfigError {
                file: file.to_owned(),
                line: line_of(text, &needle),
                message,
            })
            .collect(),
    ))
}

/// The first line (1-based) containing `needle`, or 0 if none does.
pub(crate) fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or(0)
}

/// `15m`-style durations in config files.
pub mod humantime {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn parse(s: &str) -> Result<Duration, String> {
        let mut total = 0u64;
        let mut digits = String::new();
        for ch in s.trim().chars() {
            if ch.is_ascii_digit() {
                digits.push(ch);
                continue;
            }
            let unit = match ch {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                _ => return Err(format!("`{s}` is not a duration like 30s, 15m or 1h")),
            };
            let n: u64 = digits
                .parse()
                .map_err(|_| format!("`{s}` is not a duration like 30s, 15m or 1h"))?;
            total = total.saturating_add(n.saturating_mul(unit));
            digits.clear();
        }
        if !digits.is_empty() {
            return Err(format!("`{s}` has no unit; write e.g. {s}s or {s}m"));
        }
        Ok(Duration::from_secs(total))
    }

    pub fn format(d: Duration) -> String {
        let s = d.as_secs();
        if s.is_multiple_of(3600) && s > 0 {
            format!("{}h", s / 3600)
        } else if s.is_multiple_of(60) && s > 0 {
            format!("{}m", s / 60)
        } else {
            format!("{s}s")
        }
    }

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map_err(D::Error::custom)
    }
}

/// Dashboards and contacts shown by `links` and `oncall`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    #[serde(default)]
    pub oncall: Vec<Contact>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub role: String,
    pub contact: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Namespace;

    const DEMO: &str = include_str!("../../deploy/demo/policy.yaml");

    fn errors(text: &str, toml: bool) -> Vec<String> {
        Policy::parse("policy.yaml", text, toml, &Catalog::voicehelper())
            .expect_err("should be refused")
            .0
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn bad_policy_files_report_file_line_and_problem() {
        let bad_role = DEMO.replace("\"console:carol\": [viewer]", "\"console:carol\": [viewr]");
        let line = DEMO
            .lines()
            .position(|l| l.contains("console:carol"))
            .expect("carol")
            + 1;
        assert_eq!(
            errors(&bad_role, false),
            vec![format!(
                "policy.yaml:{line}: `console:carol` is given role `viewr`, which is not defined under `roles` (defined: admin, approver, operator, viewer)"
            )]
        );

        let bad_risk = DEMO.replace("allow: [read]", "allow: [reed]");
        let line = DEMO
            .lines()
            .position(|l| l.contains("allow: [read]"))
            .expect("read")
            + 1;
        let e = errors(&bad_risk, false);
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with(&format!("policy.yaml:{line}: ")), "{e:?}");
        assert!(e[0].contains("unknown variant `reed`"), "{e:?}");

        let unknown_field = DEMO.replace("approvals: 1", "approvals: 1\n    approvers_typo: [x]");
        assert!(errors(&unknown_field, false)[0].contains("unknown field `approvers_typo`"));

        let bad_ns = DEMO.replace("namespaces: [\"*\"]", "namespaces: [kube-system]");
        assert!(
            errors(&bad_ns, false)[0].contains(
                "allows namespace `kube-system`, which the service catalog does not know"
            )
        );

        let no_approval = DEMO.replace("approvals: 1", "approvals: 0");
        assert!(
            errors(&no_approval, false)[0]
                .contains("lets destructive commands run without approval")
        );

        let viewer_approver = DEMO.replace("approvers: [approver, admin]", "approvers: [viewer]");
        assert!(
            errors(&viewer_approver, false)[0]
                .contains("names role `viewer` as approver, but that role has `approve: false`")
        );

        let bad_key = DEMO.replace("\"console:bob\"", "\"bob\"");
        assert!(errors(&bad_key, false)[0].contains("`bob` must be `platform:id`"));

        let bad_expiry = DEMO.replace("expiry: 15m", "expiry: soon");
        assert!(errors(&bad_expiry, false)[0].contains("`soon` is not a duration"));
    }

    #[test]
    fn toml_policies_load_and_locate_errors() {
        let good = r#"
[roles.viewer]
may = ["read"]
[roles.approver]
may = ["read", "write", "destructive"]
approve = true
[users]
"slack:U1" = ["viewer"]
[channels."slack:C1"]
namespaces = ["*"]
allow = ["read"]
[[approvals]]
when = { risk = "destructive" }
approvals = 2
approvers = ["approver"]
expiry = "10m"
"#;
        let p = Policy::parse("p.toml", good, true, &Catalog::voicehelper()).expect("toml");
        assert_eq!(p.approvals[0].approvals, 2);
        assert_eq!(p.approvals[0].expiry, Duration::from_secs(600));
        let e = errors(&good.replace("approvals = 2", "approvals = \"two\""), true);
        assert!(e[0].starts_with("policy.yaml:14: "), "{e:?}");
    }

    #[test]
    fn approval_rules_first_match_then_fail_safe_default() {
        let c = Catalog::voicehelper();
        let text = DEMO.replace(
            "approvals:\n",
            "approvals:\n  - when: { command: \"redis flushdb\" }\n    approvals: 2\n    approvers: [approver, admin]\n    expiry: 5m\n  - when: { risk: write, namespace: voiceassistant-infra }\n    approvals: 1\n    approvers: [admin]\n",
        );
        let p = Policy::parse("p.yaml", &text, false, &c).expect("policy");
        let prod = [Namespace::new("voiceassistant-prod")];
        let infra = [Namespace::new("voiceassistant-infra")];
        let flush = p
            .approval_rule(RiskClass::Destructive, "redis flushdb", &infra)
            .expect("rule");
        assert_eq!(
            (flush.approvals, flush.expiry),
            (2, Duration::from_secs(300))
        );
        let ef = p
            .approval_rule(RiskClass::Destructive, "envoyfilter delete", &prod)
            .expect("rule");
        assert_eq!((ef.approvals, ef.exclude_requester), (1, true));
        assert!(p.approval_rule(RiskClass::Write, "scale", &prod).is_none());
        let infra_write = p
            .approval_rule(RiskClass::Write, "scale", &infra)
            .expect("rule");
        assert_eq!(infra_write.approvers, vec!["admin".to_owned()]);
        assert!(p.approval_rule(RiskClass::Read, "pods", &prod).is_none());
        // A policy with no approval rules still guards destructive commands.
        let bare = Policy::default();
        assert_eq!(
            bare.approval_rule(RiskClass::Destructive, "hpa disable", &prod),
            Some(ApprovalRule::destructive_default())
        );
    }
}
