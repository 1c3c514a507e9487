//! Resource ids and types: building `/…/providers/{namespace}/{type}/{name}/…` ids from a type and
//! names, and reading the type, name, subscription and resource group back out of an id.

/// Splits `Microsoft.Compute/galleries/images/` into the namespace and the type segments
/// (a trailing or doubled `/` is tolerated, as Azure does).
pub fn split_type(resource_type: &str) -> (&str, Vec<&str>) {
    let mut segments = resource_type
        .split('/')
        .filter(|segment| !segment.is_empty());
    let namespace = segments.next().unwrap_or("");
    (namespace, segments.collect())
}

/// `{scope}/providers/{namespace}/{type1}/{name1}/{type2}/{name2}…`; resource groups and
/// subscriptions themselves get their own id forms.
pub fn build_id(scope: &str, typed: &(String, Vec<String>)) -> String {
    let (resource_type, names) = typed;
    let (namespace, types) = split_type(resource_type);
    if namespace.eq_ignore_ascii_case("Microsoft.Resources") && types.len() == 1 && names.len() == 1
    {
        if types[0].eq_ignore_ascii_case("resourceGroups")
            && scope.starts_with("/subscriptions/")
            && !scope.contains("/resourceGroups/")
        {
            return format!("{scope}/resourceGroups/{}", names[0]);
        }
        if types[0].eq_ignore_ascii_case("subscriptions")
            && (scope.is_empty() || scope.starts_with("/providers/Microsoft.Management"))
        {
            return format!("/subscriptions/{}", names[0]);
        }
    }
    let mut id = String::with_capacity(scope.len() + resource_type.len() + 64);
    id.push_str(scope);
    id.push_str("/providers/");
    id.push_str(namespace);
    for (segment, name) in types.iter().zip(names) {
        id.push('/');
        id.push_str(segment);
        id.push('/');
        id.push_str(name);
    }
    id
}

/// The full type (`Microsoft.Compute/galleries/images`) and name (`g/i`) of a resource id.
pub fn type_and_name(id: &str) -> (String, String) {
    let Some(position) = id.to_ascii_lowercase().rfind("/providers/") else {
        let segments: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
        return match segments.as_slice() {
            [.., "resourceGroups" | "resourcegroups", name] => {
                ("Microsoft.Resources/resourceGroups".into(), (*name).into())
            }
            ["subscriptions", name] => ("Microsoft.Resources/subscriptions".into(), (*name).into()),
            _ => (String::new(), String::new()),
        };
    };
    let rest = &id[position + "/providers/".len()..];
    let segments: Vec<&str> = rest.split('/').collect();
    let Some((namespace, pairs)) = segments.split_first() else {
        return (String::new(), String::new());
    };
    let mut types = vec![(*namespace).to_string()];
    let mut names = Vec::new();
    for pair in pairs.chunks(2) {
        types.push(pair[0].to_string());
        if let Some(name) = pair.get(1) {
            names.push((*name).to_string());
        }
    }
    (types.join("/"), names.join("/"))
}

/// The subscription id and resource group name an id lies in, if any.
pub fn subscription_and_group(id: &str) -> (Option<String>, Option<String>) {
    let segments: Vec<&str> = id.split('/').collect();
    let mut subscription = None;
    let mut group = None;
    for window in segments.windows(2) {
        if window[0].eq_ignore_ascii_case("subscriptions") && subscription.is_none() {
            subscription = Some(window[1].to_string());
        }
        if window[0].eq_ignore_ascii_case("resourceGroups") && group.is_none() {
            group = Some(window[1].to_string());
        }
    }
    (subscription, group)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let id = build_id(
            "/subscriptions/s/resourceGroups/rg",
            &(
                "Microsoft.Compute/galleries/images/".into(),
                vec!["g".into(), "i".into()],
            ),
        );
        assert_eq!(
            id,
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i"
        );
        assert_eq!(
            type_and_name(&id),
            ("Microsoft.Compute/galleries/images".into(), "g/i".into())
        );
        assert_eq!(
            subscription_and_group(&id),
            (Some("s".into()), Some("rg".into()))
        );
        assert_eq!(
            build_id(
                "/subscriptions/s",
                &(
                    "Microsoft.Resources/resourceGroups".into(),
                    vec!["rg".into()]
                )
            ),
            "/subscriptions/s/resourceGroups/rg"
        );
    }
}
