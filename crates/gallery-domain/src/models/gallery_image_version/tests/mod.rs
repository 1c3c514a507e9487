//! Unit tests of the image version rules, grouped by what they test; the scenario builder and the
//! fixtures they share are here.

mod compatibility;
mod create;
mod examples;
mod publishing;
mod sources;
mod updates;

use serde_json::json;

use super::*;
use crate::api_version::AcceptedApiVersion;
use crate::identity::{Caller, Subscription};
use crate::publishing::latest::{self, LatestCandidate, is_usable};
use crate::publishing::replication::{
    ReplicaCountChange, ReplicationChanges, aggregate, replication_changes, with_replication_status,
};
use crate::publishing::{
    AggregatedReplicationState, RegionalReplicationStatus, ReplicationMode, ReplicationState,
    ReplicationStatus, StorageAccountType, TargetRegion, replication_plan,
};

const IMAGE_ID: &str = "/subscriptions/6a11e2d0-0000-4000-8000-000000000002/resourceGroups/myResourceGroup/providers/Microsoft.Compute/galleries/myGalleryName/images/myGalleryImageName";
const MANAGED_IMAGE: &str = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/providers/Microsoft.Compute/images/{imageName}";
const OS_SNAPSHOT: &str =
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/snapshots/osSnapshot";
const DATA_DISK: &str =
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/disks/dataDisk";
const OTHER_DISK: &str =
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/disks/otherDisk";
const OTHER_IMAGE: &str =
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/images/other";
const VHD: &str = "https://account.blob.core.windows.net/vhds/os.vhd";

/// Everything a decision needs, with builders for what a test varies.
struct Scenario {
    subscription: Subscription,
    api_version: String,
    name: String,
    now: DateTime<Utc>,
    rules: VersionRules,
}

impl Scenario {
    fn new() -> Self {
        Scenario {
            subscription: Subscription::development(),
            api_version: "2025-03-03".to_string(),
            name: "1.0.0".to_string(),
            now: instant("2026-01-01T00:00:00Z"),
            rules: VersionRules::default(),
        }
    }

    fn api(mut self, version: &str) -> Self {
        self.api_version = version.to_string();
        self
    }

