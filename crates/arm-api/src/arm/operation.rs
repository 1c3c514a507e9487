//! The typed operation every ARM request is resolved to.
//!
//! Each variant is one ARM operation, named after its operationId in the spec. The operation tells
//! the pipeline which api-version family applies, which RBAC action it performs (the seam the
//! authorization step plugs into) and how logs and metrics name it.

use gallery_domain::api_version::ApiFamily;

use crate::arm::shaping::{Expansion, Selection};

macro_rules! operations {
    ($($variant:ident => ($name:literal, $family:ident, $action:literal, $type_name:literal)),+ $(,)?) => {
        /// One ARM operation galleryd serves.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum OperationId { $($variant),+ }

        impl OperationId {
            /// Every operation.
            pub const ALL: &'static [OperationId] = &[$(OperationId::$variant),+];

            /// The spec's operationId (`Galleries_CreateOrUpdate`).
            pub fn name(self) -> &'static str {
                match self { $(OperationId::$variant => $name),+ }
            }

            /// Which api-version list applies.
            pub fn family(self) -> ApiFamily {
                match self { $(OperationId::$variant => ApiFamily::$family),+ }
            }

            /// The RBAC action (`Microsoft.Compute/galleries/read`), for the authorization step.
            pub fn action(self) -> &'static str {
                match self { $(OperationId::$variant => $action),+ }
            }

            /// How api-version errors name the resource type.
            pub fn type_name(self) -> &'static str {
                match self { $(OperationId::$variant => $type_name),+ }
            }
        }
    };
}

