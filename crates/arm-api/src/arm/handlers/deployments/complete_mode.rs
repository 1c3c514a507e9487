//! Mode `Complete`: after the template's resources succeeded, the resources of the group the
//! template no longer declares are deleted, for the types ARM deletes in that mode that galleryd
//! serves (galleries, disks, snapshots, managed images; nested types such as image definitions are
//! never deleted on their own). They are found and deleted through the front door, each deletion
//! recorded as a deployment operation (`provisioningOperation: Delete`); a deletion the provider
//! refuses (a gallery that still has image definitions) fails the deployment with its error.

use gallery_domain::api_version::ApiFamily;
use std::collections::HashSet;

use arm_templates::Plan;
use serde_json::Value;

use super::front_door::{FrontDoor, WriteFailure};
use super::runner::Run;

/// The top-level types a Complete deployment deletes, with the api-version family to list them at.
const DELETABLE_TYPES: &[(&str, ApiFamily)] = &[
    ("Microsoft.Compute/galleries", ApiFamily::ComputeGallery),
    ("Microsoft.Compute/disks", ApiFamily::ComputeDisk),
    ("Microsoft.Compute/snapshots", ApiFamily::ComputeDisk),
    ("Microsoft.Compute/images", ApiFamily::ComputeResource),
];

/// A resource the cleanup deleted or failed to delete.
pub struct Deletion {
    pub resource_id: String,
    pub resource_type: String,
    pub name: String,
    pub api_version: String,
    pub outcome: Result<(), WriteFailure>,
}

/// A resource of the group the plan does not declare.
pub struct Undeclared {
    pub resource: Value,
    pub resource_type: &'static str,
    pub api_version: &'static str,
}

/// The group's resources of the deletable types that `plan` does not declare.
pub async fn undeclared(front_door: &FrontDoor, plan: &Plan, group_id: &str) -> Vec<Undeclared> {
    let declared: HashSet<String> = plan
        .declared_resource_ids()
        .into_iter()
        .map(|id| id.to_lowercase())
        .collect();
    let mut found = Vec::new();
    for (resource_type, family) in DELETABLE_TYPES {
        let api_version = family.newest();
        let Some(items) = front_door
            .list_all(&format!(
                "{group_id}/providers/{resource_type}?api-version={api_version}"
            ))
            .await
        else {
            continue;
        };
        for resource in items {
            let declared_here = resource["id"]
                .as_str()
                .is_none_or(|id| declared.contains(&id.to_lowercase()));
            if !declared_here {
                found.push(Undeclared {
                    resource,
                    resource_type,
                    api_version,
                });
            }
        }
    }
    found
}

/// Deletes what the group holds and the plan does not declare.
pub async fn delete_undeclared(run: &Run, group_id: &str) -> Vec<Deletion> {
    let mut deletions = Vec::new();
    for found in undeclared(&run.front_door, &run.plan, group_id).await {
        let id = found.resource["id"].as_str().unwrap_or_default();
        let outcome = run.front_door.delete(id, found.api_version).await;
        deletions.push(Deletion {
            resource_id: id.to_string(),
            resource_type: found.resource_type.to_string(),
            name: found.resource["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            api_version: found.api_version.to_string(),
            outcome,
        });
    }
    deletions
}
