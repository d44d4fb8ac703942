//! `endpoints <service>`: ready and not-ready addresses from the Service's EndpointSlices.

use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams};
use vabot_commands::catalog::Service;
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use crate::Ctx;

pub(crate) async fn endpoints(ctx: &Ctx, svc: &Service) -> Result<Message, ExecError> {
    let ns = svc.namespace.as_str();
    let api: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), ns);
    let slices = ctx
        .op("list", "endpointslices", ns, "")
        .run(api.list(
            &ListParams::default().labels(&format!("kubernetes.io/service-name={}", svc.name)),
        ))
        .await?
        .items;
    let mut rows = Vec::new();
    for s in &slices {
        let ports = s
            .ports
            .as_ref()
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        format!(
                            "{}{}",
                            p.port.unwrap_or(0),
                            p.name.as_ref().map(|n| format!("/{n}")).unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        for e in s.endpoints.iter().flatten() {
            let ready = e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
            rows.push(vec![
                e.addresses.join(","),
                ports.clone(),
                if ready {
                    "ready".into()
                } else {
                    "NOT READY".into()
                },
                e.target_ref
                    .as_ref()
                    .and_then(|t| t.name.clone())
                    .unwrap_or_default(),
            ]);
        }
    }
    if slices.is_empty() {
        return Err(ExecError::NotFound {
            what: format!("endpoints of Service {} in {ns}", svc.name),
        });
    }
    let ready = rows.iter().filter(|r| r[2] == "ready").count();
    let tone = if ready == 0 { Tone::Danger } else { Tone::Info };
    Ok(Message::new(tone)
        .header(format!("Endpoints of {ns}/{}", svc.name))
        .paragraph(format!("{ready} ready, {} not ready.", rows.len() - ready))
        .table(&["ADDRESS", "PORTS", "STATE", "POD"], rows))
}
