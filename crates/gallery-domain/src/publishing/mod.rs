//! The publishing core: a versioned artifact published to regions.
//!
//! Image versions, application versions and script versions share one shape in the spec
//! (`GalleryArtifactPublishingProfileBase`, `GalleryArtifactSafetyProfileBase`): a version is
//! replicated to target regions with replica counts and storage account types, may be excluded
//! from "latest" (globally or per region), has an end of life, and may only lose target regions
//! when its safety profile allows it. This module holds those rules once; each artifact's module
//! (`models::gallery_image_version`, …) adds what is its own (an image's storage profile, an
//! application's package) and calls in here, naming itself with an [`ArtifactKind`].
//!
//! - [`profile`]: the shared members of `publishingProfile`, stored ([`PublishingProfile`]) and
//!   requested ([`PublishingProfileInput`]), and [`profile::decide`] for a PUT or PATCH.
//! - [`target_regions`]: `targetRegions` and their rules; [`storage`]: storage account types and
//!   which one a region gets.
//! - [`safety`]: region removal under `allowDeletionOfReplicatedLocations`, no updates while
//!   deleting.
//! - [`replication`]: the replication plan (region × replica index) and the `replicationStatus`
//!   view built from the replicas' progress.
//! - [`contents`]: the contents (bytes) a version is made of, which the workers copy into every
//!   planned replica, whatever the artifact.
//! - [`latest`]: which version "latest" resolves to.
//!
//! # Adding an artifact kind
//! Declare its [`ArtifactKind`] (and list it in [`ArtifactKind::ALL`]); store its publishing
//! profile with the shared members flattened in (`#[serde(flatten)] PublishingProfile`, so
//! [`PublishedVersion`] reads every kind); decide with [`profile::decide`] and
//! [`safety::decide_allow_deletion`]; record its parts in [`PublishedContents`] as its internal data
//! and enqueue a `ReplicateVersion` job: replication, status and deletion then work unchanged.

pub mod contents;
pub mod latest;
pub mod profile;
pub mod replication;
pub mod safety;
pub mod storage;
pub mod target_regions;

use serde::Deserialize;

use crate::error::ErrorCode;
use crate::ids;
use crate::models::ProvisioningState;

pub use contents::{PublishedContents, replica_content_id};
pub use profile::{PublishingProfile, PublishingProfileInput, ReplicationMode};
pub use replication::{
    AggregatedReplicationState, PlannedReplica, RegionalReplicationStatus, ReplicaProgress,
    ReplicaState, ReplicationState, ReplicationStatus, replication_plan, replication_status,
};
pub use storage::{StorageAccountStrategy, StorageAccountType};
pub use target_regions::{TargetRegion, TargetRegionInput};

/// What differs between the kinds of published versions where the shared rules speak: how errors
/// point into their requests and how messages name them. One constant per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArtifactKind {
    /// The ARM resource type, e.g. `Microsoft.Compute/galleries/images/versions`.
    pub resource_type: &'static str,
    /// The root of error targets: `galleryImageVersion` (targets read
    /// `galleryImageVersion.properties.publishingProfile.…`).
    pub body_name: &'static str,
    /// How messages name a version: `image version`.
    pub noun: &'static str,
    /// With its gallery: `gallery image version`.
    pub full_noun: &'static str,
    /// How operation names spell it: `Gallery Image Version` (`Update Gallery Image Version`).
    pub title: &'static str,
    /// The code of an operation whose replication failed.
    pub replication_failed: ErrorCode,
}

impl ArtifactKind {
    /// `Microsoft.Compute/galleries/images/versions`.
    pub const IMAGE_VERSION: ArtifactKind = ArtifactKind {
        resource_type: ids::GALLERY_IMAGE_VERSION_TYPE,
        body_name: "galleryImageVersion",
        noun: "image version",
        full_noun: "gallery image version",
        title: "Gallery Image Version",
        replication_failed: ErrorCode::GalleryImageVersionReplicationFailed,
    };

    /// `Microsoft.Compute/galleries/applications/versions`.
    pub const APPLICATION_VERSION: ArtifactKind = ArtifactKind {
        resource_type: ids::GALLERY_APPLICATION_VERSION_TYPE,
        body_name: "galleryApplicationVersion",
        noun: "application version",
        full_noun: "gallery application version",
        title: "Gallery Application Version",
        replication_failed: ErrorCode::GalleryApplicationVersionReplicationFailed,
    };

