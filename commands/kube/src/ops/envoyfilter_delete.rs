//! `envoyfilter delete <name>`: deletes an EnvoyFilter; its manifest is the undo.

use kube::api::DeleteParams;
use serde_json::json;
use vabot_commands::plan::RiskClass;
use vabot_commands::ports::ExecError;

use super::istio::{EnvoyFilter, load_envoy_filter};
use super::{Done, Restore, target};
use crate::{Ctx, Inner};

pub(crate) async fn envoyfilter_delete(
    inner: &Inner,
    ctx: &Ctx,
    name: &str,
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    let EnvoyFilter {
        api,
        ns,
        object: ef,
        fingerprint: fp,
        what,
    } = load_envoy_filter(inner, ctx, name, expect).await?;
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
