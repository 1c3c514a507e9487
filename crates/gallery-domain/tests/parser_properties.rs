//! Property tests of the parsers in the domain that take user text: image version names,
//! api-versions, the resource ids of version sources, and merge-patch bodies applied to stored
//! documents. For any input they must answer (never panic) with a value or a 4xx `ServiceError`,
//! and what they accept must round-trip.
//!
//! `cargo test` runs proptest's default number of cases per property (256, a second or two); a
//! longer run sets `PROPTEST_CASES`, e.g.
//! `PROPTEST_CASES=100000 cargo test --release -p gallery-domain --test parser_properties`.

use gallery_domain::ServiceError;
use gallery_domain::api_version::{self, ApiFamily};
use gallery_domain::identity::{Caller, Subscription};
use gallery_domain::merge_patch;
use gallery_domain::models::common::{PatchRequest, WriteContext};
use gallery_domain::models::gallery_image;
use gallery_domain::models::gallery_image_version::SourceKind;
use gallery_domain::version_name::{MAX_PART, VersionName};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// A client error, as every refusal must be.
fn assert_client_error(error: &ServiceError) {
    assert!(
        (400..500).contains(&error.status),
        "a refusal that is not a 4xx: {error:?}"
    );
    // The code is an `ErrorCode`, never empty by construction; the message must say something.
    assert!(
        !error.message.is_empty(),
        "a refusal without a message: {error:?}"
    );
}

