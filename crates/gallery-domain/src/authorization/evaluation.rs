//! The access policy: every role assignment, role definition and group membership, indexed so one
//! decision costs a few hash lookups and prefix comparisons.
//!
//! A caller may perform an action at a scope when one of its assignments (or one of its groups',
//! transitively) sits at that scope or an ancestor and its role grants the action. Zero setup: the
//! development principals are Owners of every subscription the configuration gives nobody a role
//! on ([`AccessPolicy::implicit_owners`]).

use std::collections::{HashMap, HashSet};

use crate::authorization::roles::{self, RoleDefinition};
use crate::authorization::scope::{covers, subscription_of};

/// One assignment as the policy needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Lower-cased scope key (`/` for the root).
    pub scope_key: String,
    /// The role definition's GUID, lower-cased.
    pub role: String,
}

/// Everything a decision reads (built once per change, shared by every request).
#[derive(Debug, Clone, Default)]
pub struct AccessPolicy {
    /// Lower-cased role GUID → definition (built-ins and custom roles).
    roles: HashMap<String, RoleDefinition>,
    /// Lower-cased principal object id → its own assignments.
    grants: HashMap<String, Vec<Grant>>,
    /// Lower-cased member object id → the groups it is a direct member of.
    memberships: HashMap<String, Vec<String>>,
    /// Lower-cased object ids that own unmanaged subscriptions (the development principals).
    implicit_owners: HashSet<String>,
    /// Lower-cased subscription ids the configuration assigns roles in: no implicit Owner there.
    managed_subscriptions: HashSet<String>,
    /// The configuration assigns a role at the root or a management group: every subscription is
    /// managed.
    everything_managed: bool,
}

