//! `netpol [namespace]`: network policies and what they select.

use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use crate::Ctx;

pub(crate) async fn netpol(ctx: &Ctx, namespaces: &[String]) -> Result<Message, ExecError> {
    let mut rows = Vec::new();
    for ns in namespaces {
        let api: Api<NetworkPolicy> = Api::namespaced(ctx.client.clone(), ns);
        let list = ctx
            .op("list", "networkpolicies", ns, "")
            .run(api.list(&ListParams::default()))
            .await?;
        for p in list.items {
            let spec = p.spec.clone().unwrap_or_default();
            let selector = spec
                .pod_selector
                .as_ref()
                .and_then(|s| s.match_labels.clone())
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "(all pods)".into());
            let types = spec.policy_types.clone().unwrap_or_default().join(",");
            let from = spec
                .ingress
                .as_ref()
                .map(|rules| {
                    if rules.is_empty() {
                        return "deny all".to_owned();
                    }
                    rules
                        .iter()
                        .flat_map(|r| r.from.clone().unwrap_or_default())
                        .map(|peer| {
                            peer.pod_selector
                                .and_then(|s| s.match_labels)
                                .map(|m| {
                                    m.iter()
                                        .map(|(k, v)| format!("{k}={v}"))
                                        .collect::<Vec<_>>()
                                        .join(",")
                                })
                                .unwrap_or_else(|| "namespace/ipBlock".into())
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_else(|| "deny all".into());
            rows.push(vec![
                format!("{ns}/{}", p.name_any()),
                selector,
                types,
                from,
            ]);
        }
    }
    if rows.is_empty() {
        return Ok(Message::text(
            Tone::Info,
            format!("No NetworkPolicies in {}.", namespaces.join(", ")),
        ));
    }
    Ok(Message::new(Tone::Info)
        .header(format!("NetworkPolicies in {}", namespaces.join(", ")))
        .table(&["POLICY", "PODS", "TYPES", "INGRESS FROM"], rows))
}
