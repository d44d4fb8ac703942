//! §4.5 cache-penetration: Redis hit ratio, memory and evictions, slow commands.

use super::cluster::{pod_findings, snapshot, workload_findings};
use super::{Finding, Severity};
use crate::executor::Inner;
use crate::redis as redis_ops;

// === §4.5 cache-penetration ===

pub(crate) async fn cache_penetration(x: &Inner) -> Vec<Finding> {
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
