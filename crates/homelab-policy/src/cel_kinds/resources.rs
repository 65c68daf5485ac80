//! Kind -> resource (plural) names, as the API server's RESTMapper gives them:
//! a table for built-in kinds whose plural is irregular, and Kubernetes'
//! `UnsafeGuessKindToResource` rule (lowercase; `s` -> `ses`, consonant+`y` ->
//! `ies`, else `+s`) for everything else, custom resources included.

/// Built-in kinds whose resource name the guessing rule gets wrong.
const IRREGULAR: &[(&str, &str)] = &[
    ("Endpoints", "endpoints"),
    ("PodMetrics", "pods"),
    ("NodeMetrics", "nodes"),
];

/// The plural resource name of `kind`.
pub fn plural_for_kind(kind: &str) -> String {
    if let Some((_, p)) = IRREGULAR.iter().find(|(k, _)| *k == kind) {
        return (*p).to_string();
    }
    let lower = kind.to_ascii_lowercase();
    if lower.is_empty() {
        return lower;
    }
    if lower.ends_with('s') {
        format!("{lower}es")
    } else if let Some(stem) = lower
        .strip_suffix('y')
        .filter(|stem| !stem.ends_with(['a', 'e', 'i', 'o', 'u']))
    {
        // `Policy` -> `policies`, but `Gateway` -> `gateways` as CRDs declare it.
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    }
}

/// `apiVersion` split into (group, version).
pub fn group_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pluralises_like_the_rest_mapper() {
        assert_eq!(plural_for_kind("Pod"), "pods");
        assert_eq!(plural_for_kind("Ingress"), "ingresses");
        assert_eq!(plural_for_kind("NetworkPolicy"), "networkpolicies");
        assert_eq!(plural_for_kind("Endpoints"), "endpoints");
        assert_eq!(plural_for_kind("ConfigMap"), "configmaps");
        assert_eq!(plural_for_kind("ApplicationSet"), "applicationsets");
        assert_eq!(plural_for_kind("Gateway"), "gateways");
    }

    #[test]
    fn splits_api_versions() {
        assert_eq!(group_version("v1"), ("", "v1"));
        assert_eq!(group_version("apps/v1"), ("apps", "v1"));
    }
}
