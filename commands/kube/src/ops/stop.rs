//! `stop <service>`: scale to 0, destructive; the replica count before is the undo.
//! The runbook's `kubectl delete deployment` (§1.4) without losing the Deployment.

use serde_json::json;
use vabot_commands::catalog::Service;
use vabot_commands::plan::RiskClass;
use vabot_commands::ports::ExecError;

use super::scale::apply_scale;
use super::workload::load;
use super::{Done, Restore, check};
use crate::Ctx;

pub(crate) async fn stop(
    ctx: &Ctx,
    svc: &Service,
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    let wl = load(ctx, svc).await?;
    check(expect, &wl.fingerprint, &wl.what())?;
    if wl.replicas == 0 {
        return Err(ExecError::Precondition {
            why: format!(
                "{} is already stopped (0 replicas); `/va scale {} <n>` starts it",
                wl.what(),
                svc.name
            ),
        });
    }
    let mut notes = vec![format!(
        "Its {} pod(s) are terminated; the {} itself stays, and `undo` scales it back to {}.",
        wl.replicas, wl.kind, wl.replicas
    )];
    if let Some(h) = &svc.hpa {
        notes.push(format!(
            "HorizontalPodAutoscaler {h} does not scale up from 0: it stays idle until the service is scaled back."
        ));
    }
    apply_scale(ctx, &wl, 0, expect.is_none()).await?;
    Ok(Done {
        summary: format!("Stop {} (scale to 0)", wl.what()),
        done_title: "Stopped".into(),
        target: wl.target(),
        changes: vec![("replicas".into(), wl.replicas.to_string(), "0".into())],
        fingerprint: wl.fingerprint.clone(),
        notes,
        risk: RiskClass::Destructive,
        before: Restore::Scale {
            kind: wl.kind,
            namespace: wl.ns.clone(),
            name: wl.name.clone(),
            replicas: wl.replicas,
        },
        after: json!({"replicas": 0}),
    })
}
