//! `Microsoft.Resources/resourceGroups`: ARM's own containers, and the Location URL of their
//! (long-running) deletion.

use axum::http::StatusCode;
use axum::response::Response;
use gallery_domain::ErrorCode;
use gallery_domain::ServiceError;
use gallery_domain::models::common::parse_body;
use gallery_domain::models::resource_group::{
    self, ResourceGroup, ResourceGroupPatch, ResourceGroupRequest,
};
use gallery_domain::names::{name_key, validate_resource_group_name};
use gallery_store::{Applied, GroupDecision, OperationStatus, StoredResourceGroup};
use serde_json::Value;

use crate::App;
use crate::arm::request::ArmRequest;
use crate::arm::response::{self, RETRY_AFTER_SECONDS};
use crate::arm::tracked::{RaceRetries, finished_operation, parse_stored};
use crate::error::ApiResult;

fn group_name(request: &ArmRequest) -> &str {
    request.parameters.get("resourceGroupName")
}

fn decision(group: &ResourceGroup) -> GroupDecision {
    GroupDecision {
        name: group.name.clone(),
        location: group.location.clone(),
        body: serde_json::to_string(group).unwrap_or_default(),
    }
}

/// Writes a resource group the one-way: read it, let `decide` say what to store, apply that over
/// what was read; read and decide again after a lost race. Answers whether it was created.
async fn write_group(
    app: &App,
    request: &ArmRequest,
    decide: impl Fn(Option<&StoredResourceGroup>) -> Result<GroupDecision, ServiceError>,
) -> ApiResult<(bool, StoredResourceGroup)> {
    let store = app.store()?;
    let subscription_id = &request.subscription().subscription_id;
    let key = name_key(group_name(request));
    let mut retries = RaceRetries::new(
        &app.write_queues,
        &format!("{subscription_id}/{key}"),
        "The resource group is being changed by another request; retry the operation.",
    );
    loop {
        let existing = store.get_resource_group(subscription_id, &key).await?;
        let decision = decide(existing.as_ref())?;
        match store
            .apply_resource_group_write(subscription_id, &key, existing.as_ref(), &decision)
            .await?
        {
            Applied::Done(written) => return Ok(written),
            Applied::LostRace | Applied::ClaimTaken { .. } => retries.lost_race().await?,
        }
    }
}

/// ResourceGroups_CreateOrUpdate: `PUT /subscriptions/{s}/resourcegroups/{name}` (201 or 200).
pub async fn create_or_update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let name = group_name(request);
    validate_resource_group_name(name)?;
    let body: ResourceGroupRequest = parse_body(&request.body)?;
    let subscription = request.subscription();
    let (created, stored) = write_group(app, request, |existing| {
        let existing: Option<ResourceGroup> = existing
            .map(|group| parse_stored(&group.body))
            .transpose()?;
        let request = ResourceGroupRequest {
            location: body.location.clone(),
            tags: body.tags.clone(),
            managed_by: body.managed_by.clone(),
        };
        Ok(decision(&resource_group::put(
            existing.as_ref(),
            request,
            subscription,
            name,
        )?))
    })
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(response::json_text(status, stored.body))
}

/// ResourceGroups_Get.
pub async fn get(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let name = group_name(request);
    match app
        .store()?
        .get_resource_group(&request.subscription().subscription_id, &name_key(name))
        .await?
    {
        Some(group) => Ok(response::json_text(StatusCode::OK, group.body)),
        None => Err(ServiceError::resource_group_not_found(name).into()),
    }
}

/// ResourceGroups_CheckExistence: `HEAD` → 204 or 404, no body.
pub async fn check_existence(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let exists = app
        .store()?
        .get_resource_group(
            &request.subscription().subscription_id,
            &name_key(group_name(request)),
        )
        .await?
        .is_some();
    Ok(response::empty(if exists {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }))
}

/// ResourceGroups_Update: `PATCH` replaces tags (and managedBy) when given.
pub async fn update(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let name = group_name(request);
    let body: Value = parse_body(&request.body)?;
    let (_, stored) = write_group(app, request, |existing| {
        let existing: ResourceGroup = match existing {
            Some(group) => parse_stored(&group.body)?,
            None => return Err(ServiceError::resource_group_not_found(name)),
        };
        let patch: ResourceGroupPatch = gallery_domain::models::common::from_value(body.clone())?;
        Ok(decision(&resource_group::patch(&existing, patch)?))
    })
    .await?;
    Ok(response::json_text(StatusCode::OK, stored.body))
}

