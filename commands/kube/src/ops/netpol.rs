//! `netpol [namespace]`: network policies, the pods they select, and what they let in
//! (ingress: from whom, on which ports) and out (egress: to whom, on which ports).

use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use crate::Ctx;

fn labels(s: &LabelSelector) -> String {
    let mut parts: Vec<String> = s
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for e in s.match_expressions.iter().flatten() {
        parts.push(format!(
            "{} {} ({})",
            e.key,
            e.operator,
            e.values.clone().unwrap_or_default().join(",")
        ));
    }
    if parts.is_empty() {
        "all".into()
    } else {
        parts.join(",")
    }
}

fn peer(p: &NetworkPolicyPeer) -> String {
    if let Some(b) = &p.ip_block {
        let except = b.except.clone().unwrap_or_default();
        return if except.is_empty() {
            b.cidr.clone()
        } else {
            format!("{} except {}", b.cidr, except.join(","))
        };
    }
    match (&p.namespace_selector, &p.pod_selector) {
        (Some(ns), Some(pods)) => format!("pods {} in ns {}", labels(pods), labels(ns)),
        (Some(ns), None) => format!("ns {}", labels(ns)),
        (None, Some(pods)) => labels(pods),
        (None, None) => "anyone".into(),
    }
}

fn ports(ps: Option<&Vec<NetworkPolicyPort>>) -> String {
    let Some(ps) = ps.filter(|p| !p.is_empty()) else {
        return "all ports".into();
    };
    ps.iter()
        .map(|p| {
            let port = match &p.port {
                Some(IntOrString::Int(i)) => i.to_string(),
                Some(IntOrString::String(s)) => s.clone(),
                None => "*".into(),
            };
            let end = p.end_port.map(|e| format!("-{e}")).unwrap_or_default();
            format!("{}/{port}{end}", p.protocol.as_deref().unwrap_or("TCP"))
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// One direction's rules as text: `None` rules means the direction is not restricted.
fn rules<'a>(
    restricted: bool,
    rules: Option<
        impl Iterator<
            Item = (
                Option<&'a Vec<NetworkPolicyPeer>>,
                Option<&'a Vec<NetworkPolicyPort>>,
            ),
        >,
    >,
) -> String {
    if !restricted {
        return "(not restricted)".into();
    }
    let Some(rules) = rules else {
        return "deny all".into();
    };
    let text: Vec<String> = rules
        .map(|(peers, p)| {
            let who = match peers.filter(|v| !v.is_empty()) {
                Some(v) => v.iter().map(peer).collect::<Vec<_>>().join(" | "),
                None => "anyone".into(),
            };
            format!("{who} on {}", ports(p))
        })
        .collect();
    if text.is_empty() {
        "deny all".into()
    } else {
        text.join("; ")
    }
}

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
            let selector = match labels(&spec.pod_selector.clone().unwrap_or_default()).as_str() {
                "all" => "(all pods)".to_owned(),
                s => s.to_owned(),
            };
            // Kubernetes' defaulting: Ingress always, Egress when egress rules are given.
            let types = spec.policy_types.clone().unwrap_or_else(|| {
                let mut t = vec!["Ingress".to_owned()];
                if spec.egress.is_some() {
                    t.push("Egress".into());
                }
                t
            });
            let ingress = rules(
                types.iter().any(|t| t == "Ingress"),
                spec.ingress
                    .as_ref()
                    .map(|r| r.iter().map(|r| (r.from.as_ref(), r.ports.as_ref()))),
            );
            let egress = rules(
                types.iter().any(|t| t == "Egress"),
                spec.egress
                    .as_ref()
                    .map(|r| r.iter().map(|r| (r.to.as_ref(), r.ports.as_ref()))),
            );
            rows.push(vec![
                format!("{ns}/{}", p.name_any()),
                selector,
                types.join(","),
                ingress,
                egress,
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
        .table(
            &["POLICY", "PODS", "TYPES", "INGRESS FROM", "EGRESS TO"],
            rows,
        ))
}
