//! Writing resources one way: read the scope, let the caller decide, apply the decision
//! conditionally.
//!
//! [`Store::read_write_scope`] reads, in one statement, everything a decision about one resource
//! depends on: whether its resource group and parent exist (and their stored names), the resource
//! as it is now with its revision, and whether it has children. The caller decides what to store
//! (a [`Decision`]) and hands it back with the scope to [`Store::apply_write`]:
//!
//! - a create reserves room under the limit, inserts the row only if its id and uniqueness claim
//!   are free (`ON CONFLICT DO NOTHING`, never check-then-insert) and records the operation and
//!   jobs, in one transaction; the common case is one statement round trip on a random
//!   usage-counter shard (see `quota`);
//! - an update replaces the document only over the revision that was read, with the operation and
//!   jobs, in one transaction.
//!
//! [`Store::apply_delete`] deletes only over the revision that was read, releasing the limit. Each
//! answers [`Applied::Done`], or [`Applied::LostRace`] when a concurrent write got there first (the
//! id was taken, the row changed or went away, a parent or child appeared or vanished): the caller
//! reads the scope again and decides again. The foreign keys stay the safety net: a parent deleted
//! under a create, or a child created under a delete, fails the statement, which is a lost race.

use gallery_domain::ServiceError;
use gallery_domain::limits::QuotaKind;

use super::StoredResource;
use super::columns::READ_SCOPE;
use crate::jobs::PlannedJob;
use crate::operations::NewOperation;
use crate::{Store, StoreError};

/// Where a resource is written.
#[derive(Debug, Clone, Copy)]
pub struct ResourceTarget<'a> {
    /// The canonical id (in the casing of the request; stored documents keep their own).
    pub resource_id: &'a str,
    /// The lower-cased id.
    pub resource_key: &'a str,
    pub subscription_id: &'a str,
    pub resource_group_key: &'a str,
    pub resource_type: &'a str,
    /// The lower-cased id of the parent, for a nested resource.
    pub parent_key: Option<&'a str>,
    /// The limit a new resource of this type counts against: what, and how many are allowed.
    pub quota: Option<(QuotaKind, u32)>,
}

/// A uniqueness rule beyond the id, claimed when the resource is created: `(scope, key)` is unique
/// among all resources, e.g. gallery names per subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueClaim {
    /// The scope the key must be unique in, e.g. `galleries:{subscription}`.
    pub scope: String,
    pub key: String,
}

/// The stored names of what encloses a resource, so ids can carry each name in the casing its
/// resource was created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ancestry {
    pub resource_group_name: String,
    /// The parent's name (e.g. the gallery of an image definition), if the resource is nested.
    pub parent_name: Option<String>,
}

/// What a write of one resource found, read in one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteScope {
    /// The resource group does not exist.
    NoResourceGroup,
    /// The resource group exists; the parent of the nested resource does not.
    NoParent,
    /// Everything enclosing the resource exists.
    Found(Box<ResourceScope>),
}

/// The facts a decision about one resource depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceScope {
    pub ancestry: Ancestry,
    /// The resource as it is now (its revision is what an update or delete applies over); `None`
    /// when it does not exist.
    pub existing: Option<StoredResource>,
    /// Whether resources exist below it (a parent with children cannot be deleted).
    pub has_children: bool,
    parent_seq: Option<i64>,
    /// The usage-counter shard the existing resource is counted in.
    quota_slot: Option<(String, i32)>,
}

/// What the caller decided to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub name: String,
    pub location: String,
    pub provisioning_state: String,
    pub body: String,
    /// Claimed on create (updates keep the claim the resource was created with).
    pub unique: Option<UniqueClaim>,
    /// galleryd's own data about the resource (JSON), never served.
    pub internal: Option<String>,
    /// Work the write hands to the workers, enqueued in the same transaction; each job is about
    /// this resource and ends the write's operation.
    pub jobs: Vec<PlannedJob>,
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

