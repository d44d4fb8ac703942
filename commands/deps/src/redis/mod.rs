//! Redis: `redis info`, `hitrate`, `slowlog`, `monitor`, `flushdb`, and the `cache-penetration` checks.

pub(crate) mod flushdb;
pub(crate) mod hitrate;
pub(crate) mod info;
pub mod monitor;
pub(crate) mod slowlog;

use std::collections::BTreeMap;

use redis::aio::MultiplexedConnection;
use redis::{Client, ErrorKind, RedisError, Value};
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use crate::http::excerpt;
use crate::scrub::Scrubber;

pub(crate) const WHAT: &str = "Redis";

/// An INFO answer: `key:value` lines, by section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    pub fields: BTreeMap<String, String>,
}

impl Info {
    /// Parses the text INFO returns (`# Section` headers, `key:value` lines).
    pub fn parse(text: &str) -> Self {
        let fields = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Self { fields }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    pub fn u64(&self, key: &str) -> Option<u64> {
        self.get(key)?.parse().ok()
    }

    /// keyspace_hits / (hits + misses); `None` before the first lookup.
    pub fn hit_rate(&self) -> Option<HitRate> {
        let hits = self.u64("keyspace_hits")?;
        let misses = self.u64("keyspace_misses")?;
        Some(HitRate { hits, misses })
    }
}

/// Keyspace hits and misses since the server started (or CONFIG RESETSTAT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HitRate {
    pub hits: u64,
    pub misses: u64,
}

impl HitRate {
    pub fn ratio(&self) -> Option<f64> {
        let total = self.hits + self.misses;
        (total > 0).then(|| self.hits as f64 / total as f64)
    }
}

/// One SLOWLOG entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowEntry {
    pub id: i64,
    pub at: i64,
    pub micros: i64,
    pub command: String,
    pub client: String,
}

/// Key counts before and after a FLUSHDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flushed {
    pub db: u8,
    pub before: u64,
    pub after: u64,
}

/// The fields `redis info <section>` shows first, in this order; others follow.
fn preferred(section: Option<&str>) -> &'static [&'static str] {
    match section {
        Some("memory") => &[
            "used_memory_human",
            "used_memory_peak_human",
            "used_memory_rss_human",
            "maxmemory",
            "maxmemory_human",
            "maxmemory_policy",
            "mem_fragmentation_ratio",
        ],
        Some("stats") => &[
            "instantaneous_ops_per_sec",
            "total_commands_processed",
            "keyspace_hits",
            "keyspace_misses",
            "evicted_keys",
            "expired_keys",
            "rejected_connections",
            "total_connections_received",
        ],
        _ => &[
            "redis_version",
            "uptime_in_days",
            "connected_clients",
            "used_memory_human",
            "maxmemory_human",
            "instantaneous_ops_per_sec",
            "evicted_keys",
            "keyspace_hits",
            "keyspace_misses",
        ],
    }
}

/// One Redis target.
pub(crate) struct Redis {
    client: Client,
    scrub: Scrubber,
    secs: u64,
}

impl Redis {
    pub(crate) fn new(url: &str, secs: u64, scrub: Scrubber) -> Result<Self, String> {
        let client = Client::open(url)
            .map_err(|_| "endpoints.redis is not a valid redis:// URL".to_owned())?;
        Ok(Self {
            client,
            scrub,
            secs,
        })
    }

