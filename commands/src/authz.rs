//! Who may run what, where. Default deny.
//!
//! [`authorize`] is the only place a [`Permit`] is made: a plan needs one, so nothing
//! reaches a cluster or a dependency without passing here.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::config::Policy;
use crate::grammar::Command;
use crate::model::{Actor, ChannelRef, Namespace};
use crate::plan::RiskClass;

/// Proof that a command was authorized for an actor in a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permit {
    actor: Actor,
    channel: ChannelRef,
    command: Command,
    risk: RiskClass,
    roles: BTreeSet<String>,
    namespaces: Vec<Namespace>,
}

impl Permit {
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
    pub fn channel(&self) -> &ChannelRef {
        &self.channel
    }
    pub fn command(&self) -> &Command {
        &self.command
    }
    pub fn risk(&self) -> RiskClass {
        self.risk
    }
    pub fn roles(&self) -> &BTreeSet<String> {
        &self.roles
    }
    /// The namespaces the command may touch (already narrowed to what the channel allows).
    pub fn namespaces(&self) -> &[Namespace] {
        &self.namespaces
    }
}

/// Why a command was refused. Only [`authorize`] makes one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Denied {
    pub reason: String,
    /// Bounded label for metrics and the audit log.
    pub code: &'static str,
}

impl Denied {
    fn new(code: &'static str, reason: String) -> Self {
        Self { reason, code }
    }
}

/// The roles an actor holds under the policy (user entries and group entries merged).
pub fn roles_of(policy: &Policy, actor: &Actor) -> BTreeSet<String> {
    let mut roles = BTreeSet::new();
    if let Some(r) = policy.users.get(&actor.key()) {
        roles.extend(r.iter().cloned());
    }
    for g in &actor.groups {
        if let Some(r) = policy.groups.get(&format!("{}:{}", actor.platform, g)) {
            roles.extend(r.iter().cloned());
        }
    }
    roles
}

/// The effective risk of a command under the policy (which may only tighten it).
pub fn effective_risk(policy: &Policy, command: &Command) -> RiskClass {
    let base = command.risk();
    match policy.risk_overrides.get(command.name()) {
        Some(r) => base.max(*r),
        None => base,
    }
}

/// Checks the actor's roles and the channel's rules. Default deny.
pub fn authorize(
    policy: &Policy,
    catalog: &Catalog,
    actor: &Actor,
    channel: &ChannelRef,
    command: &Command,
) -> Result<Permit, Denied> {
    let risk = effective_risk(policy, command);
    let Some(chan) = policy.channels.get(&channel.key()) else {
        return Err(Denied::new(
            "channel_not_configured",
            format!(
                "vabot is not enabled in this channel ({}); ask an admin to add it to the policy",
                channel.channel
            ),
        ));
    };
    let roles = roles_of(policy, actor);
    if roles.is_empty() {
        return Err(Denied::new(
            "no_role",
            format!(
                "{} has no vabot role; ask an admin to map your user ID ({}) to a role",
                actor.user,
                actor.key()
            ),
        ));
    }
    if !chan.allow.contains(&risk) {
        let allowed: Vec<String> = chan.allow.iter().map(ToString::to_string).collect();
        return Err(Denied::new(
            "channel_risk",
            format!(
                "{} commands are not allowed in {}; this channel allows {} commands",
                risk,
                channel.channel,
                allowed.join(" and ")
            ),
        ));
    }
    let may = roles.iter().any(|r| {
        policy.roles.get(r).is_some_and(|def| {
            def.may.contains(&risk)
                && def
                    .commands
                    .as_ref()
                    .is_none_or(|list| list.iter().any(|c| c == command.name()))
        })
    });
    if !may {
        let names: Vec<&str> = roles.iter().map(String::as_str).collect();
        return Err(Denied::new(
            "role_risk",
            format!(
                "{}'s role ({}) may not run {} commands such as `{}`",
                actor.user,
                names.join(", "),
                risk,
                command.name()
            ),
        ));
    }
    let namespaces = match command.namespaces(catalog) {
        None => Vec::new(),
        Some(wanted) => {
            let allowed: Vec<Namespace> = wanted
                .into_iter()
                .filter(|ns| chan.namespaces.iter().any(|a| a == "*" || a == ns.as_str()))
                .collect();
            if allowed.is_empty() {
                let list = if chan.namespaces.is_empty() {
                    "no namespaces".to_owned()
                } else {
                    chan.namespaces.join(", ")
                };
                return Err(Denied::new(
                    "channel_namespace",
                    format!(
                        "`{}` touches a namespace this channel may not act on; {} allows {list}",
                        command.name(),
                        channel.channel
                    ),
                ));
            }
            // A command that names one namespace must have exactly that one allowed.
            if command.service().is_some() && allowed.len() != 1 {
                return Err(Denied::new(
                    "channel_namespace",
                    format!(
                        "`{}` is not allowed in this channel's namespaces",
                        command.name()
                    ),
                ));
            }
            allowed
        }
    };
    if let (Some(dep), Some(allowed)) = (command.dependency(), &chan.dependencies)
        && !allowed.iter().any(|d| d == dep)
    {
        return Err(Denied::new(
            "channel_dependency",
            format!(
                "`{}` reaches {dep}, which {} may not; it allows {}",
                command.name(),
                channel.channel,
                if allowed.is_empty() {
                    "no dependencies".to_owned()
                } else {
                    allowed.join(", ")
                }
            ),
        ));
    }
    Ok(Permit {
        actor: actor.clone(),
        channel: channel.clone(),
        command: command.clone(),
        risk,
        roles,
        namespaces,
    })
}

