//! Resetting galleryd's state for a test suite: everything, one subscription, or one resource group
//! gone in one transaction: resource groups, resources (and their replicas), usage counted for them,
//! their async operations, template deployments, their jobs and the content rows of their bytes. The caller deletes the
//! blobs of the contents this returns (the store knows no blobs).
//!
//! Access control made through the API goes in the same transaction: the role assignments whose
//! scope is the reset scope or lies under it (every one for everything), and the custom roles of
//! the scope: every one for everything; for a subscription those whose assignable scopes all lie in
//! it (a role also assignable elsewhere stays); none for a resource group. The access revision is
//! bumped, so every process rebuilds its cached policy. Assignments from the identities file are
//! configuration, not rows: they stay.
//!
//! Job runs of this process working in the scope are interrupted and waited for first, and kept back
//! until the blobs are gone too (see [`work_fence`](crate::work_fence)), so no copy writes or records
//! anything under a reset. Requests in flight need no fence: each write is one transaction over what
//! it read, so a write that read before the reset and applies after it finds its resource group or
//! parent gone (a foreign key) and reads again (ARM's 404), or lands whole after the reset.

use crate::work_fence::{Hold, KeyScope};
use crate::{Store, StoreError};

/// What a reset removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetScope {
    /// Every subscription's state.
    Everything,
    /// One subscription's resource groups and everything in them.
    Subscription { subscription_id: String },
    /// One resource group and everything in it.
    ResourceGroup {
        subscription_id: String,
        resource_group: String,
    },
}

impl ResetScope {
    /// The lower-cased resource-key prefix of everything in the scope (`None`: every key).
    fn key_prefix(&self) -> Option<String> {
        match self {
            ResetScope::Everything => None,
            ResetScope::Subscription { subscription_id } => Some(format!(
                "/subscriptions/{}/",
                subscription_id.to_lowercase()
            )),
            ResetScope::ResourceGroup {
                subscription_id,
                resource_group,
            } => Some(format!(
                "/subscriptions/{}/resourcegroups/{}/",
                subscription_id.to_lowercase(),
                resource_group.to_lowercase()
            )),
        }
    }

    fn key_scope(&self) -> KeyScope {
        match self.key_prefix() {
            None => KeyScope::Everything,
            Some(prefix) => KeyScope::Prefix(prefix),
        }
    }
}

/// A content whose row a reset deleted: its blobs are to be deleted too.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RemovedContent {
    pub region: String,
    pub content_id: String,
}

/// What a reset deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResetReport {
    pub resource_groups: u64,
    pub resources: u64,
    pub operations: u64,
    pub jobs: u64,
    pub deployments: u64,
    pub role_assignments: u64,
    pub role_definitions: u64,
    /// Contents whose rows were deleted; their blobs must go too.
    pub contents: Vec<RemovedContent>,
}

/// A reset under way: its rows are deleted; background runs in its scope stay held back until
/// this is dropped (after the blobs are deleted).
pub struct Reset<'store> {
    pub report: ResetReport,
    _hold: Hold<'store>,
}

/// Deletes the access rows of the scope (see the module documentation) and bumps the access
/// revision; evaluates to how many assignments and custom roles went.
macro_rules! delete_access {
    ($transaction:ident, $scope:expr, $prefix:expr, $prefix_length:expr, $scope_id:expr) => {{
        let assignments = sqlx::query(
            "DELETE FROM role_assignments WHERE $1 = '' OR scope_key = $3 OR SUBSTR(scope_key, 1, $2) = $1",
        )
        .bind($prefix)
        .bind($prefix_length)
        .bind($scope_id)
        .execute(&mut *$transaction)
        .await?
        .rows_affected();
        let definitions = match $scope {
            ResetScope::Everything => sqlx::query("DELETE FROM role_definitions")
                .execute(&mut *$transaction)
                .await?
                .rows_affected(),
            ResetScope::Subscription { .. } => {
                let custom: Vec<(String, String)> =
                    sqlx::query_as("SELECT name_key, body FROM role_definitions")
                        .fetch_all(&mut *$transaction)
                        .await?;
                let mut deleted = 0;
                for (name_key, _) in custom
                    .iter()
                    .filter(|(_, body)| assignable_only_within(body, $scope_id))
                {
                    deleted += sqlx::query("DELETE FROM role_definitions WHERE name_key = $1")
                        .bind(name_key)
                        .execute(&mut *$transaction)
                        .await?
                        .rows_affected();
                }
                deleted
            }
            ResetScope::ResourceGroup { .. } => 0,
        };
        sqlx::query("UPDATE access_revision SET revision = revision + 1 WHERE id = 1")
            .execute(&mut *$transaction)
            .await?;
        (assignments, definitions)
    }};
}

