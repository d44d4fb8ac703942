//! `config set <service> KEY=VALUE [--restart]`: one ConfigMap key, optionally with a
//! rolling restart; the old value (or its absence) is the undo.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch};
use serde_json::{Value, json};
use vabot_commands::catalog::Service;
use vabot_commands::plan::RiskClass;
use vabot_commands::ports::ExecError;

use super::restart::restart_workload;
use super::workload::load;
use super::{Done, Restore, check, fp_of, params, target};
use crate::{Ctx, redact};

// === ConfigMap ===

pub(crate) async fn config_set(
    ctx: &Ctx,
    svc: &Service,
    key: &str,
    value: &str,
    restart: bool,
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    let ns = svc.namespace.as_str().to_owned();
    let Some(cm_name) = svc.configmap.clone() else {
        return Err(ExecError::Precondition {
            why: format!("the catalog names no ConfigMap for {}", svc.name),
        });
    };
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &ns);
    let cm = ctx
        .op("get", "configmaps", &ns, &cm_name)
        .run(api.get(&cm_name))
        .await?;
    let fp = fp_of(&cm.metadata);
    let what = format!("ConfigMap {ns}/{cm_name}");
    check(expect, &fp, &what)?;
    let old = cm.data.as_ref().and_then(|d| d.get(key).cloned());
    if old.as_deref() == Some(value) {
        return Err(ExecError::Precondition {
            why: format!("{key} in {what} already has that value"),
        });
    }
    let dry = expect.is_none();
    let patch: Patch<Value> = Patch::Merge(json!({"data": {key: value}}));
    ctx.op("patch", "configmaps", &ns, &cm_name)
        .run(api.patch(&cm_name, &params(dry), &patch))
        .await?;
    let mut notes = Vec::new();
    let mut restarted = None;
    if restart {
        let wl = load(ctx, svc).await?;
        restart_workload(ctx, &wl, dry).await?;
        notes.push(format!(
            "Then restarts {} so its pods read the new value.",
            wl.what()
        ));
        restarted = Some((wl.kind, wl.name.clone()));
    } else {
        notes.push(format!(
            "Pods of {} read the new value only after a restart (`--restart`).",
            svc.name
        ));
    }
    let shown =
        |v: Option<&str>| v.map_or_else(|| "(unset)".to_owned(), |v| redact::config_value(key, v));
    Ok(Done {
        summary: format!(
            "Set {key} in {what}{}",
            if restart { " and restart" } else { "" }
        ),
        done_title: "Updated".into(),
        target: target("ConfigMap", &ns, &cm_name),
        changes: vec![(key.to_owned(), shown(old.as_deref()), shown(Some(value)))],
        fingerprint: fp,
        notes,
        risk: RiskClass::Write,
        before: Restore::Config {
            namespace: ns.clone(),
            name: cm_name.clone(),
            key: key.to_owned(),
            value: old,
            restart: restarted,
        },
        after: json!({"key": key, "restarted": restart}),
    })
}
