//! Replays the official GalleryRP 2025-03-03 examples for galleries, image definitions and image
//! versions against a real galleryd, on both stores.
//!
//! The examples live outside the repository, in
//! `../shared/specs/galleryrp/2025-03-03/examples/galleryExamples/`; when they are absent the replay
//! is skipped with a notice. Each replayed example runs on a fresh server: the prerequisite state it
//! needs is set up first (resource group, gallery, the resource itself, with the example's own names
//! and bodies), then the example's request is sent. Method and path come from the operation that
//! lists the example in `GalleryRP.json` (`x-ms-examples`), the body from the example's body
//! parameter, the `api-version` from `parameters.api-version` (or `parameters.version`) and query
//! parameters such as `$select` and `$expand` from the parameters the operation declares.
//!
//! Placeholders: both spellings of the subscription placeholder (`{subscription-id}`,
//! `{subscriptionId}`) become the development subscription; every other `{name}` (`{resourceGroup}`,
//! `{imageName}`, `{osSnapshotName}`, …) becomes its own name without braces (`resourceGroup`,
//! `imageName`, …), except those [`PLACEHOLDER_VALUES`] lists (a version name must be
//! `Major.Minor.Patch`). So a source id such as
//! `…/resourceGroups/{resourceGroup}/providers/Microsoft.Compute/images/{imageName}` names the
//! managed image `imageName` in the resource group `resourceGroup`.
//!
//! Image versions need more than their parents. The image definition of the example's path is
//! created with the request body of `GalleryImage_Create` (the official definition with those very
//! names). Every source a version body names (the example's request, or the version a Get, Update,
//! List or Delete starts from) is created through the API first, in the version's location, in the
//! resource group its id names: snapshots and managed disks as `Empty` ones, a managed image from
//! `Empty` snapshots, another gallery image version (with its gallery and definition) from `Empty`
//! snapshots, each with the disks (LUNs, sizes, host caching) the example's response shows; async
//! operations are followed to their end and must succeed. A VHD source (`uri` on Azure Storage)
//! cannot be read by an offline galleryd, which takes VHDs from its own blob endpoint only: for
//! each disk an `Empty` snapshot is created in its place (named after the blob and the disk, as the
//! examples point the OS and the data disk at one blob, which galleryd refuses) and the example's
//! `uri` is replaced by that snapshot's blob URL (without SAS) in the bodies sent; values are not
//! compared, so the answer still has to show every field the example shows. Virtual machines and community
//! gallery images cannot be created in galleryd: those examples are sent as written and their
//! answers are listed in [`KNOWN_DIFFERENCES`]. A version created as a prerequisite is waited for
//! until it has succeeded (its replication is done by galleryd's workers).
//!
//! The answer must carry one of the example's status codes (201 for a create on a fresh resource,
//! 202 for a deletion of an existing one), the example's response headers, and every JSON field of
//! the example's response body (recursively; arrays compared by their first element). Values are not
//! compared, except the provisioning state, the replication state and the enum-like values that
//! echo the request ([`COMPARED_VALUES`]).
//!
//! Differences that are known and accepted are listed in [`KNOWN_DIFFERENCES`] with their reason;
//! any other difference fails, and so does a listed difference that no longer occurs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;

use galleryd_tests::{
    Backend, DEVELOPMENT_SUBSCRIPTION_ID, RESOURCES_API, TestApp, TestResponse, both_stores,
};
use serde_json::{Value, json};

/// The placeholders the examples use for the subscription id (parameters say `{subscription-id}`,
/// ids inside bodies mostly `{subscriptionId}`).
const SUBSCRIPTION_PLACEHOLDERS: &[&str] = &["{subscription-id}", "{subscriptionId}"];

/// Placeholders whose value is not their own name (see the module documentation).
const PLACEHOLDER_VALUES: &[(&str, &str)] = &[
    // `…/galleries/{galleryName}/images/{imageDefinitionName}/versions/{versionName}`: a version's
    // name must be Major.Minor.Patch.
    ("versionName", "0.1.0"),
];

/// Where the examples are, relative to the test crate.
const EXAMPLES_DIRECTORY: &str = "../../shared/specs/galleryrp/2025-03-03/examples/galleryExamples";
/// The spec that lists the examples per operation, relative to the test crate.
const SPEC_FILE: &str = "../../shared/specs/galleryrp/2025-03-03/GalleryRP.json";
/// How `GalleryRP.json` refers to the examples of this directory.
const EXAMPLE_REFERENCE_PREFIX: &str = "./examples/galleryExamples/";

/// Example file names (without `.json`) this replay is responsible for.
const EXAMPLE_PREFIXES: &[&str] = &[
    "Gallery_",
    "GalleryImage_",
    "GalleryImageVersion_",
    "CommunityGallery_",
];

/// Location used when an example names none.
const DEFAULT_LOCATION: &str = "West US";

/// The example whose request body is the image definition an image version example's path names
/// (`myGalleryName/myGalleryImageName`); the definitions of gallery image version sources are made
/// from it too.
const DEFINITION_EXAMPLE: &str = "GalleryImage_Create";

/// The Microsoft.Compute api-version the managed image prerequisites are created with.
const COMPUTE_API: &str = "2024-11-01";

/// Size of a source disk whose size the example does not show.
const DEFAULT_SOURCE_DISK_GB: i64 = 1;

/// How long a prerequisite's async operation may take.
const OPERATION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// What has to exist before an example's request is sent, besides the resource group (for an image
/// definition, its gallery; for an image version, its gallery, its image definition and the sources
/// the bodies name).
#[derive(Debug, Clone, Copy)]
enum Prerequisite {
    /// Nothing else: the request creates the resource.
    Parents,
    /// The resource as the example's response describes it (for lists: the first item), without the
    /// members at these JSON pointers, so that the request is what sets them. galleryd ignores the
    /// read-only members of a request, as Azure does.
    FromResponse { without: &'static [&'static str] },
    /// The resource, created with the request body of another example.
    FromExample(&'static str),
}

/// One example to replay and the state it needs.
struct Replay {
    example: &'static str,
    prerequisite: Prerequisite,
}

const AS_RESPONDED: Prerequisite = Prerequisite::FromResponse { without: &[] };

