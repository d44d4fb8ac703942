//! `svc [namespace]`: the Services, their ports and selectors, and how many ready
//! endpoints stand behind each (runbook §4.2 `kubectl get svc`). A Service with a selector
//! and no ready endpoint is listed first: that is the "connection refused" of §4.2.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service as KubeService;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use crate::Ctx;

/// Ready and total endpoints per Service name, from the namespace's EndpointSlices.
async fn endpoint_counts(
    ctx: &Ctx,
    ns: &str,
) -> Result<BTreeMap<String, (usize, usize)>, ExecError> {
    let api: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), ns);
    let slices = ctx
        .op("list", "endpointslices", ns, "")
        .run(api.list(&ListParams::default()))
        .await?
        .items;
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for s in slices {
        let Some(svc) = s.labels().get("kubernetes.io/service-name").cloned() else {
            continue;
        };
        let entry = counts.entry(svc).or_default();
        for e in s.endpoints.iter().flatten() {
            entry.1 += 1;
            if e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true) {
                entry.0 += 1;
            }
        }
    }
    Ok(counts)
}

pub(crate) async fn svc(ctx: &Ctx, namespaces: &[String]) -> Result<Message, ExecError> {
    let mut rows: Vec<(bool, Vec<String>)> = Vec::new();
    for ns in namespaces {
        let api: Api<KubeService> = Api::namespaced(ctx.client.clone(), ns);
        let services = ctx
            .op("list", "services", ns, "")
            .run(api.list(&ListParams::default()))
            .await?
            .items;
        let counts = endpoint_counts(ctx, ns).await?;
        for s in services {
            let name = s.name_any();
            let spec = s.spec.clone().unwrap_or_default();
            let ports = spec
                .ports
                .iter()
                .flatten()
                .map(|p| {
                    let target = p
                        .target_port
                        .as_ref()
                        .map(|t| match t {
                            IntOrString::Int(i) => i.to_string(),
                            IntOrString::String(s) => s.clone(),
                        })
                        .filter(|t| *t != p.port.to_string())
                        .map(|t| format!("→{t}"))
                        .unwrap_or_default();
                    format!(
                        "{}{target}/{}",
                        p.port,
                        p.protocol.as_deref().unwrap_or("TCP")
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let selector = spec.selector.as_ref().filter(|m| !m.is_empty()).map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            });
            let (ready, total) = counts.get(&name).copied().unwrap_or((0, 0));
            // Without a selector, endpoints are managed by hand: nothing to judge.
            let empty = selector.is_some() && ready == 0;
            let endpoints = match (selector.is_some(), ready, total) {
                (false, _, _) => "(no selector)".to_owned(),
                (true, 0, 0) => "⚠ none: no pod matches the selector".to_owned(),
                (true, 0, t) => format!("⚠ 0 of {t} ready"),
                (true, r, t) => format!("{r} of {t} ready"),
            };
            rows.push((
                empty,
                vec![
                    format!("{ns}/{name}"),
                    spec.type_.unwrap_or_else(|| "ClusterIP".into()),
                    ports,
                    selector.unwrap_or_else(|| "-".into()),
                    endpoints,
                ],
            ));
        }
    }
    if rows.is_empty() {
        return Ok(Message::text(
            Tone::Info,
            format!("No Services in {}.", namespaces.join(", ")),
        ));
    }
    let empty = rows.iter().filter(|(e, _)| *e).count();
    rows.sort_by_key(|(e, _)| !*e);
    let tone = if empty > 0 { Tone::Warning } else { Tone::Info };
    let mut m = Message::new(tone)
        .header(format!("Services in {}", namespaces.join(", ")))
        .table(
            &["SERVICE", "TYPE", "PORTS", "SELECTOR", "ENDPOINTS"],
            rows.into_iter().map(|(_, r)| r).collect(),
        );
    if empty > 0 {
        m = m.paragraph(format!(
            "{empty} Service(s) have no ready endpoint: callers get connection refused. `/va endpoints <service>` and `/va pods <service>` show why."
        ));
    }
    Ok(m)
}
