//! Which `api-version` values galleryd accepts, per resource family.
//!
//! Clients send many versions for the same resource within one session (the `az` CLI alone sends
//! 2021-10-01, 2024-03-03 and 2026-03-03 against galleries), and the most common complaint against
//! emulators is lagging behind new SDKs. So (DESIGN.md decision 2): every known stable version is
//! accepted; a well-formed version newer than the newest known one is accepted too, with a warning,
//! unless strict mode is on; anything else is refused with the code ARM uses for that family.
//! Responses always use the newest schema, whatever version was asked for.

use crate::ServiceError;

/// The families of resource types that version independently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFamily {
    /// `Microsoft.Compute/galleries` and everything below it, plus its async operations.
    ComputeGallery,
    /// ARM's own types: subscriptions, tenants, locations, providers, resource groups.
    ResourceManager,
    /// `Microsoft.Compute/disks` and `/snapshots` (the disk resource provider).
    ComputeDisk,
    /// The rest of Microsoft.Compute galleryd serves: managed images (`Microsoft.Compute/images`).
    ComputeResource,
    /// Microsoft.Authorization: role assignments and role definitions.
    Authorization,
}

/// Microsoft.Authorization versions `az` and the SDKs send, oldest first (previews included:
/// `az role definition list` sends `2022-05-01-preview`).
pub const AUTHORIZATION_VERSIONS: &[&str] = &[
    "2015-07-01",
    "2018-01-01-preview",
    "2018-09-01-preview",
    "2020-04-01-preview",
    "2020-08-01-preview",
    "2020-10-01-preview",
    "2021-03-01-preview",
    "2022-04-01",
    "2022-05-01-preview",
];

/// Stable GalleryRP versions, oldest first.
pub const COMPUTE_GALLERY_VERSIONS: &[&str] = &[
    "2018-06-01",
    "2019-03-01",
    "2019-07-01",
    "2019-12-01",
    "2020-09-30",
    "2021-03-01",
    "2021-07-01",
    "2021-10-01",
    "2022-01-03",
    "2022-03-03",
    "2022-08-03",
    "2023-07-03",
    "2024-03-03",
    "2025-03-03",
    "2026-03-03",
];

/// Microsoft.Resources versions (resource groups, subscriptions, providers, tenants), oldest first.
pub const RESOURCE_MANAGER_VERSIONS: &[&str] = &[
    "2014-04-01",
    "2015-01-01",
    "2015-11-01",
    "2016-02-01",
    "2016-06-01",
    "2016-07-01",
    "2016-09-01",
    "2017-05-10",
    "2017-08-01",
    "2018-02-01",
    "2018-05-01",
    "2018-06-01",
    "2019-03-01",
    "2019-05-01",
    "2019-05-10",
    "2019-06-01",
    "2019-07-01",
    "2019-08-01",
    "2019-10-01",
    "2019-11-01",
    "2020-01-01",
    "2020-06-01",
    "2020-08-01",
    "2020-10-01",
    "2021-01-01",
    "2021-04-01",
    "2022-01-01",
    "2022-09-01",
    "2022-12-01",
    "2023-07-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-03-01",
    "2025-04-01",
    "2026-06-01",
];

/// Stable disk resource provider versions (disks, snapshots), oldest first.
pub const COMPUTE_DISK_VERSIONS: &[&str] = &[
    "2017-03-30",
    "2018-04-01",
    "2018-06-01",
    "2018-09-30",
    "2019-03-01",
    "2019-07-01",
    "2019-11-01",
    "2020-05-01",
    "2020-06-30",
    "2020-09-30",
    "2020-12-01",
    "2021-04-01",
    "2021-08-01",
    "2021-12-01",
    "2022-03-02",
    "2022-07-02",
    "2023-01-02",
    "2023-04-02",
    "2023-10-02",
    "2024-03-02",
    "2025-01-02",
    "2026-03-02",
];

/// Stable compute resource provider versions (managed images), oldest first.
pub const COMPUTE_RESOURCE_VERSIONS: &[&str] = &[
    "2016-04-30-preview",
    "2017-03-30",
    "2017-12-01",
    "2018-04-01",
    "2018-06-01",
    "2018-10-01",
    "2019-03-01",
    "2019-07-01",
    "2019-12-01",
    "2020-06-01",
    "2020-12-01",
    "2021-03-01",
    "2021-04-01",
    "2021-07-01",
    "2021-11-01",
    "2022-03-01",
    "2022-08-01",
    "2022-11-01",
    "2023-03-01",
    "2023-07-01",
    "2023-09-01",
    "2024-03-01",
    "2024-07-01",
    "2024-11-01",
    "2025-04-01",
    "2026-04-01",
];

impl ApiFamily {
    /// The versions this family knows, oldest first.
    pub fn known_versions(self) -> &'static [&'static str] {
        match self {
            ApiFamily::ComputeGallery => COMPUTE_GALLERY_VERSIONS,
            ApiFamily::ResourceManager => RESOURCE_MANAGER_VERSIONS,
            ApiFamily::ComputeDisk => COMPUTE_DISK_VERSIONS,
            ApiFamily::ComputeResource => COMPUTE_RESOURCE_VERSIONS,
            ApiFamily::Authorization => AUTHORIZATION_VERSIONS,
        }
    }

    /// The newest known version: the one whose schema responses follow.
    pub fn newest(self) -> &'static str {
        let versions = self.known_versions();
        versions[versions.len() - 1]
    }
}