/// Every example replayed.
const REPLAYS: &[Replay] = &[
    Replay {
        example: "Gallery_Create",
        prerequisite: Prerequisite::Parents,
    },
    Replay {
        example: "Gallery_Create_WithSharingProfile",
        prerequisite: Prerequisite::Parents,
    },
    Replay {
        example: "Gallery_Create_SoftDeletionEnabled",
        prerequisite: Prerequisite::Parents,
    },
    Replay {
        example: "Gallery_Create_WithManagedIdentity",
        prerequisite: Prerequisite::Parents,
    },
    Replay {
        example: "CommunityGallery_Create",
        prerequisite: Prerequisite::Parents,
    },
    Replay {
        example: "Gallery_Get",
        prerequisite: AS_RESPONDED,
    },
    Replay {
        example: "Gallery_Get_WithSelectPermissions",
        prerequisite: AS_RESPONDED,
    },
    Replay {
        example: "Gallery_Get_WithExpandSharingProfileGroups",
        prerequisite: AS_RESPONDED,
    },
    Replay {
        example: "Gallery_Get_WithManagedIdentity",
        prerequisite: AS_RESPONDED,
    },
    Replay {
        example: "CommunityGallery_Get",
        // Its response lacks the required `publicNamePrefix`: create it as its sibling does.
        prerequisite: Prerequisite::FromExample("CommunityGallery_Create"),
    },
    Replay {
        example: "Gallery_Update",
        prerequisite: Prerequisite::FromResponse {
            without: &["/properties/description"],
        },
    },
    Replay {
        example: "Gallery_Delete",
        prerequisite: Prerequisite::FromExample("Gallery_Create"),
    },
    Replay {
        example: "Gallery_ListByResourceGroup",
        prerequisite: AS_RESPONDED,
    },
    Replay {
        example: "Gallery_ListBySubscription",
        prerequisite: AS_RESPONDED,
    },
    Replay {
        example: "GalleryImage_Create",
        prerequisite: Prerequisite::Parents,
    },
    Replay {
        example: "GalleryImage_Get",
        prerequisite: AS_RESPONDED,
    },
    Replay {
        example: "GalleryImage_Update",
        prerequisite: AS_RESPONDED,
    },
    Replay {
        example: "GalleryImage_UpdateFeatures",
        prerequisite: Prerequisite::FromResponse {
            without: &["/properties/features"],
        },
    },
    Replay {
        example: "GalleryImage_Delete",
        prerequisite: Prerequisite::FromExample("GalleryImage_Create"),
    },
    Replay {
        example: "GalleryImage_ListByGallery",
        prerequisite: AS_RESPONDED,
    },
    Replay {
        example: "GalleryImageVersion_Create",
        prerequisite: Prerequisite::Parents,
    },
    Replay {
        example: "GalleryImageVersion_Create_WithAdditionalReplicaSets",
        prerequisite: Prerequisite::Parents,
    },
    Replay {
        example: "GalleryImageVersion_Create_WithCommunityImageVersionAsSource",
        prerequisite: Prerequisite::Parents,
    },
    Replay {
        example: "GalleryImageVersion_Create_WithImageVersionAsSource",
        prerequisite: Prerequisite::Parents,
    },
    Replay {
        example: "GalleryImageVersion_Create_WithShallowReplicationMode",
        prerequisite: Prerequisite::Parents,
    },
    Replay {
        example: "GalleryImageVersion_Create_WithSnapshotsAsSource",
        prerequisite: Prerequisite::Parents,
    },
    Replay {
        example: "GalleryImageVersion_Create_WithStorageAccountStrategy",
        prerequisite: Prerequisite::Parents,
    },
    Replay {
        example: "GalleryImageVersion_Create_WithTargetExtendedLocations",
        prerequisite: Prerequisite::Parents,
    },
    Replay {
        example: "GalleryImageVersion_Create_WithVHD",
        prerequisite: Prerequisite::Parents,
    },
    Replay {
        example: "GalleryImageVersion_Create_WithVHD_UefiSettings",
        prerequisite: Prerequisite::Parents,
    },
    Replay {
        example: "GalleryImageVersion_Create_WithVmAsSource",
        prerequisite: Prerequisite::Parents,
    },
    Replay {
        example: "GalleryImageVersion_Get",
        prerequisite: AS_RESPONDED,
    },
    Replay {
        example: "GalleryImageVersion_Get_WithReplicationStatus",
        prerequisite: AS_RESPONDED,
    },
    Replay {
        example: "GalleryImageVersion_Get_WithSnapshotsAsSource",
        prerequisite: AS_RESPONDED,
    },
    Replay {
        example: "GalleryImageVersion_Get_WithValidationProfile",
        prerequisite: AS_RESPONDED,
    },
    Replay {
        example: "GalleryImageVersion_Get_WithValidationProfileAndReplicationStatus",
        prerequisite: AS_RESPONDED,
    },
    Replay {
        example: "GalleryImageVersion_Get_WithVhdAsSource",
        prerequisite: AS_RESPONDED,
    },
    Replay {
        example: "GalleryImageVersion_ListByGalleryImage",
        prerequisite: AS_RESPONDED,
    },
    Replay {
        example: "GalleryImageVersion_Update",
        prerequisite: AS_RESPONDED,
    },
    Replay {
        example: "GalleryImageVersion_Update_WithoutSourceId",
        prerequisite: AS_RESPONDED,
    },
    Replay {
        example: "GalleryImageVersion_Delete",
        prerequisite: Prerequisite::FromExample("GalleryImageVersion_Create"),
    },
];

/// Examples of this directory with the prefixes above that are deliberately not replayed, and why.
const NOT_REPLAYED: &[(&str, &str)] = &[
    (
        "Gallery_AddToSharingProfile",
        "GallerySharingProfile_Update (POST …/galleries/{galleryName}/share) is not served by galleryd",
    ),
    (
        "Gallery_ResetSharingProfile",
        "GallerySharingProfile_Update (POST …/galleries/{galleryName}/share) is not served by galleryd",
    ),
    (
        "Gallery_EnableCommunityGallery",
        "GallerySharingProfile_Update (POST …/galleries/{galleryName}/share) is not served by galleryd",
    ),
    (
        "GalleryImageVersion_Update_RestoreSoftDeleted",
        "it restores a soft-deleted version (`restore: true`); galleryd does not soft-delete image \
         versions (no GallerySoftDeletedResource), so the state it starts from cannot be set up",
    ),
];

/// A difference between galleryd and an official example that is known and accepted for now.
struct KnownDifference {
    /// The example's name, or a prefix followed by `*` for a difference every example with that
    /// prefix may show.
    example: &'static str,
    /// What differs: `status`, `header <name>`, `field <path>` (covers everything below the path)
    /// or `value <path>`.
    subject: &'static str,
    reason: &'static str,
}

/// Known differences. Remove an entry once galleryd (or the example) no longer differs: a listed
/// difference that does not occur fails the replay.
const KNOWN_DIFFERENCES: &[KnownDifference] = &[
    // The example contradicts itself: its request sends no softDeletePolicy and its 200/202 bodies
    // show none, but its 201 body shows `softDeletePolicy.isSoftDeleteEnabled: true`. galleryd
    // serves only what was sent.
    KnownDifference {
        example: "Gallery_Create_WithManagedIdentity",
        subject: "field properties.softDeletePolicy",
        reason: "the example's 201 body shows a softDeletePolicy its request never sent",
    },
    // Sharing groups are read-only in a gallery PUT; Azure fills them through
    // GallerySharingProfile_Update (POST …/share), which galleryd does not serve, so the example's
    // state (a gallery shared with two subscriptions and a tenant) cannot be set up. galleryd answers
    // `groups: []`.
    KnownDifference {
        example: "Gallery_Get_WithSelectPermissions",
        subject: "field properties.sharingProfile.groups[]",
        reason: "sharing groups can only be added through POST …/share, which galleryd does not serve",
    },
    KnownDifference {
        example: "Gallery_Get_WithExpandSharingProfileGroups",
        subject: "field properties.sharingProfile.groups[]",
        reason: "sharing groups can only be added through POST …/share, which galleryd does not serve",
    },
    // galleryd does not serve the read-only `properties.sharingStatus` (aggregatedState and the
    // per-region summary) of a gallery at all.
    KnownDifference {
        example: "CommunityGallery_Get",
        subject: "field properties.sharingStatus",
        reason: "galleryd does not serve a gallery's sharingStatus",
    },
    // A community gallery gets its public names when it is enabled with POST …/share
    // (`EnableCommunity`), which galleryd does not serve: `publicNames` stays empty.
    KnownDifference {
        example: "CommunityGallery_Get",
        subject: "field properties.sharingProfile.communityGalleryInfo.publicNames[]",
        reason: "public names are assigned by POST …/share EnableCommunity, which galleryd does not serve",
    },
    // The image version examples show a version Azure's content scanning flagged
    // (`reportedForPolicyViolation: true`, one `ImageFlaggedUnsafe` violation). That state is the
    // service's verdict, not something a request sets; galleryd scans nothing and serves
    // `reportedForPolicyViolation: false` with `policyViolations: []`.
    KnownDifference {
        example: "GalleryImageVersion_*",
        subject: "field properties.safetyProfile.policyViolations[]",
        reason: "policy violations are reported by Azure's content scanning, which galleryd does not emulate",
    },
    KnownDifference {
        example: "GalleryImageVersion_ListByGalleryImage",
        subject: "field value[].properties.safetyProfile.policyViolations[]",
        reason: "policy violations are reported by Azure's content scanning, which galleryd does not emulate",
    },
    // A virtual machine cannot exist in galleryd (it serves no Microsoft.Compute/virtualMachines),
    // and it refuses `virtualMachineId` sources with a clear 400 InvalidParameter saying so.
    KnownDifference {
        example: "GalleryImageVersion_Create_WithVmAsSource",
        subject: "status",
        reason: "galleryd cannot capture virtual machines: VM sources are a 400 InvalidParameter",
    },
    KnownDifference {
        example: "GalleryImageVersion_Create_WithStorageAccountStrategy",
        subject: "status",
        reason: "its source is a virtual machine; galleryd cannot capture virtual machines: VM sources are a 400 InvalidParameter",
    },
    // A community gallery image is published through POST …/share (EnableCommunity), which
    // galleryd does not serve, so the source cannot be set up; galleryd refuses
    // `communityGalleryImageId` sources with a 400 InvalidParameter ("not supported … yet").
    KnownDifference {
        example: "GalleryImageVersion_Create_WithCommunityImageVersionAsSource",
        subject: "status",
        reason: "galleryd gap to fix: community gallery image sources are refused (400); they could not be set up anyway, POST …/share is not served",
    },
    // galleryd answers `$expand=ValidationProfile` (alone and with ReplicationStatus) with a
    // `validationsProfile` whose platform attributes name the definition and version, but it runs
    // no image validations: `executedValidations` is empty.
    KnownDifference {
        example: "GalleryImageVersion_Get_WithValidationProfile*",
        subject: "field properties.validationsProfile.executedValidations[]",
        reason: "galleryd runs no image validations (Azure's certification and security baseline checks), so executedValidations is empty",
    },
];

