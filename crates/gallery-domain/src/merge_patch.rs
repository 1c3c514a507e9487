//! JSON merge-patch (RFC 7396), the semantics of `properties` in an ARM PATCH.
//!
//! A thin, named seam over the `json-patch` crate so the rule "PATCH merges properties, replaces
//! tags" lives in one place.

use serde_json::Value;

/// Applies `patch` to `target` per RFC 7396: objects merge recursively, `null` removes a member,
/// anything else replaces.
pub fn apply(target: &mut Value, patch: &Value) {
    json_patch::merge(target, patch);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut document = json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        super::apply(
            &mut document,
            &json!({"b": {"c": null, "f": 4}, "e": [2], "g": "x"}),
        );
        assert_eq!(
            document,
            json!({"a": 1, "b": {"d": 3, "f": 4}, "e": [2], "g": "x"})
        );
    }
}