/// ResourceGroups_Delete: 202 with a Location to poll; everything in the group is deleted, children
/// first. A group that does not exist is 404 `ResourceGroupNotFound`, as ARM answers.
pub async fn delete(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let name = group_name(request);
    let subscription_id = &request.subscription().subscription_id;
    let operation = finished_operation(request, 200);
    match app
        .store()?
        .delete_resource_group(subscription_id, &name_key(name), &operation)
        .await?
    {
        None => Err(ServiceError::resource_group_not_found(name).into()),
        Some(_) => {
            let location = request.url(
                &format!(
                    "/subscriptions/{subscription_id}/operationresults/{}",
                    operation.operation_id
                ),
                &[],
            );
            let response =
                response::with_header(response::empty(StatusCode::ACCEPTED), "Location", &location);
            Ok(response::with_header(
                response,
                "Retry-After",
                RETRY_AFTER_SECONDS,
            ))
        }
    }
}

/// ResourceGroups_List, with the optional `$filter=tagName eq 'n' [and tagValue eq 'v']`.
pub async fn list(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let filter = request
        .query
        .get("$filter")
        .map(parse_tag_filter)
        .transpose()?;
    let limit = response::page_size(request, app.settings.page_size)?;
    let after = response::skip_token(request)?;
    let page = app
        .store()?
        .list_resource_groups(&request.subscription().subscription_id, after, limit)
        .await?;
    let mut items = Vec::with_capacity(page.items.len());
    for group in page.items {
        if let Some((tag_name, tag_value)) = &filter {
            let parsed: ResourceGroup = parse_stored(&group.body)?;
            let matches = parsed.tags.as_ref().is_some_and(|tags| {
                tags.iter().any(|(name, value)| {
                    name.eq_ignore_ascii_case(tag_name)
                        && tag_value.as_ref().is_none_or(|wanted| wanted == value)
                })
            });
            if !matches {
                continue;
            }
        }
        items.push(group.body);
    }
    // Filtering happens within the page, so a filtered page may be short (even empty) yet carry a
    // nextLink: ARM clients follow nextLink until it is absent.
    Ok(response::list_page(request, items, page.next_cursor))
}

fn quoted(text: &str) -> Option<&str> {
    text.trim().strip_prefix('\'')?.strip_suffix('\'')
}

/// `tagName eq 'n'` or `tagName eq 'n' and tagValue eq 'v'`.
pub(crate) fn parse_tag_filter(filter: &str) -> Result<(String, Option<String>), ServiceError> {
    let invalid = || {
        ServiceError::new(
            400,
            ErrorCode::InvalidFilterInQueryString,
            format!("The $filter '{filter}' is not supported: use \"tagName eq 'name'\" optionally followed by \" and tagValue eq 'value'\"."),
        )
        .with_target("$filter")
    };
    let lower = filter.to_ascii_lowercase();
    let (name_part, value_part) = match lower.find(" and ") {
        Some(index) => (&filter[..index], Some(&filter[index + 5..])),
        None => (filter, None),
    };
    let name = name_part
        .trim()
        .strip_prefix("tagName eq")
        .or_else(|| name_part.trim().strip_prefix("tagname eq"))
        .and_then(quoted)
        .ok_or_else(invalid)?;
    let value = match value_part {
        Some(part) => Some(
            part.trim()
                .strip_prefix("tagValue eq")
                .or_else(|| part.trim().strip_prefix("tagvalue eq"))
                .and_then(quoted)
                .ok_or_else(invalid)?,
        ),
        None => None,
    };
    Ok((name.to_string(), value.map(str::to_string)))
}

/// OperationResults_Get: the Location URL of a resource group deletion: 202 while running, then 200.
pub async fn operation_result(app: &App, request: &ArmRequest) -> ApiResult<Response> {
    let operation_id = request.parameters.get("operationId");
    let operation = app
        .store()?
        .get_operation(&request.subscription().subscription_id, operation_id)
        .await?
        .ok_or_else(|| ServiceError::operation_not_found(operation_id))?;
    match operation.status {
        OperationStatus::InProgress => {
            let response = response::with_header(
                response::empty(StatusCode::ACCEPTED),
                "Location",
                &request.url(&request.path, &[]),
            );
            Ok(response::with_header(
                response,
                "Retry-After",
                RETRY_AFTER_SECONDS,
            ))
        }
        // An operation whose result is not a resource (a deployment's what-if) answers it.
        _ => match operation.result.filter(|result| !result.is_empty()) {
            Some(result) => Ok(response::json_text(StatusCode::OK, result)),
            None => Ok(response::empty(StatusCode::OK)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::parse_tag_filter;

    #[test]
    fn tag_filters() {
        assert_eq!(
            parse_tag_filter("tagName eq 'env'").unwrap(),
            ("env".to_string(), None)
        );
        assert_eq!(
            parse_tag_filter("tagName eq 'env' and tagValue eq 'prod'").unwrap(),
            ("env".to_string(), Some("prod".to_string()))
        );
        assert!(parse_tag_filter("name eq 'x'").is_err());
    }
}
