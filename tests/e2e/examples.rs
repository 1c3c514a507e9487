//! Replays the official GalleryRP 2025-03-03 examples for galleries and image definitions against a
//! real galleryd, on both stores.
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
//! The answer must carry one of the example's status codes (201 for a create on a fresh resource,
//! 202 for a deletion of an existing one), the example's response headers, and every JSON field of
//! the example's response body (recursively; arrays compared by their first element). Values are not
//! compared, except the provisioning state and the enum-like values that echo the request.
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

/// The placeholder the examples use for the subscription id.
const SUBSCRIPTION_PLACEHOLDER: &str = "{subscription-id}";

/// Where the examples are, relative to the test crate.
const EXAMPLES_DIRECTORY: &str = "../../shared/specs/galleryrp/2025-03-03/examples/galleryExamples";
/// The spec that lists the examples per operation, relative to the test crate.
const SPEC_FILE: &str = "../../shared/specs/galleryrp/2025-03-03/GalleryRP.json";
/// How `GalleryRP.json` refers to the examples of this directory.
const EXAMPLE_REFERENCE_PREFIX: &str = "./examples/galleryExamples/";

/// Example file names (without `.json`) this replay is responsible for.
const EXAMPLE_PREFIXES: &[&str] = &["Gallery_", "GalleryImage_", "CommunityGallery_"];

/// Location used when an example names none.
const DEFAULT_LOCATION: &str = "West US";

/// What has to exist before an example's request is sent, besides the resource group (and, for an
/// image definition, its gallery).
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
];

/// A difference between galleryd and an official example that is known and accepted for now.
struct KnownDifference {
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

    /// An example's document, with the development subscription in place of the placeholder.
    fn example(&self, name: &str) -> Result<Value, String> {
        let path = self.directory.join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        serde_json::from_str(&text.replace(SUBSCRIPTION_PLACEHOLDER, DEVELOPMENT_SUBSCRIPTION_ID))
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

    fn is_image(&self) -> bool {
        self.operation.operation_id.starts_with("GalleryImages_")
    }
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

/// PUTs a prerequisite and reports when galleryd does not accept it.
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
    if matches!(response.status, 200 | 201) {
        true
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
fn second_resource(body: &Value, is_image: bool) -> Value {
    let mut second = body.clone();
    if is_image
        && let Some(sku) = second.pointer_mut("/properties/identifier/sku")
        && let Some(text) = sku.as_str()
    {
        *sku = Value::String(format!("{text}Second"));
    }
    second
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
    let gallery = example.parameter("galleryName").or(if example.is_image() {
        None
    } else {
        sample_name
    });
    let image = example
        .parameter("galleryImageName")
        .or(if example.is_image() {
            sample_name
        } else {
            None
        });
    let (Some(group), Some(gallery)) = (group, gallery.map(str::to_string)) else {
        findings.add("example", "names no resource group or gallery");
        return findings.mismatches;
    };
    if example.is_image() && image.is_none() {
        findings.add("example", "names no image definition");
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
    if example.is_image()
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
    let resource_path = match image {
        Some(image) => app.image_path(&group, &gallery, image),
        None => gallery_path.clone(),
    };

    // The resource itself.
    let prerequisite_body = match replay.prerequisite {
        Prerequisite::Parents => None,
        Prerequisite::FromResponse { without } => match sample {
            Some(resource) => Some(body_from_resource(resource, without)),
            None => {
                findings.add("example", "has no 200 body to set the resource up from");
                return findings.mismatches;
            }
        },
        Prerequisite::FromExample(other) => {
            let other_document = match specs.example(other) {
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
                .map(|name| &other_document["parameters"][name])
                .filter(|body| body.is_object());
            match body {
                Some(body) => Some(body.clone()),
                None => {
                    findings.add("setup", format!("{other} has no request body to reuse"));
                    return findings.mismatches;
                }
            }
        }
    };
    if let Some(body) = &prerequisite_body {
        if !put_prerequisite(&app, &resource_path, &api_version, body, &mut findings).await {
            return findings.mismatches;
        }
        if needs_second_page {
            let second_path = format!("{resource_path}Second");
            let second_body = second_resource(body, example.is_image());
            if !put_prerequisite(
                &app,
                &second_path,
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
        example.request_body(),
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
        mismatch.example == known.example
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
