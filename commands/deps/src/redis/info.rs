//! `redis info [section]`: INFO sections parsed into named fields.

use super::*;
use crate::executor::Inner;
use vabot_commands::ports::Outcome;

// === rendering ===

pub(crate) fn render_info(info: &Info, section: Option<&str>) -> Message {
    let first = preferred(section);
    let mut fields: Vec<(String, String)> = first
        .iter()
        .filter_map(|k| info.get(k).map(|v| ((*k).to_owned(), v.to_owned())))
        .collect();
    // The whole section when one was asked for; only the summary for a bare `redis info`.
    if section.is_some() {
        for (k, v) in &info.fields {
            if !first.contains(&k.as_str()) && fields.len() < 40 {
                fields.push((k.clone(), v.clone()));
            }
        }
    }
    let title = match section {
        Some(s) => format!("Redis INFO {s}"),
        None => "Redis INFO (summary)".to_owned(),
    };
    let mut tone = Tone::Info;
    if info.u64("evicted_keys").is_some_and(|n| n > 0) {
        tone = Tone::Warning;
    }
    Message::new(tone).header(title).fields(fields)
}

pub(crate) async fn run(x: &Inner, section: Option<&str>) -> Result<Outcome, ExecError> {
    let info = x.timed(WHAT, x.redis("redis info")?.info(section)).await?;
    let summary = format!("redis info {}", section.unwrap_or(""))
        .trim_end()
        .to_owned();
    Ok(Outcome::reply(render_info(&info, section), summary))
}
