//! Kubernetes `ValidatingAdmissionPolicy` (admissionregistration.k8s.io) with
//! its `ValidatingAdmissionPolicyBinding`s, evaluated as Kyverno's CLI does
//! offline: without bindings the policy's match constraints decide; with
//! bindings the first whose `matchResources` selects the resource (or that has
//! none) applies; parameter objects are not resolved (`params` is null); the
//! namespace object carries the name and the labels known from values.
//!
//! Result: a false match condition -> skip; an evaluation error -> error; the
//! first false validation -> fail; else pass. The rule is named after the policy.

use serde_json::{json, Map, Value as Json};

use crate::context::EvalContext;
use crate::response::{RuleResponse, Status};

use super::eval::{self, DefaultMessage, Outcome};
use super::matching;

/// Whether `doc` is a ValidatingAdmissionPolicy.
pub fn is_validating_admission_policy(doc: &Json) -> bool {
    doc.get("apiVersion")
        .and_then(Json::as_str)
        .is_some_and(|a| a.starts_with("admissionregistration.k8s.io/"))
        && doc.get("kind").and_then(Json::as_str) == Some("ValidatingAdmissionPolicy")
}

/// Evaluates a ValidatingAdmissionPolicy against `resource`. `bindings` may hold
/// any documents: those binding this policy (`spec.policyName`) are used. `None`
/// when neither the policy (without bindings) nor a binding selects the resource.
pub fn evaluate_validating_admission_policy(
    policy: &Json,
    bindings: &[Json],
    resource: &Json,
    ctx: &EvalContext,
) -> Option<Vec<RuleResponse>> {
    let name = policy
        .pointer("/metadata/name")
        .and_then(Json::as_str)
        .unwrap_or("");
    let mine: Vec<&Json> = bindings
        .iter()
        .filter(|b| {
            b.get("kind").and_then(Json::as_str) == Some("ValidatingAdmissionPolicyBinding")
                && b.pointer("/spec/policyName").and_then(Json::as_str) == Some(name)
        })
        .collect();
    let labels: Map<String, Json> = ctx.namespace_labels.clone().unwrap_or_default();
    let req = matching::Request {
        resource,
        operation: "CREATE",
        namespace_labels: &labels,
    };
    let selected = if mine.is_empty() {
        policy
            .pointer("/spec/matchConstraints")
            .is_some_and(|mc| matching::matches(mc, &req))
    } else {
        mine.iter()
            .any(|b| match b.pointer("/spec/matchResources") {
                Some(mr) if !mr.is_null() => matching::matches(mr, &req),
                _ => true,
            })
    };
    if !selected {
        return None;
    }
    Some(vec![evaluate(policy, resource, ctx, &labels)])
}

fn evaluate(
    policy: &Json,
    resource: &Json,
    ctx: &EvalContext,
    labels: &Map<String, Json>,
) -> RuleResponse {
    let name = policy
        .pointer("/metadata/name")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_string();
    let respond = |status, message: String| RuleResponse::new(name.clone(), status, message);
    let spec = policy.get("spec").cloned().unwrap_or(Json::Null);
    let kind = resource.get("kind").and_then(Json::as_str).unwrap_or("");
    let ns = resource
        .pointer("/metadata/namespace")
        .and_then(Json::as_str)
        .unwrap_or("");
    let namespace_object = if ns.is_empty() || kind == "Namespace" {
        Json::Null
    } else {
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}})
    };
    let (act, vars) = eval::create_request_activation(resource, &namespace_object, &spec, ctx);
    if let Some(conds) = spec.get("matchConditions").and_then(Json::as_array) {
        match eval::match_conditions(conds, &act, &vars) {
            Ok(true) => {}
            Ok(false) => return respond(Status::Skip, "match conditions aren't met".into()),
            Err(e) => return respond(Status::Error, e),
        }
    }
    let validations = spec
        .get("validations")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    match eval::validations(
        validations,
        &act,
        &vars,
        DefaultMessage::FailedExpression(""),
    ) {
        Outcome::Pass => respond(Status::Pass, String::new()),
        Outcome::Fail(m) => respond(Status::Fail, m),
        Outcome::Error(m) => respond(Status::Error, m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vap() -> Json {
        json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": "max-replicas"},
            "spec": {
                "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["deployments"]}]},
                "validations": [{"expression": "object.spec.replicas <= 5", "message": "too many replicas"}]
            }
        })
    }

    fn deploy(replicas: i64, ns: &str) -> Json {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": ns}, "spec": {"replicas": replicas}})
    }

    fn status(bindings: &[Json], r: &Json, ctx: &EvalContext) -> Option<Status> {
        evaluate_validating_admission_policy(&vap(), bindings, r, ctx).map(|v| v[0].status)
    }

    #[test]
    fn without_bindings_the_policy_matches() {
        let ctx = EvalContext::default();
        assert!(is_validating_admission_policy(&vap()));
        assert_eq!(status(&[], &deploy(3, "a"), &ctx), Some(Status::Pass));
        let r = evaluate_validating_admission_policy(&vap(), &[], &deploy(9, "a"), &ctx).unwrap();
        assert_eq!(
            (r[0].status, r[0].message.as_str(), r[0].rule.as_str()),
            (Status::Fail, "too many replicas", "max-replicas")
        );
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}});
        assert_eq!(status(&[], &pod, &ctx), None);
    }

    #[test]
    fn bindings_select_by_their_match_resources() {
        let binding = json!({
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": "b"},
            "spec": {"policyName": "max-replicas", "validationActions": ["Deny"],
                     "matchResources": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["*"], "resources": ["deployments"]}],
                                        "namespaceSelector": {"matchLabels": {"env": "prod"}}}}
        });
        let prod = EvalContext {
            namespace_labels: json!({"env": "prod"}).as_object().cloned(),
            ..EvalContext::default()
        };
        assert_eq!(
            status(std::slice::from_ref(&binding), &deploy(9, "a"), &prod),
            Some(Status::Fail)
        );
        assert_eq!(
            status(
                std::slice::from_ref(&binding),
                &deploy(9, "a"),
                &EvalContext::default()
            ),
            None
        );
    }

    #[test]
    fn errors_and_match_conditions() {
        let mut p = vap();
        p["spec"]["validations"] = json!([{"expression": "object.spec.nope > 1"}]);
        let r =
            evaluate_validating_admission_policy(&p, &[], &deploy(1, "a"), &EvalContext::default())
                .unwrap();
        assert_eq!(r[0].status, Status::Error);
        p["spec"]["matchConditions"] =
            json!([{"name": "big", "expression": "object.spec.replicas > 100"}]);
        let r =
            evaluate_validating_admission_policy(&p, &[], &deploy(1, "a"), &EvalContext::default())
                .unwrap();
        assert_eq!(r[0].status, Status::Skip);
    }
}
