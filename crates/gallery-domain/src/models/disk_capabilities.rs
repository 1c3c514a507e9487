//! What a disk or snapshot says about the machine it boots: `securityProfile.securityType`
//! (Standard, Trusted launch, Confidential VM) and `supportedCapabilities.architecture` (x64,
//! Arm64). galleryd stores them as given (a copy inherits its source's), and the image version
//! rules compare them with the image definition a version of the disk is published into.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ServiceError;
use crate::models::common::from_value_at;
use crate::models::gallery_image::Architecture;

crate::string_enum! {
    /// `securityProfile.securityType` of a disk or snapshot (Azure's `DiskSecurityTypes`).
    pub enum DiskSecurityType {
        Standard = "Standard",
        TrustedLaunch = "TrustedLaunch",
        ConfidentialVmGuestStateOnlyEncryptedWithPlatformKey = "ConfidentialVM_VMGuestStateOnlyEncryptedWithPlatformKey",
        ConfidentialVmDiskEncryptedWithPlatformKey = "ConfidentialVM_DiskEncryptedWithPlatformKey",
        ConfidentialVmDiskEncryptedWithCustomerKey = "ConfidentialVM_DiskEncryptedWithCustomerKey",
        ConfidentialVmNonPersistedTpm = "ConfidentialVM_NonPersistedTPM",
    }
}

/// The kind of boot security a source was made for, whatever the spelling of its resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BootSecurity {
    Standard,
    TrustedLaunch,
    ConfidentialVm,
}

impl BootSecurity {
    /// The wire word, as messages name it.
    pub fn as_str(self) -> &'static str {
        match self {
            BootSecurity::Standard => "Standard",
            BootSecurity::TrustedLaunch => "TrustedLaunch",
            BootSecurity::ConfidentialVm => "ConfidentialVM",
        }
    }
}

impl DiskSecurityType {
    /// The boot security a disk of this type was made for.
    pub fn boot_security(self) -> BootSecurity {
        match self {
            DiskSecurityType::Standard => BootSecurity::Standard,
            DiskSecurityType::TrustedLaunch => BootSecurity::TrustedLaunch,
            _ => BootSecurity::ConfidentialVm,
        }
    }
}

/// `properties.securityProfile` of a disk or snapshot, as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiskSecurityProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_type: Option<DiskSecurityType>,
}

/// `properties.supportedCapabilities` of a disk or snapshot, as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportedCapabilities {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<Architecture>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecurityProfileInput {
    security_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CapabilitiesInput {
    architecture: Option<String>,
}

/// Parses a request's `securityProfile` (`target` is e.g. `snapshot.properties.securityProfile`).
pub fn parse_security_profile(
    value: Option<&Value>,
    target: &str,
) -> Result<Option<DiskSecurityProfile>, ServiceError> {
    let Some(value) = value.filter(|value| !value.is_null()) else {
        return Ok(None);
    };
    let input: SecurityProfileInput = from_value_at(value.clone(), target)?;
    let security_type = input
        .security_type
        .as_deref()
        .map(|value| DiskSecurityType::parse(value, &format!("{target}.securityType")))
        .transpose()?;
    Ok(Some(DiskSecurityProfile { security_type }))
}

/// Parses a request's `supportedCapabilities` (`target` is e.g.
/// `disk.properties.supportedCapabilities`).
pub fn parse_supported_capabilities(
    value: Option<&Value>,
    target: &str,
) -> Result<Option<SupportedCapabilities>, ServiceError> {
    let Some(value) = value.filter(|value| !value.is_null()) else {
        return Ok(None);
    };
    let input: CapabilitiesInput = from_value_at(value.clone(), target)?;
    let architecture = input
        .architecture
        .as_deref()
        .map(|value| Architecture::parse(value, &format!("{target}.architecture")))
        .transpose()?;
    Ok(Some(SupportedCapabilities { architecture }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn security_types_parse_and_group_into_boot_security() {
        let profile = parse_security_profile(
            Some(&json!({"securityType": "confidentialvm_diskencryptedwithplatformkey"})),
            "disk.properties.securityProfile",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            profile.security_type.unwrap().boot_security(),
            BootSecurity::ConfidentialVm
        );
        let error = parse_security_profile(
            Some(&json!({"securityType": "Fancy"})),
            "disk.properties.securityProfile",
        )
        .unwrap_err();
        assert_eq!(
            error.target.as_deref(),
            Some("disk.properties.securityProfile.securityType")
        );
        let capabilities = parse_supported_capabilities(
            Some(&json!({"architecture": "arm64"})),
            "disk.properties.supportedCapabilities",
        )
        .unwrap()
        .unwrap();
        assert_eq!(capabilities.architecture, Some(Architecture::Arm64));
    }
}
