//! Resource functions (Microsoft Learn: template-functions-resource): the resource id builders
//! (`resourceId` with every argument form, `subscriptionResourceId`, `tenantResourceId`,
//! `managementGroupResourceId`, `extensionResourceId`), the deployment-time readers
//! (`reference`, `references`, `list*`), `resourceInfo`, `pickZones` and `providers`.

use super::{expect_count, string_at, wrong_type};
use crate::error::{EvalResult, Failure, RuntimeRequest, invalid};
use crate::evaluator::{Evaluator, ResourceTarget};
use crate::ids::{build_id, split_type};
use serde_json::{Map, Value, json};

pub(super) fn call(
    evaluator: &mut Evaluator<'_>,
    name: &str,
    written: &str,
    values: &[Value],
) -> EvalResult<Option<Value>> {
    let result = match name {
        "resourceid" => Value::String(resource_id(evaluator, values)?),
        "subscriptionresourceid" => {
            let (prefix, type_index) = leading_arguments("subscriptionResourceId", values, 1)?;
            let subscription = match prefix.first() {
                Some(subscription) => subscription.to_string(),
                None => current_subscription(evaluator, "subscriptionResourceId")?,
            };
            Value::String(build_id(
                &format!("/subscriptions/{subscription}"),
                &typed_names("subscriptionResourceId", values, type_index)?,
            ))
        }
        "tenantresourceid" => {
            let (_, type_index) = leading_arguments("tenantResourceId", values, 0)?;
            Value::String(build_id(
                "",
                &typed_names("tenantResourceId", values, type_index)?,
            ))
        }
        "managementgroupresourceid" => {
            let (prefix, type_index) = leading_arguments("managementGroupResourceId", values, 1)?;
            let group = match prefix.first() {
                Some(group) => group.to_string(),
                None => match &evaluator.world.context().management_group {
                    Some(group) => group.clone(),
                    None => return crate::evaluator::not_expected("managementGroupResourceId"),
                },
            };
            Value::String(build_id(
                &format!("/providers/Microsoft.Management/managementGroups/{group}"),
                &typed_names("managementGroupResourceId", values, type_index)?,
            ))
        }
        "extensionresourceid" => {
            expect_count("extensionResourceId", values.len(), 3, usize::MAX)?;
            let base = string_at("extensionResourceId", values, 0)?.trim_end_matches('/');
            Value::String(build_id(
                base,
                &typed_names("extensionResourceId", values, 1)?,
            ))
        }
        "reference" => reference(evaluator, values)?,
        "references" => references(evaluator, values)?,
        "resourceinfo" => {
            expect_count("resourceInfo", values.len(), 1, 1)?;
            let symbol = string_at("resourceInfo", values, 0)?;
            let target = resolve(evaluator, symbol)?;
            json!({"id": target.resource_id, "name": target.name, "type": target.resource_type, "apiVersion": target.api_version})
        }
        "pickzones" => pick_zones(values)?,
        "providers" => {
            expect_count("providers", values.len(), 1, 2)?;
            let namespace = string_at("providers", values, 0)?;
            if values.len() == 2 {
                json!({"namespace": namespace, "resourceType": string_at("providers", values, 1)?, "locations": [], "apiVersions": []})
            } else {
                json!({"namespace": namespace, "resourceTypes": []})
            }
        }
        _ if name.starts_with("list") => list(evaluator, written, values)?,
        _ => return Ok(None),
    };
    Ok(Some(result))
}

/// The arguments before the first one containing `/` (the type), at most `maximum` of them.
fn leading_arguments<'v>(
    function: &str,
    values: &'v [Value],
    maximum: usize,
) -> EvalResult<(Vec<&'v str>, usize)> {
    let mut prefix = Vec::new();
    for (index, value) in values.iter().enumerate() {
        let Value::String(text) = value else {
            return wrong_type(function, index, "String", value);
        };
        if text.contains('/') {
            if prefix.len() > maximum {
                break;
            }
            return Ok((prefix, index));
        }
        prefix.push(text.as_str());
    }
    let arguments: Vec<String> = values.iter().map(crate::value::display).collect();
    invalid(format!(
        "Unable to evaluate template language function '{function}': function requires exactly one multi-segmented argument which must be resource type including resource provider namespace. Current function arguments '{}'. Please see https://aka.ms/arm-template-expressions/#{} for usage details.",
        arguments.join(","),
        function.to_ascii_lowercase()
    ))
}

