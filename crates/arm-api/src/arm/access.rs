//! The authorization step of the pipeline: may the caller perform the operation's action at the
//! scope the request names? And the cached access policy every decision reads.
//!
//! The policy (built-in and custom roles, every role assignment, group memberships) is built once
//! from the store and shared by every request until it changes: an access write in this process
//! drops it at once; writes by other processes on the same database are noticed within
//! [`FRESHNESS`] (one cheap revision read, by one request, at most that often). Azure itself takes
//! minutes to apply a grant. A decision is then a few hash lookups and prefix comparisons.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::http::Method;
use gallery_domain::authorization::AccessPolicy;
use gallery_domain::authorization::assignments::{RoleAssignment, authorization_failed};
use gallery_domain::authorization::roles::RoleDefinition;
use gallery_domain::authorization::scope::scope_key;
use gallery_domain::identity::{Caller, Directory, PrincipalKind};

use crate::App;
use crate::arm::operation::OperationId;
use crate::error::ApiError;
use crate::identity::authentication::AuthenticationMode;

/// How long a process trusts its cached policy before checking the database's access revision.
pub const FRESHNESS: Duration = Duration::from_secs(1);

struct Cached {
    policy: Arc<AccessPolicy>,
    revision: i64,
    checked_at: Instant,
}

/// The cached access policy of this process.
pub struct AccessControl {
    cached: RwLock<Option<Cached>>,
    /// Set by this process's access writes: rebuild before the next decision.
    stale: AtomicBool,
    /// One rebuild at a time.
    rebuilding: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for AccessControl {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AccessControl")
            .finish_non_exhaustive()
    }
}

impl Default for AccessControl {
    fn default() -> Self {
        AccessControl {
            cached: RwLock::new(None),
            stale: AtomicBool::new(true),
            rebuilding: tokio::sync::Mutex::new(()),
        }
    }
}

/// The base policy the configuration describes: built-in roles, the development principals as
/// implicit Owners of the subscriptions the configuration assigns no role in, the configured groups
/// and role assignments.
fn base_policy(directory: &Directory) -> AccessPolicy {
    let implicit_owners: Vec<&str> = directory
        .principals
        .iter()
        .filter(|principal| principal.is_development())
        .map(|principal| principal.object_id.as_str())
        .collect();
    let mut policy = AccessPolicy::new(
        implicit_owners,
        directory
            .role_assignments
            .iter()
            .map(|assignment| assignment.scope.as_str()),
    );
    for group in &directory.groups {
        for member in &group.members {
            policy.add_membership(member, &group.object_id);
        }
    }
    for assignment in &directory.role_assignments {
        if let Some(role) = assignment.role() {
            policy.add_assignment(&assignment.principal_id, &assignment.scope, role);
        }
    }
    policy
}

impl AccessControl {
    /// Drops the cached policy (after an access write in this process).
    pub fn invalidate(&self) {
        self.stale.store(true, Ordering::Release);
    }

    fn fresh(&self) -> Option<Arc<AccessPolicy>> {
        if self.stale.load(Ordering::Acquire) {
            return None;
        }
        let cached = self
            .cached
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cached
            .as_ref()
            .filter(|cached| cached.checked_at.elapsed() < FRESHNESS)
            .map(|cached| cached.policy.clone())
    }

    /// The current policy.
    pub async fn policy(&self, app: &App) -> Result<Arc<AccessPolicy>, ApiError> {
        if let Some(policy) = self.fresh() {
            return Ok(policy);
        }
        let _turn = self.rebuilding.lock().await;
        if let Some(policy) = self.fresh() {
            return Ok(policy);
        }
        let store = app.store()?;
        let stale = self.stale.swap(false, Ordering::AcqRel);
        if !stale {
            let revision = store.access_revision().await?;
            let mut cached = self
                .cached
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(cached) = cached.as_mut().filter(|cached| cached.revision == revision) {
                cached.checked_at = Instant::now();
                return Ok(cached.policy.clone());
            }
        }
        let rows = match store.load_access().await {
            Ok(rows) => rows,
            Err(error) => {
                self.stale.store(true, Ordering::Release);
                return Err(error.into());
            }
        };
        let mut policy = base_policy(&app.settings.directory);
        for definition in &rows.definitions {
            if let Ok(role) = serde_json::from_str::<RoleDefinition>(&definition.body) {
                policy.add_role(role);
            }
        }
        for assignment in &rows.assignments {
            if let Ok(parsed) = serde_json::from_str::<RoleAssignment>(&assignment.body) {
                policy.add_assignment(
                    &parsed.properties.principal_id,
                    &parsed.properties.scope,
                    parsed.role(),
                );
            }
        }
        let policy = Arc::new(policy);
        *self
            .cached
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Cached {
            policy: policy.clone(),
            revision: rows.revision,
            checked_at: Instant::now(),
        });
        Ok(policy)
    }
}

