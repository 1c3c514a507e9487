//! Gallery resources (galleries, image definitions and, later, everything below them) in one table.
//!
//! A resource row holds the JSON document galleryd serves plus the columns every lookup needs: the
//! lower-cased canonical id (`resource_key`), its subscription, group, type and parent, and an
//! optional uniqueness claim. Reads by id cost one indexed query; lists are keyset-paginated on `seq`.

use gallery_domain::ServiceError;
use gallery_domain::limits::QuotaKind;

use crate::operations::NewOperation;
use crate::{Page, Store, StoreError};

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
}

/// A resource with the usage-counter shard it is counted in (read when deleting).
#[derive(sqlx::FromRow)]
struct CountedResource {
    #[sqlx(flatten)]
    resource: StoredResource,
    quota_kind: Option<String>,
    quota_shard: Option<i32>,
}

/// The parent a nested resource is written under.
#[derive(Debug, Clone, Copy)]
pub struct ParentTarget<'a> {
    pub resource_key: &'a str,
    /// How `ParentResourceNotFound` names it (e.g. the gallery's name).
    pub display_name: &'a str,
}

/// Where a resource is written.
#[derive(Debug, Clone, Copy)]
pub struct ResourceTarget<'a> {
    /// The canonical id (in the casing of the request; stored documents keep their own).
    pub resource_id: &'a str,
    /// The lower-cased id.
    pub resource_key: &'a str,
    pub subscription_id: &'a str,
    pub resource_group_key: &'a str,
    /// The resource group as the request names it, for `ResourceGroupNotFound`.
    pub resource_group_name: &'a str,
    pub resource_type: &'a str,
    pub parent: Option<ParentTarget<'a>>,
    /// The limit a new resource of this type counts against: what, and how many are allowed.
    pub quota: Option<(QuotaKind, u32)>,
}

/// A uniqueness rule beyond the id, claimed when the resource is created.
pub struct UniqueClaim {
    /// The scope the key must be unique in, e.g. `galleries:{subscription}`.
    pub scope: String,
    pub key: String,
    /// The error to answer when another resource (named by the argument) holds the claim.
    pub on_conflict: Box<dyn Fn(&str) -> ServiceError + Send + Sync>,
}

/// The stored names of what encloses a resource being written, read inside the write's transaction,
/// so ids can carry each name in the casing its resource was created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ancestry {
    pub resource_group_name: String,
    /// The parent's name (e.g. the gallery of an image definition), if the resource is nested.
    pub parent_name: Option<String>,
}

/// What the caller decided to store.
pub struct Decision {
    pub name: String,
    pub location: String,
    pub provisioning_state: String,
    pub body: String,
    pub unique: Option<UniqueClaim>,
}

