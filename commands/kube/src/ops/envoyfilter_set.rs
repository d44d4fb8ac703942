//! `envoyfilter set <name> tokens=<n> fill=<interval>`: the local rate limit's token
//! bucket (runbook §4.6 `kubectl edit envoyfilter rate-limit-filter`). `tokens` sets the
//! bucket size and the refill (`max_tokens`, `tokens_per_fill`), `fill` the
//! `fill_interval`. A JSON patch with a `test` of the bucket it read, so a concurrent edit
//! fails instead of being overwritten; the bucket before is the undo.

use kube::api::{Api, DynamicObject, Patch};
use serde_json::{Value, json};
use vabot_commands::plan::RiskClass;
use vabot_commands::ports::ExecError;

use super::istio::{EnvoyFilter, load_envoy_filter};
use super::{Done, Restore, check, fp_of, params, target};
use crate::cache::envoy_filter_resource;
use crate::{Ctx, Inner};

const LOCAL_RATELIMIT: &str = "envoy.filters.http.local_ratelimit";

/// The JSON pointer of the token bucket: in a `TypedStruct` (`typed_config.value`) or
/// a direct `LocalRateLimit` (`typed_config`).
pub(crate) fn bucket_path(spec: &Value) -> Option<String> {
    let patches = spec.get("configPatches")?.as_array()?;
    patches.iter().enumerate().find_map(|(i, p)| {
        let value = p.pointer("/patch/value")?;
        if value.get("name").and_then(Value::as_str) != Some(LOCAL_RATELIMIT) {
            return None;
        }
        let base = format!("/spec/configPatches/{i}/patch/value/typed_config");
        if value.pointer("/typed_config/value/token_bucket").is_some() {
            Some(format!("{base}/value/token_bucket"))
        } else if value.pointer("/typed_config/token_bucket").is_some() {
            Some(format!("{base}/token_bucket"))
        } else {
            None
        }
    })
}

fn field(bucket: &Value, k: &str) -> String {
    match bucket.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => "-".into(),
    }
}

/// Replaces the bucket at `path` with `to`, as a JSON patch that first tests it is still
/// `from`: a concurrent edit fails instead of being overwritten.
#[allow(clippy::too_many_arguments)]
async fn replace_bucket(
    ctx: &Ctx,
    api: &Api<DynamicObject>,
    ns: &str,
    name: &str,
    path: &str,
    from: &Value,
    to: &Value,
    dry: bool,
) -> Result<(), ExecError> {
    let patch: Patch<Value> = Patch::Json(
        serde_json::from_value(json!([
            {"op": "test", "path": path, "value": from},
            {"op": "replace", "path": path, "value": to},
        ]))
        .map_err(|e| ExecError::Internal {
            detail: e.to_string(),
        })?,
    );
    ctx.op("patch", "envoyfilters", ns, name)
        .run(api.patch(name, &params(dry), &patch))
        .await
        .map(|_| ())
}

/// The bucket fields that differ, as `(field, before, after)`.
fn bucket_changes(from: &Value, to: &Value) -> Vec<(String, String, String)> {
    ["max_tokens", "tokens_per_fill", "fill_interval"]
        .iter()
        .filter(|k| from.get(**k) != to.get(**k))
        .map(|k| ((*k).to_owned(), field(from, k), field(to, k)))
        .collect()
}

pub(crate) async fn envoyfilter_set(
    inner: &Inner,
    ctx: &Ctx,
    name: &str,
    tokens: Option<u32>,
    fill_secs: Option<u64>,
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    let EnvoyFilter {
        api,
        ns,
        object: ef,
        fingerprint: fp,
        what,
    } = load_envoy_filter(inner, ctx, name, expect).await?;
    let root = json!({"spec": ef.data.get("spec").cloned().unwrap_or(Value::Null)});
    let path = bucket_path(&root["spec"]).ok_or_else(|| ExecError::Precondition {
        why: format!(
            "{what} has no {LOCAL_RATELIMIT} filter with a token_bucket; `/va istio` shows its filters"
        ),
    })?;
    let before = root.pointer(&path).cloned().unwrap_or(Value::Null);
    let mut after = before.clone();
    if let Some(t) = tokens {
        after["max_tokens"] = json!(t);
        after["tokens_per_fill"] = json!(t);
    }
    if let Some(s) = fill_secs {
        after["fill_interval"] = json!(format!("{s}s"));
    }
    if after == before {
        return Err(ExecError::Precondition {
            why: format!("{what} already has these token bucket settings"),
        });
    }
    replace_bucket(
        ctx,
        &api,
        &ns,
        name,
        &path,
        &before,
        &after,
        expect.is_none(),
    )
    .await?;
    let changes = bucket_changes(&before, &after);
    Ok(Done {
        summary: format!("Set the token bucket of {what}"),
        done_title: "Rate limit set on".into(),
        target: target("EnvoyFilter", &ns, name),
        changes,
        fingerprint: fp,
        notes: vec![
            "Envoy picks the change up on the next config push; `/va prom 429-rate` shows its effect."
                .into(),
        ],
        risk: RiskClass::Write,
        before: Restore::EnvoyBucket {
            namespace: ns.clone(),
            name: name.to_owned(),
            path,
            bucket: before,
        },
        after,
    })
}

/// Undo: puts the recorded bucket back (tested against the current one).
pub(crate) async fn restore_bucket(
    ctx: &Ctx,
    ns: &str,
    name: &str,
    path: &str,
    bucket: &Value,
    expect: Option<&str>,
) -> Result<(String, Value, Vec<(String, String, String)>), ExecError> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.client.clone(), ns, &envoy_filter_resource());
    let ef = ctx
        .op("get", "envoyfilters", ns, name)
        .run(api.get(name))
        .await?;
    let fp = fp_of(&ef.metadata);
    check(expect, &fp, &format!("EnvoyFilter {ns}/{name}"))?;
    let root = json!({"spec": ef.data.get("spec").cloned().unwrap_or(Value::Null)});
    let current = root
        .pointer(path)
        .cloned()
        .ok_or_else(|| ExecError::Precondition {
            why: format!("EnvoyFilter {ns}/{name} no longer has the token bucket at {path}"),
        })?;
    replace_bucket(
        ctx,
        &api,
        ns,
        name,
        path,
        &current,
        bucket,
        expect.is_none(),
    )
    .await?;
    let changes = bucket_changes(&current, bucket);
    Ok((fp, current, changes))
}
