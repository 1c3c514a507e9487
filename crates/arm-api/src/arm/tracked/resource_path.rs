//! Where a resource lives: its subscription, resource group and chain of names, and the ids, keys
//! and 404s derived from them.

use gallery_domain::ServiceError;
use gallery_domain::ids;
use gallery_domain::limits::QuotaKind;
use gallery_domain::names::name_key;
use gallery_store::{Ancestry, ResourceTarget};

use crate::arm::request::ArmRequest;

/// A resource path of the Compute provider: subscription, resource group and the chain of
/// `(collection segment, name)` pairs, e.g. `[("galleries", "g1"), ("images", "i1")]`.
#[derive(Debug, Clone)]
pub struct ResourcePath {
    pub subscription_id: String,
    pub resource_group: String,
    pub names: Vec<(&'static str, String)>,
    pub resource_type: &'static str,
}

impl ResourcePath {
    /// The path of `request` for a resource `resource_type`, reading `parameters` in order.
    pub fn from_request(
        request: &ArmRequest,
        resource_type: &'static str,
        chain: &[(&'static str, &str)],
    ) -> ResourcePath {
        ResourcePath {
            subscription_id: request.subscription().subscription_id.clone(),
            resource_group: request.parameters.get("resourceGroupName").to_string(),
            names: chain
                .iter()
                .map(|(segment, parameter)| {
                    (*segment, request.parameters.get(parameter).to_string())
                })
                .collect(),
            resource_type,
        }
    }

    /// The resource's own name.
    pub fn name(&self) -> &str {
        &self.names[self.names.len() - 1].1
    }

    fn id_with(&self, resource_group: &str, names: &[(&'static str, String)]) -> String {
        let mut id = format!(
            "{}/providers/{}",
            ids::resource_group_id(&self.subscription_id, resource_group),
            ids::COMPUTE_NAMESPACE
        );
        for (segment, name) in names {
            id.push('/');
            id.push_str(segment);
            id.push('/');
            id.push_str(name);
        }
        id
    }

    /// The canonical id, with names as the request spells them.
    pub fn id(&self) -> String {
        self.id_with(&self.resource_group, &self.names)
    }

    /// The canonical id with the stored casing of the resource group and parent (for new resources).
    pub fn id_with_ancestry(&self, ancestry: &Ancestry) -> String {
        let mut names = self.names.clone();
        if let (Some(parent_name), Some(parent)) = (
            &ancestry.parent_name,
            names.len().checked_sub(2).map(|index| &mut names[index]),
        ) {
            parent.1 = parent_name.clone();
        }
        self.id_with(&ancestry.resource_group_name, &names)
    }

    /// The lower-cased id the store finds it by.
    pub fn key(&self) -> String {
        ids::resource_key(&self.id())
    }

    /// The parent's path, for nested resources.
    pub fn parent(&self) -> Option<ResourcePath> {
        (self.names.len() > 1).then(|| ResourcePath {
            subscription_id: self.subscription_id.clone(),
            resource_group: self.resource_group.clone(),
            names: self.names[..self.names.len() - 1].to_vec(),
            resource_type: parent_type(self.resource_type),
        })
    }

    /// `Microsoft.Compute/galleries/g1/images/i1`: how `ResourceNotFound` names the resource.
    pub fn type_and_names(&self) -> String {
        ids::provider_path(&self.id()).to_string()
    }

    /// 404 `ResourceNotFound` naming this resource (whose resource group and parent exist).
    pub fn resource_not_found(&self) -> ServiceError {
        ServiceError::resource_not_found(&self.type_and_names(), &self.resource_group)
    }

    /// The path of a resource of `resource_type` in this one's `segment` collection, named `name`.
    pub(crate) fn child(
        &self,
        segment: &'static str,
        name: &str,
        resource_type: &'static str,
    ) -> ResourcePath {
        let mut child = self.clone();
        child.names.push((segment, name.to_string()));
        child.resource_type = resource_type;
        child
    }

    /// How `ParentResourceNotFound` names this resource when it is the missing parent: `g1`, `g1/i1`.
    pub fn display_name(&self) -> String {
        self.names
            .iter()
            .map(|(_, name)| name.as_str())
            .collect::<Vec<_>>()
            .join("/")
    }
}

fn parent_type(resource_type: &'static str) -> &'static str {
    match resource_type {
        ids::GALLERY_IMAGE_VERSION_TYPE => ids::GALLERY_IMAGE_TYPE,
        _ => ids::GALLERY_TYPE,
    }
}

/// The lower-cased names a store write of a [`ResourcePath`] is addressed by.
pub struct TargetNames {
    id: String,
    key: String,
    resource_group_key: String,
    parent_key: Option<String>,
}

impl TargetNames {
    /// The names of `path`.
    pub fn of(path: &ResourcePath) -> TargetNames {
        TargetNames {
            id: path.id(),
            key: path.key(),
            resource_group_key: name_key(&path.resource_group),
            parent_key: path.parent().map(|parent| parent.key()),
        }
    }

    /// Where the store writes `path`, counted against `quota` (the kind and its limit).
    pub fn target<'a>(
        &'a self,
        path: &'a ResourcePath,
        quota: Option<(QuotaKind, u32)>,
    ) -> ResourceTarget<'a> {
        ResourceTarget {
            resource_id: &self.id,
            resource_key: &self.key,
            subscription_id: &path.subscription_id,
            resource_group_key: &self.resource_group_key,
            resource_type: path.resource_type,
            parent_key: self.parent_key.as_deref(),
            quota,
        }
    }
}
