//! Deployment and scope functions (Microsoft Learn: template-functions-deployment,
//! template-functions-scope): `deployment`, `environment` (AzureCloud), `parameters`, `variables`,
//! `copyIndex`, `lambdaVariables`, `resourceGroup`, `subscription`, `tenant`, `managementGroup`.

use super::{expect_count, integer_at, string_at, wrong_type};
use crate::error::{EvalResult, invalid};
use crate::evaluator::{Evaluator, Phase, not_expected};
use serde_json::{Value, json};

pub(super) fn call(
    evaluator: &mut Evaluator<'_>,
    name: &str,
    values: &[Value],
) -> EvalResult<Option<Value>> {
    let count = values.len();
    let result = match name {
        "deployment" => {
            expect_count("deployment", count, 0, 0)?;
            evaluator.world.deployment()
        }
        "environment" => {
            expect_count("environment", count, 0, 0)?;
            azure_cloud()
        }
        "parameters" => {
            expect_count("parameters", count, 1, 1)?;
            let parameter = string_at("parameters", values, 0)?;
            if let Some(arguments) = &evaluator.function_arguments {
                return match arguments
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(parameter))
                {
                    Some((_, value)) => Ok(Some(value.clone())),
                    None => invalid(format!(
                        "The template parameter '{parameter}' is not found. Please see https://aka.ms/arm-functions for usage details."
                    )),
                };
            }
            evaluator.world.parameter(parameter)?
        }
        "variables" => {
            expect_count("variables", count, 1, 1)?;
            if evaluator.phase == Phase::UserFunction {
                return not_expected("variables");
            }
            evaluator
                .world
                .variable(string_at("variables", values, 0)?)?
        }
        "copyindex" => Value::from(copy_index(evaluator, values)?),
        "lambdavariables" => {
            expect_count("lambdaVariables", count, 1, 1)?;
            let variable = string_at("lambdaVariables", values, 0)?;
            match evaluator
                .lambdas
                .iter()
                .rev()
                .find(|(name, _)| name.eq_ignore_ascii_case(variable))
            {
                Some((_, value)) => value.clone(),
                None => return invalid(format!("The lambda variable '{variable}' is not found.")),
            }
        }
        "resourcegroup" => {
            expect_count("resourceGroup", count, 0, 0)?;
            match evaluator.world.context().resource_group_value() {
                Some(group) => group,
                None => return not_expected("resourceGroup"),
            }
        }
        "subscription" => {
            expect_count("subscription", count, 0, 0)?;
            match evaluator.world.context().subscription_value() {
                Some(subscription) => subscription,
                None => return not_expected("subscription"),
            }
        }
        "tenant" => {
            expect_count("tenant", count, 0, 0)?;
            let tenant = &evaluator.world.context().tenant_id;
            json!({
                "countryCode": "US",
                "displayName": "galleryd",
                "id": format!("/tenants/{tenant}"),
                "tenantId": tenant,
            })
        }
        "managementgroup" => {
            expect_count("managementGroup", count, 0, 1)?;
            let context = evaluator.world.context();
            let group = if count == 1 {
                string_at("managementGroup", values, 0)?.to_string()
            } else {
                match &context.management_group {
                    Some(group) => group.clone(),
                    None => return not_expected("managementGroup"),
                }
            };
            json!({
                "id": format!("/providers/Microsoft.Management/managementGroups/{group}"),
                "name": group,
                "type": "Microsoft.Management/managementGroups",
                "properties": {"displayName": group, "tenantId": context.tenant_id},
            })
        }
        _ => return Ok(None),
    };
    Ok(Some(result))
}

fn copy_index(evaluator: &Evaluator<'_>, values: &[Value]) -> EvalResult<i64> {
    expect_count("copyIndex", values.len(), 0, 2)?;
    let (loop_name, offset) = match values {
        [] => (None, 0),
        [Value::String(name)] => (Some(name.as_str()), 0),
        [single] => (
            None,
            integer_at("copyIndex", std::slice::from_ref(single), 0)?,
        ),
        [Value::String(name), _] => (Some(name.as_str()), integer_at("copyIndex", values, 1)?),
        [other, _] => return wrong_type("copyIndex", 0, "String", other),
        _ => unreachable_count(),
    };
    let frame = match loop_name {
        None => evaluator.copies.first(),
        Some(name) => {
            let lower = name.to_ascii_lowercase();
            let found = evaluator
                .copies
                .iter()
                .rev()
                .find(|frame| frame.name == lower);
            if found.is_none() && !evaluator.copies.is_empty() {
                return invalid(format!(
                    "The template copy index loop name '{name}' is not found. Please see https://aka.ms/arm-copy for usage details."
                ));
            }
            found
        }
    };
    let Some(frame) = frame else {
        return invalid(
            "The template function 'copyIndex' is not expected at this location. The function can only be used in a resource with copy specified. Please see https://aka.ms/arm-copy for usage details.",
        );
    };
    frame.index.checked_add(offset).ok_or_else(|| {
        crate::error::Failure::Invalid("The template language function 'copyIndex' failed: Arithmetic operation resulted in an overflow.".into())
    })
}

fn unreachable_count() -> (Option<&'static str>, i64) {
    (None, 0)
}

/// `environment()` for the Azure public cloud.
fn azure_cloud() -> Value {
    json!({
        "name": "AzureCloud",
        "gallery": "https://gallery.azure.com/",
        "graph": "https://graph.windows.net/",
        "portal": "https://portal.azure.com",
        "graphAudience": "https://graph.windows.net/",
        "activeDirectoryDataLake": "https://datalake.azure.net/",
        "batch": "https://batch.core.windows.net/",
        "media": "https://rest.media.azure.net",
        "sqlManagement": "https://management.core.windows.net:8443/",
        "vmImageAliasDoc": "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/master/arm-compute/quickstart-templates/aliases.json",
        "resourceManager": "https://management.azure.com/",
        "authentication": {
            "loginEndpoint": "https://login.microsoftonline.com/",
            "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
            "tenant": "common",
            "identityProvider": "AAD"
        },
        "suffixes": {
            "acrLoginServer": ".azurecr.io",
            "azureDatalakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
            "azureDatalakeStoreFileSystem": "azuredatalakestore.net",
            "azureFrontDoorEndpointSuffix": "azurefd.net",
            "keyvaultDns": ".vault.azure.net",
            "sqlServerHostname": ".database.windows.net",
            "storage": "core.windows.net"
        }
    })
}
