//! The template document: its sections read into a model, with the position of every part.
//!
//! [`Template::parse`] reads the text as Azure does (comments, BOM, multi-line strings) and checks
//! the structure: `contentVersion` present, known top-level members, `$schema` naming a scope,
//! resources as an array or (languageVersion 2.0) an object of symbolic names, child resources
//! flattened with their parents, user functions and type definitions collected. Nothing is
//! evaluated here; that happens in [`Template::prepare`](crate::Template::prepare).

pub(crate) mod parameters;

use crate::context::DeploymentScope;
use crate::error::{ErrorCode, TemplateError};
use crate::jsonc::{self, Node, NodeKind, Position};
use serde_json::{Map, Value};

/// Largest template Azure accepts, in bytes of the received text.
pub const MAX_TEMPLATE_BYTES: usize = 4 * 1024 * 1024;

/// A parsed template, ready to be prepared against a deployment context.
#[derive(Debug, Clone)]
pub struct Template {
    pub(crate) value: Value,
    pub(crate) schema: Option<String>,
    pub(crate) scope: Option<DeploymentScope>,
    pub(crate) content_version: String,
    pub(crate) language_version: Option<String>,
    pub(crate) position: Position,
    pub(crate) parameters: Vec<parameters::ParameterDefinition>,
    pub(crate) variables: Vec<VariableDefinition>,
    pub(crate) functions: Vec<UserFunction>,
    pub(crate) definitions: Map<String, Value>,
    pub(crate) resources: Vec<ResourceDefinition>,
    pub(crate) outputs: Vec<OutputDefinition>,
}

/// A variable: a plain value, or a variable copy loop (`variables.copy[]`) producing an array.
#[derive(Debug, Clone)]
pub(crate) struct VariableDefinition {
    pub name: String,
    pub value: Value,
    pub copy: Option<Value>,
    pub position: Position,
}

/// A user-defined function (`functions[].members`), called `namespace.name(…)`.
#[derive(Debug, Clone)]
pub struct UserFunction {
    pub(crate) full_name: String,
    pub(crate) parameters: Vec<(String, String)>,
    pub(crate) output: Value,
}

/// A resource as declared, children flattened (`parent` points at the enclosing declaration).
#[derive(Debug, Clone)]
pub(crate) struct ResourceDefinition {
    pub body: Map<String, Value>,
    pub position: Position,
    pub path: String,
    pub symbolic_name: Option<String>,
    pub parent: Option<usize>,
}

/// An output declaration.
#[derive(Debug, Clone)]
pub(crate) struct OutputDefinition {
    pub name: String,
    pub body: Map<String, Value>,
    pub position: Position,
}

const TOP_LEVEL: &[&str] = &[
    "$schema",
    "contentVersion",
    "apiProfile",
    "parameters",
    "variables",
    "functions",
    "resources",
    "outputs",
    "metadata",
    "languageVersion",
    "definitions",
    "imports",
    "extensions",
    "asserts",
    "$comments",
    "comments",
];

/// Deepest nesting of child resources inside parents (Azure allows five levels).
const MAX_CHILD_DEPTH: usize = 5;

