//! Kyverno `DeletingPolicy` / `NamespacedDeletingPolicy` (policies.kyverno.io): a
//! scheduled cleanup that deletes the resources its match constraints select (for any
//! operation) and its `conditions` all accept, as `kyverno test` reports it per
//! resource:
//! - not selected by the match constraints -> no result;
//! - a matching CEL `PolicyException` -> fail (the resource is kept);
//! - every condition true -> pass ("resource matched": it would be deleted);
//! - a false condition -> fail ("resource did not match");
//! - a condition that cannot be evaluated -> error.
//!
//! A payload without `apiVersion`/`kind` (a JSON payload) skips the matching.
//! `variables` may be used by the conditions; `namespaceObject` is the namespace the
//! Values file declares (a Namespace being evaluated is its own namespace object).

use serde_json::{json, Value as Json};

use crate::context::EvalContext;
use crate::response::{RuleResponse, Status};

use super::eval;
use super::exceptions;
use super::fields;
use super::opening::Opening;

/// Whether `doc` is a Kyverno DeletingPolicy (cluster-wide or namespaced).
pub fn is_deleting_policy(doc: &Json) -> bool {
    fields::is_kyverno_kind(doc, "DeletingPolicy")
}

/// Evaluates a DeletingPolicy against `resource`: `None` when its match constraints do
/// not select it, else its single rule response.
pub fn evaluate_deleting_policy(
    policy: &Json,
    resource: &Json,
    ctx: &EvalContext,
    all_exceptions: &[Json],
) -> Option<Vec<RuleResponse>> {
    let spec = policy.get("spec")?;
    let name = fields::policy_name(policy).to_string();
    let respond =
        |status, message: String| Some(vec![RuleResponse::new(name.clone(), status, message)]);
    let typed = resource.get("apiVersion").and_then(Json::as_str).is_some()
        && resource.get("kind").and_then(Json::as_str).is_some();
    let ns = resource
        .pointer("/metadata/namespace")
        .and_then(Json::as_str)
        .unwrap_or("");
    let kind = resource.get("kind").and_then(Json::as_str).unwrap_or("");
    let mut namespace_object = Json::Null;
    if typed {
        // Deletion is not an admission request: any operation matches.
        let mut mc = spec.get("matchConstraints").cloned()?;
        if let Some(Json::Array(rules)) = mc.get_mut("resourceRules") {
            for r in rules {
                r["operations"] = json!(["*"]);
            }
        }
        if !ns.is_empty() {
            namespace_object = ctx
                .namespace_object
                .clone()
                .filter(|o| o.pointer("/metadata/name").and_then(Json::as_str) == Some(ns))
                .unwrap_or(Json::Null);
        } else if kind == "Namespace" {
            namespace_object = json!({"metadata": {
                "name": resource.pointer("/metadata/name").cloned().unwrap_or(Json::Null),
                "labels": resource.pointer("/metadata/labels").cloned().unwrap_or(json!({})),
            }});
        }
        let opening = Opening::new(policy, resource, ctx)?.with_operation("CREATE");
        if !opening.selects(Some(&mc)) {
            return None;
        }
    }
    let pns = super::opening::policy_namespace(policy);
    let null = Json::Null;
    let mut act = eval::activation_in(resource, &null, &null, &namespace_object, ctx, pns);
    let vars = eval::eval_variables(fields::list(spec, "variables"), &mut act);
    let mine = exceptions::for_policy(policy, all_exceptions);
    match exceptions::first_holding(mine, &act, &vars) {
        Ok(Some(_)) => return respond(Status::Fail, "resource did not match".into()),
        Ok(None) => {}
        Err(e) => return respond(Status::Error, e),
    }
    let conds = fields::list(spec, "conditions");
    match eval::match_conditions(conds, &act, &vars) {
        Ok(true) => respond(Status::Pass, "resource matched".into()),
        Ok(false) => respond(Status::Fail, "resource did not match".into()),
        Err(e) => respond(Status::Error, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Json {
        json!({
            "apiVersion": "policies.kyverno.io/v1beta1", "kind": "DeletingPolicy",
            "metadata": {"name": "cleanup"},
            "spec": {
                "schedule": "0 1 * * *",
                "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]},
                "variables": [{"name": "env", "expression": "namespaceObject.?metadata.?labels.?env.orValue('')"}],
                "conditions": [{"name": "is-test", "expression": "variables.env == 'test'"}]
            }
        })
    }

    fn pod(ns: &str) -> Json {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": ns}})
    }

    fn ctx(ns: &str, env: &str) -> EvalContext {
        EvalContext {
            namespace_object: Some(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"env": env}}}),
            ),
            ..EvalContext::default()
        }
    }

    fn status(r: &Json, c: &EvalContext, exc: &[Json]) -> Option<Status> {
        evaluate_deleting_policy(&policy(), r, c, exc).map(|v| v[0].status)
    }

    #[test]
    fn conditions_decide_deletion() {
        assert!(is_deleting_policy(&policy()));
        assert_eq!(
            status(&pod("t"), &ctx("t", "test"), &[]),
            Some(Status::Pass)
        );
        assert_eq!(
            status(&pod("t"), &ctx("t", "prod"), &[]),
            Some(Status::Fail)
        );
        // an unknown namespace has no labels
        assert_eq!(
            status(&pod("x"), &ctx("t", "test"), &[]),
            Some(Status::Fail)
        );
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}});
        assert_eq!(status(&svc, &ctx("t", "test"), &[]), None);
    }

    #[test]
    fn exceptions_keep_the_resource_and_errors_are_errors() {
        let exc = json!({"apiVersion": "policies.kyverno.io/v1beta1", "kind": "PolicyException",
            "metadata": {"name": "keep"},
            "spec": {"policyRefs": [{"name": "cleanup", "kind": "DeletingPolicy"}],
                     "matchConditions": [{"name": "p", "expression": "object.metadata.name == 'p'"}]}});
        assert_eq!(
            status(&pod("t"), &ctx("t", "test"), &[exc]),
            Some(Status::Fail)
        );
        let mut p = policy();
        p["spec"]["conditions"] = json!([{"name": "broken", "expression": "object.nope == 1"}]);
        let r = evaluate_deleting_policy(&p, &pod("t"), &ctx("t", "test"), &[]).unwrap();
        assert_eq!(r[0].status, Status::Error);
    }

    #[test]
    fn json_payloads_skip_matching() {
        let payload = json!({"name": "x"});
        let mut p = policy();
        p["spec"]["conditions"] = json!([{"name": "named", "expression": "object.name == 'x'"}]);
        let r = evaluate_deleting_policy(&p, &payload, &EvalContext::default(), &[]).unwrap();
        assert_eq!(r[0].status, Status::Pass);
    }
}
