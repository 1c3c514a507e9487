//! Naming rules for resource groups, galleries, image definitions and their identifiers.
//!
//! Names are validated before any storage access (a bad name never reaches SQL). Names match
//! case-insensitively everywhere (ARM rule) but keep the casing they were created with; [`name_key`]
//! is the one lower-casing used for every lookup and uniqueness index.

use crate::ServiceError;

/// The key a name is looked up and compared by: ARM names are case-insensitive.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// ARM's generic rule for any resource name segment: no `< > % & : \ ? /`, no control characters,
/// at most 260 characters.
fn breaks_arm_generic_rule(name: &str) -> bool {
    name.is_empty()
        || name.chars().count() > 260
        || name
            .chars()
            .any(|character| character.is_control() || "<>%&:\\?/".contains(character))
}

/// Resource group names: 1-90 characters of letters, digits, `-`, `_`, `(`, `)` and `.`, not ending
/// with `.`.
pub fn validate_resource_group_name(name: &str) -> Result<(), ServiceError> {
    let valid = !name.is_empty()
        && name.chars().count() <= 90
        && !name.ends_with('.')
        && name
            .chars()
            .all(|character| character.is_alphanumeric() || "-_().".contains(character));
    if valid {
        Ok(())
    } else {
        Err(ServiceError::invalid_resource_group_name(name))
    }
}

/// Gallery names: 1-80 characters of letters, digits, `.` and `_`; starting and ending with a letter
/// or digit. Unique within the subscription (enforced by the store).
pub fn validate_gallery_name(name: &str) -> Result<(), ServiceError> {
    let bytes = name.as_bytes();
    let valid = !name.is_empty()
        && name.len() <= 80
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || *byte == b'.' || *byte == b'_')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric();
    if valid {
        Ok(())
    } else {
        Err(ServiceError::invalid_parameter(
            "galleryName",
            format!(
                "Gallery name '{name}' is invalid. Allowed characters are English alphanumeric characters, with \
                 underscores, and periods allowed in the middle, up to 80 characters total. All other special \
                 characters, including dashes, are disallowed."
            ),
        ))
    }
}

/// Image definition (and VM application) names: 1-80 characters of letters, digits, `_`, `-` and
/// `.`, starting with a letter or digit, not ending with `.` or `-`
/// (the spec's `^[^_\W][\w-._]{0,79}(?<![-.])$`).
pub fn validate_image_definition_name(name: &str) -> Result<(), ServiceError> {
    validate_gallery_child_name(name, "galleryImageName")
}

/// Names of a gallery's definitions (images, applications, scripts, in-VM access control
/// profiles): `^[^_\W][\w-._]{0,79}(?<![-.])$`; `parameter` is the path parameter errors name.
pub fn validate_gallery_child_name(name: &str, parameter: &str) -> Result<(), ServiceError> {
    let bytes = name.as_bytes();
    let valid = !name.is_empty()
        && name.len() <= 80
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || b"_-.".contains(byte))
        && bytes[0].is_ascii_alphanumeric()
        && !matches!(bytes[bytes.len() - 1], b'.' | b'-');
    if valid && !breaks_arm_generic_rule(name) {
        Ok(())
    } else {
        Err(ServiceError::invalid_parameter(
            parameter,
            format!(
                "The entity name '{name}' is invalid according to its validation rule: \
                 ^[^_\\W][\\w-._]{{0,79}}(?<![-.])$. Use 1 to 80 letters, digits, underscores, hyphens and \
                 periods, starting with a letter or digit and not ending with a period or hyphen."
            ),
        ))
    }
}

/// Publisher, offer and SKU of an image definition: letters, digits, `-`, `_` and `.`, not ending
/// with `.`, at most `max_length` characters (publisher 128, offer and sku 64).
pub fn validate_identifier_part(
    value: &str,
    target: &str,
    max_length: usize,
) -> Result<(), ServiceError> {
    let valid = !value.is_empty()
        && value.chars().count() <= max_length
        && value
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_.".contains(&byte))
        && !value.ends_with('.');
    if valid {
        return Ok(());
    }
    Err(ServiceError::invalid_parameter(
        target,
        format!(
            "Asset name {target} is not valid. It cannot be empty. Allowed characters are uppercase or lowercase \
             letters, digits, hyphen(-), period (.), underscore (_). Names are not allowed to end with period(.). \
             The length of the name cannot exceed {max_length} characters."
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn gallery_names() {
        for good in ["g", "my_gallery.1", "A1", &"a".repeat(80)] {
            assert!(validate_gallery_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "my-gallery",
            "_g",
            "g_",
            "g.",
            ".g",
            &"a".repeat(81),
            "gäl",
        ] {
            let error = validate_gallery_name(bad).unwrap_err();
            assert_eq!(
                (error.code.as_str(), error.target.as_deref()),
                ("InvalidParameter", Some("galleryName")),
                "{bad}"
            );
        }
    }

    #[test]
    fn image_definition_names() {
        for good in ["img", "my-image_1.0", "1", &"a".repeat(80), "a_"] {
            assert!(validate_image_definition_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-img",
            "_img",
            "img-",
            "img.",
            &"a".repeat(81),
            "im/g",
            "im g",
        ] {
            assert!(validate_image_definition_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resource_group_names() {
        for good in ["rg", "my-rg_(1).x", "ÄÖ", &"r".repeat(90)] {
            assert!(validate_resource_group_name(good).is_ok(), "{good}");
        }
        for bad in ["", "rg.", "r g", "r/g", &"r".repeat(91)] {
            assert_eq!(
                validate_resource_group_name(bad).unwrap_err().code,
                ErrorCode::InvalidResourceGroupName,
                "{bad}"
            );
        }
    }

    #[test]
    fn identifier_parts() {
        assert!(validate_identifier_part("Contoso-1.x_y", "p", 128).is_ok());
        assert!(validate_identifier_part("Contoso.", "p", 128).is_err());
        assert!(validate_identifier_part("", "p", 128).is_err());
        assert!(validate_identifier_part(&"a".repeat(65), "p", 64).is_err());
        assert!(validate_identifier_part("a b", "p", 64).is_err());
    }
}
