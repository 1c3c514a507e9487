//! Matching an action (`Microsoft.Compute/galleries/read`) against a role's action patterns.
//!
//! Azure's patterns are case-insensitive and `*` stands for any run of characters, slashes
//! included: `*`, `*/read`, `Microsoft.Compute/*`, `Microsoft.Network/*/read`,
//! `Microsoft.Authorization/*/Delete` (the built-ins mix `Delete` and `delete`).

/// Whether `pattern` matches `action` (ASCII case ignored; `*` matches any run, even empty).
pub fn matches(pattern: &str, action: &str) -> bool {
    let pattern = pattern.as_bytes();
    let action = action.as_bytes();
    // Iterative glob match with backtracking to the last star.
    let (mut p, mut a) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while a < action.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, a));
            p += 1;
        } else if p < pattern.len() && pattern[p].eq_ignore_ascii_case(&action[a]) {
            p += 1;
            a += 1;
        } else if let Some((star_p, star_a)) = star {
            p = star_p + 1;
            a = star_a + 1;
            star = Some((star_p, star_a + 1));
        } else {
            return false;
        }
    }
    while p < pattern.len() && pattern[p] == b'*' {
        p += 1;
    }
    p == pattern.len()
}

/// Whether any of `patterns` matches `action`.
pub fn any_matches(patterns: &[String], action: &str) -> bool {
    patterns.iter().any(|pattern| matches(pattern, action))
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn wildcards_match_any_run_ignoring_case() {
        assert!(matches("*", "Microsoft.Compute/galleries/read"));
        assert!(matches("*/read", "Microsoft.Compute/galleries/images/read"));
        assert!(!matches("*/read", "Microsoft.Compute/galleries/write"));
        assert!(matches(
            "Microsoft.Compute/galleries/*",
            "microsoft.compute/GALLERIES/share/action"
        ));
        assert!(!matches(
            "Microsoft.Compute/galleries/*",
            "Microsoft.Compute/galleriesX"
        ));
        assert!(matches(
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/roleAssignments/delete"
        ));
        assert!(matches(
            "Microsoft.Network/*/read",
            "Microsoft.Network/a/b/read"
        ));
        assert!(!matches(
            "Microsoft.Compute/galleries/read",
            "Microsoft.Compute/galleries/images/read"
        ));
        assert!(matches(
            "Microsoft.Compute/galleries/images/read",
            "Microsoft.Compute/galleries/images/read"
        ));
        assert!(!matches("", "x"));
    }
}