/// The outcome of checking a request's `api-version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedApiVersion {
    /// The version as the client sent it.
    pub requested: String,
    /// Set when the version is newer than any known one and was accepted anyway.
    pub warning: Option<String>,
}

impl AcceptedApiVersion {
    /// Whether the requested version is at least `version` (both `YYYY-MM-DD[-suffix]`).
    pub fn at_least(&self, version: &str) -> bool {
        date_part(&self.requested)
            .is_some_and(|requested| requested >= date_part(version).unwrap_or(""))
    }
}

/// `YYYY-MM-DD` of a well-formed version (`YYYY-MM-DD` optionally followed by `-preview` and alike).
fn date_part(version: &str) -> Option<&str> {
    let date = version.get(..10)?;
    let bytes = date.as_bytes();
    let digits_ok = bytes.iter().enumerate().all(|(index, byte)| {
        if index == 4 || index == 7 {
            *byte == b'-'
        } else {
            byte.is_ascii_digit()
        }
    });
    if !digits_ok {
        return None;
    }
    let month: u32 = date[5..7].parse().ok()?;
    let day: u32 = date[8..10].parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let suffix = &version[10..];
    let suffix_ok = suffix.is_empty()
        || (suffix.starts_with('-')
            && suffix.len() > 1
            && suffix[1..].bytes().all(|byte| byte.is_ascii_alphanumeric()));
    suffix_ok.then_some(date)
}

/// Checks `api-version` for `family`. `resource_type` names the type in error messages
/// (e.g. `galleries`, `resourceGroups`).
pub fn check(
    family: ApiFamily,
    requested: Option<&str>,
    strict: bool,
    resource_type: &str,
) -> Result<AcceptedApiVersion, ServiceError> {
    let requested = match requested {
        Some(value) if !value.trim().is_empty() => value.trim(),
        _ => return Err(ServiceError::missing_api_version()),
    };
    let known = family.known_versions();
    let refuse = || match family {
        ApiFamily::ComputeGallery | ApiFamily::ComputeDisk | ApiFamily::ComputeResource => {
            let newest_first: Vec<&str> = known.iter().rev().copied().collect();
            ServiceError::no_registered_provider(requested, resource_type, &newest_first)
        }
        ApiFamily::ResourceManager | ApiFamily::Authorization => {
            let newest_first: Vec<&str> = known.iter().rev().copied().collect();
            ServiceError::invalid_api_version(requested, &newest_first)
        }
    };
    if known
        .iter()
        .any(|version| version.eq_ignore_ascii_case(requested))
    {
        return Ok(AcceptedApiVersion {
            requested: requested.to_string(),
            warning: None,
        });
    }
    let Some(date) = date_part(requested) else {
        return Err(refuse());
    };
    let newest = family.newest();
    if date > newest && !strict {
        return Ok(AcceptedApiVersion {
            requested: requested.to_string(),
            warning: Some(format!(
                "api-version '{requested}' is newer than the newest version galleryd knows for \
                 '{resource_type}' ('{newest}'); it was served with the '{newest}' schema"
            )),
        });
    }
    Err(refuse())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn known_versions_are_accepted_without_warning() {
        let accepted = check(
            ApiFamily::ComputeGallery,
            Some("2021-10-01"),
            false,
            "galleries",
        )
        .unwrap();
        assert_eq!(accepted.warning, None);
        assert!(accepted.at_least("2021-07-01"));
        assert!(!accepted.at_least("2025-03-03"));
    }

    #[test]
    fn newer_versions_are_accepted_with_a_warning_unless_strict() {
        let accepted = check(
            ApiFamily::ComputeGallery,
            Some("2027-01-01"),
            false,
            "galleries",
        )
        .unwrap();
        assert!(accepted.warning.unwrap().contains("2026-03-03"));
        let refused = check(
            ApiFamily::ComputeGallery,
            Some("2027-01-01"),
            true,
            "galleries",
        )
        .unwrap_err();
        assert_eq!(refused.code, ErrorCode::NoRegisteredProviderFound);
        assert!(refused.message.contains("2026-03-03, 2025-03-03"));
    }

    #[test]
    fn unknown_older_and_malformed_versions_are_refused() {
        for version in [
            "2022-08-01",
            "2010-01-01",
            "banana",
            "2024-13-01",
            "2030-01-01-",
        ] {
            let error =
                check(ApiFamily::ComputeGallery, Some(version), false, "galleries").unwrap_err();
            assert_eq!(
                error.code,
                ErrorCode::NoRegisteredProviderFound,
                "{version}"
            );
        }
        let error = check(
            ApiFamily::ResourceManager,
            Some("2013-01-01"),
            false,
            "resourceGroups",
        )
        .unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidApiVersionParameter);
        assert_eq!(
            check(ApiFamily::ResourceManager, None, false, "x")
                .unwrap_err()
                .code,
            ErrorCode::MissingApiVersionParameter
        );
    }

    #[test]
    fn preview_suffixes_are_well_formed() {
        assert!(
            check(
                ApiFamily::ComputeGallery,
                Some("2027-01-01-preview"),
                false,
                "galleries"
            )
            .is_ok()
        );
    }
}