/// JSON values of bounded size, with keys that are often the names of real properties.
fn json_value(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |number| number.is_finite())
            .prop_map(Value::from),
        "\\PC{0,16}".prop_map(Value::from),
        prop::sample::select(vec![
            "Linux",
            "Windows",
            "Generalized",
            "V1",
            "V2",
            "x64",
            "Arm64",
            "2099-01-01T00:00:00Z",
            "",
        ])
        .prop_map(Value::from),
    ];
    let key = prop_oneof![
        prop::sample::select(keys.to_vec()).prop_map(str::to_string),
        "[a-zA-Z]{0,10}",
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

const IMAGE_PROPERTY_NAMES: &[&str] = &[
    "description",
    "eula",
    "privacyStatementUri",
    "releaseNoteUri",
    "osType",
    "osState",
    "hyperVGeneration",
    "endOfLifeDate",
    "identifier",
    "publisher",
    "offer",
    "sku",
    "recommended",
    "vCPUs",
    "memory",
    "min",
    "max",
    "disallowed",
    "diskTypes",
    "purchasePlan",
    "features",
    "name",
    "value",
    "architecture",
    "provisioningState",
];

fn version_part() -> impl Strategy<Value = u32> {
    prop_oneof![0..=9u32, 0..=MAX_PART, Just(MAX_PART)]
}

proptest! {
    #[test]
    fn version_names_round_trip(major in version_part(), minor in version_part(), patch in version_part(), zeros in 0..3usize) {
        let name = VersionName { major, minor, patch };
        prop_assert_eq!(VersionName::parse(&name.to_string()).unwrap(), name);
        let padded = format!("{}{major}.{minor}.{patch}", "0".repeat(zeros));
        prop_assert_eq!(VersionName::parse(&padded).unwrap(), name);
    }

    #[test]
    fn version_names_accept_three_int32_parts_only(text in prop_oneof!["\\PC{0,24}", "[0-9.+ -]{0,24}", "[0-9]{1,12}\\.[0-9]{1,12}\\.[0-9]{1,12}"]) {
        match VersionName::parse(&text) {
            Ok(name) => {
                let parts: Vec<&str> = text.split('.').collect();
                prop_assert_eq!(parts.len(), 3);
                for part in &parts {
                    prop_assert!(!part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit()));
                }
                prop_assert!(name.major <= MAX_PART && name.minor <= MAX_PART && name.patch <= MAX_PART);
                prop_assert_eq!(VersionName::parse(&name.to_string()).unwrap(), name);
            }
            Err(error) => assert_client_error(&error),
        }
    }

    #[test]
    fn version_name_parts_past_int32_are_refused(big in (u64::from(MAX_PART) + 1)..=u64::MAX, position in 0..3usize) {
        let mut parts = ["1".to_string(), "2".to_string(), "3".to_string()];
        parts[position] = big.to_string();
        prop_assert!(VersionName::parse(&parts.join(".")).is_err());
    }

    #[test]
    fn api_versions_are_accepted_or_refused_cleanly(
        text in prop_oneof!["\\PC{0,20}", "[0-9]{4}-[0-9]{2}-[0-9]{2}(-[a-z0-9]{0,8})?", " ?20[0-9]{2}-[01][0-9]-[0-3][0-9] ?"],
        strict in any::<bool>(),
        family in prop::sample::select(vec![ApiFamily::ComputeGallery, ApiFamily::ResourceManager, ApiFamily::ComputeDisk, ApiFamily::ComputeResource]),
    ) {
        match api_version::check(family, Some(&text), strict, "galleries") {
            Ok(accepted) => {
                prop_assert_eq!(accepted.requested.as_str(), text.trim());
                if accepted.warning.is_some() {
                    prop_assert!(!strict);
                }
            }
            Err(error) => assert_client_error(&error),
        }
    }

    #[test]
    fn api_versions_newer_than_the_newest_are_served_with_a_warning_unless_strict(year in 2027..9999u32, month in 1..=12u32, day in 1..=28u32) {
        let text = format!("{year:04}-{month:02}-{day:02}");
        let lenient = api_version::check(ApiFamily::ComputeGallery, Some(&text), false, "galleries").unwrap();
        prop_assert!(lenient.warning.is_some());
        let strict = api_version::check(ApiFamily::ComputeGallery, Some(&text), true, "galleries").unwrap_err();
        assert_client_error(&strict);
    }

    #[test]
    fn source_ids_name_their_kind_whatever_the_casing(
        names in prop::collection::vec("[a-zA-Z0-9_.-]{1,12}", 5),
        kind in 0..5usize,
        upper in any::<bool>(),
    ) {
        let base = format!("/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute", names[0], names[1]);
        let (id, expected) = match kind {
            0 => (format!("{base}/images/{}", names[2]), SourceKind::ManagedImage),
            1 => (format!("{base}/snapshots/{}", names[2]), SourceKind::Snapshot),
            2 => (format!("{base}/disks/{}", names[2]), SourceKind::Disk),
            3 => (format!("{base}/virtualMachines/{}", names[2]), SourceKind::VirtualMachine),
            _ => (format!("{base}/galleries/{}/images/{}/versions/{}", names[2], names[3], names[4]), SourceKind::GalleryImageVersion),
        };
        let id = if upper { id.to_uppercase() } else { id };
        prop_assert_eq!(SourceKind::of_id(&id), Some(expected));
        prop_assert_eq!(SourceKind::of_id(&format!("{id}/")), Some(expected));
        prop_assert_eq!(SourceKind::of_id(&format!("{id}/extra")), None);
        prop_assert_eq!(SourceKind::of_id(&id.replacen('/', "//", 2)), None);
    }

    #[test]
    fn any_source_id_text_is_classified_without_panicking(text in prop_oneof!["\\PC{0,80}", "(/[a-zA-Z.]{0,12}){0,10}/?"]) {
        let _ = SourceKind::of_id(&text);
    }

    #[test]
    fn merge_patches_are_idempotent_and_remove_nulled_members(target in json_value(IMAGE_PROPERTY_NAMES), patch in json_value(IMAGE_PROPERTY_NAMES)) {
        let mut once = target.clone();
        merge_patch::apply(&mut once, &patch);
        let mut twice = once.clone();
        merge_patch::apply(&mut twice, &patch);
        prop_assert_eq!(&once, &twice);
        match (&patch, &once) {
            (Value::Object(members), Value::Object(result)) => {
                for (name, value) in members {
                    if value.is_null() {
                        prop_assert!(!result.contains_key(name));
                    } else if !value.is_object() {
                        prop_assert_eq!(result.get(name), Some(value));
                    }
                }
            }
            (Value::Object(_), other) => prop_assert!(other.is_object()),
            (other, result) => prop_assert_eq!(other, result),
        }
    }

    #[test]
    fn image_definition_patches_are_decided_or_refused_cleanly(properties in json_value(IMAGE_PROPERTY_NAMES), tags in prop::option::of(prop::collection::btree_map("\\PC{0,12}", "\\PC{0,12}", 0..4))) {
        let subscription = Subscription::development();
        let caller = Caller::development();
        let api_version = api_version::check(ApiFamily::ComputeGallery, Some("2026-03-03"), false, "galleries/images").unwrap();
        let mut new_guid = || "00000000-0000-0000-0000-000000000001".to_string();
        let context = WriteContext {
            subscription: &subscription,
            resource_group: "rg",
            id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i",
            name: "i",
            caller: &caller,
            now: chrono::Utc::now(),
            api_version: &api_version,
            new_guid: &mut new_guid,
        };
        let created = gallery_image::put(
            None,
            serde_json::from_value(json!({
                "location": "westus",
                "properties": {"osType": "Linux", "osState": "Generalized", "identifier": {"publisher": "p", "offer": "o", "sku": "s"}}
            })).unwrap(),
            &context,
        ).unwrap();
        let request: PatchRequest = match serde_json::from_value(json!({"properties": properties, "tags": tags})) {
            Ok(request) => request,
            Err(_) => return Ok(()),
        };
        match gallery_image::patch(&created, request, &context) {
            Ok(patched) => {
                let patched = serde_json::to_value(&patched).unwrap();
                let created = serde_json::to_value(&created).unwrap();
                prop_assert_eq!(&patched["properties"]["identifier"], &created["properties"]["identifier"]);
                prop_assert_eq!(&patched["properties"]["osType"], &created["properties"]["osType"]);
                prop_assert_eq!(&patched["id"], &created["id"]);
            }
            Err(error) => assert_client_error(&error),
        }
    }
}
