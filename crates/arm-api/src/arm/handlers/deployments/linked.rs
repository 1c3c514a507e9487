//! Linked templates (`templateLink.uri`): galleryd runs offline, where public template URIs cannot
//! be reached, so `--template-link PREFIX=DIR` answers URIs that start with PREFIX from the files
//! under DIR (a checkout of the quickstart templates, say). A URI no mapping covers is refused with
//! a clear `InvalidTemplateDeployment`. A nested deployment's `templateLink.relativePath` is
//! resolved against its parent's link URI, as ARM does.

use std::path::{Component, Path};

use gallery_domain::{ErrorCode, ServiceError};
use serde_json::{Value, json};

use crate::App;

fn not_fetched(uri: &str, why: &str) -> ServiceError {
    ServiceError::new(
        400,
        ErrorCode::InvalidTemplateDeployment,
        format!(
            "The template link '{uri}' could not be read: {why}. galleryd runs offline: map linked-template URIs to local files with --template-link PREFIX=DIR."
        ),
    )
    .with_target("properties.templateLink.uri")
}

/// The text of the linked template at `uri`.
pub async fn read(app: &App, uri: &str) -> Result<String, ServiceError> {
    let Some((prefix, directory)) = app
        .settings
        .template_links
        .iter()
        .filter(|(prefix, _)| uri.starts_with(prefix.as_str()))
        .max_by_key(|(prefix, _)| prefix.len())
    else {
        return Err(not_fetched(uri, "no --template-link mapping covers it"));
    };
    let rest = uri[prefix.len()..]
        .split(['?', '#'])
        .next()
        .unwrap_or_default();
    let relative = Path::new(rest.trim_start_matches('/'));
    if relative
        .components()
        .any(|component| !matches!(component, Component::Normal(_)))
    {
        return Err(not_fetched(uri, "the path leaves the mapped directory"));
    }
    tokio::fs::read_to_string(directory.join(relative))
        .await
        .map_err(|error| not_fetched(uri, &error.to_string()))
}

/// A nested deployment body whose `templateLink.relativePath` is made absolute against the
/// parent's link URI (`parent_link`); other bodies are unchanged.
pub fn resolve_relative(body: &mut Value, parent_link: Option<&Value>) {
    let Some(link) = body
        .pointer_mut("/properties/templateLink")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    if link.contains_key("uri") {
        return;
    }
    let Some(relative) = link.get("relativePath").and_then(Value::as_str) else {
        return;
    };
    let resolved = parent_link
        .and_then(|parent| parent.get("uri"))
        .and_then(Value::as_str)
        .and_then(|parent| arm_templates::template::resolve_relative_link(parent, relative));
    if let Some(uri) = resolved {
        link.insert("uri".into(), json!(uri));
        link.remove("relativePath");
    }
}
