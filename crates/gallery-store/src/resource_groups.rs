//! Resource groups: ARM's containers. Deleting one removes everything in it, children first.

use gallery_domain::ErrorCode;
use gallery_domain::ServiceError;

use crate::operations::NewOperation;
use crate::resources::{HasSeq, page};
use crate::{Page, Store, StoreError};

/// A stored resource group.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredResourceGroup {
    pub seq: i64,
    pub name: String,
    pub location: String,
    /// The JSON document as served.
    pub body: String,
}

impl HasSeq for StoredResourceGroup {
    fn seq(&self) -> i64 {
        self.seq
    }
}

/// What the caller decided to store for a resource group.
pub struct GroupDecision {
    pub name: String,
    pub location: String,
    pub body: String,
}

impl Store {
    /// Reads a resource group by subscription and lower-cased name.
    pub async fn get_resource_group(
        &self,
        subscription_id: &str,
        name_key: &str,
    ) -> Result<Option<StoredResourceGroup>, StoreError> {
        let row: Option<StoredResourceGroup> = read!(self, pool => sqlx::query_as(
            "SELECT seq, name, location, body FROM resource_groups WHERE subscription_id = $1 AND name_key = $2",
        )
        .bind(subscription_id)
        .bind(name_key)
        .fetch_optional(pool)
        .await)?;
        Ok(row)
    }

    /// Lists one page of a subscription's resource groups.
    pub async fn list_resource_groups(
        &self,
        subscription_id: &str,
        after: Option<i64>,
        limit: u32,
    ) -> Result<Page<StoredResourceGroup>, StoreError> {
        let rows: Vec<StoredResourceGroup> = read!(self, pool => sqlx::query_as(
            "SELECT seq, name, location, body FROM resource_groups WHERE subscription_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(subscription_id)
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit) + 1)
        .fetch_all(pool)
        .await)?;
        Ok(page(rows, limit))
    }

    /// Creates or updates a resource group; `decide` sees the current group, if any. Returns whether
    /// it was created, and the stored group.
    pub async fn put_resource_group(
        &self,
        subscription_id: &str,
        name_key: &str,
        decide: impl Fn(Option<&StoredResourceGroup>) -> Result<GroupDecision, ServiceError>,
    ) -> Result<(bool, StoredResourceGroup), StoreError> {
        for _attempt in 0..3 {
            let outcome: Option<(bool, StoredResourceGroup)> = transaction!(self, (transaction, dialect) => {
                let existing: Option<StoredResourceGroup> = sqlx::query_as::<_, StoredResourceGroup>(with_lock!(
                    dialect,
                    "SELECT seq, name, location, body FROM resource_groups WHERE subscription_id = $1 AND name_key = $2",
                    "FOR UPDATE"
                ))
                .bind(subscription_id)
                .bind(name_key)
                .fetch_optional(&mut *transaction)
                .await?;
                let decision = decide(existing.as_ref())?;
                match existing {
                    Some(existing) => {
                        sqlx::query("UPDATE resource_groups SET body = $2 WHERE seq = $1")
                            .bind(existing.seq)
                            .bind(&decision.body)
                            .execute(&mut *transaction)
                            .await?;
                        Some((false, StoredResourceGroup { body: decision.body, ..existing }))
                    }
                    None => {
                        let inserted: Option<i64> = sqlx::query_scalar(
                            "INSERT INTO resource_groups (subscription_id, name_key, name, location, body) VALUES ($1, $2, $3, $4, $5) \
                             ON CONFLICT DO NOTHING RETURNING seq",
                        )
                        .bind(subscription_id)
                        .bind(name_key)
                        .bind(&decision.name)
                        .bind(&decision.location)
                        .bind(&decision.body)
                        .fetch_optional(&mut *transaction)
                        .await?;
                        match inserted {
                            Some(seq) => Some((
                                true,
                                StoredResourceGroup { seq, name: decision.name, location: decision.location, body: decision.body },
                            )),
                            // Created concurrently: run again as an update.
                            None => None,
                        }
                    }
                }
            });
            if let Some(outcome) = outcome {
                return Ok(outcome);
            }
        }
        Err(StoreError::Rejected(ServiceError::new(
            409,
            ErrorCode::Conflict,
            "The resource group is being changed by another request; retry the operation.",
        )))
    }

    /// Deletes a resource group and everything in it (children before parents), releasing their
    /// limits, and records `operation`. Returns the deleted group, or `None` when it did not exist.
    pub async fn delete_resource_group(
        &self,
        subscription_id: &str,
        name_key: &str,
        operation: &NewOperation,
    ) -> Result<Option<StoredResourceGroup>, StoreError> {
        let deleted = transaction!(self, (transaction, dialect) => {
            let group: Option<StoredResourceGroup> = sqlx::query_as::<_, StoredResourceGroup>(with_lock!(
                dialect,
                "SELECT seq, name, location, body FROM resource_groups WHERE subscription_id = $1 AND name_key = $2",
                "FOR UPDATE"
            ))
            .bind(subscription_id)
            .bind(name_key)
            .fetch_optional(&mut *transaction)
            .await?;
            let Some(group) = group else {
                return Ok(None);
            };
            let mut released: Vec<(String, String, i32, i64)> = Vec::new();
            loop {
                // Leaves first: a resource is deleted once nothing references it as parent.
                let deleted: Vec<(String, Option<String>, Option<i32>)> = sqlx::query_as(
                    "DELETE FROM resources WHERE subscription_id = $1 AND resource_group_key = $2 AND NOT EXISTS \
                     (SELECT 1 FROM resources AS child WHERE child.parent_seq = resources.seq) \
                     RETURNING location, quota_kind, quota_shard",
                )
                .bind(subscription_id)
                .bind(name_key)
                .fetch_all(&mut *transaction)
                .await?;
                if deleted.is_empty() {
                    break;
                }
                for (location, kind, shard) in deleted {
                    if let (Some(kind), Some(shard)) = (kind, shard) {
                        match released.iter_mut().find(|(l, k, s, _)| *l == location && *k == kind && *s == shard) {
                            Some(entry) => entry.3 += 1,
                            None => released.push((location, kind, shard, 1)),
                        }
                    }
                }
            }
            for (location, kind, shard, count) in &released {
                release_quota!(transaction, subscription_id, location, kind, *shard, *count);
            }
            sqlx::query("DELETE FROM resource_groups WHERE seq = $1").bind(group.seq).execute(&mut *transaction).await?;
            let group_id = gallery_domain::ids::resource_group_id(subscription_id, &group.name);
            insert_operation!(transaction, operation, subscription_id, &group.location, &group_id);
            Some(group)
        });
        if let (Some(cache), Some(_)) = (&self.cache, &deleted) {
            cache.invalidate_prefix(&format!(
                "/subscriptions/{}/resourcegroups/{name_key}/",
                subscription_id.to_lowercase()
            ));
        }
        Ok(deleted)
    }
}
