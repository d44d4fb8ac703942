//! Read commands: `health` from the watch caches, the others through the API server.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{ControllerRevision, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Pod, PodTemplateSpec, Secret};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, ListParams, LogParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;
use vabot_commands::catalog::{Service, WorkloadKind};
use vabot_commands::grammar::{Command, HealthScope, Target, TopKind};
use vabot_commands::message::{Attachment, Message, Tone};
use vabot_commands::ports::{ClusterSnapshot, ExecError, Outcome};

use crate::cache::{envoy_filter_resource, event_time, pod_state};
use crate::rollback::{CHANGE_CAUSE, image_of, revision_of};
use crate::{Ctx, Inner, redact};

/// Lines of a log shown inline; the rest goes into the attached file.
const LOG_INLINE_LINES: usize = 30;
const LOG_INLINE_CHARS: usize = 2500;

pub fn virtual_service_resource() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(
        "networking.istio.io",
        "v1",
        "VirtualService",
    ))
}

pub async fn run(inner: &Inner, command: &Command) -> Result<Outcome, ExecError> {
    let ctx = inner.own();
    let message = match command {
        Command::Health { scope } => health(inner, scope).await?,
        Command::Pods { service } => pods(inner, &ctx, inner.service(service)?).await?,
        Command::Describe { target } => describe(inner, &ctx, target).await?,
        Command::Events { service } => events(inner, &ctx, service.as_deref()).await?,
        Command::Logs {
            target,
            previous,
            container,
            tail,
            since,
        } => {
            logs(
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
        Command::Endpoints { service } => endpoints(&ctx, inner.service(service)?).await?,
        Command::Netpol { namespace } => {
            let ns = namespace
                .as_ref()
                .map(|n| vec![n.as_str().to_owned()])
                .unwrap_or_else(|| all_ns(inner));
            netpol(&ctx, &ns).await?
        }
        Command::Top { kind } => top(inner, &ctx, *kind).await?,
        Command::RolloutStatus { service } => rollout_status(&ctx, inner.service(service)?).await?,
        Command::RolloutHistory { service } => {
            rollout_history(&ctx, inner.service(service)?).await?
        }
        Command::Hpa { service } => hpa(inner, &ctx, service.as_deref()).await?,
        Command::ConfigGet { service, key } => {
            config_get(&ctx, inner.service(service)?, key.as_deref()).await?
        }
        Command::Istio { namespace } => {
            let ns = namespace
                .as_ref()
                .map(|n| vec![n.as_str().to_owned()])
                .unwrap_or_else(|| vec![inner.catalog().namespaces.apps.as_str().to_owned()]);
            istio(inner, &ctx, &ns).await?
        }
        other => {
            return Err(ExecError::Precondition {
                why: format!("`{}` is not a Kubernetes read", other.name()),
            });
        }
    };
    Ok(Outcome::reply(message, command.name()))
}

fn all_ns(inner: &Inner) -> Vec<String> {
    let mut v: Vec<String> = inner
        .catalog()
        .all_namespaces()
        .iter()
        .map(|n| n.as_str().to_owned())
        .collect();
    v.dedup();
    v
}

// === health ===

async fn health(inner: &Inner, scope: &HealthScope) -> Result<Message, ExecError> {
    let (namespaces, service, title) = match scope {
        HealthScope::All => (all_ns(inner), None, "all namespaces".to_owned()),
        HealthScope::Namespace(ns) => (vec![ns.as_str().to_owned()], None, ns.to_string()),
        HealthScope::Service(s) => {
            let svc = inner.service(s)?;
            (
                vec![svc.namespace.as_str().to_owned()],
                Some(s.clone()),
                s.clone(),
            )
        }
    };
    if let Some(ns) = namespaces.iter().find(|n| !inner.caches.covers(n)) {
        return Err(ExecError::Precondition {
            why: format!(
                "vabot does not watch namespace {ns}; it watches the catalog's namespaces"
            ),
        });
    }
    if !inner.caches.wait_synced(inner.timeout).await {
        return Err(ExecError::Unavailable {
            what: "the cluster's watch caches (still syncing)".into(),
            detail: format!("not synced: {}", inner.caches.unhealthy().join(", ")),
        });
    }
    let mut snap = inner.caches.snapshot(&namespaces);
    if let Some(s) = &service {
        filter_to_service(&mut snap, s);
    }
    let age = inner.caches.age();
    Ok(render_health(&snap, &title, age))
}

fn filter_to_service(snap: &mut ClusterSnapshot, service: &str) {
    snap.workloads.retain(|w| w.name == service);
    snap.pods.retain(|p| p.service.as_deref() == Some(service));
    snap.endpoints.retain(|e| e.service == service);
    snap.warnings.retain(|w| {
        w.object
            .split('/')
            .nth(1)
            .is_some_and(|n| n.starts_with(service))
    });
}

pub fn render_health(snap: &ClusterSnapshot, title: &str, age: crate::CacheAge) -> Message {
    let degraded: Vec<_> = snap
        .workloads
        .iter()
        .filter(|w| w.ready < w.desired)
        .collect();
    let failing: Vec<_> = snap
        .pods
        .iter()
        .filter(|p| !p.ready && p.phase != "Succeeded")
        .collect();
    let restarting: Vec<_> = snap.pods.iter().filter(|p| p.restarts > 0).collect();
    let empty_eps: Vec<_> = snap.endpoints.iter().filter(|e| e.ready == 0).collect();
    let problems = degraded.len() + failing.len() + empty_eps.len() + snap.pending_pvcs.len();
    let tone = if problems == 0 {
        Tone::Success
    } else if failing.iter().any(|p| {
        p.reason.as_deref().is_some_and(|r| {
            r.contains("CrashLoop") || r.contains("ImagePull") || r.contains("OOM")
        })
    }) {
        Tone::Danger
    } else {
        Tone::Warning
    };
    let ready_workloads = snap.workloads.len() - degraded.len();
    let mut m = Message::new(tone)
        .header(format!("Health of {title}"))
        .paragraph(if problems == 0 {
            format!(
                "All {} workloads ready; {} pods Running; every endpoint has ready addresses.",
                snap.workloads.len(),
                snap.pods.len()
            )
        } else {
            format!(
                "{ready_workloads}/{} workloads fully ready, {} pods not Ready, {} services without ready endpoints, {} pending PVCs.",
                snap.workloads.len(),
                failing.len(),
                empty_eps.len(),
                snap.pending_pvcs.len()
            )
        });
    m = m.table(
        &["WORKLOAD", "KIND", "READY"],
        snap.workloads
            .iter()
            .map(|w| {
                vec![
                    format!("{}/{}", w.namespace, w.name),
                    w.kind.clone(),
                    format!(
                        "{}/{}{}",
                        w.ready,
                        w.desired,
                        if w.ready < w.desired { " ⚠" } else { "" }
                    ),
                ]
            })
            .collect(),
    );
    if !failing.is_empty() {
        m = m.table(
            &["POD NOT READY", "REASON", "RESTARTS", "NODE"],
            failing
                .iter()
                .map(|p| {
                    vec![
                        format!("{}/{}", p.namespace, p.name),
                        p.reason.clone().unwrap_or_else(|| p.phase.clone()),
                        p.restarts.to_string(),
                        p.node.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
        );
    }
    if !restarting.is_empty() {
        m = m.fields(
            restarting
                .iter()
                .map(|p| (format!("restarts {}", p.name), p.restarts.to_string())),
        );
    }
    if !empty_eps.is_empty() {
        m = m.paragraph(format!(
            "Endpoints without ready addresses: {}",
            empty_eps
                .iter()
                .map(|e| format!("{}/{} ({} not ready)", e.namespace, e.service, e.not_ready))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !snap.pending_pvcs.is_empty() {
        m = m.paragraph(format!("Pending PVCs: {}", snap.pending_pvcs.join(", ")));
    }
    if !snap.warnings.is_empty() {
        m = m.table(
            &["WARNING", "OBJECT", "COUNT", "MESSAGE"],
            snap.warnings
                .iter()
                .take(5)
                .map(|w| {
                    vec![
                        w.reason.clone(),
                        w.object.clone(),
                        w.count.to_string(),
                        truncate(&w.message, 80),
                    ]
                })
                .collect(),
        );
    }
    let cache = if !age.synced {
        "Watch caches are still syncing".to_owned()
    } else if age.failing {
        format!(
            "STALE: the watch caches last heard from the API server {} s ago (reconnecting)",
            age.stale_secs
        )
    } else {
        format!(
            "From the watch caches: live (cache age 0 s, watching for {} s)",
            age.uptime_secs
        )
    };
    m.context(cache)
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

// === workloads ===

/// The workload's pod selector as a label selector string.
pub async fn selector_of(ctx: &Ctx, svc: &Service) -> Result<String, ExecError> {
    let ns = svc.namespace.as_str();
    let labels = match svc.kind {
        WorkloadKind::Deployment => get_deployment(ctx, svc).await?.spec.map(|s| s.selector),
        WorkloadKind::StatefulSet => get_statefulset(ctx, svc).await?.spec.map(|s| s.selector),
    }
    .and_then(|s| s.match_labels)
    .unwrap_or_default();
    if labels.is_empty() {
        return Err(ExecError::Precondition {
            why: format!(
                "{} {}/{} has no matchLabels selector",
                svc.kind, ns, svc.name
            ),
        });
    }
    Ok(labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(","))
}

/// A 404 for a catalog workload: say so, and whether it exists in another namespace.
async fn missing(ctx: &Ctx, svc: &Service, other_namespaces: &[String]) -> ExecError {
    for ns in other_namespaces {
        if ns == svc.namespace.as_str() {
            continue;
        }
        let found = match svc.kind {
            WorkloadKind::Deployment => Api::<Deployment>::namespaced(ctx.client.clone(), ns)
                .get_opt(&svc.name)
                .await
                .ok()
                .flatten()
                .is_some(),
            WorkloadKind::StatefulSet => Api::<StatefulSet>::namespaced(ctx.client.clone(), ns)
                .get_opt(&svc.name)
                .await
                .ok()
                .flatten()
                .is_some(),
        };
        if found {
            return ExecError::Precondition {
                why: format!(
                    "{} {} is not in {}, where the catalog places it, but in {ns}; vabot only acts on the catalog's namespace",
                    svc.kind, svc.name, svc.namespace
                ),
            };
        }
    }
    ExecError::NotFound {
        what: format!("{} {} in {}", svc.kind, svc.name, svc.namespace),
    }
}

pub async fn get_deployment(ctx: &Ctx, svc: &Service) -> Result<Deployment, ExecError> {
    let ns = svc.namespace.as_str();
    let api: Api<Deployment> = Api::namespaced(ctx.client.clone(), ns);
    match ctx
        .op("get", "deployments", ns, &svc.name)
        .run(api.get(&svc.name))
        .await
    {
        Err(ExecError::NotFound { .. }) => Err(missing(ctx, svc, &other_ns(svc)).await),
        r => r,
    }
}

pub async fn get_statefulset(ctx: &Ctx, svc: &Service) -> Result<StatefulSet, ExecError> {
    let ns = svc.namespace.as_str();
    let api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), ns);
    match ctx
        .op("get", "statefulsets", ns, &svc.name)
        .run(api.get(&svc.name))
        .await
    {
        Err(ExecError::NotFound { .. }) => Err(missing(ctx, svc, &other_ns(svc)).await),
        r => r,
    }
}

/// The namespaces to look in when a workload is not where the catalog says.
fn other_ns(svc: &Service) -> Vec<String> {
    ["voiceassistant-prod", "voiceassistant-infra", "default"]
        .iter()
        .map(|s| (*s).to_owned())
        .filter(|n| n != svc.namespace.as_str())
        .collect()
}

async fn list_pods(ctx: &Ctx, ns: &str, selector: &str) -> Result<Vec<Pod>, ExecError> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let mut pods = ctx
        .op("list", "pods", ns, "")
        .run(api.list(&ListParams::default().labels(selector)))
        .await?
        .items;
    pods.sort_by_key(|p| p.name_any());
    Ok(pods)
}

fn age_of(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> String {
    let Some(t) = t else { return "-".into() };
    let secs = (k8s_openapi::jiff::Timestamp::now().as_second() - t.0.as_second()).max(0);
    human_secs(secs)
}

pub fn human_secs(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

async fn pods(_inner: &Inner, ctx: &Ctx, svc: &Service) -> Result<Message, ExecError> {
    let ns = svc.namespace.as_str();
    let selector = selector_of(ctx, svc).await?;
    let pods = list_pods(ctx, ns, &selector).await?;
    let rows: Vec<Vec<String>> = pods
        .iter()
        .map(|p| {
            let s = pod_state(p);
            let containers = p.spec.as_ref().map(|s| s.containers.len()).unwrap_or(0);
            let ready_containers = p
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .map(|cs| cs.iter().filter(|c| c.ready).count())
                .unwrap_or(0);
            vec![
                s.name.clone(),
                format!("{ready_containers}/{containers}"),
                s.reason.clone().unwrap_or_else(|| s.phase.clone()),
                s.restarts.to_string(),
                s.node.clone().unwrap_or_default(),
                age_of(p.metadata.creation_timestamp.as_ref()),
            ]
        })
        .collect();
    let running = pods.iter().filter(|p| pod_state(p).ready).count();
    let tone = if running == pods.len() && !pods.is_empty() {
        Tone::Info
    } else {
        Tone::Warning
    };
    Ok(Message::new(tone)
        .header(format!("Pods of {} in {ns}", svc.name))
        .paragraph(format!(
            "{running} of {} pods Running and Ready.",
            pods.len()
        ))
        .table(
            &["NAME", "READY", "STATUS", "RESTARTS", "NODE", "AGE"],
            rows,
        ))
}

fn template_lines(t: &PodTemplateSpec) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(spec) = &t.spec {
        for c in &spec.containers {
            out.push((
                format!("container {}", c.name),
                c.image.clone().unwrap_or_default(),
            ));
            if let Some(r) = &c.resources {
                let fmt = |m: &Option<
                    BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
                >| {
                    m.as_ref()
                        .map(|m| {
                            m.iter()
                                .map(|(k, v)| format!("{k}={}", v.0))
                                .collect::<Vec<_>>()
                                .join(" ")
                        })
                        .unwrap_or_else(|| "-".into())
                };
                out.push((
                    format!("resources {}", c.name),
                    format!("requests {} · limits {}", fmt(&r.requests), fmt(&r.limits)),
                ));
            }
        }
    }
    out
}

async fn recent_events(
    ctx: &Ctx,
    ns: &str,
    name_prefix: &str,
    n: usize,
) -> Result<Vec<Vec<String>>, ExecError> {
    let api: Api<Event> = Api::namespaced(ctx.client.clone(), ns);
    let mut events: Vec<Event> = ctx
        .op("list", "events", ns, "")
        .run(api.list(&ListParams::default()))
        .await?
        .items
        .into_iter()
        .filter(|e| {
            e.involved_object
                .name
                .as_deref()
                .is_some_and(|o| name_prefix.is_empty() || o.starts_with(name_prefix))
        })
        .collect();
    events.sort_by_key(|e| std::cmp::Reverse(event_time(e)));
    Ok(events
        .iter()
        .take(n)
        .map(|e| {
            vec![
                event_time(e)
                    .map(|t| t.format("%H:%M:%S").to_string())
                    .unwrap_or_default(),
                e.type_.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
                format!(
                    "{}/{}",
                    e.involved_object.kind.clone().unwrap_or_default(),
                    e.involved_object.name.clone().unwrap_or_default()
                ),
                truncate(&redact::text(e.message.as_deref().unwrap_or_default()), 100),
            ]
        })
        .collect())
}

const EVENT_HEADERS: [&str; 5] = ["TIME", "TYPE", "REASON", "OBJECT", "MESSAGE"];

async fn describe(inner: &Inner, ctx: &Ctx, target: &Target) -> Result<Message, ExecError> {
    let svc = inner.service(target.service())?;
    let ns = svc.namespace.as_str();
    match target {
        Target::Service(_) => {
            let (kind, replicas, ready, template, conditions, strategy) = match svc.kind {
                WorkloadKind::Deployment => {
                    let d = get_deployment(ctx, svc).await?;
                    let spec = d.spec.clone().unwrap_or_default();
                    let st = d.status.clone().unwrap_or_default();
                    (
                        "Deployment",
                        spec.replicas.unwrap_or(1),
                        st.ready_replicas.unwrap_or(0),
                        spec.template,
                        st.conditions
                            .unwrap_or_default()
                            .iter()
                            .map(|c| {
                                vec![
                                    c.type_.clone(),
                                    c.status.clone(),
                                    c.reason.clone().unwrap_or_default(),
                                    c.message.clone().unwrap_or_default(),
                                ]
                            })
                            .collect::<Vec<_>>(),
                        spec.strategy
                            .and_then(|s| s.type_)
                            .unwrap_or_else(|| "RollingUpdate".into()),
                    )
                }
                WorkloadKind::StatefulSet => {
                    let s = get_statefulset(ctx, svc).await?;
                    let spec = s.spec.clone().unwrap_or_default();
                    let st = s.status.clone().unwrap_or_default();
                    (
                        "StatefulSet",
                        spec.replicas.unwrap_or(1),
                        st.ready_replicas.unwrap_or(0),
                        spec.template,
                        st.conditions
                            .unwrap_or_default()
                            .iter()
                            .map(|c| {
                                vec![
                                    c.type_.clone(),
                                    c.status.clone(),
                                    c.reason.clone().unwrap_or_default(),
                                    c.message.clone().unwrap_or_default(),
                                ]
                            })
                            .collect::<Vec<_>>(),
                        spec.update_strategy
                            .and_then(|s| s.type_)
                            .unwrap_or_else(|| "RollingUpdate".into()),
                    )
                }
            };
            let mut fields = vec![
                ("Kind".to_owned(), kind.to_owned()),
                ("Replicas".into(), format!("{ready}/{replicas} ready")),
                ("Strategy".into(), strategy),
            ];
            fields.extend(template_lines(&template));
            let mut m = Message::new(Tone::Info)
                .header(format!("{kind} {ns}/{}", svc.name))
                .fields(fields);
            if !conditions.is_empty() {
                m = m.table(&["CONDITION", "STATUS", "REASON", "MESSAGE"], conditions);
            }
            let events = recent_events(ctx, ns, &svc.name, 10).await?;
            if !events.is_empty() {
                m = m.table(&EVENT_HEADERS, events);
            }
            Ok(m)
        }
        Target::Pod { pod, .. } => {
            let api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
            let p = ctx.op("get", "pods", ns, pod).run(api.get(pod)).await?;
            let s = pod_state(&p);
            let mut fields = vec![
                (
                    "Status".to_owned(),
                    s.reason.clone().unwrap_or_else(|| s.phase.clone()),
                ),
                ("Node".into(), s.node.clone().unwrap_or_default()),
                ("Restarts".into(), s.restarts.to_string()),
                ("Age".into(), age_of(p.metadata.creation_timestamp.as_ref())),
            ];
            fields.extend(template_lines(&PodTemplateSpec {
                metadata: None,
                spec: p.spec.clone(),
            }));
            let conditions: Vec<Vec<String>> = p
                .status
                .as_ref()
                .and_then(|s| s.conditions.clone())
                .unwrap_or_default()
                .iter()
                .map(|c| {
                    vec![
                        c.type_.clone(),
                        c.status.clone(),
                        c.reason.clone().unwrap_or_default(),
                        c.message.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            let mut m = Message::new(Tone::Info)
                .header(format!("Pod {ns}/{pod}"))
                .fields(fields);
            if !conditions.is_empty() {
                m = m.table(&["CONDITION", "STATUS", "REASON", "MESSAGE"], conditions);
            }
            let events = recent_events(ctx, ns, pod, 10).await?;
            if !events.is_empty() {
                m = m.table(&EVENT_HEADERS, events);
            }
            Ok(m)
        }
    }
}

async fn events(inner: &Inner, ctx: &Ctx, service: Option<&str>) -> Result<Message, ExecError> {
    let (namespaces, prefix) = match service {
        Some(s) => {
            let svc = inner.service(s)?;
            (vec![svc.namespace.as_str().to_owned()], s.to_owned())
        }
        None => (all_ns(inner), String::new()),
    };
    let mut rows = Vec::new();
    for ns in &namespaces {
        rows.extend(recent_events(ctx, ns, &prefix, 20).await?);
    }
    rows.sort_by(|a, b| b[0].cmp(&a[0]));
    rows.truncate(20);
    let title = service.map_or_else(|| namespaces.join(", "), str::to_owned);
    if rows.is_empty() {
        return Ok(Message::text(
            Tone::Info,
            format!("No recent events for {title}."),
        ));
    }
    Ok(Message::new(Tone::Info)
        .header(format!("Recent events of {title}"))
        .table(&EVENT_HEADERS, rows))
}

#[allow(clippy::too_many_arguments)]
async fn logs(
    inner: &Inner,
    ctx: &Ctx,
    target: &Target,
    previous: bool,
    container: Option<&str>,
    tail: u32,
    since: Option<u64>,
) -> Result<Message, ExecError> {
    let svc = inner.service(target.service())?;
    let ns = svc.namespace.as_str();
    let pod = match target {
        Target::Pod { pod, .. } => pod.clone(),
        Target::Service(_) => {
            let selector = selector_of(ctx, svc).await?;
            let pods = list_pods(ctx, ns, &selector).await?;
            // Prefer a pod that is not Ready: that is the one whose logs matter.
            let pick = pods
                .iter()
                .find(|p| !pod_state(p).ready)
                .or_else(|| pods.first())
                .ok_or_else(|| ExecError::NotFound {
                    what: format!("a pod of {} in {ns}", svc.name),
                })?;
            pick.name_any()
        }
    };
    if let Some(c) = container
        && !svc.containers.iter().any(|x| x == c)
    {
        return Err(ExecError::Precondition {
            why: format!(
                "{} has no container `{c}`; its containers: {}",
                svc.name,
                svc.containers.join(", ")
            ),
        });
    }
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    let lp = LogParams {
        container: container.map(str::to_owned),
        previous,
        tail_lines: Some(i64::from(tail.max(1))),
        since_seconds: since.map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
        ..LogParams::default()
    };
    let text = ctx
        .op("get", "pods/log", ns, &pod)
        .run(api.logs(&pod, &lp))
        .await?;
    let clean = redact::text(&text);
    let title = format!(
        "Logs of {ns}/{pod}{}{}",
        container.map(|c| format!(" ({c})")).unwrap_or_default(),
        if previous { ", previous container" } else { "" }
    );
    Ok(log_message(&title, &pod, &clean))
}

/// A redacted log for chat: the last lines inline, the whole text attached when cut.
pub fn log_message(title: &str, pod: &str, clean: &str) -> Message {
    let lines: Vec<&str> = clean.lines().collect();
    if lines.is_empty() {
        return Message::text(Tone::Info, format!("{title}: no log lines."));
    }
    let mut shown: Vec<&str> = lines.iter().rev().take(LOG_INLINE_LINES).copied().collect();
    shown.reverse();
    let full_shown = shown.join("\n");
    let mut inline = full_shown.clone();
    if inline.len() > LOG_INLINE_CHARS {
        let cut = inline.len() - LOG_INLINE_CHARS;
        let start = (cut..inline.len())
            .find(|i| inline.is_char_boundary(*i))
            .unwrap_or(0);
        inline = inline[start..].to_owned();
    }
    let truncated = shown.len() < lines.len() || inline.len() < full_shown.len();
    let m = Message::new(Tone::Info).header(title).code(inline);
    if truncated {
        m.context(format!(
            "Showing the last lines of {}; the full (redacted) log is attached.",
            lines.len()
        ))
        .attach(Attachment {
            filename: format!("{pod}.log"),
            mime: "text/plain".into(),
            bytes: clean.as_bytes().to_vec(),
            title: format!("{pod} log ({} lines, redacted)", lines.len()),
        })
    } else {
        m.context("Secret-looking values are redacted.")
    }
}

async fn endpoints(ctx: &Ctx, svc: &Service) -> Result<Message, ExecError> {
    let ns = svc.namespace.as_str();
    let api: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), ns);
    let slices = ctx
        .op("list", "endpointslices", ns, "")
        .run(api.list(
            &ListParams::default().labels(&format!("kubernetes.io/service-name={}", svc.name)),
        ))
        .await?
        .items;
    let mut rows = Vec::new();
    for s in &slices {
        let ports = s
            .ports
            .as_ref()
            .map(|ps| {
                ps.iter()
                    .map(|p| {
                        format!(
                            "{}{}",
                            p.port.unwrap_or(0),
                            p.name.as_ref().map(|n| format!("/{n}")).unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        for e in s.endpoints.iter().flatten() {
            let ready = e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true);
            rows.push(vec![
                e.addresses.join(","),
                ports.clone(),
                if ready {
                    "ready".into()
                } else {
                    "NOT READY".into()
                },
                e.target_ref
                    .as_ref()
                    .and_then(|t| t.name.clone())
                    .unwrap_or_default(),
            ]);
        }
    }
    if slices.is_empty() {
        return Err(ExecError::NotFound {
            what: format!("endpoints of Service {} in {ns}", svc.name),
        });
    }
    let ready = rows.iter().filter(|r| r[2] == "ready").count();
    let tone = if ready == 0 { Tone::Danger } else { Tone::Info };
    Ok(Message::new(tone)
        .header(format!("Endpoints of {ns}/{}", svc.name))
        .paragraph(format!("{ready} ready, {} not ready.", rows.len() - ready))
        .table(&["ADDRESS", "PORTS", "STATE", "POD"], rows))
}

async fn netpol(ctx: &Ctx, namespaces: &[String]) -> Result<Message, ExecError> {
    let mut rows = Vec::new();
    for ns in namespaces {
        let api: Api<NetworkPolicy> = Api::namespaced(ctx.client.clone(), ns);
        let list = ctx
            .op("list", "networkpolicies", ns, "")
            .run(api.list(&ListParams::default()))
            .await?;
        for p in list.items {
            let spec = p.spec.clone().unwrap_or_default();
            let selector = spec
                .pod_selector
                .as_ref()
                .and_then(|s| s.match_labels.clone())
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "(all pods)".into());
            let types = spec.policy_types.clone().unwrap_or_default().join(",");
            let from = spec
                .ingress
                .as_ref()
                .map(|rules| {
                    if rules.is_empty() {
                        return "deny all".to_owned();
                    }
                    rules
                        .iter()
                        .flat_map(|r| r.from.clone().unwrap_or_default())
                        .map(|peer| {
                            peer.pod_selector
                                .and_then(|s| s.match_labels)
                                .map(|m| {
                                    m.iter()
                                        .map(|(k, v)| format!("{k}={v}"))
                                        .collect::<Vec<_>>()
                                        .join(",")
                                })
                                .unwrap_or_else(|| "namespace/ipBlock".into())
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .unwrap_or_else(|| "deny all".into());
            rows.push(vec![
                format!("{ns}/{}", p.name_any()),
                selector,
                types,
                from,
            ]);
        }
    }
    if rows.is_empty() {
        return Ok(Message::text(
            Tone::Info,
            format!("No NetworkPolicies in {}.", namespaces.join(", ")),
        ));
    }
    Ok(Message::new(Tone::Info)
        .header(format!("NetworkPolicies in {}", namespaces.join(", ")))
        .table(&["POLICY", "PODS", "TYPES", "INGRESS FROM"], rows))
}

async fn top(inner: &Inner, ctx: &Ctx, kind: TopKind) -> Result<Message, ExecError> {
    let paths: Vec<(String, String)> = match kind {
        TopKind::Nodes => vec![("nodes".into(), "/apis/metrics.k8s.io/v1beta1/nodes".into())],
        TopKind::Pods => all_ns(inner)
            .into_iter()
            .map(|ns| {
                (
                    ns.clone(),
                    format!("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods"),
                )
            })
            .collect(),
    };
    let mut rows = Vec::new();
    for (ns, path) in paths {
        let req = http::Request::get(&path)
            .body(Vec::new())
            .map_err(|e| ExecError::Internal {
                detail: e.to_string(),
            })?;
        let res = ctx
            .op("list", "metrics.k8s.io", &ns, "")
            .run(ctx.client.request::<Value>(req))
            .await;
        let v = match res {
            Ok(v) => v,
            Err(ExecError::NotFound { .. }) => {
                return Ok(Message::text(
                    Tone::Warning,
                    "The metrics API (metrics.k8s.io) is not available in this cluster, so `top` has nothing to show; install metrics-server, or use `/va prom` for Prometheus metrics.",
                ));
            }
            Err(e) => return Err(e),
        };
        for item in v["items"].as_array().cloned().unwrap_or_default() {
            let name = item["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let (cpu, mem) = match kind {
                TopKind::Nodes => (
                    item["usage"]["cpu"].as_str().unwrap_or_default().to_owned(),
                    item["usage"]["memory"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                ),
                TopKind::Pods => {
                    let cs = item["containers"].as_array().cloned().unwrap_or_default();
                    (
                        cs.iter()
                            .map(|c| c["usage"]["cpu"].as_str().unwrap_or_default())
                            .collect::<Vec<_>>()
                            .join("+"),
                        cs.iter()
                            .map(|c| c["usage"]["memory"].as_str().unwrap_or_default())
                            .collect::<Vec<_>>()
                            .join("+"),
                    )
                }
            };
            rows.push(vec![name, cpu, mem]);
        }
    }
    Ok(Message::new(Tone::Info)
        .header(match kind {
            TopKind::Nodes => "Node usage".to_owned(),
            TopKind::Pods => "Pod usage".to_owned(),
        })
        .table(&["NAME", "CPU", "MEMORY"], rows))
}

async fn rollout_status(ctx: &Ctx, svc: &Service) -> Result<Message, ExecError> {
    let (done, text) = match svc.kind {
        WorkloadKind::Deployment => {
            let d = get_deployment(ctx, svc).await?;
            deployment_status(&d)
        }
        WorkloadKind::StatefulSet => {
            let s = get_statefulset(ctx, svc).await?;
            statefulset_status(&s)
        }
    };
    Ok(Message::text(
        if done { Tone::Success } else { Tone::Warning },
        text,
    ))
}

/// kubectl's `DeploymentStatusViewer`, one poll.
pub fn deployment_status(d: &Deployment) -> (bool, String) {
    let name = d.name_any();
    let generation = d.metadata.generation.unwrap_or(0);
    let st = d.status.clone().unwrap_or_default();
    if generation > st.observed_generation.unwrap_or(0) {
        return (
            false,
            "Waiting for deployment spec update to be observed...".into(),
        );
    }
    let progressing = st
        .conditions
        .as_ref()
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Progressing"));
    if progressing.is_some_and(|c| c.reason.as_deref() == Some("ProgressDeadlineExceeded")) {
        return (
            false,
            format!("deployment \"{name}\" exceeded its progress deadline"),
        );
    }
    let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let updated = st.updated_replicas.unwrap_or(0);
    let total = st.replicas.unwrap_or(0);
    let available = st.available_replicas.unwrap_or(0);
    if updated < replicas {
        return (
            false,
            format!(
                "Waiting for deployment \"{name}\" rollout to finish: {updated} out of {replicas} new replicas have been updated..."
            ),
        );
    }
    if total > updated {
        return (
            false,
            format!(
                "Waiting for deployment \"{name}\" rollout to finish: {} old replicas are pending termination...",
                total - updated
            ),
        );
    }
    if available < updated {
        return (
            false,
            format!(
                "Waiting for deployment \"{name}\" rollout to finish: {available} of {updated} updated replicas are available..."
            ),
        );
    }
    (
        true,
        format!("deployment \"{name}\" successfully rolled out"),
    )
}

/// kubectl's `StatefulSetStatusViewer` (RollingUpdate), one poll.
pub fn statefulset_status(s: &StatefulSet) -> (bool, String) {
    let st = s.status.clone().unwrap_or_default();
    if st.observed_generation.unwrap_or(0) < s.metadata.generation.unwrap_or(0) {
        return (
            false,
            "Waiting for statefulset spec update to be observed...".into(),
        );
    }
    let replicas = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let ready = st.ready_replicas.unwrap_or(0);
    if ready < replicas {
        return (
            false,
            format!("Waiting for {} pods to be ready...", replicas - ready),
        );
    }
    if st.update_revision != Some(st.current_revision.clone().unwrap_or_default()) {
        return (
            false,
            format!(
                "waiting for statefulset rolling update to complete {} pods at revision {}...",
                st.updated_replicas.unwrap_or(0),
                st.update_revision.unwrap_or_default()
            ),
        );
    }
    (
        true,
        format!(
            "statefulset rolling update complete {replicas} pods at revision {}...",
            st.current_revision.unwrap_or_default()
        ),
    )
}

/// `(revision, change-cause, image)` rows of a Deployment's history, oldest first.
pub async fn deployment_history(
    ctx: &Ctx,
    svc: &Service,
) -> Result<(Deployment, Vec<ReplicaSet>, Vec<(i64, String, String)>), ExecError> {
    let d = get_deployment(ctx, svc).await?;
    let ns = svc.namespace.as_str();
    let selector = d
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.clone())
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), ns);
    let all = ctx
        .op("list", "replicasets", ns, "")
        .run(api.list(&ListParams::default().labels(&selector)))
        .await?
        .items;
    let mut rows: Vec<(i64, String, String)> = crate::rollback::owned_replica_sets(&d, &all)
        .into_iter()
        .filter_map(|rs| {
            let rev = revision_of(rs.annotations())?;
            let cause = rs
                .annotations()
                .get(CHANGE_CAUSE)
                .cloned()
                .unwrap_or_else(|| "<none>".into());
            let image = rs
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .map(image_of)
                .unwrap_or_default();
            Some((rev, cause, image))
        })
        .collect();
    rows.sort_by_key(|r| r.0);
    Ok((d, all, rows))
}

pub async fn statefulset_revisions(
    ctx: &Ctx,
    svc: &Service,
) -> Result<(StatefulSet, Vec<ControllerRevision>), ExecError> {
    let s = get_statefulset(ctx, svc).await?;
    let ns = svc.namespace.as_str();
    let api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), ns);
    let all = ctx
        .op("list", "controllerrevisions", ns, "")
        .run(api.list(&ListParams::default()))
        .await?
        .items;
    Ok((s, all))
}

async fn rollout_history(ctx: &Ctx, svc: &Service) -> Result<Message, ExecError> {
    let ns = svc.namespace.as_str();
    let (current, rows) = match svc.kind {
        WorkloadKind::Deployment => {
            let (d, _, rows) = deployment_history(ctx, svc).await?;
            (revision_of(d.annotations()), rows)
        }
        WorkloadKind::StatefulSet => {
            let (s, all) = statefulset_revisions(ctx, svc).await?;
            let uid = s.metadata.uid.clone().unwrap_or_default();
            let current_name = s.status.as_ref().and_then(|st| st.update_revision.clone());
            let mut current = None;
            let mut rows: Vec<(i64, String, String)> = all
                .iter()
                .filter(|r| {
                    r.owner_references()
                        .iter()
                        .any(|o| o.controller == Some(true) && o.uid == uid)
                })
                .map(|r| {
                    if Some(r.name_any()) == current_name {
                        current = Some(r.revision);
                    }
                    let image = r
                        .data
                        .as_ref()
                        .and_then(|d| d.0.pointer("/spec/template/spec/containers/0/image"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    (
                        r.revision,
                        r.annotations()
                            .get(CHANGE_CAUSE)
                            .cloned()
                            .unwrap_or_else(|| "<none>".into()),
                        image,
                    )
                })
                .collect();
            rows.sort_by_key(|r| r.0);
            (current, rows)
        }
    };
    let table = rows
        .iter()
        .map(|(rev, cause, image)| {
            vec![
                format!(
                    "{rev}{}",
                    if Some(*rev) == current {
                        " (current)"
                    } else {
                        ""
                    }
                ),
                cause.clone(),
                image.clone(),
            ]
        })
        .collect();
    Ok(Message::new(Tone::Info)
        .header(format!("Rollout history of {} {ns}/{}", svc.kind, svc.name))
        .table(&["REVISION", "CHANGE-CAUSE", "IMAGE"], table))
}

pub async fn find_hpa(ctx: &Ctx, svc: &Service) -> Result<HorizontalPodAutoscaler, ExecError> {
    let ns = svc.namespace.as_str();
    let api: Api<HorizontalPodAutoscaler> = Api::namespaced(ctx.client.clone(), ns);
    if let Some(name) = &svc.hpa {
        return ctx
            .op("get", "horizontalpodautoscalers", ns, name)
            .run(api.get(name))
            .await;
    }
    let list = ctx
        .op("list", "horizontalpodautoscalers", ns, "")
        .run(api.list(&ListParams::default()))
        .await?;
    list.items
        .into_iter()
        .find(|h| h.spec.scale_target_ref.name == svc.name)
        .ok_or_else(|| ExecError::NotFound {
            what: format!("a HorizontalPodAutoscaler for {} in {ns}", svc.name),
        })
}

async fn hpa(inner: &Inner, ctx: &Ctx, service: Option<&str>) -> Result<Message, ExecError> {
    let hpas = match service {
        Some(s) => vec![find_hpa(ctx, inner.service(s)?).await?],
        None => {
            let mut v = Vec::new();
            for ns in all_ns(inner) {
                let api: Api<HorizontalPodAutoscaler> = Api::namespaced(ctx.client.clone(), &ns);
                v.extend(
                    ctx.op("list", "horizontalpodautoscalers", &ns, "")
                        .run(api.list(&ListParams::default()))
                        .await?
                        .items,
                );
            }
            v
        }
    };
    if hpas.is_empty() {
        return Ok(Message::text(
            Tone::Info,
            "No HorizontalPodAutoscalers in the catalog's namespaces.",
        ));
    }
    let rows = hpas
        .iter()
        .map(|h| {
            let spec = h.spec.clone();
            let st = h.status.clone().unwrap_or_default();
            let targets = spec
                .metrics
                .unwrap_or_default()
                .iter()
                .filter_map(|m| m.resource.as_ref())
                .map(|r| {
                    let cur = st
                        .current_metrics
                        .as_ref()
                        .and_then(|cm| {
                            cm.iter()
                                .find_map(|c| c.resource.as_ref().filter(|x| x.name == r.name))
                        })
                        .and_then(|c| c.current.average_utilization)
                        .map_or_else(|| "<unknown>".to_owned(), |v| format!("{v}%"));
                    format!(
                        "{}: {cur}/{}%",
                        r.name,
                        r.target.average_utilization.unwrap_or(0)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                format!("{}/{}", h.namespace().unwrap_or_default(), h.name_any()),
                format!(
                    "{}/{}",
                    spec.scale_target_ref.kind, spec.scale_target_ref.name
                ),
                targets,
                spec.min_replicas.unwrap_or(1).to_string(),
                spec.max_replicas.to_string(),
                st.current_replicas.unwrap_or(0).to_string(),
                st.desired_replicas.to_string(),
            ]
        })
        .collect();
    Ok(Message::new(Tone::Info)
        .header("HorizontalPodAutoscalers")
        .table(
            &[
                "HPA", "TARGET", "METRICS", "MIN", "MAX", "CURRENT", "DESIRED",
            ],
            rows,
        ))
}

async fn config_get(ctx: &Ctx, svc: &Service, key: Option<&str>) -> Result<Message, ExecError> {
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

async fn istio(inner: &Inner, ctx: &Ctx, namespaces: &[String]) -> Result<Message, ExecError> {
    if !inner.has_istio() {
        return Ok(Message::text(
            Tone::Warning,
            "The Istio API (networking.istio.io) is not served by this cluster.",
        ));
    }
    let mut filters = Vec::new();
    let mut routes = Vec::new();
    for ns in namespaces {
        let ef: Api<DynamicObject> =
            Api::namespaced_with(ctx.client.clone(), ns, &envoy_filter_resource());
        for f in ctx
            .op("list", "envoyfilters", ns, "")
            .run(ef.list(&ListParams::default()))
            .await?
            .items
        {
            let selector = f.data["spec"]["workloadSelector"]["labels"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            let patches = f.data["spec"]["configPatches"]
                .as_array()
                .map(Vec::len)
                .unwrap_or(0);
            filters.push(vec![
                format!("{ns}/{}", f.name_any()),
                selector,
                patches.to_string(),
            ]);
        }
        let vs: Api<DynamicObject> =
            Api::namespaced_with(ctx.client.clone(), ns, &virtual_service_resource());
        for v in ctx
            .op("list", "virtualservices", ns, "")
            .run(vs.list(&ListParams::default()))
            .await?
            .items
        {
            for http in v.data["spec"]["http"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let weights = http["route"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|r| {
                        format!(
                            "{} {}%",
                            r["destination"]["subset"]
                                .as_str()
                                .or(r["destination"]["host"].as_str())
                                .unwrap_or("?"),
                            r["weight"].as_i64().unwrap_or(100)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" / ");
                routes.push(vec![
                    format!("{ns}/{}", v.name_any()),
                    http["name"].as_str().unwrap_or("-").to_owned(),
                    weights,
                ]);
            }
        }
    }
    let mut m = Message::new(Tone::Info).header(format!("Istio in {}", namespaces.join(", ")));
    m = if filters.is_empty() {
        m.paragraph("No EnvoyFilters.")
    } else {
        m.table(&["ENVOYFILTER", "WORKLOAD", "PATCHES"], filters)
    };
    m = if routes.is_empty() {
        m.paragraph("No VirtualService routes.")
    } else {
        m.table(&["VIRTUALSERVICE", "ROUTE", "WEIGHTS"], routes)
    };
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_log_shows_its_tail_inline_and_attaches_the_whole_text() {
        let log: String = (0..200).map(|i| format!("line {i}\n")).collect();
        let m = log_message("Logs", "p-1", &log);
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].bytes, log.as_bytes());
        let text = m.plain_text();
        assert!(
            text.contains("line 199") && !text.contains("line 100\n"),
            "{text}"
        );
    }

    #[test]
    fn a_short_log_is_shown_whole_without_attachment() {
        let m = log_message("Logs", "p-1", "a\nb\n");
        assert!(m.attachments.is_empty());
        assert!(m.plain_text().contains('b'));
    }
}
