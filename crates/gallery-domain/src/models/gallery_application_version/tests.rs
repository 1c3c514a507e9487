//! Unit tests of the application version rules.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::*;
use crate::ErrorCode;
use crate::api_version::AcceptedApiVersion;
use crate::identity::{Caller, Subscription};

const ID: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/applications/app/versions/1.0.0";

fn now() -> DateTime<Utc> {
    crate::time::parse_date_time("2026-01-01T00:00:00Z", "now").unwrap()
}

fn with<T>(name: &str, decision: impl FnOnce(&WriteContext<'_>) -> T) -> T {
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
        id: ID,
        name,
        caller: &caller,
        now: now(),
        api_version: &api_version,
        new_guid: &mut guid,
    };
    decision(&context)
}

fn create(body: Value) -> Result<GalleryApplicationVersion, ServiceError> {
    with("1.0.0", |context| {
        put(
            None,
            serde_json::from_value(body).unwrap(),
            context,
            &ApplicationVersionRules::default(),
        )
    })
}

fn replace(
    existing: &GalleryApplicationVersion,
    body: Value,
) -> Result<GalleryApplicationVersion, ServiceError> {
    with("1.0.0", |context| {
        put(
            Some(existing),
            serde_json::from_value(body).unwrap(),
            context,
            &ApplicationVersionRules::default(),
        )
    })
}

fn body() -> Value {
    json!({"location": "West US", "properties": {"publishingProfile": {
        "source": {"mediaLink": "https://example.com/package.zip?sig=1", "defaultConfigurationLink": "http://example.com/config.cfg"},
        "manageActions": {"install": "install.sh", "remove": "remove.sh"},
        "settings": {"packageFileName": "package.zip", "scriptBehaviorAfterReboot": "rerun"},
        "targetRegions": [{"name": "West US", "regionalReplicaCount": 2}, {"name": "East US"}],
        "endOfLifeDate": "2099-01-01T00:00:00Z"
    }}})
}

#[test]
fn a_new_version_takes_its_own_members_and_the_shared_ones() {
    let version = create(body()).unwrap();
    let profile = &version.properties.publishing_profile;
    assert_eq!(
        profile.source.media_link,
        "https://example.com/package.zip?sig=1"
    );
    assert_eq!(profile.manage_actions.install, "install.sh");
    assert_eq!(
        profile
            .settings
            .as_ref()
            .unwrap()
            .script_behavior_after_reboot,
        Some(ScriptBehaviorAfterReboot::Rerun)
    );
    assert!(!profile.enable_health_check);
    assert_eq!(profile.shared.target_regions.len(), 2);
    assert_eq!(profile.shared.target_regions[0].regional_replica_count, 2);
    let links = package_links(&version);
    assert_eq!(
        links.iter().map(|link| link.part).collect::<Vec<_>>(),
        [PACKAGE_PART, CONFIGURATION_PART]
    );
    // Served with the shared members beside the application's own.
    let served = serde_json::to_value(&version).unwrap();
    assert_eq!(served["properties"]["publishingProfile"]["replicaCount"], 1);
    assert_eq!(
        served["properties"]["publishingProfile"]["enableHealthCheck"],
        false
    );
    assert_eq!(
        served["properties"]["publishingProfile"]["publishedDate"],
        "2026-01-01T00:00:00.000000Z"
    );
}