/// Scalars whose values are compared: the state a write reports and enum-like values that echo the
/// request. Matched as whole path suffixes, so they apply to list items too.
const COMPARED_VALUES: &[&str] = &[
    "properties.provisioningState",
    "properties.osType",
    "properties.osState",
    "properties.hyperVGeneration",
    "properties.architecture",
    "properties.sharingProfile.permissions",
    "properties.features[].name",
    "properties.features[].value",
    "identity.type",
    "properties.publishingProfile.targetRegions[].name",
    "properties.publishingProfile.targetRegions[].storageAccountType",
    "properties.publishingProfile.targetRegions[].excludeFromLatest",
    "properties.publishingProfile.targetRegions[].additionalReplicaSets[].storageAccountType",
    "properties.publishingProfile.storageAccountType",
    "properties.publishingProfile.storageAccountStrategy",
    "properties.publishingProfile.replicationMode",
    "properties.storageProfile.osDiskImage.hostCaching",
    "properties.storageProfile.dataDiskImages[].lun",
    "properties.storageProfile.dataDiskImages[].hostCaching",
    "properties.safetyProfile.allowDeletionOfReplicatedLocations",
    "properties.safetyProfile.blockDeletionBeforeEndOfLife",
    "properties.replicationStatus.aggregatedState",
    "properties.replicationStatus.summary[].region",
    "properties.replicationStatus.summary[].state",
];

// ----- the examples and the spec -----

/// How `GalleryRP.json` describes the operation an example belongs to.
#[derive(Debug, Clone)]
struct SpecOperation {
    operation_id: String,
    method: reqwest::Method,
    path: String,
    /// The name of the body parameter (`gallery`, `galleryImage`), if the operation takes one.
    body_parameter: Option<String>,
    /// Names of the query parameters it declares besides `api-version`.
    query_parameters: Vec<String>,
}

/// The examples directory and the operations of the spec, by example name.
struct Specs {
    directory: PathBuf,
    operations: HashMap<String, SpecOperation>,
}

fn crate_relative(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

impl Specs {
    /// Loads the spec, or explains why the replay is skipped.
    fn load() -> Result<Specs, String> {
        let directory = crate_relative(EXAMPLES_DIRECTORY);
        if !directory.is_dir() {
            return Err(format!(
                "the GalleryRP examples directory {} does not exist (the shared specs are not checked out next to the repository)",
                directory.display()
            ));
        }
        let spec_path = crate_relative(SPEC_FILE);
        let text = std::fs::read_to_string(&spec_path).map_err(|error| {
            format!(
                "the spec {} that maps examples to operations cannot be read: {error}",
                spec_path.display()
            )
        })?;
        let spec: Value = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{} is not valid JSON: {error}", spec_path.display()));
        Ok(Specs {
            directory,
            operations: example_operations(&spec),
        })
    }

    /// An example's document, its placeholders filled in ([`fill_placeholders`]).
    fn example(&self, name: &str) -> Result<Value, String> {
        let path = self.directory.join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        serde_json::from_str(&fill_placeholders(&text))
            .map_err(|error| format!("{} is not valid JSON: {error}", path.display()))
    }

    /// Names (without `.json`) of the examples in the directory this replay is responsible for.
    fn example_names(&self) -> BTreeSet<String> {
        let entries = std::fs::read_dir(&self.directory)
            .unwrap_or_else(|error| panic!("cannot list {}: {error}", self.directory.display()));
        entries
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                let name = name.strip_suffix(".json")?.to_string();
                EXAMPLE_PREFIXES
                    .iter()
                    .any(|prefix| name.starts_with(prefix))
                    .then_some(name)
            })
            .collect()
    }
}

/// An example's text with its placeholders filled in: the subscription's become the development
/// subscription, `{name}` becomes [`PLACEHOLDER_VALUES`]' value or `name`. Only braces around a name
/// (a letter, then letters, digits and hyphens) are placeholders; JSON's own braces are left alone.
fn fill_placeholders(text: &str) -> String {
    let mut text = text.to_string();
    for placeholder in SUBSCRIPTION_PLACEHOLDERS {
        text = text.replace(placeholder, DEVELOPMENT_SUBSCRIPTION_ID);
    }
    let mut filled = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(start) = rest.find('{') {
        filled.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let name = after.find('}').map(|end| &after[..end]).filter(|name| {
            name.starts_with(|character: char| character.is_ascii_alphabetic())
                && name
                    .chars()
                    .all(|character| character.is_ascii_alphanumeric() || character == '-')
        });
        match name {
            Some(name) => {
                let value = PLACEHOLDER_VALUES
                    .iter()
                    .find(|(placeholder, _)| *placeholder == name)
                    .map_or(name, |(_, value)| value);
                filled.push_str(value);
                rest = &after[name.len() + 1..];
            }
            None => {
                filled.push('{');
                rest = after;
            }
        }
    }
    filled.push_str(rest);
    filled
}

/// Example name → the operation listing it in `x-ms-examples`.
fn example_operations(spec: &Value) -> HashMap<String, SpecOperation> {
    let mut operations = HashMap::new();
    let Some(paths) = spec["paths"].as_object() else {
        return operations;
    };
    for (path, path_item) in paths {
        let Some(methods) = path_item.as_object() else {
            continue;
        };
        for (method, operation) in methods {
            let Some(examples) = operation["x-ms-examples"].as_object() else {
                continue;
            };
            let Ok(http_method) = reqwest::Method::from_bytes(method.to_uppercase().as_bytes())
            else {
                continue;
            };
            let inline_parameters: Vec<&Value> = operation["parameters"]
                .as_array()
                .map(|parameters| {
                    parameters
                        .iter()
                        .filter(|parameter| parameter.get("$ref").is_none())
                        .collect()
                })
                .unwrap_or_default();
            let parameter_names = |location: &str| -> Vec<String> {
                inline_parameters
                    .iter()
                    .filter(|parameter| parameter["in"] == location)
                    .filter_map(|parameter| parameter["name"].as_str())
                    .filter(|name| *name != "api-version")
                    .map(str::to_string)
                    .collect()
            };
            let described = SpecOperation {
                operation_id: operation["operationId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                method: http_method,
                path: path.clone(),
                body_parameter: parameter_names("body").into_iter().next(),
                query_parameters: parameter_names("query"),
            };
            for example in examples.values() {
                let Some(name) = example["$ref"]
                    .as_str()
                    .and_then(|reference| reference.strip_prefix(EXAMPLE_REFERENCE_PREFIX))
                    .and_then(|file| file.strip_suffix(".json"))
                else {
                    continue;
                };
                operations.insert(name.to_string(), described.clone());
            }
        }
    }
    operations
}

/// One example, read.
struct Example<'specs> {
    document: Value,
    operation: &'specs SpecOperation,
}