impl Template {
    /// Parses template text as Azure receives it.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        if text.len() > MAX_TEMPLATE_BYTES {
            return Err(TemplateError::new(
                ErrorCode::InvalidTemplate,
                format!(
                    "Deployment template validation failed: 'The template size '{}' bytes exceeds the limit of '{MAX_TEMPLATE_BYTES}' bytes. Please see https://aka.ms/arm-template-best-practices for usage details.'.",
                    text.len()
                ),
            ));
        }
        let node = jsonc::parse(text).map_err(|error| {
            TemplateError::new(
                ErrorCode::InvalidTemplate,
                format!("Deployment template parse failed: '{error}'."),
            )
            .at(error.position)
            .with_path(error.path.clone())
        })?;
        Template::from_node(&node)
    }

    /// Reads a template from a parsed value whose positions refer to the text it came from (for
    /// example the `properties.template` member of a request body parsed with [`jsonc::parse`]).
    pub fn from_node(node: &Node) -> Result<Template, TemplateError> {
        let NodeKind::Object(members) = &node.kind else {
            return Err(TemplateError::validation(
                "The template must be a JSON object.",
                node.position,
            ));
        };
        for (name, member) in members {
            if !TOP_LEVEL
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(name))
            {
                return Err(TemplateError::new(
                    ErrorCode::InvalidTemplate,
                    format!(
                        "Deployment template validation failed: 'Could not find member '{name}' on object of type 'Template'. Path '{name}', line {}, position {}.'.",
                        member.position.line, member.position.column
                    ),
                )
                .at(member.position)
                .with_path(name.clone()));
            }
        }
        let schema = node
            .property("$schema")
            .and_then(Node::as_str)
            .map(str::to_string);
        let scope = schema.as_deref().and_then(scope_of_schema);
        let Some(content_version) = node.property("contentVersion").and_then(Node::as_str) else {
            return Err(TemplateError::new(
                ErrorCode::InvalidTemplate,
                format!(
                    "Deployment template validation failed: 'Required property 'contentVersion' not found in JSON. Path '', line {}, position {}.'.",
                    node.position.line, node.position.column
                ),
            )
            .at(node.position));
        };
        let language_version = node
            .property("languageVersion")
            .and_then(Node::as_str)
            .map(str::to_string);
        let definitions = node
            .property("definitions")
            .map(Node::to_value)
            .and_then(|value| value.as_object().cloned())
            .unwrap_or_default();
        let parameters = parameters::read_definitions(node.property("parameters"))?;
        let variables = read_variables(node.property("variables"))?;
        let functions = read_functions(node.property("functions"))?;
        let mut resources = Vec::new();
        match node.property("resources") {
            None => {}
            Some(Node {
                kind: NodeKind::Array(items),
                ..
            }) => {
                for (index, item) in items.iter().enumerate() {
                    read_resource(
                        item,
                        None,
                        format!("resources[{index}]"),
                        None,
                        0,
                        &mut resources,
                    )?;
                }
            }
            Some(Node {
                kind: NodeKind::Object(items),
                ..
            }) => {
                for (symbol, item) in items {
                    read_resource(
                        item,
                        Some(symbol.clone()),
                        format!("resources.{symbol}"),
                        None,
                        0,
                        &mut resources,
                    )?;
                }
            }
            Some(other) => {
                return Err(TemplateError::validation("The template 'resources' must be an array (or, with languageVersion 2.0, an object).", other.position).with_path("resources"));
            }
        }
        let outputs = read_outputs(node.property("outputs"))?;
        let template = Template {
            value: node.to_value(),
            schema,
            scope,
            content_version: content_version.to_string(),
            language_version,
            position: node.position,
            parameters,
            variables,
            functions,
            definitions,
            resources,
            outputs,
        };
        template.check_limits()?;
        Ok(template)
    }

    /// Reads a template from a JSON value (positions unknown).
    pub fn from_value(value: &Value) -> Result<Template, TemplateError> {
        Template::from_node(&Node::from_value(value))
    }

    fn check_limits(&self) -> Result<(), TemplateError> {
        use crate::limits::*;
        let checks = [
            ("parameters", self.parameters.len(), MAX_PARAMETERS),
            ("variables", self.variables.len(), MAX_VARIABLES),
            ("outputs", self.outputs.len(), MAX_OUTPUTS),
            ("resources", self.resources.len(), MAX_RESOURCES),
        ];
        for (section, count, limit) in checks {
            if count > limit {
                return Err(TemplateError::validation(
                    format!(
                        "The number of template {section} '{count}' exceeds the limit of '{limit}'. Please see https://aka.ms/arm-template-best-practices for usage details."
                    ),
                    self.position,
                ));
            }
        }
        Ok(())
    }

    /// The scope the `$schema` names, if it names one.
    pub fn scope(&self) -> Option<DeploymentScope> {
        self.scope
    }

    /// The `$schema` as written.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    pub fn content_version(&self) -> &str {
        &self.content_version
    }

    pub fn language_version(&self) -> Option<&str> {
        self.language_version.as_deref()
    }

    /// Whether resources have symbolic names (languageVersion 2.0).
    pub fn uses_symbolic_names(&self) -> bool {
        self.resources
            .iter()
            .any(|resource| resource.symbolic_name.is_some())
    }

    /// The template without comments or positions (what `exportTemplate` and `deployment()` show).
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// galleryd's `templateHash` for this template (see [`crate::hashing::template_hash`]).
    pub fn template_hash(&self) -> String {
        crate::hashing::template_hash(&self.value)
    }

    /// The declared parameter names, in declaration order.
    pub fn parameter_names(&self) -> Vec<&str> {
        self.parameters
            .iter()
            .map(|parameter| parameter.name.as_str())
            .collect()
    }
}

