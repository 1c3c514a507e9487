//! Gallery resources (galleries, image definitions and, later, everything below them) in one table.
//!
//! A resource row holds the JSON document galleryd serves plus the columns every lookup needs: the
//! lower-cased canonical id (`resource_key`), its subscription, group, type and parent, and an
//! optional uniqueness claim. Reads by id cost one indexed query; lists are keyset-paginated on `seq`.

use gallery_domain::ErrorCode;
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
    /// galleryd's own data about the resource (JSON), never served.
    pub internal: Option<String>,
    /// Bumped by every update (what background work checks before settling a resource).
    pub revision: i64,
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
    /// galleryd's own data about the resource (JSON), never served.
    pub internal: Option<String>,
    /// Work the write hands to the workers, enqueued in the same transaction.
    pub jobs: Vec<crate::jobs::NewJob>,
}

impl Decision {
    /// A decision to store `body` (no uniqueness claim, no internal data, no jobs).
    pub fn new(
        name: String,
        location: String,
        provisioning_state: String,
        body: String,
    ) -> Decision {
        Decision {
            name,
            location,
            provisioning_state,
            body,
            unique: None,
            internal: None,
            jobs: Vec::new(),
        }
    }
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

macro_rules! resource_columns {
    () => {
        "seq, name, location, resource_type, provisioning_state, body, internal, revision"
    };
}

/// What a write reads first, in one statement: the resource group (its stored name), the parent
/// (if any) and the resource itself (if it exists).
#[derive(sqlx::FromRow)]
struct WriteScope {
    resource_group_name: String,
    parent_seq: Option<i64>,
    parent_name: Option<String>,
    seq: Option<i64>,
    name: Option<String>,
    location: Option<String>,
    resource_type: Option<String>,
    provisioning_state: Option<String>,
    body: Option<String>,
    internal: Option<String>,
    revision: Option<i64>,
    quota_kind: Option<String>,
    quota_shard: Option<i32>,
}

impl WriteScope {
    /// The stored names enclosing the resource.
    fn ancestry(&self) -> Ancestry {
        Ancestry {
            resource_group_name: self.resource_group_name.clone(),
            parent_name: self.parent_name.clone(),
        }
    }

