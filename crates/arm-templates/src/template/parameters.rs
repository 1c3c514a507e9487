//! Parameter declarations and the rules a value must meet: the type (any case), `allowedValues`
//! (per element for arrays), `minValue`/`maxValue`, `minLength`/`maxLength`, and for
//! languageVersion 2.0 typed parameters and outputs, `$ref` to `definitions`, `nullable`,
//! `properties`, `additionalProperties`, `items` and `prefixItems`.

use crate::error::TemplateError;
use crate::jsonc::{Node, NodeKind, Position};
use crate::value::{deep_equal, display, type_name};
use serde_json::{Map, Value};

/// A declared parameter.
#[derive(Debug, Clone)]
pub(crate) struct ParameterDefinition {
    pub name: String,
    pub position: Position,
    /// The declaration without `defaultValue` (type, constraints, metadata).
    pub declaration: Map<String, Value>,
    pub default: Option<Value>,
}

impl ParameterDefinition {
    /// The declared type in lower case (`string`, `securestring`, …), following `$ref` if needed.
    pub fn type_lower(&self, definitions: &Map<String, Value>) -> String {
        resolved_type(&self.declaration, definitions)
    }

    pub fn is_secure(&self, definitions: &Map<String, Value>) -> bool {
        let declared = self.type_lower(definitions);
        declared == "securestring"
            || declared == "secureobject"
            || self
                .declaration
                .get("metadata")
                .and_then(|metadata| metadata.get("__bicep_secure"))
                .is_some()
    }
}

fn resolved_type(declaration: &Map<String, Value>, definitions: &Map<String, Value>) -> String {
    let mut current = declaration;
    for _ in 0..32 {
        if let Some(Value::String(declared)) = current.get("type") {
            return declared.to_ascii_lowercase();
        }
        let Some(target) = reference_target(current, definitions) else {
            break;
        };
        current = target;
    }
    "any".to_string()
}

fn reference_target<'a>(
    declaration: &Map<String, Value>,
    definitions: &'a Map<String, Value>,
) -> Option<&'a Map<String, Value>> {
    let reference = declaration.get("$ref")?.as_str()?;
    let name = reference.strip_prefix("#/definitions/")?;
    definitions.get(name)?.as_object()
}

/// The type name the deployment response shows (`String`, `SecureString`, `Int`, `Bool`, …).
pub(crate) fn display_type(lower: &str) -> &'static str {
    match lower {
        "string" => "String",
        "securestring" => "SecureString",
        "int" => "Int",
        "bool" => "Bool",
        "object" => "Object",
        "secureobject" => "SecureObject",
        "array" => "Array",
        _ => "Object",
    }
}

pub(crate) fn read_definitions(
    node: Option<&Node>,
) -> Result<Vec<ParameterDefinition>, TemplateError> {
    let Some(node) = node else {
        return Ok(Vec::new());
    };
    let NodeKind::Object(members) = &node.kind else {
        return Err(TemplateError::validation(
            "The template 'parameters' must be an object.",
            node.position,
        )
        .with_path("parameters"));
    };
    let mut definitions = Vec::new();
    for (name, member) in members {
        let Value::Object(mut declaration) = member.to_value() else {
            return Err(TemplateError::validation(
                format!("The template parameter '{name}' must be an object."),
                member.position,
            )
            .with_path(format!("parameters.{name}")));
        };
        if !declaration.contains_key("type") && !declaration.contains_key("$ref") {
            return Err(TemplateError::validation(
                format!(
                    "The template parameter '{name}' at line '{}' and column '{}' is not valid: Required property 'type' not found. Please see https://aka.ms/arm-template/#parameters for usage details.",
                    member.position.line, member.position.column
                ),
                member.position,
            )
            .with_path(format!("parameters.{name}")));
        }
        if let Some(Value::String(declared)) = declaration.get("type")
            && !matches!(
                declared.to_ascii_lowercase().as_str(),
                "string" | "securestring" | "int" | "bool" | "object" | "secureobject" | "array"
            )
        {
            return Err(TemplateError::validation(
                format!(
                    "The template parameter '{name}' at line '{}' and column '{}' has a type '{declared}' that is not valid. Supported types are 'String, SecureString, Int, Bool, Object, SecureObject, Array'.",
                    member.position.line, member.position.column
                ),
                member.position,
            ));
        }
        let default = declaration.remove("defaultValue");
        definitions.push(ParameterDefinition {
            name: name.clone(),
            position: member.position,
            declaration,
            default,
        });
    }
    Ok(definitions)
}

/// Whether a value has a declared type (`string`, `int`, …, or `any`), ignoring case.
pub(crate) fn value_has_type(value: &Value, declared: &str) -> bool {
    match declared.to_ascii_lowercase().as_str() {
        "string" | "securestring" => value.is_string(),
        "int" => crate::value::as_integer(value).is_some() && value.is_number(),
        "bool" => value.is_boolean(),
        "object" | "secureobject" => value.is_object(),
        "array" => value.is_array(),
        _ => true,
    }
}

