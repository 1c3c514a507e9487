//! The ARM error codes galleryd answers with, spelled exactly as they go on the wire.
//!
//! Clients branch on `error.code`, so a code is a type, not a string: a misspelt code does not
//! compile, and every code galleryd can answer is listed here. The codes come from the specs (and
//! ARM's documented contract); the few whose real spelling is unverified are noted in
//! `docs/ARCHITECTURE.md`.

crate::string_enum! {
    /// An ARM error code (`{"error":{"code": …}}`).
    pub enum ErrorCode {
        // ----- 400: the request is wrong -----
        InvalidParameter = "InvalidParameter",
        InvalidRequestContent = "InvalidRequestContent",
        InvalidRequestUri = "InvalidRequestUri",
        MissingApiVersionParameter = "MissingApiVersionParameter",
        InvalidApiVersionParameter = "InvalidApiVersionParameter",
        NoRegisteredProviderFound = "NoRegisteredProviderFound",
        LocationRequired = "LocationRequired",
        LocationNotAvailableForResourceType = "LocationNotAvailableForResourceType",
        LocationNotAvailableForResourceGroup = "LocationNotAvailableForResourceGroup",
        InvalidResourceGroupLocation = "InvalidResourceGroupLocation",
        InvalidResourceName = "InvalidResourceName",
        InvalidResourceGroupName = "InvalidResourceGroupName",
        InvalidSkipToken = "InvalidSkipToken",
        InvalidQueryParameterValue = "InvalidQueryParameterValue",
        InvalidFilterInQueryString = "InvalidFilterInQueryString",
        LinkedInvalidPropertyId = "LinkedInvalidPropertyId",
        InvalidTagCount = "InvalidTagCount",
        InvalidTagName = "InvalidTagName",
        InvalidTagNameCharacters = "InvalidTagNameCharacters",
        InvalidTagNameLength = "InvalidTagNameLength",
        InvalidTagValueLength = "InvalidTagValueLength",
        MissingSubscription = "MissingSubscription",
        InvalidRoleDefinitionId = "InvalidRoleDefinitionId",
        InvalidPrincipalId = "InvalidPrincipalId",
        InvalidRoleAssignmentId = "InvalidRoleAssignmentId",
        PrincipalNotFound = "PrincipalNotFound",
        UnmatchedPrincipalType = "UnmatchedPrincipalType",
        RoleAssignmentUpdateNotPermitted = "RoleAssignmentUpdateNotPermitted",
        InvalidTemplate = "InvalidTemplate",
        InvalidTemplateDeployment = "InvalidTemplateDeployment",
        InvalidDeploymentParameterKeyVaultReference = "InvalidDeploymentParameterKeyVaultReference",
        DeploymentNameInvalidCharacters = "DeploymentNameInvalidCharacters",
        DeploymentNameLengthLimitExceeded = "DeploymentNameLengthLimitExceeded",
        PreflightValidationCheckFailed = "PreflightValidationCheckFailed",
        // ----- 401: the caller is not authenticated -----
        AuthenticationFailed = "AuthenticationFailed",
        InvalidAuthenticationToken = "InvalidAuthenticationToken",
        InvalidAuthenticationTokenAudience = "InvalidAuthenticationTokenAudience",
        ExpiredAuthenticationToken = "ExpiredAuthenticationToken",
        InvalidAuthenticationTokenTenant = "InvalidAuthenticationTokenTenant",
        // ----- 403: the caller may not -----
        AuthorizationFailed = "AuthorizationFailed",
        LinkedAuthorizationFailed = "LinkedAuthorizationFailed",
        // ----- 404: something is missing -----
        RoleDefinitionDoesNotExist = "RoleDefinitionDoesNotExist",
        RoleAssignmentNotFound = "RoleAssignmentNotFound",
        NotFound = "NotFound",
        SubscriptionNotFound = "SubscriptionNotFound",
        ResourceGroupNotFound = "ResourceGroupNotFound",
        ResourceNotFound = "ResourceNotFound",
        ParentResourceNotFound = "ParentResourceNotFound",
        InvalidResourceType = "InvalidResourceType",
        InvalidResourceNamespace = "InvalidResourceNamespace",
        OperationNotFound = "OperationNotFound",
        DeploymentNotFound = "DeploymentNotFound",
        DeploymentOperationNotFound = "DeploymentOperationNotFound",
        // ----- 405, 408, 409, 413, 429: the request cannot be done now or at all -----
        MethodNotAllowed = "MethodNotAllowed",
        RequestTimeout = "RequestTimeout",
        Conflict = "Conflict",
        RoleAssignmentExists = "RoleAssignmentExists",
        RoleDefinitionWithSameNameExists = "RoleDefinitionWithSameNameExists",
        PropertyChangeNotAllowed = "PropertyChangeNotAllowed",
        CannotDeleteResource = "CannotDeleteResource",
        InvalidResourceLocation = "InvalidResourceLocation",
        ResourceGroupBeingDeleted = "ResourceGroupBeingDeleted",
        OperationNotAllowed = "OperationNotAllowed",
        DeleteGalleryImageVersionBlockedBeforeEndOfLife = "DeleteGalleryImageVersionBlockedBeforeEndOfLife",
        RequestEntityTooLarge = "RequestEntityTooLarge",
        DeploymentActive = "DeploymentActive",
        SubscriptionRequestsThrottled = "SubscriptionRequestsThrottled",
        // ----- 5xx: galleryd failed -----
        InternalServerError = "InternalServerError",
        ServiceUnavailable = "ServiceUnavailable",
        // ----- the `error` of a failed or canceled async operation -----
        GalleryImageVersionReplicationFailed = "GalleryImageVersionReplicationFailed",
        GalleryApplicationVersionReplicationFailed = "GalleryApplicationVersionReplicationFailed",
        GalleryScriptVersionReplicationFailed = "GalleryScriptVersionReplicationFailed",
        InternalOperationError = "InternalOperationError",
        OperationCanceled = "OperationCanceled",
        OperationFailed = "OperationFailed",
        DeploymentFailed = "DeploymentFailed",
        DeploymentCanceled = "DeploymentCanceled",
        ResourceDeploymentFailure = "ResourceDeploymentFailure",
    }
}
