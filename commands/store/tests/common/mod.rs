//! Fresh databases for tests: a SQLite temp file, and a PostgreSQL schema of its own on
//! the local server (`POSTGRES_URL`), dropped again when the test ends.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a panic is a failed test
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use vabot_store::SqlStore;

static N: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// One fresh database; `url` opens it again (a "restart" or another replica).
pub struct TestDb {
    pub name: &'static str,
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Schema { admin_url: String, schema: String },
}

impl TestDb {
    pub async fn sqlite() -> Self {
        let path = std::env::temp_dir().join(format!("{}.db", unique("vabot_store")));
        Self {
            name: "sqlite",
            url: format!("sqlite://{}?mode=rwc", path.display()),
            cleanup: Cleanup::File(path),
        }
    }

    pub async fn postgres() -> Self {
        let admin_url = std::env::var("POSTGRES_URL").expect(
            "POSTGRES_URL is not set: source /root/.cache/vabot/dev/env.sh (deploy/dev/env up) or run tests/run",
        );
        let schema = unique("vabot_it_store");
        let admin = SqlStore::connect(&admin_url)
            .await
            .expect("PostgreSQL at POSTGRES_URL is reachable");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(admin.pool())
            .await
            .expect("create schema");
        admin.pool().close().await;
        let sep = if admin_url.contains('?') { '&' } else { '?' };
        Self {
            name: "postgres",
            url: format!("{admin_url}{sep}options=-c%20search_path%3D{schema}"),
            cleanup: Cleanup::Schema { admin_url, schema },
        }
    }

    /// Both backends, SQLite first.
    pub async fn both() -> Vec<Self> {
        vec![Self::sqlite().await, Self::postgres().await]
    }

    pub async fn open(&self) -> SqlStore {
        SqlStore::open(&self.url)
            .await
            .unwrap_or_else(|e| panic!("open {}: {e}", self.name))
    }

    pub async fn drop_db(self) {
        match self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Schema { admin_url, schema } => {
                let admin = SqlStore::connect(&admin_url).await.expect("admin");
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE"
                )))
                .execute(admin.pool())
                .await
                .expect("drop schema");
                admin.pool().close().await;
            }
        }
    }
}