impl AccessPolicy {
    /// A policy with the built-in roles, no assignment, and `implicit_owners` as Owners of every
    /// subscription that `configured_scopes` (the scopes of the configuration's assignments) do not
    /// reach.
    pub fn new<'a>(
        implicit_owners: impl IntoIterator<Item = &'a str>,
        configured_scopes: impl IntoIterator<Item = &'a str>,
    ) -> AccessPolicy {
        let mut policy = AccessPolicy {
            roles: roles::built_in_roles()
                .iter()
                .map(|role| (role.name.to_ascii_lowercase(), role.clone()))
                .collect(),
            implicit_owners: implicit_owners
                .into_iter()
                .map(str::to_ascii_lowercase)
                .collect(),
            ..AccessPolicy::default()
        };
        for scope in configured_scopes {
            let key = crate::authorization::scope::scope_key(scope);
            match subscription_of(&key) {
                Some(subscription) => {
                    policy
                        .managed_subscriptions
                        .insert(subscription.to_string());
                }
                None => policy.everything_managed = true,
            }
        }
        policy
    }

    /// Adds a custom role.
    pub fn add_role(&mut self, role: RoleDefinition) {
        self.roles.insert(role.name.to_ascii_lowercase(), role);
    }

    /// Adds an assignment of `role` (GUID) to `principal_id` at `scope`.
    pub fn add_assignment(&mut self, principal_id: &str, scope: &str, role: &str) {
        self.grants
            .entry(principal_id.to_ascii_lowercase())
            .or_default()
            .push(Grant {
                scope_key: crate::authorization::scope::scope_key(scope),
                role: role.to_ascii_lowercase(),
            });
    }

    /// Records that `member_id` is a direct member of `group_id`.
    pub fn add_membership(&mut self, member_id: &str, group_id: &str) {
        self.memberships
            .entry(member_id.to_ascii_lowercase())
            .or_default()
            .push(group_id.to_ascii_lowercase());
    }

    /// A role definition by GUID.
    pub fn role(&self, guid: &str) -> Option<&RoleDefinition> {
        self.roles.get(&guid.to_ascii_lowercase())
    }

    /// Every role definition (built-ins first, then custom roles, each by name).
    pub fn roles(&self) -> Vec<&RoleDefinition> {
        let mut roles: Vec<&RoleDefinition> = self.roles.values().collect();
        roles.sort_by(|a, b| {
            (a.role_type != roles::RoleType::BuiltInRole, &a.role_name)
                .cmp(&(b.role_type != roles::RoleType::BuiltInRole, &b.role_name))
        });
        roles
    }

    /// The principal and every group it belongs to, transitively (lower-cased).
    pub fn identities_of(&self, object_id: &str) -> Vec<String> {
        let mut seen = vec![object_id.to_ascii_lowercase()];
        let mut index = 0;
        while index < seen.len() {
            if let Some(groups) = self.memberships.get(&seen[index]) {
                for group in groups {
                    if !seen.contains(group) {
                        seen.push(group.clone());
                    }
                }
            }
            index += 1;
        }
        seen
    }

    /// Whether the development principals own the subscription `target_key` lies in.
    fn implicitly_owns(&self, object_id: &str, target_key: &str) -> bool {
        !self.everything_managed
            && self
                .implicit_owners
                .contains(&object_id.to_ascii_lowercase())
            && subscription_of(target_key)
                .is_some_and(|subscription| !self.managed_subscriptions.contains(subscription))
    }

    fn grants_of<'a>(&'a self, identities: &'a [String]) -> impl Iterator<Item = &'a Grant> + 'a {
        identities
            .iter()
            .filter_map(|identity| self.grants.get(identity))
            .flatten()
    }

    fn grant_permits(&self, grant: &Grant, action: &str) -> bool {
        self.roles
            .get(&grant.role)
            .is_some_and(|role| role.permits(action))
    }

    /// Whether `object_id` may perform `action` at `target_key` (a lower-cased scope key).
    pub fn permits(&self, object_id: &str, action: &str, target_key: &str) -> bool {
        if self.implicitly_owns(object_id, target_key) {
            return true;
        }
        let identities = self.identities_of(object_id);
        self.grants_of(&identities)
            .any(|grant| covers(&grant.scope_key, target_key) && self.grant_permits(grant, action))
    }

    /// Whether `object_id` may perform `action` somewhere at or below `target_key` (a list with
    /// partial access answers the part it may see).
    pub fn permits_below(&self, object_id: &str, action: &str, target_key: &str) -> bool {
        if self.permits(object_id, action, target_key) {
            return true;
        }
        let identities = self.identities_of(object_id);
        self.grants_of(&identities)
            .any(|grant| covers(target_key, &grant.scope_key) && self.grant_permits(grant, action))
    }

    /// Whether `object_id` holds any role at, above or below `target_key` (what makes a
    /// subscription visible in `GET /subscriptions`).
    pub fn has_any_access(&self, object_id: &str, target_key: &str) -> bool {
        if self.implicitly_owns(object_id, target_key) {
            return true;
        }
        let identities = self.identities_of(object_id);
        self.grants_of(&identities).any(|grant| {
            covers(&grant.scope_key, target_key) || covers(target_key, &grant.scope_key)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authorization::roles::{COMPUTE_GALLERY_IMAGE_READER, CONTRIBUTOR, READER};
    use crate::authorization::scope::scope_key;

    const GALLERY: &str =
        "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/galleries/g";

    #[test]
    fn the_sharing_matrix_holds() {
        let mut policy = AccessPolicy::new(["dev"], ["/subscriptions/s"]);
        let image = format!("{GALLERY}/images/i");
        policy.add_assignment("on-gallery", GALLERY, READER);
        policy.add_assignment("on-image", &image, CONTRIBUTOR);
        let key = |path: &str| scope_key(path);
        let read = "Microsoft.Compute/galleries/images/versions/read";
        assert!(policy.permits("on-gallery", read, &key(&format!("{image}/versions/1.0.0"))));
        assert!(policy.permits(
            "on-gallery",
            "Microsoft.Compute/galleries/read",
            &key(GALLERY)
        ));
        assert!(!policy.permits(
            "on-gallery",
            "Microsoft.Compute/galleries/write",
            &key(GALLERY)
        ));
        assert!(policy.permits(
            "on-image",
            "Microsoft.Compute/galleries/images/versions/write",
            &key(&format!("{image}/versions/1.0.0"))
        ));
        assert!(!policy.permits(
            "on-image",
            "Microsoft.Compute/galleries/read",
            &key(GALLERY)
        ));
        assert!(!policy.permits(
            "on-image",
            "Microsoft.Compute/galleries/images/read",
            &key(&format!("{GALLERY}/images/i2"))
        ));
        assert!(policy.permits_below(
            "on-image",
            "Microsoft.Compute/galleries/images/read",
            &key(GALLERY)
        ));
        assert!(policy.has_any_access("on-image", "/subscriptions/s"));
        assert!(!policy.has_any_access("nobody", "/subscriptions/s"));
        // The configuration assigns roles in s: the development principal owns only other subscriptions.
        assert!(!policy.permits("dev", "Microsoft.Compute/galleries/read", &key(GALLERY)));
        assert!(policy.permits(
            "dev",
            "Microsoft.Compute/galleries/write",
            "/subscriptions/other/resourcegroups/r"
        ));
    }

    #[test]
    fn groups_pass_their_roles_to_members_transitively() {
        let mut policy = AccessPolicy::new([], []);
        policy.add_assignment("outer", GALLERY, COMPUTE_GALLERY_IMAGE_READER);
        policy.add_membership("inner", "outer");
        policy.add_membership("user", "inner");
        policy.add_membership("outer", "user"); // a cycle ends
        let image = scope_key(&format!("{GALLERY}/images/i"));
        assert!(policy.permits("user", "Microsoft.Compute/galleries/images/read", &image));
        assert!(!policy.permits(
            "user",
            "Microsoft.Compute/galleries/read",
            &scope_key(GALLERY)
        ));
        assert!(!policy.permits(
            "stranger",
            "Microsoft.Compute/galleries/images/read",
            &image
        ));
    }
}
