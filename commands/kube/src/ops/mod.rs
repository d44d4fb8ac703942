//! The kube commands, one file each (plan, execution and rendering together), and
//! what they share: dispatch by command, the written-change record ([`Done`]) and the
//! before-state `undo` restores ([`Restore`]).
//!
//! Writes serve both stages with one function: planning reads the current state and sends
//! the change with `dryRun=All`; execution re-reads, checks the plan's fingerprint (a
//! changed target is refused) and sends it for real.

use std::collections::BTreeMap;
use std::fmt::Debug;

use kube::api::PatchParams;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vabot_commands::catalog::WorkloadKind;
use vabot_commands::grammar::Command;
use vabot_commands::message::{Message, Tone};
use vabot_commands::plan::{ObjectRef, RiskClass};
use vabot_commands::ports::{ExecError, Outcome};
use vabot_commands::store::ExecutionRecord;

use crate::{Ctx, Inner};

mod bluegreen_status;
mod config_get;
mod config_set;
mod describe;
mod endpoints;
mod env;
mod envoyfilter_delete;
mod envoyfilter_set;
mod events;
mod health;
mod hpa;
mod hpa_disable;
mod hpa_set;
mod istio;
mod logs;
mod netpol;
mod nodes;
mod pods;
mod probe;
mod pvc;
mod restart;
mod rollback;
mod rollout_history;
mod rollout_status;
mod scale;
mod scale_all;
mod set_image;
mod stop;
mod svc;
mod top;
mod traffic;
mod undo;
mod workload;

/// Runs a read.
pub(crate) async fn read(inner: &Inner, command: &Command) -> Result<Outcome, ExecError> {
    let ctx = inner.own();
    let message = match command {
        Command::Health { scope } => health::health(inner, &ctx, scope).await?,
        Command::Pods { service } => pods::pods(inner, &ctx, inner.service(service)?).await?,
        Command::Describe { target } => describe::describe(inner, &ctx, target).await?,
        Command::Events { service } => events::events(inner, &ctx, service.as_deref()).await?,
        Command::Logs {
            target,
            previous,
            container,
            tail,
            since,
        } => {
            logs::logs(
                inner,
                &ctx,
                target,
                *previous,
                container.as_deref(),
                *tail,
                since.map(|d| d.as_secs()),
            )
            .await?
        }
        Command::Endpoints { service } => {
            endpoints::endpoints(&ctx, inner.service(service)?).await?
        }
        Command::BluegreenStatus { service } => {
            bluegreen_status::bluegreen_status(inner, &ctx, inner.service(service)?).await?
        }
        Command::Probe { service } => {
            probe::probe(&ctx, &inner.own_without_retry(), inner.service(service)?).await?
        }
        Command::Netpol { namespace } => {
            let ns = namespace
                .as_ref()
                .map(|n| vec![n.as_str().to_owned()])
                .unwrap_or_else(|| all_ns(inner));
            netpol::netpol(&ctx, &ns).await?
        }
        Command::Top { kind } => top::top(inner, &ctx, *kind).await?,
        Command::Svc { namespace } => svc::svc(&ctx, &namespaces(inner, namespace)).await?,
        Command::Pvc { namespace } => pvc::pvc(&ctx, &namespaces(inner, namespace)).await?,
        Command::Nodes => nodes::nodes(&ctx, &all_ns(inner)).await?,
        Command::Env { service, key } => env::env(&ctx, inner.service(service)?, key).await?,
        Command::RolloutStatus { service } => {
            rollout_status::rollout_status(&ctx, inner.service(service)?).await?
        }
        Command::RolloutHistory { service } => {
            rollout_history::rollout_history(&ctx, inner.service(service)?).await?
        }
        Command::Hpa { service } => hpa::hpa(inner, &ctx, service.as_deref()).await?,
        Command::ConfigGet { service, key } => {
            config_get::config_get(&ctx, inner.service(service)?, key.as_deref()).await?
        }
        Command::Istio { namespace } => {
            let ns = namespace
                .as_ref()
                .map(|n| vec![n.as_str().to_owned()])
                .unwrap_or_else(|| vec![inner.catalog().namespaces.apps.as_str().to_owned()]);
            istio::istio(inner, &ctx, &ns).await?
        }
        other => {
            return Err(ExecError::Precondition {
                why: format!("`{}` is not a Kubernetes read", other.name()),
            });
        }
    };
    Ok(Outcome::reply(message, command.name()))
}

