//! `Microsoft.Compute/galleries/scripts/versions`: the five gallery script version operations of
//! the spec (api-version 2025-03-03).
//!
//! Like an application version ([`super::published_versions`]): a create is decided first, then
//! its script is read from `source.scriptLink` (with the application packages' reader,
//! [`super::gallery_application_versions::package`]) into a sealed content, and the version is
//! recorded `Creating` with a replication job; updates go `Updating`, deletes `Deleting`, and the
//! workers do the rest. `$expand=ReplicationStatus` reports per-region progress.

use axum::response::Response;
use gallery_domain::ServiceError;
use gallery_domain::ids;
use gallery_domain::models::common::PatchRequest;
use gallery_domain::models::gallery_application_version::PackageLink;
use gallery_domain::models::gallery_script_version::{
    self as version_model, GalleryScriptVersion, GalleryScriptVersionProperties,
    GalleryScriptVersionRequest, ScriptVersionRules,
};
use gallery_domain::models::{ProvisioningState, WriteContext};
use gallery_domain::publishing::{PublishingProfile, PublishingRules};

use crate::App;
use crate::arm::handlers::published_versions::{self, PublishedVersionKind};
use crate::arm::request::ArmRequest;
use crate::error::ApiResult;

/// Gallery script versions, as a published artifact kind.
pub(crate) struct ScriptVersions;

impl PublishedVersionKind for ScriptVersions {
    type Properties = GalleryScriptVersionProperties;
    type Request = GalleryScriptVersionRequest;
    type Rules = ScriptVersionRules;

    const VERSION_TYPE: &'static str = ids::GALLERY_SCRIPT_VERSION_TYPE;
    const DEFINITION_TYPE: &'static str = ids::GALLERY_SCRIPT_TYPE;
    const DEFINITION_SEGMENT: (&'static str, &'static str) = ("scripts", "galleryScriptName");
    const VERSION_PARAMETER: &'static str = "galleryScriptVersionName";

    fn rules(publishing: PublishingRules) -> ScriptVersionRules {
        ScriptVersionRules {
            publishing,
            ..ScriptVersionRules::default()
        }
    }

    fn put(
        existing: Option<&GalleryScriptVersion>,
        request: GalleryScriptVersionRequest,
        context: &WriteContext<'_>,
        rules: &ScriptVersionRules,
    ) -> Result<GalleryScriptVersion, ServiceError> {
        version_model::put(existing, request, context, rules)
    }

    fn patch(
        existing: &GalleryScriptVersion,
        request: PatchRequest,
        context: &WriteContext<'_>,
        rules: &ScriptVersionRules,
    ) -> Result<GalleryScriptVersion, ServiceError> {
        version_model::patch(existing, request, context, rules)
    }

    fn links(version: &GalleryScriptVersion) -> Vec<PackageLink> {
        vec![version_model::script_link(version)]
    }

    fn max_part_bytes(rules: &ScriptVersionRules) -> u64 {
        rules.max_script_bytes
    }

    fn provisioning_state(
        properties: &mut GalleryScriptVersionProperties,
    ) -> &mut ProvisioningState {
        &mut properties.provisioning_state
    }

    fn publishing_profile(properties: &GalleryScriptVersionProperties) -> &PublishingProfile {
        &properties.publishing_profile.shared
    }
}

/// GalleryScriptVersions_CreateOrUpdate: `PUT …/scripts/{s}/versions/{galleryScriptVersionName}`.
pub async fn create_or_update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    published_versions::create_or_update::<ScriptVersions>(app, request).await
}

/// GalleryScriptVersions_Update: `PATCH …/scripts/{s}/versions/{galleryScriptVersionName}`.
pub async fn update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    published_versions::update::<ScriptVersions>(app, request).await
}

/// GalleryScriptVersions_Get, with `$expand=ReplicationStatus`.
pub async fn get(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    published_versions::get::<ScriptVersions>(app, request).await
}

/// GalleryScriptVersions_Delete: 202 while the workers remove every replica, then the version.
pub async fn delete(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    published_versions::delete::<ScriptVersions>(app, request).await
}

/// GalleryScriptVersions_ListByGalleryScript: `GET …/scripts/{s}/versions`.
pub async fn list_by_gallery_script(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    published_versions::list_by_definition::<ScriptVersions>(app, request).await
}
