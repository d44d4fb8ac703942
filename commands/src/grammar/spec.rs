//! The command definitions: one table that the parser, `help`, the error messages and the
//! Discord option generator all read, so documentation and grammar cannot drift apart.
//! A unit test parses every `example` below.

use crate::plan::RiskClass;

/// The family a command belongs to; decides which executor handles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Answered by the core itself (help, links, votes).
    Meta,
    /// Kubernetes reads and writes.
    Kube,
    /// Dependency checks (PostgreSQL, Redis, Elasticsearch, Milvus, Nacos, Prometheus).
    Dependency,
    /// The store: history, timeline, pending approvals, incidents.
    History,
}

/// One command of the catalogue.
#[derive(Debug)]
pub struct Spec {
    /// The words that select it, e.g. `rollout status`.
    pub name: &'static str,
    /// Its arguments: `<required>`, `[optional]`, `[--flag value]`, `[--switch]`.
    pub args: &'static str,
    pub summary: &'static str,
    pub example: &'static str,
    /// The default risk class (the policy can tighten it; `scale … 0` is destructive).
    pub risk: RiskClass,
    pub family: Family,
    /// Runbook section(s) this command implements.
    pub runbook: &'static str,
}

impl Spec {
    pub fn usage(&self) -> String {
        if self.args.is_empty() {
            format!("/va {}", self.name)
        } else {
            format!("/va {} {}", self.name, self.args)
        }
    }
}

use Family::*;
use RiskClass::*;

macro_rules! spec {
    ($name:literal, $args:literal, $summary:literal, $example:literal, $risk:ident, $family:ident, $runbook:literal) => {
        Spec {
            name: $name,
            args: $args,
            summary: $summary,
            example: $example,
            risk: $risk,
            family: $family,
            runbook: $runbook,
        }
    };
}