impl Example<'_> {
    fn parameters(&self) -> &Value {
        &self.document["parameters"]
    }

    fn parameter(&self, name: &str) -> Option<&str> {
        self.parameters()[name].as_str()
    }

    fn api_version(&self) -> Option<&str> {
        self.parameter("api-version")
            .or_else(|| self.parameter("version"))
    }

    fn statuses(&self) -> BTreeSet<u16> {
        self.document["responses"]
            .as_object()
            .map(|responses| {
                responses
                    .keys()
                    .filter_map(|status| status.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn response(&self, status: u16) -> &Value {
        &self.document["responses"][status.to_string()]
    }

    /// The request body: the parameter the operation names as its body.
    fn request_body(&self) -> Option<&Value> {
        self.operation
            .body_parameter
            .as_ref()
            .and_then(|name| self.parameters().get(name))
    }

    fn is_list(&self) -> bool {
        self.response(200)["body"]["value"].is_array()
    }

    /// The resource the example's 200 body shows (for a list: its first item).
    fn sample_resource(&self) -> Option<&Value> {
        let body = &self.response(200)["body"];
        let resource = if self.is_list() {
            &body["value"][0]
        } else {
            body
        };
        resource.is_object().then_some(resource)
    }

    fn kind(&self) -> Kind {
        let operation_id = &self.operation.operation_id;
        if operation_id.starts_with("GalleryImageVersions_") {
            Kind::ImageVersion
        } else if operation_id.starts_with("GalleryImages_") {
            Kind::ImageDefinition
        } else {
            Kind::Gallery
        }
    }
}

/// What an example is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gallery,
    ImageDefinition,
    ImageVersion,
}

// ----- field paths -----

/// Every field path of a JSON document, with the value found there: `properties.identifier`,
/// `value[]` (an array with at least one item), `value[].name` (fields of the first item).
fn field_paths(document: &Value) -> BTreeMap<String, &Value> {
    fn collect<'document>(
        value: &'document Value,
        prefix: &str,
        paths: &mut BTreeMap<String, &'document Value>,
    ) {
        match value {
            Value::Object(members) => {
                for (key, member) in members {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    paths.insert(path.clone(), member);
                    collect(member, &path, paths);
                }
            }
            Value::Array(items) => {
                if let Some(first) = items.first() {
                    let path = format!("{prefix}[]");
                    paths.insert(path.clone(), first);
                    collect(first, &path, paths);
                }
            }
            _ => {}
        }
    }
    let mut paths = BTreeMap::new();
    collect(document, "", &mut paths);
    paths
}

/// Whether `path` lies below `ancestor` (`a.b` is below `a`, `a[].b` below `a[]` and `a`).
fn is_below(path: &str, ancestor: &str) -> bool {
    path.strip_prefix(ancestor)
        .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// Whether values at `path` are compared.
fn is_compared(path: &str) -> bool {
    COMPARED_VALUES.iter().any(|compared| {
        path.strip_suffix(compared)
            .is_some_and(|head| head.is_empty() || head.ends_with('.'))
    })
}

// ----- mismatches -----

/// One way galleryd's answer differs from an example.
#[derive(Debug, Clone)]
struct Mismatch {
    example: String,
    subject: String,
    detail: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{} — {}: {}",
            self.example, self.subject, self.detail
        )
    }
}

/// Collects the mismatches of one example.
struct Findings {
    example: &'static str,
    mismatches: Vec<Mismatch>,
}

impl Findings {
    fn add(&mut self, subject: impl Into<String>, detail: impl Into<String>) {
        self.mismatches.push(Mismatch {
            example: self.example.to_string(),
            subject: subject.into(),
            detail: detail.into(),
        });
    }
}

/// Compares an answer's body with the example's: fields the example has must exist (only the
/// topmost missing field is reported), compared values must be equal.
fn compare_bodies(expected: &Value, actual: &Value, findings: &mut Findings) {
    let expected_paths = field_paths(expected);
    let actual_paths = field_paths(actual);
    let mut missing: Vec<&str> = Vec::new();
    for (path, expected_value) in &expected_paths {
        match actual_paths.get(path) {
            None => {
                if !missing.iter().any(|ancestor| is_below(path, ancestor)) {
                    missing.push(path);
                    findings.add(
                        format!("field {path}"),
                        format!(
                            "missing from galleryd's answer (the example has {expected_value})"
                        ),
                    );
                }
            }
            Some(actual_value) => {
                if is_compared(path) && actual_value != expected_value {
                    findings.add(
                        format!("value {path}"),
                        format!("galleryd answers {actual_value}, the example {expected_value}"),
                    );
                }
            }
        }
    }
}

// ----- talking to galleryd -----

/// Encodes a query value.
fn encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/$".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    query: &[(&str, &str)],
    body: Option<&Value>,
) -> TestResponse {
    let query: Vec<String> = query
        .iter()
        .map(|(name, value)| format!("{name}={}", encode(value)))
        .collect();
    app.request(method, &format!("{path}?{}", query.join("&")), body)
        .await
}

/// PUTs a prerequisite, follows its async operation to the end and reports when galleryd does not
/// accept it or the operation does not succeed.
async fn put_prerequisite(
    app: &TestApp,
    path: &str,
    api_version: &str,
    body: &Value,
    findings: &mut Findings,
) -> bool {
    let response = send(
        app,
        reqwest::Method::PUT,
        path,
        &[("api-version", api_version)],
        Some(body),
    )
    .await;
    if matches!(response.status, 200..=202) {
        settle(app, &format!("PUT {path}"), &response, findings).await
    } else {
        findings.add(
            "setup",
            format!(
                "PUT {path} with {body} answered {}: {}",
                response.status, response.text
            ),
        );
        false
    }
}

/// Follows the `Azure-AsyncOperation` of a write (when it has one) until the operation ends; false,
/// with a finding, unless it succeeded in time.
async fn settle(
    app: &TestApp,
    what: &str,
    response: &TestResponse,
    findings: &mut Findings,
) -> bool {
    let Some(url) = response.header("azure-asyncoperation").map(str::to_string) else {
        return true;
    };
    let deadline = tokio::time::Instant::now() + OPERATION_TIMEOUT;
    loop {
        let status = app.request(reqwest::Method::GET, &url, None).await;
        match (status.status, status.json()["status"].as_str()) {
            (200, Some("Succeeded")) => return true,
            (200, Some("InProgress")) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            _ => {
                findings.add(
                    "setup",
                    format!(
                        "{what}: its operation {url} did not succeed within {OPERATION_TIMEOUT:?}: {} {}",
                        status.status, status.text
                    ),
                );
                return false;
            }
        }
    }
}

/// The resource group named by an id (`…/resourceGroups/{name}/…`).
fn group_from_id(id: &str) -> Option<String> {
    let segments: Vec<&str> = id.split('/').collect();
    segments
        .iter()
        .position(|segment| segment.eq_ignore_ascii_case("resourceGroups"))
        .and_then(|index| segments.get(index + 1))
        .map(|name| name.to_string())
}

/// A PUT body made of a resource as a response shows it, without the members at `without`.
fn body_from_resource(resource: &Value, without: &[&str]) -> Value {
    let mut body = resource.clone();
    if let Some(members) = body.as_object_mut() {
        for member in ["id", "name", "type", "systemData"] {
            members.remove(member);
        }
    }
    if let Some(properties) = body["properties"].as_object_mut() {
        properties.remove("provisioningState");
    }
    for pointer in without {
        let (parent, member) = pointer.rsplit_once('/').unwrap_or(("", pointer));
        if let Some(parent) = body.pointer_mut(parent).and_then(Value::as_object_mut) {
            parent.remove(member);
        }
    }
    body
}

/// The same resource under another name (and, for an image definition, another SKU), so that a
/// list has a second page.
fn second_resource(body: &Value, kind: Kind) -> Value {
    let mut second = body.clone();
    if kind == Kind::ImageDefinition
        && let Some(sku) = second.pointer_mut("/properties/identifier/sku")
        && let Some(text) = sku.as_str()
    {
        *sku = Value::String(format!("{text}Second"));
    }
    second
}

