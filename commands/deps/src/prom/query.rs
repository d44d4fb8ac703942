//! `prom <alias|query> [--since d]`: current values and a chart of the window.

use super::*;
use crate::executor::Inner;
use vabot_commands::ports::Outcome;

/// The reply: a table of current values and the chart as a PNG attachment.
pub(crate) fn render(name: &str, r: &QueryResult) -> Message {
    let since = format_since(r.since);
    let head = if name == r.query {
        "Prometheus query".to_owned()
    } else {
        format!("Prometheus: {name}")
    };
    if r.current.is_empty() && r.history.iter().all(|s| s.points.is_empty()) {
        return Message::new(Tone::Info)
            .header(head)
            .code(r.query.clone())
            .paragraph("The query returned no series (nothing matches, or no data yet).");
    }
    let rows: Vec<Vec<String>> = r
        .current
        .iter()
        .take(20)
        .map(|(l, v)| vec![l.clone(), format_value(*v)])
        .collect();
    let mut m = Message::new(Tone::Info)
        .header(head)
        .code(r.query.clone())
        .table(&["SERIES", "CURRENT"], rows);
    if r.current.len() > 20 {
        m = m.context(format!("first 20 of {} series", r.current.len()));
    }
    let title = format!("{name} (last {since})");
    // A single unlabelled series (e.g. `sum(…)`) is best named after what was asked.
    let mut history = r.history.clone();
    if let [only] = history.as_mut_slice()
        && only.label == "value"
    {
        only.label = name.to_owned();
    }
    match chart::render(&title, &history, chart::WIDTH, chart::HEIGHT) {
        Ok(png) => {
            let slug: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .take(40)
                .collect();
            let filename = if name == r.query {
                "prom-query.png".to_owned()
            } else {
                format!("prom-{slug}.png")
            };
            m.attach(Attachment {
                filename,
                mime: "image/png".into(),
                bytes: png,
                title,
            })
        }
        Err(e) => {
            tracing::warn!(error = %e, "Chart rendering failed");
            m.context("The chart could not be drawn; the values above are current.")
        }
    }
}

pub(crate) async fn run(
    x: &Inner,
    text: &str,
    since: Option<Duration>,
) -> Result<Outcome, ExecError> {
    let base = x.prometheus("prom")?;
    let promql = x.promql(text);
    let since = since.unwrap_or(DEFAULT_SINCE);
    let r = x.timed(WHAT, query(&x.http, base, &promql, since)).await?;
    let label = text.trim();
    let summary = format!("prom {label}: {} series", r.current.len());
    Ok(Outcome::reply(render(label, &r), summary))
}
