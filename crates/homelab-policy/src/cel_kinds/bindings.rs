//! Bindings and parameter resources of Kubernetes admission policies
//! (ValidatingAdmissionPolicy, MutatingAdmissionPolicy), as Kyverno's CLI applies them
//! offline:
//! - the bindings of a policy are the `...Binding` documents whose `spec.policyName`
//!   names it; without any, the policy's own `matchConstraints` select resources;
//! - with bindings, each binding whose `matchResources` selects the resource (or that
//!   has none) applies the policy, with the parameters its `paramRef` picks from the
//!   test's parameter resources (by `selector` labels -> a list object, else by
//!   `name`/`namespace` -> the first such object);
//! - the namespace these policies see is a Namespace object with the resource's
//!   namespace name and the labels the Values file gives it.

use serde_json::{json, Map, Value as Json};

use super::match_constraints::selector_matches;

/// The bindings of kind `binding_kind` that name `policy`.
pub fn for_policy<'a>(policy: &Json, binding_kind: &str, docs: &'a [Json]) -> Vec<&'a Json> {
    let name = policy.pointer("/metadata/name").and_then(Json::as_str);
    docs.iter()
        .filter(|b| b.get("kind").and_then(Json::as_str) == Some(binding_kind))
        .filter(|b| b.pointer("/spec/policyName").and_then(Json::as_str) == name)
        .collect()
}

fn str_at<'a>(v: &'a Json, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Json::as_str).unwrap_or("")
}

/// Whether a parameter object is the one `param_ref` points at (Kyverno's CLI:
/// a selector matches labels; otherwise the name decides, or the namespace when no
/// name is given).
fn param_matches(obj: &Json, param_ref: &Json) -> bool {
    if let Some(sel) = param_ref.get("selector").filter(|s| !s.is_null()) {
        let empty = Map::new();
        let labels = obj
            .pointer("/metadata/labels")
            .and_then(Json::as_object)
            .unwrap_or(&empty);
        return selector_matches(Some(sel), labels);
    }
    let mut matches = false;
    let ns = str_at(param_ref, "/namespace");
    if !ns.is_empty() {
        matches = str_at(obj, "/metadata/namespace") == ns;
    }
    let name = str_at(param_ref, "/name");
    if !name.is_empty() {
        matches = str_at(obj, "/metadata/name") == name;
    }
    matches
}

/// The `params` a binding gives its policy: null without a `paramRef` or without a
/// matching parameter resource; with a selector, a list of the matches.
pub fn params(binding: &Json, params: &[Json]) -> Json {
    let Some(param_ref) = binding.pointer("/spec/paramRef").filter(|r| !r.is_null()) else {
        return Json::Null;
    };
    let has_selector = param_ref.get("selector").is_some_and(|s| !s.is_null());
    let mut items = Vec::new();
    for p in params {
        if param_matches(p, param_ref) {
            if !has_selector {
                return p.clone();
            }
            items.push(p.clone());
        }
    }
    if items.is_empty() {
        Json::Null
    } else {
        json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items})
    }
}

/// The Namespace object an admission policy sees for `resource` (null for cluster-scoped
/// resources and Namespaces): its name and the labels the Values file declares.
pub fn namespace_object(resource: &Json, labels: Option<&Map<String, Json>>) -> Json {
    let kind = str_at(resource, "/kind");
    let ns = str_at(resource, "/metadata/namespace");
    if ns.is_empty() || kind == "Namespace" {
        return Json::Null;
    }
    let mut meta = Map::new();
    meta.insert("name".into(), Json::String(ns.to_string()));
    if let Some(l) = labels.filter(|l| !l.is_empty()) {
        meta.insert("labels".into(), Json::Object(l.clone()));
    }
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm(name: &str, ns: &str, labels: Json) -> Json {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns, "labels": labels}})
    }

    #[test]
    fn param_refs_pick_parameters() {
        let ps = vec![
            cm("a", "default", json!({"t": "x"})),
            cm("b", "other", json!({"t": "x"})),
        ];
        let by_name = json!({"spec": {"paramRef": {"name": "b"}}});
        assert_eq!(params(&by_name, &ps)["metadata"]["name"], "b");
        let by_sel = json!({"spec": {"paramRef": {"selector": {"matchLabels": {"t": "x"}}}}});
        assert_eq!(params(&by_sel, &ps)["items"].as_array().unwrap().len(), 2);
        let none = json!({"spec": {"paramRef": {"name": "c"}}});
        assert_eq!(params(&none, &ps), Json::Null);
        assert_eq!(params(&json!({"spec": {}}), &ps), Json::Null);
    }

    #[test]
    fn bindings_name_their_policy() {
        let p = json!({"metadata": {"name": "p"}});
        let docs = vec![
            json!({"kind": "ValidatingAdmissionPolicyBinding", "spec": {"policyName": "p"}}),
            json!({"kind": "ValidatingAdmissionPolicyBinding", "spec": {"policyName": "q"}}),
            json!({"kind": "MutatingAdmissionPolicyBinding", "spec": {"policyName": "p"}}),
        ];
        assert_eq!(
            for_policy(&p, "ValidatingAdmissionPolicyBinding", &docs).len(),
            1
        );
    }
}
