//! Prometheus HTTP API: instant queries for the current values, range queries for the chart.

pub(crate) mod query;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use vabot_commands::message::{Attachment, Message, Tone};
use vabot_commands::ports::ExecError;

use crate::chart::{self, Series};
use crate::http::{Http, excerpt, join};

pub(crate) const WHAT: &str = "Prometheus";
/// The chart's time range when `--since` is not given.
pub const DEFAULT_SINCE: Duration = Duration::from_secs(3600);
/// About this many points per series in a range query.
const POINTS: u64 = 240;

/// The API envelope (`/api/v1/query`, `/api/v1/query_range`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiResponse<T> {
    /// `success` or `error`.
    pub status: String,
    pub data: Option<T>,
    #[serde(rename = "errorType", default)]
    pub error_type: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
}

/// `data` of a query answer, by `resultType`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
pub enum QueryData {
    Vector(Vec<VectorSample>),
    Matrix(Vec<RangeSeries>),
    Scalar(Sample),
    String(Sample),
}

/// `[unix seconds, "value"]`: Prometheus sends values as strings (NaN, +Inf).
pub type Sample = (f64, String);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorSample {
    pub metric: BTreeMap<String, String>,
    pub value: Sample,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RangeSeries {
    pub metric: BTreeMap<String, String>,
    pub values: Vec<Sample>,
}

/// A query's current values and its history.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub query: String,
    pub current: Vec<(String, f64)>,
    pub history: Vec<Series>,
    pub since: Duration,
}

impl QueryResult {
    /// The sum of the current values (e.g. the 429 rate over all series).
    pub fn total(&self) -> f64 {
        self.current
            .iter()
            .map(|(_, v)| v)
            .filter(|v| v.is_finite())
            .sum()
    }
}

/// `{__name__="x", a="b"}` → `x{a="b"}`; no labels → `value`.
pub fn series_label(metric: &BTreeMap<String, String>) -> String {
    let name = metric.get("__name__").cloned().unwrap_or_default();
    let labels: Vec<String> = metric
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    match (name.is_empty(), labels.is_empty()) {
        (true, true) => "value".into(),
        (false, true) => name,
        (_, false) => format!("{name}{{{}}}", labels.join(", ")),
    }
}

fn value(s: &str) -> f64 {
    match s {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().unwrap_or(f64::NAN),
    }
}

async fn api(
    http: &Http,
    base: &str,
    path: &str,
    params: &[(&str, String)],
) -> Result<QueryData, ExecError> {
    let url = join(base, path);
    let raw = http.get_raw_query(WHAT, &url, params).await?;
    let parsed: Result<ApiResponse<QueryData>, _> = serde_json::from_str(&raw.body);
    match parsed {
        Ok(r) if r.status == "success" => r.data.ok_or_else(|| ExecError::Unavailable {
            what: WHAT.into(),
            detail: "success without data".into(),
        }),
        // A bad query is the user's to fix: Prometheus' own message says what is wrong.
        Ok(r) if r.error_type.as_deref() == Some("bad_data") => Err(ExecError::Precondition {
            why: format!(
                "Prometheus rejected the query: {}",
                excerpt(r.error.as_deref().unwrap_or("bad_data"), 300)
            ),
        }),
        Ok(r) => Err(ExecError::Unavailable {
            what: WHAT.into(),
            detail: format!(
                "HTTP {} {}: {}",
                raw.status.as_u16(),
                r.error_type.unwrap_or_default(),
                r.error.unwrap_or_default()
            ),
        }),
        Err(e) => Err(ExecError::Unavailable {
            what: WHAT.into(),
            detail: format!(
                "HTTP {}, unexpected answer ({e}): {}",
                raw.status.as_u16(),
                excerpt(&raw.body, 200)
            ),
        }),
    }
}

/// One instant query: each series' labels and value, largest first.
pub(crate) async fn instant(
    http: &Http,
    base: &str,
    promql: &str,
) -> Result<Vec<(BTreeMap<String, String>, f64)>, ExecError> {
    let mut out = match api(http, base, "api/v1/query", &[("query", promql.to_owned())]).await? {
        QueryData::Vector(v) => v
            .into_iter()
            .map(|s| {
                let v = value(&s.value.1);
                (s.metric, v)
            })
            .collect(),
        QueryData::Scalar(s) => vec![(BTreeMap::new(), value(&s.1))],
        _ => Vec::new(),
    };
    out.sort_by(|a: &(BTreeMap<String, String>, f64), b| b.1.total_cmp(&a.1));
    Ok(out)
}

/// Current values (instant query) and history (range query over `since`), concurrently.
pub(crate) async fn query(
    http: &Http,
    base: &str,
    promql: &str,
    since: Duration,
) -> Result<QueryResult, ExecError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    let since = since.max(Duration::from_secs(60));
    let step = (since.as_secs() / POINTS).max(1);
    let start = now - since.as_secs_f64();
    let instant_params = [("query", promql.to_owned()), ("time", format!("{now:.3}"))];
    let range_params = [
        ("query", promql.to_owned()),
        ("start", format!("{start:.3}")),
        ("end", format!("{now:.3}")),
        ("step", format!("{step}s")),
    ];
    let instant = api(http, base, "api/v1/query", &instant_params);
    let range = api(http, base, "api/v1/query_range", &range_params);
    let (instant, range) = futures::future::join(instant, range).await;
    let current = match instant? {
        QueryData::Vector(v) => {
            let mut out: Vec<(String, f64)> = v
                .iter()
                .map(|s| (series_label(&s.metric), value(&s.value.1)))
                .collect();
            out.sort_by(|a, b| b.1.total_cmp(&a.1));
            out
        }
        QueryData::Scalar(s) => vec![("scalar".into(), value(&s.1))],
        QueryData::Matrix(m) => m
            .iter()
            .filter_map(|s| {
                let last = s.values.last()?;
                Some((series_label(&s.metric), value(&last.1)))
            })
            .collect(),
        QueryData::String(s) => vec![(s.1.clone(), f64::NAN)],
    };
    let history = match range? {
        QueryData::Matrix(m) => m
            .iter()
            .map(|s| Series {
                label: series_label(&s.metric),
                points: s
                    .values
                    .iter()
                    .map(|(t, v)| (*t, value(v)))
                    .filter(|(_, v)| v.is_finite())
                    .collect(),
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(QueryResult {
        query: promql.to_owned(),
        current,
        history,
        since,
    })
}

/// A number as people read it: `0.0123`, `12.3`, `1234`, `1.23e9`.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1e6 {
        format!("{v:.3e}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a >= 0.01 {
        format!("{v:.4}")
    } else {
        format!("{v:.3e}")
    }
}

/// `1h`, `30m`, `2d`, `90s`.
pub fn format_since(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(86400) {
        format!("{}d", s / 86400)
    } else if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}
