//! §4.6 rate-limit: the 429 rate, the EnvoyFilter, the gateway's pods.

use vabot_commands::ports::ClusterSnapshot;

use super::cluster::snapshot;
use super::{Finding, Severity};
use crate::executor::Inner;
use crate::prom::{self, format_value};

// === §4.6 rate-limit ===

pub(crate) async fn rate_limit(x: &Inner, service: Option<&str>) -> Vec<Finding> {
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

pub(crate) fn envoy_filter_finding(snap: &ClusterSnapshot) -> Option<Finding> {
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