    /// `Microsoft.Compute/galleries/scripts/versions`.
    pub const SCRIPT_VERSION: ArtifactKind = ArtifactKind {
        resource_type: ids::GALLERY_SCRIPT_VERSION_TYPE,
        body_name: "galleryScriptVersion",
        noun: "script version",
        full_noun: "gallery script version",
        title: "Gallery Script Version",
        replication_failed: ErrorCode::GalleryScriptVersionReplicationFailed,
    };

    /// Every kind galleryd publishes.
    pub const ALL: &'static [ArtifactKind] = &[
        ArtifactKind::IMAGE_VERSION,
        ArtifactKind::APPLICATION_VERSION,
        ArtifactKind::SCRIPT_VERSION,
    ];

    /// The kind of a resource type (any casing), if it is a published version.
    pub fn of_resource_type(resource_type: &str) -> Option<&'static ArtifactKind> {
        ArtifactKind::ALL
            .iter()
            .find(|kind| kind.resource_type.eq_ignore_ascii_case(resource_type))
    }

    /// The kind of the resource an id names, if it is a published version.
    pub fn of_resource_id(id: &str) -> Option<&'static ArtifactKind> {
        ArtifactKind::of_resource_type(&ids::resource_type_of(id)?)
    }

    /// The error target of a property: `galleryImageVersion.properties.{member}`.
    pub fn target(&self, member: &str) -> String {
        format!("{}.properties.{member}", self.body_name)
    }

    /// The request-body path of a target (`properties.storageProfile.source.id`).
    pub fn request_path<'t>(&self, target: &'t str) -> &'t str {
        target
            .strip_prefix(self.body_name)
            .and_then(|rest| rest.strip_prefix('.'))
            .unwrap_or(target)
    }

    /// [`Self::full_noun`] starting a sentence: `Gallery image version`.
    pub fn sentence_start(&self) -> String {
        let mut characters = self.full_noun.chars();
        match characters.next() {
            Some(first) => first.to_uppercase().chain(characters).collect(),
            None => String::new(),
        }
    }
}

/// Service limits and defaults every published artifact shares (configurable for tests and load
/// work).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishingRules {
    /// Highest `replicaCount` / `regionalReplicaCount` (default 10).
    pub max_replicas_per_region: u32,
    /// The storage account type of replicas nothing else decides (default `Standard_LRS`).
    pub default_storage_account_type: StorageAccountType,
}

impl Default for PublishingRules {
    fn default() -> Self {
        PublishingRules {
            max_replicas_per_region: 10,
            default_storage_account_type: StorageAccountType::StandardLrs,
        }
    }
}

/// Any published version's stored document as the replication workers and reports read it:
/// whatever its kind, it has an id, a location, a provisioning state and the shared members of
/// its publishing profile (the rest of the document is ignored).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishedVersion {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub location: String,
    pub properties: PublishedProperties,
}

/// The `properties` of a [`PublishedVersion`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishedProperties {
    pub publishing_profile: PublishingProfile,
    pub provisioning_state: ProvisioningState,
}

impl PublishedVersion {
    /// Its kind, if its type is one galleryd publishes.
    pub fn kind(&self) -> Option<&'static ArtifactKind> {
        ArtifactKind::of_resource_type(&self.resource_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_name_their_targets_and_messages() {
        let kind = ArtifactKind::IMAGE_VERSION;
        let target = kind.target("storageProfile.source.id");
        assert_eq!(
            target,
            "galleryImageVersion.properties.storageProfile.source.id"
        );
        assert_eq!(
            kind.request_path(&target),
            "properties.storageProfile.source.id"
        );
        assert_eq!(kind.sentence_start(), "Gallery image version");
        assert_eq!(
            ArtifactKind::of_resource_type("microsoft.compute/galleries/images/VERSIONS"),
            Some(&ArtifactKind::IMAGE_VERSION)
        );
        assert_eq!(
            ArtifactKind::of_resource_type("Microsoft.Compute/galleries"),
            None
        );
        assert_eq!(
            ArtifactKind::of_resource_id(
                "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/galleries/g/images/i/versions/1.0.0"
            ),
            Some(&ArtifactKind::IMAGE_VERSION)
        );
    }
}
