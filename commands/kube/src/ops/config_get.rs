//! `config get <service> [KEY]`: the service's ConfigMap values (secret-looking values
//! redacted) and the keys of its Secret, never their values.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use vabot_commands::catalog::Service;
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use crate::{Ctx, redact};

pub(crate) async fn config_get(
    ctx: &Ctx,
    svc: &Service,
    key: Option<&str>,
) -> Result<Message, ExecError> {
    let ns = svc.namespace.as_str();
    let Some(cm_name) = &svc.configmap else {
        return Err(ExecError::Precondition {
            why: format!("the catalog names no ConfigMap for {}", svc.name),
        });
    };
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), ns);
    let cm = ctx
        .op("get", "configmaps", ns, cm_name)
        .run(api.get(cm_name))
        .await?;
    let data = cm.data.clone().unwrap_or_default();
    let rows: Vec<Vec<String>> = data
        .iter()
        .filter(|(k, _)| key.is_none_or(|want| want == k.as_str()))
        .map(|(k, v)| vec![k.clone(), redact::config_value(k, v)])
        .collect();
    if let Some(k) = key
        && rows.is_empty()
    {
        return Err(ExecError::NotFound {
            what: format!("key {k} in ConfigMap {ns}/{cm_name}"),
        });
    }
    let mut m = Message::new(Tone::Info)
        .header(format!("ConfigMap {ns}/{cm_name}"))
        .table(&["KEY", "VALUE"], rows);
    if key.is_none()
        && let Some(secret) = &svc.secret
    {
        let api: Api<Secret> = Api::namespaced(ctx.client.clone(), ns);
        match ctx
            .op("get", "secrets", ns, secret)
            .run(api.get(secret))
            .await
        {
            Ok(s) => {
                // Only the key names: values never leave the cluster.
                let mut keys: Vec<String> = s.data.unwrap_or_default().into_keys().collect();
                keys.extend(s.string_data.unwrap_or_default().into_keys());
                keys.sort();
                keys.dedup();
                m = m.paragraph(format!(
                    "Secret {secret} holds the keys: {} (values are never shown)",
                    keys.join(", ")
                ));
            }
            Err(e @ ExecError::Forbidden { .. }) => {
                m = m.paragraph(format!("Secret {secret}: {e}"))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(m.context("Secret-looking values are redacted."))
}
