//! Garbage collection: blobs nothing leads to any more.
//!
//! Two kinds of garbage: contents whose owning resource is gone (a resource group deleted with
//! everything in it, a disk deleted), and blobs in a region's store that no content row names
//! (writes that raced a deletion, or whose content row was lost). The first kind is deleted at
//! once. Every write records its content before its first blob (uploads and copies alike), so the
//! second kind is never a write still to be recorded; it is nevertheless deleted only once its
//! newest blob is older than the grace period, which the store itself says (the blobs' modification
//! times), so every process sharing the stores agrees and a restart delays nothing. Writes cut off
//! by a crash also leave staging files that no listing shows (local disk); those are swept once
//! untouched for the grace period. Finished jobs older than a day leave the job queue too.

use crate::{Context, JobError, JobOutcome};

/// How long finished jobs stay in the queue (for debugging) before garbage collection drops them.
const FINISHED_JOB_RETENTION: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

pub(crate) async fn run(context: &Context) -> Result<JobOutcome, JobError> {
    let mut deleted = 0usize;
    loop {
        let orphans = context.store.orphaned_contents(200).await?;
        if orphans.is_empty() {
            break;
        }
        for content in orphans {
            context
                .delete_content(&content.region, &content.content_id)
                .await?;
            deleted += 1;
        }
    }
    let grace =
        chrono::Duration::from_std(context.settings.garbage_grace).unwrap_or(chrono::Duration::MAX);
    let untouched_since = chrono::Utc::now()
        .checked_sub_signed(grace)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    for region in context.blobs.regions_in_use().await? {
        let store = context.blobs.region(&region).await?;
        let present = gallery_blob::list_contents(store.as_ref()).await?;
        let known = context.store.known_contents(&present).await?;
        for content_id in present.iter().filter(|id| !known.contains(*id)) {
            let last_written = gallery_blob::last_written(store.as_ref(), content_id).await?;
            if last_written.is_some_and(|written| written < untouched_since) {
                gallery_blob::delete(store.as_ref(), content_id).await?;
                deleted += 1;
            }
        }
    }
    deleted += context
        .blobs
        .sweep_abandoned_uploads(context.settings.garbage_grace)
        .await?;
    let pruned = context
        .store
        .prune_finished_jobs(FINISHED_JOB_RETENTION)
        .await?;
    if pruned > 0 {
        tracing::debug!(pruned, "finished jobs pruned");
    }
    if deleted > 0 {
        tracing::info!(deleted, "garbage collected");
    }
    Ok(JobOutcome::Finished)
}
