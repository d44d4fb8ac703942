//! Durable before ack: a platform's delivery is recorded in the store *before* the platform
//! is told it arrived, then worked on by a bounded pool. An acked delivery is never lost:
//! if the queue is full, or the process dies, the work waits in the store, and a sweeper
//! (on any replica) resumes it. A worker *claims* a delivery by compare-and-set first, so
//! it runs once however many replicas sweep.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{debug, info, warn};
use vabot_commands::model::{DeliveryId, Platform};
use vabot_commands::pipeline::Deps;
use vabot_commands::store::{Delivery, Unsettled};

/// Work waiting for a worker, in memory; beyond this it waits in the store only.
const QUEUE_CAPACITY: usize = 1024;

/// A delivery accepted but not claimed after this long was left behind (the queue was
/// full, or the process that accepted it died): the sweeper resumes it.
const LEFT_BEHIND: Duration = Duration::from_secs(30);

/// A claimed delivery still unsettled after this long lost its worker (a crash); it is
/// retried, at most [`MAX_ATTEMPTS`] times in all. (A replica whose heartbeat stopped
/// loses its deliveries at once.)
const ABANDONED: Duration = Duration::from_secs(15 * 60);
const MAX_ATTEMPTS: u32 = 3;

/// What became of a delivery when it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// Recorded and queued (or left in the store for the sweeper).
    Queued,
    /// Seen before, here or on another replica: nothing to do.
    Duplicate,
    /// The store could not record it: nothing will be done, the user must be told.
    Unrecorded,
}

/// The adapter side: what a delivery is, and how to work on one.
#[async_trait]
pub trait Worker<J>: Send + Sync + 'static {
    /// The inbox this worker's deliveries go through.
    fn inbox(&self) -> &Inbox<J>;
    /// The platform's id for this delivery (`None`: it cannot be recorded; it is worked
    /// on anyway, outside the pool).
    fn delivery_id(job: &J) -> Option<String>;
    /// Does the work (posting included).
    async fn work(&self, job: J);
    /// Called on every sweep, after resuming (e.g. to refresh caches).
    async fn on_sweep(&self) {}
}

type Queued<J> = (J, Option<Delivery>);

/// One adapter's inbox.
pub struct Inbox<J> {
    platform: Platform,
    deps: Deps,
    workers: usize,
    queue: OnceLock<tokio::sync::mpsc::Sender<Queued<J>>>,
    /// Deliveries this process recorded but could not queue: the sweeper takes them back
    /// at once, without the grace period (the claim keeps them from running twice).
    overflowed: AtomicUsize,
}

