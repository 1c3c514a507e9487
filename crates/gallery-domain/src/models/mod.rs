//! Serde types mirroring the GalleryRP spec, with each resource's create and update rules.
//!
//! Every resource has two shapes: the request shape (`*Input`, what a client may send: every field
//! optional, enums as free strings so a bad value becomes a 400 naming the property instead of a
//! parse failure, unknown and read-only fields ignored as Azure does) and the stored shape (what
//! galleryd serves: canonical enums, defaults applied, read-only fields filled in). `create` and
//! `update` turn the first into the second, enforcing what Azure enforces.

pub mod artifact_definition;
pub mod common;
pub mod custom_actions;
pub mod disk;
pub mod disk_capabilities;
pub mod gallery;
pub mod gallery_application;
pub mod gallery_application_version;
pub mod gallery_image;
pub mod gallery_image_version;
pub mod gallery_script;
pub mod gallery_script_version;
pub mod image;
pub mod published_version;
pub mod resource_group;

pub use common::{ProvisioningState, TrackedResource, WriteContext};