/// The scope a `$schema` URL names.
pub fn scope_of_schema(schema: &str) -> Option<DeploymentScope> {
    let lower = schema.to_ascii_lowercase();
    if lower.contains("subscriptiondeploymenttemplate.json") {
        Some(DeploymentScope::Subscription)
    } else if lower.contains("managementgroupdeploymenttemplate.json") {
        Some(DeploymentScope::ManagementGroup)
    } else if lower.contains("tenantdeploymenttemplate.json") {
        Some(DeploymentScope::Tenant)
    } else if lower.contains("deploymenttemplate.json") {
        Some(DeploymentScope::ResourceGroup)
    } else {
        None
    }
}

fn read_variables(node: Option<&Node>) -> Result<Vec<VariableDefinition>, TemplateError> {
    let Some(node) = node else {
        return Ok(Vec::new());
    };
    let NodeKind::Object(members) = &node.kind else {
        return Err(TemplateError::validation(
            "The template 'variables' must be an object.",
            node.position,
        )
        .with_path("variables"));
    };
    let mut variables = Vec::new();
    for (name, member) in members {
        if name.eq_ignore_ascii_case("copy") {
            let NodeKind::Array(loops) = &member.kind else {
                return Err(TemplateError::validation(
                    "The template variable 'copy' must be an array of copy loops.",
                    member.position,
                )
                .with_path("variables.copy"));
            };
            for spec in loops {
                let Some(loop_name) = spec.property("name").and_then(Node::as_str) else {
                    return Err(TemplateError::validation(
                        "The template variable copy loop must have a 'name'.",
                        spec.position,
                    )
                    .with_path("variables.copy"));
                };
                variables.push(VariableDefinition {
                    name: loop_name.to_string(),
                    value: Value::Null,
                    copy: Some(spec.to_value()),
                    position: spec.position,
                });
            }
            continue;
        }
        variables.push(VariableDefinition {
            name: name.clone(),
            value: member.to_value(),
            copy: None,
            position: member.position,
        });
    }
    Ok(variables)
}

