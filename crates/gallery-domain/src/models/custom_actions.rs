//! `customActions` (`GalleryApplicationCustomAction`): named scripts a VM application definition
//! or version offers, each with typed parameters. Shared by applications and their versions.
//!
//! # Rules (every error names the property path as `target`)
//! - `name` and `script` are required; `parameters[].name` is required.
//! - Action names are unique within the list, parameter names within their action (ignoring case,
//!   as Azure compares names): "Must be unique within the Gallery Application Version".
//! - `parameters[].type` is `String`, `ConfigurationDataBlob` or `LogOutputBlob` (spec casing
//!   served whatever the request's casing); `defaultValue` "only applies to string types", so a
//!   default on a blob parameter is refused.

use serde::{Deserialize, Serialize};

use crate::ServiceError;
use crate::models::common::missing_property;

crate::string_enum! {
    /// GalleryApplicationCustomActionParameterType.
    pub enum CustomActionParameterType {
        String = "String",
        ConfigurationDataBlob = "ConfigurationDataBlob",
        LogOutputBlob = "LogOutputBlob",
    }
}

/// One parameter of a custom action, as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomActionParameter {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub parameter_type: Option<CustomActionParameterType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One custom action, as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomAction {
    pub name: String,
    pub script: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Vec<CustomActionParameter>>,
}

/// A parameter as requested.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomActionParameterInput {
    pub name: Option<String>,
    pub required: Option<bool>,
    #[serde(rename = "type")]
    pub parameter_type: Option<String>,
    pub default_value: Option<String>,
    pub description: Option<String>,
}

/// A custom action as requested.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomActionInput {
    pub name: Option<String>,
    pub script: Option<String>,
    pub description: Option<String>,
    pub parameters: Option<Vec<CustomActionParameterInput>>,
}

fn required_text(value: Option<String>, target: &str) -> Result<String, ServiceError> {
    value
        .filter(|text| !text.trim().is_empty())
        .ok_or_else(|| missing_property(target))
}

fn duplicate(target: &str, what: &str, name: &str) -> ServiceError {
    ServiceError::invalid_parameter(
        target,
        format!("The {what} name '{name}' is used more than once; {what} names must be unique."),
    )
}

/// Parses `customActions` found at `target` (`galleryApplication.properties.customActions`).
pub fn parse(
    input: Option<Vec<CustomActionInput>>,
    target: &str,
) -> Result<Option<Vec<CustomAction>>, ServiceError> {
    let Some(input) = input else { return Ok(None) };
    let mut actions: Vec<CustomAction> = Vec::with_capacity(input.len());
    for (index, action) in input.into_iter().enumerate() {
        let action_target = format!("{target}[{index}]");
        let name = required_text(action.name, &format!("{action_target}.name"))?;
        let script = required_text(action.script, &format!("{action_target}.script"))?;
        if actions
            .iter()
            .any(|existing| existing.name.eq_ignore_ascii_case(&name))
        {
            return Err(duplicate(target, "custom action", &name));
        }
        let parameters = match action.parameters {
            None => None,
            Some(parameters) => Some(parse_parameters(
                parameters,
                &format!("{action_target}.parameters"),
            )?),
        };
        actions.push(CustomAction {
            name,
            script,
            description: action.description,
            parameters,
        });
    }
    Ok(Some(actions))
}

fn parse_parameters(
    input: Vec<CustomActionParameterInput>,
    target: &str,
) -> Result<Vec<CustomActionParameter>, ServiceError> {
    let mut parameters: Vec<CustomActionParameter> = Vec::with_capacity(input.len());
    for (index, parameter) in input.into_iter().enumerate() {
        let parameter_target = format!("{target}[{index}]");
        let name = required_text(parameter.name, &format!("{parameter_target}.name"))?;
        if parameters
            .iter()
            .any(|existing| existing.name.eq_ignore_ascii_case(&name))
        {
            return Err(duplicate(target, "parameter", &name));
        }
        let type_target = format!("{parameter_target}.type");
        let parameter_type = parameter
            .parameter_type
            .as_deref()
            .map(|value| CustomActionParameterType::parse(value, &type_target))
            .transpose()?;
        let is_blob = parameter_type.is_some_and(|kind| kind != CustomActionParameterType::String);
        if is_blob && parameter.default_value.is_some() {
            return Err(ServiceError::invalid_parameter(
                format!("{parameter_target}.defaultValue"),
                format!(
                    "The parameter '{name}' has a default value, which only applies to parameters of type 'String'."
                ),
            ));
        }
        parameters.push(CustomActionParameter {
            name,
            required: parameter.required,
            parameter_type,
            default_value: parameter.default_value,
            description: parameter.description,
        });
    }
    Ok(parameters)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use serde_json::json;

    fn parsed(value: serde_json::Value) -> Result<Option<Vec<CustomAction>>, ServiceError> {
        parse(serde_json::from_value(value).unwrap(), "app.customActions")
    }

    #[test]
    fn actions_and_parameters_are_checked() {
        let actions = parsed(
            json!([{"name": "reset", "script": "reset.sh", "parameters": [
                {"name": "level", "type": "string", "defaultValue": "1"},
                {"name": "log", "type": "LOGOUTPUTBLOB"}
            ]}]),
        )
        .unwrap()
        .unwrap();
        let parameters = actions[0].parameters.as_ref().unwrap();
        assert_eq!(
            parameters[0].parameter_type,
            Some(CustomActionParameterType::String)
        );
        assert_eq!(
            parameters[1].parameter_type,
            Some(CustomActionParameterType::LogOutputBlob)
        );
        let cases = [
            (json!([{"script": "s"}]), "app.customActions[0].name"),
            (json!([{"name": "a"}]), "app.customActions[0].script"),
            (
                json!([{"name": "a", "script": "s"}, {"name": "A", "script": "t"}]),
                "app.customActions",
            ),
            (
                json!([{"name": "a", "script": "s", "parameters": [{"name": "p"}, {"name": "P"}]}]),
                "app.customActions[0].parameters",
            ),
            (
                json!([{"name": "a", "script": "s", "parameters": [{"required": true}]}]),
                "app.customActions[0].parameters[0].name",
            ),
            (
                json!([{"name": "a", "script": "s", "parameters": [{"name": "p", "type": "Number"}]}]),
                "app.customActions[0].parameters[0].type",
            ),
            (
                json!([{"name": "a", "script": "s", "parameters": [{"name": "p", "type": "ConfigurationDataBlob", "defaultValue": "x"}]}]),
                "app.customActions[0].parameters[0].defaultValue",
            ),
        ];
        for (value, target) in cases {
            let error = parsed(value).expect_err(target);
            assert_eq!(error.code, ErrorCode::InvalidParameter);
            assert_eq!(error.target.as_deref(), Some(target));
        }
    }
}