/// The result of an applied write.
#[derive(Debug, Clone)]
pub struct PutOutcome {
    /// Whether the resource did not exist before.
    pub created: bool,
    pub resource: StoredResource,
}

/// How applying a decision ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied<T> {
    /// Written and committed.
    Done(T),
    /// A concurrent write changed what the decision was made on: read and decide again.
    LostRace,
    /// Another resource (named `holder`) holds the uniqueness claim the create makes.
    ClaimTaken { holder: String },
}

/// A new resource row: what [`bind_new_row!`] binds.
pub(crate) struct NewRow<'a> {
    pub target: &'a ResourceTarget<'a>,
    pub parent_seq: Option<i64>,
    pub decision: &'a Decision,
    /// The counter (kind, shard) the resource is counted in.
    pub quota: Option<(&'a str, i32)>,
}

/// The row [`READ_SCOPE`] answers.
#[derive(sqlx::FromRow)]
struct ScopeRow {
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
    has_children: bool,
}

impl ScopeRow {
    fn into_scope(self) -> ResourceScope {
        let existing = (|| {
            Some(StoredResource {
                seq: self.seq?,
                name: self.name?,
                location: self.location?,
                resource_type: self.resource_type?,
                provisioning_state: self.provisioning_state?,
                body: self.body?,
                internal: self.internal,
                revision: self.revision?,
            })
        })();
        ResourceScope {
            ancestry: Ancestry {
                resource_group_name: self.resource_group_name,
                parent_name: self.parent_name,
            },
            existing,
            has_children: self.has_children,
            parent_seq: self.parent_seq,
            quota_slot: self.quota_kind.zip(self.quota_shard),
        }
    }
}

/// The create of a new resource with its limit, recorded operation and all, in one statement on
/// Postgres: reserve room in one usage-counter shard, insert the row counted in that shard, record
/// the operation. Answers which shard was reserved and which row was inserted (`NULL` when the
/// shard was full or the id or claim was taken; the caller then rolls back). Binds: the new row
/// (`$1`–`$14`), the shard's capacity (`$15`), the operation (`$16`–`$24`).
const CREATE_POSTGRES: &str = concat!(
    "WITH reserved AS (",
    "UPDATE usage_counters SET used = used + 1 ",
    "WHERE subscription_id = $2 AND location = $7 AND quota_kind = $10 AND shard = $11 AND used < $15 ",
    "RETURNING shard",
    "), inserted AS (",
    "INSERT INTO resources (",
    new_row_columns!(),
    ") SELECT ",
    new_row_values!(),
    " FROM reserved ON CONFLICT DO NOTHING RETURNING seq",
    "), recorded AS (",
    "INSERT INTO async_operations (",
    operation_columns!(),
    ") SELECT $16, $17, $18, $19, $20, $21, $22, $23, $24 FROM inserted",
    ") SELECT (SELECT shard FROM reserved) AS reserved_shard, (SELECT seq FROM inserted) AS inserted_seq"
);

/// The same three steps as [`CREATE_POSTGRES`] for SQLite, which has no data-modifying CTEs: three
/// statements sent in one call, with the same binds. The inserts run even when the counter had no
/// room; the caller then rolls back.
const CREATE_SQLITE: &str = concat!(
    "UPDATE usage_counters SET used = used + 1 ",
    "WHERE subscription_id = $2 AND location = $7 AND quota_kind = $10 AND shard = $11 AND used < $15 ",
    "RETURNING shard AS reserved_shard; ",
    "INSERT INTO resources (",
    new_row_columns!(),
    ") VALUES (",
    new_row_values!(),
    ") ON CONFLICT DO NOTHING RETURNING seq AS inserted_seq; ",
    "INSERT INTO async_operations (",
    operation_columns!(),
    ") VALUES ($16, $17, $18, $19, $20, $21, $22, $23, $24)"
);

