//! Image version names: `Major.Minor.Patch`, three 32-bit integers.
//!
//! An image version's name is also its version number: "latest" is the highest name, compared part by
//! part as numbers (`1.10.0` is newer than `1.9.0`). Azure documents each part as a 32-bit integer
//! (0 to 2,147,483,647). [`VersionName`] is the parsed form; parsing is strict about everything else
//! (signs, spaces, empty or extra parts) so that a name galleryd accepts is one Azure accepts too.
//! Leading zeros are accepted (Azure parses each part as an integer), so `01.0.0` and `1.0.0` are two
//! resources with equal version numbers.

use std::fmt;
use std::str::FromStr;

use crate::ServiceError;

/// The parameter an invalid version name is reported on.
pub const VERSION_NAME_PARAMETER: &str = "galleryImageVersionName";

/// The largest value of one part: `i32::MAX`, Azure's 32-bit integer.
pub const MAX_PART: u32 = i32::MAX as u32;

/// A parsed image version name. Ordered by major, then minor, then patch, numerically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VersionName {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl VersionName {
    /// Parses `Major.Minor.Patch`. Anything else is a 400 `InvalidParameter` on
    /// `galleryImageVersionName`.
    pub fn parse(name: &str) -> Result<Self, ServiceError> {
        let mut parts = name.split('.');
        let mut next_part = || parts.next().and_then(parse_part);
        let (Some(major), Some(minor), Some(patch)) = (next_part(), next_part(), next_part())
        else {
            return Err(invalid_version_name());
        };
        if parts.next().is_some() {
            return Err(invalid_version_name());
        }
        Ok(VersionName {
            major,
            minor,
            patch,
        })
    }
}

/// One part: ASCII digits only (no sign, no spaces), at most `i32::MAX`.
fn parse_part(part: &str) -> Option<u32> {
    if part.is_empty() || !part.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let digits = part.trim_start_matches('0');
    if digits.len() > 10 {
        return None;
    }
    let value: u64 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    u32::try_from(value).ok().filter(|value| *value <= MAX_PART)
}

/// 400 `InvalidParameter` for a version name that is not `Major(int32).Minor(int32).Patch(int32)`.
pub fn invalid_version_name() -> ServiceError {
    ServiceError::invalid_parameter(
        VERSION_NAME_PARAMETER,
        "The image version name is invalid. The image version name should follow \
         Major(int32).Minor(int32).Patch(int32) format, e.g: 1.0.0, 2018.12.1 etc.",
    )
}

impl FromStr for VersionName {
    type Err = ServiceError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        VersionName::parse(name)
    }
}

impl fmt::Display for VersionName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn version(major: u32, minor: u32, patch: u32) -> VersionName {
        VersionName {
            major,
            minor,
            patch,
        }
    }

    #[test]
    fn valid_names_parse() {
        assert_eq!(VersionName::parse("1.0.0").unwrap(), version(1, 0, 0));
        assert_eq!(
            VersionName::parse("2018.12.1").unwrap(),
            version(2018, 12, 1)
        );
        assert_eq!(
            VersionName::parse("2147483647.2147483647.2147483647").unwrap(),
            version(MAX_PART, MAX_PART, MAX_PART)
        );
        assert_eq!(VersionName::parse("0.0.0").unwrap(), version(0, 0, 0));
        assert_eq!(VersionName::parse("01.002.0").unwrap(), version(1, 2, 0));
        assert_eq!(
            VersionName::parse("0000000000001.0.0").unwrap(),
            version(1, 0, 0)
        );
        assert_eq!("3.2.1".parse::<VersionName>().unwrap(), version(3, 2, 1));
    }

    #[test]
    fn invalid_names_are_refused_with_the_azure_message() {
        for name in [
            "",
            "1",
            "1.0",
            "1.0.0.0",
            "1..0",
            ".1.0",
            "1.0.",
            "+1.0.0",
            "-1.0.0",
            "1.-0.0",
            " 1.0.0",
            "1.0.0 ",
            "1. 0.0",
            "a.b.c",
            "1.0.0a",
            "1.0.0-beta",
            "2147483648.0.0",
            "0.4294967296.0",
            "0.0.99999999999999999999999",
            "١.٢.٣",
            "latest",
        ] {
            let error = VersionName::parse(name).unwrap_err();
            assert_eq!(error.status, 400, "{name:?}");
            assert_eq!(error.code, ErrorCode::InvalidParameter, "{name:?}");
            assert_eq!(error.target.as_deref(), Some("galleryImageVersionName"));
            assert_eq!(
                error.message,
                "The image version name is invalid. The image version name should follow \
                 Major(int32).Minor(int32).Patch(int32) format, e.g: 1.0.0, 2018.12.1 etc."
            );
        }
    }

    #[test]
    fn versions_order_numerically_part_by_part() {
        let mut names: Vec<VersionName> =
            ["1.10.0", "1.9.0", "2.0.0", "1.9.10", "1.9.2", "0.99.99"]
                .iter()
                .map(|name| VersionName::parse(name).unwrap())
                .collect();
        names.sort();
        let displayed: Vec<String> = names.iter().map(ToString::to_string).collect();
        assert_eq!(
            displayed,
            ["0.99.99", "1.9.0", "1.9.2", "1.9.10", "1.10.0", "2.0.0"]
        );
        assert!(VersionName::parse("10.0.0").unwrap() > VersionName::parse("9.999.999").unwrap());
    }

    #[test]
    fn display_is_the_canonical_numeric_form() {
        assert_eq!(VersionName::parse("01.02.03").unwrap().to_string(), "1.2.3");
        assert_eq!(
            version(2018, 12, 1).to_string(),
            "2018.12.1".parse::<VersionName>().unwrap().to_string()
        );
    }
}
