//! Kubernetes admission matching (`spec.matchConstraints` of ValidatingPolicy,
//! as for ValidatingAdmissionPolicy): resource rules with operations, groups,
//! versions, plural resources (`*`, `*/*`, `res/*`), resource names and scope;
//! exclude rules; namespace and object label selectors.

use serde_json::{Map, Value as Json};

use super::resources::{group_version, plural_for_kind};

/// What is being admitted.
pub struct Request<'a> {
    pub resource: &'a Json,
    pub operation: &'a str,
    /// Labels of the resource's namespace (empty when unknown).
    pub namespace_labels: &'a Map<String, Json>,
    /// Set when the request is for a subresource (the object is of its kind, the
    /// rules are matched against the parent resource and the subresource name).
    pub subresource: Option<&'a crate::context::Subresource>,
}

fn strs(v: Option<&Json>) -> Vec<&str> {
    v.and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default()
}

fn str_at<'a>(v: &'a Json, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Json::as_str).unwrap_or("")
}

/// Whether one `NamedRuleWithOperations` matches the request.
fn rule_matches(rule: &Json, req: &Request<'_>) -> bool {
    let r = req.resource;
    let (group, version, plural, subresource) = match req.subresource {
        Some(sr) => (
            sr.group.as_str(),
            sr.version.as_str(),
            sr.resource.clone(),
            sr.name.as_str(),
        ),
        None => {
            let (g, v) = group_version(str_at(r, "/apiVersion"));
            (g, v, plural_for_kind(str_at(r, "/kind")), "")
        }
    };
    let ops = strs(rule.get("operations"));
    if !ops
        .iter()
        .any(|o| *o == "*" || o.eq_ignore_ascii_case(req.operation))
    {
        return false;
    }
    if !strs(rule.get("apiGroups"))
        .iter()
        .any(|g| *g == "*" || *g == group)
    {
        return false;
    }
    if !strs(rule.get("apiVersions"))
        .iter()
        .any(|v| *v == "*" || *v == version)
    {
        return false;
    }
    let resource_ok = strs(rule.get("resources")).iter().any(|res| {
        let (name, sub) = res.split_once('/').unwrap_or((res, ""));
        (name == "*" || name == plural) && (sub == "*" || sub == subresource)
    });
    if !resource_ok {
        return false;
    }
    let names = strs(rule.get("resourceNames"));
    if !names.is_empty() && !names.contains(&str_at(r, "/metadata/name")) {
        return false;
    }
    let namespaced = !str_at(r, "/metadata/namespace").is_empty();
    match rule.get("scope").and_then(Json::as_str).unwrap_or("*") {
        "Cluster" => !namespaced,
        "Namespaced" => namespaced,
        _ => true,
    }
}