    /// The resource, if it exists.
    fn resource(&self) -> Option<StoredResource> {
        Some(StoredResource {
            seq: self.seq?,
            name: self.name.clone()?,
            location: self.location.clone()?,
            resource_type: self.resource_type.clone()?,
            provisioning_state: self.provisioning_state.clone()?,
            body: self.body.clone()?,
            internal: self.internal.clone(),
            revision: self.revision?,
        })
    }
}

/// Reads the [`WriteScope`] of `$target` through `$executor` (a pool, or `&mut *transaction`); a
/// missing resource group or parent is the request's 404.
macro_rules! write_scope {
    ($executor:expr, $target:expr) => {{
        let target: &ResourceTarget<'_> = $target;
        let scope: Option<WriteScope> = sqlx::query_as(
            "SELECT g.name AS resource_group_name, p.seq AS parent_seq, p.name AS parent_name, r.seq, r.name, \
             r.location, r.resource_type, r.provisioning_state, r.body, r.internal, r.revision, r.quota_kind, r.quota_shard \
             FROM resource_groups g \
             LEFT JOIN resources p ON p.resource_key = $3 \
             LEFT JOIN resources r ON r.resource_key = $4 \
             WHERE g.subscription_id = $1 AND g.name_key = $2",
        )
        .bind(target.subscription_id)
        .bind(target.resource_group_key)
        .bind(target.parent.map(|parent| parent.resource_key))
        .bind(target.resource_key)
        .fetch_optional($executor)
        .await?;
        let Some(scope) = scope else {
            return Err(ServiceError::resource_group_not_found(target.resource_group_name).into());
        };
        if let Some(parent) = target.parent
            && scope.parent_seq.is_none()
        {
            return Err(ServiceError::parent_resource_not_found(parent.display_name).into());
        }
        scope
    }};
}

/// The create of a new resource with its limit, recorded operation and all, in one statement on
/// Postgres: reserve room in one usage-counter shard, insert the row counted in that shard, record
/// the operation. Answers which shard was reserved and which row was inserted (`NULL` when the
/// shard was full or the id or claim was taken; the caller then rolls back).
const CREATE_POSTGRES: &str = "WITH reserved AS ( \
        UPDATE usage_counters SET used = used + 1 \
        WHERE subscription_id = $2 AND location = $7 AND quota_kind = $10 AND shard = $11 AND used < $14 \
        RETURNING shard \
    ), inserted AS ( \
        INSERT INTO resources (resource_key, subscription_id, resource_group_key, resource_type, parent_seq, name, \
            location, unique_scope, unique_key, quota_kind, quota_shard, provisioning_state, body, internal) \
        SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, shard, $12, $13, $22 FROM reserved \
        ON CONFLICT DO NOTHING RETURNING seq \
    ), recorded AS ( \
        INSERT INTO async_operations (operation_id, subscription_id, location, action, resource_id, status, \
            started_at, ended_at, error, final_status) \
        SELECT $15, $2, $7, $16, $17, $18, $19, $20, NULL, $21 FROM inserted \
    ) \
    SELECT (SELECT shard FROM reserved) AS reserved_shard, (SELECT seq FROM inserted) AS inserted_seq";

/// The same three steps as [`CREATE_POSTGRES`] for SQLite, which has no data-modifying CTEs: three
/// statements sent in one call. The inserts run even when the counter had no room; the caller then
/// rolls back.
const CREATE_SQLITE: &str = "UPDATE usage_counters SET used = used + 1 \
        WHERE subscription_id = $2 AND location = $7 AND quota_kind = $10 AND shard = $11 AND used < $14 \
        RETURNING shard AS reserved_shard; \
    INSERT INTO resources (resource_key, subscription_id, resource_group_key, resource_type, parent_seq, name, \
        location, unique_scope, unique_key, quota_kind, quota_shard, provisioning_state, body, internal) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $22) \
        ON CONFLICT DO NOTHING RETURNING seq AS inserted_seq; \
    INSERT INTO async_operations (operation_id, subscription_id, location, action, resource_id, status, \
        started_at, ended_at, error, final_status) \
        VALUES ($15, $2, $7, $16, $17, $18, $19, $20, NULL, $21)";

/// How one attempt at a write ended.
enum Attempt<T> {
    /// Written and committed.
    Done(T),
    /// Lost a race (the id was created or changed meanwhile): read again and decide again.
    Retry,
    /// The one-statement create did not apply (a full shard or a counter row not created yet): take
    /// the step-by-step path.
    StepByStep,
}

/// Whether a database error is a foreign-key violation: a parent or resource group deleted by a
/// concurrent request (on insert), or a child created by one (on delete). The write runs again and
/// then sees the change.
fn is_foreign_key_violation(error: &StoreError) -> bool {
    matches!(error, StoreError::Database(sqlx::Error::Database(database)) if database.kind() == sqlx::error::ErrorKind::ForeignKeyViolation)
}

/// How often a write runs again after losing a race (same id created, row updated, parent gone).
const WRITE_ATTEMPTS: usize = 5;

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
            concat!("SELECT ", resource_columns!(), " FROM resources WHERE resource_key = $1")
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

    /// Creates or replaces a resource. Reads the resource group, parent and current document in
    /// one statement and lets `decide` (a pure function) say what to store, outside any write
    /// transaction; then writes in one transaction: a create reserves room under the limit, inserts
    /// (only if the id and the uniqueness claim are free) and records `operation`; an update writes
    /// only over the revision it decided on. Races lost to concurrent writers read and decide again.
    pub async fn put_resource(
        &self,
        target: &ResourceTarget<'_>,
        operation: &NewOperation,
        decide: impl Fn(&Ancestry, Option<&StoredResource>) -> Result<Decision, ServiceError>,
    ) -> Result<PutOutcome, StoreError> {
        for attempt in 0..WRITE_ATTEMPTS {
            let scope: WriteScope = read!(self, pool => write_scope!(pool, target));
            let result = match scope.resource() {
                None => {
                    let decision = decide(&scope.ancestry(), None)?;
                    match self
                        .try_create_in_one_statement(target, operation, &scope, &decision)
                        .await
                    {
                        Ok(Attempt::StepByStep) => {
                            self.try_create_step_by_step(target, operation, &scope, &decision)
                                .await
                        }
                        other => other,
                    }
                }
                Some(_) => self.try_update(target, operation, scope, &decide).await,
            };
            match result {
                Ok(Attempt::Done(outcome)) => {
                    self.forget(target.resource_key);
                    return Ok(outcome);
                }
                Ok(_) => {}
                Err(error) if is_foreign_key_violation(&error) => {}
                Err(error) => return Err(error),
            }
            tracing::debug!(
                attempt,
                resource = target.resource_id,
                "write raced with another; running it again"
            );
        }
        Err(StoreError::Rejected(ServiceError::new(
            409,
            ErrorCode::Conflict,
            "The resource is being changed by other requests; retry the operation.",
        )))
    }

