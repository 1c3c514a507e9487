//! A cache of resource documents, so a GET usually costs no database round trip.
//!
//! Reads fill it; every write (in this process) and every change announced by Postgres (from any
//! process sharing the database: a trigger NOTIFYs `galleryd_documents` with the resource key after
//! each commit) drops the entry. Fills cannot resurrect stale data: each shard has an invalidation
//! epoch, read before the database read; a fill is kept only if no invalidation touched the shard
//! in between (both happen under the shard's lock). Documents in a non-terminal provisioning state
//! are never cached, so a client that saw an operation finish never reads the unfinished document
//! from here, whichever process did the work. On Postgres the cache serves only while the listener
//! is known to be connected.
//!
//! The cache is bounded: a full shard is emptied before the next fill (crude, but memory stays
//! predictable and hot documents come right back).

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::StoredResource;

const SHARDS: usize = 64;

struct Shard {
    documents: HashMap<String, StoredResource>,
    /// Bumped by every invalidation of a key in this shard.
    epoch: u64,
}

/// The resource document cache (see the module documentation).
pub(crate) struct DocumentCache {
    shards: Vec<RwLock<Shard>>,
    hasher: RandomState,
    capacity_per_shard: usize,
    /// False while changes from other processes might be missed (Postgres listener down).
    serving: AtomicBool,
}

impl std::fmt::Debug for DocumentCache {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("DocumentCache")
            .field("capacity_per_shard", &self.capacity_per_shard)
            .field("serving", &self.serving.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Provisioning states after which a document only changes through another write.
fn is_terminal(provisioning_state: &str) -> bool {
    matches!(provisioning_state, "Succeeded" | "Failed" | "Canceled")
}

impl DocumentCache {
    /// A cache of at most `capacity` documents; `serving` says whether it may answer from the start.
    pub(crate) fn new(capacity: usize, serving: bool) -> Self {
        DocumentCache {
            shards: (0..SHARDS)
                .map(|_| {
                    RwLock::new(Shard {
                        documents: HashMap::new(),
                        epoch: 0,
                    })
                })
                .collect(),
            hasher: RandomState::new(),
            capacity_per_shard: capacity.div_ceil(SHARDS).max(1),
            serving: AtomicBool::new(serving),
        }
    }

    fn shard(&self, key: &str) -> &RwLock<Shard> {
        &self.shards[(self.hasher.hash_one(key) as usize) % SHARDS]
    }

    /// The cached document of `key`, if any.
    pub(crate) fn get(&self, key: &str) -> Option<StoredResource> {
        if !self.serving.load(Ordering::Acquire) {
            return None;
        }
        let shard = self
            .shard(key)
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        shard.documents.get(key).cloned()
    }

    /// The invalidation epoch of `key`'s shard: read it before reading the database.
    pub(crate) fn epoch(&self, key: &str) -> u64 {
        self.shard(key)
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .epoch
    }

    /// Caches `document`, read from the database after [`epoch`](Self::epoch) answered `epoch`,
    /// unless something was invalidated meanwhile or the document is still changing.
    pub(crate) fn fill(&self, key: &str, document: &StoredResource, epoch: u64) {
        if !is_terminal(&document.provisioning_state) || !self.serving.load(Ordering::Acquire) {
            return;
        }
        let mut shard = self
            .shard(key)
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if shard.epoch != epoch {
            return;
        }
        if shard.documents.len() >= self.capacity_per_shard {
            shard.documents.clear();
        }
        shard.documents.insert(key.to_string(), document.clone());
    }

    /// Drops `key`.
    pub(crate) fn invalidate(&self, key: &str) {
        let mut shard = self
            .shard(key)
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        shard.epoch += 1;
        shard.documents.remove(key);
    }

    /// Drops every key starting with `prefix` (a deleted resource group's contents).
    pub(crate) fn invalidate_prefix(&self, prefix: &str) {
        for shard in &self.shards {
            let mut shard = shard
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            shard.epoch += 1;
            shard.documents.retain(|key, _| !key.starts_with(prefix));
        }
    }

    /// Stops answering and forgets everything (changes may have been missed).
    pub(crate) fn suspend(&self) {
        self.serving.store(false, Ordering::Release);
        for shard in &self.shards {
            let mut shard = shard
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            shard.epoch += 1;
            shard.documents.clear();
        }
    }

    /// Answers again (changes are being heard).
    pub(crate) fn resume(&self) {
        self.serving.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(state: &str, body: &str) -> StoredResource {
        StoredResource {
            seq: 1,
            name: "n".into(),
            location: "westus".into(),
            resource_type: "t".into(),
            provisioning_state: state.into(),
            body: body.into(),
            internal: None,
            revision: 0,
        }
    }

    #[test]
    fn fills_are_dropped_when_an_invalidation_came_in_between() {
        let cache = DocumentCache::new(100, true);
        let epoch = cache.epoch("k");
        cache.invalidate("k");
        cache.fill("k", &document("Succeeded", "old"), epoch);
        assert!(cache.get("k").is_none(), "a stale read must not be cached");
        let epoch = cache.epoch("k");
        cache.fill("k", &document("Succeeded", "new"), epoch);
        assert_eq!(cache.get("k").unwrap().body, "new");
    }

    #[test]
    fn unfinished_documents_are_not_cached_and_suspension_stops_answers() {
        let cache = DocumentCache::new(100, true);
        cache.fill("k", &document("Creating", "x"), cache.epoch("k"));
        assert!(cache.get("k").is_none());
        cache.fill("k", &document("Succeeded", "x"), cache.epoch("k"));
        cache.suspend();
        assert!(cache.get("k").is_none());
        cache.resume();
        assert!(cache.get("k").is_none(), "suspension forgot everything");
        cache.fill(
            "/subscriptions/s/resourcegroups/rg/x",
            &document("Succeeded", "x"),
            cache.epoch("/subscriptions/s/resourcegroups/rg/x"),
        );
        cache.invalidate_prefix("/subscriptions/s/resourcegroups/rg/");
        assert!(cache.get("/subscriptions/s/resourcegroups/rg/x").is_none());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = DocumentCache::new(SHARDS, true);
        for index in 0..10 * SHARDS {
            let key = format!("k{index}");
            cache.fill(&key, &document("Succeeded", "x"), cache.epoch(&key));
        }
        let total: usize = cache
            .shards
            .iter()
            .map(|shard| shard.read().unwrap().documents.len())
            .sum();
        assert!(total <= SHARDS, "{total}");
    }
}