impl Store {
    /// Deletes everything in `scope` (see the module documentation). Background runs of this
    /// process in the scope stop first and stay held back while the returned [`Reset`] lives.
    pub async fn reset(&self, scope: &ResetScope) -> Result<Reset<'_>, StoreError> {
        let hold = self.work_fence.hold(scope.key_scope()).await;
        // The lock order makes deadlocks with writers unlikely; one that happens anyway (a write
        // path taking its locks in another order) is retried.
        let mut attempt = 1;
        let report = loop {
            match self.delete_scope(scope).await {
                Err(error) if error.is_deadlock() && attempt < 3 => {
                    tracing::info!(attempt, "a reset was a deadlock's victim; again");
                    attempt += 1;
                }
                other => break other?,
            }
        };
        if let Some(cache) = &self.cache {
            match scope.key_prefix() {
                Some(prefix) => cache.invalidate_prefix(&prefix),
                None => cache.invalidate_prefix(""),
            }
        }
        Ok(Reset {
            report,
            _hold: hold,
        })
    }

    async fn delete_scope(&self, scope: &ResetScope) -> Result<ResetReport, StoreError> {
        let prefix = scope.key_prefix().unwrap_or_default();
        let prefix_length = i32::try_from(prefix.chars().count()).unwrap_or(i32::MAX);
        // The group's own id (its operations name it without a trailing slash).
        let group_id = prefix.trim_end_matches('/').to_string();
        Ok(transaction!(self, (transaction, dialect) => {
            let mut report = ResetReport::default();
            // Locks in the order writers take them, so the reset never deadlocks with a write in
            // flight: a create reserves its usage counter, then inserts its resource (holding its
            // group's key), then records its operation; a settle updates its resource, then its
            // operation.
            let subscription = match scope {
                ResetScope::Everything => String::new(),
                ResetScope::Subscription { subscription_id }
                | ResetScope::ResourceGroup { subscription_id, .. } => subscription_id.clone(),
            };
            let _: Vec<i32> = sqlx::query_scalar(with_lock!(
                dialect,
                "SELECT shard FROM usage_counters WHERE $1 = '' OR subscription_id = $1",
                "FOR UPDATE"
            ))
            .bind(&subscription)
            .fetch_all(&mut *transaction)
            .await?;
            let _: Vec<i64> = sqlx::query_scalar(with_lock!(
                dialect,
                "SELECT seq FROM resource_groups WHERE SUBSTR('/subscriptions/' || LOWER(subscription_id) || '/resourcegroups/' || name_key || '/', 1, $2) = $1",
                "FOR UPDATE"
            ))
            .bind(&prefix)
            .bind(prefix_length)
            .fetch_all(&mut *transaction)
            .await?;
            match scope {
                ResetScope::Everything => {
                    report.resources = sqlx::query("DELETE FROM resources").execute(&mut *transaction).await?.rows_affected();
                    sqlx::query("DELETE FROM usage_counters").execute(&mut *transaction).await?;
                    report.resource_groups = sqlx::query("DELETE FROM resource_groups").execute(&mut *transaction).await?.rows_affected();
                }
                ResetScope::Subscription { subscription_id } => {
                    report.resources = sqlx::query("DELETE FROM resources WHERE subscription_id = $1")
                        .bind(subscription_id)
                        .execute(&mut *transaction)
                        .await?
                        .rows_affected();
                    sqlx::query("DELETE FROM usage_counters WHERE subscription_id = $1")
                        .bind(subscription_id)
                        .execute(&mut *transaction)
                        .await?;
                    report.resource_groups = sqlx::query("DELETE FROM resource_groups WHERE subscription_id = $1")
                        .bind(subscription_id)
                        .execute(&mut *transaction)
                        .await?
                        .rows_affected();
                }
                ResetScope::ResourceGroup { subscription_id, resource_group } => {
                    let group_key = resource_group.to_lowercase();
                    // The usage the group's resources hold, per counter shard, is given back.
                    let counted: Vec<(String, String, i32, i64)> = sqlx::query_as(
                        "SELECT location, quota_kind, quota_shard, COUNT(*) FROM resources \
                         WHERE subscription_id = $1 AND resource_group_key = $2 AND quota_kind IS NOT NULL AND quota_shard IS NOT NULL \
                         GROUP BY location, quota_kind, quota_shard",
                    )
                    .bind(subscription_id)
                    .bind(&group_key)
                    .fetch_all(&mut *transaction)
                    .await?;
                    for (location, kind, shard, count) in &counted {
                        release_quota!(transaction, subscription_id, location, kind, *shard, *count);
                    }
                    // Parents and children in one statement: the parent foreign key is checked at
                    // its end, when both are gone.
                    report.resources = sqlx::query("DELETE FROM resources WHERE subscription_id = $1 AND resource_group_key = $2")
                        .bind(subscription_id)
                        .bind(&group_key)
                        .execute(&mut *transaction)
                        .await?
                        .rows_affected();
                    report.resource_groups = sqlx::query("DELETE FROM resource_groups WHERE subscription_id = $1 AND name_key = $2")
                        .bind(subscription_id)
                        .bind(&group_key)
                        .execute(&mut *transaction)
                        .await?
                        .rows_affected();
                }
            }
            // Template deployments of the scope (their operations cascade). A deployment still
            // running goes on sending its requests, which find their group gone.
            report.deployments = sqlx::query("DELETE FROM deployments WHERE SUBSTR(deployment_key, 1, $2) = $1")
                .bind(&prefix)
                .bind(prefix_length)
                .execute(&mut *transaction)
                .await?
                .rows_affected();
            // Contents and their page writes (cascade): owned by resources in the scope.
            report.contents = sqlx::query_as(
                "DELETE FROM contents WHERE SUBSTR(owner_key, 1, $2) = $1 RETURNING region, content_id",
            )
            .bind(&prefix)
            .bind(prefix_length)
            .fetch_all(&mut *transaction)
            .await?;
            report.jobs = sqlx::query("DELETE FROM jobs WHERE SUBSTR(resource_key, 1, $2) = $1")
                .bind(&prefix)
                .bind(prefix_length)
                .execute(&mut *transaction)
                .await?
                .rows_affected();
            report.operations = sqlx::query(
                "DELETE FROM async_operations WHERE SUBSTR(LOWER(resource_id), 1, $2) = $1 OR LOWER(resource_id) = $3",
            )
            .bind(&prefix)
            .bind(prefix_length)
            .bind(&group_id)
            .execute(&mut *transaction)
            .await?
            .rows_affected();
            let (assignments, definitions) = delete_access!(transaction, scope, &prefix, prefix_length, &group_id);
            report.role_assignments = assignments;
            report.role_definitions = definitions;
            report
        }))
    }
}

