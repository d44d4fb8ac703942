//! `env <service> <KEY>`: whether the workload's template and each running pod carry an
//! environment variable, and from where (runbook §6.1, `kubectl exec … env | grep KEY`,
//! without exec). Values are shown only when they are neither secret-looking nor from a
//! Secret. A pod that started before its ConfigMap last changed is flagged: it still runs
//! with the old value until it is restarted.

use k8s_openapi::api::core::v1::{ConfigMap, Container, Pod};
use kube::ResourceExt;
use kube::api::Api;
use vabot_commands::catalog::Service;
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use super::workload::{age_of, list_pods, load, selector_of};
use crate::{Ctx, redact};

/// Where a container's variable comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Literal(String),
    ConfigMapKey {
        name: String,
        key: String,
    },
    SecretKey {
        name: String,
        key: String,
    },
    Field(String),
    /// `envFrom` a ConfigMap (the key is there only if the ConfigMap has it).
    ConfigMapAll {
        name: String,
        prefix: String,
    },
    SecretAll {
        name: String,
        prefix: String,
    },
}

/// The sources that can set `key` in a container, in Kubernetes' precedence order
/// (`env` wins over `envFrom`, later `envFrom` entries over earlier ones).
fn sources(c: &Container, key: &str) -> Vec<Source> {
    let mut out = Vec::new();
    for e in c.env.iter().flatten().filter(|e| e.name == key) {
        let s = match (&e.value, &e.value_from) {
            (Some(v), _) => Source::Literal(v.clone()),
            (None, Some(from)) => {
                if let Some(r) = &from.config_map_key_ref {
                    Source::ConfigMapKey {
                        name: r.name.clone(),
                        key: r.key.clone(),
                    }
                } else if let Some(r) = &from.secret_key_ref {
                    Source::SecretKey {
                        name: r.name.clone(),
                        key: r.key.clone(),
                    }
                } else if let Some(f) = &from.field_ref {
                    Source::Field(f.field_path.clone())
                } else {
                    Source::Field("resourceFieldRef".into())
                }
            }
            (None, None) => Source::Literal(String::new()),
        };
        out.push(s);
    }
    for f in c.env_from.iter().flatten().rev() {
        let prefix = f.prefix.clone().unwrap_or_default();
        if !key.starts_with(&prefix) {
            continue;
        }
        if let Some(r) = &f.config_map_ref {
            out.push(Source::ConfigMapAll {
                name: r.name.clone(),
                prefix,
            });
        } else if let Some(r) = &f.secret_ref {
            out.push(Source::SecretAll {
                name: r.name.clone(),
                prefix,
            });
        }
    }
    out
}

/// A ConfigMap as `env` needs it: its data and when it last changed.
struct Cm {
    data: std::collections::BTreeMap<String, String>,
    changed: Option<k8s_openapi::jiff::Timestamp>,
}

/// The ConfigMaps one `env` reads, each fetched once however many sources name it.
#[derive(Default)]
struct Cms(std::collections::BTreeMap<String, Option<Cm>>);

impl Cms {
    async fn get(&mut self, ctx: &Ctx, ns: &str, name: &str) -> Result<Option<&Cm>, ExecError> {
        if !self.0.contains_key(name) {
            let cm = configmap(ctx, ns, name).await?;
            self.0.insert(name.to_owned(), cm);
        }
        Ok(self.0.get(name).and_then(Option::as_ref))
    }

    /// When the last of them changed.
    fn changed(&self) -> Option<k8s_openapi::jiff::Timestamp> {
        self.0.values().flatten().filter_map(|c| c.changed).max()
    }
}

async fn configmap(ctx: &Ctx, ns: &str, name: &str) -> Result<Option<Cm>, ExecError> {
    let api: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), ns);
    let cm = ctx
        .op("get", "configmaps", ns, name)
        .run(api.get_opt(name))
        .await?;
    Ok(cm.map(|cm| {
        let changed = cm
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .filter_map(|f| f.time.as_ref().map(|t| t.0))
            .chain(cm.metadata.creation_timestamp.as_ref().map(|t| t.0))
            .max();
        Cm {
            data: cm.data.unwrap_or_default(),
            changed,
        }
    }))
}

fn shown(key: &str, value: &str) -> String {
    let v = redact::config_value(key, value);
    let v: String = v.chars().take(200).collect();
    format!("`{v}`")
}

