//! Access control rows: role assignments and custom role definitions, stored as the documents
//! Microsoft.Authorization serves, and the access revision every write bumps in its transaction
//! (processes compare it with the revision their cached policy was built from).

use crate::{Store, StoreError};

/// A stored role assignment.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredRoleAssignment {
    pub name_key: String,
    pub scope_key: String,
    pub principal_key: String,
    pub role_definition_key: String,
    /// The document as served.
    pub body: String,
}

/// A stored custom role definition.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredRoleDefinition {
    pub name_key: String,
    pub role_name_key: String,
    pub body: String,
}

/// Every access row, and the revision they were read at.
#[derive(Debug, Clone, Default)]
pub struct AccessRows {
    pub revision: i64,
    pub assignments: Vec<StoredRoleAssignment>,
    pub definitions: Vec<StoredRoleDefinition>,
}

/// What writing an assignment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignmentWrite {
    Created,
    Replaced,
    /// Another assignment already grants this role to this principal at this scope.
    GrantTaken {
        holder_name: String,
    },
    /// The assignment changed (or appeared, or vanished) since it was read: read again.
    LostRace,
}

const ASSIGNMENT_COLUMNS: &str = "name_key, scope_key, principal_key, role_definition_key, body";

macro_rules! bump_revision {
    ($transaction:expr) => {
        sqlx::query("UPDATE access_revision SET revision = revision + 1 WHERE id = 1")
            .execute(&mut *$transaction)
            .await?
    };
}

impl Store {
    /// The access revision (bumped by every access write).
    pub async fn access_revision(&self) -> Result<i64, StoreError> {
        Ok(
            read!(self, pool => sqlx::query_scalar("SELECT revision FROM access_revision WHERE id = 1")
            .fetch_one(pool)
            .await)?,
        )
    }

    /// Every assignment and custom role, with the revision read first (a write that lands between
    /// the reads shows as a newer revision on the next check).
    pub async fn load_access(&self) -> Result<AccessRows, StoreError> {
        let revision = self.access_revision().await?;
        let assignments: Vec<StoredRoleAssignment> = read!(self, pool => sqlx::query_as(&format!("SELECT {ASSIGNMENT_COLUMNS} FROM role_assignments ORDER BY seq"))
            .fetch_all(pool)
            .await)?;
        let definitions: Vec<StoredRoleDefinition> = read!(self, pool => sqlx::query_as("SELECT name_key, role_name_key, body FROM role_definitions ORDER BY seq")
            .fetch_all(pool)
            .await)?;
        Ok(AccessRows {
            revision,
            assignments,
            definitions,
        })
    }

    /// An assignment by name (lower-cased GUID).
    pub async fn role_assignment(
        &self,
        name_key: &str,
    ) -> Result<Option<StoredRoleAssignment>, StoreError> {
        Ok(
            read!(self, pool => sqlx::query_as(&format!("SELECT {ASSIGNMENT_COLUMNS} FROM role_assignments WHERE name_key = $1"))
            .bind(name_key)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// Creates `row` (when `replacing` is `None`) or replaces the body of the assignment whose body
    /// was `replacing`; one transaction, with the revision bump.
    pub async fn put_role_assignment(
        &self,
        row: &StoredRoleAssignment,
        replacing: Option<&str>,
    ) -> Result<AssignmentWrite, StoreError> {
        let written = transaction!(self, (transaction, dialect) => {
            let affected = match replacing {
                Some(previous_body) => sqlx::query("UPDATE role_assignments SET body = $1 WHERE name_key = $2 AND body = $3")
                    .bind(&row.body)
                    .bind(&row.name_key)
                    .bind(previous_body)
                    .execute(&mut *transaction)
                    .await?
                    .rows_affected(),
                None => sqlx::query("INSERT INTO role_assignments (name_key, scope_key, principal_key, role_definition_key, body) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING")
                    .bind(&row.name_key)
                    .bind(&row.scope_key)
                    .bind(&row.principal_key)
                    .bind(&row.role_definition_key)
                    .bind(&row.body)
                    .execute(&mut *transaction)
                    .await?
                    .rows_affected(),
            };
            if affected == 1 {
                bump_revision!(transaction);
            }
            affected == 1
        });
        if written {
            return Ok(if replacing.is_some() {
                AssignmentWrite::Replaced
            } else {
                AssignmentWrite::Created
            });
        }
        if replacing.is_some() {
            return Ok(AssignmentWrite::LostRace);
        }
        let holder: Option<String> = read!(self, pool => sqlx::query_scalar("SELECT name_key FROM role_assignments WHERE scope_key = $1 AND principal_key = $2 AND role_definition_key = $3")
            .bind(&row.scope_key)
            .bind(&row.principal_key)
            .bind(&row.role_definition_key)
            .fetch_optional(pool)
            .await)?;
        Ok(match holder {
            Some(holder_name) if holder_name != row.name_key => {
                AssignmentWrite::GrantTaken { holder_name }
            }
            _ => AssignmentWrite::LostRace,
        })
    }

    /// Deletes an assignment; answers the deleted row (`None` when there was none).
    pub async fn delete_role_assignment(
        &self,
        name_key: &str,
    ) -> Result<Option<StoredRoleAssignment>, StoreError> {
        Ok(transaction!(self, (transaction, dialect) => {
            let deleted: Option<StoredRoleAssignment> = sqlx::query_as(&format!("DELETE FROM role_assignments WHERE name_key = $1 RETURNING {ASSIGNMENT_COLUMNS}"))
                .bind(name_key)
                .fetch_optional(&mut *transaction)
                .await?;
            if deleted.is_some() {
                bump_revision!(transaction);
            }
            deleted
        }))
    }

    /// Creates or replaces a custom role definition; `false` when another role already has its name.
    pub async fn put_role_definition(
        &self,
        row: &StoredRoleDefinition,
    ) -> Result<bool, StoreError> {
        Ok(transaction!(self, (transaction, dialect) => {
            let affected = sqlx::query("INSERT INTO role_definitions (name_key, role_name_key, body) VALUES ($1, $2, $3) ON CONFLICT (name_key) DO UPDATE SET role_name_key = excluded.role_name_key, body = excluded.body")
                .bind(&row.name_key)
                .bind(&row.role_name_key)
                .bind(&row.body)
                .execute(&mut *transaction)
                .await;
            match affected {
                Ok(_) => {
                    bump_revision!(transaction);
                    true
                }
                // The role name is taken by another definition (the unique index says so).
                Err(sqlx::Error::Database(error)) if error.is_unique_violation() => false,
                Err(error) => return Err(error.into()),
            }
        }))
    }

    /// Deletes a custom role definition; answers the deleted row.
    pub async fn delete_role_definition(
        &self,
        name_key: &str,
    ) -> Result<Option<StoredRoleDefinition>, StoreError> {
        Ok(transaction!(self, (transaction, dialect) => {
            let deleted: Option<StoredRoleDefinition> = sqlx::query_as("DELETE FROM role_definitions WHERE name_key = $1 RETURNING name_key, role_name_key, body")
                .bind(name_key)
                .fetch_optional(&mut *transaction)
                .await?;
            if deleted.is_some() {
                bump_revision!(transaction);
            }
            deleted
        }))
    }
}
