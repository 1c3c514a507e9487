//! Persistence for galleryd: Postgres (the reference backend) and SQLite (the zero-setup default)
//! behind one interface.
//!
//! Writes go one way: the store reads what a write depends on, the caller decides (with
//! `gallery-domain`), and the store applies the decision in one transaction, conditionally (insert
//! if absent, update or delete only over the revision read), together with the async-operation row
//! the client will poll; a write that lost a race says so and the caller decides again. Uniqueness (ids, gallery names per subscription, publisher/offer/SKU per
//! gallery) is enforced by unique indexes, never by check-then-insert; limits are enforced against
//! sharded counters updated in the same transaction, so concurrent requests cannot overshoot.
//!
//! The two backends share SQL text wherever the dialects agree (both accept `$1` parameters,
//! `ON CONFLICT` and `RETURNING`); the few differences (row locks exist only on Postgres, where
//! concurrent writers need them; SQLite has a single writer connection instead) are spelled at the
//! call site with [`with_lock!`]. Queries are runtime-checked strings rather than `query!` macros
//! because compile-time checking cannot cover two databases with one source.

#[macro_use]
mod macros;
mod backend;
mod cache;
mod clock;
pub mod error;
#[macro_use]
mod operations;
#[macro_use]
mod quota;
#[macro_use]
mod jobs;
mod access;
mod background;
mod contents;
mod deployments;
mod replicas;
mod reset;
mod resource_groups;
mod resources;
mod secrets;
pub mod work_fence;

pub use access::{AccessRows, AssignmentWrite, StoredRoleAssignment, StoredRoleDefinition};
pub use backend::{Store, StoreLocation, StoreOptions};
pub use background::OperationEnd;
pub use clock::now_millis;
pub use contents::{ContentState, StoredContent, StoredPageWrite};
pub use deployments::{
    DeploymentDeletion, NewDeployment, StoredDeployment, StoredDeploymentOperation,
};
pub use error::StoreError;
pub use jobs::{ClaimedJob, JobKind, NewJob, PlannedJob};
pub use operations::{NewOperation, OperationStatus, StoredOperation};
pub use replicas::{PlannedReplica, ReplicaKey, ReplicaState, StoredReplica};
pub use reset::{RemovedContent, Reset, ResetReport, ResetScope};
pub use resource_groups::{GroupDecision, StoredResourceGroup};
pub use resources::{
    Ancestry, Applied, Decision, ListScope, PutOutcome, ResourceScope, ResourceTarget,
    StoredResource, UniqueClaim, WriteScope,
};

/// One page of a keyset-paginated list: the items and, when more follow, the cursor of the next page
/// (the `seq` of the last item; the next page starts after it).
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<i64>,
}
