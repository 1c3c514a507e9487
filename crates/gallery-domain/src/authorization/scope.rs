//! Scopes: where a role assignment applies (the root `/`, a management group, a subscription, a
//! resource group or any resource) and how a scope covers what lies below it.
//!
//! An assignment at a scope covers that scope and everything below it, by path prefix over whole
//! segments, ignoring case: a role on a gallery reaches its definitions and versions, a role on a
//! definition reaches its versions, never the gallery nor a sibling.

use crate::{ErrorCode, ServiceError};

/// What a scope names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeKind {
    Root,
    ManagementGroup(String),
    Subscription {
        subscription_id: String,
    },
    ResourceGroup {
        subscription_id: String,
        resource_group: String,
    },
    /// A resource (`…/providers/{namespace}/{type}/{name}[/{type}/{name}…]`).
    Resource {
        subscription_id: String,
        resource_group: String,
        resource_id: String,
    },
}

/// A parsed scope: its canonical spelling (`/subscriptions/{s}/resourceGroups/{g}/…`, `/` for the
/// root) and what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub path: String,
    pub kind: ScopeKind,
}

/// The lower-cased key of a scope path (`/` stays `/`; no trailing slash).
pub fn scope_key(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_ascii_lowercase()
    }
}

/// Whether an assignment at `assignment_key` covers `target_key` (both from [`scope_key`]).
pub fn covers(assignment_key: &str, target_key: &str) -> bool {
    assignment_key == "/"
        || target_key == assignment_key
        || (target_key.starts_with(assignment_key)
            && target_key.as_bytes().get(assignment_key.len()) == Some(&b'/'))
}

/// The subscription a scope key lies in (`/subscriptions/{s}…`), lower-cased.
pub fn subscription_of(target_key: &str) -> Option<&str> {
    let rest = target_key.strip_prefix("/subscriptions/")?;
    let subscription = rest.split('/').next()?;
    (!subscription.is_empty()).then_some(subscription)
}

fn malformed(path: &str) -> ServiceError {
    ServiceError::new(
        400,
        ErrorCode::MissingSubscription,
        format!(
            "The request did not have a subscription or a valid tenant level resource provider. The scope '{path}' is not '/', a management group, a subscription, a resource group or a resource id."
        ),
    )
}

impl Scope {
    /// Parses the scope segments of a request path (already percent-decoded, without the
    /// `providers/Microsoft.Authorization/…` tail).
    pub fn parse(segments: &[String]) -> Result<Scope, ServiceError> {
        let path = format!("/{}", segments.join("/"));
        let is = |index: usize, literal: &str| {
            segments
                .get(index)
                .is_some_and(|segment| segment.eq_ignore_ascii_case(literal))
        };
        if segments.is_empty() {
            return Ok(Scope {
                path: "/".to_string(),
                kind: ScopeKind::Root,
            });
        }
        if segments.iter().any(|segment| segment.is_empty()) {
            return Err(malformed(&path));
        }
        if is(0, "providers")
            && is(1, "Microsoft.Management")
            && is(2, "managementGroups")
            && segments.len() == 4
        {
            return Ok(Scope {
                path: format!(
                    "/providers/Microsoft.Management/managementGroups/{}",
                    segments[3]
                ),
                kind: ScopeKind::ManagementGroup(segments[3].clone()),
            });
        }
        if !is(0, "subscriptions") || segments.len() < 2 {
            return Err(malformed(&path));
        }
        let subscription_id = segments[1].clone();
        if segments.len() == 2 {
            return Ok(Scope {
                path: format!("/subscriptions/{subscription_id}"),
                kind: ScopeKind::Subscription { subscription_id },
            });
        }
        if !is(2, "resourceGroups") || segments.len() < 4 {
            return Err(malformed(&path));
        }
        let resource_group = segments[3].clone();
        let group_path =
            format!("/subscriptions/{subscription_id}/resourceGroups/{resource_group}");
        if segments.len() == 4 {
            return Ok(Scope {
                path: group_path,
                kind: ScopeKind::ResourceGroup {
                    subscription_id,
                    resource_group,
                },
            });
        }
        // providers/{namespace}/{type}/{name}[/{type}/{name}…]
        let rest = &segments[4..];
        if !is(4, "providers") || rest.len() < 4 || !rest.len().is_multiple_of(2) {
            return Err(malformed(&path));
        }
        let resource_id = format!("{group_path}/providers/{}", rest[1..].join("/"));
        Ok(Scope {
            path: resource_id.clone(),
            kind: ScopeKind::Resource {
                subscription_id,
                resource_group,
                resource_id,
            },
        })
    }

    /// The lower-cased key.
    pub fn key(&self) -> String {
        scope_key(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(path: &str) -> Result<Scope, ServiceError> {
        let segments: Vec<String> = path
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        Scope::parse(&segments)
    }

    #[test]
    fn scopes_parse_and_cover_by_whole_segments() {
        assert_eq!(parse("/").unwrap().kind, ScopeKind::Root);
        assert_eq!(parse("/subscriptions/S").unwrap().path, "/subscriptions/S");
        assert_eq!(
            parse("/subscriptions/S/resourcegroups/R").unwrap().path,
            "/subscriptions/S/resourceGroups/R"
        );
        let version = parse("/subscriptions/S/resourceGroups/R/providers/Microsoft.Compute/galleries/G/images/I/versions/1.0.0").unwrap();
        assert!(matches!(version.kind, ScopeKind::Resource { .. }));
        assert!(
            parse("/subscriptions/S/resourceGroups/R/providers/Microsoft.Compute/galleries")
                .is_err()
        );
        assert!(parse("/subscriptions/S/somewhere").is_err());
        assert!(parse("/elsewhere").is_err());
        let gallery =
            scope_key("/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/galleries/g");
        assert!(covers(
            &gallery,
            &scope_key(&version.path.replace("/G/", "/g/"))
        ));
        assert!(covers("/", &gallery));
        assert!(!covers(&format!("{gallery}/images/i"), &gallery));
        assert!(!covers(
            &format!("{gallery}/images/i"),
            &format!("{gallery}/images/i2")
        ));
        assert!(!covers(&gallery, &format!("{gallery}2")));
        assert_eq!(subscription_of(&gallery), Some("s"));
    }
}
