//! `diagnose <playbook> [svc]`: the runbook's troubleshooting sections (§4.1–§4.6) as one
//! command. Each playbook runs its checks concurrently (cluster state through
//! [`Cluster::snapshot`](vabot_commands::ports::Cluster::snapshot), dependencies through
//! this crate's clients) and returns one report: findings ranked by severity, the evidence,
//! and the next commands to run. A check that cannot run is itself a finding.

use std::collections::BTreeMap;
use std::fmt;

use vabot_commands::grammar::Playbook;
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::{ClusterSnapshot, ExecError, PodState};

use crate::executor::Inner;
use crate::postgres::{self, Slow};
use crate::prom::{self, format_value};
use crate::redis as redis_ops;

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

// === cluster checks ===

async fn snapshot(x: &Inner) -> Result<ClusterSnapshot, ExecError> {
    x.timed("Kubernetes", x.cluster.snapshot(&x.namespaces))
        .await
}

fn matches(pod: &PodState, service: Option<&str>) -> bool {
    match service {
        None => true,
        Some(s) => pod.service.as_deref() == Some(s),
    }
}

const CRASH_REASONS: [&str; 7] = [
    "CrashLoopBackOff",
    "Error",
    "OOMKilled",
    "ImagePullBackOff",
    "ErrImagePull",
    "CreateContainerConfigError",
    "InvalidImageName",
];

/// Pods of the given services (all when empty) that are crashing or not ready.
fn pod_findings(snap: &ClusterSnapshot, services: &[&str], scope: Option<&str>) -> Vec<Finding> {
    let mut out = Vec::new();
    let relevant = |p: &&PodState| {
        (services.is_empty() || p.service.as_deref().is_some_and(|s| services.contains(&s)))
            && matches(p, scope)
    };
    for p in snap.pods.iter().filter(relevant) {
        let svc = p.service.clone().unwrap_or_else(|| p.name.clone());
        let reason = p.reason.clone().unwrap_or_default();
        let where_ = format!(
            "{}/{}: phase {}, ready {}, reason {}, {} restarts, node {}",
            p.namespace,
            p.name,
            p.phase,
            p.ready,
            if reason.is_empty() {
                "-"
            } else {
                reason.as_str()
            },
            p.restarts,
            p.node.as_deref().unwrap_or("-")
        );
        if CRASH_REASONS.contains(&reason.as_str()) {
            let mut f = Finding::new(Severity::Critical, format!("Pod {} is in {reason}", p.name))
                .evidence(where_)
                .next(format!("/va describe {}", p.name))
                .next(format!("/va logs {} --previous", p.name));
            if reason.contains("Image") {
                f = f
                    .evidence(
                        "the image cannot be pulled: check the registry credentials and the tag",
                    )
                    .next(format!("/va rollout history {svc}"));
            } else if reason == "OOMKilled" {
                f = f
                    .evidence("the container exceeded its memory limit: check resources.limits")
                    .next("/va top pods".to_owned());
            } else if reason == "CreateContainerConfigError" {
                f = f
                    .evidence("a ConfigMap or Secret it references is missing or invalid")
                    .next(format!("/va config get {svc}"));
            } else {
                f = f.next(format!("/va config get {svc}"));
            }
            out.push(f.next(format!("/va events {svc}")));
        } else if !p.ready {
            out.push(
                Finding::new(Severity::Warning, format!("Pod {} is not ready", p.name))
                    .evidence(where_)
                    .next(format!("/va describe {}", p.name))
                    .next(format!("/va events {svc}")),
            );
        } else if p.restarts >= 3 {
            out.push(
                Finding::new(
                    Severity::Warning,
                    format!("Pod {} has restarted {} times", p.name, p.restarts),
                )
                .evidence(where_)
                .next(format!("/va logs {} --previous", p.name)),
            );
        }
    }
    out
}

