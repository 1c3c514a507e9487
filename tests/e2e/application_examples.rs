//! Replays the official GalleryRP 2025-03-03 examples of VM applications and application versions
//! (`GalleryApplication_*`, `GalleryApplicationVersion_*` in
//! `../shared/specs/galleryrp/2025-03-03/examples/galleryExamples/`) against a real galleryd, on
//! both stores; skipped with a notice when the examples are absent.
//!
//! Each example runs on a fresh server. Its prerequisites are created first with the examples'
//! own names and bodies: the resource group and gallery of its path, the application (the body of
//! `GalleryApplication_Create`) and, for a version's Get, Update, List and Delete, the version (the
//! body of `GalleryApplicationVersion_Create`), followed to `Succeeded`. Two things of the examples
//! cannot be used offline as written, and are replaced in the bodies sent (values are not compared,
//! so the answers must still show every field the examples show):
//! - the package links name `mystorageaccount.blob.core.windows.net`: they are replaced by a file
//!   this test serves over plain HTTP;
//! - the end-of-life dates lie in the past (2019), which Azure and galleryd refuse for a new date:
//!   they are moved to 2099.
//!
//! The answer must carry one of the example's status codes (201 for a create, 202 for a deletion)
//! and every JSON field of the example's response body (recursively; arrays by their first item).
//! Compared values: `provisioningState` (of the final GET), `aggregatedState`, `supportedOSType`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::State;
use galleryd_tests::{Backend, DEVELOPMENT_SUBSCRIPTION_ID, TestApp, both_stores};
use serde_json::{Value, json};

/// Where the examples are, below the first ancestor of the test crate that has them (the
/// repository's parent in a clone; worktrees sit one level deeper).
const EXAMPLES_DIRECTORY: &str = "shared/specs/galleryrp/2025-03-03/examples/galleryExamples";

/// The examples replayed: (file name, what is sent).
const EXAMPLES: &[(&str, Operation)] = &[
    ("GalleryApplication_Create", Operation::Put),
    ("GalleryApplication_Update", Operation::Patch),
    ("GalleryApplication_Get", Operation::Get),
    ("GalleryApplication_ListByGallery", Operation::List),
    ("GalleryApplication_Delete", Operation::Delete),
    ("GalleryApplicationVersion_Create", Operation::Put),
    ("GalleryApplicationVersion_Update", Operation::Patch),
    ("GalleryApplicationVersion_Get", Operation::Get),
    (
        "GalleryApplicationVersion_Get_WithReplicationStatus",
        Operation::Get,
    ),
    (
        "GalleryApplicationVersion_ListByGalleryApplication",
        Operation::List,
    ),
    ("GalleryApplicationVersion_Delete", Operation::Delete),
];

const COMPARED_VALUES: &[&str] = &["aggregatedState", "supportedOSType"];

/// Differences that are known and accepted: (example, field, reason). Each must still occur.
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[
    (
        "GalleryApplication_ListByGallery",
        "field nextLink",
        "a one-item list is one page: galleryd gives no nextLink on the last page",
    ),
    (
        "GalleryApplicationVersion_ListByGalleryApplication",
        "field nextLink",
        "a one-item list is one page: galleryd gives no nextLink on the last page",
    ),
    (
        "GalleryApplicationVersion_Create",
        "field properties.publishingProfile.advancedSettings",
        "the example's answer shows advancedSettings its request never sent",
    ),
    (
        "GalleryApplicationVersion_Create",
        "field properties.publishingProfile.settings",
        "the example's answer shows settings its request never sent",
    ),
    (
        "GalleryApplicationVersion_Get_WithReplicationStatus",
        "field properties.publishingProfile.advancedSettings",
        "the version was made from GalleryApplicationVersion_Create, whose request sends no advancedSettings",
    ),
    (
        "GalleryApplicationVersion_Get_WithReplicationStatus",
        "field properties.publishingProfile.settings",
        "the version was made from GalleryApplicationVersion_Create, whose request sends no settings",
    ),
];

