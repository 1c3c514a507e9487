//! One module per ARM resource, with functions named after the spec's operationIds
//! (`galleries::create_or_update` is `Galleries_CreateOrUpdate`).

pub(crate) mod artifact_definitions;
pub(crate) mod caps_operations;
pub(crate) mod deployments;
pub(crate) mod disks;
pub(crate) mod galleries;
pub(crate) mod gallery_application_versions;
pub(crate) mod gallery_applications;
pub(crate) mod gallery_image_versions;
pub(crate) mod gallery_images;
pub(crate) mod gallery_script_versions;
pub(crate) mod gallery_scripts;
pub(crate) mod images;
pub(crate) mod published_versions;
pub(crate) mod resource_groups;
pub(crate) mod role_assignments;
pub(crate) mod role_definitions;
pub(crate) mod snapshots;
pub(crate) mod subscriptions;