/// Plans (`expect` None: dry run) or executes (`expect` = the plan's fingerprint) a write.
pub(crate) async fn write(
    inner: &Inner,
    ctx: &Ctx,
    command: &Command,
    undo_of: Option<&ExecutionRecord>,
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    match command {
        Command::Scale { service, replicas } => {
            scale::scale(ctx, inner.service(service)?, i32_of(*replicas)?, expect).await
        }
        Command::ScaleAll {
            namespace,
            replicas,
        } => scale_all::scale_all(inner, ctx, namespace, i32_of(*replicas)?, expect).await,
        Command::Stop { service } => stop::stop(ctx, inner.service(service)?, expect).await,
        Command::Restart { service } => {
            restart::restart(ctx, inner.service(service)?, expect).await
        }
        Command::Rollback {
            service,
            to_revision,
        } => {
            rollback::rollback(
                ctx,
                inner.service(service)?,
                to_revision.map(i64::from),
                expect,
            )
            .await
        }
        Command::SetImage {
            service,
            container,
            image,
        } => set_image::set_image(ctx, inner.service(service)?, container, image, expect).await,
        Command::HpaSet {
            service,
            min,
            max,
            cpu,
            memory,
        } => {
            let opt = |v: &Option<u32>| v.map(i32_of).transpose();
            let change = hpa_set::HpaChange {
                min: opt(min)?,
                max: opt(max)?,
                cpu: opt(cpu)?,
                memory: opt(memory)?,
            };
            hpa_set::hpa_set(ctx, inner.service(service)?, change, expect).await
        }
        Command::HpaDisable { service } => {
            hpa_disable::hpa_disable(ctx, inner.service(service)?, expect).await
        }
        Command::ConfigSet {
            service,
            key,
            value,
            restart,
        } => {
            config_set::config_set(ctx, inner.service(service)?, key, value, *restart, expect).await
        }
        Command::Traffic { service, weights } => {
            traffic::traffic(inner, ctx, inner.service(service)?, weights, expect).await
        }
        Command::EnvoyFilterSet {
            name,
            tokens,
            fill_secs,
        } => envoyfilter_set::envoyfilter_set(inner, ctx, name, *tokens, *fill_secs, expect).await,
        Command::EnvoyFilterDelete { name } => {
            envoyfilter_delete::envoyfilter_delete(inner, ctx, name, expect).await
        }
        Command::Undo { invocation } => {
            let record = undo_of.ok_or_else(|| ExecError::Precondition {
                why: format!("{invocation} made no recorded change to undo"),
            })?;
            undo::undo(ctx, record, expect).await
        }
        other => Err(ExecError::Precondition {
            why: format!("`{}` is not a Kubernetes write", other.name()),
        }),
    }
}

/// The namespace given, or every namespace vabot manages.
fn namespaces(inner: &Inner, ns: &Option<vabot_commands::model::Namespace>) -> Vec<String> {
    ns.as_ref()
        .map(|n| vec![n.as_str().to_owned()])
        .unwrap_or_else(|| all_ns(inner))
}

pub(crate) fn all_ns(inner: &Inner) -> Vec<String> {
    let mut v: Vec<String> = inner
        .catalog()
        .all_namespaces()
        .iter()
        .map(|n| n.as_str().to_owned())
        .collect();
    v.dedup();
    v
}

