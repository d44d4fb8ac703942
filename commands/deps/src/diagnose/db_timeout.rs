//! §4.3 db-timeout: PostgreSQL connections against the limit, long transactions, slow
//! statements.

use std::collections::BTreeMap;

use super::cluster::{pod_findings, snapshot, workload_findings};
use super::{Finding, Severity};
use crate::executor::Inner;
use crate::postgres::{self, Slow};

// === §4.3 db-timeout ===

pub(crate) async fn db_timeout(x: &Inner) -> Vec<Finding> {
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