    /// The outcome of a committed create.
    fn created(target: &ResourceTarget<'_>, seq: i64, decision: &Decision) -> PutOutcome {
        PutOutcome {
            created: true,
            resource: StoredResource {
                seq,
                name: decision.name.clone(),
                location: decision.location.clone(),
                resource_type: target.resource_type.to_string(),
                provisioning_state: decision.provisioning_state.clone(),
                body: decision.body.clone(),
                internal: decision.internal.clone(),
                revision: 0,
            },
        }
    }

    /// Who holds the uniqueness claim `decision` makes, if another resource does: then the create
    /// is refused with the claim's own error. Otherwise the id itself was taken (a concurrent create
    /// of this very resource) and the write runs again as an update.
    async fn explain_conflict<T>(
        &self,
        target: &ResourceTarget<'_>,
        decision: &Decision,
    ) -> Result<Attempt<T>, StoreError> {
        if let Some(claim) = &decision.unique {
            let holder: Option<String> = read!(self, pool => sqlx::query_scalar(
                "SELECT name FROM resources WHERE unique_scope = $1 AND unique_key = $2 AND resource_key <> $3",
            )
            .bind(&claim.scope)
            .bind(&claim.key)
            .bind(target.resource_key)
            .fetch_optional(pool)
            .await)?;
            if let Some(holder) = holder {
                return Err((claim.on_conflict)(&holder).into());
            }
        }
        Ok(Attempt::Retry)
    }

    /// The common create: one transaction holding a single statement round trip
    /// ([`CREATE_POSTGRES`], [`CREATE_SQLITE`]) on a randomly chosen usage-counter shard.
    async fn try_create_in_one_statement(
        &self,
        target: &ResourceTarget<'_>,
        operation: &NewOperation,
        scope: &WriteScope,
        decision: &Decision,
    ) -> Result<Attempt<PutOutcome>, StoreError> {
        use sqlx::Row;
        let Some((kind, limit)) = target.quota else {
            return Ok(Attempt::StepByStep);
        };
        let shards = self.quota_shards;
        let shard = if shards > 1 {
            fastrand::i32(0..shards)
        } else {
            0
        };
        let capacity = crate::quota::shard_capacity(i64::from(limit), shards, shard);
        let (unique_scope, unique_key) = match &decision.unique {
            Some(claim) => (Some(claim.scope.as_str()), Some(claim.key.as_str())),
            None => (None, None),
        };
        let created: i64 = transaction!(self, (transaction, dialect) => {
            let sql = match dialect {
                crate::backend::Dialect::Postgres => CREATE_POSTGRES,
                crate::backend::Dialect::Sqlite => CREATE_SQLITE,
            };
            let rows = sqlx::query(sql)
                .bind(target.resource_key)
                .bind(target.subscription_id)
                .bind(target.resource_group_key)
                .bind(target.resource_type)
                .bind(scope.parent_seq)
                .bind(&decision.name)
                .bind(&decision.location)
                .bind(unique_scope)
                .bind(unique_key)
                .bind(kind.as_str())
                .bind(shard)
                .bind(&decision.provisioning_state)
                .bind(&decision.body)
                .bind(capacity)
                .bind(&operation.operation_id)
                .bind(&operation.action)
                .bind(target.resource_id)
                .bind(operation.status.as_str())
                .bind(&operation.started_at)
                .bind(&operation.ended_at)
                .bind(i32::from(operation.final_status))
                .bind(&decision.internal)
                .fetch_all(&mut *transaction)
                .await?;
            // Rows come from different statements on SQLite: find each column wherever it is.
            let reserved_shard = rows.iter().find_map(|row| row.try_get::<Option<i32>, _>("reserved_shard").ok().flatten());
            let inserted_seq = rows.iter().find_map(|row| row.try_get::<Option<i64>, _>("inserted_seq").ok().flatten());
            match (reserved_shard, inserted_seq) {
                (Some(_), Some(seq)) => {
                    for job in &decision.jobs {
                        insert_job!(transaction, job);
                    }
                    seq
                }
                // Leaving without a commit rolls everything back.
                (None, _) => return Ok(Attempt::StepByStep),
                (Some(_), None) => {
                    drop(transaction);
                    return self.explain_conflict(target, decision).await;
                }
            }
        });
        Ok(Attempt::Done(Self::created(target, created, decision)))
    }

