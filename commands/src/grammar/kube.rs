//! Kubernetes commands: reads (health, pods, logs…) and writes (scale, rollback…).

use super::lexer::Args;
use super::spec::Spec;
use super::values::{self, service};
use super::{Command, HealthScope, ParseError, Target, TopKind, Weight};
use crate::catalog::Catalog;
use crate::model::{Namespace, ShortId};

pub(super) fn parse(spec: &'static Spec, mut a: Args, c: &Catalog) -> Result<Command, ParseError> {
    let cmd = match spec.name {
        "health" => {
            let scope = match a.optional() {
                None => HealthScope::All,
                Some(t) if t == "all" => HealthScope::All,
                Some(t) if c.knows_namespace(&t) => HealthScope::Namespace(Namespace::new(t)),
                Some(t) if c.is_mesh(&t) => HealthScope::Mesh(Namespace::new(t)),
                Some(t) => match c.get(&t) {
                    Some(s) => HealthScope::Service(s.name.clone()),
                    None => return Err(unknown_scope(spec, c, &t)),
                },
            };
            Command::Health { scope }
        }
        "pods" => Command::Pods {
            service: svc(spec, &mut a, c)?,
        },
        "describe" => Command::Describe {
            target: target(spec, &mut a, c)?,
        },
        "events" => Command::Events {
            service: opt_svc(spec, &mut a, c)?,
        },
        "logs" => {
            let previous = a.switch("previous")?;
            let container = a.flag("container")?;
            let tail = match a.flag("tail")? {
                Some(t) => values::int_in(spec, "--tail", &t, 1, 5000)? as u32,
                None => 200,
            };
            let since = match a.flag("since")? {
                Some(t) => Some(values::duration(spec, "--since", &t)?),
                None => None,
            };
            let target = target(spec, &mut a, c)?;
            if let Some(name) = &container
                && let Some(s) = c.get(target.service())
            {
                // The service's own containers and its sidecars (`istio-proxy`).
                let known: Vec<&String> = s.containers.iter().chain(&s.sidecars).collect();
                if !known.contains(&name) {
                    return Err(ParseError::invalid(
                        spec,
                        format!(
                            "{} has no container `{name}`; its containers are {}",
                            target.service(),
                            known
                                .iter()
                                .map(|k| k.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            }
            Command::Logs {
                target,
                previous,
                container,
                tail,
                since,
            }
        }
        "endpoints" => Command::Endpoints {
            service: svc(spec, &mut a, c)?,
        },
        "probe" => Command::Probe {
            service: svc(spec, &mut a, c)?,
        },
        "bluegreen status" => Command::BluegreenStatus {
            service: svc(spec, &mut a, c)?,
        },
        "netpol" => Command::Netpol {
            namespace: opt_ns(spec, &mut a, c)?,
        },
        "top" => {
            let kind = match a.optional().as_deref() {
                None | Some("pods") => TopKind::Pods,
                Some("nodes") => TopKind::Nodes,
                Some(other) => {
                    return Err(ParseError::invalid(
                        spec,
                        format!("`top` shows `pods` or `nodes`, not `{other}`"),
                    ));
                }
            };
            Command::Top { kind }
        }
        "svc" => Command::Svc {
            namespace: opt_ns(spec, &mut a, c)?,
        },
        "pvc" => Command::Pvc {
            namespace: opt_ns(spec, &mut a, c)?,
        },
        "nodes" => Command::Nodes,
        "env" => {
            let service = svc(spec, &mut a, c)?;
            let key = a.required("the variable's name (e.g. LOG_LEVEL)")?;
            Command::Env {
                service,
                key: values::env_name(spec, &key)?,
            }
        }
        "rollout status" => Command::RolloutStatus {
            service: svc(spec, &mut a, c)?,
        },
        "rollout history" => Command::RolloutHistory {
            service: svc(spec, &mut a, c)?,
        },
        "hpa" => Command::Hpa {
            service: opt_svc(spec, &mut a, c)?,
        },
        "hpa set" => {
            let service = svc(spec, &mut a, c)?;
            let max_bound = c.get(&service).map(|s| s.max_replicas).unwrap_or(100);
            let (mut min, mut max, mut cpu, mut memory) = (None, None, None, None);
            while let Some(t) = a.optional() {
                let Some((k, v)) = t.split_once('=') else {
                    return Err(ParseError::invalid(
                        spec,
                        format!(
                            "expected min=<n>, max=<n>, cpu=<percent> or memory=<percent>, got `{t}`"
                        ),
                    ));
                };
                let (slot, hi) = match k {
                    "min" => (&mut min, i64::from(max_bound)),
                    "max" => (&mut max, i64::from(max_bound)),
                    // Utilisation is relative to the pods' requests, so above 100 is valid.
                    "cpu" => (&mut cpu, 500),
                    "memory" => (&mut memory, 500),
                    other => {
                        return Err(ParseError::invalid(
                            spec,
                            format!(
                                "`{other}` is not an HPA setting; use min=<n>, max=<n>, cpu=<percent> or memory=<percent>"
                            ),
                        ));
                    }
                };
                if slot.is_some() {
                    return Err(ParseError::invalid(spec, format!("`{k}` is given twice")));
                }
                *slot = Some(values::int_in(spec, k, v.trim_end_matches('%'), 1, hi)? as u32);
            }
            if min.is_none() && max.is_none() && cpu.is_none() && memory.is_none() {
                return Err(ParseError::missing(
                    spec,
                    "at least one of min=<n>, max=<n>, cpu=<percent>, memory=<percent>",
                ));
            }
            if let (Some(min), Some(max)) = (min, max)
                && min > max
            {
                return Err(ParseError::out_of_range(
                    spec,
                    format!("min ({min}) cannot be above max ({max})"),
                ));
            }
            Command::HpaSet {
                service,
                min,
                max,
                cpu,
                memory,
            }
        }
        "hpa disable" => Command::HpaDisable {
            service: svc(spec, &mut a, c)?,
        },
        "config get" => {
            let service = svc(spec, &mut a, c)?;
            let key = match a.optional() {
                Some(k) => Some(values::config_key(spec, &k)?),
                None => None,
            };
            Command::ConfigGet { service, key }
        }
        "config set" => {
            let restart = a.switch("restart")?;
            let service = svc(spec, &mut a, c)?;
            let kv = a.required("KEY=VALUE")?;
            let Some((k, v)) = kv.split_once('=') else {
                return Err(ParseError::invalid(
                    spec,
                    format!("expected KEY=VALUE, got `{kv}`"),
                ));
            };
            if v.len() > 4096 {
                return Err(ParseError::out_of_range(
                    spec,
                    format!("the value is {} characters; the limit is 4096", v.len()),
                ));
            }
            Command::ConfigSet {
                service,
                key: values::config_key(spec, k)?,
                value: v.to_owned(),
                restart,
            }
        }
        "istio" => Command::Istio {
            namespace: opt_ns(spec, &mut a, c)?,
        },
        "scale" => {
            let service = svc(spec, &mut a, c)?;
            let t = a.required("a replica count")?;
            let s = c
                .get(&service)
                .ok_or_else(|| ParseError::unknown_service(spec, &service, vec![]))?;
            Command::Scale {
                replicas: values::replicas(spec, s, &t)?,
                service,
            }
        }
        "scale-all" => {
            let t = a.required("a namespace")?;
            let Some(namespace) = opt_ns(spec, &mut Args::new(spec, vec![t]), c)? else {
                return Err(ParseError::missing(spec, "a namespace"));
            };
            let n = a.required("a replica count")?;
            let services: Vec<_> = c
                .services
                .iter()
                .filter(|s| s.namespace == namespace)
                .collect();
            if services.is_empty() {
                return Err(ParseError::invalid(
                    spec,
                    format!("the catalog has no workloads in {namespace}"),
                ));
            }
            // Every workload's bounds must allow the count; the first that does not is named.
            let mut replicas = 0;
            for s in services {
                replicas = values::replicas(spec, s, &n)?;
            }
            Command::ScaleAll {
                namespace,
                replicas,
            }
        }
        "stop" => Command::Stop {
            service: svc(spec, &mut a, c)?,
        },
        "restart" => Command::Restart {
            service: svc(spec, &mut a, c)?,
        },
        "rollback" => {
            let to_revision = match a.flag("to-revision")? {
                Some(t) => {
                    Some(values::int_in(spec, "--to-revision", &t, 1, i64::from(i32::MAX))? as u32)
                }
                None => None,
            };
            Command::Rollback {
                service: svc(spec, &mut a, c)?,
                to_revision,
            }
        }
        "set-image" => {
            let service = svc(spec, &mut a, c)?;
            let t = a.required("an image (image:tag or container=image:tag)")?;
            let containers = c
                .get(&service)
                .map(|s| s.containers.clone())
                .unwrap_or_default();
            let (container, image) = match t.split_once('=') {
                Some((k, img)) => {
                    if !containers.iter().any(|x| x == k) {
                        return Err(ParseError::invalid(
                            spec,
                            format!(
                                "{service} has no container `{k}`; its containers are {}",
                                containers.join(", ")
                            ),
                        ));
                    }
                    (k.to_owned(), img.to_owned())
                }
                None => match containers.as_slice() {
                    [only] => (only.clone(), t.clone()),
                    many => {
                        return Err(ParseError::invalid(
                            spec,
                            format!(
                                "{service} has several containers ({}); say which: container=image:tag",
                                many.join(", ")
                            ),
                        ));
                    }
                },
            };
            Command::SetImage {
                service,
                container,
                image: values::image(spec, &image)?,
            }
        }
        "traffic" => {
            let service = svc(spec, &mut a, c)?;
            let mut weights: Vec<Weight> = Vec::new();
            while let Some(t) = a.optional() {
                let Some((subset, w)) = t.split_once('=') else {
                    return Err(ParseError::invalid(
                        spec,
                        format!("expected subset=weight (e.g. blue=20), got `{t}`"),
                    ));
                };
                let subset = values::dns1123_label(spec, "subset name", subset)?;
                if weights.iter().any(|x| x.subset == subset) {
                    return Err(ParseError::invalid(
                        spec,
                        format!("subset `{subset}` is given twice"),
                    ));
                }
                let weight =
                    values::int_in(spec, &format!("the weight of {subset}"), w, 0, 100)? as u8;
                weights.push(Weight { subset, weight });
            }
            if weights.is_empty() {
                return Err(ParseError::missing(spec, "at least one subset=weight"));
            }
            let sum: u32 = weights.iter().map(|w| u32::from(w.weight)).sum();
            if sum != 100 {
                return Err(ParseError::out_of_range(
                    spec,
                    format!("weights must sum to 100, these sum to {sum}"),
                ));
            }
            Command::Traffic { service, weights }
        }
        "envoyfilter set" => {
            let t = a.required("the EnvoyFilter's name")?;
            let name = values::dns1123_subdomain(spec, "EnvoyFilter name", &t)?;
            let (mut tokens, mut fill_secs) = (None, None);
            while let Some(t) = a.optional() {
                match t.split_once('=') {
                    Some(("tokens", v)) if tokens.is_none() => {
                        tokens = Some(values::int_in(spec, "tokens", v, 1, 1_000_000)? as u32);
                    }
                    Some(("fill", v)) if fill_secs.is_none() => {
                        let d = values::duration(spec, "fill", v)?;
                        if d.as_secs() == 0 || d.as_secs() > 3600 {
                            return Err(ParseError::out_of_range(
                                spec,
                                format!("fill must be between 1s and 1h, got `{v}`"),
                            ));
                        }
                        fill_secs = Some(d.as_secs());
                    }
                    Some((k @ ("tokens" | "fill"), _)) => {
                        return Err(ParseError::invalid(spec, format!("`{k}` is given twice")));
                    }
                    _ => {
                        return Err(ParseError::invalid(
                            spec,
                            format!(
                                "expected tokens=<n> or fill=<interval> (e.g. fill=1s), got `{t}`"
                            ),
                        ));
                    }
                }
            }
            if tokens.is_none() && fill_secs.is_none() {
                return Err(ParseError::missing(
                    spec,
                    "tokens=<n> and/or fill=<interval>",
                ));
            }
            Command::EnvoyFilterSet {
                name,
                tokens,
                fill_secs,
            }
        }
        "envoyfilter delete" => {
            let t = a.required("the EnvoyFilter's name")?;
            Command::EnvoyFilterDelete {
                name: values::dns1123_subdomain(spec, "EnvoyFilter name", &t)?,
            }
        }
        "undo" => {
            let t = a.required("the id of the invocation to undo (see `/va history`)")?;
            let invocation = ShortId::parse('i', &t).ok_or_else(|| {
                ParseError::invalid(
                    spec,
                    format!(
                        "`{t}` is not an invocation id; ids look like i-7K2F9Q (see `/va history`)"
                    ),
                )
            })?;
            Command::Undo { invocation }
        }
        other => {
            return Err(ParseError::syntax(format!(
                "internal: `{other}` has no kube parser"
            )));
        }
    };
    a.finish()?;
    Ok(cmd)
}

fn svc(spec: &'static Spec, a: &mut Args, c: &Catalog) -> Result<String, ParseError> {
    let t = a.required("a service name")?;
    Ok(service(spec, c, &t)?.name.clone())
}

fn opt_svc(spec: &'static Spec, a: &mut Args, c: &Catalog) -> Result<Option<String>, ParseError> {
    match a.optional() {
        Some(t) => Ok(Some(service(spec, c, &t)?.name.clone())),
        None => Ok(None),
    }
}

fn opt_ns(spec: &'static Spec, a: &mut Args, c: &Catalog) -> Result<Option<Namespace>, ParseError> {
    let Some(t) = a.optional() else {
        return Ok(None);
    };
    if c.knows_namespace(&t) {
        return Ok(Some(Namespace::new(t)));
    }
    values::dns1123_label(spec, "namespace", &t)?;
    let names = c.all_namespaces();
    let list = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(" or ");
    Err(ParseError::invalid(
        spec,
        format!("unknown namespace `{t}`; vabot manages {list}"),
    ))
}

fn unknown_scope(spec: &'static Spec, c: &Catalog, t: &str) -> ParseError {
    let mut candidates: Vec<&str> = c.names().collect();
    candidates.push(c.namespaces.apps.as_str());
    candidates.push(c.namespaces.infra.as_str());
    candidates.extend(c.namespaces.mesh.as_ref().map(|m| m.as_str()));
    let suggestions: Vec<String> = crate::catalog::suggest(t, candidates)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut e = ParseError::unknown_service(spec, t, suggestions);
    if e.suggestions.is_empty() {
        e.message = format!(
            "`{t}` is neither a service nor a namespace; try `/va health`, `/va health {}` or `/va health agent-engine`",
            c.namespaces.apps
        );
    }
    e
}

/// A service name, or a pod name that belongs to a catalog service (`agent-engine-5d9f…`).
fn target(spec: &'static Spec, a: &mut Args, c: &Catalog) -> Result<Target, ParseError> {
    let t = a.required("a service or pod name")?;
    if let Some(s) = c.get(&t) {
        return Ok(Target::Service(s.name.clone()));
    }
    // Longest service name that prefixes the pod name, followed by '-'.
    let owner = c
        .services
        .iter()
        .filter(|s| t.starts_with(&format!("{}-", s.name)))
        .max_by_key(|s| s.name.len());
    match owner {
        Some(s) => {
            let pod = values::dns1123_subdomain(spec, "pod name", &t)?;
            Ok(Target::Pod {
                service: s.name.clone(),
                pod,
            })
        }
        None => Err(service(spec, c, &t)
            .err()
            .unwrap_or_else(|| ParseError::unknown_service(spec, &t, vec![]))),
    }
}
