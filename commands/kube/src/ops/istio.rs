//! `istio [namespace]`: EnvoyFilters and VirtualService routes with their weights.

use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use crate::cache::envoy_filter_resource;
use crate::{Ctx, Inner};

pub(crate) fn virtual_service_resource() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(
        "networking.istio.io",
        "v1",
        "VirtualService",
    ))
}

/// An EnvoyFilter of the apps namespace, read for a write: its API, the object, its
/// fingerprint and how to name it; refused when the plan's fingerprint moved.
pub(crate) struct EnvoyFilter {
    pub api: Api<DynamicObject>,
    pub ns: String,
    pub object: DynamicObject,
    pub fingerprint: String,
    pub what: String,
}

pub(crate) async fn load_envoy_filter(
    inner: &Inner,
    ctx: &Ctx,
    name: &str,
    expect: Option<&str>,
) -> Result<EnvoyFilter, ExecError> {
    if !inner.has_istio() {
        return Err(ExecError::Precondition {
            why: "the Istio API (networking.istio.io) is not served by this cluster".into(),
        });
    }
    let ns = inner.catalog().namespaces.apps.as_str().to_owned();
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), &ns, &envoy_filter_resource());
    let object = ctx
        .op("get", "envoyfilters", &ns, name)
        .run(api.get(name))
        .await?;
    let fingerprint = super::fp_of(&object.metadata);
    let what = format!("EnvoyFilter {ns}/{name}");
    super::check(expect, &fingerprint, &what)?;
    Ok(EnvoyFilter {
        api,
        ns,
        object,
        fingerprint,
        what,
    })
}

pub(crate) async fn istio(
    inner: &Inner,
    ctx: &Ctx,
    namespaces: &[String],
) -> Result<Message, ExecError> {
    if !inner.has_istio() {
        return Ok(Message::text(
            Tone::Warning,
            "The Istio API (networking.istio.io) is not served by this cluster.",
        ));
    }
    let mut filters = Vec::new();
    let mut routes = Vec::new();
    for ns in namespaces {
        let ef: Api<DynamicObject> =
            Api::namespaced_with(ctx.client.clone(), ns, &envoy_filter_resource());
        for f in ctx
            .op("list", "envoyfilters", ns, "")
            .run(ef.list(&ListParams::default()))
            .await?
            .items
        {
            let selector = f.data["spec"]["workloadSelector"]["labels"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            let patches = f.data["spec"]["configPatches"]
                .as_array()
                .map(Vec::len)
                .unwrap_or(0);
            filters.push(vec![
                format!("{ns}/{}", f.name_any()),
                selector,
                patches.to_string(),
            ]);
        }
        let vs: Api<DynamicObject> =
            Api::namespaced_with(ctx.client.clone(), ns, &virtual_service_resource());
        for v in ctx
            .op("list", "virtualservices", ns, "")
            .run(vs.list(&ListParams::default()))
            .await?
            .items
        {
            for http in v.data["spec"]["http"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let weights = http["route"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|r| {
                        format!(
                            "{} {}%",
                            r["destination"]["subset"]
                                .as_str()
                                .or(r["destination"]["host"].as_str())
                                .unwrap_or("?"),
                            r["weight"].as_i64().unwrap_or(100)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" / ");
                routes.push(vec![
                    format!("{ns}/{}", v.name_any()),
                    http["name"].as_str().unwrap_or("-").to_owned(),
                    weights,
                ]);
            }
        }
    }
    let mut m = Message::new(Tone::Info).header(format!("Istio in {}", namespaces.join(", ")));
    m = if filters.is_empty() {
        m.paragraph("No EnvoyFilters.")
    } else {
        m.table(&["ENVOYFILTER", "WORKLOAD", "PATCHES"], filters)
    };
    m = if routes.is_empty() {
        m.paragraph("No VirtualService routes.")
    } else {
        m.table(&["VIRTUALSERVICE", "ROUTE", "WEIGHTS"], routes)
    };
    Ok(m)
}
