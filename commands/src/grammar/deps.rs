//! Dependency commands: PostgreSQL, Redis, Elasticsearch, Milvus, Nacos, Prometheus, diagnose.

use super::lexer::Args;
use super::spec::Spec;
use super::values::{self, service};
use super::{Command, EsCommand, MilvusCommand, ParseError, PgCommand, Playbook, RedisCommand};
use crate::catalog::{Catalog, suggest};

const REDIS_SECTIONS: [&str; 6] = [
    "memory",
    "stats",
    "server",
    "clients",
    "keyspace",
    "replication",
];

pub(super) fn parse(spec: &'static Spec, mut a: Args, c: &Catalog) -> Result<Command, ParseError> {
    let cmd = match spec.name {
        "pg status" => Command::Pg(PgCommand::Status),
        "pg connections" => Command::Pg(PgCommand::Connections),
        "pg slow" => Command::Pg(PgCommand::Slow {
            n: count(spec, &mut a, 10, 50)?,
        }),
        "pg backup" => Command::Pg(PgCommand::Backup {
            db: match a.optional() {
                Some(t) if values::is_pg_name(&t) => Some(t),
                Some(t) => {
                    return Err(ParseError::invalid(
                        spec,
                        format!(
                            "`{t}` is not a database name: a letter or `_`, then letters, digits, `_` and `-`"
                        ),
                    ));
                }
                None => None,
            },
        }),
        "pg restore" => {
            let t = a.required("a backup id (the reply of `/va pg backup` names it)")?;
            let ok = values::is_backup_id(&t);
            if !ok {
                return Err(ParseError::invalid(
                    spec,
                    format!("`{t}` is not a backup id (e.g. voiceassistant-20261203T101500123Z)"),
                ));
            }
            Command::Pg(PgCommand::Restore { backup: t })
        }
        "redis info" => {
            let section = match a.optional() {
                Some(s) => {
                    let s = s.to_ascii_lowercase();
                    if !REDIS_SECTIONS.contains(&s.as_str()) {
                        return Err(ParseError::invalid(
                            spec,
                            format!(
                                "`{s}` is not an INFO section vabot reads; use one of {}",
                                REDIS_SECTIONS.join(", ")
                            ),
                        ));
                    }
                    Some(s)
                }
                None => None,
            };
            Command::Redis(RedisCommand::Info { section })
        }
        "redis slowlog" => Command::Redis(RedisCommand::Slowlog {
            n: count(spec, &mut a, 10, 128)?,
        }),
        "redis hitrate" => Command::Redis(RedisCommand::Hitrate),
        "redis monitor" => Command::Redis(RedisCommand::Monitor {
            seconds: match a.flag("seconds")? {
                Some(t) => values::int_in(spec, "--seconds", &t, 1, 10)? as u32,
                None => 5,
            },
        }),
        "redis flushdb" => {
            let db = match a.optional() {
                Some(t) => values::int_in(spec, "the database number", &t, 0, 15)? as u8,
                None => 0,
            };
            Command::Redis(RedisCommand::Flushdb { db })
        }
        "es health" => Command::Es(EsCommand::Health),
        "es indices" => Command::Es(EsCommand::Indices),
        "milvus health" => Command::Milvus(MilvusCommand::Health),
        "milvus collections" => Command::Milvus(MilvusCommand::Collections),
        "milvus stats" => Command::Milvus(MilvusCommand::Stats),
        "reindex" => {
            let t = a.required("a Milvus collection name (`/va milvus collections` lists them)")?;
            // Milvus' naming rule: a letter or `_`, then letters, digits and `_`.
            let ok = t.len() <= 255
                && t.starts_with(|ch: char| ch.is_ascii_alphabetic() || ch == '_')
                && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !ok {
                return Err(ParseError::invalid(
                    spec,
                    format!(
                        "`{t}` is not a Milvus collection name: a letter or `_`, then letters, digits and `_`"
                    ),
                ));
            }
            Command::Reindex { collection: t }
        }
        "nacos health" => Command::Nacos,
        "nacos services" => Command::NacosServices {
            group: nacos_group(spec, a.optional())?,
        },
        "nacos config" => {
            let t = a.required("the config's dataId (e.g. agent-engine.properties)")?;
            let ok = !t.is_empty()
                && t.len() <= 255
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
            if !ok {
                return Err(ParseError::invalid(
                    spec,
                    format!(
                        "`{t}` is not a Nacos dataId: use letters, digits, '-', '_', '.' and ':'"
                    ),
                ));
            }
            Command::NacosConfig {
                data_id: t,
                group: nacos_group(spec, a.optional())?,
            }
        }
        "prom" => {
            let since = match a.flag("since")? {
                Some(t) => Some(values::duration(spec, "--since", &t)?),
                None => None,
            };
            let query = a.rest();
            if query.trim().is_empty() {
                return Err(ParseError::missing(spec, "an alias or a PromQL query"));
            }
            if query.len() > 1000 {
                return Err(ParseError::out_of_range(
                    spec,
                    format!("the query is {} characters; the limit is 1000", query.len()),
                ));
            }
            Command::Prom { query, since }
        }
        "diagnose" => {
            let t = a.required("a playbook")?;
            let names = Playbook::ALL.map(Playbook::name);
            let Some(playbook) = Playbook::ALL.into_iter().find(|p| p.name() == t) else {
                let hint = match suggest(&t, names).first() {
                    Some(s) => format!("did you mean `{s}`? "),
                    None => String::new(),
                };
                return Err(ParseError::invalid(
                    spec,
                    format!(
                        "unknown playbook `{t}`: {hint}playbooks are {}",
                        names.join(", ")
                    ),
                ));
            };
            let service = match a.optional() {
                Some(t) => Some(service(spec, c, &t)?.name.clone()),
                None => None,
            };
            Command::Diagnose { playbook, service }
        }
        other => {
            return Err(ParseError::syntax(format!(
                "internal: `{other}` has no dependency parser"
            )));
        }
    };
    a.finish()?;
    Ok(cmd)
}

fn count(spec: &'static Spec, a: &mut Args, default: u32, max: i64) -> Result<u32, ParseError> {
    match a.optional() {
        Some(t) => Ok(values::int_in(spec, "the count", &t, 1, max)? as u32),
        None => Ok(default),
    }
}

/// A Nacos group name (`DEFAULT_GROUP` when none is given).
fn nacos_group(spec: &'static Spec, t: Option<String>) -> Result<String, ParseError> {
    let Some(t) = t else {
        return Ok("DEFAULT_GROUP".into());
    };
    let ok = t.len() <= 128
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    if ok {
        Ok(t)
    } else {
        Err(ParseError::invalid(
            spec,
            format!("`{t}` is not a Nacos group name: use letters, digits, '-', '_', '.' and ':'"),
        ))
    }
}
