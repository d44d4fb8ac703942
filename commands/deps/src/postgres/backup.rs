//! `pg backup [db]`: `pg_dump --format=custom` into the configured directory (a local
//! path or a mounted PVC), hashed while it is written; the size and SHA-256 are in the
//! reply, in a manifest beside the dump and in the audit record. The password reaches
//! `pg_dump` through its environment, never its arguments.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command as Process;
use vabot_commands::authz::Permit;
use vabot_commands::message::{Message, Tone};
use vabot_commands::plan::{ObjectRef, Plan};
use vabot_commands::ports::{ExecError, Outcome};

use super::WHAT;
use crate::executor::Inner;

/// What is kept beside each dump (`<id>.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub id: String,
    pub database: String,
    /// The dump's file name, in the same directory.
    pub file: String,
    pub bytes: u64,
    pub sha256: String,
    pub created_at: String,
}

/// Where to connect, from the configured URL; the password stays apart.
pub(crate) struct Target {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub database: String,
}

impl Target {
    pub(crate) fn of(
        x: &Inner,
        command: &'static str,
        db: Option<&str>,
    ) -> Result<Self, ExecError> {
        let url = x.cfg.postgres.as_ref().ok_or(ExecError::NotConfigured {
            what: "PostgreSQL endpoint (endpoints.postgres, POSTGRES_URL)",
            command,
        })?;
        let u = reqwest::Url::parse(url.expose()).map_err(|_| ExecError::Precondition {
            why: "the configured PostgreSQL endpoint is not a postgres:// URL".into(),
        })?;
        let decode = percent_decode;
        Ok(Self {
            host: u
                .host_str()
                .unwrap_or("127.0.0.1")
                .trim_matches(['[', ']'])
                .to_owned(),
            port: u.port().unwrap_or(5432),
            user: decode(u.username()),
            password: u.password().map(decode),
            database: db
                .map(str::to_owned)
                .unwrap_or_else(|| decode(u.path().trim_start_matches('/'))),
        })
    }