/// Kubernetes label-selector semantics (`matchLabels`, `matchExpressions` with
/// In/NotIn/Exists/DoesNotExist). An absent or empty selector matches everything.
pub fn selector_matches(selector: Option<&Json>, labels: &Map<String, Json>) -> bool {
    let Some(sel) = selector.filter(|s| !s.is_null()) else {
        return true;
    };
    if let Some(ml) = sel.get("matchLabels").and_then(Json::as_object) {
        for (k, v) in ml {
            if labels.get(k).and_then(Json::as_str) != v.as_str() {
                return false;
            }
        }
    }
    if let Some(exprs) = sel.get("matchExpressions").and_then(Json::as_array) {
        for e in exprs {
            let key = e.get("key").and_then(Json::as_str).unwrap_or("");
            let values = strs(e.get("values"));
            let actual = labels.get(key).and_then(Json::as_str);
            let ok = match e.get("operator").and_then(Json::as_str).unwrap_or("") {
                "In" => actual.is_some_and(|a| values.contains(&a)),
                "NotIn" => actual.is_none_or(|a| !values.contains(&a)),
                "Exists" => actual.is_some(),
                "DoesNotExist" => actual.is_none(),
                _ => false,
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

/// Whether a selector has any requirement.
pub fn selector_is_set(selector: Option<&Json>) -> bool {
    selector.is_some_and(|s| {
        s.get("matchLabels")
            .and_then(Json::as_object)
            .is_some_and(|m| !m.is_empty())
            || s.get("matchExpressions")
                .and_then(Json::as_array)
                .is_some_and(|a| !a.is_empty())
    })
}

/// Whether Kyverno's CLI reports a CEL policy whose match constraints do not select a
/// resource (a response without results, shown as passed/excluded) instead of
/// dropping it: it keeps the response when the constraints have a namespace or
/// object selector, exclusions, resource names, or more than one resource rule.
pub fn reports_unselected(constraints: Option<&Json>) -> bool {
    let Some(mc) = constraints.filter(|c| !c.is_null()) else {
        return false;
    };
    if selector_is_set(mc.get("namespaceSelector")) || selector_is_set(mc.get("objectSelector")) {
        return true;
    }
    if mc
        .get("excludeResourceRules")
        .and_then(Json::as_array)
        .is_some_and(|a| !a.is_empty())
    {
        return true;
    }
    match mc
        .get("resourceRules")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
    {
        Some([rule]) => rule
            .get("resourceNames")
            .and_then(Json::as_array)
            .is_some_and(|a| !a.is_empty()),
        _ => true,
    }
}

/// The labels a CEL policy's namespace selector sees for `resource`'s namespace: those
/// of the Namespace object the test declares (Values `namespaces`/`namespaceSelector`),
/// else labels given for it, else only the `kubernetes.io/metadata.name` label every
/// namespace carries (Kyverno's matcher assumes that much of an unknown namespace).
pub fn namespace_labels(ctx: &crate::context::EvalContext, resource: &Json) -> Map<String, Json> {
    let ns = str_at(resource, "/metadata/namespace");
    if let Some(labels) = ctx
        .namespace_object
        .as_ref()
        .filter(|o| str_at(o, "/metadata/name") == ns)
        .map(|o| {
            o.pointer("/metadata/labels")
                .and_then(Json::as_object)
                .cloned()
                .unwrap_or_default()
        })
    {
        return labels;
    }
    if let Some(l) = ctx.namespace_labels.as_ref().filter(|l| !l.is_empty()) {
        return l.clone();
    }
    let mut m = Map::new();
    if !ns.is_empty() {
        m.insert(
            "kubernetes.io/metadata.name".into(),
            Json::String(ns.to_string()),
        );
    }
    m
}

/// Whether `constraints` (a `MatchResources`) select the request.
pub fn matches(constraints: &Json, req: &Request<'_>) -> bool {
    // Constraints without resource rules select every resource (as Kubernetes' matcher).
    let rules = constraints
        .get("resourceRules")
        .and_then(Json::as_array)
        .filter(|rs| !rs.is_empty());
    if rules.is_some_and(|rs| !rs.iter().any(|r| rule_matches(r, req))) {
        return false;
    }
    if let Some(ex) = constraints
        .get("excludeResourceRules")
        .and_then(Json::as_array)
    {
        if ex.iter().any(|r| rule_matches(r, req)) {
            return false;
        }
    }
    let empty = Map::new();
    let object_labels = req
        .resource
        .pointer("/metadata/labels")
        .and_then(Json::as_object)
        .unwrap_or(&empty);
    if !selector_matches(constraints.get("objectSelector"), object_labels) {
        return false;
    }
    // The namespace selector applies to namespaced objects (by their namespace's
    // labels) and to Namespaces themselves (by their own); other cluster-scoped
    // objects always pass it.
    let kind = str_at(req.resource, "/kind");
    let ns_labels = if kind == "Namespace" {
        Some(object_labels)
    } else if !str_at(req.resource, "/metadata/namespace").is_empty() {
        Some(req.namespace_labels)
    } else {
        None
    };
    if let Some(labels) = ns_labels {
        if !selector_matches(constraints.get("namespaceSelector"), labels) {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req<'a>(r: &'a Json, labels: &'a Map<String, Json>) -> Request<'a> {
        Request {
            resource: r,
            operation: "CREATE",
            namespace_labels: labels,
            subresource: None,
        }
    }

    #[test]
    fn resource_rules() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}});
        let deploy =
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}});
        let none = Map::new();
        let mc = json!({"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}]});
        assert!(matches(&mc, &req(&pod, &none)));
        assert!(!matches(&mc, &req(&deploy, &none)));
        let any = json!({"resourceRules": [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["*"]}]});
        assert!(matches(&any, &req(&deploy, &none)));
        let upd = json!({"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["UPDATE"], "resources": ["pods"]}]});
        assert!(!matches(&upd, &req(&pod, &none)));
        let named = json!({"resourceRules": [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["*/*"], "resourceNames": ["other"]}]});
        assert!(!matches(&named, &req(&pod, &none)));
        let excl = json!({"resourceRules": any["resourceRules"], "excludeResourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["*"], "resources": ["deployments"]}]});
        assert!(!matches(&excl, &req(&deploy, &none)));
        assert!(matches(&excl, &req(&pod, &none)));
        assert!(matches(&json!({}), &req(&pod, &none)));
    }

    #[test]
    fn selectors() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns", "labels": {"app": "x"}}});
        let rules = json!([{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["*"], "resources": ["pods"]}]);
        let prod: Map<String, Json> = json!({"env": "prod"}).as_object().unwrap().clone();
        let mc =
            json!({"resourceRules": rules, "namespaceSelector": {"matchLabels": {"env": "prod"}}});
        assert!(matches(&mc, &req(&pod, &prod)));
        assert!(!matches(&mc, &req(&pod, &Map::new())));
        let mc = json!({"resourceRules": rules, "objectSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["x"]}]}});
        assert!(!matches(&mc, &req(&pod, &prod)));
        let mc = json!({"resourceRules": rules, "objectSelector": {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}});
        assert!(matches(&mc, &req(&pod, &prod)));
    }
}