/// The path of the second resource of a list: the name with `Second` appended, or for a version
/// the next patch version (`1.0.0` → `1.0.1`).
fn second_path(path: &str, kind: Kind) -> String {
    if kind != Kind::ImageVersion {
        return format!("{path}Second");
    }
    let (head, name) = path.rsplit_once('/').unwrap_or(("", path));
    let next = match name.rsplit_once('.') {
        Some((major_minor, patch)) => match patch.parse::<u64>() {
            Ok(patch) => format!("{major_minor}.{}", patch + 1),
            Err(_) => format!("{name}.1"),
        },
        None => format!("{name}.1"),
    };
    format!("{head}/{next}")
}

// ----- the sources of image versions -----

/// One disk of a version's source, as the example's response shows it.
#[derive(Debug, Clone)]
struct DiskShape {
    /// `None` for the OS disk.
    lun: Option<i64>,
    size_gb: i64,
    host_caching: Option<String>,
}

impl DiskShape {
    fn name(&self, owner: &str) -> String {
        disk_resource_name(owner, self.lun)
    }
}

/// How a snapshot made for a disk is named after its owner: `{owner}-osdisk`, `{owner}-lun1`.
fn disk_resource_name(owner: &str, lun: Option<i64>) -> String {
    match lun {
        None => format!("{owner}-osdisk"),
        Some(lun) => format!("{owner}-lun{lun}"),
    }
}

/// The storage profile the first of `documents` that shows disks shows (for a list: of its first
/// item), or `null`.
fn shown_storage_profile(documents: &[&Value]) -> Value {
    documents
        .iter()
        .map(|document| {
            if document["value"].is_array() {
                &document["value"][0]
            } else {
                *document
            }
        })
        .map(|resource| &resource["properties"]["storageProfile"])
        .find(|profile| {
            profile.get("osDiskImage").is_some() || profile.get("dataDiskImages").is_some()
        })
        .cloned()
        .unwrap_or(Value::Null)
}

/// The disks a storage profile shows: always an OS disk, then its data disks.
fn disk_shapes(storage_profile: &Value) -> Vec<DiskShape> {
    let shape = |lun: Option<i64>, disk: &Value| DiskShape {
        lun,
        size_gb: disk["sizeInGB"].as_i64().unwrap_or(DEFAULT_SOURCE_DISK_GB),
        host_caching: disk["hostCaching"].as_str().map(str::to_string),
    };
    let mut shapes = vec![shape(None, &storage_profile["osDiskImage"])];
    for disk in storage_profile["dataDiskImages"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(lun) = disk["lun"].as_i64() {
            shapes.push(shape(Some(lun), disk));
        }
    }
    shapes
}

/// Where a version body names a source.
#[derive(Debug, Clone, Copy)]
enum SourceSlot {
    /// `storageProfile.source`: a whole image (managed image, gallery image version, VM, community
    /// gallery image).
    WholeImage,
    /// `storageProfile.osDiskImage.source` (`None`) or `dataDiskImages[].source` (its LUN).
    Disk(Option<i64>),
}

/// JSON pointers to the `source` objects of a version body, with what they are the source of.
fn source_slots(body: &Value) -> Vec<(String, SourceSlot)> {
    let profile = "/properties/storageProfile";
    let mut slots = vec![
        (format!("{profile}/source"), SourceSlot::WholeImage),
        (
            format!("{profile}/osDiskImage/source"),
            SourceSlot::Disk(None),
        ),
    ];
    if let Some(disks) = body
        .pointer(&format!("{profile}/dataDiskImages"))
        .and_then(Value::as_array)
    {
        for (index, disk) in disks.iter().enumerate() {
            slots.push((
                format!("{profile}/dataDiskImages/{index}/source"),
                SourceSlot::Disk(disk["lun"].as_i64()),
            ));
        }
    }
    slots.retain(|(pointer, _)| body.pointer(pointer).is_some_and(Value::is_object));
    slots
}

/// The segments of a Microsoft.Compute id after `providers/Microsoft.Compute`, and its resource
/// group; `None` for any other id.
fn compute_id(id: &str) -> Option<(String, Vec<String>)> {
    let segments: Vec<&str> = id.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        [
            subscriptions,
            _,
            groups,
            group,
            providers,
            namespace,
            rest @ ..,
        ] if subscriptions.eq_ignore_ascii_case("subscriptions")
            && groups.eq_ignore_ascii_case("resourceGroups")
            && providers.eq_ignore_ascii_case("providers")
            && namespace.eq_ignore_ascii_case("Microsoft.Compute") =>
        {
            Some((
                group.to_string(),
                rest.iter().map(|segment| segment.to_string()).collect(),
            ))
        }
        _ => None,
    }
}

/// A snapshot name made of a VHD blob's name: its last path segment without the extension, with
/// characters a snapshot name may not hold replaced.
fn stand_in_name(uri: &str) -> String {
    let path = uri.split('?').next().unwrap_or(uri);
    let file = path.rsplit('/').next().unwrap_or(path);
    let stem = file
        .strip_suffix(".vhd")
        .or_else(|| file.strip_suffix(".VHD"))
        .unwrap_or(file);
    let name: String = stem
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || "._-".contains(character) {
                character
            } else {
                '-'
            }
        })
        .take(60)
        .collect();
    name.trim_end_matches(['.', '-']).to_string()
}

/// Creates the sources image version bodies name, through the API, each once.
struct SourceMaker<'a> {
    app: &'a TestApp,
    /// The example's api-version (for galleries, definitions and versions).
    gallery_api: &'a str,
    /// The version's location: every source is made there.
    location: &'a str,
    /// The example's resource group (VHD stand-ins are made there).
    group: &'a str,
    /// The body of the image definitions of gallery image version sources.
    definition: &'a Value,
    /// The disks of whole-image sources, and the sizes of disk sources.
    shapes: Vec<DiskShape>,
    /// Resource groups made (lowercase).
    groups: BTreeSet<String>,
    /// Sources made (lowercase ids).
    made: BTreeSet<String>,
    /// VHD URI and LUN → the blob URL of its stand-in.
    blobs: BTreeMap<(String, Option<i64>), String>,
}