pub(crate) async fn env(ctx: &Ctx, svc: &Service, key: &str) -> Result<Message, ExecError> {
    let ns = svc.namespace.as_str();
    let wl = load(ctx, svc).await?;
    let template = wl.template.spec.clone().unwrap_or_default();
    let mut lines = Vec::new();
    let mut configmaps = Cms::default();
    let mut found = false;
    for c in &template.containers {
        let srcs = sources(c, key);
        if srcs.is_empty() {
            lines.push(format!("{}: not set", c.name));
            continue;
        }
        // The first source that sets it wins; a ConfigMap without the key sets nothing.
        let mut described = Vec::new();
        let mut effective = None;
        for s in &srcs {
            let d = match s {
                Source::Literal(v) => {
                    effective.get_or_insert_with(|| shown(key, v));
                    format!("literal {}", shown(key, v))
                }
                Source::ConfigMapKey { name, key: k } => {
                    match configmaps.get(ctx, ns, name).await? {
                        Some(cm) => match cm.data.get(k) {
                            Some(v) => {
                                effective.get_or_insert_with(|| shown(key, v));
                                format!("ConfigMap {name} key {k} = {}", shown(key, v))
                            }
                            None => {
                                format!("⚠ ConfigMap {name} has no key {k}: the pod will not start")
                            }
                        },
                        None => {
                            format!("⚠ ConfigMap {name} does not exist: the pod will not start")
                        }
                    }
                }
                Source::SecretKey { name, key: k } => {
                    effective.get_or_insert_with(|| "(from a Secret, not shown)".into());
                    format!("Secret {name} key {k} (value not shown)")
                }
                Source::Field(path) => {
                    effective.get_or_insert_with(|| format!("the pod's {path}"));
                    format!("field {path}")
                }
                Source::ConfigMapAll { name, prefix } => {
                    let k = &key[prefix.len()..];
                    match configmaps.get(ctx, ns, name).await? {
                        Some(cm) => match cm.data.get(k) {
                            Some(v) => {
                                effective.get_or_insert_with(|| shown(key, v));
                                format!("envFrom ConfigMap {name} = {}", shown(key, v))
                            }
                            None => format!("envFrom ConfigMap {name}: no key {k}"),
                        },
                        None => format!("envFrom ConfigMap {name}: does not exist"),
                    }
                }
                Source::SecretAll { name, .. } => {
                    format!("envFrom Secret {name}, if it has the key (value not shown)")
                }
            };
            described.push(d);
        }
        if effective.is_some() {
            found = true;
        }
        lines.push(format!(
            "{}: {} — from {}",
            c.name,
            effective.unwrap_or_else(|| "not set".into()),
            described.join("; then ")
        ));
    }
    // Each pod: does its own spec carry the same sources (a pod from an older template does
    // not), and did it start before the ConfigMap it reads last changed?
    let selector = selector_of(ctx, svc).await?;
    let pods: Vec<Pod> = list_pods(ctx, ns, &selector)
        .await?
        .into_iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .collect();
    let changed_at = configmaps.changed();
    let mut rows = Vec::new();
    let mut stale = 0;
    for p in &pods {
        let spec = p.spec.clone().unwrap_or_default();
        let same = template.containers.iter().all(|tc| {
            spec.containers
                .iter()
                .find(|pc| pc.name == tc.name)
                .is_some_and(|pc| sources(pc, key) == sources(tc, key))
        });
        let started = p.status.as_ref().and_then(|s| s.start_time.as_ref());
        let carries = spec.containers.iter().any(|c| !sources(c, key).is_empty());
        let note = if !same {
            stale += 1;
            "⚠ from an older template: a rollout is pending or stuck".to_owned()
        } else if let (Some(start), Some(changed)) = (started, changed_at)
            && start.0 < changed
        {
            stale += 1;
            format!(
                "⚠ started before the ConfigMap changed ({} ago): still has the old value; `/va restart {}`",
                super::workload::human_secs(
                    (k8s_openapi::jiff::Timestamp::now().as_second() - changed.as_second()).max(0)
                ),
                svc.name
            )
        } else {
            "as the template".to_owned()
        };
        rows.push(vec![
            p.name_any(),
            age_of(started),
            if carries { "yes" } else { "no" }.to_owned(),
            note,
        ]);
    }
    let tone = if !found || stale > 0 {
        Tone::Warning
    } else {
        Tone::Info
    };
    let mut m = Message::new(tone)
        .header(format!(
            "{key} in {}{}",
            wl.what(),
            if found { "" } else { ": not set" }
        ))
        .paragraph(lines.join("\n"));
    if rows.is_empty() {
        m = m.paragraph("No running pod to compare.");
    } else {
        m = m.table(&["POD", "STARTED", "HAS KEY", "NOTE"], rows);
    }
    Ok(m)
}