/// The create when the one-statement path does not apply: the row alone, with the shard already
/// reserved (or no limit). Binds: the new row (`$1`–`$14`).
const INSERT_ROW: &str = concat!(
    "INSERT INTO resources (",
    new_row_columns!(),
    ") VALUES (",
    new_row_values!(),
    ") ON CONFLICT DO NOTHING RETURNING seq"
);

/// How one create attempt ended.
enum Create {
    Applied(Applied<i64>),
    /// The one-statement create did not apply (a full shard, a counter row not created yet, or no
    /// limit): take the step-by-step path.
    StepByStep,
}

/// Whether a database error is a foreign-key violation: a parent or resource group deleted by a
/// concurrent request (on insert), or a child created by one (on delete).
fn is_foreign_key_violation(error: &StoreError) -> bool {
    matches!(error, StoreError::Database(sqlx::Error::Database(database)) if database.kind() == sqlx::error::ErrorKind::ForeignKeyViolation)
}

/// A foreign-key violation is a lost race: what the decision was made on changed.
fn race_lost_on_foreign_key<T>(
    result: Result<Applied<T>, StoreError>,
) -> Result<Applied<T>, StoreError> {
    match result {
        Err(error) if is_foreign_key_violation(&error) => Ok(Applied::LostRace),
        other => other,
    }
}

impl Store {
    /// Reads what a write of `target` depends on (see [`WriteScope`]), outside any transaction.
    pub async fn read_write_scope(
        &self,
        target: &ResourceTarget<'_>,
    ) -> Result<WriteScope, StoreError> {
        let row: Option<ScopeRow> = read!(self, pool => sqlx::query_as(READ_SCOPE)
            .bind(target.subscription_id)
            .bind(target.resource_group_key)
            .bind(target.parent_key)
            .bind(target.resource_key)
            .fetch_optional(pool)
            .await)?;
        Ok(match row {
            None => WriteScope::NoResourceGroup,
            Some(row) if target.parent_key.is_some() && row.parent_seq.is_none() => {
                WriteScope::NoParent
            }
            Some(row) => WriteScope::Found(Box::new(row.into_scope())),
        })
    }

    /// Applies `decision` over `scope` (read by [`Store::read_write_scope`]) and records
    /// `operation`: a create when the scope had no resource, else an update over the revision
    /// read. See the module documentation.
    pub async fn apply_write(
        &self,
        target: &ResourceTarget<'_>,
        scope: &ResourceScope,
        decision: &Decision,
        operation: &NewOperation,
    ) -> Result<Applied<PutOutcome>, StoreError> {
        let applied = match &scope.existing {
            None => {
                race_lost_on_foreign_key(self.create(target, scope, decision, operation).await)?
                    .map(|seq| PutOutcome {
                        created: true,
                        resource: stored(target, seq, 0, decision),
                    })
            }
            Some(existing) => {
                race_lost_on_foreign_key(self.update(target, existing, decision, operation).await)?
            }
        };
        if let Applied::Done(_) = applied {
            self.forget(target.resource_key);
        }
        Ok(applied)
    }

    /// Deletes the resource `scope` found (it must exist), over the revision read, releasing its
    /// limit and recording `operation`. Whether it may be deleted (children, safety rules) is the
    /// caller's decision; a child created meanwhile fails the foreign key, which is a lost race.
    pub async fn apply_delete(
        &self,
        target: &ResourceTarget<'_>,
        scope: &ResourceScope,
        operation: &NewOperation,
    ) -> Result<Applied<StoredResource>, StoreError> {
        let Some(resource) = &scope.existing else {
            return Ok(Applied::LostRace);
        };
        let applied =
            race_lost_on_foreign_key(self.delete_row(target, scope, resource, operation).await)?;
        if let Applied::Done(_) = applied {
            self.forget(target.resource_key);
        }
        Ok(applied)
    }

