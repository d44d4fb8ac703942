//! `probe <service>`: the service's own health endpoint (the catalog's `probe_path`,
//! `/health` by default, on its `probe_port`) through the API server's service proxy —
//! runbook §2.3/§4.2 `kubectl exec … curl localhost:8080/health` without exec, and
//! without vabot dialling a pod: the API server does, as it does for `kubectl proxy`.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use k8s_openapi::api::core::v1::Node;
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use kube::core::Status;
use vabot_commands::catalog::Service;
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use super::workload::{label_selector, list_pods, service_selector};
use crate::Ctx;
use crate::cache::pod_state;
use crate::redact;

/// How much of the answer's body is read and shown.
const BODY_LIMIT: usize = 4096;
const SHOWN: usize = 600;

/// The annotation kwok puts on the nodes it simulates: their pods have no process.
const SIMULATED_NODE: &str = "kwok.x-k8s.io/node";

/// What came back through the proxy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    /// The service's own reply (any status code), its body cut at [`BODY_LIMIT`].
    Service { code: u16, body: String },
    /// The API server's own refusal (`kind: Status`): no endpoints, RBAC, not found…
    ApiServer(Box<Status>),
}

/// Tells the service's answer from the API server's: only the API server answers with a
/// `v1` `Status` object on a failure.
pub(crate) fn classify(code: u16, body: &str) -> Answer {
    if code >= 400
        && let Ok(v) = serde_json::from_str::<serde_json::Value>(body)
        && v["kind"] == "Status"
        && v["apiVersion"] == "v1"
        && let Ok(status) = serde_json::from_value::<Status>(v)
    {
        return Answer::ApiServer(Box::new(status));
    }
    Answer::Service {
        code,
        body: body.to_owned(),
    }
}

/// `ctx` reads the Service, its pods and nodes; `proxy` (no retries) sends the probe.
pub(crate) async fn probe(ctx: &Ctx, proxy: &Ctx, svc: &Service) -> Result<Message, ExecError> {
    let name = &svc.name;
    let Some(port) = svc.probe_port.as_deref() else {
        return Err(ExecError::Precondition {
            why: format!(
                "`{name}` has no probe in the catalog (`probe_port` names the Service port to ask); try `/va endpoints {name}` or `/va logs {name}`"
            ),
        });
    };
    let ns = svc.namespace.as_str();
    let path = svc.probe_path();
    // Who could answer: every pod the Service selects, ready or not (the API server
    // proxies to the Endpoints it keeps, which can be ahead of the EndpointSlices).
    let selector = service_selector(ctx, ns, name)
        .await?
        .ok_or_else(|| ExecError::NotFound {
            what: format!("Service {name} in {ns}"),
        })?;
    if selector.is_empty() {
        return Err(ExecError::Precondition {
            why: format!(
                "Service `{name}` has no selector: vabot probes only Services backed by pods; try `/va endpoints {name}`"
            ),
        });
    }
    let pods = list_pods(ctx, ns, &label_selector(&selector)).await?;
    let ready = pods.iter().filter(|p| pod_state(p).ready).count();
    let nodes: BTreeSet<String> = pods
        .iter()
        .filter_map(|p| p.spec.as_ref().and_then(|s| s.node_name.clone()))
        .collect();
    if !nodes.is_empty() {
        let simulated = simulated(ctx, &nodes).await?;
        if !simulated.is_empty() {
            return Ok(Message::new(Tone::Warning)
                .header(format!("Probe of {name}: not sent"))
                .paragraph(format!(
                    "{name}'s pods run on simulated nodes ({}): there is no process behind their addresses to answer `{path}`, so vabot does not ask the API server to dial them.",
                    simulated.into_iter().collect::<Vec<_>>().join(", ")
                ))
                .context(format!("Instead: `/va endpoints {name}`, `/va logs {name}`")));
        }
    }
    let target = format!("{name}:{port}");
    let uri = format!("/api/v1/namespaces/{ns}/services/{target}/proxy{path}");
    let op = ctx.op("get", "services/proxy", ns, &target);
    let started = Instant::now();
    let (code, body) = op.run(get(proxy, &uri)).await?;
    let took = started.elapsed();
    match classify(code, &body) {
        Answer::Service { code, body } => Ok(render_service(name, port, path, code, &body, took)),
        Answer::ApiServer(status) if status.code == 503 || status.code == 502 => {
            Ok(render_unreachable(name, path, ready, &status))
        }
        // RBAC, a missing Service, an unknown port: the usual answers.
        Answer::ApiServer(status) => Err(op.map(kube::Error::Api(status))),
    }
}

