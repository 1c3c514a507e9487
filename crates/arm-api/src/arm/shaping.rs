//! `$expand` and `$select`: the optional parts of a resource an operation serves on request,
//! parsed once in the pipeline.
//!
//! Each operation declares the values it accepts ([`OperationId::expansions`],
//! [`OperationId::selections`]); [`Shaping::parse`] checks the request against them before the
//! handler runs, so handlers ask typed questions (`request.shaping.expands(Expansion::…)`) instead
//! of reading the query. A value outside the operation's list is a 400 `InvalidQueryParameterValue`
//! naming the allowed values; an operation that declares nothing ignores the parameter, as ARM
//! does with query parameters an operation does not define.

use gallery_domain::ServiceError;

use crate::arm::operation::OperationId;
use crate::arm::request::Query;

gallery_domain::string_enum! {
    /// A value of `$expand`.
    pub enum Expansion {
        /// Image versions: `properties.replicationStatus`.
        ReplicationStatus = "ReplicationStatus",
        /// Image versions: accepted, nothing to add (galleryd stores no UEFI keys).
        UefiSettings = "UefiSettings",
        /// Image versions: `properties.validationsProfile`.
        ValidationProfile = "ValidationProfile",
        /// Galleries: the sharing profile's groups.
        SharingProfileGroups = "SharingProfile/Groups",
    }
}

gallery_domain::string_enum! {
    /// A value of `$select`.
    pub enum Selection {
        /// Galleries: the sharing permissions only.
        Permissions = "Permissions",
    }
}

/// The `$expand` and `$select` values a request asked for, as its operation accepts them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shaping {
    expand: Vec<Expansion>,
    select: Vec<Selection>,
}

impl Shaping {
    /// Parses `$select` and `$expand` (comma-separated, any casing) for `operation`.
    pub fn parse(operation: OperationId, query: &Query) -> Result<Shaping, ServiceError> {
        Ok(Shaping {
            select: parse_list(
                "$select",
                query,
                operation.selections(),
                Selection::from_wire,
            )?,
            expand: parse_list(
                "$expand",
                query,
                operation.expansions(),
                Expansion::from_wire,
            )?,
        })
    }

    /// Whether the request asked for `expansion`.
    pub fn expands(&self, expansion: Expansion) -> bool {
        self.expand.contains(&expansion)
    }

    /// Whether the request asked for `selection`.
    pub fn selects(&self, selection: Selection) -> bool {
        self.select.contains(&selection)
    }
}

/// The values of `parameter`, each one of `accepted` (nothing when the operation accepts none).
fn parse_list<T: Copy + PartialEq + std::fmt::Display>(
    parameter: &str,
    query: &Query,
    accepted: &[T],
    from_wire: fn(&str) -> Option<T>,
) -> Result<Vec<T>, ServiceError> {
    let (Some(value), false) = (query.get(parameter), accepted.is_empty()) else {
        return Ok(Vec::new());
    };
    value
        .split(',')
        .map(|item| {
            from_wire(item.trim())
                .filter(|parsed| accepted.contains(parsed))
                .ok_or_else(|| {
                    let allowed: Vec<String> = accepted.iter().map(ToString::to_string).collect();
                    let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
                    ServiceError::invalid_query_parameter(parameter, value, &allowed)
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shaping(operation: OperationId, query: &str) -> Result<Shaping, ServiceError> {
        Shaping::parse(operation, &Query::parse(Some(query)))
    }

    #[test]
    fn values_are_checked_against_the_operation() {
        let version = shaping(
            OperationId::GalleryImageVersionsGet,
            "$expand=replicationstatus, ValidationProfile",
        )
        .unwrap();
        assert!(version.expands(Expansion::ReplicationStatus));
        assert!(version.expands(Expansion::ValidationProfile));
        assert!(!version.expands(Expansion::UefiSettings));
        let refused = shaping(OperationId::GalleryImageVersionsGet, "$expand=Nope").unwrap_err();
        assert_eq!(
            (refused.status, refused.target.as_deref()),
            (400, Some("$expand"))
        );
        assert!(
            refused
                .message
                .contains("'ReplicationStatus', 'UefiSettings', 'ValidationProfile'"),
            "{}",
            refused.message
        );
        let gallery = shaping(
            OperationId::GalleriesGet,
            "$select=Permissions&$expand=SharingProfile/Groups",
        )
        .unwrap();
        assert!(gallery.selects(Selection::Permissions));
        assert!(gallery.expands(Expansion::SharingProfileGroups));
        assert!(shaping(OperationId::GalleriesGet, "$expand=ReplicationStatus").is_err());
        // Operations that declare nothing ignore the parameters.
        assert_eq!(
            shaping(OperationId::GalleryImagesGet, "$expand=anything&$select=x").unwrap(),
            Shaping::default()
        );
    }
}