/// The type at `type_index` and the names after it, checked for matching segment counts.
fn typed_names(
    function: &str,
    values: &[Value],
    type_index: usize,
) -> EvalResult<(String, Vec<String>)> {
    let resource_type = string_at(function, values, type_index)?;
    let mut names = Vec::new();
    for (index, value) in values.iter().enumerate().skip(type_index + 1) {
        let name = match value {
            Value::String(text) => text.clone(),
            Value::Number(number) => number.to_string(),
            other => return wrong_type(function, index, "String", other),
        };
        names.extend(name.trim_matches('/').split('/').map(str::to_string));
    }
    let (namespace, types) = split_type(resource_type);
    if namespace.is_empty() || types.is_empty() || types.len() != names.len() {
        return invalid(format!(
            "Unable to evaluate template language function '{function}': the type '{resource_type}' requires '{}' resource name argument(s), but '{}' were provided. Please see https://aka.ms/arm-template-expressions/#{} for usage details.",
            types.len(),
            names.len(),
            function.to_ascii_lowercase()
        ));
    }
    Ok((resource_type.trim_matches('/').to_string(), names))
}

fn current_subscription(evaluator: &Evaluator<'_>, function: &str) -> EvalResult<String> {
    match evaluator.world.context().subscription_id() {
        Some(subscription) => Ok(subscription.to_string()),
        None => crate::evaluator::not_expected(function),
    }
}

fn resource_id(evaluator: &Evaluator<'_>, values: &[Value]) -> EvalResult<String> {
    expect_count("resourceId", values.len(), 2, usize::MAX)?;
    let (prefix, type_index) = leading_arguments("resourceId", values, 2)?;
    let context = evaluator.world.context();
    let typed = typed_names("resourceId", values, type_index)?;
    let scope = match prefix.as_slice() {
        [subscription, group] => format!("/subscriptions/{subscription}/resourceGroups/{group}"),
        [group] => format!(
            "/subscriptions/{}/resourceGroups/{group}",
            current_subscription(evaluator, "resourceId")?
        ),
        _ => match (
            context.subscription_id(),
            context.resource_group_name(),
            &context.management_group,
        ) {
            (Some(subscription), Some(group), _) => {
                format!("/subscriptions/{subscription}/resourceGroups/{group}")
            }
            (Some(subscription), None, _) => format!("/subscriptions/{subscription}"),
            (None, _, Some(group)) => {
                format!("/providers/Microsoft.Management/managementGroups/{group}")
            }
            _ => String::new(),
        },
    };
    Ok(build_id(&scope, &typed))
}

/// A template resource by name or symbolic name, or the error Azure gives when there is none.
fn resolve(evaluator: &Evaluator<'_>, name: &str) -> EvalResult<ResourceTarget> {
    evaluator.world.template_resource(name).ok_or_else(|| {
        Failure::Invalid(format!(
            "The template reference '{name}' is not valid: could not find template resource or resource copy with this name. Please see https://aka.ms/arm-template-expressions/#reference for usage details."
        ))
    })
}

/// Resolves a `reference`/`list*` first argument (a name, symbolic name or id) and api version.
fn target_of(
    evaluator: &Evaluator<'_>,
    function: &str,
    reference: &str,
    api_version: Option<&str>,
) -> EvalResult<ResourceTarget> {
    if reference.starts_with('/') {
        let from_template = evaluator
            .world
            .template_resource(reference)
            .filter(|target| target.resource_id.eq_ignore_ascii_case(reference));
        let api_version = match (api_version, &from_template) {
            (Some(version), _) => version.to_string(),
            (None, Some(target)) => target.api_version.clone(),
            (None, None) => {
                return invalid(format!(
                    "The template function '{function}' requires an api-version for the resource '{reference}', which is not declared in the template. Please see https://aka.ms/arm-template-expressions/#reference for usage details."
                ));
            }
        };
        let (resource_type, name) = crate::ids::type_and_name(reference);
        return Ok(ResourceTarget {
            resource_id: reference.to_string(),
            api_version,
            resource_type,
            name,
            condition: from_template.as_ref().and_then(|target| target.condition),
            existing: from_template.as_ref().is_some_and(|target| target.existing),
        });
    }
    let mut target = resolve(evaluator, reference)?;
    if let Some(version) = api_version {
        target.api_version = version.to_string();
    }
    Ok(target)
}

fn reference(evaluator: &mut Evaluator<'_>, values: &[Value]) -> EvalResult<Value> {
    evaluator.require_runtime_phase("reference")?;
    expect_count("reference", values.len(), 1, 3)?;
    let reference = string_at("reference", values, 0)?;
    let api_version = if values.len() >= 2 {
        Some(string_at("reference", values, 1)?)
    } else {
        None
    };
    let full = if values.len() == 3 {
        let option = string_at("reference", values, 2)?;
        if !option.eq_ignore_ascii_case("full") {
            return invalid(format!(
                "The template function 'reference' expects its third parameter to be 'Full'. The provided value is '{option}'."
            ));
        }
        true
    } else {
        false
    };
    let target = target_of(evaluator, "reference", reference, api_version)?;
    read_reference(evaluator, &target, full)
}

