//! Unit tests of the script version rules.

use serde_json::json;

use super::*;
use crate::ErrorCode;
use crate::api_version::AcceptedApiVersion;
use crate::identity::{Caller, Subscription};

fn decide_put(
    existing: Option<&GalleryScriptVersion>,
    body: Value,
) -> Result<GalleryScriptVersion, ServiceError> {
    let subscription = Subscription::development();
    let caller = Caller::development();
    let api_version = AcceptedApiVersion {
        requested: "2025-03-03".to_string(),
        warning: None,
    };
    let mut guid = || "guid".to_string();
    let context = WriteContext {
        subscription: &subscription,
        resource_group: "rg",
        id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/scripts/s/versions/1.0.0",
        name: "1.0.0",
        caller: &caller,
        now: chrono::Utc::now(),
        api_version: &api_version,
        new_guid: &mut guid,
    };
    put(
        existing,
        serde_json::from_value(body).unwrap(),
        &context,
        &ScriptVersionRules::default(),
    )
}

fn with_parameters(parameters: Value) -> Value {
    json!({"location": "westus", "properties": {"publishingProfile": {"source": {"scriptLink": "https://h/s.ps1", "parameters": parameters}}}})
}

#[test]
fn parameters_and_source_follow_the_rules() {
    let version = decide_put(
        None,
        with_parameters(json!([
            {"name": "count", "type": "int", "minValue": "1", "maxValue": "5"},
            {"name": "kind", "type": "Enum", "enumValues": ["a", "b"]}
        ])),
    )
    .unwrap();
    let parameters = version
        .properties
        .publishing_profile
        .source
        .parameters
        .clone()
        .unwrap();
    assert_eq!(parameters[0].parameter_type, Some(ScriptParameterType::Int));
    assert_eq!(script_link(&version).part, SCRIPT_PART);
    let base = "galleryScriptVersion.properties.publishingProfile.source";
    for (parameters, expected) in [
        (
            json!([{"type": "String"}]),
            format!("{base}.parameters[0].name"),
        ),
        (
            json!([{"name": "a"}, {"name": "A"}]),
            format!("{base}.parameters"),
        ),
        (
            json!([{"name": "a", "type": "Text"}]),
            format!("{base}.parameters[0].type"),
        ),
        (
            json!([{"name": "a", "type": "Enum"}]),
            format!("{base}.parameters[0].enumValues"),
        ),
        (
            json!([{"name": "a", "type": "String", "enumValues": ["x"]}]),
            format!("{base}.parameters[0].enumValues"),
        ),
        (
            json!([{"name": "a", "type": "String", "minValue": "1"}]),
            format!("{base}.parameters[0].minValue"),
        ),
        (
            json!([{"name": "a", "type": "Int", "minValue": "x"}]),
            format!("{base}.parameters[0].minValue"),
        ),
        (
            json!([{"name": "a", "type": "Double", "minValue": "2", "maxValue": "1"}]),
            format!("{base}.parameters[0].minValue"),
        ),
    ] {
        let error = decide_put(None, with_parameters(parameters)).expect_err(&expected);
        assert_eq!(error.code, ErrorCode::InvalidParameter);
        assert_eq!(
            error.target.as_deref(),
            Some(expected.as_str()),
            "{}",
            error.message
        );
    }
    let missing = decide_put(
        None,
        json!({"location": "westus", "properties": {"publishingProfile": {}}}),
    )
    .unwrap_err();
    assert_eq!(
        missing.target.as_deref(),
        Some("galleryScriptVersion.properties.publishingProfile.source")
    );
    let changed = decide_put(Some(&version), json!({"properties": {"publishingProfile": {"source": {"scriptLink": "https://h/other.ps1"}}}})).unwrap_err();
    assert_eq!(changed.code, ErrorCode::PropertyChangeNotAllowed);
    let kept = decide_put(
        Some(&version),
        json!({"properties": {"publishingProfile": {"excludeFromLatest": true}}}),
    )
    .unwrap();
    assert_eq!(
        kept.properties.publishing_profile.source,
        version.properties.publishing_profile.source
    );
}
