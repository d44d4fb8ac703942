//! `top [pods|nodes]`: CPU and memory from the metrics API, or a clear answer that it is
//! not served.

use serde_json::Value;
use vabot_commands::grammar::TopKind;
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use super::all_ns;
use crate::{Ctx, Inner};

pub(crate) async fn top(inner: &Inner, ctx: &Ctx, kind: TopKind) -> Result<Message, ExecError> {
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
