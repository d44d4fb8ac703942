//! `envoyfilter delete <name>`: deletes an EnvoyFilter; its manifest is the undo.

use kube::api::{Api, DeleteParams, DynamicObject};
use serde_json::json;
use vabot_commands::plan::RiskClass;
use vabot_commands::ports::ExecError;

use super::{Done, Restore, check, fp_of, target};
use crate::cache::envoy_filter_resource;
use crate::{Ctx, Inner};

pub(crate) async fn envoyfilter_delete(
    inner: &Inner,
    ctx: &Ctx,
    name: &str,
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    if !inner.has_istio() {
        return Err(ExecError::Precondition {
            why: "the Istio API (networking.istio.io) is not served by this cluster".into(),
        });
    }
    let ns = inner.catalog().namespaces.apps.as_str().to_owned();
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), &ns, &envoy_filter_resource());
    let ef = ctx
        .op("get", "envoyfilters", &ns, name)
        .run(api.get(name))
        .await?;
    let fp = fp_of(&ef.metadata);
    let what = format!("EnvoyFilter {ns}/{name}");
    check(expect, &fp, &what)?;
    let manifest = serde_json::to_value(&ef).map_err(|e| ExecError::Internal {
        detail: e.to_string(),
    })?;
    let dp = if expect.is_none() {
        DeleteParams::default().dry_run()
    } else {
        DeleteParams::default()
    };
    ctx.op("delete", "envoyfilters", &ns, name)
        .run(api.delete(name, &dp))
        .await?;
    Ok(Done {
        summary: format!("Delete {what}"),
        done_title: "Deleted".into(),
        target: target("EnvoyFilter", &ns, name),
        changes: vec![("EnvoyFilter".into(), "present".into(), "deleted".into())],
        fingerprint: fp,
        notes: vec!["Its manifest is kept so `/va undo` re-creates it.".into()],
        risk: RiskClass::Destructive,
        before: Restore::Create { manifest },
        after: json!({"deleted": true}),
    })
}
