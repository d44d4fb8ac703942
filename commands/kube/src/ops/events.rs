//! `events [service]`: recent events, warnings first.

use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, ListParams};
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use super::all_ns;
use super::health::truncate;
use crate::cache::event_time;
use crate::{Ctx, Inner, redact};

pub(crate) async fn recent_events(
    ctx: &Ctx,
    ns: &str,
    name_prefix: &str,
    n: usize,
) -> Result<Vec<Vec<String>>, ExecError> {
    let api: Api<Event> = Api::namespaced(ctx.client.clone(), ns);
    let mut events: Vec<Event> = ctx
        .op("list", "events", ns, "")
        .run(api.list(&ListParams::default()))
        .await?
        .items
        .into_iter()
        .filter(|e| {
            e.involved_object
                .name
                .as_deref()
                .is_some_and(|o| name_prefix.is_empty() || o.starts_with(name_prefix))
        })
        .collect();
    events.sort_by_key(|e| std::cmp::Reverse(event_time(e)));
    Ok(events
        .iter()
        .take(n)
        .map(|e| {
            vec![
                event_time(e)
                    .map(|t| t.format("%H:%M:%S").to_string())
                    .unwrap_or_default(),
                e.type_.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
                format!(
                    "{}/{}",
                    e.involved_object.kind.clone().unwrap_or_default(),
                    e.involved_object.name.clone().unwrap_or_default()
                ),
                truncate(&redact::text(e.message.as_deref().unwrap_or_default()), 100),
            ]
        })
        .collect())
}

pub(crate) const EVENT_HEADERS: [&str; 5] = ["TIME", "TYPE", "REASON", "OBJECT", "MESSAGE"];

pub(crate) async fn events(
    inner: &Inner,
    ctx: &Ctx,
    service: Option<&str>,
) -> Result<Message, ExecError> {
    let (namespaces, prefix) = match service {
        Some(s) => {
            let svc = inner.service(s)?;
            (vec![svc.namespace.as_str().to_owned()], s.to_owned())
        }
        None => (all_ns(inner), String::new()),
    };
    let mut rows = Vec::new();
    for ns in &namespaces {
        rows.extend(recent_events(ctx, ns, &prefix, 20).await?);
    }
    rows.sort_by(|a, b| b[0].cmp(&a[0]));
    rows.truncate(20);
    let title = service.map_or_else(|| namespaces.join(", "), str::to_owned);
    if rows.is_empty() {
        return Ok(Message::text(
            Tone::Info,
            format!("No recent events for {title}."),
        ));
    }
    Ok(Message::new(Tone::Info)
        .header(format!("Recent events of {title}"))
        .table(&EVENT_HEADERS, rows))
}
