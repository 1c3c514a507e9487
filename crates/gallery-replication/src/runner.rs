//! The worker pool: claims jobs, keeps their leases alive while they run, settles them.
//!
//! Each of `concurrent_jobs` loops claims the oldest runnable job, runs it while a companion task
//! renews the lease, and marks it done or schedules it again. A job whose runs keep failing
//! (`max_attempts` of them, or one when no retry can help) is given up on: its operation fails.
//! Idle loops sleep until woken (the API wakes them after enqueuing) or until the poll interval
//! passes (jobs enqueued by other processes).
//! A lost lease means another worker took over: the job is dropped mid-flight, which is safe
//! because every step is idempotent.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use gallery_store::{ClaimedJob, JobKind, NewJob};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::settle::give_up;
use crate::{
    Context, JobError, JobOutcome, LatencyProfile, WorkerSettings, copy_content, delete, garbage,
    replicate,
};

/// The resource key garbage-collection jobs are filed under.
pub(crate) const GARBAGE_KEY: &str = "galleryd:garbage";

/// A running worker pool.
pub struct Workers {
    tasks: JoinSet<()>,
    wake: Arc<Notify>,
}

impl Workers {
    /// Starts the pool; it stops when `shutdown` turns true.
    pub fn start(
        store: gallery_store::Store,
        blobs: gallery_blob::RegionStores,
        settings: WorkerSettings,
        shutdown: watch::Receiver<bool>,
    ) -> Workers {
        let links = (settings.profile == LatencyProfile::Realistic).then(|| {
            Arc::new(crate::Links::new(
                settings.bandwidth_bytes_per_second,
                &settings.link_bandwidths,
            ))
        });
        let context = Context {
            store,
            blobs,
            settings: Arc::new(settings),
            links,
        };
        let wake = Arc::new(Notify::new());
        let mut tasks = JoinSet::new();
        for _ in 0..context.settings.concurrent_jobs.max(1) {
            tasks.spawn(job_loop(context.clone(), wake.clone(), shutdown.clone()));
        }
        if let Some(interval) = context.settings.garbage_collection_interval {
            tasks.spawn(garbage_timer(
                context.clone(),
                wake.clone(),
                interval,
                shutdown,
            ));
        }
        tracing::info!(worker = %context.settings.worker_id, jobs = context.settings.concurrent_jobs, "replication workers started");
        Workers { tasks, wake }
    }

    /// What the API notifies after enqueuing work, so an idle worker starts at once.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Waits for every loop to stop (after shutdown was signalled).
    pub async fn stopped(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

async fn job_loop(context: Context, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        match context
            .store
            .claim_job(&context.settings.worker_id, context.settings.lease)
            .await
        {
            Ok(Some(job)) => {
                tokio::select! {
                    () = run(&context, job) => {}
                    _ = shutdown.changed() => return,
                }
            }
            Ok(None) => {
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(context.settings.poll_interval) => {}
                    _ = shutdown.changed() => return,
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot claim jobs");
                tokio::select! {
                    () = tokio::time::sleep(context.settings.poll_interval) => {}
                    _ = shutdown.changed() => return,
                }
            }
        }
    }
}

/// Enqueues a garbage collection every interval (unless one is already waiting).
async fn garbage_timer(
    context: Context,
    wake: Arc<Notify>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        match context
            .store
            .job_pending(JobKind::CollectGarbage, GARBAGE_KEY)
            .await
        {
            Ok(false) => {
                let job = NewJob {
                    kind: JobKind::CollectGarbage,
                    resource_key: GARBAGE_KEY.to_string(),
                    operation_id: None,
                    payload: "{}".to_string(),
                };
                if let Err(error) = context.store.enqueue_job(&job).await {
                    tracing::warn!(%error, "cannot enqueue garbage collection");
                }
                wake.notify_one();
            }
            Ok(true) => {}
            Err(error) => tracing::warn!(%error, "cannot look for pending garbage collection"),
        }
    }
}

/// How long a run asked to stop by a reset may take to stop by itself (its copies stop before
/// their next part, after the writes they began) before it is dropped.
const STOP_DEADLINE: Duration = Duration::from_secs(5);

tokio::task_local! {
    /// Set when a reset asked the job run of this task to stop; copies check it before every part.
    static STOP: Arc<AtomicBool>;
}

