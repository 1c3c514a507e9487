//! What a deployment request carries, read the way Azure reads it.
//!
//! `az` puts the template file's text into the body as it is (comments, unquoted keys and all), so
//! the body is read with the template engine's lenient reader ([`arm_templates::jsonc`]) and the
//! template is taken from that tree: the line and position of a template error then count lines of
//! the text received, as Azure's do. A `template` or `parameters` given as a JSON string is parsed
//! on its own. Template errors become ARM errors here, with their `TemplateViolation` entry.

use arm_templates::jsonc::{self, Node, NodeKind};
use arm_templates::{Template, TemplateError};
use gallery_domain::{ErrorCode, ServiceError};
use serde_json::{Value, json};

/// `properties.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentMode {
    Incremental,
    /// Resources of the group the template no longer declares are deleted.
    Complete,
}

impl DeploymentMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentMode::Incremental => "Incremental",
            DeploymentMode::Complete => "Complete",
        }
    }
}

/// A parsed `Deployment` body.
#[derive(Debug)]
pub struct DeploymentRequest {
    pub template: Template,
    /// The template as submitted (what `exportTemplate` answers).
    pub template_value: Value,
    /// `properties.parameters` (`{"name": {"value": …}}`).
    pub parameters: Value,
    pub mode: DeploymentMode,
    pub debug_setting: Option<Value>,
    pub on_error_deployment: Option<Value>,
    pub tags: Option<Value>,
    pub location: Option<String>,
}

fn content_error(detail: impl std::fmt::Display) -> ServiceError {
    ServiceError::invalid_request_content(detail)
}

/// The `templateLink.uri` of a body that has no inline `template` (to read before [`parse`]).
pub fn template_link(body: &[u8]) -> Option<String> {
    let root = jsonc::parse(std::str::from_utf8(body).ok()?).ok()?;
    let properties = root.property("properties")?;
    if properties.property("template").is_some() {
        return None;
    }
    properties
        .property("templateLink")?
        .property("uri")?
        .as_str()
        .map(str::to_string)
}

/// Reads a `Deployment` body; `linked` is the text of its linked template, when it has one.
pub fn parse(body: &[u8], linked: Option<&str>) -> Result<DeploymentRequest, ServiceError> {
    let text = std::str::from_utf8(body).map_err(content_error)?;
    let root = jsonc::parse(text).map_err(content_error)?;
    if !matches!(root.kind, NodeKind::Object(_)) {
        return Err(content_error("The request body must be a JSON object."));
    }
    let properties = root
        .property("properties")
        .filter(|node| matches!(node.kind, NodeKind::Object(_)))
        .ok_or_else(|| content_error("Required property 'properties' not found in JSON."))?;
    let mode = match properties.property("mode").and_then(Node::as_str) {
        Some(mode) if mode.eq_ignore_ascii_case("incremental") => DeploymentMode::Incremental,
        Some(mode) if mode.eq_ignore_ascii_case("complete") => DeploymentMode::Complete,
        Some(other) => {
            return Err(ServiceError::new(
                400,
                ErrorCode::InvalidRequestContent,
                format!(
                    "The request content was invalid and could not be deserialized: 'Error converting value \"{other}\" to type 'DeploymentMode'. Path 'properties.mode'.'."
                ),
            ));
        }
        None => {
            return Err(content_error(
                "Required property 'mode' not found in JSON. Path 'properties'.",
            ));
        }
    };
    if properties.property("parametersLink").is_some() {
        return Err(ServiceError::new(
            400,
            ErrorCode::InvalidTemplateDeployment,
            "The template deployment uses 'parametersLink', which galleryd does not fetch yet: send the parameters inline in 'properties.parameters'.",
        )
        .with_target("properties.parametersLink"));
    }
    let linked_node;
    let template_node = match (properties.property("template"), linked) {
        (Some(node), _) => node,
        (None, Some(text)) => {
            linked_node = NodeKind::String(text.to_string());
            &Node {
                kind: linked_node,
                position: Default::default(),
            }
        }
        (None, None) => {
            return Err(ServiceError::new(
                400,
                ErrorCode::InvalidRequestContent,
                "The request content was invalid and could not be deserialized: 'Either 'template' or 'templateLink' must be provided in 'properties'.'.",
            ));
        }
    };
    let (template, template_value) = match &template_node.kind {
        NodeKind::String(text) => {
            let template = Template::parse(text).map_err(|error| template_error(&error))?;
            let value = template.value().clone();
            (template, value)
        }
        _ => (
            Template::from_node(template_node).map_err(|error| template_error(&error))?,
            template_node.to_value(),
        ),
    };
    let parameters = match properties.property("parameters") {
        None => json!({}),
        Some(node) => match &node.kind {
            NodeKind::String(text) => jsonc::parse_value(text).map_err(content_error)?,
            NodeKind::Null => json!({}),
            _ => node.to_value(),
        },
    };
    if !parameters.is_object() {
        return Err(content_error(
            "The 'parameters' property must be a JSON object. Path 'properties.parameters'.",
        ));
    }
    Ok(DeploymentRequest {
        template,
        template_value,
        parameters,
        mode,
        debug_setting: properties.property("debugSetting").map(Node::to_value),
        on_error_deployment: properties.property("onErrorDeployment").map(Node::to_value),
        tags: root.property("tags").map(Node::to_value),
        location: root
            .property("location")
            .and_then(Node::as_str)
            .map(str::to_string),
    })
}

