//! `pvc [namespace]`: PersistentVolumeClaims, Pending ones first with the latest event
//! that says why (runbook §4.1 `kubectl get pvc`).

use k8s_openapi::api::core::v1::{Event, PersistentVolumeClaim};
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use super::workload::age_of;
use crate::Ctx;

pub(crate) async fn pvc(ctx: &Ctx, namespaces: &[String]) -> Result<Message, ExecError> {
    let mut rows: Vec<(bool, Vec<String>)> = Vec::new();
    let mut why: Vec<String> = Vec::new();
    for ns in namespaces {
        let api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), ns);
        let claims = ctx
            .op("list", "persistentvolumeclaims", ns, "")
            .run(api.list(&ListParams::default()))
            .await?
            .items;
        let mut pending_names = Vec::new();
        for c in &claims {
            let spec = c.spec.clone().unwrap_or_default();
            let status = c.status.clone().unwrap_or_default();
            let phase = status.phase.clone().unwrap_or_else(|| "Unknown".into());
            let pending = phase != "Bound";
            if pending {
                pending_names.push(c.name_any());
            }
            let capacity = status
                .capacity
                .as_ref()
                .and_then(|m| m.get("storage"))
                .map(|q| q.0.clone())
                .or_else(|| {
                    spec.resources
                        .as_ref()
                        .and_then(|r| r.requests.as_ref())
                        .and_then(|m| m.get("storage"))
                        .map(|q| format!("{} (requested)", q.0))
                })
                .unwrap_or_else(|| "-".into());
            rows.push((
                pending,
                vec![
                    format!("{ns}/{}", c.name_any()),
                    if pending {
                        format!("⚠ {phase}")
                    } else {
                        phase
                    },
                    capacity,
                    spec.access_modes.unwrap_or_default().join(","),
                    spec.storage_class_name
                        .unwrap_or_else(|| "(default)".into()),
                    spec.volume_name.unwrap_or_else(|| "-".into()),
                    age_of(c.metadata.creation_timestamp.as_ref()),
                ],
            ));
        }
        if !pending_names.is_empty() {
            // The events behind a Pending claim (no provisioner, no matching volume…).
            let events: Api<Event> = Api::namespaced(ctx.client.clone(), ns);
            let list = ctx
                .op("list", "events", ns, "")
                .run(events.list(
                    &ListParams::default().fields("involvedObject.kind=PersistentVolumeClaim"),
                ))
                .await?
                .items;
            for name in pending_names {
                let last = list
                    .iter()
                    .filter(|e| e.involved_object.name.as_deref() == Some(name.as_str()))
                    .max_by_key(|e| crate::cache::event_time(e));
                if let Some(e) = last {
                    why.push(format!(
                        "{ns}/{name}: {} — {}",
                        e.reason.as_deref().unwrap_or("event"),
                        e.message.as_deref().unwrap_or("").trim()
                    ));
                }
            }
        }
    }
    if rows.is_empty() {
        return Ok(Message::text(
            Tone::Info,
            format!("No PersistentVolumeClaims in {}.", namespaces.join(", ")),
        ));
    }
    let pending = rows.iter().filter(|(p, _)| *p).count();
    rows.sort_by_key(|(p, _)| !*p);
    let mut m = Message::new(if pending > 0 {
        Tone::Warning
    } else {
        Tone::Info
    })
    .header(format!(
        "PersistentVolumeClaims in {}{}",
        namespaces.join(", "),
        if pending > 0 {
            format!(": {pending} not bound")
        } else {
            String::new()
        }
    ))
    .table(
        &[
            "CLAIM",
            "STATUS",
            "CAPACITY",
            "ACCESS",
            "STORAGECLASS",
            "VOLUME",
            "AGE",
        ],
        rows.into_iter().map(|(_, r)| r).collect(),
    );
    if !why.is_empty() {
        m = m.paragraph(format!("Why not bound:\n{}", why.join("\n")));
    } else if pending > 0 {
        m = m.paragraph(
            "A Pending claim with no event yet: check the StorageClass exists and has a provisioner.",
        );
    }
    Ok(m)
}