/// Whether every assignable scope of the custom role `body` (a stored document) is the scope whose
/// lower-cased id is `scope_id` or lies under it; a document without scopes is not.
fn assignable_only_within(body: &str, scope_id: &str) -> bool {
    let document: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let Some(scopes) = document["properties"]["assignableScopes"].as_array() else {
        return false;
    };
    !scopes.is_empty()
        && scopes.iter().all(|scope| {
            scope.as_str().is_some_and(|scope| {
                let scope = scope.to_lowercase();
                let scope = scope.trim_end_matches('/');
                scope == scope_id
                    || scope
                        .strip_prefix(scope_id)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
        })
}

#[cfg(test)]
mod tests {
    use super::assignable_only_within;

    #[test]
    fn a_custom_role_belongs_to_a_scope_when_all_its_assignable_scopes_lie_in_it() {
        let role = |scopes: &[&str]| {
            serde_json::json!({"properties": {"assignableScopes": scopes}}).to_string()
        };
        let subscription = "/subscriptions/abc";
        assert!(assignable_only_within(
            &role(&["/subscriptions/ABC"]),
            subscription
        ));
        assert!(assignable_only_within(
            &role(&[
                "/subscriptions/abc/resourceGroups/rg",
                "/subscriptions/abc/"
            ]),
            subscription
        ));
        assert!(!assignable_only_within(
            &role(&["/subscriptions/abc", "/subscriptions/other"]),
            subscription
        ));
        assert!(!assignable_only_within(
            &role(&["/subscriptions/abcd"]),
            subscription
        ));
        assert!(!assignable_only_within(&role(&["/"]), subscription));
        assert!(!assignable_only_within(&role(&[]), subscription));
        assert!(!assignable_only_within("not json", subscription));
    }
}
