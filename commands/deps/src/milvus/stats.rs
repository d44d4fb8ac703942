//! `milvus stats`: the `/metrics` figures that matter during an incident (runbook §3.4
//! `curl localhost:9091/metrics`, §4.4 vector search slow): collections, entities total
//! and loaded, search requests and failures, average search latency, memory.

use std::collections::BTreeMap;

use super::*;
use crate::executor::Inner;
use vabot_commands::ports::Outcome;

/// One sample of the Prometheus text format.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Parses the Prometheus text exposition format (comments skipped, timestamps ignored).
pub fn parse_metrics(text: &str) -> Vec<Sample> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (name, labels, rest) = match l.find('{') {
                Some(i) => {
                    let close = l.rfind('}')?;
                    (&l[..i], parse_labels(&l[i + 1..close]), &l[close + 1..])
                }
                None => {
                    let (n, r) = l.split_once(' ')?;
                    (n, BTreeMap::new(), r)
                }
            };
            let value = rest.split_whitespace().next()?.parse().ok()?;
            Some(Sample {
                name: name.to_owned(),
                labels,
                value,
            })
        })
        .collect()
}

fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        let key: String = chars
            .by_ref()
            .skip_while(|c| *c == ',' || c.is_whitespace())
            .take_while(|c| *c != '=')
            .collect();
        if key.is_empty() || chars.next() != Some('"') {
            break;
        }
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => {
                    if let Some(n) = chars.next() {
                        value.push(if n == 'n' { '\n' } else { n });
                    }
                }
                c => value.push(c),
            }
        }
        out.insert(key.trim().to_owned(), value);
    }
    out
}

/// The sum of a metric's samples whose labels include all of `want`.
pub fn sum(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<f64> = samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            want.iter()
                .all(|(k, v)| s.labels.get(*k).is_some_and(|x| x.eq_ignore_ascii_case(v)))
        })
        .map(|s| s.value)
        .collect();
    (!matching.is_empty()).then(|| matching.iter().sum())
}

pub fn render_stats(samples: &[Sample]) -> Message {
    let n = |v: Option<f64>| v.map_or_else(|| "not exposed".to_owned(), |v| format!("{v:.0}"));
    let collections = sum(samples, "milvus_rootcoord_collection_num", &[]);
    let total = sum(
        samples,
        "milvus_rootcoord_entity_num",
        &[("status", "total")],
    );
    let loaded = sum(
        samples,
        "milvus_rootcoord_entity_num",
        &[("status", "loaded")],
    );
    let ok = sum(
        samples,
        "milvus_proxy_req_count",
        &[("function_name", "Search"), ("status", "success")],
    );
    let fail = sum(
        samples,
        "milvus_proxy_req_count",
        &[("function_name", "Search"), ("status", "fail")],
    );
    let lat_sum = sum(
        samples,
        "milvus_proxy_sq_latency_sum",
        &[("query_type", "search")],
    );
    let lat_n = sum(
        samples,
        "milvus_proxy_sq_latency_count",
        &[("query_type", "search")],
    );
    let rss = sum(samples, "process_resident_memory_bytes", &[]);
    let mut warnings = Vec::new();
    let fail_rate = match (ok, fail) {
        (Some(o), Some(f)) if o + f > 0.0 => {
            let r = f / (o + f);
            if r > 0.01 {
                warnings.push(format!("{:.1}% of searches failed", r * 100.0));
            }
            format!("{:.0} ok, {:.0} failed ({:.1}%)", o, f, r * 100.0)
        }
        (Some(o), None) => format!("{o:.0} ok"),
        _ => "not exposed".into(),
    };
    // Collections with entities but none loaded cannot be searched (§4.4).
    let mut unloaded = Vec::new();
    let mut by_collection: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for s in samples
        .iter()
        .filter(|s| s.name == "milvus_rootcoord_entity_num")
    {
        let Some(c) = s.labels.get("collection_name") else {
            continue;
        };
        let e = by_collection.entry(c).or_default();
        match s.labels.get("status").map(String::as_str) {
            Some("total") => e.0 += s.value,
            Some("loaded") => e.1 += s.value,
            _ => {}
        }
    }
    for (c, (t, l)) in &by_collection {
        if *t > 0.0 && *l == 0.0 {
            unloaded.push((*c).to_owned());
        }
    }
    if !unloaded.is_empty() {
        warnings.push(format!(
            "not loaded (searches on them fail): {}",
            unloaded.join(", ")
        ));
    }
    let latency = match (lat_sum, lat_n) {
        (Some(s), Some(c)) if c > 0.0 => format!("{:.1} ms average since start", s / c),
        _ => "not exposed".into(),
    };
    let mut m = Message::new(if warnings.is_empty() {
        Tone::Info
    } else {
        Tone::Warning
    })
    .header("Milvus metrics")
    .fields([
        ("collections", n(collections)),
        (
            "entities",
            format!("{} total, {} loaded", n(total), n(loaded)),
        ),
        ("searches", fail_rate),
        ("search latency", latency),
        (
            "memory (RSS)",
            rss.map_or_else(
                || "not exposed".into(),
                |b| format!("{:.0} MiB", b / 1_048_576.0),
            ),
        ),
    ]);
    if !warnings.is_empty() {
        m = m.paragraph(format!("⚠ {}", warnings.join("; ")));
    }
    m.context("Counters are since Milvus started; `/va prom` shows rates over time.")
}

pub(crate) async fn run(x: &Inner) -> Result<Outcome, ExecError> {
    let base = x.milvus_metrics("milvus stats")?;
    let raw = x
        .timed(WHAT, x.http.get_raw(WHAT, &join(&base, "metrics"), false))
        .await?;
    if !raw.status.is_success() {
        return Err(ExecError::Unavailable {
            what: WHAT.into(),
            detail: format!(
                "/metrics answered HTTP {}: {}",
                raw.status.as_u16(),
                excerpt(&raw.body, 200)
            ),
        });
    }
    let samples = parse_metrics(&raw.body);
    if samples.is_empty() {
        return Err(ExecError::Unavailable {
            what: WHAT.into(),
            detail: "/metrics has no samples in the Prometheus text format".into(),
        });
    }
    Ok(Outcome::reply(
        render_stats(&samples),
        format!("milvus stats: {} samples", samples.len()),
    ))
}