impl<J> Inbox<J>
where
    J: Serialize + DeserializeOwned + Send + 'static,
{
    pub fn new(platform: Platform, deps: Deps, workers: usize) -> Self {
        Self {
            platform,
            deps,
            workers: workers.max(1),
            queue: OnceLock::new(),
            overflowed: AtomicUsize::new(0),
        }
    }

    /// Records a delivery in the store, then queues its work; the platform is acked after
    /// this returns.
    pub async fn accept<W: Worker<J>>(&self, worker: &Arc<W>, job: J) -> Accepted {
        let Some(id) = W::delivery_id(&job) else {
            self.enqueue(worker, job, None);
            return Accepted::Queued;
        };
        let payload = match serde_json::to_string(&job) {
            Ok(p) => p,
            Err(e) => {
                warn!(error = %e, delivery = id, "A delivery does not encode; working on it unrecorded");
                self.enqueue(worker, job, None);
                return Accepted::Queued;
            }
        };
        let delivery = Delivery {
            platform: self.platform,
            id: DeliveryId::new(id),
            received_at: self.deps.clock.now(),
            payload,
            attempts: 0,
            owner: Some(self.deps.replica.clone()),
        };
        match self.deps.store.accept(&delivery).await {
            Ok(true) => {
                self.enqueue(worker, job, Some(delivery));
                Accepted::Queued
            }
            Ok(false) => {
                info!(delivery = %delivery.id, "Redelivery ignored");
                Accepted::Duplicate
            }
            Err(e) => {
                warn!(error = %e, delivery = %delivery.id, "Could not record a delivery; not running it");
                metrics::counter!("vabot_deliveries_unrecorded_total", "platform" => self.platform.as_str())
                    .increment(1);
                Accepted::Unrecorded
            }
        }
    }

    /// Starts the workers and the sweeper, which at once resumes deliveries a previous
    /// process acked but did not finish. (The first delivery starts them otherwise.)
    pub fn start<W: Worker<J>>(&self, worker: &Arc<W>) {
        self.queue.get_or_init(|| self.start_workers(worker));
    }

    fn enqueue<W: Worker<J>>(&self, worker: &Arc<W>, job: J, delivery: Option<Delivery>) {
        let queue = self.queue.get_or_init(|| self.start_workers(worker));
        if let Err(e) = queue.try_send((job, delivery)) {
            match e.into_inner() {
                (_, Some(d)) => {
                    self.overflowed.fetch_add(1, Ordering::SeqCst);
                    debug!(delivery = %d.id, "Work queue full; the sweeper resumes it");
                }
                (job, None) => {
                    // Nothing recorded to resume it from: work on it outside the pool.
                    let w = worker.clone();
                    tokio::spawn(async move { w.work(job).await });
                }
            }
        }
    }

    /// `workers` tasks on one bounded queue, and the sweeper. They hold the adapter
    /// weakly: dropping the adapter closes the queue and ends them.
    fn start_workers<W: Worker<J>>(&self, worker: &Arc<W>) -> tokio::sync::mpsc::Sender<Queued<J>> {
        let (tx, rx) = tokio::sync::mpsc::channel::<Queued<J>>(QUEUE_CAPACITY);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..self.workers {
            let rx = rx.clone();
            let w = Arc::downgrade(worker);
            let deps = self.deps.clone();
            let platform = self.platform;
            tokio::spawn(async move {
                loop {
                    let next = rx.lock().await.recv().await;
                    let (Some((job, delivery)), Some(w)) = (next, w.upgrade()) else {
                        return;
                    };
                    claimed(&deps, platform, &*w, job, delivery).await;
                }
            });
        }
        tokio::spawn(sweep::<J, W>(Arc::downgrade(worker)));
        tx
    }

    /// Resumes deliveries left in the store: now, and whenever the queue has room.
    pub async fn resume_left_behind(&self) -> usize {
        let now = self.deps.clock.now();
        let overflowed = self.overflowed.swap(0, Ordering::SeqCst);
        let grace = if overflowed > 0 {
            chrono::Duration::zero()
        } else {
            chrono::Duration::from_std(LEFT_BEHIND).unwrap_or_default()
        };
        let ago = |d: Duration| now - chrono::Duration::from_std(d).unwrap_or_default();
        let left = match self
            .deps
            .store
            .unsettled(
                self.platform,
                Unsettled {
                    me: self.deps.replica.clone(),
                    accepted_before: now - grace,
                    claimed_before: ago(ABANDONED),
                    // A replica that stopped: its deliveries are resumed at once.
                    owner_seen_before: vabot_commands::recovery::dead_before(now),
                    max_attempts: MAX_ATTEMPTS,
                },
            )
            .await
        {
            Ok(left) => left,
            Err(e) => {
                debug!(error = %e, "Could not look for left-behind deliveries");
                return 0;
            }
        };
        let Some(queue) = self.queue.get() else {
            return 0;
        };
        let mut resumed = 0;
        for d in left {
            match serde_json::from_str::<J>(&d.payload) {
                Ok(job) => {
                    // The worker claims it, so a delivery another replica took is skipped.
                    if queue.try_send((job, Some(d))).is_err() {
                        self.overflowed.fetch_add(1, Ordering::SeqCst);
                        break;
                    }
                    resumed += 1;
                }
                Err(e) => {
                    warn!(error = %e, delivery = %d.id, "A recorded delivery no longer decodes; settling it");
                    let _ = self.deps.store.settle(self.platform, &d.id, now).await;
                }
            }
        }
        if resumed > 0 {
            info!(resumed, "Resumed deliveries left in the store");
        }
        resumed
    }

    /// Whether this process has a backlog of its own to take back.
    fn backlog(&self) -> bool {
        self.overflowed.load(Ordering::SeqCst) > 0
    }
}

/// Claims a recorded delivery (exactly one worker of any replica wins), works on it and
/// settles it.
async fn claimed<J, W: Worker<J>>(
    deps: &Deps,
    platform: Platform,
    worker: &W,
    job: J,
    delivery: Option<Delivery>,
) {
    let Some(d) = delivery else {
        return worker.work(job).await;
    };
    match deps.store.claim(&d, deps.clock.now(), &deps.replica).await {
        Ok(true) => {}
        Ok(false) => return debug!(delivery = %d.id, "Delivery taken by another worker"),
        Err(e) => {
            // Left unsettled: the sweeper retries once the store is back.
            return warn!(error = %e, delivery = %d.id, "Could not claim a delivery");
        }
    }
    worker.work(job).await;
    if let Err(e) = deps.store.settle(platform, &d.id, deps.clock.now()).await {
        warn!(error = %e, delivery = %d.id, "Could not settle a delivery");
    }
}

/// Every few seconds: resume what the queue could not hold and what dead workers left.
async fn sweep<J, W>(me: Weak<W>)
where
    J: Serialize + DeserializeOwned + Send + 'static,
    W: Worker<J>,
{
    loop {
        let Some(w) = me.upgrade() else {
            return;
        };
        let inbox = w.inbox();
        inbox.resume_left_behind().await;
        w.on_sweep().await;
        // A backlog of this process's own is taken back every second; otherwise every 3 s.
        let pause = if inbox.backlog() {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(3)
        };
        drop(w);
        tokio::time::sleep(pause).await;
    }
}
