//! ARM tag rules: at most 50 tags, names up to 512 characters without `< > % & \ ? /`, values up to
//! 256 characters.

use std::collections::BTreeMap;

use crate::ErrorCode;
use crate::ServiceError;

/// Tags as served: a JSON object of strings.
pub type Tags = BTreeMap<String, String>;

/// The most tags one resource may carry.
pub const MAX_TAGS: usize = 50;
const MAX_NAME_LENGTH: usize = 512;
const MAX_VALUE_LENGTH: usize = 256;

/// Checks a tag set against ARM's limits.
pub fn validate(tags: &Tags) -> Result<(), ServiceError> {
    if tags.len() > MAX_TAGS {
        return Err(ServiceError::new(
            400,
            ErrorCode::InvalidTagCount,
            format!(
                "The resource has {} tags; at most {MAX_TAGS} tags are allowed per resource.",
                tags.len()
            ),
        )
        .with_target("tags"));
    }
    let mut seen_names = std::collections::HashSet::new();
    for (name, value) in tags {
        if name.is_empty() || name.chars().count() > MAX_NAME_LENGTH {
            return Err(ServiceError::new(
                400,
                ErrorCode::InvalidTagNameLength,
                format!(
                    "The tag name '{name}' must be between 1 and {MAX_NAME_LENGTH} characters long."
                ),
            )
            .with_target("tags"));
        }
        if name
            .chars()
            .any(|character| "<>%&\\?/".contains(character) || character.is_control())
        {
            return Err(ServiceError::new(
                400,
                ErrorCode::InvalidTagNameCharacters,
                format!("The tag names '{name}' have reserved characters '<,>,%,&,\\,?,/' or control characters."),
            )
            .with_target("tags"));
        }
        if value.chars().count() > MAX_VALUE_LENGTH {
            return Err(ServiceError::new(
                400,
                ErrorCode::InvalidTagValueLength,
                format!("The value of tag '{name}' is longer than {MAX_VALUE_LENGTH} characters."),
            )
            .with_target("tags"));
        }
        if !seen_names.insert(name.to_lowercase()) {
            return Err(ServiceError::new(
                400,
                ErrorCode::InvalidTagName,
                format!(
                    "The tag name '{name}' is given more than once; tag names are case-insensitive."
                ),
            )
            .with_target("tags"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn limits() {
        assert!(validate(&tags(&[("env", "prod")])).is_ok());
        let many: Tags = (0..51)
            .map(|index| (format!("t{index}"), String::new()))
            .collect();
        assert_eq!(
            validate(&many).unwrap_err().code,
            ErrorCode::InvalidTagCount
        );
        let fifty: Tags = (0..50)
            .map(|index| (format!("t{index}"), String::new()))
            .collect();
        assert!(validate(&fifty).is_ok());
        assert_eq!(
            validate(&tags(&[("a/b", "")])).unwrap_err().code,
            ErrorCode::InvalidTagNameCharacters
        );
        assert_eq!(
            validate(&tags(&[(&"n".repeat(513), "")])).unwrap_err().code,
            ErrorCode::InvalidTagNameLength
        );
        assert!(validate(&tags(&[(&"n".repeat(512), &"v".repeat(256))])).is_ok());
        assert_eq!(
            validate(&tags(&[("n", &"v".repeat(257))]))
                .unwrap_err()
                .code,
            ErrorCode::InvalidTagValueLength
        );
        assert_eq!(
            validate(&tags(&[("Env", ""), ("env", "")]))
                .unwrap_err()
                .code,
            ErrorCode::InvalidTagName
        );
    }
}