    fn named(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    fn at(mut self, when: &str) -> Self {
        self.now = instant(when);
        self
    }

    fn rules(mut self, rules: VersionRules) -> Self {
        self.rules = rules;
        self
    }

    fn subscription(mut self, subscription: Subscription) -> Self {
        self.subscription = subscription;
        self
    }

    fn with<T>(&self, decision: impl FnOnce(&WriteContext<'_>) -> T) -> T {
        let caller = Caller::development();
        let api_version = AcceptedApiVersion {
            requested: self.api_version.clone(),
            warning: None,
        };
        let id = format!("{IMAGE_ID}/versions/{}", self.name);
        let mut new_guid = || "00000000-0000-0000-0000-000000000000".to_string();
        let context = WriteContext {
            subscription: &self.subscription,
            resource_group: "myResourceGroup",
            id: &id,
            name: &self.name,
            caller: &caller,
            now: self.now,
            api_version: &api_version,
            new_guid: &mut new_guid,
        };
        decision(&context)
    }

    fn create(
        &self,
        body: Value,
        source: Option<&ResolvedSource>,
    ) -> Result<GalleryImageVersion, ServiceError> {
        self.with(|context| put(None, request(body), context, source, &self.rules))
    }

    fn replace(
        &self,
        existing: &GalleryImageVersion,
        body: Value,
    ) -> Result<GalleryImageVersion, ServiceError> {
        self.with(|context| put(Some(existing), request(body), context, None, &self.rules))
    }

    fn update(
        &self,
        existing: &GalleryImageVersion,
        body: Value,
    ) -> Result<GalleryImageVersion, ServiceError> {
        let body: PatchRequest = serde_json::from_value(body).unwrap();
        self.with(|context| patch(existing, body, context, &self.rules))
    }
}

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn request(body: Value) -> GalleryImageVersionRequest {
    serde_json::from_value(body).unwrap()
}

/// A managed image (or any whole-artifact source) with an OS disk and a data disk at LUN 1.
fn image_in(region: &str) -> ResolvedSource {
    ResolvedSource {
        region: region.to_string(),
        disks: vec![
            SourceDisk {
                lun: None,
                size_in_gb: 10,
                occupied_bytes: 1 << 30,
                host_caching: Some("ReadOnly".to_string()),
            },
            SourceDisk {
                lun: Some(1),
                size_in_gb: 10,
                occupied_bytes: 1 << 29,
                host_caching: Some("none".to_string()),
            },
        ],
        ..Default::default()
    }
}

fn with_properties(properties: Value) -> Value {
    json!({"location": "West US", "properties": properties})
}

fn image_version_body(target_regions: Value) -> Value {
    with_properties(json!({
        "publishingProfile": {"targetRegions": target_regions},
        "storageProfile": {"source": {"id": MANAGED_IMAGE}},
    }))
}

/// 1.0.0 in West US (1 replica) and East US (2 replicas, Standard_ZRS), from a managed image.
fn created() -> GalleryImageVersion {
    Scenario::new()
        .create(
            image_version_body(json!([
                {"name": "West US", "regionalReplicaCount": 1},
                {"name": "East US", "regionalReplicaCount": 2, "storageAccountType": "Standard_ZRS"},
            ])),
            Some(&image_in("westus")),
        )
        .unwrap()
}

/// A version whose disks come from a snapshot (OS) and a managed disk (LUN 0).
fn created_from_disks() -> GalleryImageVersion {
    Scenario::new()
        .create(
            with_properties(json!({
                "storageProfile": {
                    "osDiskImage": {"source": {"id": OS_SNAPSHOT}},
                    "dataDiskImages": [{"lun": 0, "source": {"id": DATA_DISK}}],
                },
            })),
            Some(&ResolvedSource {
                region: "West US".to_string(),
                disks: vec![
                    SourceDisk {
                        lun: None,
                        size_in_gb: 30,
                        occupied_bytes: 0,
                        host_caching: None,
                    },
                    SourceDisk {
                        lun: Some(0),
                        size_in_gb: 4,
                        occupied_bytes: 0,
                        host_caching: None,
                    },
                ],
                ..Default::default()
            }),
        )
        .unwrap()
}

#[track_caller]
fn assert_error<T: std::fmt::Debug>(
    result: Result<T, ServiceError>,
    status: u16,
    code: &str,
    target: &str,
) -> ServiceError {
    let error = result.unwrap_err();
    assert_eq!(
        (error.status, error.code.as_str(), error.target.as_deref()),
        (status, code, Some(target)),
        "{error:?}"
    );
    error
}

/// Members whose values in the spec's examples are the service's own (dates, state, violations):
/// only their presence is compared.
const EXAMPLE_OWN_VALUES: &[&str] = &[
    "publishedDate",
    "reportedForPolicyViolation",
    "policyViolations",
    "provisioningState",
];

/// Every member path of `example` exists in `ours`, with the same value unless listed in
/// [`EXAMPLE_OWN_VALUES`].
#[track_caller]
fn assert_produces(ours: &Value, example: &Value, path: &str) {
    match (ours, example) {
        (Value::Object(ours), Value::Object(example)) => {
            for (key, expected) in example {
                let member_path = format!("{path}.{key}");
                let actual = ours
                    .get(key)
                    .unwrap_or_else(|| panic!("{member_path} is missing"));
                if !EXAMPLE_OWN_VALUES.contains(&key.as_str()) {
                    assert_produces(actual, expected, &member_path);
                }
            }
        }
        (Value::Array(ours), Value::Array(example)) => {
            assert_eq!(ours.len(), example.len(), "{path} length");
            for (index, (actual, expected)) in ours.iter().zip(example).enumerate() {
                assert_produces(actual, expected, &format!("{path}[{index}]"));
            }
        }
        _ => assert_eq!(ours, example, "{path}"),
    }
}

fn served_properties(version: &GalleryImageVersion) -> Value {
    serde_json::to_value(version).unwrap()["properties"].clone()
}

fn encryption(set: &str, luns: &[i64]) -> Value {
    let id = |name: &str| {
        format!(
            "/subscriptions/{{subscriptionId}}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/diskEncryptionSet/{name}"
        )
    };
    json!({
        "osDiskImage": {"diskEncryptionSetId": id(set)},
        "dataDiskImages": luns.iter().map(|lun| json!({"lun": lun, "diskEncryptionSetId": id(set)})).collect::<Vec<_>>(),
    })
}