    /// The create when the one-statement path did not apply: reserve room in any shard with room
    /// (creating the counter rows first if needed), insert, record.
    async fn try_create_step_by_step(
        &self,
        target: &ResourceTarget<'_>,
        operation: &NewOperation,
        scope: &WriteScope,
        decision: &Decision,
    ) -> Result<Attempt<PutOutcome>, StoreError> {
        let shards = self.quota_shards;
        let (unique_scope, unique_key) = match &decision.unique {
            Some(claim) => (Some(claim.scope.as_str()), Some(claim.key.as_str())),
            None => (None, None),
        };
        let inserted: i64 = transaction!(self, (transaction, dialect) => {
            let quota = match target.quota {
                Some((kind, limit)) => {
                    let shard = reserve_quota!(transaction, shards, target.subscription_id, &decision.location, kind.as_str(), limit);
                    match shard {
                        Some(shard) => Some((kind.as_str(), shard)),
                        None => {
                            // A concurrent create of this very resource may have taken the last
                            // room: then this is an update, and runs again as one.
                            let created_meanwhile: Option<i64> = sqlx::query_scalar("SELECT seq FROM resources WHERE resource_key = $1")
                                .bind(target.resource_key)
                                .fetch_optional(&mut *transaction)
                                .await?;
                            if created_meanwhile.is_some() {
                                return Ok(Attempt::Retry);
                            }
                            return Err(ServiceError::limit_exceeded(kind.description(), limit, target.subscription_id, &decision.location).into());
                        }
                    }
                }
                None => None,
            };
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO resources (resource_key, subscription_id, resource_group_key, resource_type, parent_seq, \
                 name, location, unique_scope, unique_key, quota_kind, quota_shard, provisioning_state, body, internal) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT DO NOTHING RETURNING seq",
            )
            .bind(target.resource_key)
            .bind(target.subscription_id)
            .bind(target.resource_group_key)
            .bind(target.resource_type)
            .bind(scope.parent_seq)
            .bind(&decision.name)
            .bind(&decision.location)
            .bind(unique_scope)
            .bind(unique_key)
            .bind(quota.map(|(kind, _)| kind))
            .bind(quota.map(|(_, shard)| shard))
            .bind(&decision.provisioning_state)
            .bind(&decision.body)
            .bind(&decision.internal)
            .fetch_optional(&mut *transaction)
            .await?;
            let Some(seq) = inserted else {
                // Roll back (the reservation too), then find out who holds the id or the claim.
                drop(transaction);
                return self.explain_conflict(target, decision).await;
            };
            insert_operation!(transaction, operation, target.subscription_id, &decision.location, target.resource_id);
            for job in &decision.jobs {
                insert_job!(transaction, job);
            }
            seq
        });
        Ok(Attempt::Done(Self::created(target, inserted, decision)))
    }

    /// Replaces an existing resource's document. On Postgres the row is locked first, so concurrent
    /// writers of one resource queue instead of retrying each other out; on either backend the
    /// write applies only over the revision it was decided on (a stale read is read and decided
    /// again inside the transaction, where it can no longer change).
    async fn try_update(
        &self,
        target: &ResourceTarget<'_>,
        operation: &NewOperation,
        scope: WriteScope,
        decide: &impl Fn(&Ancestry, Option<&StoredResource>) -> Result<Decision, ServiceError>,
    ) -> Result<Attempt<PutOutcome>, StoreError> {
        let outcome: PutOutcome = transaction!(self, (transaction, dialect) => {
            let mut scope = scope;
            if let (Some(seq), crate::backend::Dialect::Postgres) = (scope.seq, dialect) {
                let revision: Option<i64> = sqlx::query_scalar("SELECT revision FROM resources WHERE seq = $1 FOR UPDATE")
                    .bind(seq)
                    .fetch_optional(&mut *transaction)
                    .await?;
                if revision != scope.revision {
                    scope = write_scope!(&mut *transaction, target);
                }
            }
            let mut stale_reads = 0;
            loop {
                let Some(existing) = scope.resource() else {
                    // Deleted meanwhile: run again, as a create.
                    return Ok(Attempt::Retry);
                };
                let decision = decide(&scope.ancestry(), Some(&existing))?;
                let updated = sqlx::query(
                    "UPDATE resources SET provisioning_state = $3, body = $4, internal = $5, revision = revision + 1 \
                     WHERE seq = $1 AND revision = $2",
                )
                .bind(existing.seq)
                .bind(scope.revision.unwrap_or_default())
                .bind(&decision.provisioning_state)
                .bind(&decision.body)
                .bind(&decision.internal)
                .execute(&mut *transaction)
                .await?;
                if updated.rows_affected() == 0 {
                    stale_reads += 1;
                    if stale_reads > 1 {
                        return Ok(Attempt::Retry);
                    }
                    scope = write_scope!(&mut *transaction, target);
                    continue;
                }
                insert_operation!(transaction, operation, target.subscription_id, &decision.location, target.resource_id);
                for job in &decision.jobs {
                    insert_job!(transaction, job);
                }
                break PutOutcome {
                    created: false,
                    resource: StoredResource {
                        seq: existing.seq,
                        name: decision.name,
                        location: decision.location,
                        resource_type: target.resource_type.to_string(),
                        provisioning_state: decision.provisioning_state,
                        body: decision.body,
                        internal: decision.internal,
                        revision: existing.revision + 1,
                    },
                };
            }
        });
        Ok(Attempt::Done(outcome))
    }

    /// Deletes a resource that has no children, releasing its limit, and records `operation`.
    /// Returns the deleted resource, or `None` when it did not exist.
    pub async fn delete_resource(
        &self,
        target: &ResourceTarget<'_>,
        operation: &NewOperation,
    ) -> Result<Option<StoredResource>, StoreError> {
        for attempt in 0..WRITE_ATTEMPTS {
            match self.try_delete_resource(target, operation).await {
                Ok(Some(deleted)) => {
                    self.forget(target.resource_key);
                    return Ok(deleted);
                }
                Ok(None) => {}
                Err(error) if is_foreign_key_violation(&error) => {}
                Err(error) => return Err(error),
            }
            tracing::debug!(
                attempt,
                resource = target.resource_id,
                "delete raced with another write; running it again"
            );
        }
        Err(StoreError::Rejected(ServiceError::new(
            409,
            ErrorCode::Conflict,
            "The resource is being changed by other requests; retry the operation.",
        )))
    }

    /// One attempt of [`Store::delete_resource`]: `None` when it lost a race and should run again.
    async fn try_delete_resource(
        &self,
        target: &ResourceTarget<'_>,
        operation: &NewOperation,
    ) -> Result<Option<Option<StoredResource>>, StoreError> {
        Ok(transaction!(self, (transaction, dialect) => {
            let scope = write_scope!(&mut *transaction, target);
            let Some(resource) = scope.resource() else {
                return Ok(Some(None));
            };
            let child: Option<i64> = sqlx::query_scalar("SELECT seq FROM resources WHERE parent_seq = $1 LIMIT 1")
                .bind(resource.seq)
                .fetch_optional(&mut *transaction)
                .await?;
            if child.is_some() {
                return Err(ServiceError::cannot_delete_with_children().into());
            }
            let deleted = sqlx::query("DELETE FROM resources WHERE seq = $1 AND revision = $2")
                .bind(resource.seq)
                .bind(scope.revision.unwrap_or_default())
                .execute(&mut *transaction)
                .await?;
            if deleted.rows_affected() == 0 {
                return Ok(None);
            }
            if let (Some(kind), Some(shard)) = (&scope.quota_kind, scope.quota_shard) {
                release_quota!(transaction, target.subscription_id, &resource.location, kind, shard, 1);
            }
            insert_operation!(transaction, operation, target.subscription_id, &resource.location, target.resource_id);
            Some(Some(resource))
        }))
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

impl Store {
    /// Every resource of `resource_type` in a subscription, nested ones included (for reports such
    /// as billing estimates; not paginated, so not for ARM lists).
    pub async fn all_of_type(
        &self,
        subscription_id: &str,
        resource_type: &str,
    ) -> Result<Vec<StoredResource>, StoreError> {
        Ok(read!(self, pool => sqlx::query_as(concat!(
            "SELECT ", resource_columns!(), " FROM resources WHERE subscription_id = $1 AND resource_type = $2 ORDER BY seq"
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
