//! ARM resources (galleries, image definitions and versions, disks, snapshots, managed images) in
//! one table.
//!
//! A resource row holds the JSON document galleryd serves plus the columns every lookup needs: the
//! lower-cased canonical id (`resource_key`), its subscription, group, type and parent, and an
//! optional uniqueness claim. Reads by id cost one indexed query (none when the document cache
//! has it); lists are keyset-paginated on `seq`.
//!
//! Writes go one way ([`write`]): the store reads what a write depends on
//! ([`Store::read_write_scope`]), the caller decides (with `gallery-domain`), and the store applies
//! the decision conditionally ([`Store::apply_write`], [`Store::apply_delete`]): a create inserts
//! only if the id and its claims are free, an update or delete applies only over the revision that
//! was read. A write that lost a race answers [`Applied::LostRace`]; the caller reads and decides
//! again. The store never calls back into the caller.

#[macro_use]
mod columns;
mod write;

use crate::{Page, Store, StoreError};

pub use write::{
    Ancestry, Applied, Decision, PutOutcome, ResourceScope, ResourceTarget, UniqueClaim, WriteScope,
};

/// A stored resource.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredResource {
    /// Insertion order; the keyset pagination cursor.
    pub seq: i64,
    pub name: String,
    pub location: String,
    pub resource_type: String,
    pub provisioning_state: String,
    /// The JSON document as served.
    pub body: String,
    /// galleryd's own data about the resource (JSON), never served.
    pub internal: Option<String>,
    /// Bumped by every update (what a conditional write or background work checks).
    pub revision: i64,
}

/// Which resources a list covers.
#[derive(Debug, Clone, Copy)]
pub enum ListScope<'a> {
    /// One type in one resource group.
    InResourceGroup {
        subscription_id: &'a str,
        resource_group_key: &'a str,
        resource_type: &'a str,
    },
    /// One type of top-level resource (galleries) across a subscription.
    InSubscription {
        subscription_id: &'a str,
        resource_type: &'a str,
    },
    /// The children of one type of a parent (found with [`Store::get_resource`]).
    UnderParent {
        parent_seq: i64,
        resource_type: &'a str,
    },
}

impl Store {
    /// Reads one resource by its lower-cased id (from the document cache when it can).
    pub async fn get_resource(
        &self,
        resource_key: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        if let Some(cache) = &self.cache
            && let Some(resource) = cache.get(resource_key)
        {
            return Ok(Some(resource));
        }
        let epoch = self.cache.as_ref().map(|cache| cache.epoch(resource_key));
        let resource: Option<StoredResource> = read!(self, pool => sqlx::query_as(
            concat!("SELECT ", stored_columns!(), " FROM resources WHERE resource_key = $1")
        )
        .bind(resource_key)
        .fetch_optional(pool)
        .await)?;
        if let (Some(cache), Some(epoch), Some(resource)) = (&self.cache, epoch, &resource) {
            cache.fill(resource_key, resource, epoch);
        }
        Ok(resource)
    }

    /// Drops a changed document from the cache.
    pub(crate) fn forget(&self, resource_key: &str) {
        if let Some(cache) = &self.cache {
            cache.invalidate(resource_key);
        }
    }

    /// Lists one page of resources, `limit` at most, after the cursor `after`.
    pub async fn list_resources(
        &self,
        scope: ListScope<'_>,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Page<StoredResource>, StoreError> {
        let after = after.unwrap_or(0);
        let fetch = i64::from(limit) + 1;
        let rows: Vec<StoredResource> = read!(self, pool => match scope {
            ListScope::InResourceGroup { subscription_id, resource_group_key, resource_type } => {
                sqlx::query_as(concat!(
                    "SELECT ", stored_columns!(), " FROM resources WHERE subscription_id = $1 AND resource_group_key = $2 \
                     AND resource_type = $3 AND seq > $4 ORDER BY seq LIMIT $5"
                ))
                .bind(subscription_id)
                .bind(resource_group_key)
                .bind(resource_type)
                .bind(after)
                .bind(fetch)
                .fetch_all(pool)
                .await
            }
            ListScope::InSubscription { subscription_id, resource_type } => {
                sqlx::query_as(concat!(
                    "SELECT ", stored_columns!(), " FROM resources WHERE subscription_id = $1 AND resource_type = $2 \
                     AND parent_seq IS NULL AND seq > $3 ORDER BY seq LIMIT $4"
                ))
                .bind(subscription_id)
                .bind(resource_type)
                .bind(after)
                .bind(fetch)
                .fetch_all(pool)
                .await
            }
            ListScope::UnderParent { parent_seq, resource_type } => {
                sqlx::query_as(concat!(
                    "SELECT ", stored_columns!(), " FROM resources WHERE parent_seq = $1 AND resource_type = $2 \
                     AND seq > $3 ORDER BY seq LIMIT $4"
                ))
                .bind(parent_seq)
                .bind(resource_type)
                .bind(after)
                .bind(fetch)
                .fetch_all(pool)
                .await
            }
        })?;
        Ok(page(rows, limit))
    }

    /// Every resource of `resource_type` in a subscription, nested ones included (for reports such
    /// as billing estimates; not paginated, so not for ARM lists).
    pub async fn all_of_type(
        &self,
        subscription_id: &str,
        resource_type: &str,
    ) -> Result<Vec<StoredResource>, StoreError> {
        Ok(read!(self, pool => sqlx::query_as(concat!(
            "SELECT ", stored_columns!(), " FROM resources WHERE subscription_id = $1 AND resource_type = $2 ORDER BY seq"
        ))
        .bind(subscription_id)
        .bind(resource_type)
        .fetch_all(pool)
        .await)?)
    }

    /// How many resources of each limited kind a subscription has in a region (`kind`, `used`).
    pub async fn usage(
        &self,
        subscription_id: &str,
        location: &str,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let rows: Vec<(String, i64)> = read!(self, pool => sqlx::query_as(
            "SELECT quota_kind, CAST(SUM(used) AS BIGINT) FROM usage_counters WHERE subscription_id = $1 AND location = $2 GROUP BY quota_kind",
        )
        .bind(subscription_id)
        .bind(location)
        .fetch_all(pool)
        .await)?;
        Ok(rows)
    }
}

/// Cuts the one-extra row fetched to learn whether another page follows.
pub(crate) fn page<T: HasSeq>(mut items: Vec<T>, limit: u32) -> Page<T> {
    let limit = limit as usize;
    if items.len() > limit {
        items.truncate(limit);
        let next_cursor = items.last().map(HasSeq::seq);
        Page { items, next_cursor }
    } else {
        Page {
            items,
            next_cursor: None,
        }
    }
}

/// Rows that carry the pagination cursor.
pub(crate) trait HasSeq {
    fn seq(&self) -> i64;
}

impl HasSeq for StoredResource {
    fn seq(&self) -> i64 {
        self.seq
    }
}
