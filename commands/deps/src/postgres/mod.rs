//! PostgreSQL: `pg status`, `pg connections`, `pg slow`, and the `db-timeout` checks.
//!
//! A small pool of its own per target (never the bot's store). sqlx's `Pool` retries a
//! refused connection until its acquire timeout, which would turn "down" into "slow";
//! this pool connects directly so the first error is the real one.

pub(crate) mod backup;
pub(crate) mod connections;
pub(crate) mod restore;
pub(crate) mod slow;
pub(crate) mod status;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Row};
use tokio::sync::Mutex;
use vabot_commands::message::{Message, Tone};
use vabot_commands::ports::ExecError;

use crate::http::{chain, excerpt};
use crate::scrub::Scrubber;

pub(crate) const WHAT: &str = "PostgreSQL";
/// Idle connections kept for reuse.
const POOL_SIZE: usize = 2;

/// The server's state for `pg status`.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub version: String,
    pub uptime_secs: f64,
    pub connections: i64,
    pub max_connections: i64,
    pub longest: Option<Transaction>,
}

/// An open transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub pid: i32,
    pub application: String,
    pub state: String,
    pub age_secs: f64,
    pub query: String,
}

/// Connections grouped by state and application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionGroup {
    pub state: String,
    pub application: String,
    pub count: i64,
}

/// One row of pg_stat_statements.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub query: String,
    pub calls: i64,
    pub total_ms: f64,
    pub mean_ms: f64,
    pub rows: i64,
}

/// `pg slow`: statements, or why there are none.
#[derive(Debug, Clone, PartialEq)]
pub enum Slow {
    Statements(Vec<Statement>),
    NotInstalled,
}

/// One PostgreSQL target.
pub(crate) struct Postgres {
    options: PgConnectOptions,
    idle: Mutex<Vec<PgConnection>>,
    scrub: Scrubber,
    timeout: Duration,
}

