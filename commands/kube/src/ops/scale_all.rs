//! `scale all <namespace> <n>` (`scale --all`): every catalog workload of a namespace to
//! the same count, one plan listing each, one approval; undo puts every count back.

use serde_json::json;
use vabot_commands::model::Namespace;
use vabot_commands::plan::RiskClass;
use vabot_commands::ports::ExecError;

use super::scale::apply_scale;
use super::workload::{Workload, load};
use super::{Done, Restore, ScaleItem, target};
use crate::{Ctx, Inner};

fn part(w: &Workload) -> String {
    format!("{}={}", w.name, w.fingerprint)
}

/// One fingerprint for a batch: any workload changed since the plan refuses it all.
pub(crate) fn batch_fingerprint<'a>(workloads: impl IntoIterator<Item = &'a Workload>) -> String {
    workloads
        .into_iter()
        .map(part)
        .collect::<Vec<_>>()
        .join(";")
}

pub(crate) async fn scale_all(
    inner: &Inner,
    ctx: &Ctx,
    ns: &Namespace,
    replicas: i32,
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    let services: Vec<_> = inner
        .catalog()
        .services
        .iter()
        .filter(|s| &s.namespace == ns)
        .cloned()
        .collect();
    let mut workloads = Vec::new();
    for svc in &services {
        workloads.push(load(ctx, svc).await?);
    }
    let fingerprint = batch_fingerprint(&workloads);
    if let Some(e) = expect
        && e != fingerprint
    {
        let moved: Vec<&str> = workloads
            .iter()
            .filter(|w| !e.split(';').any(|p| p == part(w)))
            .map(|w| w.name.as_str())
            .collect();
        return Err(ExecError::Conflict {
            what: format!("the workloads of {ns} ({})", moved.join(", ")),
        });
    }
    let (unchanged, to_change): (Vec<_>, Vec<_>) =
        workloads.iter().partition(|w| w.replicas == replicas);
    if to_change.is_empty() {
        return Err(ExecError::Precondition {
            why: format!("every catalog workload of {ns} already has {replicas} replicas"),
        });
    }
    let mut notes = Vec::new();
    if !unchanged.is_empty() {
        notes.push(format!(
            "Already at {replicas}, left alone: {}.",
            unchanged
                .iter()
                .map(|w| w.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let dry = expect.is_none();
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for wl in &to_change {
        match apply_scale(ctx, wl, replicas, dry).await {
            Ok(()) => done.push(*wl),
            // Planning stops at the first refusal; execution goes on, so the record
            // holds exactly what changed and `undo` can put that back.
            Err(e) if dry => return Err(e),
            Err(e) => failed.push(format!("{}: {e}", wl.name)),
        }
    }
    if done.is_empty() {
        return Err(ExecError::Precondition {
            why: format!("no workload of {ns} was scaled: {}", failed.join("; ")),
        });
    }
    if !failed.is_empty() {
        notes.push(format!(
            "Not scaled (the others were; `undo` restores those): {}.",
            failed.join("; ")
        ));
    }
    for h in services
        .iter()
        .filter(|s| done.iter().any(|w| w.name == s.name))
        .filter_map(|s| s.hpa.as_deref())
    {
        notes.push(format!(
            "HorizontalPodAutoscaler {h} also manages its workload's replica count."
        ));
    }
    Ok(Done {
        summary: format!(
            "Scale all {} catalog workloads of {ns} to {replicas}",
            to_change.len()
        ),
        done_title: "Scaled".into(),
        target: target("Workloads", ns.as_str(), "all"),
        changes: done
            .iter()
            .map(|w| {
                (
                    format!("{} replicas", w.name),
                    w.replicas.to_string(),
                    replicas.to_string(),
                )
            })
            .collect(),
        fingerprint,
        notes,
        risk: RiskClass::Destructive,
        before: Restore::Scales {
            workloads: done
                .iter()
                .map(|w| ScaleItem {
                    kind: w.kind,
                    namespace: w.ns.clone(),
                    name: w.name.clone(),
                    replicas: w.replicas,
                })
                .collect(),
        },
        after: json!({"replicas": replicas}),
    })
}
