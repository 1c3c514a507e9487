//! Whether a source fits its image definition: every rule of the family, each with the case that
//! passes beside the case that fails.

use super::*;
use crate::models::disk_capabilities::BootSecurity;
use crate::models::gallery_image::{
    Architecture, GalleryImageFeature, GalleryImageIdentifier, GalleryImageProperties,
    HyperVGeneration, OperatingSystemState, OperatingSystemType,
};

const SOURCE: &str = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/snapshots/os";
const TARGET: &str = "galleryImageVersion.properties.storageProfile.osDiskImage.source.id";

fn definition(generation: HyperVGeneration, security: Option<&str>) -> GalleryImageProperties {
    GalleryImageProperties {
        description: None,
        eula: None,
        privacy_statement_uri: None,
        release_note_uri: None,
        os_type: OperatingSystemType::Linux,
        os_state: OperatingSystemState::Generalized,
        hyper_v_generation: generation,
        end_of_life_date: None,
        identifier: GalleryImageIdentifier {
            publisher: "p".to_string(),
            offer: "o".to_string(),
            sku: "s".to_string(),
        },
        recommended: None,
        disallowed: None,
        purchase_plan: None,
        provisioning_state: ProvisioningState::Succeeded,
        features: security.map(|value| {
            vec![GalleryImageFeature {
                name: "SecurityType".to_string(),
                value: value.to_string(),
                starts_at_version: None,
            }]
        }),
        architecture: Architecture::X64,
    }
}

fn fits(source: SourceTraits, definition: &GalleryImageProperties) -> Result<(), String> {
    check_source_fits_definition(SOURCE, TARGET, &source, definition).map_err(|error| {
        assert_eq!(error.status, 409);
        assert_eq!(error.code.as_str(), "Conflict");
        assert_eq!(error.target.as_deref(), Some(TARGET));
        error.message
    })
}

fn generation(generation: HyperVGeneration) -> SourceTraits {
    SourceTraits {
        hyper_v_generation: Some(generation),
        ..SourceTraits::default()
    }
}

#[test]
fn the_hyper_v_generation_must_match_and_an_unset_one_is_v1() {
    let v2 = definition(HyperVGeneration::V2, Some("TrustedLaunchSupported"));
    let v1 = definition(HyperVGeneration::V1, None);
    assert!(fits(generation(HyperVGeneration::V2), &v2).is_ok());
    assert!(fits(generation(HyperVGeneration::V1), &v1).is_ok());
    assert!(fits(SourceTraits::default(), &v1).is_ok());
    assert_eq!(
        fits(generation(HyperVGeneration::V1), &v2).unwrap_err(),
        format!(
            "The resource with id '{SOURCE}' has a different Hypervisor generation ['V1'] than the parent \
             gallery image Hypervisor generation ['V2']."
        )
    );
    assert!(
        fits(SourceTraits::default(), &v2)
            .unwrap_err()
            .contains("['V1']")
    );
    assert!(
        fits(generation(HyperVGeneration::V2), &v1)
            .unwrap_err()
            .contains("['V2'] than")
    );
}

#[test]
fn the_os_type_and_state_must_match_where_the_source_says() {
    let linux = definition(HyperVGeneration::V1, None);
    let windows = SourceTraits {
        os_type: Some(OperatingSystemType::Windows),
        ..SourceTraits::default()
    };
    assert!(
        fits(windows, &linux)
            .unwrap_err()
            .contains("has a different OS type ['Windows'] than the parent gallery image OS type generation ['Linux']")
    );
    let mut specialized = linux.clone();
    specialized.os_state = OperatingSystemState::Specialized;
    let generalized_linux = SourceTraits {
        os_type: Some(OperatingSystemType::Linux),
        os_state: Some(OperatingSystemState::Generalized),
        ..SourceTraits::default()
    };
    assert!(fits(generalized_linux, &linux).is_ok());
    assert_eq!(
        fits(generalized_linux, &specialized).unwrap_err(),
        format!(
            "Cannot create Gallery Image Version from: {SOURCE} since the OS State in the parent gallery image \
             (Specialized) is not Generalized."
        )
    );
}

#[test]
fn boot_security_fits_only_definitions_that_support_it() {
    let with = |security: BootSecurity| SourceTraits {
        hyper_v_generation: Some(HyperVGeneration::V2),
        boot_security: Some(security),
        ..SourceTraits::default()
    };
    for (definition_security, standard, trusted, confidential) in [
        (None, true, false, false),
        (Some("Standard"), true, false, false),
        (Some("TrustedLaunch"), true, true, false),
        (Some("TrustedLaunchSupported"), true, true, false),
        (Some("ConfidentialVM"), true, false, true),
        (Some("ConfidentialVMSupported"), true, false, true),
        (
            Some("TrustedLaunchAndConfidentialVmSupported"),
            true,
            true,
            true,
        ),
    ] {
        let definition = definition(HyperVGeneration::V2, definition_security);
        assert_eq!(
            fits(with(BootSecurity::Standard), &definition).is_ok(),
            standard,
            "{definition_security:?}"
        );
        assert_eq!(
            fits(with(BootSecurity::TrustedLaunch), &definition).is_ok(),
            trusted,
            "{definition_security:?}"
        );
        assert_eq!(
            fits(with(BootSecurity::ConfidentialVm), &definition).is_ok(),
            confidential,
            "{definition_security:?}"
        );
    }
    assert!(
        fits(with(BootSecurity::TrustedLaunch), &definition(HyperVGeneration::V2, None))
            .unwrap_err()
            .contains("has a different security type ['TrustedLaunch'] than the parent gallery image security type ['Standard']")
    );
}

#[test]
fn the_architecture_must_match_where_the_source_says() {
    let arm = SourceTraits {
        hyper_v_generation: Some(HyperVGeneration::V2),
        architecture: Some(Architecture::Arm64),
        ..SourceTraits::default()
    };
    let x64 = definition(HyperVGeneration::V2, None);
    assert!(fits(arm, &x64).unwrap_err().contains(
        "has a different architecture ['Arm64'] than the parent gallery image architecture ['x64']"
    ));
    let mut arm_definition = x64.clone();
    arm_definition.architecture = Architecture::Arm64;
    assert!(fits(arm, &arm_definition).is_ok());
}

#[test]
fn a_version_source_brings_its_definitions_traits() {
    let trusted = definition(HyperVGeneration::V2, Some("TrustedLaunch"));
    let traits = SourceTraits::of_definition(&trusted);
    assert_eq!(traits.boot_security, Some(BootSecurity::TrustedLaunch));
    assert!(
        fits(
            traits,
            &definition(HyperVGeneration::V2, Some("TrustedLaunchSupported"))
        )
        .is_ok()
    );
    assert!(fits(traits, &definition(HyperVGeneration::V2, Some("Standard"))).is_err());
    let supported = SourceTraits::of_definition(&definition(
        HyperVGeneration::V2,
        Some("TrustedLaunchSupported"),
    ));
    assert_eq!(supported.boot_security, Some(BootSecurity::Standard));
}