/// A template error as ARM answers it: 400 with Azure's code and message, and a
/// `TemplateViolation` naming the line, position and body path.
pub fn template_error(error: &TemplateError) -> ServiceError {
    use arm_templates::ErrorCode as TemplateCode;
    let code = match error.code {
        TemplateCode::InvalidTemplate => ErrorCode::InvalidTemplate,
        TemplateCode::InvalidTemplateDeployment => ErrorCode::InvalidTemplateDeployment,
        TemplateCode::InvalidRequestContent => ErrorCode::InvalidRequestContent,
        TemplateCode::InvalidDeploymentParameterKeyVaultReference => {
            ErrorCode::InvalidDeploymentParameterKeyVaultReference
        }
    };
    let path = if error.path.is_empty() {
        String::new()
    } else {
        format!("properties.template.{}", error.path)
    };
    ServiceError::new(400, code, error.message.clone()).with_additional_info(json!({
        "type": "TemplateViolation",
        "info": {
            "lineNumber": error.position.line,
            "linePosition": error.position.column,
            "path": path,
        }
    }))
}

/// Checks a deployment name: 1 to 64 letters, digits, `-`, `_`, `.`, `(` and `)`.
pub fn check_deployment_name(name: &str) -> Result<(), ServiceError> {
    if name.chars().count() > 64 {
        return Err(ServiceError::new(
            400,
            ErrorCode::DeploymentNameLengthLimitExceeded,
            format!(
                "The provided deployment name '{name}' has a length of '{}' which exceeds the maximum length of '64'. Please see https://aka.ms/arm-deploy-resources for usage details.",
                name.chars().count()
            ),
        ));
    }
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|character| character.is_alphanumeric() || "-_.()".contains(character));
    if !valid {
        return Err(ServiceError::new(
            400,
            ErrorCode::DeploymentNameInvalidCharacters,
            format!(
                "The provided deployment name '{name}' has these invalid characters: '{}'. The name can only be a letter, digit, '-', '.', '(', ')' or '_'. Please see https://aka.ms/arm-deploy-resources for usage details.",
                name.chars()
                    .filter(
                        |character| !(character.is_alphanumeric() || "-_.()".contains(*character))
                    )
                    .collect::<String>()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn az_bodies_with_comments_parse_and_errors_point_at_the_received_text() {
        let body = "{\"properties\": {\"mode\": \"Incremental\", \"template\": {\n  // a comment\n  \"$schema\": \"https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#\",\n  \"contentVersion\": \"1.0.0.0\",\n  \"resources\": [{\"type\": \"Microsoft.Compute/galleries\", \"apiVersion\": \"2022-03-03\", \"name\": \"[nope()]\"}]\n}}}";
        let request = parse(body.as_bytes(), None).expect("parses");
        assert_eq!(request.mode, DeploymentMode::Incremental);
        let context = arm_templates::DeploymentContext::resource_group(
            "s",
            "rg",
            "westus",
            "d",
            chrono::Utc::now(),
        );
        let error = request
            .template
            .prepare(&context, &request.parameters)
            .unwrap_err();
        let rendered = template_error(&error);
        assert_eq!(rendered.code, ErrorCode::InvalidTemplate);
        assert_eq!(rendered.additional_info[0]["info"]["lineNumber"], 5);
        assert!(
            rendered.additional_info[0]["info"]["path"]
                .as_str()
                .unwrap()
                .starts_with("properties.template.resources[0]")
        );
    }

    #[test]
    fn missing_mode_and_bad_names_are_refused() {
        let error = parse(br#"{"properties": {"template": {}}}"#, None).unwrap_err();
        assert_eq!(error.code, ErrorCode::InvalidRequestContent);
        assert!(check_deployment_name("gallery-1.(x)_y").is_ok());
        assert_eq!(
            check_deployment_name("a b").unwrap_err().code,
            ErrorCode::DeploymentNameInvalidCharacters
        );
        assert_eq!(
            check_deployment_name(&"a".repeat(65)).unwrap_err().code,
            ErrorCode::DeploymentNameLengthLimitExceeded
        );
    }
}