fn read_functions(node: Option<&Node>) -> Result<Vec<UserFunction>, TemplateError> {
    let Some(node) = node else {
        return Ok(Vec::new());
    };
    let NodeKind::Array(namespaces) = &node.kind else {
        return Err(TemplateError::validation(
            "The template 'functions' must be an array.",
            node.position,
        )
        .with_path("functions"));
    };
    let mut functions = Vec::new();
    for namespace in namespaces {
        let Some(prefix) = namespace.property("namespace").and_then(Node::as_str) else {
            return Err(TemplateError::validation(
                "A user function namespace must have a 'namespace'.",
                namespace.position,
            ));
        };
        let Some(Node {
            kind: NodeKind::Object(members),
            ..
        }) = namespace.property("members")
        else {
            continue;
        };
        for (name, member) in members {
            let parameters = match member.property("parameters").map(Node::to_value) {
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| {
                        (
                            item.get("name")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            item.get("type")
                                .and_then(Value::as_str)
                                .unwrap_or("any")
                                .to_string(),
                        )
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let Some(output) = member
                .property("output")
                .and_then(|output| output.property("value"))
            else {
                return Err(TemplateError::validation(
                    format!("The user function '{prefix}.{name}' must have an output value."),
                    member.position,
                ));
            };
            functions.push(UserFunction {
                full_name: format!("{prefix}.{name}"),
                parameters,
                output: output.to_value(),
            });
        }
    }
    Ok(functions)
}

fn read_resource(
    node: &Node,
    symbolic_name: Option<String>,
    path: String,
    parent: Option<usize>,
    depth: usize,
    resources: &mut Vec<ResourceDefinition>,
) -> Result<(), TemplateError> {
    let NodeKind::Object(members) = &node.kind else {
        return Err(TemplateError::validation(
            format!("The template resource at '{path}' must be an object."),
            node.position,
        )
        .with_path(path));
    };
    if depth > MAX_CHILD_DEPTH {
        return Err(TemplateError::validation(format!("The template resource at '{path}' is nested more than '{MAX_CHILD_DEPTH}' levels deep."), node.position).with_path(path));
    }
    let mut body = Map::new();
    let mut children = None;
    for (key, member) in members {
        if key.eq_ignore_ascii_case("resources") {
            children = Some(member);
        } else {
            body.insert(key.clone(), member.to_value());
        }
    }
    let name_missing = match body.get("name") {
        Some(Value::String(name)) => name.is_empty(),
        Some(_) => false,
        None => true,
    };
    if name_missing {
        return Err(TemplateError::validation(
            format!(
                "The template resource '' at line '{}' and column '{}' is not valid. The name property cannot be null or empty. Please see https://aka.ms/arm-template/#resources for usage details.",
                node.position.line, node.position.column
            ),
            node.position,
        )
        .with_path(path));
    }
    for required in ["type", "apiVersion"] {
        if !body.keys().any(|key| key.eq_ignore_ascii_case(required)) {
            let name = body
                .get("name")
                .map(crate::value::display)
                .unwrap_or_default();
            return Err(TemplateError::validation(
                format!(
                    "The template resource '{name}' at line '{}' and column '{}' is not valid: Required property '{required}' not found. Please see https://aka.ms/arm-template/#resources for usage details.",
                    node.position.line, node.position.column
                ),
                node.position,
            )
            .with_path(path));
        }
    }
    let index = resources.len();
    resources.push(ResourceDefinition {
        body,
        position: node.position,
        path: path.clone(),
        symbolic_name,
        parent,
    });
    if let Some(children) = children {
        let NodeKind::Array(items) = &children.kind else {
            return Err(TemplateError::validation(
                format!("The child resources of '{path}' must be an array."),
                children.position,
            ));
        };
        for (child_index, child) in items.iter().enumerate() {
            read_resource(
                child,
                None,
                format!("{path}.resources[{child_index}]"),
                Some(index),
                depth + 1,
                resources,
            )?;
        }
    }
    Ok(())
}

fn read_outputs(node: Option<&Node>) -> Result<Vec<OutputDefinition>, TemplateError> {
    let Some(node) = node else {
        return Ok(Vec::new());
    };
    let NodeKind::Object(members) = &node.kind else {
        return Err(TemplateError::validation(
            "The template 'outputs' must be an object.",
            node.position,
        )
        .with_path("outputs"));
    };
    let mut outputs = Vec::new();
    for (name, member) in members {
        let Value::Object(body) = member.to_value() else {
            return Err(TemplateError::validation(
                format!("The template output '{name}' must be an object."),
                member.position,
            )
            .with_path(format!("outputs.{name}")));
        };
        if !body
            .keys()
            .any(|key| key.eq_ignore_ascii_case("type") || key == "$ref")
        {
            return Err(TemplateError::validation(
                format!("The template output '{name}' at line '{}' and column '{}' is not valid: Required property 'type' not found.", member.position.line, member.position.column),
                member.position,
            )
            .with_path(format!("outputs.{name}")));
        }
        outputs.push(OutputDefinition {
            name: name.clone(),
            body,
            position: member.position,
        });
    }
    Ok(outputs)
}

/// Resolves a nested deployment's `templateLink.relativePath` against the parent's link URI, as
/// ARM does (`https://host/dir/main.json` + `nested/child.json` → `https://host/dir/nested/child.json`;
/// the parent's query string, such as a SAS token, is kept). `None` if the parent URI is not absolute.
pub fn resolve_relative_link(parent_uri: &str, relative_path: &str) -> Option<String> {
    let parent = url::Url::parse(parent_uri).ok()?;
    let mut joined = parent.join(relative_path).ok()?;
    if joined.query().is_none() {
        joined.set_query(parent.query());
    }
    Some(joined.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_links() {
        assert_eq!(
            resolve_relative_link(
                "https://example.com/templates/main.json?sv=1&sig=x",
                "nested/child.json"
            )
            .as_deref(),
            Some("https://example.com/templates/nested/child.json?sv=1&sig=x")
        );
        assert_eq!(resolve_relative_link("not a uri", "x.json"), None);
    }
}