/// The result of a PUT.
#[derive(Debug, Clone)]
pub struct PutOutcome {
    /// Whether the resource did not exist before.
    pub created: bool,
    pub resource: StoredResource,
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
    /// One type across a subscription.
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

macro_rules! resource_columns {
    () => {
        "seq, name, location, resource_type, provisioning_state, body"
    };
}

/// Checks that the resource group exists (and keeps it from being deleted until commit); evaluates to
/// its stored name.
macro_rules! require_resource_group {
    ($transaction:ident, $dialect:ident, $target:expr) => {{
        let group: Option<String> = sqlx::query_scalar(with_lock!(
            $dialect,
            "SELECT name FROM resource_groups WHERE subscription_id = $1 AND name_key = $2",
            "FOR SHARE"
        ))
        .bind($target.subscription_id)
        .bind($target.resource_group_key)
        .fetch_optional(&mut *$transaction)
        .await?;
        match group {
            Some(name) => name,
            None => {
                return Err(
                    ServiceError::resource_group_not_found($target.resource_group_name).into(),
                );
            }
        }
    }};
}

impl Store {
    /// Reads one resource by its lower-cased id.
    pub async fn get_resource(
        &self,
        resource_key: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        let resource: Option<StoredResource> = read!(self, pool => sqlx::query_as(
            concat!("SELECT ", resource_columns!(), " FROM resources WHERE resource_key = $1")
        )
        .bind(resource_key)
        .fetch_optional(pool)
        .await)?;
        Ok(resource)
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
                    "SELECT ", resource_columns!(), " FROM resources WHERE subscription_id = $1 AND resource_group_key = $2 \
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
                    "SELECT ", resource_columns!(), " FROM resources WHERE subscription_id = $1 AND resource_type = $2 \
                     AND seq > $3 ORDER BY seq LIMIT $4"
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
                    "SELECT ", resource_columns!(), " FROM resources WHERE parent_seq = $1 AND resource_type = $2 \
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

    /// Creates or replaces a resource in one transaction: checks the resource group and parent exist,
    /// reads the current document, lets `decide` (a pure function) say what to store, enforces the
    /// uniqueness claim and the limit for new resources, writes, and records `operation`.
    pub async fn put_resource(
        &self,
        target: &ResourceTarget<'_>,
        operation: &NewOperation,
        decide: impl Fn(&Ancestry, Option<&StoredResource>) -> Result<Decision, ServiceError>,
    ) -> Result<PutOutcome, StoreError> {
        let shards = self.quota_shards;
        // A create that loses a race with a concurrent create of the same id runs again as an update.
        for attempt in 0..3 {
            let outcome: Option<PutOutcome> = transaction!(self, (transaction, dialect) => {
                let resource_group_name = require_resource_group!(transaction, dialect, target);
                let (parent_seq, parent_name) = match target.parent {
                    Some(parent) => {
                        let row: Option<(i64, String)> =
                            sqlx::query_as(with_lock!(dialect, "SELECT seq, name FROM resources WHERE resource_key = $1", "FOR SHARE"))
                                .bind(parent.resource_key)
                                .fetch_optional(&mut *transaction)
                                .await?;
                        let (seq, name) = row.ok_or_else(|| ServiceError::parent_resource_not_found(parent.display_name))?;
                        (Some(seq), Some(name))
                    }
                    None => (None, None),
                };
                let ancestry = Ancestry { resource_group_name, parent_name };
                let existing: Option<StoredResource> = sqlx::query_as::<_, StoredResource>(with_lock!(
                    dialect,
                    "SELECT seq, name, location, resource_type, provisioning_state, body FROM resources WHERE resource_key = $1",
                    "FOR UPDATE"
                ))
                .bind(target.resource_key)
                .fetch_optional(&mut *transaction)
                .await?;
                let decision = decide(&ancestry, existing.as_ref())?;
                let seq = match &existing {
                    Some(existing) => {
                        sqlx::query("UPDATE resources SET provisioning_state = $2, body = $3 WHERE seq = $1")
                            .bind(existing.seq)
                            .bind(&decision.provisioning_state)
                            .bind(&decision.body)
                            .execute(&mut *transaction)
                            .await?;
                        existing.seq
                    }
                    None => {
                        let (unique_scope, unique_key) = match &decision.unique {
                            Some(claim) => (Some(claim.scope.as_str()), Some(claim.key.as_str())),
                            None => (None, None),
                        };
                        let inserted: Option<i64> = sqlx::query_scalar(
                            "INSERT INTO resources (resource_key, subscription_id, resource_group_key, resource_type, parent_seq, \
                             name, location, unique_scope, unique_key, quota_kind, quota_shard, provisioning_state, body) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, $10, $11) ON CONFLICT DO NOTHING RETURNING seq",
                        )
                        .bind(target.resource_key)
                        .bind(target.subscription_id)
                        .bind(target.resource_group_key)
                        .bind(target.resource_type)
                        .bind(parent_seq)
                        .bind(&decision.name)
                        .bind(&decision.location)
                        .bind(unique_scope)
                        .bind(unique_key)
                        .bind(&decision.provisioning_state)
                        .bind(&decision.body)
                        .fetch_optional(&mut *transaction)
                        .await?;
                        let Some(seq) = inserted else {
                            let same_id: Option<i64> = sqlx::query_scalar("SELECT seq FROM resources WHERE resource_key = $1")
                                .bind(target.resource_key)
                                .fetch_optional(&mut *transaction)
                                .await?;
                            if same_id.is_some() {
                                continue;
                            }
                            if let Some(claim) = &decision.unique {
                                let holder: Option<String> =
                                    sqlx::query_scalar("SELECT name FROM resources WHERE unique_scope = $1 AND unique_key = $2")
                                        .bind(&claim.scope)
                                        .bind(&claim.key)
                                        .fetch_optional(&mut *transaction)
                                        .await?;
                                if let Some(holder) = holder {
                                    return Err((claim.on_conflict)(&holder).into());
                                }
                            }
                            // The conflicting row was deleted again before we could name it: try again.
                            continue;
                        };
                        if let Some((kind, limit)) = target.quota {
                            let shard = reserve_quota!(transaction, shards, target.subscription_id, &decision.location, kind.as_str(), limit);
                            let Some(shard) = shard else {
                                return Err(ServiceError::limit_exceeded(kind.description(), limit, target.subscription_id, &decision.location).into());
                            };
                            sqlx::query("UPDATE resources SET quota_kind = $2, quota_shard = $3 WHERE seq = $1")
                                .bind(seq)
                                .bind(kind.as_str())
                                .bind(shard)
                                .execute(&mut *transaction)
                                .await?;
                        }
                        seq
                    }
                };
                insert_operation!(transaction, operation, target.subscription_id, &decision.location, target.resource_id);
                Some(PutOutcome {
                    created: existing.is_none(),
                    resource: StoredResource {
                        seq,
                        name: decision.name,
                        location: decision.location,
                        resource_type: target.resource_type.to_string(),
                        provisioning_state: decision.provisioning_state,
                        body: decision.body,
                    },
                })
            });
            if let Some(outcome) = outcome {
                return Ok(outcome);
            }
            tracing::debug!(
                attempt,
                resource = target.resource_id,
                "create raced with another write; retrying"
            );
        }
        Err(StoreError::Rejected(ServiceError::new(
            409,
            "Conflict",
            "The resource is being changed by another request; retry the operation.",
        )))
    }

    /// Deletes a resource that has no children, releasing its limit, and records `operation`.
    /// Returns the deleted resource, or `None` when it did not exist.
    pub async fn delete_resource(
        &self,
        target: &ResourceTarget<'_>,
        operation: &NewOperation,
    ) -> Result<Option<StoredResource>, StoreError> {
        transaction!(self, (transaction, dialect) => {
            require_resource_group!(transaction, dialect, target);
            let existing: Option<CountedResource> = sqlx::query_as(with_lock!(
                dialect,
                "SELECT seq, name, location, resource_type, provisioning_state, body, quota_kind, quota_shard FROM resources \
                 WHERE resource_key = $1",
                "FOR UPDATE"
            ))
            .bind(target.resource_key)
            .fetch_optional(&mut *transaction)
            .await?;
            let Some(CountedResource { resource, quota_kind, quota_shard }) = existing else {
                return Ok(None);
            };
            let child: Option<i64> = sqlx::query_scalar("SELECT seq FROM resources WHERE parent_seq = $1 LIMIT 1")
                .bind(resource.seq)
                .fetch_optional(&mut *transaction)
                .await?;
            if child.is_some() {
                return Err(ServiceError::cannot_delete_with_children().into());
            }
            sqlx::query("DELETE FROM resources WHERE seq = $1").bind(resource.seq).execute(&mut *transaction).await?;
            if let (Some(kind), Some(shard)) = (&quota_kind, quota_shard) {
                release_quota!(transaction, target.subscription_id, &resource.location, kind, shard, 1);
            }
            insert_operation!(transaction, operation, target.subscription_id, &resource.location, target.resource_id);
            Ok(Some(resource))
        })
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
