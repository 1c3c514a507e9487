//! Resource groups: ARM's containers. Deleting one removes everything in it, children first.

use crate::operations::NewOperation;
use crate::resources::{HasSeq, page};
use crate::{Applied, Page, Store, StoreError};

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
#[derive(Debug, Clone, PartialEq, Eq)]
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

    /// Applies a decision about a resource group over `existing` (as [`Store::get_resource_group`]
    /// read it): creates it if it was absent (only if still absent), else replaces its document
    /// (only if unchanged since it was read). Answers whether it was created, and the stored group;
    /// [`Applied::LostRace`] when a concurrent write got there first.
    pub async fn apply_resource_group_write(
        &self,
        subscription_id: &str,
        name_key: &str,
        existing: Option<&StoredResourceGroup>,
        decision: &GroupDecision,
    ) -> Result<Applied<(bool, StoredResourceGroup)>, StoreError> {
        Ok(transaction!(self, (transaction, dialect) => {
            match existing {
                Some(existing) => {
                    let updated = sqlx::query("UPDATE resource_groups SET body = $2 WHERE seq = $1 AND body = $3")
                        .bind(existing.seq)
                        .bind(&decision.body)
                        .bind(&existing.body)
                        .execute(&mut *transaction)
                        .await?;
                    if updated.rows_affected() == 0 {
                        return Ok(Applied::LostRace);
                    }
                    Applied::Done((false, StoredResourceGroup { body: decision.body.clone(), ..existing.clone() }))
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
                        Some(seq) => Applied::Done((
                            true,
                            StoredResourceGroup {
                                seq,
                                name: decision.name.clone(),
                                location: decision.location.clone(),
                                body: decision.body.clone(),
                            },
                        )),
                        // Created concurrently: decide again, as an update.
                        None => return Ok(Applied::LostRace),
                    }
                }
            }
        }))
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
            // The group's deployment history goes with it.
            let scope_key = format!("/subscriptions/{}/resourcegroups/{name_key}", subscription_id.to_lowercase());
            sqlx::query("DELETE FROM deployment_operations WHERE deployment_seq IN (SELECT seq FROM deployments WHERE scope_key = $1)")
                .bind(&scope_key).execute(&mut *transaction).await?;
            sqlx::query("DELETE FROM deployments WHERE scope_key = $1").bind(&scope_key).execute(&mut *transaction).await?;
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
