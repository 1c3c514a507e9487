//! `Microsoft.Compute/galleries/applications/versions`: the five VM application version
//! operations of the spec.
//!
//! A version is what gets replicated. A create is decided by the domain rules first, then its
//! package and default configuration are read from their links ([`package`]) into sealed contents
//! in the version's region, and the version is recorded `Creating` with its operation (in
//! progress) and a replication job, in one transaction; the workers copy every part into every
//! planned replica (the publishing core's plan) and settle both. Updates go `Updating` the same way
//! (the package never changes); deletes go `Deleting`, and the worker removes every replica and the
//! package before the version. `$expand=ReplicationStatus` reports per-region progress from the
//! replica rows.

pub(crate) mod package;

use axum::response::Response;
use gallery_domain::ServiceError;
use gallery_domain::ids;
use gallery_domain::models::common::PatchRequest;
use gallery_domain::models::gallery_application_version::{
    self as version_model, ApplicationVersionRules, GalleryApplicationVersion,
    GalleryApplicationVersionProperties, GalleryApplicationVersionRequest, PackageLink,
};
use gallery_domain::models::{ProvisioningState, WriteContext};
use gallery_domain::publishing::{PublishingProfile, PublishingRules};

use crate::App;
use crate::arm::handlers::published_versions::{self, PublishedVersionKind};
use crate::arm::request::ArmRequest;
use crate::error::ApiResult;

/// VM application versions, as a published artifact kind.
pub(crate) struct ApplicationVersions;

impl PublishedVersionKind for ApplicationVersions {
    type Properties = GalleryApplicationVersionProperties;
    type Request = GalleryApplicationVersionRequest;
    type Rules = ApplicationVersionRules;

    const VERSION_TYPE: &'static str = ids::GALLERY_APPLICATION_VERSION_TYPE;
    const DEFINITION_TYPE: &'static str = ids::GALLERY_APPLICATION_TYPE;
    const DEFINITION_SEGMENT: (&'static str, &'static str) =
        ("applications", "galleryApplicationName");
    const VERSION_PARAMETER: &'static str = "galleryApplicationVersionName";

    fn rules(publishing: PublishingRules) -> ApplicationVersionRules {
        ApplicationVersionRules {
            publishing,
            ..ApplicationVersionRules::default()
        }
    }

    fn put(
        existing: Option<&GalleryApplicationVersion>,
        request: GalleryApplicationVersionRequest,
        context: &WriteContext<'_>,
        rules: &ApplicationVersionRules,
    ) -> Result<GalleryApplicationVersion, ServiceError> {
        version_model::put(existing, request, context, rules)
    }

    fn patch(
        existing: &GalleryApplicationVersion,
        request: PatchRequest,
        context: &WriteContext<'_>,
        rules: &ApplicationVersionRules,
    ) -> Result<GalleryApplicationVersion, ServiceError> {
        version_model::patch(existing, request, context, rules)
    }

    fn links(version: &GalleryApplicationVersion) -> Vec<PackageLink> {
        version_model::package_links(version)
    }

    fn max_part_bytes(rules: &ApplicationVersionRules) -> u64 {
        rules.max_package_bytes
    }

    fn provisioning_state(
        properties: &mut GalleryApplicationVersionProperties,
    ) -> &mut ProvisioningState {
        &mut properties.provisioning_state
    }

    fn publishing_profile(properties: &GalleryApplicationVersionProperties) -> &PublishingProfile {
        &properties.publishing_profile.shared
    }
}

/// GalleryApplicationVersions_CreateOrUpdate: `PUT …/applications/{a}/versions/{galleryApplicationVersionName}`.
pub async fn create_or_update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    published_versions::create_or_update::<ApplicationVersions>(app, request).await
}

/// GalleryApplicationVersions_Update: `PATCH …/applications/{a}/versions/{galleryApplicationVersionName}`.
pub async fn update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    published_versions::update::<ApplicationVersions>(app, request).await
}

/// GalleryApplicationVersions_Get, with `$expand=ReplicationStatus`.
pub async fn get(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    published_versions::get::<ApplicationVersions>(app, request).await
}

/// GalleryApplicationVersions_Delete: 202 while the workers remove every replica, then the version.
pub async fn delete(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    published_versions::delete::<ApplicationVersions>(app, request).await
}

/// GalleryApplicationVersions_ListByGalleryApplication: `GET …/applications/{a}/versions`.
pub async fn list_by_gallery_application(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    published_versions::list_by_definition::<ApplicationVersions>(app, request).await
}
