//! Kyverno `GeneratingPolicy` (policies.kyverno.io): match constraints and
//! conditions as for ValidatingPolicy, then each `generate` expression, whose
//! `generator.Apply(namespace, [objects])` calls produce the downstream
//! resources (put in that namespace).
//!
//! Result: not selected -> `None`; a false match condition -> skip; an
//! evaluation error -> error; else pass with the generated resources.

use std::sync::{Arc, Mutex};

use homelab_cel::{cel_to_json, Value};
use serde_json::{Map, Value as Json};

use crate::context::EvalContext;
use crate::response::{RuleResponse, Status};

use super::eval;
use super::matching;

/// Whether `doc` is a Kyverno GeneratingPolicy (cluster-wide or namespaced).
pub fn is_generating_policy(doc: &Json) -> bool {
    let api = doc.get("apiVersion").and_then(Json::as_str).unwrap_or("");
    let kind = doc.get("kind").and_then(Json::as_str).unwrap_or("");
    api.starts_with("policies.kyverno.io/")
        && matches!(kind, "GeneratingPolicy" | "NamespacedGeneratingPolicy")
}

/// Applies a GeneratingPolicy to the trigger `resource`: `None` when it does not
/// select it, else its rule response and the resources it generates.
pub fn evaluate_generating_policy(
    policy: &Json,
    resource: &Json,
    ctx: &EvalContext,
) -> Option<(Vec<RuleResponse>, Vec<Json>)> {
    let spec = policy.get("spec")?;
    let name = policy
        .pointer("/metadata/name")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_string();
    let labels: Map<String, Json> = ctx.namespace_labels.clone().unwrap_or_default();
    let req = matching::Request {
        resource,
        operation: &ctx.operation,
        namespace_labels: &labels,
    };
    if !spec
        .get("matchConstraints")
        .is_some_and(|mc| matching::matches(mc, &req))
    {
        return None;
    }
    let respond = |status, message: String| vec![RuleResponse::new(name.clone(), status, message)];
    let old = ctx.old_object.clone().unwrap_or(Json::Null);
    let namespaced = resource
        .pointer("/metadata/namespace")
        .and_then(Json::as_str)
        .is_some_and(|n| !n.is_empty());
    let ns_obj = if namespaced {
        ctx.namespace_object.clone().unwrap_or(Json::Null)
    } else {
        Json::Null
    };
    let request = eval::request_json(resource, ctx);
    let mut act = eval::activation(resource, &old, &request, &ns_obj, ctx);
    let generated: Arc<Mutex<Vec<Json>>> = Arc::default();
    let sink = Arc::clone(&generated);
    act.bind_function(
        "generator.Apply",
        Arc::new(move |_, args| {
            let ns = match args.first() {
                Some(Value::String(s)) => s.to_string(),
                _ => return Err("generator.Apply: the namespace must be a string".into()),
            };
            let Some(Value::List(items)) = args.get(1) else {
                return Err("generator.Apply: the resources must be a list".into());
            };
            let mut out = sink
                .lock()
                .map_err(|_| "generator.Apply: internal lock poisoned".to_string())?;
            for item in items.iter() {
                let mut obj = cel_to_json(item);
                if let Json::Object(m) = &mut obj {
                    let meta = m
                        .entry("metadata")
                        .or_insert_with(|| Json::Object(Map::new()));
                    if let (Json::Object(meta), false) = (meta, ns.is_empty()) {
                        meta.insert("namespace".into(), Json::String(ns.clone()));
                    }
                }
                out.push(obj);
            }
            Ok(Value::Bool(true))
        }),
    );
    let empty = Vec::new();
    let vars = eval::eval_variables(
        spec.get("variables")
            .and_then(Json::as_array)
            .unwrap_or(&empty),
        &mut act,
    );
    if let Some(conds) = spec.get("matchConditions").and_then(Json::as_array) {
        match eval::match_conditions(conds, &act, &vars) {
            Ok(true) => {}
            Ok(false) => return Some((respond(Status::Skip, "skip".into()), Vec::new())),
            Err(e) => return Some((respond(Status::Error, e), Vec::new())),
        }
    }
    for g in spec
        .get("generate")
        .and_then(Json::as_array)
        .unwrap_or(&empty)
    {
        let expr = g.get("expression").and_then(Json::as_str).unwrap_or("");
        if let Err(e) = eval::eval_json(expr, &act, &vars) {
            return Some((respond(Status::Error, e), Vec::new()));
        }
    }
    let made = generated.lock().map(|g| g.clone()).unwrap_or_default();
    Some((
        respond(
            Status::Pass,
            format!("generated {} resource(s)", made.len()),
        ),
        made,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generates_into_the_namespace() {
        let p = json!({
            "apiVersion": "policies.kyverno.io/v1alpha1", "kind": "GeneratingPolicy", "metadata": {"name": "g"},
            "spec": {
                "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["namespaces"]}]},
                "matchConditions": [{"name": "not-system", "expression": "!object.metadata.name.startsWith('kube-')"}],
                "variables": [{"name": "ns", "expression": "object.metadata.name"}],
                "generate": [{"expression": "generator.Apply(variables.ns, [{'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': 'cm'}}])"}]
            }
        });
        assert!(is_generating_policy(&p));
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}});
        let (rules, made) = evaluate_generating_policy(&p, &ns, &EvalContext::default()).unwrap();
        assert_eq!(rules[0].status, Status::Pass);
        assert_eq!(
            made,
            vec![
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "team"}})
            ]
        );
        let sys =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}});
        assert_eq!(
            evaluate_generating_policy(&p, &sys, &EvalContext::default())
                .unwrap()
                .0[0]
                .status,
            Status::Skip
        );
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}});
        assert!(evaluate_generating_policy(&p, &pod, &EvalContext::default()).is_none());
    }
}