fn workload_findings(
    snap: &ClusterSnapshot,
    services: &[&str],
    scope: Option<&str>,
) -> Vec<Finding> {
    snap.workloads
        .iter()
        .filter(|w| services.is_empty() || services.contains(&w.name.as_str()))
        .filter(|w| scope.is_none_or(|s| w.name == s))
        .filter(|w| w.ready < w.desired)
        .map(|w| {
            Finding::new(
                Severity::Warning,
                format!(
                    "{} {} has {}/{} replicas ready",
                    w.kind, w.name, w.ready, w.desired
                ),
            )
            .evidence(format!("{}/{}", w.namespace, w.name))
            .next(format!("/va pods {}", w.name))
            .next(format!("/va rollout status {}", w.name))
        })
        .collect()
}

fn warning_events(snap: &ClusterSnapshot, scope: Option<&str>) -> Option<Finding> {
    let events: Vec<String> = snap
        .warnings
        .iter()
        .filter(|e| scope.is_none_or(|s| e.object.contains(s)))
        .take(10)
        .map(|e| {
            format!(
                "{}/{}: {} ×{}: {}",
                e.namespace, e.object, e.reason, e.count, e.message
            )
        })
        .collect();
    if events.is_empty() {
        return None;
    }
    let mut f = Finding::new(
        Severity::Info,
        format!("{} recent Warning event(s)", events.len()),
    );
    f.evidence = events;
    Some(f)
}

fn stale(snap: &ClusterSnapshot) -> Option<Finding> {
    (snap.cache_age_secs > 120).then(|| {
        Finding::new(
            Severity::Info,
            format!(
                "Cluster data is {} s old (the watch caches lost the API server)",
                snap.cache_age_secs
            ),
        )
    })
}

// === §4.1 pod-crash ===

async fn pod_crash(x: &Inner, service: Option<&str>) -> Vec<Finding> {
    let snap = match snapshot(x).await {
        Ok(s) => s,
        Err(e) => return vec![Finding::unreachable(Severity::Critical, "the cluster", &e)],
    };
    let mut out = pod_findings(&snap, &[], service);
    out.extend(workload_findings(&snap, &[], service));
    if !snap.pending_pvcs.is_empty() {
        let mut f = Finding::new(
            Severity::Warning,
            format!(
                "{} PersistentVolumeClaim(s) are not Bound",
                snap.pending_pvcs.len()
            ),
        );
        f.evidence = snap.pending_pvcs.clone();
        out.push(f.next("/va events".to_owned()));
    }
    out.extend(warning_events(&snap, service));
    out.extend(stale(&snap));
    if !out.iter().any(|f| f.severity >= Severity::Warning) {
        out.push(Finding::new(
            Severity::Ok,
            match service {
                Some(s) => format!("No crashing or unready pods for {s}"),
                None => "No crashing or unready pods".to_owned(),
            },
        ));
    }
    out
}

// === §4.2 service-comm ===

async fn service_comm(x: &Inner, service: Option<&str>) -> Vec<Finding> {
    let snap = match snapshot(x).await {
        Ok(s) => s,
        Err(e) => return vec![Finding::unreachable(Severity::Critical, "the cluster", &e)],
    };
    let mut out = Vec::new();
    for ep in snap
        .endpoints
        .iter()
        .filter(|e| service.is_none_or(|s| e.service == s))
    {
        if ep.ready == 0 {
            out.push(
                Finding::new(
                    Severity::Critical,
                    format!("Service {} has no ready endpoints", ep.service),
                )
                .evidence(format!(
                    "{}/{}: {} ready, {} not ready addresses",
                    ep.namespace, ep.service, ep.ready, ep.not_ready
                ))
                .evidence("callers get connection refused or 503 (no healthy upstream)")
                .next(format!("/va endpoints {}", ep.service))
                .next(format!("/va pods {}", ep.service))
                .next(format!("/va netpol {}", ep.namespace)),
            );
        } else if ep.not_ready > 0 {
            out.push(
                Finding::new(
                    Severity::Warning,
                    format!(
                        "Service {} has {} unready endpoint(s)",
                        ep.service, ep.not_ready
                    ),
                )
                .evidence(format!(
                    "{}/{}: {} ready, {} not ready",
                    ep.namespace, ep.service, ep.ready, ep.not_ready
                ))
                .next(format!("/va endpoints {}", ep.service)),
            );
        }
    }
    out.extend(
        pod_findings(&snap, &[], service)
            .into_iter()
            .filter(|f| f.severity >= Severity::Warning),
    );
    out.extend(workload_findings(&snap, &[], service));
    if !snap.envoy_filters.is_empty() {
        let mut f = Finding::new(
            Severity::Info,
            format!("{} EnvoyFilter(s) act on traffic", snap.envoy_filters.len()),
        );
        f.evidence = snap.envoy_filters.clone();
        out.push(f.next("/va istio".to_owned()));
    }
    out.extend(stale(&snap));
    if !out.iter().any(|f| f.severity >= Severity::Warning) {
        let ns = x
            .namespaces
            .first()
            .map(|n| n.to_string())
            .unwrap_or_default();
        out.push(
            Finding::new(Severity::Ok, "Every Service checked has ready endpoints")
                .next(format!("/va netpol {ns}"))
                .next(format!("/va istio {ns}")),
        );
    }
    out
}