impl SourceMaker<'_> {
    fn disk_api() -> &'static str {
        gallery_domain::api_version::ApiFamily::ComputeDisk.newest()
    }

    fn compute_path(&self, group: &str, rest: &str) -> String {
        format!(
            "{}/providers/Microsoft.Compute/{rest}",
            self.app.group_path(group)
        )
    }

    fn size_of(&self, lun: Option<i64>) -> i64 {
        self.shapes
            .iter()
            .find(|shape| shape.lun == lun)
            .map_or(DEFAULT_SOURCE_DISK_GB, |shape| shape.size_gb)
    }

    /// Makes every source `body` names and points its VHD sources at their stand-ins.
    async fn prepare(&mut self, body: &mut Value, findings: &mut Findings) -> bool {
        for (pointer, slot) in source_slots(body) {
            let source = body.pointer(&pointer).cloned().unwrap_or(Value::Null);
            if let Some(uri) = source["uri"].as_str() {
                let lun = match slot {
                    SourceSlot::Disk(lun) => lun,
                    SourceSlot::WholeImage => None,
                };
                let Some(url) = self.blob(uri, lun, findings).await else {
                    return false;
                };
                if let Some(source) = body.pointer_mut(&pointer) {
                    source["uri"] = Value::String(url);
                }
            }
            if let Some(id) = source["id"].as_str() {
                let made = match slot {
                    SourceSlot::WholeImage => self.whole_image(id, findings).await,
                    SourceSlot::Disk(lun) => self.disk(id, self.size_of(lun), findings).await,
                };
                if !made {
                    return false;
                }
            }
            // `virtualMachineId` and `communityGalleryImageId` name what galleryd cannot hold.
        }
        true
    }

    async fn resource_group(&mut self, group: &str, findings: &mut Findings) -> bool {
        if !self.groups.insert(group.to_lowercase()) {
            return true;
        }
        put_prerequisite(
            self.app,
            &self
                .app
                .subscription_path(&format!("/resourcegroups/{group}")),
            RESOURCES_API,
            &json!({ "location": self.location }),
            findings,
        )
        .await
    }

    /// An `Empty` snapshot or managed disk (`id` names which) of `size_gb`.
    async fn disk(&mut self, id: &str, size_gb: i64, findings: &mut Findings) -> bool {
        if !self.made.insert(id.to_lowercase()) {
            return true;
        }
        let Some((group, rest)) = compute_id(id) else {
            findings.add("setup", format!("cannot make the source {id}"));
            return false;
        };
        if !matches!(
            rest.first().map(String::as_str),
            Some("snapshots" | "disks")
        ) {
            findings.add("setup", format!("{id} is not a snapshot or managed disk"));
            return false;
        }
        let body = json!({
            "location": self.location,
            "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": size_gb}
        });
        self.resource_group(&group, findings).await
            && put_prerequisite(self.app, id, Self::disk_api(), &body, findings).await
    }

    /// `Empty` snapshots `{owner}-osdisk`, `{owner}-lun{n}` for every disk of a whole-image source;
    /// returns their ids, with the shapes.
    async fn snapshots_for(
        &mut self,
        group: &str,
        owner: &str,
        findings: &mut Findings,
    ) -> Option<Vec<(DiskShape, String)>> {
        let mut made = Vec::new();
        for shape in self.shapes.clone() {
            let id = self.compute_path(group, &format!("snapshots/{}", shape.name(owner)));
            if !self.disk(&id, shape.size_gb, findings).await {
                return None;
            }
            made.push((shape, id));
        }
        Some(made)
    }

    /// A managed image or a gallery image version, with the disks of [`Self::shapes`]; other kinds
    /// (virtual machines) are left alone.
    async fn whole_image(&mut self, id: &str, findings: &mut Findings) -> bool {
        let Some((group, rest)) = compute_id(id) else {
            findings.add("setup", format!("cannot make the source {id}"));
            return false;
        };
        let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
        let is_image =
            matches!(rest.as_slice(), [images, _] if images.eq_ignore_ascii_case("images"));
        let is_version = matches!(rest.as_slice(), [galleries, _, images, _, versions, _]
            if galleries.eq_ignore_ascii_case("galleries")
                && images.eq_ignore_ascii_case("images")
                && versions.eq_ignore_ascii_case("versions"));
        if !(is_image || is_version) || !self.made.insert(id.to_lowercase()) {
            return true;
        }
        if !self.resource_group(&group, findings).await {
            return false;
        }
        if is_image {
            self.managed_image(id, &group, rest[1], findings).await
        } else {
            self.gallery_version(id, &group, rest[1], rest[3], rest[5], findings)
                .await
        }
    }

    async fn managed_image(
        &mut self,
        id: &str,
        group: &str,
        name: &str,
        findings: &mut Findings,
    ) -> bool {
        let Some(snapshots) = self.snapshots_for(group, name, findings).await else {
            return false;
        };
        let properties = &self.definition["properties"];
        let mut os_disk = json!({
            "osType": properties["osType"].as_str().unwrap_or("Linux"),
            "osState": properties["osState"].as_str().unwrap_or("Generalized"),
        });
        let mut data_disks = Vec::new();
        for (shape, snapshot) in &snapshots {
            let mut disk = match shape.lun {
                None => os_disk.clone(),
                Some(lun) => json!({ "lun": lun }),
            };
            disk["snapshot"] = json!({ "id": snapshot });
            if let Some(caching) = &shape.host_caching {
                disk["caching"] = Value::String(caching.clone());
            }
            match shape.lun {
                None => os_disk = disk,
                Some(_) => data_disks.push(disk),
            }
        }
        let mut body = json!({
            "location": self.location,
            "properties": {"storageProfile": {"osDisk": os_disk, "dataDisks": data_disks}}
        });
        if let Some(generation) = properties["hyperVGeneration"].as_str() {
            body["properties"]["hyperVGeneration"] = Value::String(generation.to_string());
        }
        put_prerequisite(self.app, id, COMPUTE_API, &body, findings).await
    }

    async fn gallery_version(
        &mut self,
        id: &str,
        group: &str,
        gallery: &str,
        image: &str,
        version: &str,
        findings: &mut Findings,
    ) -> bool {
        let gallery_path = self.compute_path(group, &format!("galleries/{gallery}"));
        let image_path = format!("{gallery_path}/images/{image}");
        let mut definition = self.definition.clone();
        definition["location"] = Value::String(self.location.to_string());
        if !put_prerequisite(
            self.app,
            &gallery_path,
            self.gallery_api,
            &json!({ "location": self.location }),
            findings,
        )
        .await
            || !put_prerequisite(
                self.app,
                &image_path,
                self.gallery_api,
                &definition,
                findings,
            )
            .await
        {
            return false;
        }
        let Some(snapshots) = self
            .snapshots_for(group, &format!("{image}-{version}"), findings)
            .await
        else {
            return false;
        };
        let mut profile = json!({});
        let mut data_disks = Vec::new();
        for (shape, snapshot) in &snapshots {
            let mut disk = json!({ "source": { "id": snapshot } });
            if let Some(caching) = &shape.host_caching {
                disk["hostCaching"] = Value::String(caching.clone());
            }
            match shape.lun {
                None => profile["osDiskImage"] = disk,
                Some(lun) => {
                    disk["lun"] = json!(lun);
                    data_disks.push(disk);
                }
            }
        }
        if !data_disks.is_empty() {
            profile["dataDiskImages"] = Value::Array(data_disks);
        }
        let body = json!({
            "location": self.location,
            "properties": {"storageProfile": profile}
        });
        put_prerequisite(self.app, id, self.gallery_api, &body, findings).await
    }

    /// The blob URL of the stand-in of a VHD for one disk: an `Empty` snapshot named after the blob
    /// and the disk, in the example's group; its URL is the read SAS's without the SAS (granted,
    /// then revoked). Each disk gets its own stand-in: the VHD examples point the OS and the data
    /// disk at the same blob, which galleryd refuses (400 "OSDiskImage and DataDiskImage cannot
    /// point to same blob").
    async fn blob(
        &mut self,
        uri: &str,
        lun: Option<i64>,
        findings: &mut Findings,
    ) -> Option<String> {
        let key = (uri.to_string(), lun);
        if let Some(url) = self.blobs.get(&key) {
            return Some(url.clone());
        }
        let group = self.group.to_string();
        let name = disk_resource_name(&stand_in_name(uri), lun);
        let path = self.compute_path(&group, &format!("snapshots/{name}"));
        if !self.disk(&path, self.size_of(lun), findings).await {
            return None;
        }
        let action = |name: &str| format!("{path}/{name}?api-version={}", Self::disk_api());
        let granted = self
            .app
            .request(
                reqwest::Method::POST,
                &action("beginGetAccess"),
                Some(&json!({"access": "Read", "durationInSeconds": 3600})),
            )
            .await;
        // Azure answers 202; the SAS is the result its Location answers.
        let result = match granted.header("location") {
            Some(location) if granted.status == 202 => self
                .app
                .request(reqwest::Method::GET, location, None)
                .await
                .json(),
            _ => granted.json(),
        };
        let Some(sas) = result["accessSAS"].as_str().map(str::to_string) else {
            findings.add(
                "setup",
                format!(
                    "beginGetAccess on {path} answered {}: {}",
                    granted.status, granted.text
                ),
            );
            return None;
        };
        let revoked = self
            .app
            .request(reqwest::Method::POST, &action("endGetAccess"), None)
            .await;
        if revoked.status != 202 {
            findings.add(
                "setup",
                format!(
                    "endGetAccess on {path} answered {}: {}",
                    revoked.status, revoked.text
                ),
            );
            return None;
        }
        let url = sas.split('?').next().unwrap_or(&sas).to_string();
        self.blobs.insert(key, url.clone());
        Some(url)
    }
}

/// The request body of [`DEFINITION_EXAMPLE`], in `location`.
fn definition_body(specs: &Specs, location: &str) -> Result<Value, String> {
    let document = specs.example(DEFINITION_EXAMPLE)?;
    let body = specs
        .operations
        .get(DEFINITION_EXAMPLE)
        .and_then(|operation| operation.body_parameter.as_ref())
        .map(|name| document["parameters"][name].clone())
        .filter(Value::is_object)
        .ok_or_else(|| format!("{DEFINITION_EXAMPLE} has no request body"))?;
    let mut body = body;
    body["location"] = Value::String(location.to_string());
    Ok(body)
}

