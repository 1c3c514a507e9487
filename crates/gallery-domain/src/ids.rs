//! Canonical resource ids and type strings.
//!
//! Ids in responses are always canonical (`resourceGroups`, `Microsoft.Compute`, whatever casing the
//! request path used) and carry each name in the casing its resource was created with. Lookups use
//! [`resource_key`], the lower-cased id.

/// `Microsoft.Compute/galleries`.
pub const GALLERY_TYPE: &str = "Microsoft.Compute/galleries";
/// `Microsoft.Compute/galleries/images`.
pub const GALLERY_IMAGE_TYPE: &str = "Microsoft.Compute/galleries/images";
/// `Microsoft.Compute/galleries/images/versions`.
pub const GALLERY_IMAGE_VERSION_TYPE: &str = "Microsoft.Compute/galleries/images/versions";
/// `Microsoft.Compute/galleries/applications`.
pub const GALLERY_APPLICATION_TYPE: &str = "Microsoft.Compute/galleries/applications";
/// `Microsoft.Compute/galleries/applications/versions`.
pub const GALLERY_APPLICATION_VERSION_TYPE: &str =
    "Microsoft.Compute/galleries/applications/versions";
/// `Microsoft.Compute/galleries/scripts`.
pub const GALLERY_SCRIPT_TYPE: &str = "Microsoft.Compute/galleries/scripts";
/// `Microsoft.Compute/galleries/scripts/versions`.
pub const GALLERY_SCRIPT_VERSION_TYPE: &str = "Microsoft.Compute/galleries/scripts/versions";
/// `Microsoft.Resources/resourceGroups`.
pub const RESOURCE_GROUP_TYPE: &str = "Microsoft.Resources/resourceGroups";
/// The provider namespace galleryd serves.
pub const COMPUTE_NAMESPACE: &str = "Microsoft.Compute";

/// `/subscriptions/{subscription}`.
pub fn subscription_id(subscription: &str) -> String {
    format!("/subscriptions/{subscription}")
}

/// `/subscriptions/{subscription}/resourceGroups/{group}`.
pub fn resource_group_id(subscription: &str, resource_group: &str) -> String {
    format!("/subscriptions/{subscription}/resourceGroups/{resource_group}")
}

/// `/subscriptions/{s}/resourceGroups/{g}/providers/Microsoft.Compute/galleries/{gallery}`.
pub fn gallery_id(subscription: &str, resource_group: &str, gallery: &str) -> String {
    format!(
        "{}/providers/{COMPUTE_NAMESPACE}/galleries/{gallery}",
        resource_group_id(subscription, resource_group)
    )
}

/// The id of a nested resource: `{parent}/{segment}/{name}`.
pub fn child_id(parent_id: &str, segment: &str, name: &str) -> String {
    format!("{parent_id}/{segment}/{name}")
}

/// The key an id is stored and looked up under: ARM ids are case-insensitive.
pub fn resource_key(id: &str) -> String {
    id.to_lowercase()
}

/// The part of an id after `/providers/`, e.g. `Microsoft.Compute/galleries/g1/images/i1`, which is
/// how ARM names a resource in `ResourceNotFound` messages.
pub fn provider_path(id: &str) -> &str {
    match id.find("/providers/") {
        Some(index) => &id[index + "/providers/".len()..],
        None => id,
    }
}

/// The resource type an id names, e.g. `Microsoft.Compute/galleries/images/versions` for
/// `/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/galleries/g1/images/i1/versions/1.0.0`
/// (in the id's casing); `None` when the id has no `/providers/` part or an odd number of segments
/// after the namespace.
pub fn resource_type_of(id: &str) -> Option<String> {
    let index = id.to_ascii_lowercase().find("/providers/")?;
    let segments: Vec<&str> = id[index + "/providers/".len()..]
        .trim_end_matches('/')
        .split('/')
        .collect();
    let (namespace, rest) = segments.split_first()?;
    if rest.is_empty() || rest.len() % 2 != 0 {
        return None;
    }
    let types: Vec<&str> = rest.iter().step_by(2).copied().collect();
    Some(format!("{namespace}/{}", types.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_canonical() {
        let gallery = gallery_id("s1", "Rg", "G1");
        assert_eq!(
            gallery,
            "/subscriptions/s1/resourceGroups/Rg/providers/Microsoft.Compute/galleries/G1"
        );
        let image = child_id(&gallery, "images", "Img");
        assert_eq!(
            provider_path(&image),
            "Microsoft.Compute/galleries/G1/images/Img"
        );
        assert_eq!(resource_key(&image), image.to_lowercase());
        assert_eq!(
            resource_type_of(&child_id(&image, "versions", "1.0.0")).as_deref(),
            Some(GALLERY_IMAGE_VERSION_TYPE)
        );
        assert_eq!(
            resource_type_of("/subscriptions/s1/resourceGroups/rg"),
            None
        );
        assert_eq!(resource_type_of(&format!("{gallery}/images")), None);
    }
}
