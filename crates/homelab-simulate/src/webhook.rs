//! Admission webhooks (`ValidatingWebhookConfiguration`, `MutatingWebhookConfiguration`):
//! which requests each webhook intercepts (rules, namespaceSelector, objectSelector) and
//! whether a failure to reach it rejects the request (`failurePolicy: Fail`, the default of
//! `admissionregistration.k8s.io/v1`).

use crate::selector::{self, Labels};
use serde_json::Value;

/// One webhook of a configuration.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// The configuration's index in the input.
    pub config: usize,
    /// `/webhooks/<i>` inside the configuration.
    pub pointer: String,
    pub name: String,
    /// A call that cannot reach the backend rejects the request.
    pub fails_closed: bool,
    /// The backend Service (namespace, name); `None` for a `url` backend.
    pub service: Option<(String, String)>,
    rules: Vec<Rule>,
    namespace_selector: Option<Value>,
    object_selector: Option<Value>,
    /// CEL `matchConditions` narrow the match further; they are not evaluated.
    pub has_match_conditions: bool,
}

#[derive(Debug, Clone)]
struct Rule {
    operations: Vec<String>,
    groups: Vec<String>,
    versions: Vec<String>,
    resources: Vec<String>,
    scope: String,
}

/// One request to the API server, as a webhook rule sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub group: &'a str,
    pub version: &'a str,
    /// The plural resource name (`deployments`).
    pub resource: &'a str,
    /// `None` for a cluster-scoped object.
    pub namespace: Option<&'a str>,
    pub labels: &'a Labels,
    /// The labels of the request's namespace (for a Namespace, its own).
    pub namespace_labels: &'a Labels,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// The webhooks of a configuration object (`value` is the whole object).
pub fn parse(config: usize, value: &Value) -> Vec<Webhook> {
    let Some(hooks) = value.get("webhooks").and_then(Value::as_array) else {
        return Vec::new();
    };
    hooks
        .iter()
        .enumerate()
        .map(|(i, h)| Webhook {
            config,
            pointer: format!("/webhooks/{i}"),
            name: h
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
            fails_closed: h.get("failurePolicy").and_then(Value::as_str) != Some("Ignore"),
            service: h.pointer("/clientConfig/service").map(|s| {
                (
                    s.get("namespace")
                        .and_then(Value::as_str)
                        .unwrap_or("default")
                        .to_string(),
                    s.get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                )
            }),
            rules: h
                .get("rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|r| Rule {
                    operations: strings(r.get("operations")),
                    groups: strings(r.get("apiGroups")),
                    versions: strings(r.get("apiVersions")),
                    resources: strings(r.get("resources")),
                    scope: r
                        .get("scope")
                        .and_then(Value::as_str)
                        .unwrap_or("*")
                        .to_string(),
                })
                .collect(),
            namespace_selector: h.get("namespaceSelector").cloned(),
            object_selector: h.get("objectSelector").cloned(),
            has_match_conditions: h
                .get("matchConditions")
                .and_then(Value::as_array)
                .is_some_and(|m| !m.is_empty()),
        })
        .collect()
}

impl Webhook {
    /// Whether this webhook is called for the creation of `request`.
    pub fn intercepts(&self, request: &Request<'_>) -> bool {
        let any = |list: &[String], want: &str| list.iter().any(|x| x == "*" || x == want);
        let rule_matches = self.rules.iter().any(|r| {
            any(&r.operations, "CREATE")
                && any(&r.groups, request.group)
                && any(&r.versions, request.version)
                && r.resources
                    .iter()
                    .any(|x| x == "*" || x == "*/*" || x == request.resource)
                && match r.scope.as_str() {
                    "Cluster" => request.namespace.is_none(),
                    "Namespaced" => request.namespace.is_some(),
                    _ => true,
                }
        });
        if !rule_matches {
            return false;
        }
        // The namespaceSelector applies to namespaced objects and to Namespaces themselves.
        let namespaced = request.namespace.is_some()
            || (request.group.is_empty() && request.resource == "namespaces");
        if namespaced
            && !selector::matches(self.namespace_selector.as_ref(), request.namespace_labels)
        {
            return false;
        }
        selector::matches(self.object_selector.as_ref(), request.labels)
    }
}

/// The plural resource name of a built-in kind (CRDs name theirs in `spec.names.plural`).
pub fn plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    match lower.as_str() {
        "endpoints" => lower,
        _ if lower.ends_with('y')
            && !lower.ends_with("ay")
            && !lower.ends_with("ey")
            && !lower.ends_with("oy") =>
        {
            format!("{}ies", &lower[..lower.len() - 1])
        }
        _ if lower.ends_with('s') || lower.ends_with("ch") || lower.ends_with('x') => {
            format!("{lower}es")
        }
        _ => format!("{lower}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plurals_of_built_in_kinds() {
        assert_eq!(plural("Deployment"), "deployments");
        assert_eq!(plural("NetworkPolicy"), "networkpolicies");
        assert_eq!(plural("Ingress"), "ingresses");
        assert_eq!(plural("Endpoints"), "endpoints");
        assert_eq!(plural("Gateway"), "gateways");
    }

    #[test]
    fn rules_and_selectors_decide_what_a_webhook_intercepts() {
        let config = json!({"webhooks": [{
            "name": "validate.example.com",
            "clientConfig": {"service": {"namespace": "guard", "name": "guard-webhook"}},
            "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
            "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["guard"]}]},
        }]});
        let hooks = parse(3, &config);
        assert_eq!(hooks.len(), 1);
        let h = &hooks[0];
        assert!(h.fails_closed, "Fail is the default");
        assert_eq!(
            h.service,
            Some(("guard".to_string(), "guard-webhook".to_string()))
        );
        let ns = |n: &str| Labels::from([("kubernetes.io/metadata.name".into(), n.into())]);
        let (none, apps, guard) = (Labels::new(), ns("apps"), ns("guard"));
        let pod = Request {
            group: "",
            version: "v1",
            resource: "pods",
            namespace: Some("apps"),
            labels: &none,
            namespace_labels: &apps,
        };
        assert!(h.intercepts(&pod));
        let excluded = Request {
            namespace: Some("guard"),
            namespace_labels: &guard,
            ..pod
        };
        assert!(!h.intercepts(&excluded), "excluded namespace");
        let deployment = Request {
            group: "apps",
            resource: "deployments",
            ..pod
        };
        assert!(!h.intercepts(&deployment), "other resource");
        let ignore = json!({"webhooks": [{"name": "x", "failurePolicy": "Ignore", "rules": []}]});
        assert!(!parse(0, &ignore)[0].fails_closed);
    }
}