    /// Deletes `resource` over the revision read, releases its limit, records `operation`.
    async fn delete_row(
        &self,
        target: &ResourceTarget<'_>,
        scope: &ResourceScope,
        resource: &StoredResource,
        operation: &NewOperation,
    ) -> Result<Applied<StoredResource>, StoreError> {
        Ok(transaction!(self, (transaction, dialect) => {
            let deleted = sqlx::query("DELETE FROM resources WHERE seq = $1 AND revision = $2")
                .bind(resource.seq)
                .bind(resource.revision)
                .execute(&mut *transaction)
                .await?;
            if deleted.rows_affected() == 0 {
                // Leaving without a commit rolls back.
                return Ok(Applied::LostRace);
            }
            if let Some((kind, shard)) = &scope.quota_slot {
                release_quota!(transaction, target.subscription_id, &resource.location, kind, *shard, 1);
            }
            insert_operation!(transaction, operation, target.subscription_id, &resource.location, target.resource_id);
            Applied::Done(resource.clone())
        }))
    }

    /// A create: in one statement when the resource counts against a limit, else (or when that
    /// did not apply) step by step.
    async fn create(
        &self,
        target: &ResourceTarget<'_>,
        scope: &ResourceScope,
        decision: &Decision,
        operation: &NewOperation,
    ) -> Result<Applied<i64>, StoreError> {
        if let Some((kind, limit)) = target.quota
            && let Create::Applied(applied) = self
                .create_in_one_statement(target, scope, decision, operation, kind, limit)
                .await?
        {
            return Ok(applied);
        }
        self.create_step_by_step(target, scope, decision, operation)
            .await
    }

    /// The common create: one transaction holding a single statement round trip
    /// ([`CREATE_POSTGRES`], [`CREATE_SQLITE`]) on a randomly chosen usage-counter shard.
    async fn create_in_one_statement(
        &self,
        target: &ResourceTarget<'_>,
        scope: &ResourceScope,
        decision: &Decision,
        operation: &NewOperation,
        kind: QuotaKind,
        limit: u32,
    ) -> Result<Create, StoreError> {
        use sqlx::Row;
        let shards = self.quota_shards;
        let shard = if shards > 1 {
            fastrand::i32(0..shards)
        } else {
            0
        };
        let capacity = crate::quota::shard_capacity(i64::from(limit), shards, shard);
        let row = NewRow {
            target,
            parent_seq: scope.parent_seq,
            decision,
            quota: Some((kind.as_str(), shard)),
        };
        let created: i64 = transaction!(self, (transaction, dialect) => {
            let sql = match dialect {
                crate::backend::Dialect::Postgres => CREATE_POSTGRES,
                crate::backend::Dialect::Sqlite => CREATE_SQLITE,
            };
            let query = bind_new_row!(sqlx::query(sql), &row).bind(capacity);
            let rows = bind_operation!(query, operation, target.subscription_id, &decision.location, target.resource_id)
                .fetch_all(&mut *transaction)
                .await?;
            // Rows come from different statements on SQLite: find each column wherever it is.
            let reserved_shard = rows.iter().find_map(|row| row.try_get::<Option<i32>, _>("reserved_shard").ok().flatten());
            let inserted_seq = rows.iter().find_map(|row| row.try_get::<Option<i64>, _>("inserted_seq").ok().flatten());
            match (reserved_shard, inserted_seq) {
                (Some(_), Some(seq)) => {
                    for job in &decision.jobs {
                        insert_job!(transaction, &job.for_write(target.resource_key, operation));
                    }
                    seq
                }
                // Leaving without a commit rolls everything back.
                (None, _) => return Ok(Create::StepByStep),
                (Some(_), None) => {
                    drop(transaction);
                    return Ok(Create::Applied(self.explain_conflict(target, decision).await?));
                }
            }
        });
        Ok(Create::Applied(Applied::Done(created)))
    }