    /// `pg_dump`/`pg_restore` with the connection flags and the password in the
    /// environment.
    pub(crate) fn command(&self, program: PathBuf) -> Process {
        let mut c = Process::new(program);
        c.args([
            "-h",
            &self.host,
            "-p",
            &self.port.to_string(),
            "-U",
            &self.user,
        ])
        .arg("--no-password")
        .env("PGCONNECT_TIMEOUT", "5")
        .env_remove("PGPASSFILE")
        .stdin(Stdio::null())
        .kill_on_drop(true);
        if let Some(p) = &self.password {
            c.env("PGPASSWORD", p);
        }
        c
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 and size of a file, streamed.
pub(crate) async fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = tokio::fs::File::open(path).await?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut n_total = 0u64;
    loop {
        let n = f.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        n_total += n as u64;
    }
    Ok((hex(&h.finalize()), n_total))
}

/// What a failed tool said, scrubbed of the endpoint, its last lines only.
pub(crate) fn tool_error(x: &Inner, tool: &str, stderr: &[u8]) -> ExecError {
    let text = String::from_utf8_lossy(stderr);
    let last: Vec<&str> = text.lines().rev().take(3).collect();
    let last: Vec<&str> = last.into_iter().rev().collect();
    ExecError::Unavailable {
        what: WHAT.into(),
        detail: format!("{tool} failed: {}", x.scrub(&last.join(" / "))),
    }
}

pub(crate) use vabot_commands::grammar::values::is_pg_name as is_db_name;

pub(crate) async fn plan(x: &Inner, permit: &Permit, db: Option<&str>) -> Result<Plan, ExecError> {
    let dir = x.pg_backup_dir("pg backup")?;
    let t = Target::of(x, "pg backup", db)?;
    Ok(Plan::new(
        permit,
        format!("pg_dump of database {} into {}", t.database, dir.display()),
    )
    .with_target(ObjectRef {
        kind: "PostgreSQL database".into(),
        namespace: "postgres".into(),
        name: t.database.clone(),
    })
    .with_change("backups", "as they are", "one more")
    .with_fingerprint(format!("pg backup {}", t.database))
    .with_note("The database is only read (pg_dump takes a consistent snapshot)."))
}

pub(crate) async fn run(x: &Inner, db: Option<&str>) -> Result<Outcome, ExecError> {
    let dir = x.pg_backup_dir("pg backup")?.to_owned();
    let t = Target::of(x, "pg backup", db)?;
    let created = chrono::Utc::now();
    let id = format!("{}-{}", t.database, created.format("%Y%m%dT%H%M%S%3fZ"));
    let file = format!("{id}.dump");
    let path = dir.join(&file);
    let partial = dir.join(format!(".{file}.partial"));
    let work = async {
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| io_error("create the backup directory", &e))?;
        let mut child = t
            .command(x.pg_tool("pg_dump"))
            .args(["--format=custom", "--dbname", &t.database])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| io_error("start pg_dump", &e))?;
        let mut stdout = child
            .stdout
            .take()
            .ok_or_else(|| io_error("read pg_dump", &std::io::Error::other("no stdout")))?;
        let mut stderr = child
            .stderr
            .take()
            .ok_or_else(|| io_error("read pg_dump", &std::io::Error::other("no stderr")))?;
        let errors = tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = (&mut stderr).take(16 * 1024).read_to_end(&mut buf).await;
            buf
        });
        let mut out = tokio::fs::File::create(&partial)
            .await
            .map_err(|e| io_error("create the backup file", &e))?;
        let mut h = Sha256::new();
        let mut bytes = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = stdout
                .read(&mut buf)
                .await
                .map_err(|e| io_error("read pg_dump", &e))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            out.write_all(&buf[..n])
                .await
                .map_err(|e| io_error("write the backup file", &e))?;
            bytes += n as u64;
        }
        out.sync_all()
            .await
            .map_err(|e| io_error("sync the backup file", &e))?;
        let status = child
            .wait()
            .await
            .map_err(|e| io_error("wait for pg_dump", &e))?;
        let stderr = errors.await.unwrap_or_default();
        if !status.success() {
            return Err(tool_error(x, "pg_dump", &stderr));
        }
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(|e| io_error("name the backup file", &e))?;
        let manifest = Manifest {
            id: id.clone(),
            database: t.database.clone(),
            file: file.clone(),
            bytes,
            sha256: hex(&h.finalize()),
            created_at: created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        let text = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
        tokio::fs::write(dir.join(format!("{id}.json")), text)
            .await
            .map_err(|e| io_error("write the backup manifest", &e))?;
        Ok::<Manifest, ExecError>(manifest)
    };
    let m = match x.timed_within("pg_dump", x.pg_tool_timeout(), work).await {
        Ok(m) => m,
        Err(e) => {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(e);
        }
    };
    tracing::info!(backup = %m.id, bytes = m.bytes, sha256 = %m.sha256, "PostgreSQL backup written");
    Ok(Outcome {
        message: Message::new(Tone::Success)
            .header(format!("Backed up {}", m.database))
            .fields([
                ("backup id", m.id.clone()),
                ("size", human_bytes(m.bytes)),
                ("SHA-256", m.sha256.clone()),
                ("file", path.display().to_string()),
            ])
            .context(format!(
                "pg_dump --format=custom. Restore with `/va pg restore {}` (destructive; the hash is checked first).",
                m.id
            )),
        summary: format!("pg backup {}: {} bytes, sha256 {}", m.id, m.bytes, &m.sha256[..16]),
        before: None,
        after: Some(serde_json::json!({"backup": m.id, "bytes": m.bytes, "sha256": m.sha256})),
    })
}

pub(crate) fn io_error(what: &str, e: &std::io::Error) -> ExecError {
    ExecError::Unavailable {
        what: "the backup directory".into(),
        detail: format!("could not {what}: {}", e.kind()),
    }
}

pub(crate) fn human_bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MiB ({n} bytes)", n as f64 / f64::from(1u32 << 20))
    } else if n >= 1 << 10 {
        format!("{:.1} KiB ({n} bytes)", n as f64 / 1024.0)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_escapes() {
        assert!(is_db_name("voiceassistant"));
        assert!(!is_db_name("../etc"));
        assert_eq!(percent_decode("p%40ss"), "p@ss");
        assert_eq!(percent_decode("plain"), "plain");
        assert_eq!(human_bytes(2048), "2.0 KiB (2048 bytes)");
    }
}
