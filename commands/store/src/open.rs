//! Opening a store: the URL picks the backend (PostgreSQL or SQLite), the pool is made,
//! and the migrations of that backend run.

use super::*;

pub(crate) static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

pub(crate) static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");

/// Why opening the store failed (start-up errors, shown to operators).
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "unsupported database URL scheme `{0}:`; use `postgres://…`, `sqlite://path?mode=rwc` or `sqlite::memory:`"
    )]
    Scheme(String),
    #[error("cannot connect to the {backend:?} database: {source}")]
    Connect {
        backend: Backend,
        #[source]
        source: sqlx::Error,
    },
    #[error("database migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl SqlStore {
    /// Connects and runs the migrations.
    pub async fn open(url: &str) -> Result<Self, OpenError> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating.
    pub async fn connect(url: &str) -> Result<Self, OpenError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of(url).ok_or_else(|| {
            OpenError::Scheme(url.split(':').next().unwrap_or_default().to_owned())
        })?;
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        options = match (backend, memory) {
            // Each connection to `:memory:` is its own database: keep exactly one, forever.
            (Backend::Sqlite, true) => options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None),
            (Backend::Sqlite, false) => options.max_connections(4),
            (Backend::Postgres, _) => options.max_connections(8),
        };
        let pool = options
            .connect(url)
            .await
            .map_err(|source| OpenError::Connect { backend, source })?;
        if backend == Backend::Sqlite && !memory {
            // WAL: readers never block the writer; the setting is kept in the file.
            sqlx::query("PRAGMA journal_mode=WAL")
                .execute(&pool)
                .await
                .map_err(|source| OpenError::Connect { backend, source })?;
        }
        Ok(Self {
            pool,
            backend,
            timeout: QUERY_TIMEOUT,
            chain: Arc::default(),
        })
    }

    /// Applies pending migrations (PostgreSQL serializes concurrent runs with a lock).
    pub async fn migrate(&self) -> Result<(), OpenError> {
        match self.backend {
            Backend::Postgres => POSTGRES.run(&self.pool).await?,
            Backend::Sqlite => SQLITE.run(&self.pool).await?,
        }
        Ok(())
    }
}