/// What a caller may see of a list it has only partial access to.
#[derive(Debug, Clone, Default)]
pub enum Visibility {
    /// Everything the request names.
    #[default]
    Everything,
    /// Only the items at which the caller may perform `action`.
    Only {
        policy: Arc<AccessPolicy>,
        object_id: String,
        action: &'static str,
    },
}

impl Visibility {
    /// Whether the item with id `id` may be shown.
    pub fn shows(&self, id: &str) -> bool {
        match self {
            Visibility::Everything => true,
            Visibility::Only {
                policy,
                object_id,
                action,
            } => policy.permits(object_id, action, &scope_key(id)),
        }
    }
}

/// How the 403 names the caller: a user by name, a service principal or managed identity by its
/// object id (as most of Azure's messages do).
fn client_name(caller: &Caller) -> &str {
    match caller.kind {
        PrincipalKind::User => &caller.display_name,
        _ => &caller.object_id,
    }
}

/// Whether the operation lists a collection (its scope in messages is the collection's parent).
fn is_list(operation: OperationId, method: &Method) -> bool {
    *method == Method::GET && operation.name().contains("_List")
}

/// Operations any caller with some access in the subscription may perform: reading the
/// subscription itself, its provider metadata and the status of async operations (the status URL
/// of a write a caller was allowed to make lies at the subscription, above its role's scope).
fn needs_only_presence(operation: OperationId) -> bool {
    matches!(
        operation,
        OperationId::SubscriptionsGet
            | OperationId::CapsOperationsGet
            | OperationId::OperationResultsGet
            | OperationId::ProvidersGet
    )
}

/// The authorization step (the listings of subscriptions and tenants filter by themselves; role
/// definitions, which Azure documents publicly, are readable by every caller): `Ok` with what the caller may see, or the 403 to answer. `path` is the
/// decoded request path (`/subscriptions/…`).
pub async fn authorize(
    app: &App,
    caller: &Caller,
    operation: OperationId,
    method: &Method,
    path: &str,
) -> Result<Visibility, ApiError> {
    if app.settings.authentication == AuthenticationMode::None
        || matches!(
            operation,
            OperationId::SubscriptionsList
                | OperationId::TenantsList
                | OperationId::RoleDefinitionsList
                | OperationId::RoleDefinitionsGet
        )
    {
        return Ok(Visibility::Everything);
    }
    let policy = app.access.policy(app).await?;
    let action = operation.action();
    let target = scope_key(path);
    let denied = |scope: &str| -> ApiError {
        authorization_failed(client_name(caller), &caller.object_id, action, scope).into()
    };
    if needs_only_presence(operation) {
        let subscription = gallery_domain::authorization::scope::subscription_of(&target)
            .map(|subscription| format!("/subscriptions/{subscription}"))
            .unwrap_or_else(|| "/".to_string());
        return if policy.has_any_access(&caller.object_id, &subscription) {
            Ok(Visibility::Everything)
        } else {
            Err(denied(path))
        };
    }
    if policy.permits(&caller.object_id, action, &target) {
        return Ok(Visibility::Everything);
    }
    if is_list(operation, method) {
        if policy.permits_below(&caller.object_id, action, &target) {
            return Ok(Visibility::Only {
                policy,
                object_id: caller.object_id.clone(),
                action,
            });
        }
        let parent = path.rsplit_once('/').map_or(path, |(parent, _)| parent);
        return Err(denied(if parent.is_empty() { "/" } else { parent }));
    }
    Err(denied(path))
}
