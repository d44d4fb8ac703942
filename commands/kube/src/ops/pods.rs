//! `pods <service>`: the service's pods: status, restarts, node, age.

use vabot_commands::catalog::Service;
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use super::workload::{age_of, list_pods, selector_of};
use crate::cache::pod_state;
use crate::{Ctx, Inner};

pub(crate) async fn pods(_inner: &Inner, ctx: &Ctx, svc: &Service) -> Result<Message, ExecError> {
    let ns = svc.namespace.as_str();
    let selector = selector_of(ctx, svc).await?;
    let pods = list_pods(ctx, ns, &selector).await?;
    let rows: Vec<Vec<String>> = pods
        .iter()
        .map(|p| {
            let s = pod_state(p);
            let containers = p.spec.as_ref().map(|s| s.containers.len()).unwrap_or(0);
            let ready_containers = p
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .map(|cs| cs.iter().filter(|c| c.ready).count())
                .unwrap_or(0);
            vec![
                s.name.clone(),
                format!("{ready_containers}/{containers}"),
                s.reason.clone().unwrap_or_else(|| s.phase.clone()),
                s.restarts.to_string(),
                s.node.clone().unwrap_or_default(),
                age_of(p.metadata.creation_timestamp.as_ref()),
            ]
        })
        .collect();
    let running = pods.iter().filter(|p| pod_state(p).ready).count();
    let tone = if running == pods.len() && !pods.is_empty() {
        Tone::Info
    } else {
        Tone::Warning
    };
    Ok(Message::new(tone)
        .header(format!("Pods of {} in {ns}", svc.name))
        .paragraph(format!(
            "{running} of {} pods Running and Ready.",
            pods.len()
        ))
        .table(
            &["NAME", "READY", "STATUS", "RESTARTS", "NODE", "AGE"],
            rows,
        ))
}