operations! {
    SubscriptionsList => ("Subscriptions_List", ResourceManager, "Microsoft.Resources/subscriptions/read", "subscriptions"),
    SubscriptionsGet => ("Subscriptions_Get", ResourceManager, "Microsoft.Resources/subscriptions/read", "subscriptions"),
    SubscriptionsListLocations => ("Subscriptions_ListLocations", ResourceManager, "Microsoft.Resources/subscriptions/locations/read", "locations"),
    TenantsList => ("Tenants_List", ResourceManager, "Microsoft.Resources/tenants/read", "tenants"),
    ProvidersList => ("Providers_List", ResourceManager, "Microsoft.Resources/subscriptions/providers/read", "providers"),
    ProvidersGet => ("Providers_Get", ResourceManager, "Microsoft.Resources/subscriptions/providers/read", "providers"),
    ProvidersRegister => ("Providers_Register", ResourceManager, "Microsoft.Resources/subscriptions/providers/register/action", "providers"),
    ResourceGroupsList => ("ResourceGroups_List", ResourceManager, "Microsoft.Resources/subscriptions/resourceGroups/read", "resourceGroups"),
    ResourceGroupsCreateOrUpdate => ("ResourceGroups_CreateOrUpdate", ResourceManager, "Microsoft.Resources/subscriptions/resourceGroups/write", "resourceGroups"),
    ResourceGroupsGet => ("ResourceGroups_Get", ResourceManager, "Microsoft.Resources/subscriptions/resourceGroups/read", "resourceGroups"),
    ResourceGroupsCheckExistence => ("ResourceGroups_CheckExistence", ResourceManager, "Microsoft.Resources/subscriptions/resourceGroups/read", "resourceGroups"),
    ResourceGroupsUpdate => ("ResourceGroups_Update", ResourceManager, "Microsoft.Resources/subscriptions/resourceGroups/write", "resourceGroups"),
    ResourceGroupsDelete => ("ResourceGroups_Delete", ResourceManager, "Microsoft.Resources/subscriptions/resourceGroups/delete", "resourceGroups"),
    OperationResultsGet => ("OperationResults_Get", ResourceManager, "Microsoft.Resources/subscriptions/operationresults/read", "operationresults"),
    GalleriesList => ("Galleries_List", ComputeGallery, "Microsoft.Compute/galleries/read", "galleries"),
    GalleriesListByResourceGroup => ("Galleries_ListByResourceGroup", ComputeGallery, "Microsoft.Compute/galleries/read", "galleries"),
    GalleriesCreateOrUpdate => ("Galleries_CreateOrUpdate", ComputeGallery, "Microsoft.Compute/galleries/write", "galleries"),
    GalleriesUpdate => ("Galleries_Update", ComputeGallery, "Microsoft.Compute/galleries/write", "galleries"),
    GalleriesGet => ("Galleries_Get", ComputeGallery, "Microsoft.Compute/galleries/read", "galleries"),
    GalleriesDelete => ("Galleries_Delete", ComputeGallery, "Microsoft.Compute/galleries/delete", "galleries"),
    GalleryImagesListByGallery => ("GalleryImages_ListByGallery", ComputeGallery, "Microsoft.Compute/galleries/images/read", "galleries/images"),
    GalleryImagesCreateOrUpdate => ("GalleryImages_CreateOrUpdate", ComputeGallery, "Microsoft.Compute/galleries/images/write", "galleries/images"),
    GalleryImagesUpdate => ("GalleryImages_Update", ComputeGallery, "Microsoft.Compute/galleries/images/write", "galleries/images"),
    GalleryImagesGet => ("GalleryImages_Get", ComputeGallery, "Microsoft.Compute/galleries/images/read", "galleries/images"),
    GalleryImagesDelete => ("GalleryImages_Delete", ComputeGallery, "Microsoft.Compute/galleries/images/delete", "galleries/images"),
    GalleryImageVersionsListByGalleryImage => ("GalleryImageVersions_ListByGalleryImage", ComputeGallery, "Microsoft.Compute/galleries/images/versions/read", "galleries/images/versions"),
    GalleryImageVersionsCreateOrUpdate => ("GalleryImageVersions_CreateOrUpdate", ComputeGallery, "Microsoft.Compute/galleries/images/versions/write", "galleries/images/versions"),
    GalleryImageVersionsUpdate => ("GalleryImageVersions_Update", ComputeGallery, "Microsoft.Compute/galleries/images/versions/write", "galleries/images/versions"),
    GalleryImageVersionsGet => ("GalleryImageVersions_Get", ComputeGallery, "Microsoft.Compute/galleries/images/versions/read", "galleries/images/versions"),
    GalleryImageVersionsDelete => ("GalleryImageVersions_Delete", ComputeGallery, "Microsoft.Compute/galleries/images/versions/delete", "galleries/images/versions"),
    GalleryApplicationsListByGallery => ("GalleryApplications_ListByGallery", ComputeGallery, "Microsoft.Compute/galleries/applications/read", "galleries/applications"),
    GalleryApplicationsCreateOrUpdate => ("GalleryApplications_CreateOrUpdate", ComputeGallery, "Microsoft.Compute/galleries/applications/write", "galleries/applications"),
    GalleryApplicationsUpdate => ("GalleryApplications_Update", ComputeGallery, "Microsoft.Compute/galleries/applications/write", "galleries/applications"),
    GalleryApplicationsGet => ("GalleryApplications_Get", ComputeGallery, "Microsoft.Compute/galleries/applications/read", "galleries/applications"),
    GalleryApplicationsDelete => ("GalleryApplications_Delete", ComputeGallery, "Microsoft.Compute/galleries/applications/delete", "galleries/applications"),
    GalleryApplicationVersionsListByGalleryApplication => ("GalleryApplicationVersions_ListByGalleryApplication", ComputeGallery, "Microsoft.Compute/galleries/applications/versions/read", "galleries/applications/versions"),
    GalleryApplicationVersionsCreateOrUpdate => ("GalleryApplicationVersions_CreateOrUpdate", ComputeGallery, "Microsoft.Compute/galleries/applications/versions/write", "galleries/applications/versions"),
    GalleryApplicationVersionsUpdate => ("GalleryApplicationVersions_Update", ComputeGallery, "Microsoft.Compute/galleries/applications/versions/write", "galleries/applications/versions"),
    GalleryApplicationVersionsGet => ("GalleryApplicationVersions_Get", ComputeGallery, "Microsoft.Compute/galleries/applications/versions/read", "galleries/applications/versions"),
    GalleryApplicationVersionsDelete => ("GalleryApplicationVersions_Delete", ComputeGallery, "Microsoft.Compute/galleries/applications/versions/delete", "galleries/applications/versions"),
    GalleryScriptsListByGallery => ("GalleryScripts_ListByGallery", ComputeGallery, "Microsoft.Compute/galleries/scripts/read", "galleries/scripts"),
    GalleryScriptsCreateOrUpdate => ("GalleryScripts_CreateOrUpdate", ComputeGallery, "Microsoft.Compute/galleries/scripts/write", "galleries/scripts"),
    GalleryScriptsUpdate => ("GalleryScripts_Update", ComputeGallery, "Microsoft.Compute/galleries/scripts/write", "galleries/scripts"),
    GalleryScriptsGet => ("GalleryScripts_Get", ComputeGallery, "Microsoft.Compute/galleries/scripts/read", "galleries/scripts"),
    GalleryScriptsDelete => ("GalleryScripts_Delete", ComputeGallery, "Microsoft.Compute/galleries/scripts/delete", "galleries/scripts"),
    GalleryScriptVersionsListByGalleryScript => ("GalleryScriptVersions_ListByGalleryScript", ComputeGallery, "Microsoft.Compute/galleries/scripts/versions/read", "galleries/scripts/versions"),
    GalleryScriptVersionsCreateOrUpdate => ("GalleryScriptVersions_CreateOrUpdate", ComputeGallery, "Microsoft.Compute/galleries/scripts/versions/write", "galleries/scripts/versions"),
    GalleryScriptVersionsUpdate => ("GalleryScriptVersions_Update", ComputeGallery, "Microsoft.Compute/galleries/scripts/versions/write", "galleries/scripts/versions"),
    GalleryScriptVersionsGet => ("GalleryScriptVersions_Get", ComputeGallery, "Microsoft.Compute/galleries/scripts/versions/read", "galleries/scripts/versions"),
    GalleryScriptVersionsDelete => ("GalleryScriptVersions_Delete", ComputeGallery, "Microsoft.Compute/galleries/scripts/versions/delete", "galleries/scripts/versions"),
    CapsOperationsGet => ("CapsOperations_Get", ComputeGallery, "Microsoft.Compute/locations/capsOperations/read", "locations/capsOperations"),
    DisksList => ("Disks_List", ComputeDisk, "Microsoft.Compute/disks/read", "disks"),
    DisksListByResourceGroup => ("Disks_ListByResourceGroup", ComputeDisk, "Microsoft.Compute/disks/read", "disks"),
    DisksCreateOrUpdate => ("Disks_CreateOrUpdate", ComputeDisk, "Microsoft.Compute/disks/write", "disks"),
    DisksUpdate => ("Disks_Update", ComputeDisk, "Microsoft.Compute/disks/write", "disks"),
    DisksGet => ("Disks_Get", ComputeDisk, "Microsoft.Compute/disks/read", "disks"),
    DisksDelete => ("Disks_Delete", ComputeDisk, "Microsoft.Compute/disks/delete", "disks"),
    DisksGrantAccess => ("Disks_GrantAccess", ComputeDisk, "Microsoft.Compute/disks/beginGetAccess/action", "disks"),
    DisksRevokeAccess => ("Disks_RevokeAccess", ComputeDisk, "Microsoft.Compute/disks/endGetAccess/action", "disks"),
    SnapshotsList => ("Snapshots_List", ComputeDisk, "Microsoft.Compute/snapshots/read", "snapshots"),
    SnapshotsListByResourceGroup => ("Snapshots_ListByResourceGroup", ComputeDisk, "Microsoft.Compute/snapshots/read", "snapshots"),
    SnapshotsCreateOrUpdate => ("Snapshots_CreateOrUpdate", ComputeDisk, "Microsoft.Compute/snapshots/write", "snapshots"),
    SnapshotsUpdate => ("Snapshots_Update", ComputeDisk, "Microsoft.Compute/snapshots/write", "snapshots"),
    SnapshotsGet => ("Snapshots_Get", ComputeDisk, "Microsoft.Compute/snapshots/read", "snapshots"),
    SnapshotsDelete => ("Snapshots_Delete", ComputeDisk, "Microsoft.Compute/snapshots/delete", "snapshots"),
    SnapshotsGrantAccess => ("Snapshots_GrantAccess", ComputeDisk, "Microsoft.Compute/snapshots/beginGetAccess/action", "snapshots"),
    SnapshotsRevokeAccess => ("Snapshots_RevokeAccess", ComputeDisk, "Microsoft.Compute/snapshots/endGetAccess/action", "snapshots"),
    ImagesList => ("Images_List", ComputeResource, "Microsoft.Compute/images/read", "images"),
    ImagesListByResourceGroup => ("Images_ListByResourceGroup", ComputeResource, "Microsoft.Compute/images/read", "images"),
    ImagesCreateOrUpdate => ("Images_CreateOrUpdate", ComputeResource, "Microsoft.Compute/images/write", "images"),
    ImagesUpdate => ("Images_Update", ComputeResource, "Microsoft.Compute/images/write", "images"),
    ImagesGet => ("Images_Get", ComputeResource, "Microsoft.Compute/images/read", "images"),
    ImagesDelete => ("Images_Delete", ComputeResource, "Microsoft.Compute/images/delete", "images"),
    RoleAssignmentsListForScope => ("RoleAssignments_ListForScope", Authorization, "Microsoft.Authorization/roleAssignments/read", "roleAssignments"),
    RoleAssignmentsCreate => ("RoleAssignments_Create", Authorization, "Microsoft.Authorization/roleAssignments/write", "roleAssignments"),
    RoleAssignmentsGet => ("RoleAssignments_Get", Authorization, "Microsoft.Authorization/roleAssignments/read", "roleAssignments"),
    RoleAssignmentsDelete => ("RoleAssignments_Delete", Authorization, "Microsoft.Authorization/roleAssignments/delete", "roleAssignments"),
    RoleDefinitionsList => ("RoleDefinitions_List", Authorization, "Microsoft.Authorization/roleDefinitions/read", "roleDefinitions"),
    RoleDefinitionsGet => ("RoleDefinitions_Get", Authorization, "Microsoft.Authorization/roleDefinitions/read", "roleDefinitions"),
    RoleDefinitionsCreateOrUpdate => ("RoleDefinitions_CreateOrUpdate", Authorization, "Microsoft.Authorization/roleDefinitions/write", "roleDefinitions"),
    RoleDefinitionsDelete => ("RoleDefinitions_Delete", Authorization, "Microsoft.Authorization/roleDefinitions/delete", "roleDefinitions"),
    // ----- template deployments (Microsoft.Resources/deployments) -----
    DeploymentsCreateOrUpdate => ("Deployments_CreateOrUpdate", ResourceManager, "Microsoft.Resources/deployments/write", "deployments"),
    DeploymentsGet => ("Deployments_Get", ResourceManager, "Microsoft.Resources/deployments/read", "deployments"),
    DeploymentsCheckExistence => ("Deployments_CheckExistence", ResourceManager, "Microsoft.Resources/deployments/read", "deployments"),
    DeploymentsDelete => ("Deployments_Delete", ResourceManager, "Microsoft.Resources/deployments/delete", "deployments"),
    DeploymentsListByResourceGroup => ("Deployments_ListByResourceGroup", ResourceManager, "Microsoft.Resources/deployments/read", "deployments"),
    DeploymentsValidate => ("Deployments_Validate", ResourceManager, "Microsoft.Resources/deployments/validate/action", "deployments"),
    DeploymentsCancel => ("Deployments_Cancel", ResourceManager, "Microsoft.Resources/deployments/cancel/action", "deployments"),
    DeploymentsExportTemplate => ("Deployments_ExportTemplate", ResourceManager, "Microsoft.Resources/deployments/exportTemplate/action", "deployments"),
    DeploymentOperationStatusesGet => ("DeploymentOperationStatuses_Get", ResourceManager, "Microsoft.Resources/deployments/operationStatuses/read", "deployments/operationStatuses"),
    DeploymentOperationsList => ("DeploymentOperations_ListByResourceGroup", ResourceManager, "Microsoft.Resources/deployments/operations/read", "deployments/operations"),
    DeploymentOperationsGet => ("DeploymentOperations_GetAtResourceGroup", ResourceManager, "Microsoft.Resources/deployments/operations/read", "deployments/operations"),
    DeploymentsWhatIf => ("Deployments_WhatIf", ResourceManager, "Microsoft.Resources/deployments/whatIf/action", "deployments"),
    DeploymentsWhatIfAtSubscriptionScope => ("Deployments_WhatIfAtSubscriptionScope", ResourceManager, "Microsoft.Resources/deployments/whatIf/action", "deployments"),
    DeploymentsCreateOrUpdateAtSubscriptionScope => ("Deployments_CreateOrUpdateAtSubscriptionScope", ResourceManager, "Microsoft.Resources/deployments/write", "deployments"),
    DeploymentsGetAtSubscriptionScope => ("Deployments_GetAtSubscriptionScope", ResourceManager, "Microsoft.Resources/deployments/read", "deployments"),
    DeploymentsCheckExistenceAtSubscriptionScope => ("Deployments_CheckExistenceAtSubscriptionScope", ResourceManager, "Microsoft.Resources/deployments/read", "deployments"),
    DeploymentsDeleteAtSubscriptionScope => ("Deployments_DeleteAtSubscriptionScope", ResourceManager, "Microsoft.Resources/deployments/delete", "deployments"),
    DeploymentsListAtSubscriptionScope => ("Deployments_ListAtSubscriptionScope", ResourceManager, "Microsoft.Resources/deployments/read", "deployments"),
    DeploymentsValidateAtSubscriptionScope => ("Deployments_ValidateAtSubscriptionScope", ResourceManager, "Microsoft.Resources/deployments/validate/action", "deployments"),
    DeploymentsCancelAtSubscriptionScope => ("Deployments_CancelAtSubscriptionScope", ResourceManager, "Microsoft.Resources/deployments/cancel/action", "deployments"),
    DeploymentsExportTemplateAtSubscriptionScope => ("Deployments_ExportTemplateAtSubscriptionScope", ResourceManager, "Microsoft.Resources/deployments/exportTemplate/action", "deployments"),
    DeploymentOperationStatusesGetAtSubscriptionScope => ("DeploymentOperationStatuses_GetAtSubscriptionScope", ResourceManager, "Microsoft.Resources/deployments/operationStatuses/read", "deployments/operationStatuses"),
    DeploymentOperationsListAtSubscriptionScope => ("DeploymentOperations_ListAtSubscriptionScope", ResourceManager, "Microsoft.Resources/deployments/operations/read", "deployments/operations"),
    DeploymentOperationsGetAtSubscriptionScope => ("DeploymentOperations_GetAtSubscriptionScope", ResourceManager, "Microsoft.Resources/deployments/operations/read", "deployments/operations"),
}

impl OperationId {
    /// The `$expand` values the operation serves (none: it ignores `$expand`).
    pub fn expansions(self) -> &'static [Expansion] {
        match self {
            OperationId::GalleriesGet => &[Expansion::SharingProfileGroups],
            OperationId::GalleryApplicationVersionsGet => &[Expansion::ReplicationStatus],
            OperationId::GalleryScriptVersionsGet => &[Expansion::ReplicationStatus],
            OperationId::GalleryImageVersionsGet => &[
                Expansion::ReplicationStatus,
                Expansion::UefiSettings,
                Expansion::ValidationProfile,
            ],
            _ => &[],
        }
    }

    /// The `$select` values the operation serves (none: it ignores `$select`).
    pub fn selections(self) -> &'static [Selection] {
        match self {
            OperationId::GalleriesGet => &[Selection::Permissions],
            _ => &[],
        }
    }
}
