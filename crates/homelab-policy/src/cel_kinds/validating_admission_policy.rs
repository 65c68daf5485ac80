//! Kubernetes `ValidatingAdmissionPolicy` (admissionregistration.k8s.io) with its
//! `ValidatingAdmissionPolicyBinding`s and parameter resources, evaluated as Kyverno's
//! CLI does offline (see [`super::bindings`]): without bindings the policy's match
//! constraints decide; with bindings every binding that selects the resource applies
//! the policy with its parameters, and the last one decides the result.
//!
//! Result: not selected -> an empty response (reported as excluded); a false match
//! condition -> skip; an evaluation error -> error; the first false validation ->
//! fail; else pass. The rule is named after the policy.

use serde_json::{Map, Value as Json};

use crate::context::EvalContext;
use crate::response::{RuleResponse, Status};

use super::bindings;
use super::eval::{self, DefaultMessage, Outcome};
use super::fields;
use super::opening::{self, Conditions, Opening};

/// Whether `doc` is a ValidatingAdmissionPolicy.
pub fn is_validating_admission_policy(doc: &Json) -> bool {
    fields::is_admission_kind(doc, "ValidatingAdmissionPolicy")
}

/// Evaluates a ValidatingAdmissionPolicy against `resource`. `bindings` may hold any
/// documents: those binding this policy (`spec.policyName`) are used, with parameters
/// from `params`. The result is empty when neither the policy (without bindings) nor
/// a binding selects the resource.
pub fn evaluate_validating_admission_policy(
    policy: &Json,
    bindings: &[Json],
    resource: &Json,
    ctx: &EvalContext,
) -> Option<Vec<RuleResponse>> {
    evaluate_validating_admission_policy_with_params(policy, bindings, &[], resource, ctx)
}

/// [`evaluate_validating_admission_policy`] with parameter resources.
pub fn evaluate_validating_admission_policy_with_params(
    policy: &Json,
    all_bindings: &[Json],
    params: &[Json],
    resource: &Json,
    ctx: &EvalContext,
) -> Option<Vec<RuleResponse>> {
    let mine = bindings::for_policy(policy, "ValidatingAdmissionPolicyBinding", all_bindings);
    // Kyverno's CLI admits every resource as a CREATE.
    let Some(opening) = Opening::new(policy, resource, ctx) else {
        return Some(Vec::new());
    };
    let opening = opening.with_operation("CREATE");
    let labels = opening.namespace_labels();
    if mine.is_empty() {
        if !opening.selects(policy.pointer("/spec/matchConstraints")) {
            return Some(Vec::new());
        }
        return Some(vec![evaluate(policy, resource, ctx, labels, &Json::Null)]);
    }
    let mut last = Vec::new();
    for b in mine {
        if let Some(mr) = b.pointer("/spec/matchResources").filter(|m| !m.is_null()) {
            if !opening.selects(Some(mr)) {
                continue;
            }
        }
        let p = bindings::params(b, params);
        last = vec![evaluate(policy, resource, ctx, labels, &p)];
    }
    Some(last)
}

fn evaluate(
    policy: &Json,
    resource: &Json,
    ctx: &EvalContext,
    labels: &Map<String, Json>,
    params: &Json,
) -> RuleResponse {
    let respond =
        |status, message: String| RuleResponse::new(fields::policy_name(policy), status, message);
    let null = Json::Null;
    let spec = policy.get("spec").unwrap_or(&null);
    let namespace_object = bindings::namespace_object(resource, Some(labels));
    let (mut act, _) =
        eval::create_request_activation(resource, &namespace_object, &Json::Null, ctx);
    act.bind_json("params", params);
    // Match conditions cannot read variables (nor do they see parameters).
    if spec.get("matchConditions").is_some() {
        let mut mc_act =
            eval::create_request_activation(resource, &namespace_object, &Json::Null, ctx).0;
        mc_act.bind_json("params", &Json::Null);
        match opening::match_conditions(spec, &mc_act, &eval::Variables::default(), true) {
            Conditions::Met => {}
            Conditions::NotMet => {
                return respond(Status::Skip, "match conditions aren't met".into())
            }
            Conditions::Failed(e) => return respond(Status::Error, e),
        }
    }
    let vars = eval::eval_variables(fields::list(spec, "variables"), &mut act);
    let validations = fields::list(spec, "validations");
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
    use serde_json::json;

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
        evaluate_validating_admission_policy(&vap(), bindings, r, ctx)
            .and_then(|v| v.first().map(|r| r.status))
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