/// Whether a difference is a known one (the field or a field below it).
fn known(difference: &str, example: &str, field: &str) -> bool {
    difference
        .strip_prefix(&format!("{example}: {field}"))
        .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('.'))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Put,
    Patch,
    Get,
    List,
    Delete,
}

fn load_example(name: &str) -> Option<Value> {
    let crate_directory = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let directory = crate_directory
        .ancestors()
        .map(|ancestor| ancestor.join(EXAMPLES_DIRECTORY))
        .find(|candidate| candidate.is_dir())?;
    let text = std::fs::read_to_string(directory.join(format!("{name}.json"))).ok()?;
    let text = text
        .replace("{subscription-id}", DEVELOPMENT_SUBSCRIPTION_ID)
        .replace("{subscriptionId}", DEVELOPMENT_SUBSCRIPTION_ID);
    serde_json::from_str(&text).ok()
}

/// Moves past end-of-life dates to 2099 and points package links at `package_url`.
fn usable_offline(body: &mut Value, package_url: &str) {
    match body {
        Value::Object(members) => {
            for (key, member) in members.iter_mut() {
                match (key.as_str(), &*member) {
                    ("endOfLifeDate", Value::String(_)) => {
                        *member = json!("2099-07-01T07:00:00Z");
                    }
                    ("mediaLink" | "defaultConfigurationLink", Value::String(_)) => {
                        *member = json!(package_url);
                    }
                    _ => usable_offline(member, package_url),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| usable_offline(item, package_url)),
        _ => {}
    }
}

/// Serves the same small package at every path; returns its URL.
async fn serve_package() -> String {
    async fn package(State(bytes): State<Arc<Vec<u8>>>) -> Vec<u8> {
        bytes.as_ref().clone()
    }
    let router = axum::Router::new()
        .fallback(package)
        .with_state(Arc::new(b"PK\x03\x04 package".to_vec()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{address}/package.zip")
}

fn field_paths(document: &Value, prefix: &str, paths: &mut BTreeMap<String, Value>) {
    match document {
        Value::Object(members) => {
            for (key, member) in members {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                paths.insert(path.clone(), member.clone());
                field_paths(member, &path, paths);
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                let path = format!("{prefix}[]");
                paths.insert(path.clone(), first.clone());
                field_paths(first, &path, paths);
            }
        }
        _ => {}
    }
}

/// The fields of `expected` missing from `actual`, and compared values that differ.
fn differences(expected: &Value, actual: &Value) -> Vec<String> {
    let (mut wanted, mut found) = (BTreeMap::new(), BTreeMap::new());
    field_paths(expected, "", &mut wanted);
    field_paths(actual, "", &mut found);
    let mut differences = Vec::new();
    for (path, value) in &wanted {
        match found.get(path) {
            None => differences.push(format!("field {path} missing (the example has {value})")),
            Some(actual_value) => {
                let compared = COMPARED_VALUES.iter().any(|name| path.ends_with(name));
                if compared && actual_value != value {
                    differences.push(format!(
                        "value {path}: galleryd {actual_value}, example {value}"
                    ));
                }
            }
        }
    }
    differences
}

fn parameter<'a>(example: &'a Value, name: &str) -> &'a str {
    example["parameters"][name].as_str().unwrap_or_default()
}

/// Replays one example on a fresh server; returns what differs.
async fn replay(
    backend: Backend,
    name: &str,
    operation: Operation,
    package_url: &str,
) -> Vec<String> {
    let Some(example) = load_example(name) else {
        return vec![format!("{name}: the example cannot be read")];
    };
    let app = TestApp::start(backend).await;
    let group = parameter(&example, "resourceGroupName");
    let gallery = parameter(&example, "galleryName");
    // A list names no application (or version): the creating example's names are used.
    let application_create =
        load_example("GalleryApplication_Create").expect("GalleryApplication_Create");
    let version_create =
        load_example("GalleryApplicationVersion_Create").expect("GalleryApplicationVersion_Create");
    let application = match parameter(&example, "galleryApplicationName") {
        "" => parameter(&application_create, "galleryApplicationName"),
        given => given,
    };
    let version = match parameter(&example, "galleryApplicationVersionName") {
        "" => parameter(&version_create, "galleryApplicationVersionName"),
        given => given,
    };
    app.create_group(group, "westus").await;
    app.create_gallery(group, gallery).await;
    let application_path = format!(
        "{}/applications/{application}",
        app.gallery_path(group, gallery)
    );
    let version_path = format!("{application_path}/versions/{version}");
    let is_version = name.starts_with("GalleryApplicationVersion_");
    let creates_itself = operation == Operation::Put;
    if is_version || !creates_itself {
        let created = app
            .put(
                &application_path,
                &application_create["parameters"]["galleryApplication"],
            )
            .await;
        assert_eq!(
            created.status, 201,
            "{name}: prerequisite application: {}",
            created.text
        );
    }
    if is_version && !creates_itself {
        let mut body = version_create["parameters"]["galleryApplicationVersion"].clone();
        usable_offline(&mut body, package_url);
        let created = app.put(&version_path, &body).await;
        assert_eq!(
            created.status, 201,
            "{name}: prerequisite version: {}",
            created.text
        );
        let status = app.wait_for_operation(&created).await;
        assert_eq!(
            status["status"], "Succeeded",
            "{name}: prerequisite version: {status}"
        );
    }
    let path = if is_version {
        &version_path
    } else {
        &application_path
    };
    let body_parameter = if is_version {
        "galleryApplicationVersion"
    } else {
        "galleryApplication"
    };
    let mut body = example["parameters"][body_parameter].clone();
    usable_offline(&mut body, package_url);
    let expand = parameter(&example, "$expand");
    let response = match operation {
        Operation::Put => app.put(path, &body).await,
        Operation::Patch => app.patch(path, &body).await,
        Operation::Delete => app.delete(path).await,
        Operation::Get if !expand.is_empty() => app.get(&format!("{path}?$expand={expand}")).await,
        Operation::Get => app.get(path).await,
        Operation::List => {
            app.get(&path[..path.rfind('/').unwrap_or(path.len())])
                .await
        }
    };
    let statuses: Vec<u16> = example["responses"]
        .as_object()
        .map(|responses| {
            responses
                .keys()
                .filter_map(|status| status.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let mut found = Vec::new();
    if !statuses.contains(&response.status) {
        found.push(format!(
            "{name}: status {} not among {statuses:?}: {}",
            response.status, response.text
        ));
        return found;
    }
    let expected = &example["responses"][response.status.to_string()]["body"];
    if !expected.is_null() {
        found.extend(
            differences(expected, &response.json())
                .into_iter()
                .map(|difference| format!("{name}: {difference}")),
        );
    }
    if matches!(
        operation,
        Operation::Put | Operation::Patch | Operation::Delete
    ) {
        let status = app.wait_for_operation(&response).await;
        if status["status"] != "Succeeded" {
            found.push(format!("{name}: the operation ended {status}"));
        }
    }
    found
}

both_stores! {
    async fn official_application_examples_replay(backend) {
        if load_example("GalleryApplication_Create").is_none() {
            eprintln!("notice: the GalleryRP examples are absent ({EXAMPLES_DIRECTORY}); replay skipped");
            return;
        }
        let package_url = serve_package().await;
        let mut differences = Vec::new();
        for (name, operation) in EXAMPLES {
            differences.extend(replay(backend, name, *operation, &package_url).await);
        }
        for (example, field, reason) in KNOWN_DIFFERENCES {
            assert!(
                differences.iter().any(|difference| known(difference, example, field)),
                "the known difference of {example} ({field}: {reason}) no longer occurs: remove it"
            );
        }
        differences.retain(|difference| {
            !KNOWN_DIFFERENCES.iter().any(|(example, field, _)| known(difference, example, field))
        });
        assert!(differences.is_empty(), "the answers differ from the examples:\n{}", differences.join("\n"));
    }
}
