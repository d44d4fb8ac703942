//! `es indices`: `GET /_cat/indices?format=json`: health, docs, size.

use super::*;
use crate::executor::Inner;
use vabot_commands::ports::Outcome;

pub(crate) async fn indices(http: &Http, base: &str) -> Result<Vec<CatIndex>, ExecError> {
    http.get_json(
        WHAT,
        &join(base, "_cat/indices"),
        &[("format", "json".into()), ("bytes", "b".into())],
    )
    .await
}

pub(crate) fn render_indices(list: &[CatIndex]) -> Message {
    if list.is_empty() {
        return Message::text(Tone::Info, "Elasticsearch has no indices.");
    }
    let worst = if list.iter().any(|i| i.health.as_deref() == Some("red")) {
        Tone::Danger
    } else if list.iter().any(|i| i.health.as_deref() == Some("yellow")) {
        Tone::Warning
    } else {
        Tone::Success
    };
    let mut sorted: Vec<&CatIndex> = list.iter().collect();
    sorted.sort_by(|a, b| a.index.cmp(&b.index));
    let rows = sorted
        .iter()
        .take(50)
        .map(|i| {
            vec![
                i.index.clone(),
                i.health.clone().unwrap_or_else(|| "-".into()),
                i.status.clone().unwrap_or_else(|| "-".into()),
                i.docs_count.clone().unwrap_or_else(|| "-".into()),
                i.store_size
                    .as_deref()
                    .map(human_bytes)
                    .unwrap_or_else(|| "-".into()),
                format!(
                    "{}/{}",
                    i.pri.as_deref().unwrap_or("-"),
                    i.rep.as_deref().unwrap_or("-")
                ),
            ]
        })
        .collect();
    let mut m = Message::new(worst)
        .header(format!("Elasticsearch indices ({})", list.len()))
        .table(
            &["INDEX", "HEALTH", "STATUS", "DOCS", "SIZE", "PRI/REP"],
            rows,
        );
    if list.len() > 50 {
        m = m.context(format!("first 50 of {} indices", list.len()));
    }
    m
}

/// `12345678` (bytes, as `bytes=b` asks) → `11.8 MiB`; other strings pass through.
pub(crate) fn human_bytes(s: &str) -> String {
    let Ok(n) = s.parse::<f64>() else {
        return s.to_owned();
    };
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

pub(crate) async fn run(x: &Inner) -> Result<Outcome, ExecError> {
    let base = x.elasticsearch("es indices")?;
    let list = x.timed(WHAT, indices(&x.http, base)).await?;
    let summary = format!("es indices: {}", list.len());
    Ok(Outcome::reply(render_indices(&list), summary))
}