    async fn conn(&self, client: &Client) -> Result<MultiplexedConnection, ExecError> {
        client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| self.error(e))
    }

    fn error(&self, e: RedisError) -> ExecError {
        let detail = self.scrub.scrub(&format!("{e}"));
        let auth = matches!(e.kind(), ErrorKind::AuthenticationFailed)
            || matches!(e.code(), Some("WRONGPASS" | "NOAUTH" | "NOPERM"))
            || (e.code() == Some("ERR") && detail.contains("AUTH"));
        if auth {
            return ExecError::Forbidden {
                what: "Redis refused vabot's credentials (authentication failed); check the password in endpoints.redis".into(),
            };
        }
        if e.is_timeout() {
            return ExecError::Timeout {
                what: WHAT.into(),
                secs: self.secs,
            };
        }
        let detail = if e.is_connection_refusal() {
            format!("connection refused: {detail}")
        } else {
            detail
        };
        ExecError::Unavailable {
            what: WHAT.into(),
            detail,
        }
    }

    pub(crate) async fn info(&self, section: Option<&str>) -> Result<Info, ExecError> {
        let mut c = self.conn(&self.client).await?;
        let mut cmd = redis::cmd("INFO");
        if let Some(s) = section {
            cmd.arg(s);
        }
        let text: String = cmd.query_async(&mut c).await.map_err(|e| self.error(e))?;
        Ok(Info::parse(&text))
    }

    pub(crate) async fn slowlog(&self, n: u32) -> Result<Vec<SlowEntry>, ExecError> {
        let mut c = self.conn(&self.client).await?;
        let raw: Value = redis::cmd("SLOWLOG")
            .arg("GET")
            .arg(n)
            .query_async(&mut c)
            .await
            .map_err(|e| self.error(e))?;
        Ok(parse_slowlog(&raw))
    }

    /// A client for one database: FLUSHDB and DBSIZE act on the selected db, and a
    /// connection of its own keeps SELECT from leaking into other commands.
    fn client_for(&self, db: u8) -> Result<Client, ExecError> {
        let info = self.client.get_connection_info().clone();
        let settings = info.redis_settings().clone().set_db(i64::from(db));
        Client::open(info.set_redis_settings(settings)).map_err(|e| self.error(e))
    }

    pub(crate) async fn dbsize(&self, db: u8) -> Result<u64, ExecError> {
        let client = self.client_for(db)?;
        let mut c = self.conn(&client).await?;
        redis::cmd("DBSIZE")
            .query_async(&mut c)
            .await
            .map_err(|e| self.error(e))
    }

    pub(crate) async fn flushdb(&self, db: u8) -> Result<Flushed, ExecError> {
        let client = self.client_for(db)?;
        let mut c = self.conn(&client).await?;
        let before: u64 = redis::cmd("DBSIZE")
            .query_async(&mut c)
            .await
            .map_err(|e| self.error(e))?;
        let () = redis::cmd("FLUSHDB")
            .query_async(&mut c)
            .await
            .map_err(|e| self.error(e))?;
        let after: u64 = redis::cmd("DBSIZE")
            .query_async(&mut c)
            .await
            .map_err(|e| self.error(e))?;
        Ok(Flushed { db, before, after })
    }
}

fn parse_slowlog(v: &Value) -> Vec<SlowEntry> {
    let Value::Array(entries) = v else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| {
            let Value::Array(parts) = e else { return None };
            let int = |i: usize| match parts.get(i) {
                Some(Value::Int(n)) => *n,
                _ => 0,
            };
            let command = match parts.get(3) {
                Some(Value::Array(args)) => {
                    args.iter().map(value_text).collect::<Vec<_>>().join(" ")
                }
                _ => String::new(),
            };
            Some(SlowEntry {
                id: int(0),
                at: int(1),
                micros: int(2),
                command: excerpt(&command, 80),
                client: parts.get(4).map(value_text).unwrap_or_default(),
            })
        })
        .collect()
}

fn value_text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_text_is_parsed_into_fields_without_section_headers() {
        let info = Info::parse(
            "# Stats\r\nkeyspace_hits:30\r\nkeyspace_misses:10\r\n\r\n# Memory\r\nused_memory_human:1.2M\r\n",
        );
        assert_eq!(info.get("used_memory_human"), Some("1.2M"));
        assert_eq!(info.fields.len(), 3);
        let rate = info.hit_rate().expect("hits and misses");
        assert_eq!(rate.ratio(), Some(0.75));
    }

    #[test]
    fn slowlog_entries_are_read_from_the_reply_array() {
        let entry = Value::Array(vec![
            Value::Int(7),
            Value::Int(1_700_000_000),
            Value::Int(25_000),
            Value::Array(vec![
                Value::BulkString(b"EVAL".to_vec()),
                Value::BulkString(b"return 1".to_vec()),
            ]),
            Value::BulkString(b"127.0.0.1:5000".to_vec()),
            Value::BulkString(Vec::new()),
        ]);
        let list = parse_slowlog(&Value::Array(vec![entry]));
        assert_eq!(list.len(), 1);
        assert_eq!((list[0].id, list[0].micros), (7, 25_000));
        assert_eq!(list[0].command, "EVAL return 1");
    }
}
