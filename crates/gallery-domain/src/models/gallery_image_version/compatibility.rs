//! Whether a source fits the image definition a version of it is published into: Hyper-V
//! generation, OS type, OS state, boot security (Trusted launch, Confidential VM) and architecture,
//! as Azure checks them (409 `Conflict`, Azure's messages from its troubleshooting guide for
//! gallery images).
//!
//! What each source kind can tell (the caller reads it into [`SourceTraits`]):
//! - a managed image: OS type and state (`storageProfile.osDisk`), Hyper-V generation (`V1` when
//!   not given); managed images cannot be Trusted launch or Confidential, so they are Standard;
//! - a snapshot or disk: OS type, Hyper-V generation, `securityProfile.securityType` and
//!   `supportedCapabilities.architecture` when set. A disk or snapshot without `hyperVGeneration`
//!   is a generation 1 disk, as Azure's compute treats it; one without an OS type, security type
//!   or architecture is not checked for them. Disks carry no OS state;
//! - another gallery image version: everything its own image definition says;
//! - a VHD blob (`source.uri`): nothing (a page blob carries no metadata, so Azure has nothing to
//!   check and takes the definition's word).
//!
//! Only the OS disk's source is checked: the definition's OS type, OS state, generation, security
//! type and architecture describe the disk a VM boots from, and a data disk boots nothing.
//!
//! Boot security: a Trusted launch source fits definitions whose `SecurityType` feature is
//! `TrustedLaunch`, `TrustedLaunchSupported` or `TrustedLaunchAndConfidentialVmSupported`; a
//! Confidential VM source fits `ConfidentialVM`, `ConfidentialVMSupported` or
//! `TrustedLaunchAndConfidentialVmSupported`; a Standard source fits every definition (a
//! `…Supported` definition takes both kinds; a generation 2 Standard source can be launched as
//! Trusted launch). The message for a security or architecture mismatch is written in the family's
//! style; Azure's exact wording for them is not documented.

use crate::ErrorCode;
use crate::ServiceError;
use crate::models::disk_capabilities::BootSecurity;
use crate::models::gallery_image::{
    Architecture, GalleryImageProperties, HyperVGeneration, OperatingSystemState,
    OperatingSystemType, SecurityType,
};

/// What a source says about the machine it boots; `None` where the source does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SourceTraits {
    pub os_type: Option<OperatingSystemType>,
    pub os_state: Option<OperatingSystemState>,
    pub hyper_v_generation: Option<HyperVGeneration>,
    pub boot_security: Option<BootSecurity>,
    pub architecture: Option<Architecture>,
}

impl SourceTraits {
    /// What a version made from another gallery image version inherits: everything the source
    /// version's image definition says.
    pub fn of_definition(definition: &GalleryImageProperties) -> SourceTraits {
        let security = definition_security(definition);
        SourceTraits {
            os_type: Some(definition.os_type),
            os_state: Some(definition.os_state),
            hyper_v_generation: Some(definition.hyper_v_generation),
            boot_security: Some(match security {
                SecurityType::TrustedLaunch => BootSecurity::TrustedLaunch,
                SecurityType::ConfidentialVm => BootSecurity::ConfidentialVm,
                _ => BootSecurity::Standard,
            }),
            architecture: Some(definition.architecture),
        }
    }
}

/// The `SecurityType` feature of a definition (`Standard` without one).
fn definition_security(definition: &GalleryImageProperties) -> SecurityType {
    definition
        .features
        .iter()
        .flatten()
        .find(|feature| feature.name.eq_ignore_ascii_case("SecurityType"))
        .and_then(|feature| SecurityType::from_wire(&feature.value))
        .unwrap_or(SecurityType::Standard)
}

fn conflict(message: String, target: &str) -> ServiceError {
    ServiceError::new(409, ErrorCode::Conflict, message).with_target(target)
}

fn security_fits(source: BootSecurity, definition: SecurityType) -> bool {
    match source {
        BootSecurity::Standard => true,
        BootSecurity::TrustedLaunch => matches!(
            definition,
            SecurityType::TrustedLaunch
                | SecurityType::TrustedLaunchSupported
                | SecurityType::TrustedLaunchAndConfidentialVmSupported
        ),
        BootSecurity::ConfidentialVm => matches!(
            definition,
            SecurityType::ConfidentialVm
                | SecurityType::ConfidentialVmSupported
                | SecurityType::TrustedLaunchAndConfidentialVmSupported
        ),
    }
}

/// Checks the OS disk's source (`source_id` as the request names it, `target` its property path)
/// against the definition. 409 `Conflict` with Azure's message on the first mismatch, in the order
/// Hyper-V generation, OS type, OS state, boot security, architecture.
pub fn check_source_fits_definition(
    source_id: &str,
    target: &str,
    source: &SourceTraits,
    definition: &GalleryImageProperties,
) -> Result<(), ServiceError> {
    let generation = source.hyper_v_generation.unwrap_or(HyperVGeneration::V1);
    if generation != definition.hyper_v_generation {
        return Err(conflict(
            format!(
                "The resource with id '{source_id}' has a different Hypervisor generation ['{generation}'] than \
                 the parent gallery image Hypervisor generation ['{}'].",
                definition.hyper_v_generation
            ),
            target,
        ));
    }
    if let Some(os_type) = source.os_type
        && os_type != definition.os_type
    {
        return Err(conflict(
            format!(
                "The resource with id '{source_id}' has a different OS type ['{os_type}'] than the parent \
                 gallery image OS type generation ['{}'].",
                definition.os_type
            ),
            target,
        ));
    }
    if let Some(os_state) = source.os_state
        && os_state != definition.os_state
    {
        return Err(conflict(
            format!(
                "Cannot create Gallery Image Version from: {source_id} since the OS State in the parent gallery \
                 image ({}) is not {os_state}.",
                definition.os_state
            ),
            target,
        ));
    }
    let security = definition_security(definition);
    if let Some(boot_security) = source.boot_security
        && !security_fits(boot_security, security)
    {
        return Err(conflict(
            format!(
                "The resource with id '{source_id}' has a different security type ['{}'] than the parent \
                 gallery image security type ['{security}']. A {} source needs an image definition whose \
                 SecurityType feature supports it.",
                boot_security.as_str(),
                boot_security.as_str()
            ),
            target,
        ));
    }
    if let Some(architecture) = source.architecture
        && architecture != definition.architecture
    {
        return Err(conflict(
            format!(
                "The resource with id '{source_id}' has a different architecture ['{architecture}'] than the \
                 parent gallery image architecture ['{}'].",
                definition.architecture
            ),
            target,
        ));
    }
    Ok(())
}