/// Every command, in the order `help` lists them.
pub static SPECS: &[Spec] = &[
    spec!(
        "help",
        "[command]",
        "List commands, or explain one",
        "help scale",
        Read,
        Meta,
        ""
    ),
    spec!(
        "health",
        "[namespace|service|istio-system]",
        "Ready/desired, failing pods, restarts, empty endpoints, pending PVCs, pings; istio-system: the mesh",
        "health voiceassistant-prod",
        Read,
        Kube,
        "§2.1 §2.2 §2.3"
    ),
    spec!(
        "pods",
        "<service>",
        "Pods of a service: status, restarts, node, age",
        "pods agent-engine",
        Read,
        Kube,
        "§2.1"
    ),
    spec!(
        "describe",
        "<service|pod>",
        "Spec summary, resources, conditions and recent events",
        "describe agent-engine",
        Read,
        Kube,
        "§4.1"
    ),
    spec!(
        "events",
        "[service]",
        "Recent events, warnings first",
        "events agent-engine",
        Read,
        Kube,
        "§4.1"
    ),
    spec!(
        "logs",
        "<service|pod> [--previous] [--container name] [--tail n] [--since duration]",
        "Tail of a pod's log, redacted; long output as a file",
        "logs agent-engine --tail 100 --since 15m",
        Read,
        Kube,
        "§2.3 §4.1"
    ),
    spec!(
        "endpoints",
        "<service>",
        "Ready and not-ready addresses behind a service",
        "endpoints identity-service",
        Read,
        Kube,
        "§2.1 §4.2"
    ),
    spec!(
        "bluegreen status",
        "<service>",
        "Blue/green: each subset's weight, Deployments and ready pods; traffic to no pod flagged",
        "bluegreen status agent-engine",
        Read,
        Kube,
        "§6.4"
    ),
    spec!(
        "probe",
        "<service>",
        "GET the service's /health through the API server's service proxy (no exec)",
        "probe agent-engine",
        Read,
        Kube,
        "§2.3 §4.2"
    ),
    spec!(
        "netpol",
        "[namespace]",
        "Network policies and the services they select",
        "netpol voiceassistant-prod",
        Read,
        Kube,
        "§4.2"
    ),
    spec!(
        "top",
        "[pods|nodes]",
        "CPU and memory from the metrics API",
        "top pods",
        Read,
        Kube,
        "§2.1"
    ),
    spec!(
        "svc",
        "[namespace]",
        "Services: type, ports, selector and ready endpoints (empty ones first)",
        "svc voiceassistant-prod",
        Read,
        Kube,
        "§4.2"
    ),
    spec!(
        "pvc",
        "[namespace]",
        "PersistentVolumeClaims: status, capacity, class; why a claim is Pending",
        "pvc voiceassistant-prod",
        Read,
        Kube,
        "§4.1"
    ),
    spec!(
        "nodes",
        "",
        "Nodes: ready, schedulable, roles, allocatable, version; pods waiting for room",
        "nodes",
        Read,
        Kube,
        "§5.3"
    ),
    spec!(
        "env",
        "<service> <KEY>",
        "Whether the template and each running pod carry a variable, and from where",
        "env agent-engine LOG_LEVEL",
        Read,
        Kube,
        "§6.1"
    ),
    spec!(
        "rollout status",
        "<service>",
        "Rollout progress, like kubectl rollout status",
        "rollout status agent-engine",
        Read,
        Kube,
        "§6.3"
    ),
    spec!(
        "rollout history",
        "<service>",
        "Revisions with their change-cause",
        "rollout history agent-engine",
        Read,
        Kube,
        "§6.3"
    ),
    spec!(
        "hpa",
        "[service]",
        "Autoscalers: current/desired/min/max and targets; with a service, conditions and events",
        "hpa agent-engine",
        Read,
        Kube,
        "§5.2"
    ),
    spec!(
        "hpa set",
        "<service> [min=<n>] [max=<m>] [cpu=<percent>] [memory=<percent>]",
        "Change an autoscaler's bounds and CPU/memory utilisation targets",
        "hpa set agent-engine min=3 max=12 cpu=60",
        Write,
        Kube,
        "§5.2"
    ),
    spec!(
        "hpa disable",
        "<service>",
        "Delete the autoscaler (its manifest is kept for undo)",
        "hpa disable agent-engine",
        Destructive,
        Kube,
        "§5.2"
    ),
    spec!(
        "config get",
        "<service> [KEY]",
        "ConfigMap values (secret-looking values redacted; Secret keys only)",
        "config get agent-engine LOG_LEVEL",
        Read,
        Kube,
        "§6.1"
    ),
    spec!(
        "config set",
        "<service> KEY=VALUE [--restart]",
        "Change one ConfigMap key, optionally restart the service",
        "config set agent-engine LOG_LEVEL=debug --restart",
        Write,
        Kube,
        "§6.1"
    ),
    spec!(
        "istio",
        "[namespace]",
        "EnvoyFilters, VirtualService routes and weights",
        "istio voiceassistant-prod",
        Read,
        Kube,
        "§2.2 §4.6 §6.4"
    ),
    spec!(
        "scale",
        "<service> <replicas>",
        "Set the replica count (0 is destructive)",
        "scale agent-engine 5",
        Write,
        Kube,
        "§5.1"
    ),
    spec!(
        "scale-all",
        "<namespace> <replicas>",
        "Scale every catalog workload of a namespace at once (also typed `scale --all`); one approval for the batch",
        "scale-all voiceassistant-prod 0",
        Destructive,
        Kube,
        "§1.4 §5.1"
    ),
    spec!(
        "stop",
        "<service>",
        "Scale a service to 0 (undo restores its replica count)",
        "stop notification-service",
        Destructive,
        Kube,
        "§1.4"
    ),
    spec!(
        "restart",
        "<service>",
        "Rolling restart, as kubectl rollout restart",
        "restart agent-engine",
        Write,
        Kube,
        "§6.1 §6.2"
    ),
    spec!(
        "rollback",
        "<service> [--to-revision n]",
        "Roll back to the previous (or a given) revision, as kubectl rollout undo",
        "rollback agent-engine --to-revision 2",
        Write,
        Kube,
        "§6.3"
    ),
    spec!(
        "set-image",
        "<service> <image:tag|container=image:tag>",
        "Change a container's image",
        "set-image agent-engine ghcr.io/voiceassistant/agent-engine:1.1.0",
        Write,
        Kube,
        "§6.3"
    ),
    spec!(
        "traffic",
        "<service> <subset=weight>...",
        "Set VirtualService weights (they must sum to 100)",
        "traffic agent-engine blue=20 green=80",
        Write,
        Kube,
        "§6.4"
    ),
    spec!(
        "envoyfilter set",
        "<name> [tokens=<n>] [fill=<interval>]",
        "Set a local rate limit's token bucket (size and refill, refill interval)",
        "envoyfilter set rate-limit-filter tokens=400 fill=1s",
        Write,
        Kube,
        "§4.6"
    ),
    spec!(
        "envoyfilter delete",
        "<name>",
        "Delete an EnvoyFilter (its manifest is kept for undo)",
        "envoyfilter delete rate-limit-filter",
        Destructive,
        Kube,
        "§4.6"
    ),
    spec!(
        "pg status",
        "",
        "PostgreSQL version, uptime, connections used/max, longest transaction",
        "pg status",
        Read,
        Dependency,
        "§3.1 §4.3"
    ),
    spec!(
        "pg connections",
        "",
        "PostgreSQL connections by state and application",
        "pg connections",
        Read,
        Dependency,
        "§4.3"
    ),
    spec!(
        "pg slow",
        "[n]",
        "Slowest statements (pg_stat_statements)",
        "pg slow 5",
        Read,
        Dependency,
        "§4.3"
    ),
    spec!(
        "pg backup",
        "[database]",
        "pg_dump into the backup directory; reports size and SHA-256",
        "pg backup voiceassistant",
        Write,
        Dependency,
        "§3.1"
    ),
    spec!(
        "pg restore",
        "<backup-id>",
        "Restore a backup (hash checked; --clean --if-exists, one transaction)",
        "pg restore voiceassistant-20261203T101500123Z",
        Destructive,
        Dependency,
        "§3.1"
    ),
    spec!(
        "redis info",
        "[memory|stats|server|clients|keyspace|replication]",
        "Redis INFO sections as named fields",
        "redis info memory",
        Read,
        Dependency,
        "§3.2 §4.5"
    ),
    spec!(
        "redis slowlog",
        "[n]",
        "Redis SLOWLOG entries",
        "redis slowlog 10",
        Read,
        Dependency,
        "§4.5"
    ),
    spec!(
        "redis hitrate",
        "",
        "Keyspace hit ratio, with a warning threshold",
        "redis hitrate",
        Read,
        Dependency,
        "§4.5"
    ),
    spec!(
        "redis monitor",
        "[--seconds n]",
        "A bounded MONITOR sample (≤ 10 s): commands and key patterns, values never shown",
        "redis monitor --seconds 5",
        Read,
        Dependency,
        "§4.5"
    ),
    spec!(
        "redis flushdb",
        "[db]",
        "FLUSHDB on one database (destructive)",
        "redis flushdb 1",
        Destructive,
        Dependency,
        "§3.2"
    ),
    spec!(
        "es health",
        "",
        "Elasticsearch cluster health",
        "es health",
        Read,
        Dependency,
        "§3.5"
    ),
    spec!(
        "es indices",
        "",
        "Elasticsearch indices: health, docs, size",
        "es indices",
        Read,
        Dependency,
        "§3.5"
    ),
    spec!(
        "milvus health",
        "",
        "Milvus health",
        "milvus health",
        Read,
        Dependency,
        "§3.4 §4.4"
    ),
    spec!(
        "milvus collections",
        "",
        "Milvus collections",
        "milvus collections",
        Read,
        Dependency,
        "§3.4 §4.4"
    ),
    spec!(
        "milvus stats",
        "",
        "Milvus /metrics: collections, entities loaded, search failures and latency, memory",
        "milvus stats",
        Read,
        Dependency,
        "§3.4 §4.4"
    ),
    spec!(
        "reindex",
        "<collection>",
        "Rebuild a Milvus collection's index through indexing-service (no undo)",
        "reindex knowledge_chunks",
        Write,
        Dependency,
        "§4.4"
    ),
    spec!(
        "nacos health",
        "",
        "Nacos server health",
        "nacos health",
        Read,
        Dependency,
        "§3.3"
    ),
    spec!(
        "nacos services",
        "[group]",
        "Registered services and their instances, healthy of total",
        "nacos services DEFAULT_GROUP",
        Read,
        Dependency,
        "§3.3"
    ),
    spec!(
        "nacos config",
        "<dataId> [group]",
        "One configuration as Nacos serves it, secret values masked, with its hash",
        "nacos config agent-engine.properties",
        Read,
        Dependency,
        "§3.3 §6.1"
    ),
    spec!(
        "prom",
        "<alias|query> [--since duration]",
        "Prometheus query: values and a chart",
        "prom 429-rate --since 1h",
        Read,
        Dependency,
        "§4.6, appendix"
    ),
    spec!(
        "diagnose",
        "<pod-crash|service-comm|db-timeout|vector-search|cache-penetration|rate-limit> [service]",
        "Run a runbook section's checks and report findings",
        "diagnose pod-crash agent-engine",
        Read,
        Dependency,
        "§4.1–§4.6"
    ),
    spec!(
        "links",
        "",
        "Dashboards: Grafana, Kiali, Jaeger, Prometheus",
        "links",
        Read,
        Meta,
        "appendix"
    ),
    spec!(
        "oncall",
        "",
        "Who to call",
        "oncall",
        Read,
        Meta,
        "contacts"
    ),
    spec!(
        "history",
        "[n]",
        "This channel's last commands and results",
        "history 20",
        Read,
        History,
        ""
    ),
    spec!(
        "timeline",
        "[--since duration]",
        "This channel's commands, approvals and results in order",
        "timeline --since 2h",
        Read,
        History,
        ""
    ),
    spec!(
        "pending",
        "",
        "Approvals waiting in this channel",
        "pending",
        Read,
        History,
        ""
    ),
    spec!(
        "incident start",
        "<title>",
        "Open an incident: scopes the timeline",
        "incident start agent-engine 5xx spike",
        Read,
        History,
        ""
    ),
    spec!(
        "incident end",
        "",
        "Close the open incident",
        "incident end",
        Read,
        History,
        ""
    ),
    spec!(
        "undo",
        "<invocation-id>",
        "Restore the recorded before-state of an earlier change",
        "undo i-7K2F9Q",
        Write,
        Kube,
        ""
    ),
    spec!(
        "approve",
        "<approval-id>",
        "Approve a pending request (same as ✅ or the button)",
        "approve a-3MZ81C",
        Read,
        Meta,
        ""
    ),
    spec!(
        "deny",
        "<approval-id>",
        "Deny a pending request (same as ❌ or the button)",
        "deny a-3MZ81C",
        Read,
        Meta,
        ""
    ),
    spec!(
        "cancel",
        "<approval-id>",
        "Withdraw your own pending request",
        "cancel a-3MZ81C",
        Read,
        Meta,
        ""
    ),
];

/// The spec with exactly this name.
pub fn spec(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}

/// First words of every command (`rollout`, `hpa`, `pg`, …), deduplicated, in table order.
pub fn verbs() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for s in SPECS {
        let verb = s.name.split(' ').next().unwrap_or(s.name);
        if !out.contains(&verb) {
            out.push(verb);
        }
    }
    out
}

/// The specs whose first word is `verb`.
pub fn specs_of(verb: &str) -> impl Iterator<Item = &'static Spec> + '_ {
    SPECS
        .iter()
        .filter(move |s| s.name.split(' ').next() == Some(verb))
}
