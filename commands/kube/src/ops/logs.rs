//! `logs <service|pod> [--previous] [--container c] [--tail n] [--since d]`: a redacted
//! tail; long output is previewed and attached whole.

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use kube::api::{Api, LogParams};
use vabot_commands::grammar::Target;
use vabot_commands::message::{Attachment, Message, Tone};
use vabot_commands::ports::ExecError;

use super::workload::{list_pods, selector_of};
use crate::cache::pod_state;
use crate::{Ctx, Inner, redact};

/// Lines of a log shown inline; the rest goes into the attached file.
pub(crate) const LOG_INLINE_LINES: usize = 30;

pub(crate) const LOG_INLINE_CHARS: usize = 2500;

#[allow(clippy::too_many_arguments)]
pub(crate) async fn logs(
    inner: &Inner,
    ctx: &Ctx,
    target: &Target,
    previous: bool,
    container: Option<&str>,
    tail: u32,
    since: Option<u64>,
) -> Result<Message, ExecError> {
    let svc = inner.service(target.service())?;
    let ns = svc.namespace.as_str();
    let pod = match target {
        Target::Pod { pod, .. } => pod.clone(),
        Target::Service(_) => {
            let selector = selector_of(ctx, svc).await?;
            let pods = list_pods(ctx, ns, &selector).await?;
            // Prefer a pod that is not Ready: that is the one whose logs matter.
            let pick = pods
                .iter()
                .find(|p| !pod_state(p).ready)
                .or_else(|| pods.first())
                .ok_or_else(|| ExecError::NotFound {
                    what: format!("a pod of {} in {ns}", svc.name),
                })?;
            pick.name_any()
        }
    };
    let known: Vec<&str> = svc
        .containers
        .iter()
        .chain(&svc.sidecars)
        .map(String::as_str)
        .collect();
    if let Some(c) = container
        && !known.contains(&c)
    {
        return Err(ExecError::Precondition {
            why: format!(
                "{} has no container `{c}`; its containers: {}",
                svc.name,
                known.join(", ")
            ),
        });
    }
    // With a sidecar injected the pod has several containers and the API wants a name:
    // the service's own (first) container unless another was asked for.
    let container = container.or_else(|| {
        (!svc.sidecars.is_empty())
            .then(|| svc.containers.first().map(String::as_str))
            .flatten()
    });
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let lp = LogParams {
        container: container.map(str::to_owned),
        previous,
        tail_lines: Some(i64::from(tail.max(1))),
        since_seconds: since.map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
        ..LogParams::default()
    };
    let text = ctx
        .op("get", "pods/log", ns, &pod)
        .run(api.logs(&pod, &lp))
        .await?;
    let clean = redact::text(&text);
    let title = format!(
        "Logs of {ns}/{pod}{}{}",
        container.map(|c| format!(" ({c})")).unwrap_or_default(),
        if previous { ", previous container" } else { "" }
    );
    Ok(log_message(&title, &pod, &clean))
}

/// A redacted log for chat: the last lines inline, the whole text attached when cut.
pub(crate) fn log_message(title: &str, pod: &str, clean: &str) -> Message {
    let lines: Vec<&str> = clean.lines().collect();
    if lines.is_empty() {
        return Message::text(Tone::Info, format!("{title}: no log lines."));
    }
    let mut shown: Vec<&str> = lines.iter().rev().take(LOG_INLINE_LINES).copied().collect();
    shown.reverse();
    let full_shown = shown.join("\n");
    let mut inline = full_shown.clone();
    if inline.len() > LOG_INLINE_CHARS {
        let cut = inline.len() - LOG_INLINE_CHARS;
        let start = (cut..inline.len())
            .find(|i| inline.is_char_boundary(*i))
            .unwrap_or(0);
        inline = inline[start..].to_owned();
    }
    let truncated = shown.len() < lines.len() || inline.len() < full_shown.len();
    let m = Message::new(Tone::Info).header(title).code(inline);
    if truncated {
        m.context(format!(
            "Showing the last lines of {}; the full (redacted) log is attached.",
            lines.len()
        ))
        .attach(Attachment {
            filename: format!("{pod}.log"),
            mime: "text/plain".into(),
            bytes: clean.as_bytes().to_vec(),
            title: format!("{pod} log ({} lines, redacted)", lines.len()),
        })
    } else {
        m.context("Secret-looking values are redacted.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_log_shows_its_tail_inline_and_attaches_the_whole_text() {
        let log: String = (0..200).map(|i| format!("line {i}\n")).collect();
        let m = log_message("Logs", "p-1", &log);
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].bytes, log.as_bytes());
        let text = m.plain_text();
        assert!(
            text.contains("line 199") && !text.contains("line 100\n"),
            "{text}"
        );
    }

    #[test]
    fn a_short_log_is_shown_whole_without_attachment() {
        let m = log_message("Logs", "p-1", "a\nb\n");
        assert!(m.attachments.is_empty());
        assert!(m.plain_text().contains('b'));
    }
}
