//! `nacos services [group]`: the registered services and their instances, healthy of
//! total (v2 open API `GET /nacos/v2/ns/service/list`, then `/nacos/v2/ns/instance/list`
//! for each, at most [`MAX_SERVICES`]).

use super::*;
use crate::executor::Inner;
use vabot_commands::ports::Outcome;

pub const MAX_SERVICES: usize = 50;

/// `data` of `GET /nacos/v2/ns/service/list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceList {
    pub count: u64,
    pub services: Vec<String>,
}

/// One instance of `GET /nacos/v2/ns/instance/list` (the fields vabot reads).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    pub ip: String,
    pub port: u16,
    pub healthy: bool,
    pub enabled: bool,
    #[serde(default)]
    pub cluster_name: Option<String>,
}

/// `data` of `GET /nacos/v2/ns/instance/list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceList {
    pub name: String,
    #[serde(default)]
    pub hosts: Vec<Instance>,
}

pub(crate) fn data<T>(what: &str, r: V2Result<T>) -> Result<T, ExecError> {
    if r.code != 0 {
        return Err(ExecError::Unavailable {
            what: WHAT.into(),
            detail: format!("{what}: code {} {}", r.code, r.message.unwrap_or_default()),
        });
    }
    r.data.ok_or_else(|| ExecError::Unavailable {
        what: WHAT.into(),
        detail: format!("{what}: the answer has no data"),
    })
}

/// A v2 open-API GET, its envelope unwrapped.
async fn get_v2<T: serde::de::DeserializeOwned>(
    x: &Inner,
    base: &str,
    what: &str,
    path: &str,
    query: &[(&str, String)],
) -> Result<T, ExecError> {
    let r: V2Result<T> = x
        .timed(WHAT, x.http.get_json(WHAT, &join(base, path), query))
        .await?;
    data(what, r)
}

pub(crate) async fn run(x: &Inner, group: &str) -> Result<Outcome, ExecError> {
    let base = x.nacos("nacos services")?;
    let list: ServiceList = get_v2(
        x,
        base,
        "service list",
        "nacos/v2/ns/service/list",
        &[
            ("groupName", group.to_owned()),
            ("pageNo", "1".into()),
            ("pageSize", MAX_SERVICES.to_string()),
        ],
    )
    .await?;
    let mut rows = Vec::new();
    let mut degraded = 0;
    for name in list.services.iter().take(MAX_SERVICES) {
        let inst: InstanceList = get_v2(
            x,
            base,
            "instance list",
            "nacos/v2/ns/instance/list",
            &[
                ("serviceName", name.clone()),
                ("groupName", group.to_owned()),
            ],
        )
        .await?;
        let total = inst.hosts.len();
        let healthy = inst.hosts.iter().filter(|h| h.healthy && h.enabled).count();
        let state = if total == 0 {
            degraded += 1;
            "⚠ no instance registered".to_owned()
        } else if healthy < total {
            degraded += 1;
            format!("⚠ {healthy} of {total} healthy")
        } else {
            format!("{healthy} of {total} healthy")
        };
        let unhealthy: Vec<String> = inst
            .hosts
            .iter()
            .filter(|h| !(h.healthy && h.enabled))
            .map(|h| format!("{}:{}", h.ip, h.port))
            .collect();
        rows.push(vec![name.clone(), state, unhealthy.join(", ")]);
    }
    let summary = format!(
        "nacos services: {} in {group}, {degraded} degraded",
        list.count
    );
    if rows.is_empty() {
        return Ok(Outcome::reply(
            Message::text(
                Tone::Warning,
                format!("Nacos has no service registered in group {group}."),
            ),
            summary,
        ));
    }
    let mut m = Message::new(if degraded > 0 {
        Tone::Warning
    } else {
        Tone::Info
    })
    .header(format!("Nacos services in {group} ({})", list.count))
    .table(&["SERVICE", "INSTANCES", "UNHEALTHY"], rows);
    if list.count as usize > MAX_SERVICES {
        m = m.context(format!(
            "The first {MAX_SERVICES} of {} are shown.",
            list.count
        ));
    }
    Ok(Outcome::reply(m, summary))
}