/// An `undo` acts as the change it undoes: it is allowed only in the channel that made
/// the change (where its history and approvers are), on a target this channel may still
/// act on, by someone who may run that change's risk class here. Returns that risk.
pub fn authorize_undo(
    policy: &Policy,
    permit: &Permit,
    original: &ChannelRef,
    invocation: &crate::model::InvocationId,
    plan: &crate::plan::Plan,
) -> Result<RiskClass, Denied> {
    let here = permit.channel();
    if original.key() != here.key() {
        return Err(Denied::new(
            "undo_channel",
            format!(
                "{invocation} was run in {}, not here; undo it there, where the change, its history and its approvers are",
                original.channel
            ),
        ));
    }
    let Some(chan) = policy.channels.get(&here.key()) else {
        return Err(Denied::new(
            "channel_not_configured",
            format!("vabot is not enabled in this channel ({})", here.channel),
        ));
    };
    if let Some(target) = &plan.target
        && !chan
            .namespaces
            .iter()
            .any(|a| a == "*" || *a == target.namespace)
    {
        return Err(Denied::new(
            "channel_namespace",
            format!(
                "{invocation} changed {target}, in a namespace {} may no longer act on",
                here.channel
            ),
        ));
    }
    let risk = plan.risk.max(permit.risk());
    if !chan.allow.contains(&risk) {
        return Err(Denied::new(
            "channel_risk",
            format!(
                "undoing {invocation} is a {risk} change, which {} does not allow",
                here.channel
            ),
        ));
    }
    let may = permit
        .roles()
        .iter()
        .any(|r| policy.roles.get(r).is_some_and(|d| d.may.contains(&risk)));
    if !may {
        return Err(Denied::new(
            "role_risk",
            format!(
                "undoing {invocation} is a {risk} change; {}'s role may not run those",
                permit.actor().user
            ),
        ));
    }
    Ok(risk)
}