#[test]
fn required_members_and_limits() {
    let long = "x".repeat(MAX_TEXT_CHARACTERS + 1);
    let cases = [
        (
            json!({}),
            "galleryApplicationVersion.properties.publishingProfile",
        ),
        (
            json!({"publishingProfile": {"manageActions": {"install": "i", "remove": "r"}}}),
            "galleryApplicationVersion.properties.publishingProfile.source",
        ),
        (
            json!({"publishingProfile": {"source": {}, "manageActions": {"install": "i", "remove": "r"}}}),
            "galleryApplicationVersion.properties.publishingProfile.source.mediaLink",
        ),
        (
            json!({"publishingProfile": {"source": {"mediaLink": "package.zip"}, "manageActions": {"install": "i", "remove": "r"}}}),
            "galleryApplicationVersion.properties.publishingProfile.source.mediaLink",
        ),
        (
            json!({"publishingProfile": {"source": {"mediaLink": "https://h/p", "defaultConfigurationLink": "ftp://h/c"}, "manageActions": {"install": "i", "remove": "r"}}}),
            "galleryApplicationVersion.properties.publishingProfile.source.defaultConfigurationLink",
        ),
        (
            json!({"publishingProfile": {"source": {"mediaLink": "https://h/p"}}}),
            "galleryApplicationVersion.properties.publishingProfile.manageActions",
        ),
        (
            json!({"publishingProfile": {"source": {"mediaLink": "https://h/p"}, "manageActions": {"install": "i"}}}),
            "galleryApplicationVersion.properties.publishingProfile.manageActions.remove",
        ),
        (
            json!({"publishingProfile": {"source": {"mediaLink": "https://h/p"}, "manageActions": {"install": long, "remove": "r"}}}),
            "galleryApplicationVersion.properties.publishingProfile.manageActions.install",
        ),
        (
            json!({"publishingProfile": {"source": {"mediaLink": "https://h/p"}, "manageActions": {"install": "i", "remove": "r"}, "settings": {"scriptBehaviorAfterReboot": "Sometimes"}}}),
            "galleryApplicationVersion.properties.publishingProfile.settings.scriptBehaviorAfterReboot",
        ),
        (
            json!({"publishingProfile": {"source": {"mediaLink": "https://h/p"}, "manageActions": {"install": "i", "remove": "r"}, "replicaCount": 0}}),
            "galleryApplicationVersion.properties.publishingProfile.replicaCount",
        ),
        (
            json!({"publishingProfile": {"source": {"mediaLink": "https://h/p"}, "manageActions": {"install": "i", "remove": "r"}, "targetRegions": [{"name": "East US"}]}}),
            "galleryApplicationVersion.properties.publishingProfile.targetRegions",
        ),
        (
            json!({"publishingProfile": {"source": {"mediaLink": "https://h/p"}, "manageActions": {"install": "i", "remove": "r"}, "endOfLifeDate": "2001-01-01"}}),
            "galleryApplicationVersion.properties.publishingProfile.endOfLifeDate",
        ),
    ];
    for (properties, expected) in cases {
        let error =
            create(json!({"location": "westus", "properties": properties})).expect_err(expected);
        assert_eq!(
            error.code,
            ErrorCode::InvalidParameter,
            "{expected}: {}",
            error.message
        );
        assert_eq!(error.target.as_deref(), Some(expected), "{}", error.message);
    }
    let bad_name = with("1.0", |context| {
        put(
            None,
            serde_json::from_value(body()).unwrap(),
            context,
            &ApplicationVersionRules::default(),
        )
    });
    assert!(bad_name.is_err());
}

#[test]
fn updates_change_only_what_may_change() {
    let version = create(body()).unwrap();
    // Repeating the package and changing what may change.
    let mut changed = body();
    changed["properties"]["publishingProfile"]["excludeFromLatest"] = json!(true);
    changed["properties"]["publishingProfile"]["replicaCount"] = json!(3);
    let updated = replace(&version, changed).unwrap();
    assert!(
        updated
            .properties
            .publishing_profile
            .shared
            .exclude_from_latest
    );
    assert_eq!(
        updated.properties.publishing_profile.shared.published_date,
        version.properties.publishing_profile.shared.published_date
    );
    // A PUT leaving the application's own members out keeps them.
    let kept = replace(&version, json!({"properties": {"publishingProfile": {"targetRegions": [{"name": "West US"}, {"name": "East US"}]}}})).unwrap();
    assert_eq!(
        kept.properties.publishing_profile.source,
        version.properties.publishing_profile.source
    );
    for (member, value) in [
        (
            "source",
            json!({"mediaLink": "https://example.com/other.zip"}),
        ),
        (
            "manageActions",
            json!({"install": "other.sh", "remove": "remove.sh"}),
        ),
        ("settings", json!({"packageFileName": "other.zip"})),
        ("enableHealthCheck", json!(true)),
        ("customActions", json!([{"name": "a", "script": "s"}])),
    ] {
        let mut request = body();
        request["properties"]["publishingProfile"][member] = value;
        let error = replace(&version, request).expect_err(member);
        assert_eq!(error.code, ErrorCode::PropertyChangeNotAllowed, "{member}");
        assert_eq!(
            error.target,
            Some(target(&format!("publishingProfile.{member}")))
        );
    }
    // Removing a region needs the safety setting.
    let fewer =
        json!({"properties": {"publishingProfile": {"targetRegions": [{"name": "West US"}]}}});
    assert_eq!(
        replace(&version, fewer.clone()).unwrap_err().code,
        ErrorCode::OperationNotAllowed
    );
    let mut allowed = fewer;
    allowed["properties"]["safetyProfile"] = json!({"allowDeletionOfReplicatedLocations": true});
    assert_eq!(
        replace(&version, allowed)
            .unwrap()
            .properties
            .publishing_profile
            .shared
            .target_regions
            .len(),
        1
    );
    // A PATCH merges over the stored document.
    let patched = with("1.0.0", |context| {
        patch(
            &version,
            serde_json::from_value(json!({"tags": {"a": "b"}, "properties": {"publishingProfile": {"endOfLifeDate": "2098-01-01T00:00:00Z"}}})).unwrap(),
            context,
            &ApplicationVersionRules::default(),
        )
    })
    .unwrap();
    assert_eq!(
        patched
            .properties
            .publishing_profile
            .shared
            .end_of_life_date
            .as_deref(),
        Some("2098-01-01T00:00:00+00:00")
    );
    assert_eq!(
        patched.properties.publishing_profile.manage_actions,
        version.properties.publishing_profile.manage_actions
    );
}