/// Whether a reset asked the current job run to stop.
pub(crate) fn stop_requested() -> bool {
    STOP.try_with(|stop| stop.load(Ordering::Relaxed))
        .unwrap_or(false)
}

/// Runs one claimed job under its lease, then settles it. The run is registered with the store's
/// work fence: a reset of the job's scope asks it to stop (its copies stop at their next part,
/// abort their uploads and fail; every step is idempotent, and the reset removes the job with its
/// resource) and waits for that before deleting anything. A run that does not stop in time is
/// dropped.
async fn run(context: &Context, job: ClaimedJob) {
    use tracing::Instrument;
    let span = tracing::info_span!("job", id = job.job_id, kind = %job.kind, resource = %job.resource_key, attempt = job.attempts);
    let mut pass = context.store.work_fence().enter(&job.resource_key).await;
    let stop = Arc::new(AtomicBool::new(false));
    let work = STOP.scope(stop.clone(), run_claimed(context, job).instrument(span));
    tokio::pin!(work);
    tokio::select! {
        () = &mut work => {}
        () = pass.interrupted() => {
            stop.store(true, Ordering::Relaxed);
            if tokio::time::timeout(STOP_DEADLINE, work).await.is_err() {
                tracing::warn!("a job run did not stop for a reset in time; dropped");
            } else {
                tracing::info!("a job run stopped for a reset");
            }
        }
    }
}

async fn run_claimed(context: &Context, job: ClaimedJob) {
    let worker = context.settings.worker_id.as_str();
    let lease = context.settings.lease;
    let work = async {
        match job.kind {
            JobKind::ReplicateVersion => replicate::run(context, &job).await,
            JobKind::DeleteVersion => delete::run(context, &job).await,
            JobKind::CollectGarbage => garbage::run(context).await,
            JobKind::CopyContent => copy_content::run(context, &job).await,
        }
    };
    let renewals = renew_until_lost(
        lease / 3,
        || context.store.renew_job_lease(job.job_id, worker, lease),
        "cannot renew a job lease",
    );
    let outcome = tokio::select! {
        outcome = work => outcome,
        () = renewals => Err(JobError::LeaseLost),
    };
    let settled = match outcome {
        Ok(JobOutcome::Finished) => context.store.finish_job(job.job_id, worker).await,
        Ok(JobOutcome::Again(delay, reason)) => {
            tracing::debug!(%reason, ?delay, "job runs again later");
            context
                .store
                .reschedule_job(job.job_id, worker, delay)
                .await
        }
        Err(JobError::LeaseLost) => {
            tracing::warn!("lost the job's lease; another worker continues it");
            return;
        }
        Err(error) if error.is_permanent() || job.attempts >= context.settings.max_attempts => {
            tracing::warn!(%error, attempts = job.attempts, "job failed for good; giving up");
            if let Err(error) = give_up(context, &job, &error.to_string()).await {
                tracing::warn!(%error, "cannot give up on a job; its lease will expire and it runs again");
            }
            return;
        }
        Err(error) => {
            let delay = backoff(job.attempts);
            tracing::warn!(%error, ?delay, "job failed; it runs again");
            context
                .store
                .retry_job(job.job_id, worker, delay, &error.to_string())
                .await
        }
    };
    if let Err(error) = settled {
        tracing::warn!(%error, "cannot settle a job; its lease will expire and it runs again");
    }
}

/// Renews a lease with `renew` every `interval` until a renewal reports it lost (`Ok(false)`: another
/// worker took over) and then returns; a renewal that fails is logged as `failure` and tried again
/// at the next interval.
pub(crate) async fn renew_until_lost<Renewal>(
    interval: Duration,
    mut renew: impl FnMut() -> Renewal,
    failure: &str,
) where
    Renewal: Future<Output = Result<bool, gallery_store::StoreError>>,
{
    loop {
        tokio::time::sleep(interval).await;
        match renew().await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => tracing::warn!(%error, "{failure}"),
        }
    }
}

/// Exponential backoff for failed jobs: 1 s, 2 s, 4 s … at most 30 s.
pub(crate) fn backoff(attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1))
        .unwrap_or(0)
        .min(5);
    Duration::from_secs(1u64 << exponent).min(Duration::from_secs(30))
}
