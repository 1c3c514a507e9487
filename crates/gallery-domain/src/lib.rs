//! The Compute Gallery service's rules as pure code.
//!
//! Everything here is a pure function of its inputs: no I/O, no clock reads (the caller passes "now"),
//! no HTTP types. The ARM front end (`arm-api`) parses requests into the models below, asks this crate
//! to validate and decide, and hands the decided documents to the store. Keeping the rules here means
//! the REST API, ARM template deployments and tests all share one definition of what Azure allows.
//!
//! # Layout
//! - [`error`]: [`ServiceError`] and [`ErrorCode`], the service's error vocabulary (ARM code,
//!   message, target, status).
//! - [`api_version`]: which `api-version` values each resource family accepts.
//! - [`names`], [`tags`]: ARM and gallery naming rules and tag limits.
//! - [`ids`]: canonical resource ids and type strings.
//! - [`regions`]: the built-in catalog of Azure public regions.
//! - [`identity`]: tenants, subscriptions and principals, and how a caller becomes `systemData`.
//! - [`limits`]: per-subscription, per-region resource limits.
//! - [`models`]: serde types mirroring the GalleryRP spec, with the create/update rules per resource.
//! - [`publishing`]: the publishing core every versioned artifact published to regions shares
//!   (image versions, and application and script versions to come): target regions, replicas,
//!   storage types, exclude-from-latest, end of life, safety, replication plan and status, latest.
//! - [`authorization`]: Azure RBAC: role definitions (built-in and custom), scopes, role
//!   assignments and their filters, and the access policy that decides each request.
//! - [`merge_patch`]: RFC 7396 merge-patch of a stored document with a PATCH body.

pub mod api_version;
pub mod authorization;
pub mod error;
pub mod identity;
pub mod ids;
pub mod internal;
pub mod limits;
pub mod merge_patch;
pub mod models;
pub mod names;
pub mod publishing;
pub mod regions;
pub mod string_enum;
pub mod tags;
pub mod time;
pub mod version_name;

pub use error::{ErrorCode, ServiceError};
