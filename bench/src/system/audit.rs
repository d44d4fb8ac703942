//! Hash-chained audit appends per second on PostgreSQL and SQLite, one caller and eight
//! concurrent callers (replicas or tasks racing for the chain head), bounded in count.

use std::sync::Arc;
use std::time::{Duration, Instant};

use vabot_bench::{PgSchema, SqliteFile, audit_event};
use vabot_commands::store::Store;
use vabot_store::{ChainReport, SqlStore};

pub struct AppendReport {
    pub backend: &'static str,
    pub callers: usize,
    pub appends: usize,
    pub wall: Duration,
    /// Per append, ms, sorted.
    pub latencies_ms: Vec<f64>,
    pub intact: bool,
}

impl AppendReport {
    pub fn per_sec(&self) -> f64 {
        self.appends as f64 / self.wall.as_secs_f64()
    }
}

async fn measure(
    backend: &'static str,
    store: Arc<SqlStore>,
    callers: usize,
    appends: usize,
) -> anyhow::Result<AppendReport> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..callers {
        let store = store.clone();
        let mine = appends / callers + usize::from(c < appends % callers);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(mine);
            for n in 0..mine {
                let t0 = Instant::now();
                store
                    .append(audit_event((c * 1_000_000 + n) as u64))
                    .await?;
                lat.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, vabot_commands::store::StoreError>(lat)
        }));
    }
    let mut latencies_ms = Vec::with_capacity(appends);
    for t in tasks {
        latencies_ms.extend(t.await??);
    }
    let wall = started.elapsed();
    latencies_ms.sort_by(f64::total_cmp);
    Ok(AppendReport {
        backend,
        callers,
        appends,
        wall,
        latencies_ms,
        intact: false,
    })
}

/// Both backends, 1 and 8 callers, `appends` each; every chain is verified afterwards.
pub async fn run(appends: usize) -> anyhow::Result<Vec<AppendReport>> {
    let pg = PgSchema::create("audit").await?;
    let sqlite = SqliteFile::new("audit");
    let mut out = Vec::new();
    let result = async {
        for (backend, url) in [("postgres", pg.url.clone()), ("sqlite", sqlite.url.clone())] {
            let store = Arc::new(SqlStore::open(&url).await?);
            for callers in [1, 8] {
                out.push(measure(backend, store.clone(), callers, appends).await?);
            }
            let intact = matches!(store.verify().await?, ChainReport::Intact { .. });
            for r in out.iter_mut().filter(|r| r.backend == backend) {
                r.intact = intact;
            }
            store.pool().close().await;
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    pg.drop_schema().await?;
    sqlite.remove();
    result?;
    Ok(out)
}