/// One GET through the client, the body cut at [`BODY_LIMIT`] bytes.
async fn get(ctx: &Ctx, uri: &str) -> Result<(u16, String), kube::Error> {
    let req = http::Request::get(uri)
        .header(http::header::ACCEPT, "application/json, text/plain, */*")
        .body(kube::client::Body::empty())
        .map_err(kube::Error::HttpError)?;
    let res = ctx.client.send(req).await?;
    let code = res.status().as_u16();
    let mut body = res.into_body();
    let mut buf: Vec<u8> = Vec::new();
    while buf.len() < BODY_LIMIT {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    buf.extend_from_slice(data);
                }
            }
            Some(Err(e)) => return Err(e),
            None => break,
        }
    }
    buf.truncate(BODY_LIMIT);
    Ok((code, String::from_utf8_lossy(&buf).into_owned()))
}

/// Those of `nodes` that kwok simulates.
async fn simulated(ctx: &Ctx, nodes: &BTreeSet<String>) -> Result<BTreeSet<String>, ExecError> {
    let api: Api<Node> = Api::all(ctx.client.clone());
    let all = ctx
        .op("list", "nodes", "the cluster", "")
        .run(api.list(&ListParams::default()))
        .await?
        .items;
    Ok(all
        .iter()
        .filter(|n| nodes.contains(&n.name_any()) && n.annotations().contains_key(SIMULATED_NODE))
        .map(ResourceExt::name_any)
        .collect())
}

pub(crate) fn render_service(
    name: &str,
    port: &str,
    path: &str,
    code: u16,
    body: &str,
    took: Duration,
) -> Message {
    let ok = (200..300).contains(&code);
    let reason = http::StatusCode::from_u16(code)
        .ok()
        .and_then(|c| c.canonical_reason())
        .unwrap_or("");
    let mut m = Message::new(if ok { Tone::Success } else { Tone::Danger })
        .header(format!("Probe of {name}: {code} {reason}"))
        .paragraph(format!(
            "`GET {path}` on port `{port}` answered {code} in {} ms{}.",
            took.as_millis(),
            if ok {
                ""
            } else {
                ": the service itself reports a problem"
            }
        ));
    let shown = redact::text(body.trim());
    if !shown.is_empty() {
        let cut: String = shown.chars().take(SHOWN).collect();
        let more = if shown.chars().count() > SHOWN {
            "\n…"
        } else {
            ""
        };
        m = m.code(format!("{cut}{more}"));
    }
    m.context("Through the API server's service proxy (one ready pod answered; no exec)")
}

pub(crate) fn render_unreachable(name: &str, path: &str, ready: usize, status: &Status) -> Message {
    let why = if status.message.contains("no endpoints available") {
        format!(
            "No ready pod stands behind Service `{name}`: the API server had no endpoint to send `{path}` to."
        )
    } else {
        format!(
            "The API server could not reach {name}'s pods ({ready} ready pod(s)): the connection failed before any answer."
        )
    };
    Message::new(Tone::Danger)
        .header(format!("Probe of {name}: unreachable"))
        .paragraph(why)
        .code(format!(
            "{} {}: {}",
            status.code, status.reason, status.message
        ))
        .context(format!(
            "Next: `/va endpoints {name}`, `/va pods {name}`, `/va diagnose service-comm {name}`"
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_servers_status_is_told_from_the_services_own_answer() {
        let api = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"no endpoints available for service \"web\"","reason":"ServiceUnavailable","code":503}"#;
        let Answer::ApiServer(s) = classify(503, api) else {
            panic!("an API server Status")
        };
        assert_eq!(s.code, 503);
        // The service's own 503 (any body that is not a v1 Status) is the service's.
        assert_eq!(
            classify(503, r#"{"status":"DOWN","db":"timeout"}"#),
            Answer::Service {
                code: 503,
                body: r#"{"status":"DOWN","db":"timeout"}"#.into()
            }
        );
        // A success is never the API server's, whatever its body says.
        assert!(matches!(
            classify(200, api),
            Answer::Service { code: 200, .. }
        ));
    }

    #[test]
    fn the_services_answer_is_shown_redacted_and_bounded() {
        let body = format!(
            r#"{{"status":"UP","db_password":"hunter2hunter2","detail":"{}"}}"#,
            "x".repeat(2000)
        );
        let m = render_service(
            "agent-engine",
            "http",
            "/health",
            200,
            &body,
            Duration::from_millis(12),
        );
        let text = m.plain_text();
        assert!(text.contains("Probe of agent-engine: 200 OK"), "{text}");
        assert!(text.contains("answered 200 in 12 ms"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.len() < 1200, "{}", text.len());
        let bad = render_service(
            "agent-engine",
            "http",
            "/health",
            503,
            "DOWN",
            Duration::ZERO,
        );
        assert!(
            bad.plain_text()
                .contains("the service itself reports a problem")
        );
    }
}