fn read_reference(
    evaluator: &Evaluator<'_>,
    target: &ResourceTarget,
    full: bool,
) -> EvalResult<Value> {
    let Some(state) = evaluator.world.state() else {
        return crate::evaluator::not_expected("reference");
    };
    let Some(body) = state.resource(&target.resource_id) else {
        return Err(Failure::Pending(RuntimeRequest::Reference {
            resource_id: target.resource_id.clone(),
            api_version: target.api_version.clone(),
            full,
        }));
    };
    if !full {
        return Ok(body
            .get("properties")
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new())));
    }
    let mut whole = body.as_object().cloned().unwrap_or_default();
    let (subscription, group) = crate::ids::subscription_and_group(&target.resource_id);
    whole.insert(
        "subscriptionId".into(),
        subscription.map_or(Value::Null, Value::String),
    );
    whole.insert(
        "resourceGroupName".into(),
        group.map_or(Value::Null, Value::String),
    );
    whole.insert(
        "resourceId".into(),
        Value::String(target.resource_id.clone()),
    );
    whole.insert(
        "referenceApiVersion".into(),
        Value::String(target.api_version.clone()),
    );
    whole.insert(
        "condition".into(),
        Value::Bool(target.condition.unwrap_or(true)),
    );
    whole.insert(
        "isConditionTrue".into(),
        Value::Bool(target.condition.unwrap_or(true)),
    );
    whole.insert(
        "isTemplateResource".into(),
        Value::Bool(
            evaluator
                .world
                .template_resource(&target.resource_id)
                .is_some(),
        ),
    );
    whole.insert("isAction".into(), Value::Bool(false));
    whole.insert(
        "provisioningOperation".into(),
        Value::String(if target.existing { "Read" } else { "Create" }.into()),
    );
    Ok(Value::Object(whole))
}

fn references(evaluator: &mut Evaluator<'_>, values: &[Value]) -> EvalResult<Value> {
    evaluator.require_runtime_phase("references")?;
    expect_count("references", values.len(), 1, 2)?;
    let loop_name = string_at("references", values, 0)?;
    let full =
        values.len() == 2 && string_at("references", values, 1)?.eq_ignore_ascii_case("full");
    let Some(instances) = evaluator.world.copy_instances(loop_name) else {
        return invalid(format!(
            "The template reference '{loop_name}' is not valid: could not find template resource or resource copy with this name. Please see https://aka.ms/arm-template-expressions/#reference for usage details."
        ));
    };
    let mut results = Vec::new();
    for instance in instances
        .iter()
        .filter(|instance| instance.condition != Some(false))
    {
        results.push(read_reference(evaluator, instance, full)?);
    }
    Ok(Value::Array(results))
}

fn list(evaluator: &mut Evaluator<'_>, written: &str, values: &[Value]) -> EvalResult<Value> {
    evaluator.require_runtime_phase(written)?;
    expect_count(written, values.len(), 2, 3)?;
    let reference = string_at(written, values, 0)?;
    let api_version = string_at(written, values, 1)?;
    let target = target_of(evaluator, written, reference, Some(api_version))?;
    let Some(state) = evaluator.world.state() else {
        return crate::evaluator::not_expected(written);
    };
    match state.list_result(&target.resource_id, written) {
        Some(result) => Ok(result.clone()),
        None => Err(Failure::Pending(RuntimeRequest::List {
            resource_id: target.resource_id,
            action: written.to_string(),
            api_version: api_version.to_string(),
            body: values.get(2).map(Value::to_string),
        })),
    }
}

/// Azure public regions with availability zones (lower case, no spaces).
const ZONAL_REGIONS: &[&str] = &[
    "australiaeast",
    "brazilsouth",
    "canadacentral",
    "centralindia",
    "centralus",
    "eastasia",
    "eastus",
    "eastus2",
    "francecentral",
    "germanywestcentral",
    "israelcentral",
    "italynorth",
    "japaneast",
    "japanwest",
    "koreacentral",
    "mexicocentral",
    "newzealandnorth",
    "northeurope",
    "norwayeast",
    "polandcentral",
    "qatarcentral",
    "southafricanorth",
    "southcentralus",
    "southeastasia",
    "spaincentral",
    "swedencentral",
    "switzerlandnorth",
    "uaenorth",
    "uksouth",
    "westeurope",
    "westus2",
    "westus3",
    "usgovvirginia",
    "chinanorth3",
];

fn pick_zones(values: &[Value]) -> EvalResult<Value> {
    expect_count("pickZones", values.len(), 3, 5)?;
    string_at("pickZones", values, 0)?;
    string_at("pickZones", values, 1)?;
    let location = string_at("pickZones", values, 2)?
        .to_ascii_lowercase()
        .replace(' ', "");
    let wanted = if values.len() >= 4 {
        super::integer_at("pickZones", values, 3)?
    } else {
        1
    };
    let offset = if values.len() == 5 {
        super::integer_at("pickZones", values, 4)?
    } else {
        0
    };
    if !ZONAL_REGIONS.contains(&location.as_str()) {
        return Ok(Value::Array(Vec::new()));
    }
    let zones = (0..wanted.clamp(0, 3))
        .map(|index| Value::String(((offset + index).rem_euclid(3) + 1).to_string()))
        .collect();
    Ok(Value::Array(zones))
}