/// Replays one example on a fresh server; returns how galleryd's answer differs from it.
async fn replay(backend: Backend, specs: &Specs, replay: &Replay) -> Vec<Mismatch> {
    let mut findings = Findings {
        example: replay.example,
        mismatches: Vec::new(),
    };
    let document = match specs.example(replay.example) {
        Ok(document) => document,
        Err(error) => {
            findings.add("example", error);
            return findings.mismatches;
        }
    };
    let Some(operation) = specs.operations.get(replay.example) else {
        findings.add(
            "example",
            "no operation of GalleryRP.json lists this example",
        );
        return findings.mismatches;
    };
    let example = Example {
        document,
        operation,
    };
    if let Some(declared) = example.document["operationId"].as_str()
        && declared != operation.operation_id
    {
        findings.add(
            "example",
            format!(
                "declares operationId {declared}, but {} lists it",
                operation.operation_id
            ),
        );
    }
    let Some(api_version) = example.api_version().map(str::to_string) else {
        findings.add("example", "names no api-version");
        return findings.mismatches;
    };

    // Names and location of everything the example touches.
    let kind = example.kind();
    let sample = example.sample_resource();
    let group = example
        .parameter("resourceGroupName")
        .map(str::to_string)
        .or_else(|| {
            sample
                .and_then(|resource| resource["id"].as_str())
                .and_then(group_from_id)
        });
    let sample_name = sample.and_then(|resource| resource["name"].as_str());
    let own_name = |of: Kind| if kind == of { sample_name } else { None };
    let gallery = example.parameter("galleryName").or(own_name(Kind::Gallery));
    let image = example
        .parameter("galleryImageName")
        .or(own_name(Kind::ImageDefinition));
    let version = example
        .parameter("galleryImageVersionName")
        .or(own_name(Kind::ImageVersion));
    let (Some(group), Some(gallery)) = (group, gallery.map(str::to_string)) else {
        findings.add("example", "names no resource group or gallery");
        return findings.mismatches;
    };
    if kind != Kind::Gallery && image.is_none() {
        findings.add("example", "names no image definition");
        return findings.mismatches;
    }
    if kind == Kind::ImageVersion && version.is_none() {
        findings.add("example", "names no image version");
        return findings.mismatches;
    }
    let location = example
        .request_body()
        .and_then(|body| body["location"].as_str())
        .or_else(|| sample.and_then(|resource| resource["location"].as_str()))
        .unwrap_or(DEFAULT_LOCATION)
        .to_string();

    // A list example showing a nextLink needs a second page: page size 1 and a second item.
    let needs_second_page =
        example.is_list() && example.response(200)["body"].get("nextLink").is_some();
    let app = if needs_second_page {
        TestApp::start_with(backend, |config| config.page_size = 1).await
    } else {
        TestApp::start(backend).await
    };

    // The parents.
    let group_path = app.subscription_path(&format!("/resourcegroups/{group}"));
    let group_body = json!({ "location": location });
    let group_response = send(
        &app,
        reqwest::Method::PUT,
        &group_path,
        &[("api-version", RESOURCES_API)],
        Some(&group_body),
    )
    .await;
    if !matches!(group_response.status, 200 | 201) {
        findings.add(
            "setup",
            format!(
                "resource group {group}: {} {}",
                group_response.status, group_response.text
            ),
        );
        return findings.mismatches;
    }
    let gallery_path = app.gallery_path(&group, &gallery);
    if kind != Kind::Gallery
        && !put_prerequisite(
            &app,
            &gallery_path,
            &api_version,
            &json!({ "location": location }),
            &mut findings,
        )
        .await
    {
        return findings.mismatches;
    }
    let definition = if kind == Kind::ImageVersion {
        match definition_body(specs, &location) {
            Ok(body) => body,
            Err(error) => {
                findings.add("setup", error);
                return findings.mismatches;
            }
        }
    } else {
        Value::Null
    };
    let image_path = image.map(|image| app.image_path(&group, &gallery, image));
    if kind == Kind::ImageVersion
        && let Some(image_path) = &image_path
        && !put_prerequisite(&app, image_path, &api_version, &definition, &mut findings).await
    {
        return findings.mismatches;
    }
    let resource_path = match (&image_path, version) {
        (Some(image_path), Some(version)) => format!("{image_path}/versions/{version}"),
        (Some(image_path), None) => image_path.clone(),
        (None, _) => gallery_path.clone(),
    };

    // The resource itself.
    let mut other_document = None;
    let mut prerequisite_body = match replay.prerequisite {
        Prerequisite::Parents => None,
        Prerequisite::FromResponse { without } => match sample {
            Some(resource) => Some(body_from_resource(resource, without)),
            None => {
                findings.add("example", "has no 200 body to set the resource up from");
                return findings.mismatches;
            }
        },
        Prerequisite::FromExample(other) => {
            let document = match specs.example(other) {
                Ok(document) => document,
                Err(error) => {
                    findings.add("setup", error);
                    return findings.mismatches;
                }
            };
            let body = specs
                .operations
                .get(other)
                .and_then(|other_operation| other_operation.body_parameter.as_ref())
                .map(|name| &document["parameters"][name])
                .filter(|body| body.is_object())
                .cloned();
            other_document = Some(document);
            match body {
                Some(body) => Some(body),
                None => {
                    findings.add("setup", format!("{other} has no request body to reuse"));
                    return findings.mismatches;
                }
            }
        }
    };
    let mut request_body = example.request_body().cloned();

    // The sources of an image version, in the shapes the example shows.
    if kind == Kind::ImageVersion {
        let mut shown: Vec<&Value> = Vec::new();
        for document in [Some(&example.document), other_document.as_ref()]
            .into_iter()
            .flatten()
        {
            for status in ["201", "200"] {
                shown.push(&document["responses"][status]["body"]);
            }
        }
        shown.extend(request_body.iter());
        let mut maker = SourceMaker {
            app: &app,
            gallery_api: &api_version,
            location: &location,
            group: &group,
            definition: &definition,
            shapes: disk_shapes(&shown_storage_profile(&shown)),
            groups: BTreeSet::from([group.to_lowercase()]),
            made: BTreeSet::new(),
            blobs: BTreeMap::new(),
        };
        for body in [prerequisite_body.as_mut(), request_body.as_mut()]
            .into_iter()
            .flatten()
        {
            if !maker.prepare(body, &mut findings).await {
                return findings.mismatches;
            }
        }
    }

    if let Some(body) = &prerequisite_body {
        if !put_prerequisite(&app, &resource_path, &api_version, body, &mut findings).await {
            return findings.mismatches;
        }
        if needs_second_page {
            let second_body = second_resource(body, kind);
            if !put_prerequisite(
                &app,
                &second_path(&resource_path, kind),
                &api_version,
                &second_body,
                &mut findings,
            )
            .await
            {
                return findings.mismatches;
            }
        }
    }

    // The example's request.
    let mut path = operation.path.clone();
    for (name, value) in [
        ("subscriptionId", Some(DEVELOPMENT_SUBSCRIPTION_ID)),
        ("resourceGroupName", Some(group.as_str())),
        ("galleryName", Some(gallery.as_str())),
        ("galleryImageName", image),
        ("galleryImageVersionName", version),
    ] {
        if let Some(value) = value {
            path = path.replace(&format!("{{{name}}}"), value);
        }
    }
    if path.contains('{') {
        findings.add(
            "example",
            format!("path parameters left unfilled in {path}"),
        );
        return findings.mismatches;
    }
    let mut query: Vec<(&str, &str)> = vec![("api-version", api_version.as_str())];
    for name in &operation.query_parameters {
        if let Some(value) = example.parameter(name) {
            query.push((name.as_str(), value));
        }
    }
    let response = send(
        &app,
        operation.method.clone(),
        &path,
        &query,
        request_body.as_ref(),
    )
    .await;

    // Status: one of the example's; 201 for a create on a fresh resource, 202 for a deletion.
    let statuses = example.statuses();
    let expected_status = if operation.method == reqwest::Method::PUT
        && matches!(replay.prerequisite, Prerequisite::Parents)
        && statuses.contains(&201)
    {
        201
    } else if operation.method == reqwest::Method::DELETE && statuses.contains(&202) {
        202
    } else {
        statuses
            .iter()
            .copied()
            .find(|status| (200..300).contains(status))
            .unwrap_or(200)
    };
    if response.status != expected_status {
        let listed = if statuses.contains(&response.status) {
            "listed by the example, but not the one expected here"
        } else {
            "not listed by the example"
        };
        findings.add(
            "status",
            format!(
                "{} {path} answered {} ({listed}; expected {expected_status}, example lists {statuses:?}): {}",
                operation.method, response.status, response.text
            ),
        );
        return findings.mismatches;
    }

    // Headers and body of the example's response for that status.
    let expected = example.response(response.status);
    if let Some(headers) = expected["headers"].as_object() {
        for name in headers.keys() {
            if response.header(name).is_none() {
                findings.add(
                    format!("header {name}"),
                    format!("missing from galleryd's {} answer", response.status),
                );
            }
        }
    }
    let expected_body = &expected["body"];
    if expected_body.is_object() {
        let actual = response.json();
        if actual.is_null() {
            findings.add(
                "body",
                format!("galleryd's answer is not JSON: {}", response.text),
            );
        } else {
            compare_bodies(expected_body, &actual, &mut findings);
        }
    }
    findings.mismatches
}