/// A before-state that `undo` can put back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "restore", rename_all = "snake_case")]
pub(crate) enum Restore {
    Scale {
        kind: WorkloadKind,
        namespace: String,
        name: String,
        replicas: i32,
    },
    /// Several workloads' counts (`scale all`), restored together.
    Scales { workloads: Vec<ScaleItem> },
    /// A workload's pod template (and, for rollbacks, its annotations).
    Template {
        kind: WorkloadKind,
        namespace: String,
        name: String,
        template: Value,
        #[serde(default)]
        annotations: Option<BTreeMap<String, String>>,
    },
    HpaBounds {
        namespace: String,
        name: String,
        min: Option<i32>,
        max: i32,
        /// The metrics list before, when the change touched it.
        #[serde(default)]
        metrics: Option<Value>,
    },
    Config {
        namespace: String,
        name: String,
        key: String,
        /// None: the key did not exist.
        value: Option<String>,
        /// The workload restarted with the change, restarted again on undo.
        #[serde(default)]
        restart: Option<(WorkloadKind, String)>,
    },
    VsHttp {
        namespace: String,
        name: String,
        http: Value,
    },
    /// An EnvoyFilter's local rate limit token bucket, at its JSON pointer.
    EnvoyBucket {
        namespace: String,
        name: String,
        path: String,
        bucket: Value,
    },
    /// A deleted object: its full manifest.
    Create { manifest: Value },
    /// An object that did not exist before (an undone deletion).
    Delete {
        api_version: String,
        kind: String,
        namespace: String,
        name: String,
    },
}

/// One workload's replica count in a [`Restore::Scales`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ScaleItem {
    pub kind: WorkloadKind,
    pub namespace: String,
    pub name: String,
    pub replicas: i32,
}

/// What a write did or would do.
#[derive(Debug, Clone)]
pub(crate) struct Done {
    pub summary: String,
    /// "Scaled", "Restarted", … for the result message.
    pub done_title: String,
    pub target: ObjectRef,
    pub changes: Vec<(String, String, String)>,
    pub fingerprint: String,
    pub notes: Vec<String>,
    pub risk: RiskClass,
    pub before: Restore,
    pub after: Value,
}

impl Done {
    pub fn outcome(&self) -> Outcome {
        let changes = self
            .changes
            .iter()
            .map(|(f, b, a)| format!("{f} {b} → {a}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut m = Message::new(Tone::Success)
            .header(format!("{} {}", self.done_title, self.target))
            .fields(
                self.changes
                    .iter()
                    .map(|(f, b, a)| (f.clone(), format!("{b} → {a}"))),
            );
        for n in self
            .notes
            .iter()
            .filter(|n| !n.starts_with(crate::IMPERSONATION_NOTE))
        {
            m = m.paragraph(n.clone());
        }
        Outcome {
            message: m,
            summary: format!("{} {}: {changes}", self.done_title, self.target),
            before: serde_json::to_value(&self.before).ok(),
            after: Some(self.after.clone()),
        }
    }
}

pub(crate) fn i32_of(n: u32) -> Result<i32, ExecError> {
    i32::try_from(n).map_err(|_| ExecError::Precondition {
        why: format!("{n} is too large"),
    })
}

/// Refuses to execute when the target moved since it was planned.
pub(crate) fn check(expect: Option<&str>, fingerprint: &str, what: &str) -> Result<(), ExecError> {
    match expect {
        Some(e) if e != fingerprint => Err(ExecError::Conflict {
            what: what.to_owned(),
        }),
        _ => Ok(()),
    }
}

pub(crate) fn params(dry: bool) -> PatchParams {
    if dry {
        PatchParams::default().dry_run()
    } else {
        PatchParams::default()
    }
}

pub(crate) fn fp_of(meta: &kube::core::ObjectMeta) -> String {
    match meta.generation {
        Some(g) => format!("generation {g}"),
        None => format!(
            "resourceVersion {}",
            meta.resource_version.clone().unwrap_or_default()
        ),
    }
}

pub(crate) fn target(kind: impl Into<String>, ns: &str, name: &str) -> ObjectRef {
    ObjectRef {
        kind: kind.into(),
        namespace: ns.to_owned(),
        name: name.to_owned(),
    }
}