fn expected_type_text(declared: &str) -> &'static str {
    match declared {
        "string" | "securestring" => "String, Uri",
        "int" => "Integer",
        "bool" => "Boolean",
        "object" | "secureobject" => "Object",
        "array" => "Array",
        _ => "Any",
    }
}

/// Checks `value` against a declaration; the error is the detail text (framed by the caller).
/// `subject` names what is checked in messages (`the template parameter 'p' at line …`).
pub(crate) fn check_value(
    value: &Value,
    declaration: &Map<String, Value>,
    definitions: &Map<String, Value>,
    subject: &str,
    depth: usize,
) -> Result<(), String> {
    if depth > 32 {
        return Ok(());
    }
    if value.is_null() && declaration.get("nullable") == Some(&Value::Bool(true)) {
        return Ok(());
    }
    if let Some(target) = reference_target(declaration, definitions) {
        check_value(value, target, definitions, subject, depth + 1)?;
    }
    let declared = declaration
        .get("type")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);
    if let Some(declared) = &declared
        && !value_has_type(value, declared)
    {
        return Err(format!(
            "Template parameter JToken type is not valid. Expected '{}'. Actual '{}'. Please see https://aka.ms/resource-manager-parameter-files for usage details.",
            expected_type_text(declared),
            type_name(value)
        ));
    }
    let invalid = |detail: String| {
        format!(
            "The provided value for {subject} is not valid. {detail} Please see https://aka.ms/arm-parameters for usage details."
        )
    };
    if let Some(Value::Array(allowed)) = declaration.get("allowedValues") {
        let permitted =
            |candidate: &Value| allowed.iter().any(|option| deep_equal(option, candidate));
        let accepted = match value {
            Value::Array(items) if declared.as_deref() == Some("array") => {
                items.iter().all(permitted)
            }
            other => permitted(other),
        };
        if !accepted {
            let options: Vec<String> = allowed.iter().map(display).collect();
            return Err(invalid(format!(
                "The parameter value is not part of the allowed value(s): '{}'.",
                options.join(",")
            )));
        }
    }
    if let Some(number) = crate::value::as_integer(value).filter(|_| value.is_number()) {
        if let Some(minimum) = declaration
            .get("minValue")
            .and_then(crate::value::as_integer)
            && number < minimum
        {
            return Err(invalid(format!(
                "The value should be greater than or equal to '{minimum}'."
            )));
        }
        if let Some(maximum) = declaration
            .get("maxValue")
            .and_then(crate::value::as_integer)
            && number > maximum
        {
            return Err(invalid(format!(
                "The value should be less than or equal to '{maximum}'."
            )));
        }
    }
    let length = match value {
        Value::String(text) => Some(text.encode_utf16().count() as i64),
        Value::Array(items) => Some(items.len() as i64),
        _ => None,
    };
    if let Some(length) = length {
        if let Some(minimum) = declaration
            .get("minLength")
            .and_then(crate::value::as_integer)
            && length < minimum
        {
            return Err(invalid(format!(
                "Length of the value should be greater than or equal to '{minimum}'."
            )));
        }
        if let Some(maximum) = declaration
            .get("maxLength")
            .and_then(crate::value::as_integer)
            && length > maximum
        {
            return Err(invalid(format!(
                "Length of the value should be less than or equal to '{maximum}'."
            )));
        }
    }
    if let (Value::Object(object), Some(Value::Object(properties))) =
        (value, declaration.get("properties"))
    {
        for (name, property) in properties {
            let Some(property) = property.as_object() else {
                continue;
            };
            match object.get(name) {
                Some(inner) => check_value(
                    inner,
                    property,
                    definitions,
                    &format!("{subject} property '{name}'"),
                    depth + 1,
                )?,
                None if property.get("nullable") != Some(&Value::Bool(true)) => {
                    return Err(invalid(format!(
                        "The value is missing the required property '{name}'."
                    )));
                }
                None => {}
            }
        }
        match declaration.get("additionalProperties") {
            Some(Value::Bool(false)) => {
                if let Some(extra) = object.keys().find(|key| !properties.contains_key(*key)) {
                    return Err(invalid(format!("The property '{extra}' is not allowed.")));
                }
            }
            Some(Value::Object(schema)) => {
                for (name, inner) in object
                    .iter()
                    .filter(|(key, _)| !properties.contains_key(*key))
                {
                    check_value(
                        inner,
                        schema,
                        definitions,
                        &format!("{subject} property '{name}'"),
                        depth + 1,
                    )?;
                }
            }
            _ => {}
        }
    }
    if let Value::Array(items) = value {
        let prefix = declaration.get("prefixItems").and_then(Value::as_array);
        for (index, item) in items.iter().enumerate() {
            let schema = prefix
                .and_then(|prefix| prefix.get(index))
                .or_else(|| declaration.get("items"));
            if let Some(Value::Object(schema)) = schema {
                check_value(
                    item,
                    schema,
                    definitions,
                    &format!("{subject} item '{index}'"),
                    depth + 1,
                )?;
            }
        }
    }
    Ok(())
}