    /// The create when the one-statement path did not apply: reserve room in any shard with room
    /// (creating the counter rows first if needed), insert, record.
    async fn create_step_by_step(
        &self,
        target: &ResourceTarget<'_>,
        scope: &ResourceScope,
        decision: &Decision,
        operation: &NewOperation,
    ) -> Result<Applied<i64>, StoreError> {
        let shards = self.quota_shards;
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
                                return Ok(Applied::LostRace);
                            }
                            return Err(ServiceError::limit_exceeded(kind.description(), limit, target.subscription_id, &decision.location).into());
                        }
                    }
                }
                None => None,
            };
            let row = NewRow { target, parent_seq: scope.parent_seq, decision, quota };
            let inserted: Option<i64> = bind_new_row!(sqlx::query_scalar(INSERT_ROW), &row)
                .fetch_optional(&mut *transaction)
                .await?;
            let Some(seq) = inserted else {
                // Roll back (the reservation too), then find out who holds the id or the claim.
                drop(transaction);
                return self.explain_conflict(target, decision).await;
            };
            insert_operation!(transaction, operation, target.subscription_id, &decision.location, target.resource_id);
            for job in &decision.jobs {
                insert_job!(transaction, &job.for_write(target.resource_key, operation));
            }
            seq
        });
        Ok(Applied::Done(inserted))
    }

    /// Who holds the uniqueness claim `decision` makes, if another resource does. Otherwise the
    /// id itself was taken (a concurrent create of this very resource): a lost race, after which
    /// the write runs again as an update.
    async fn explain_conflict<T>(
        &self,
        target: &ResourceTarget<'_>,
        decision: &Decision,
    ) -> Result<Applied<T>, StoreError> {
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
                return Ok(Applied::ClaimTaken { holder });
            }
        }
        Ok(Applied::LostRace)
    }

    /// Replaces an existing resource's document over the revision that was read, with the
    /// operation and jobs, in one transaction.
    async fn update(
        &self,
        target: &ResourceTarget<'_>,
        existing: &StoredResource,
        decision: &Decision,
        operation: &NewOperation,
    ) -> Result<Applied<PutOutcome>, StoreError> {
        Ok(transaction!(self, (transaction, dialect) => {
            let updated = sqlx::query(
                "UPDATE resources SET provisioning_state = $3, body = $4, internal = $5, revision = revision + 1 \
                 WHERE seq = $1 AND revision = $2",
            )
            .bind(existing.seq)
            .bind(existing.revision)
            .bind(&decision.provisioning_state)
            .bind(&decision.body)
            .bind(&decision.internal)
            .execute(&mut *transaction)
            .await?;
            if updated.rows_affected() == 0 {
                // Leaving without a commit rolls back.
                return Ok(Applied::LostRace);
            }
            insert_operation!(transaction, operation, target.subscription_id, &existing.location, target.resource_id);
            for job in &decision.jobs {
                insert_job!(transaction, &job.for_write(target.resource_key, operation));
            }
            Applied::Done(PutOutcome {
                created: false,
                resource: StoredResource {
                    name: existing.name.clone(),
                    location: existing.location.clone(),
                    ..stored(target, existing.seq, existing.revision + 1, decision)
                },
            })
        }))
    }
}

impl<T> Applied<T> {
    /// Maps what a finished write answers.
    pub fn map<U>(self, finish: impl FnOnce(T) -> U) -> Applied<U> {
        match self {
            Applied::Done(value) => Applied::Done(finish(value)),
            Applied::LostRace => Applied::LostRace,
            Applied::ClaimTaken { holder } => Applied::ClaimTaken { holder },
        }
    }
}

/// The stored resource a committed write leaves.
fn stored(
    target: &ResourceTarget<'_>,
    seq: i64,
    revision: i64,
    decision: &Decision,
) -> StoredResource {
    StoredResource {
        seq,
        name: decision.name.clone(),
        location: decision.location.clone(),
        resource_type: target.resource_type.to_string(),
        provisioning_state: decision.provisioning_state.clone(),
        body: decision.body.clone(),
        internal: decision.internal.clone(),
        revision,
    }
}
