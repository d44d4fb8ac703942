//! `diagnose <playbook> [svc]`: the runbook's troubleshooting sections (§4.1–§4.6) as one
//! command. Each playbook runs its checks concurrently (cluster state through
//! [`Cluster::snapshot`](vabot_commands::ports::Cluster::snapshot), dependencies through
//! this crate's clients) and returns one report: findings ranked by severity, the evidence,
//! and the next commands to run. A check that cannot run is itself a finding.

mod cache_penetration;
mod cluster;
mod db_timeout;
mod pod_crash;
mod rate_limit;
mod service_comm;
mod vector_search;

use std::fmt;

use vabot_commands::grammar::Playbook;
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use crate::executor::Inner;
use cache_penetration::cache_penetration;
use db_timeout::db_timeout;
use pod_crash::pod_crash;
use rate_limit::rate_limit;
use service_comm::service_comm;
use vector_search::vector_search;

/// How bad a finding is; reports list the worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Ok,
    Info,
    Warning,
    Critical,
}

impl Severity {
    fn emoji(self) -> &'static str {
        match self {
            Severity::Ok => "✅",
            Severity::Info => "ℹ️",
            Severity::Warning => "⚠️",
            Severity::Critical => "🛑",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Ok => "ok",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        })
    }
}

/// One conclusion with what it rests on and what to run next.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    pub title: String,
    pub evidence: Vec<String>,
    pub next: Vec<String>,
}

impl Finding {
    fn new(severity: Severity, title: impl Into<String>) -> Self {
        Self {
            severity,
            title: title.into(),
            evidence: Vec::new(),
            next: Vec::new(),
        }
    }
    fn evidence(mut self, e: impl Into<String>) -> Self {
        self.evidence.push(e.into());
        self
    }
    fn next(mut self, n: impl Into<String>) -> Self {
        self.next.push(n.into());
        self
    }

    /// A check that could not run: how bad depends on whether the playbook is about it.
    fn unreachable(severity: Severity, check: &str, e: &ExecError) -> Self {
        if let Some(d) = e.detail() {
            tracing::warn!(check, detail = d, "Diagnose check failed");
        }
        Finding::new(severity, format!("Could not check {check}: {e}"))
    }
}

/// A playbook's findings, worst first.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub playbook: Playbook,
    pub service: Option<String>,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn worst(&self) -> Severity {
        self.findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Ok)
    }

    /// One line for history.
    pub fn summary(&self) -> String {
        let problems = self
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Warning)
            .count();
        format!(
            "diagnose {}: {} ({problems} problem(s))",
            self.playbook.name(),
            self.worst()
        )
    }

    pub fn render(&self) -> Message {
        let tone = match self.worst() {
            Severity::Critical => Tone::Danger,
            Severity::Warning => Tone::Warning,
            Severity::Info => Tone::Info,
            Severity::Ok => Tone::Success,
        };
        let scope = self
            .service
            .as_deref()
            .map(|s| format!(" for {s}"))
            .unwrap_or_default();
        let mut m = Message::new(tone).header(format!(
            "Diagnose {}{scope} (runbook {})",
            self.playbook.name(),
            self.playbook.runbook()
        ));
        for f in &self.findings {
            let mut text = format!("{} *{}* {}", f.severity.emoji(), f.severity, f.title);
            for e in f.evidence.iter().take(8) {
                text.push_str(&format!("\n    • {e}"));
            }
            if f.evidence.len() > 8 {
                text.push_str(&format!("\n    • … and {} more", f.evidence.len() - 8));
            }
            m = m.paragraph(text);
        }
        let mut next: Vec<&str> = Vec::new();
        for f in &self.findings {
            for n in &f.next {
                if !next.contains(&n.as_str()) {
                    next.push(n);
                }
            }
        }
        if !next.is_empty() {
            m = m.paragraph("Next commands:").code(next.join("\n"));
        }
        m
    }
}

/// Runs one playbook.
pub(crate) async fn run(x: &Inner, playbook: Playbook, service: Option<&str>) -> Report {
    let mut findings = match playbook {
        Playbook::PodCrash => pod_crash(x, service).await,
        Playbook::ServiceComm => service_comm(x, service).await,
        Playbook::DbTimeout => db_timeout(x).await,
        Playbook::VectorSearch => vector_search(x).await,
        Playbook::CachePenetration => cache_penetration(x).await,
        Playbook::RateLimit => rate_limit(x, service).await,
    };
    // Stable: within a severity, checks keep the order they were written in.
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    Report {
        playbook,
        service: service.map(str::to_owned),
        findings,
    }
}