// === §4.3 db-timeout ===

async fn db_timeout(x: &Inner) -> Vec<Finding> {
    const NAME: &str = "diagnose";
    let status = async { x.timed(postgres::WHAT, x.pg(NAME)?.status()).await };
    let groups = async { x.timed(postgres::WHAT, x.pg(NAME)?.connections()).await };
    let slow = async { x.timed(postgres::WHAT, x.pg(NAME)?.slow(5)).await };
    let (status, groups, slow, snap) = tokio::join!(status, groups, slow, snapshot(x));
    let mut out = Vec::new();
    match status {
        Ok(s) => {
            let ratio = s.connections as f64 / s.max_connections.max(1) as f64;
            let used = format!(
                "{} of max_connections {} in use ({:.0}%)",
                s.connections,
                s.max_connections,
                ratio * 100.0
            );
            let warn = x.cfg.pg_connections_warning;
            if ratio >= warn {
                let sev = if ratio >= 0.95 {
                    Severity::Critical
                } else {
                    Severity::Warning
                };
                out.push(
                    Finding::new(sev, "PostgreSQL is running out of connections")
                        .evidence(used)
                        .next("/va pg connections".to_owned())
                        .next("/va config get postgres".to_owned()),
                );
            } else {
                out.push(
                    Finding::new(
                        Severity::Ok,
                        "PostgreSQL answers and has connections to spare",
                    )
                    .evidence(used),
                );
            }
            if let Some(t) = s.longest.filter(|t| t.age_secs >= 60.0) {
                out.push(
                    Finding::new(
                        Severity::Warning,
                        format!(
                            "A transaction has been open for {}",
                            postgres::duration(t.age_secs)
                        ),
                    )
                    .evidence(format!(
                        "pid {} ({}, {}): {}",
                        t.pid, t.application, t.state, t.query
                    ))
                    .next("/va pg connections".to_owned()),
                );
            }
        }
        Err(e) => out.push(Finding::unreachable(Severity::Critical, "PostgreSQL", &e)),
    }
    if let Ok(groups) = groups {
        let idle_tx: Vec<_> = groups
            .iter()
            .filter(|g| g.state.starts_with("idle in transaction"))
            .collect();
        let n: i64 = idle_tx.iter().map(|g| g.count).sum();
        if n >= 5 {
            let mut f = Finding::new(
                Severity::Warning,
                format!(
                    "{n} connections are idle in transaction (they hold connections and locks)"
                ),
            );
            for g in &idle_tx {
                f = f.evidence(format!(
                    "{}: {} idle in transaction",
                    g.application, g.count
                ));
            }
            out.push(
                f.next("/va pg connections".to_owned())
                    .next("/va pg slow 10".to_owned()),
            );
        }
        let mut by_app: BTreeMap<&str, i64> = BTreeMap::new();
        for g in &groups {
            *by_app.entry(g.application.as_str()).or_default() += g.count;
        }
        let mut apps: Vec<_> = by_app.into_iter().collect();
        apps.sort_by_key(|a| std::cmp::Reverse(a.1));
        if !apps.is_empty() {
            let mut f = Finding::new(Severity::Info, "Connections by application");
            for (app, n) in apps.iter().take(5) {
                f = f.evidence(format!("{app}: {n}"));
            }
            out.push(f);
        }
    }
    match slow {
        Ok(Slow::NotInstalled) => out.push(Finding::new(
            Severity::Info,
            "pg_stat_statements is not installed, so slow statements cannot be listed",
        )),
        Ok(Slow::Statements(list)) => {
            let slow: Vec<_> = list.iter().filter(|s| s.mean_ms >= 1000.0).collect();
            if !slow.is_empty() {
                let mut f = Finding::new(
                    Severity::Warning,
                    format!("{} statement(s) take over 1 s on average", slow.len()),
                );
                for s in slow {
                    f = f.evidence(format!(
                        "{:.0} ms mean × {} calls: {}",
                        s.mean_ms,
                        s.calls,
                        crate::http::excerpt(&s.query, 80)
                    ));
                }
                out.push(f.next("/va pg slow 10".to_owned()));
            }
        }
        Err(_) => {}
    }
    match snap {
        Ok(snap) => {
            out.extend(pod_findings(&snap, &["postgres"], None));
            out.extend(workload_findings(&snap, &["postgres"], None));
        }
        Err(e) => out.push(Finding::unreachable(
            Severity::Info,
            "the postgres pods",
            &e,
        )),
    }
    out
}