/// Whether an actor holds any of the given roles, and whether any of them may approve.
pub fn may_approve(policy: &Policy, actor: &Actor, approver_roles: &[String]) -> bool {
    roles_of(policy, actor)
        .iter()
        .any(|r| approver_roles.contains(r) && policy.roles.get(r).is_some_and(|d| d.approve))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::parse;
    use crate::model::Platform;

    const POLICY: &str = include_str!("../../deploy/demo/policy.yaml");

    fn policy() -> Policy {
        Policy::parse("policy.yaml", POLICY, false, &Catalog::voicehelper()).expect("demo policy")
    }

    fn check(user: &str, channel: &str, text: &str) -> Result<Permit, Denied> {
        let c = Catalog::voicehelper();
        let cmd = parse(text, &c).expect(text);
        authorize(
            &policy(),
            &c,
            &Actor::new(Platform::Console, user),
            &ChannelRef::new(Platform::Console, channel),
            &cmd,
        )
    }

    /// role × channel × risk class: (user, channel, command, allowed?)
    #[test]
    fn role_channel_risk_matrix() {
        let read = "pods agent-engine";
        let write = "scale agent-engine 3";
        let destructive = "envoyfilter delete rate-limit-filter";
        let table = [
            ("alice", "#incident-prod", read, true),
            ("alice", "#incident-prod", write, true),
            ("alice", "#incident-prod", destructive, true),
            ("alice", "#general", read, true),
            ("alice", "#general", write, false),
            ("alice", "#general", destructive, false),
            ("bob", "#incident-prod", read, true),
            ("bob", "#incident-prod", write, true),
            ("bob", "#incident-prod", destructive, true),
            ("bob", "#general", write, false),
            ("erin", "#incident-prod", destructive, true),
            ("erin", "#general", read, true),
            ("carol", "#incident-prod", read, true),
            ("carol", "#incident-prod", write, false),
            ("carol", "#incident-prod", destructive, false),
            ("carol", "#general", read, true),
            ("carol", "#general", write, false),
            ("mallory", "#incident-prod", read, false),
            ("mallory", "#general", read, false),
            ("alice", "#random", read, false),
            ("bob", "#random", destructive, false),
        ];
        for (user, channel, text, allowed) in table {
            assert_eq!(
                check(user, channel, text).is_ok(),
                allowed,
                "{user} in {channel}: {text}"
            );
        }
    }

    #[test]
    fn viewer_cannot_restart_deployment_in_prod() {
        let d = check("carol", "#incident-prod", "restart agent-engine").unwrap_err();
        assert_eq!(
            d.reason,
            "carol's role (viewer) may not run write commands such as `restart`"
        );
        assert_eq!(d.code, "role_risk");
    }

    #[test]
    fn denials_say_why() {
        assert_eq!(
            check("mallory", "#incident-prod", "health")
                .unwrap_err()
                .reason,
            "mallory has no vabot role; ask an admin to map your user ID (console:mallory) to a role"
        );
        assert_eq!(
            check("alice", "#general", "scale agent-engine 3")
                .unwrap_err()
                .reason,
            "write commands are not allowed in #general; this channel allows read commands"
        );
        assert_eq!(
            check("alice", "#random", "health").unwrap_err().reason,
            "vabot is not enabled in this channel (#random); ask an admin to add it to the policy"
        );
    }

    #[test]
    fn identity_is_the_platform_user_id_not_the_name() {
        let c = Catalog::voicehelper();
        let cmd = parse("health", &c).expect("health");
        // Same name, other platform: no role.
        let slack_alice = Actor::new(Platform::Slack, "alice");
        assert!(
            authorize(
                &policy(),
                &c,
                &slack_alice,
                &ChannelRef::new(Platform::Console, "#incident-prod"),
                &cmd
            )
            .is_err()
        );
    }

    #[test]
    fn channel_namespaces_restrict_commands() {
        let c = Catalog::voicehelper();
        let text = POLICY.replace(
            "namespaces: [voiceassistant-prod, voiceassistant-infra]",
            "namespaces: [voiceassistant-prod]",
        );
        let p = Policy::parse("p.yaml", &text, false, &c).expect("policy");
        let alice = Actor::new(Platform::Console, "alice");
        let chan = ChannelRef::new(Platform::Console, "#incident-prod");
        assert!(
            authorize(
                &p,
                &c,
                &alice,
                &chan,
                &parse("pods agent-engine", &c).expect("p")
            )
            .is_ok()
        );
        let d = authorize(
            &p,
            &c,
            &alice,
            &chan,
            &parse("redis flushdb", &c).expect("r"),
        )
        .unwrap_err();
        assert_eq!(d.code, "channel_namespace");
        // health over all namespaces narrows to the allowed one
        let permit =
            authorize(&p, &c, &alice, &chan, &parse("health", &c).expect("h")).expect("health");
        assert_eq!(
            permit.namespaces(),
            &[Namespace::new("voiceassistant-prod")]
        );
    }

    #[test]
    fn group_membership_grants_roles() {
        let c = Catalog::voicehelper();
        let text = format!("{POLICY}\n");
        let text = text.replace("groups: {}", "groups:\n  \"slack:S0OPS\": [operator]");
        let text = text.replace(
            "channels:\n",
            "channels:\n  \"slack:C0INC\":\n    namespaces: [\"*\"]\n    allow: [read, write]\n",
        );
        let p = Policy::parse("p.yaml", &text, false, &c).expect("policy");
        let mut dave = Actor::new(Platform::Slack, "U0DAVE");
        let chan = ChannelRef::new(Platform::Slack, "C0INC");
        let cmd = parse("scale agent-engine 3", &c).expect("scale");
        assert!(authorize(&p, &c, &dave, &chan, &cmd).is_err());
        dave.groups.push("S0OPS".into());
        assert!(authorize(&p, &c, &dave, &chan, &cmd).is_ok());
    }

    #[test]
    fn risk_overrides_only_tighten() {
        let c = Catalog::voicehelper();
        let text = format!(
            "{POLICY}\nrisk_overrides:\n  restart: destructive\n  \"redis flushdb\": read\n"
        );
        let p = Policy::parse("p.yaml", &text, false, &c).expect("policy");
        assert_eq!(
            effective_risk(&p, &parse("restart agent-engine", &c).expect("r")),
            RiskClass::Destructive
        );
        assert_eq!(
            effective_risk(&p, &parse("redis flushdb", &c).expect("f")),
            RiskClass::Destructive
        );
    }
}
