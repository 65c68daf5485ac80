//! Reading the fields of a CEL policy document the way every kind reads them: a missing
//! or mistyped field is the empty value, never a panic.

use serde_json::Value as Json;

/// The list under `key` of `value` (empty when absent or not a list).
pub(crate) fn list<'a>(value: &'a Json, key: &str) -> &'a [Json] {
    value
        .get(key)
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The list at the JSON pointer `pointer` of `value` (empty when absent or not a list).
pub(crate) fn list_at<'a>(value: &'a Json, pointer: &str) -> &'a [Json] {
    value
        .pointer(pointer)
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The string under `key` of `value` (empty when absent or not a string).
pub(crate) fn str_of<'a>(value: &'a Json, key: &str) -> &'a str {
    value.get(key).and_then(Json::as_str).unwrap_or("")
}

/// A policy's `metadata.name` (empty when absent).
pub(crate) fn policy_name(policy: &Json) -> &str {
    policy
        .pointer("/metadata/name")
        .and_then(Json::as_str)
        .unwrap_or("")
}

/// Whether `doc` is Kyverno's (policies.kyverno.io) policy kind `kind`, cluster-wide or
/// its `Namespaced` variant.
pub(crate) fn is_kyverno_kind(doc: &Json, kind: &str) -> bool {
    let found = str_of(doc, "kind");
    str_of(doc, "apiVersion").starts_with("policies.kyverno.io/")
        && found.strip_prefix("Namespaced").unwrap_or(found) == kind
}

/// Whether `doc` is the Kubernetes admission policy kind `kind`
/// (admissionregistration.k8s.io).
pub(crate) fn is_admission_kind(doc: &Json, kind: &str) -> bool {
    str_of(doc, "apiVersion").starts_with("admissionregistration.k8s.io/")
        && str_of(doc, "kind") == kind
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_and_fields() {
        let vpol = json!({"apiVersion": "policies.kyverno.io/v1", "kind": "NamespacedValidatingPolicy",
                          "metadata": {"name": "p"}, "spec": {"variables": [1], "validations": "x"}});
        assert!(is_kyverno_kind(&vpol, "ValidatingPolicy"));
        assert!(!is_kyverno_kind(&vpol, "NamespacedValidatingPolicy"));
        assert!(!is_kyverno_kind(&vpol, "MutatingPolicy"));
        let other_group = json!({"apiVersion": "kyverno.io/v1", "kind": "ValidatingPolicy"});
        assert!(!is_kyverno_kind(&other_group, "ValidatingPolicy"));
        let vap = json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy"});
        assert!(is_admission_kind(&vap, "ValidatingAdmissionPolicy"));
        assert!(!is_admission_kind(&vpol, "ValidatingAdmissionPolicy"));
        assert_eq!(policy_name(&vpol), "p");
        assert_eq!(policy_name(&vap), "");
        assert_eq!(list(&vpol["spec"], "variables").len(), 1);
        assert!(list(&vpol["spec"], "validations").is_empty());
        assert!(list_at(&vpol, "/spec/nothing").is_empty());
    }
}