/// Whether a [`KnownDifference::example`] names `example`: equal, or a prefix followed by `*`.
fn names_example(pattern: &str, example: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => example.starts_with(prefix),
        None => pattern == example,
    }
}

/// Replays every example on `backend` and fails with every difference not known and accepted.
async fn replay_all(backend: Backend) {
    let specs = match Specs::load() {
        Ok(specs) => specs,
        Err(reason) => {
            eprintln!("GalleryRP example replay skipped on {backend:?}: {reason}");
            return;
        }
    };
    let mut mismatches = Vec::new();
    for entry in REPLAYS {
        mismatches.extend(replay(backend, &specs, entry).await);
    }
    let is_known = |mismatch: &Mismatch, known: &KnownDifference| {
        names_example(known.example, &mismatch.example)
            && (mismatch.subject == known.subject
                || known
                    .subject
                    .strip_prefix("field ")
                    .is_some_and(|ancestor| {
                        mismatch
                            .subject
                            .strip_prefix("field ")
                            .is_some_and(|path| is_below(path, ancestor))
                    }))
    };
    let unexpected: Vec<String> = mismatches
        .iter()
        .filter(|mismatch| {
            !KNOWN_DIFFERENCES
                .iter()
                .any(|known| is_known(mismatch, known))
        })
        .map(Mismatch::to_string)
        .collect();
    let stale: Vec<String> = KNOWN_DIFFERENCES
        .iter()
        .filter(|known| !mismatches.iter().any(|mismatch| is_known(mismatch, known)))
        .map(|known| format!("{} — {} ({})", known.example, known.subject, known.reason))
        .collect();
    for known in KNOWN_DIFFERENCES {
        if mismatches.iter().any(|mismatch| is_known(mismatch, known)) {
            eprintln!(
                "known difference ({backend:?}): {} — {}: {}",
                known.example, known.subject, known.reason
            );
        }
    }
    assert!(
        unexpected.is_empty() && stale.is_empty(),
        "galleryd differs from the official examples on {backend:?}.\n\
         Unexpected differences ({}):\n  {}\n\
         Listed in KNOWN_DIFFERENCES but no longer occurring, remove them ({}):\n  {}",
        unexpected.len(),
        unexpected.join("\n  "),
        stale.len(),
        stale.join("\n  ")
    );
}

both_stores! {
    async fn official_gallery_examples(backend) {
        replay_all(backend).await;
    }
}

/// Every example of the gallery, image definition and image version families
/// ([`EXAMPLE_PREFIXES`]) is replayed or excused with a reason.
#[test]
fn every_gallery_example_is_replayed_or_excused() {
    let specs = match Specs::load() {
        Ok(specs) => specs,
        Err(reason) => {
            eprintln!("GalleryRP example inventory skipped: {reason}");
            return;
        }
    };
    let present = specs.example_names();
    let accounted: BTreeSet<String> = REPLAYS
        .iter()
        .map(|replay| replay.example)
        .chain(NOT_REPLAYED.iter().map(|(example, _)| *example))
        .map(str::to_string)
        .collect();
    let unaccounted: Vec<&String> = present.difference(&accounted).collect();
    let absent: Vec<&String> = accounted.difference(&present).collect();
    assert!(
        unaccounted.is_empty() && absent.is_empty(),
        "examples neither replayed nor listed in NOT_REPLAYED: {unaccounted:?}; \
         listed but not in the examples directory: {absent:?}"
    );
    for (example, reason) in NOT_REPLAYED {
        assert!(
            REPLAYS.iter().all(|replay| replay.example != *example),
            "{example} is both replayed and listed in NOT_REPLAYED"
        );
        eprintln!("not replayed: {example}: {reason}");
    }
    for replay in REPLAYS {
        assert!(
            specs.operations.contains_key(replay.example),
            "no operation of GalleryRP.json lists {}",
            replay.example
        );
    }
}

#[test]
fn field_paths_cover_objects_and_first_array_items() {
    let document = json!({
        "value": [{"name": "a", "properties": {"osType": "Linux", "tags": []}}, {"extra": 1}],
        "nextLink": "x"
    });
    let paths: Vec<String> = field_paths(&document).into_keys().collect();
    assert_eq!(
        paths,
        [
            "nextLink",
            "value",
            "value[]",
            "value[].name",
            "value[].properties",
            "value[].properties.osType",
            "value[].properties.tags",
        ]
    );
    assert!(is_compared("value[].properties.osType"));
    assert!(!is_compared("value[].properties.description"));
    assert!(is_below(
        "properties.sharingStatus.summary[]",
        "properties.sharingStatus"
    ));
    assert!(!is_below(
        "properties.sharingStatusX",
        "properties.sharingStatus"
    ));
}

#[test]
fn placeholders_names_and_patterns() {
    let filled = fill_placeholders(
        r#"{"id": "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}/x/{versionName}", "s": "{subscription-id}", "e": {}, "k": "{1a}"}"#,
    );
    let development = DEVELOPMENT_SUBSCRIPTION_ID;
    assert_eq!(
        filled,
        format!(
            r#"{{"id": "/subscriptions/{development}/resourceGroups/resourceGroup/x/0.1.0", "s": "{development}", "e": {{}}, "k": "{{1a}}"}}"#
        )
    );
    assert_eq!(
        stand_in_name(
            "https://gallerysourcencus.blob.core.windows.net/myvhds/Windows-Server-2012-R2-20171216-en.us-128GB.vhd"
        ),
        "Windows-Server-2012-R2-20171216-en.us-128GB"
    );
    assert_eq!(disk_resource_name("image", Some(1)), "image-lun1");
    assert_eq!(
        second_path("/a/versions/1.0.0", Kind::ImageVersion),
        "/a/versions/1.0.1"
    );
    assert_eq!(
        second_path("/a/images/x", Kind::ImageDefinition),
        "/a/images/xSecond"
    );
    assert!(names_example(
        "GalleryImageVersion_*",
        "GalleryImageVersion_Get"
    ));
    assert!(!names_example("GalleryImageVersion_*", "GalleryImage_Get"));
    assert!(names_example("Gallery_Get", "Gallery_Get"));
    assert!(!names_example(
        "Gallery_Get",
        "Gallery_Get_WithManagedIdentity"
    ));
    assert_eq!(
        compute_id("/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/images/i"),
        Some(("g".to_string(), vec!["images".to_string(), "i".to_string()]))
    );
    assert_eq!(
        compute_id("/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/x/y"),
        None
    );
}
