//! What exactly will change: the plan approvers see and executors carry out.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::authz::Permit;
use crate::grammar::Command;

/// Risk classes, ordered: a higher class needs at least the permissions of a lower one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RiskClass {
    /// No change.
    Read,
    /// A reversible change.
    Write,
    /// Loses data or protection.
    Destructive,
}

impl fmt::Display for RiskClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RiskClass::Read => "read",
            RiskClass::Write => "write",
            RiskClass::Destructive => "destructive",
        })
    }
}

/// One field that changes: `replicas 2 → 5`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub field: String,
    pub before: String,
    pub after: String,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} → {}", self.field, self.before, self.after)
    }
}

/// The object a plan acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// What a command will do, with the current state it was planned against.
///
/// Built only from a [`Permit`], so an unauthorized command can never be planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub command: Command,
    pub risk: RiskClass,
    /// One line: "Scale Deployment voiceassistant-prod/agent-engine".
    pub summary: String,
    pub target: Option<ObjectRef>,
    pub changes: Vec<Change>,
    /// A version of the target at planning time (e.g. generation/resourceVersion); an
    /// approval binds to it, and execution re-plans if it moved.
    pub fingerprint: Option<String>,
    /// Extra lines approvers should read (warnings: "an HPA manages this deployment").
    pub notes: Vec<String>,
}

impl Plan {
    /// The plan as the audit log keeps it: see [`Command::for_record`].
    pub fn for_record(&self) -> Plan {
        Plan {
            command: self.command.for_record(),
            ..self.clone()
        }
    }

    /// A plan for a command that changes nothing.
    pub fn read(permit: &Permit) -> Self {
        Self::new(permit, permit.command().name().to_owned())
    }

    /// A plan for the permitted command, to be filled in by the planner.
    pub fn new(permit: &Permit, summary: String) -> Self {
        Self {
            command: permit.command().clone(),
            risk: permit.risk(),
            summary,
            target: None,
            changes: Vec::new(),
            fingerprint: None,
            notes: Vec::new(),
        }
    }

    pub fn with_target(mut self, target: ObjectRef) -> Self {
        self.target = Some(target);
        self
    }

    pub fn with_change(
        mut self,
        field: &str,
        before: impl fmt::Display,
        after: impl fmt::Display,
    ) -> Self {
        self.changes.push(Change {
            field: field.to_owned(),
            before: before.to_string(),
            after: after.to_string(),
        });
        self
    }

    pub fn with_fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.fingerprint = Some(fingerprint.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Raises the risk class (a planner may learn the change is worse than the default).
    pub fn escalate(mut self, risk: RiskClass) -> Self {
        self.risk = self.risk.max(risk);
        self
    }

    /// Whether two plans for the same command describe the same change on the same state.
    pub fn same_change_as(&self, other: &Plan) -> bool {
        self.command == other.command
            && self.target == other.target
            && self.changes == other.changes
            && self.fingerprint == other.fingerprint
    }
}
