//! Garbage collection: blobs nothing leads to any more.
//!
//! Two kinds of garbage: contents whose owning resource is gone (a resource group deleted with
//! everything in it, a disk deleted), and blobs in a region's store that no content row names (a
//! copy or upload interrupted by a crash before it was recorded). The second kind is deleted only
//! when it stayed unreferenced for the grace period, since a write in flight may record it any
//! moment; the first kind is deleted at once. Writes cut off by a crash also leave staging files
//! that no listing shows (local disk); those are swept once untouched for the grace period.
//! Finished jobs older than a day leave the job queue too.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::{Context, JobError, JobOutcome};

/// How long finished jobs stay in the queue (for debugging) before garbage collection drops them.
const FINISHED_JOB_RETENTION: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// When each unreferenced content was first seen unreferenced (per process; a restart only delays
/// collection by one grace period).
fn first_seen() -> &'static Mutex<HashMap<(String, String), i64>> {
    static FIRST_SEEN: OnceLock<Mutex<HashMap<(String, String), i64>>> = OnceLock::new();
    FIRST_SEEN.get_or_init(|| Mutex::new(HashMap::new()))
}

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
    let now = gallery_store::now_millis();
    let grace = i64::try_from(context.settings.garbage_grace.as_millis()).unwrap_or(i64::MAX);
    for region in context.blobs.regions_in_use().await? {
        let store = context.blobs.region(&region).await?;
        let present = gallery_blob::list_contents(store.as_ref()).await?;
        let known = context.store.known_contents(&present).await?;
        let unknown: Vec<String> = present
            .into_iter()
            .filter(|id| !known.contains(id))
            .collect();
        let mut expired = Vec::new();
        {
            let mut seen = first_seen()
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            seen.retain(|(seen_region, id), _| seen_region != &region || unknown.contains(id));
            for id in &unknown {
                let since = *seen.entry((region.clone(), id.clone())).or_insert(now);
                if now.saturating_sub(since) >= grace {
                    expired.push(id.clone());
                }
            }
        }
        for id in expired {
            gallery_blob::delete(store.as_ref(), &id).await?;
            first_seen()
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .remove(&(region.clone(), id));
            deleted += 1;
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