impl Postgres {
    /// Parses the URL; nothing connects until the first command.
    pub(crate) fn new(url: &str, timeout: Duration, scrub: Scrubber) -> Result<Self, String> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| "endpoints.postgres is not a valid postgres:// URL".to_owned())?
            .application_name("vabot")
            // Statement text in server logs is ours, not the user's; keep sqlx quiet.
            .disable_statement_logging();
        Ok(Self {
            options,
            idle: Mutex::new(Vec::new()),
            scrub,
            timeout,
        })
    }

    async fn acquire(&self) -> Result<PgConnection, ExecError> {
        if let Some(c) = self.idle.lock().await.pop() {
            return Ok(c);
        }
        self.options.connect().await.map_err(|e| self.error(e))
    }

    async fn release(&self, c: PgConnection) {
        let mut idle = self.idle.lock().await;
        if idle.len() < POOL_SIZE {
            idle.push(c);
        }
    }

    /// Maps a sqlx error to what the user can do about it; the detail is scrubbed.
    fn error(&self, e: sqlx::Error) -> ExecError {
        let detail = self.scrub.scrub(&chain(&e));
        match &e {
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
                // 28P01 invalid_password, 28000 invalid_authorization_specification.
                if code.starts_with("28") {
                    return ExecError::Forbidden {
                        what: "PostgreSQL refused vabot's credentials (authentication failed); check the user and password in endpoints.postgres".into(),
                    };
                }
                if code == "3D000" {
                    return ExecError::Precondition {
                        why: "the database named in endpoints.postgres does not exist".into(),
                    };
                }
                ExecError::Unavailable {
                    what: WHAT.into(),
                    detail,
                }
            }
            sqlx::Error::PoolTimedOut => ExecError::Timeout {
                what: WHAT.into(),
                secs: self.timeout.as_secs(),
            },
            _ => ExecError::Unavailable {
                what: WHAT.into(),
                detail,
            },
        }
    }

    pub(crate) async fn status(&self) -> Result<Status, ExecError> {
        let mut c = self.acquire().await?;
        let res = async {
            let row = sqlx::query(
                "select current_setting('server_version') as version,
                        extract(epoch from now() - pg_postmaster_start_time())::float8 as uptime,
                        (select count(*) from pg_stat_activity
                          where backend_type = 'client backend')::int8 as used,
                        current_setting('max_connections')::int8 as max",
            )
            .fetch_one(&mut c)
            .await?;
            let longest = longest_transaction(&mut c).await?;
            Ok::<_, sqlx::Error>(Status {
                version: row.try_get("version")?,
                uptime_secs: row.try_get("uptime")?,
                connections: row.try_get("used")?,
                max_connections: row.try_get("max")?,
                longest,
            })
        }
        .await;
        self.finish(c, res).await
    }

    pub(crate) async fn connections(&self) -> Result<Vec<ConnectionGroup>, ExecError> {
        let mut c = self.acquire().await?;
        let res = async {
            let rows = sqlx::query(
                "select coalesce(state, '(background)') as state,
                        coalesce(nullif(application_name, ''), '(none)') as app,
                        count(*)::int8 as n
                   from pg_stat_activity
                  group by 1, 2
                  order by 3 desc, 1, 2",
            )
            .fetch_all(&mut c)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(ConnectionGroup {
                        state: r.try_get("state")?,
                        application: r.try_get("app")?,
                        count: r.try_get("n")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
        }
        .await;
        self.finish(c, res).await
    }

    pub(crate) async fn slow(&self, n: u32) -> Result<Slow, ExecError> {
        let mut c = self.acquire().await?;
        let res = async {
            let installed: bool = sqlx::query_scalar(
                "select exists(select 1 from pg_extension where extname = 'pg_stat_statements')",
            )
            .fetch_one(&mut c)
            .await?;
            if !installed {
                return Ok(Slow::NotInstalled);
            }
            let rows = sqlx::query(
                "select regexp_replace(query, '\\s+', ' ', 'g') as query,
                        calls::int8 as calls, total_exec_time::float8 as total,
                        mean_exec_time::float8 as mean, rows::int8 as rows
                   from pg_stat_statements
                  order by total_exec_time desc
                  limit $1",
            )
            .bind(i64::from(n))
            .fetch_all(&mut c)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(Statement {
                        query: r.try_get("query")?,
                        calls: r.try_get("calls")?,
                        total_ms: r.try_get("total")?,
                        mean_ms: r.try_get("mean")?,
                        rows: r.try_get("rows")?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map(Slow::Statements)
        }
        .await;
        match res {
            // Created but not preloaded: the view exists and refuses to be read.
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("55000") => {
                self.release(c).await;
                Ok(Slow::NotInstalled)
            }
            other => self.finish(c, other).await,
        }
    }

    async fn finish<T>(
        &self,
        c: PgConnection,
        res: Result<T, sqlx::Error>,
    ) -> Result<T, ExecError> {
        match res {
            Ok(v) => {
                self.release(c).await;
                Ok(v)
            }
            Err(e) => {
                // A connection that failed mid-query may be broken: close it, don't reuse it.
                let _ = c.close().await;
                Err(self.error(e))
            }
        }
    }
}

async fn longest_transaction(c: &mut PgConnection) -> Result<Option<Transaction>, sqlx::Error> {
    let row = sqlx::query(
        "select pid, coalesce(nullif(application_name, ''), '(none)') as app,
                coalesce(state, '') as state,
                extract(epoch from now() - xact_start)::float8 as age,
                coalesce(query, '') as query
           from pg_stat_activity
          where xact_start is not null and pid <> pg_backend_pid()
          order by xact_start
          limit 1",
    )
    .fetch_optional(&mut *c)
    .await?;
    row.map(|r| {
        Ok(Transaction {
            pid: r.try_get("pid")?,
            application: r.try_get("app")?,
            state: r.try_get("state")?,
            age_secs: r.try_get("age")?,
            query: excerpt(&r.try_get::<String, _>("query")?, 100),
        })
    })
    .transpose()
}

/// `93784.2` → `1d 2h 3m`.
pub(crate) fn duration(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    let (d, h, m, sec) = (s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60);
    if d > 0 {
        format!("{d}d {h}h {m}m")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {sec}s")
    } else {
        format!("{sec}s")
    }
}
