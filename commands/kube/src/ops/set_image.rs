//! `set-image <service> [container=]image:tag`: one container's image.

use kube::api::Patch;
use serde_json::json;
use vabot_commands::catalog::Service;
use vabot_commands::plan::RiskClass;
use vabot_commands::ports::ExecError;

use super::workload::{load, patch_workload, template_restore};
use super::{Done, check};
use crate::Ctx;

pub(crate) async fn set_image(
    ctx: &Ctx,
    svc: &Service,
    container: &str,
    image: &str,
    expect: Option<&str>,
) -> Result<Done, ExecError> {
    let wl = load(ctx, svc).await?;
    check(expect, &wl.fingerprint, &wl.what())?;
    let containers = wl
        .template
        .spec
        .as_ref()
        .map(|s| s.containers.clone())
        .unwrap_or_default();
    let Some(current) = containers.iter().find(|c| c.name == container) else {
        return Err(ExecError::Precondition {
            why: format!(
                "{} has no container `{container}`; its containers: {}",
                wl.what(),
                containers
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    };
    let old = current.image.clone().unwrap_or_default();
    if old == image {
        return Err(ExecError::Precondition {
            why: format!(
                "container {container} of {} already runs {image}",
                wl.what()
            ),
        });
    }
    // What `kubectl set image` sends: a strategic merge patch keyed by container name.
    let patch = Patch::Strategic(
        json!({"spec": {"template": {"spec": {"containers": [{"name": container, "image": image}]}}}}),
    );
    patch_workload(ctx, &wl, patch, expect.is_none()).await?;
    Ok(Done {
        summary: format!("Set image of {} container {container}", wl.what()),
        done_title: "Image set on".into(),
        target: wl.target(),
        changes: vec![(format!("image ({container})"), old, image.to_owned())],
        fingerprint: wl.fingerprint.clone(),
        notes: Vec::new(),
        risk: RiskClass::Write,
        before: template_restore(&wl, false)?,
        after: json!({"container": container, "image": image}),
    })
}
