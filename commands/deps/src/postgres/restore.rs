//! `pg restore <backup-id>`: destructive (the demo policy asks two approvals), planned
//! against the backup's manifest and a fresh SHA-256 of its file: a dump whose hash no
//! longer matches is refused, and the approval binds to the hash. Executed as
//! `pg_restore --clean --if-exists --single-transaction`: all of it or nothing.

use std::process::Stdio;

use tokio::io::AsyncReadExt;
use vabot_commands::authz::Permit;
use vabot_commands::message::{Message, Tone};
use vabot_commands::plan::{ObjectRef, Plan};
use vabot_commands::ports::{ExecError, Outcome};

use super::backup::{Manifest, Target, hash_file, human_bytes, io_error, is_db_name, tool_error};
use crate::executor::Inner;

use vabot_commands::grammar::values::is_backup_id;

/// The manifest, with the file checked against its hash.
async fn verified(x: &Inner, id: &str) -> Result<Manifest, ExecError> {
    let dir = x.pg_backup_dir("pg restore")?;
    let text = tokio::fs::read(dir.join(format!("{id}.json")))
        .await
        .map_err(|_| ExecError::NotFound {
            what: format!(
                "backup `{id}` in {} (`pg backup` names each one)",
                dir.display()
            ),
        })?;
    let m: Manifest = serde_json::from_slice(&text).map_err(|_| ExecError::Precondition {
        why: format!("backup `{id}`'s manifest is not readable; refusing to restore it"),
    })?;
    if m.id != id || !is_backup_id(&m.file) || !is_db_name(&m.database) {
        return Err(ExecError::Precondition {
            why: format!("backup `{id}`'s manifest does not describe it; refusing to restore it"),
        });
    }
    let (sha, bytes) = hash_file(&dir.join(&m.file))
        .await
        .map_err(|e| io_error(&format!("read backup `{id}`"), &e))?;
    if sha != m.sha256 || bytes != m.bytes {
        return Err(ExecError::Precondition {
            why: format!(
                "backup `{id}` no longer matches its recorded SHA-256 (recorded {}…, {} bytes; now {}…, {bytes} bytes): refusing to restore it",
                &m.sha256[..16],
                m.bytes,
                &sha[..16]
            ),
        });
    }
    Ok(m)
}

pub(crate) async fn plan(x: &Inner, permit: &Permit, id: &str) -> Result<Plan, ExecError> {
    let m = verified(x, id).await?;
    Target::of(x, "pg restore", Some(&m.database))?;
    Ok(Plan::new(
        permit,
        format!("Restore database {} from backup {id}", m.database),
    )
    .with_target(ObjectRef {
        kind: "PostgreSQL database".into(),
        namespace: "postgres".into(),
        name: m.database.clone(),
    })
    .with_change("contents", "as they are now", format!("as in {id}"))
    // Bound to the hash: a file changed after the vote can never be restored.
    .with_fingerprint(format!("pg restore {id} sha256 {}", m.sha256))
    .with_note(format!(
        "Every object in the backup is dropped and re-created (`pg_restore --clean --if-exists`, one transaction): rows written since {} are lost. Backup: {}, SHA-256 {}. Take `/va pg backup {}` first to keep the current state.",
        m.created_at,
        human_bytes(m.bytes),
        m.sha256,
        m.database
    )))
}

pub(crate) async fn run(x: &Inner, id: &str) -> Result<Outcome, ExecError> {
    let m = verified(x, id).await?;
    let t = Target::of(x, "pg restore", Some(&m.database))?;
    let file = x.pg_backup_dir("pg restore")?.join(&m.file);
    let work = async {
        let mut child = t
            .command(x.pg_tool("pg_restore"))
            .args([
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                "--dbname",
                &t.database,
            ])
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| io_error("start pg_restore", &e))?;
        let mut stderr = Vec::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = (&mut e).take(16 * 1024).read_to_end(&mut stderr).await;
        }
        let status = child
            .wait()
            .await
            .map_err(|e| io_error("wait for pg_restore", &e))?;
        if status.success() {
            Ok(())
        } else {
            Err(tool_error(x, "pg_restore", &stderr))
        }
    };
    x.timed_within("pg_restore", x.pg_tool_timeout(), work)
        .await?;
    tracing::warn!(backup = %m.id, database = %m.database, "PostgreSQL database restored");
    Ok(Outcome {
        message: Message::new(Tone::Success)
            .header(format!("Restored {} from {}", m.database, m.id))
            .fields([
                ("backup", m.id.clone()),
                ("SHA-256 (checked)", m.sha256.clone()),
                ("taken", m.created_at.clone()),
            ])
            .context("pg_restore --clean --if-exists in one transaction; there is no undo (take a backup before restoring)."),
        summary: format!("pg restore {} into {} (sha256 {})", m.id, m.database, &m.sha256[..16]),
        before: None,
        after: Some(serde_json::json!({"backup": m.id, "database": m.database, "sha256": m.sha256})),
    })
}