// === §4.4 vector-search ===

async fn vector_search(x: &Inner) -> Vec<Finding> {
    const NAME: &str = "diagnose";
    let (health, collections, snap) = tokio::join!(
        x.milvus_health(NAME),
        x.milvus_collections(NAME),
        snapshot(x)
    );
    let mut out = Vec::new();
    match health {
        Ok(h) if h.healthy => out.push(
            Finding::new(Severity::Ok, "Milvus reports healthy")
                .evidence(format!("/healthz: {}", h.state)),
        ),
        Ok(h) => {
            let mut f = Finding::new(Severity::Critical, "Milvus reports unhealthy")
                .evidence(format!("/healthz: {}", h.state));
            for c in h.unhealthy_components {
                f = f.evidence(c);
            }
            out.push(
                f.next("/va logs milvus --tail 200".to_owned())
                    .next("/va pods milvus".to_owned()),
            );
        }
        Err(e) => out.push(
            Finding::unreachable(Severity::Critical, "Milvus health", &e)
                .next("/va pods milvus".to_owned()),
        ),
    }
    match collections {
        Ok(list) => {
            let missing: Vec<&String> = x
                .cfg
                .milvus_collections
                .iter()
                .filter(|c| !list.contains(c))
                .collect();
            if !missing.is_empty() {
                let mut f = Finding::new(
                    Severity::Critical,
                    format!(
                        "Expected collection(s) missing: {}",
                        missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                )
                .evidence(format!(
                    "Milvus has {} collection(s): {}",
                    list.len(),
                    if list.is_empty() { "none".to_owned() } else { list.join(", ") }
                ))
                .evidence("retrieval against a missing collection fails; rebuild it through indexing-service (runbook §4.4 step 3)");
                f = f
                    .next("/va milvus collections".to_owned())
                    .next("/va logs indexing-service --tail 200".to_owned());
                out.push(f);
            } else if list.is_empty() {
                out.push(
                    Finding::new(Severity::Warning, "Milvus has no collections")
                        .next("/va logs indexing-service --tail 200".to_owned()),
                );
            } else {
                out.push(
                    Finding::new(
                        Severity::Ok,
                        format!("{} collection(s) present", list.len()),
                    )
                    .evidence(list.join(", ")),
                );
            }
        }
        Err(e) => out.push(Finding::unreachable(
            Severity::Critical,
            "Milvus collections",
            &e,
        )),
    }
    match snap {
        Ok(snap) => {
            let svcs = ["milvus", "indexing-service", "knowledge-service"];
            out.extend(pod_findings(&snap, &svcs, None));
            out.extend(workload_findings(&snap, &svcs, None));
        }
        Err(e) => out.push(Finding::unreachable(Severity::Info, "the milvus pods", &e)),
    }
    out
}

// === §4.5 cache-penetration ===

async fn cache_penetration(x: &Inner) -> Vec<Finding> {
    const NAME: &str = "diagnose";
    let stats = async {
        x.timed(redis_ops::WHAT, x.redis(NAME)?.info(Some("stats")))
            .await
    };
    let memory = async {
        x.timed(redis_ops::WHAT, x.redis(NAME)?.info(Some("memory")))
            .await
    };
    let slowlog = async { x.timed(redis_ops::WHAT, x.redis(NAME)?.slowlog(10)).await };
    let (stats, memory, slowlog, snap) = tokio::join!(stats, memory, slowlog, snapshot(x));
    let mut out = Vec::new();
    let threshold = x.cfg.redis_hitrate_warning;
    match stats {
        Ok(info) => {
            match info.hit_rate() {
                Some(rate) => match rate.ratio() {
                    Some(r) if r < threshold => {
                        let sev = if r < threshold / 2.0 {
                            Severity::Critical
                        } else {
                            Severity::Warning
                        };
                        out.push(
                            Finding::new(
                                sev,
                                format!(
                                    "Redis hit rate is {:.1}%, below {:.0}%: likely cache penetration",
                                    r * 100.0,
                                    threshold * 100.0
                                ),
                            )
                            .evidence(format!(
                                "keyspace_hits {}, keyspace_misses {}",
                                rate.hits, rate.misses
                            ))
                            .evidence("lookups of keys that do not exist reach the backend every time: cache empty results or add a Bloom filter, and warm hot keys (runbook §4.5 step 4)")
                            .next("/va redis hitrate".to_owned())
                            .next("/va redis slowlog 10".to_owned())
                            .next("/va redis info stats".to_owned()),
                        );
                    }
                    Some(r) => out.push(
                        Finding::new(Severity::Ok, format!("Redis hit rate is {:.1}%", r * 100.0))
                            .evidence(format!(
                                "keyspace_hits {}, keyspace_misses {}",
                                rate.hits, rate.misses
                            )),
                    ),
                    None => out.push(Finding::new(
                        Severity::Info,
                        "Redis has served no key lookups yet",
                    )),
                },
                None => out.push(Finding::new(
                    Severity::Info,
                    "Redis INFO stats has no keyspace_hits",
                )),
            }
            if let Some(n) = info.u64("evicted_keys").filter(|n| *n > 0) {
                out.push(
                    Finding::new(
                        Severity::Warning,
                        format!("Redis evicted {n} keys (memory pressure)"),
                    )
                    .next("/va redis info memory".to_owned()),
                );
            }
            if let Some(ops) = info.get("instantaneous_ops_per_sec") {
                out.push(Finding::new(
                    Severity::Info,
                    format!("{ops} operations per second"),
                ));
            }
        }
        Err(e) => out.push(Finding::unreachable(Severity::Critical, "Redis", &e)),
    }
    if let Ok(mem) = memory {
        let used = mem.u64("used_memory").unwrap_or(0);
        let max = mem.u64("maxmemory").unwrap_or(0);
        if max > 0 && used as f64 / max as f64 >= 0.9 {
            out.push(
                Finding::new(
                    Severity::Warning,
                    format!(
                        "Redis memory is {:.0}% of maxmemory",
                        used as f64 / max as f64 * 100.0
                    ),
                )
                .evidence(format!(
                    "used_memory_human {}, maxmemory_human {}, policy {}",
                    mem.get("used_memory_human").unwrap_or("?"),
                    mem.get("maxmemory_human").unwrap_or("?"),
                    mem.get("maxmemory_policy").unwrap_or("?")
                ))
                .next("/va redis info memory".to_owned()),
            );
        }
    }
    if let Ok(entries) = slowlog
        && !entries.is_empty()
    {
        let mut f = Finding::new(
            Severity::Info,
            format!("{} entries in the Redis slow log", entries.len()),
        );
        for e in entries.iter().take(3) {
            f = f.evidence(format!("{:.2} ms: {}", e.micros as f64 / 1000.0, e.command));
        }
        out.push(f.next("/va redis slowlog 10".to_owned()));
    }
    match snap {
        Ok(snap) => {
            out.extend(pod_findings(&snap, &["redis"], None));
            out.extend(workload_findings(&snap, &["redis"], None));
        }
        Err(e) => out.push(Finding::unreachable(Severity::Info, "the redis pods", &e)),
    }
    out
}

// === §4.6 rate-limit ===

async fn rate_limit(x: &Inner, service: Option<&str>) -> Vec<Finding> {
    const NAME: &str = "diagnose";
    let base = match x.prometheus(NAME) {
        Ok(b) => b.to_owned(),
        Err(e) => {
            let mut out = vec![Finding::unreachable(Severity::Warning, "the 429 rate", &e)];
            if let Ok(snap) = snapshot(x).await {
                out.extend(envoy_filter_finding(&snap));
            }
            return out;
        }
    };
    let rate_q = x.promql(crate::RATE_429_ALIAS);
    let by_svc_q = r#"sum by (destination_service_name) (rate(istio_requests_total{response_code="429"}[5m]))"#;
    let all_q = "sum(rate(istio_requests_total[5m]))";
    let (rate, by_svc, all, snap) = tokio::join!(
        x.timed(prom::WHAT, prom::instant(&x.http, &base, &rate_q)),
        x.timed(prom::WHAT, prom::instant(&x.http, &base, by_svc_q)),
        x.timed(prom::WHAT, prom::instant(&x.http, &base, all_q)),
        snapshot(x)
    );
    let mut out = Vec::new();
    match rate {
        Ok(series) => {
            let total: f64 = series
                .iter()
                .map(|(_, v)| *v)
                .filter(|v| v.is_finite())
                .sum();
            let all_total: Option<f64> = all
                .ok()
                .map(|s| s.iter().map(|(_, v)| *v).filter(|v| v.is_finite()).sum());
            if total > 0.0 {
                let share = all_total.filter(|t| *t > 0.0).map(|t| total / t);
                let sev = if share.is_some_and(|s| s >= 0.05) {
                    Severity::Critical
                } else {
                    Severity::Warning
                };
                let mut f = Finding::new(
                    sev,
                    format!(
                        "Requests are being rate-limited: {} responses 429 per second{}",
                        format_value(total),
                        share
                            .map(|s| format!(" ({:.1}% of all requests)", s * 100.0))
                            .unwrap_or_default()
                    ),
                )
                .evidence(format!("{rate_q} = {}", format_value(total)));
                if let Ok(by) = &by_svc {
                    for (labels, v) in by.iter().filter(|(_, v)| *v > 0.0).take(5) {
                        let name = labels
                            .get("destination_service_name")
                            .map(String::as_str)
                            .unwrap_or("?");
                        let mark = if service == Some(name) { " ←" } else { "" };
                        f = f.evidence(format!("{name}: {} 429/s{mark}", format_value(*v)));
                    }
                }
                out.push(
                    f.next("/va prom 429-rate --since 1h".to_owned())
                        .next("/va istio voiceassistant-prod".to_owned())
                        .next("/va envoyfilter delete rate-limit-filter   (emergency only; destructive, needs approval)".to_owned()),
                );
            } else {
                out.push(
                    Finding::new(Severity::Ok, "No 429 responses in the last 5 minutes")
                        .evidence(format!("{rate_q} = 0")),
                );
            }
        }
        Err(e) => out.push(Finding::unreachable(
            Severity::Warning,
            "the 429 rate in Prometheus",
            &e,
        )),
    }
    match snap {
        Ok(snap) => out.extend(envoy_filter_finding(&snap)),
        Err(e) => out.push(Finding::unreachable(Severity::Info, "the EnvoyFilters", &e)),
    }
    out
}

fn envoy_filter_finding(snap: &ClusterSnapshot) -> Option<Finding> {
    if snap.envoy_filters.is_empty() {
        return None;
    }
    let mut f = Finding::new(
        Severity::Info,
        format!(
            "{} EnvoyFilter(s) may limit requests",
            snap.envoy_filters.len()
        ),
    );
    f.evidence = snap.envoy_filters.clone();
    Some(f.next("/va istio voiceassistant-prod".to_owned()))
}
