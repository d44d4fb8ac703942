//! `traffic <service> subset=weight…`: VirtualService weights (summing to 100); the
//! old routes are the undo.

use std::collections::BTreeMap;

use kube::api::{Api, DynamicObject};
use serde_json::{Value, json};
use vabot_commands::catalog::Service;
use vabot_commands::grammar::Weight;
use vabot_commands::plan::RiskClass;
use vabot_commands::ports::ExecError;

use super::istio::virtual_service_resource;
use super::workload::json_patch;
use super::{Done, Restore, check, fp_of, params, target};
use crate::{Ctx, Inner};

// === Istio ===

pub(crate) fn weights_text(http: &Value, index: usize) -> String {
    http[index]["route"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["destination"]["subset"].as_str().unwrap_or("?"),
                r["weight"].as_i64().unwrap_or(100)
            )
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

pub(crate) async fn traffic(
    inner: &Inner,
    ctx: &Ctx,
    svc: &Service,
    weights: &[Weight],
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    if !inner.has_istio() {
        return Err(ExecError::Precondition {
            why: "the Istio API (networking.istio.io) is not served by this cluster".into(),
        });
    }
    let ns = svc.namespace.as_str().to_owned();
    let Some(vs_name) = svc.virtual_service.clone() else {
        return Err(ExecError::Precondition {
            why: format!("the catalog names no VirtualService for {}", svc.name),
        });
    };
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), &ns, &virtual_service_resource());
    let vs = ctx
        .op("get", "virtualservices", &ns, &vs_name)
        .run(api.get(&vs_name))
        .await?;
    let fp = fp_of(&vs.metadata);
    let what = format!("VirtualService {ns}/{vs_name}");
    check(expect, &fp, &what)?;
    let http = vs.data["spec"]["http"].clone();
    let wanted: BTreeMap<&str, u8> = weights
        .iter()
        .map(|w| (w.subset.as_str(), w.weight))
        .collect();
    let mut ops = Vec::new();
    let mut changes = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, h) in http
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let routes = h["route"].as_array().cloned().unwrap_or_default();
        let subsets: Vec<&str> = routes
            .iter()
            .filter_map(|r| r["destination"]["subset"].as_str())
            .collect();
        if !subsets.iter().any(|s| wanted.contains_key(s)) {
            continue;
        }
        if let Some(missing) = subsets.iter().find(|s| !wanted.contains_key(*s)) {
            return Err(ExecError::Precondition {
                why: format!(
                    "route {i} of {what} also sends traffic to subset `{missing}`; give a weight for each of: {}",
                    subsets.join(", ")
                ),
            });
        }
        for (j, r) in routes.iter().enumerate() {
            let subset = r["destination"]["subset"].as_str().unwrap_or_default();
            seen.insert(subset.to_owned());
            let path = format!("/spec/http/{i}/route/{j}/weight");
            let new = wanted.get(subset).copied().unwrap_or(0);
            match r.get("weight") {
                // `test` makes the patch fail if the weight moved since it was read.
                Some(old) => {
                    ops.push(json!({"op": "test", "path": path, "value": old}));
                    ops.push(json!({"op": "replace", "path": path, "value": new}));
                }
                None => ops.push(json!({"op": "add", "path": path, "value": new})),
            }
        }
        let after = wanted
            .iter()
            .map(|(s, w)| format!("{s} {w}"))
            .collect::<Vec<_>>()
            .join(" / ");
        changes.push((
            format!("weights ({})", h["name"].as_str().unwrap_or("route")),
            weights_text(&http, i),
            after,
        ));
    }
    if let Some(unknown) = wanted.keys().find(|s| !seen.contains(**s)) {
        return Err(ExecError::Precondition {
            why: format!("{what} has no route to subset `{unknown}`"),
        });
    }
    // Custom resources reject strategic merge patches: a JSON patch it is.
    ctx.op("patch", "virtualservices", &ns, &vs_name)
        .run(api.patch(
            &vs_name,
            &params(expect.is_none()),
            &json_patch(Value::Array(ops))?,
        ))
        .await?;
    Ok(Done {
        summary: format!("Shift traffic of {what}"),
        done_title: "Traffic shifted on".into(),
        target: target("VirtualService", &ns, &vs_name),
        changes,
        fingerprint: fp,
        notes: Vec::new(),
        risk: RiskClass::Write,
        before: Restore::VsHttp {
            namespace: ns.clone(),
            name: vs_name.clone(),
            http,
        },
        after: json!({"weights": weights.iter().map(|w| (w.subset.clone(), w.weight)).collect::<BTreeMap<_, _>>()}),
    })
}
