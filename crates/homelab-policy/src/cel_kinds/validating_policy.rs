//! Kyverno `ValidatingPolicy` / `NamespacedValidatingPolicy`
//! (policies.kyverno.io v1alpha1, v1beta1, v1): match constraints, match
//! conditions, variables, validations and autogen for pod controllers,
//! evaluated as Kyverno's engine does for an admission request.
//!
//! Result per policy and resource: not selected by the match constraints (of the
//! policy or of an autogen variant) -> `None`; a false match condition -> skip;
//! a match-condition error -> error (unless `failurePolicy: Ignore`: skip); then
//! the first false validation -> fail, an evaluation error -> error, else pass.

use serde_json::Value as Json;

use crate::context::EvalContext;
use crate::response::{RuleResponse, Status};

use super::autogen::validating_policy_variants;
use super::eval::{self, DefaultMessage, Outcome};
use super::exceptions::Decision;
use super::fields;
use super::match_constraints::{self, selector_is_set};
use super::opening::{self, policy_namespace, Conditions, Opening};
use homelab_cel::Activation;

/// Whether `doc` is a Kyverno ValidatingPolicy (cluster-wide or namespaced).
pub fn is_validating_policy(doc: &Json) -> bool {
    fields::is_kyverno_kind(doc, "ValidatingPolicy")
}

/// Whether the policy's match constraints use a namespace or object selector
/// (Kyverno's CLI then drops a response without rules instead of reporting it).
pub fn validating_policy_has_selector(policy: &Json) -> bool {
    let mc = policy.pointer("/spec/matchConstraints");
    mc.is_some_and(|m| {
        selector_is_set(m.get("namespaceSelector")) || selector_is_set(m.get("objectSelector"))
    })
}

fn rule_response(policy: &Json, status: Status, message: impl Into<String>) -> RuleResponse {
    RuleResponse::new(fields::policy_name(policy), status, message)
}

/// Evaluates a ValidatingPolicy against `resource`. `None` when the policy does
/// not select the resource; otherwise its (single) rule response.
pub fn evaluate_validating_policy(
    policy: &Json,
    resource: &Json,
    ctx: &EvalContext,
) -> Option<Vec<RuleResponse>> {
    evaluate_validating_policy_with_exceptions(policy, resource, ctx, &[])
}

pub use super::exceptions::is_cel_policy_exception;

/// [`evaluate_validating_policy`] with CEL `PolicyException`s (any documents may be
/// passed: those of kind policies.kyverno.io `PolicyException` that name this policy
/// in `spec.policyRefs` apply, see [`super::exceptions`]).
///
/// Like Kyverno's CLI, the policy and each of its autogen variants are matched
/// separately: the first that selects the resource is evaluated; when none does, the
/// result is `Some(empty)` (reported as excluded) if the constraints are of the kind
/// the CLI reports anyway ([`match_constraints::reports_unselected`]), else `None`. A namespaced
/// policy governs its own namespace only, and its resource library looks up that
/// namespace ([`super::opening`]).
pub fn evaluate_validating_policy_with_exceptions(
    policy: &Json,
    resource: &Json,
    ctx: &EvalContext,
    exceptions: &[Json],
) -> Option<Vec<RuleResponse>> {
    let mine = super::exceptions::for_policy(policy, exceptions);
    evaluate_inner(policy, resource, ctx, &mine)
}

fn evaluate_inner(
    policy: &Json,
    resource: &Json,
    ctx: &EvalContext,
    exceptions: &[&Json],
) -> Option<Vec<RuleResponse>> {
    let spec = policy.get("spec")?;
    let json_mode = spec.pointer("/evaluation/mode").and_then(Json::as_str) == Some("JSON");
    if json_mode {
        // A JSON payload is no admission request: no namespace, no match constraints.
        let null = Json::Null;
        let act = eval::activation_in(resource, &null, &null, &null, ctx, policy_namespace(policy));
        return Some(vec![evaluate_spec(policy, spec, act, exceptions)]);
    }
    let opening = Opening::new(policy, resource, ctx)?;
    if opening.spec_selects(spec) {
        return Some(vec![evaluate_spec(
            policy,
            spec,
            opening.activation(),
            exceptions,
        )]);
    }
    let variants = validating_policy_variants(spec);
    if let Some(v) = variants.iter().find(|v| opening.spec_selects(v)) {
        return Some(vec![evaluate_spec(
            policy,
            v,
            opening.activation(),
            exceptions,
        )]);
    }
    let reported = std::iter::once(spec)
        .chain(variants.iter())
        .any(|s| match_constraints::reports_unselected(s.get("matchConstraints")));
    reported.then(Vec::new)
}

fn evaluate_spec(
    policy: &Json,
    spec: &Json,
    mut act: Activation,
    exceptions: &[&Json],
) -> RuleResponse {
    let ignore = opening::ignores_failures(spec);
    match super::exceptions::decide(exceptions, &mut act, ignore) {
        Decision::Evaluate => {}
        Decision::Exempt(status, message) => return rule_response(policy, status, message),
        Decision::Error(e) => return rule_response(policy, Status::Error, e),
    }
    // Match conditions come before the variables, which they cannot read.
    match opening::match_conditions(spec, &act, &eval::Variables::default(), true) {
        Conditions::Met => {}
        Conditions::NotMet => return rule_response(policy, Status::Skip, "skip"),
        Conditions::Failed(e) => {
            return rule_response(
                policy,
                Status::Error,
                format!("failed to load context: {e}"),
            )
        }
    }
    let empty = Vec::new();
    let variables = spec
        .get("variables")
        .and_then(Json::as_array)
        .unwrap_or(&empty);
    let vars = eval::eval_variables(variables, &mut act);
    let validations = spec
        .get("validations")
        .and_then(Json::as_array)
        .unwrap_or(&empty);
    let outcome = eval::validations(validations, &act, &vars, DefaultMessage::Index);
    if let Outcome::Error(m) = outcome {
        return rule_response(policy, Status::Error, m);
    }
    // Kyverno evaluates the audit annotations once the validations are decided;
    // one that cannot be evaluated turns the result into an error.
    if let Err((key, e)) = eval::audit_annotations(spec, &act, &vars) {
        return rule_response(
            policy,
            Status::Error,
            format!("failed to evaluate auditAnnotation '{key}': {e}"),
        );
    }
    match outcome {
        Outcome::Pass => rule_response(policy, Status::Pass, "success"),
        Outcome::Fail(m) => rule_response(policy, Status::Fail, m),
        Outcome::Error(m) => rule_response(policy, Status::Error, m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy() -> Json {
        json!({
            "apiVersion": "policies.kyverno.io/v1alpha1",
            "kind": "ValidatingPolicy",
            "metadata": {"name": "disallow-latest"},
            "spec": {
                "validationActions": ["Audit"],
                "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"], "resources": ["pods"]}]},
                "variables": [{"name": "images", "expression": "object.spec.containers.map(c, c.image)"}],
                "validations": [
                    {"expression": "variables.images.all(i, i.contains(':'))", "message": "tag required"},
                    {"expression": "variables.images.all(i, !i.endsWith(':latest'))", "message": "no latest"}
                ]
            }
        })
    }

    fn pod(image: &str) -> Json {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"},
               "spec": {"containers": [{"name": "c", "image": image}]}})
    }

    fn deployment(image: &str) -> Json {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "ns"},
               "spec": {"template": {"metadata": {}, "spec": {"containers": [{"name": "c", "image": image}]}}}})
    }

    fn status(p: &Json, r: &Json) -> Option<Status> {
        evaluate_validating_policy(p, r, &EvalContext::default())
            .and_then(|v| v.first().map(|r| r.status))
    }

    #[test]
    fn validates_pods() {
        let p = policy();
        assert!(is_validating_policy(&p));
        assert_eq!(status(&p, &pod("nginx:1")), Some(Status::Pass));
        let r =
            evaluate_validating_policy(&p, &pod("nginx:latest"), &EvalContext::default()).unwrap();
        assert_eq!(
            (r[0].status, r[0].message.as_str(), r[0].rule.as_str()),
            (Status::Fail, "no latest", "disallow-latest")
        );
    }

    #[test]
    fn autogen_covers_controllers() {
        let p = policy();
        assert_eq!(status(&p, &deployment("nginx:1")), Some(Status::Pass));
        assert_eq!(status(&p, &deployment("nginx")), Some(Status::Fail));
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}});
        assert_eq!(status(&p, &svc), None);
        let mut off = policy();
        off["spec"]["autogen"] = json!({"podControllers": {"controllers": []}});
        assert_eq!(status(&off, &deployment("nginx")), None);
    }

    #[test]
    fn match_conditions_skip_and_errors() {
        let mut p = policy();
        p["spec"]["matchConditions"] =
            json!([{"name": "labelled", "expression": "has(object.metadata.labels)"}]);
        assert_eq!(status(&p, &pod("nginx")), Some(Status::Skip));
        p["spec"]["matchConditions"] =
            json!([{"name": "broken", "expression": "object.nope == 1"}]);
        assert_eq!(status(&p, &pod("nginx")), Some(Status::Error));
        p["spec"]["failurePolicy"] = json!("Ignore");
        assert_eq!(status(&p, &pod("nginx")), Some(Status::Skip));
    }

    #[test]
    fn evaluation_errors_are_errors() {
        let mut p = policy();
        p["spec"]["validations"] = json!([{"expression": "object.spec.nope.all(x, true)"}]);
        assert_eq!(status(&p, &pod("nginx")), Some(Status::Error));
        p["spec"]["validations"] = json!([{"expression": "'not a bool'"}]);
        assert_eq!(status(&p, &pod("nginx")), Some(Status::Error));
    }

    #[test]
    fn audit_annotation_errors_are_errors() {
        let mut p = policy();
        p["spec"]["auditAnnotations"] =
            json!([{"key": "k", "valueExpression": "'image: ' + variables.images[0]"}]);
        assert_eq!(status(&p, &pod("nginx:1")), Some(Status::Pass));
        p["spec"]["auditAnnotations"] = json!([{"key": "k", "valueExpression": "object.nope"}]);
        assert_eq!(status(&p, &pod("nginx:1")), Some(Status::Error));
        p["spec"]["auditAnnotations"] = json!([{"key": "k", "valueExpression": "null"}]);
        assert_eq!(status(&p, &pod("nginx:1")), Some(Status::Pass));
    }

    #[test]
    fn cel_policy_exceptions() {
        let p = policy();
        let exc = |extra: Json| {
            let mut e = json!({
                "apiVersion": "policies.kyverno.io/v1alpha1", "kind": "PolicyException",
                "metadata": {"name": "allow-p", "namespace": "ns"},
                "spec": {"policyRefs": [{"name": "disallow-latest", "kind": "ValidatingPolicy"}],
                         "matchConditions": [{"name": "is-p", "expression": "object.metadata.name == 'p'"}]}
            });
            if let (Json::Object(spec), Json::Object(x)) = (&mut e["spec"], extra) {
                spec.extend(x);
            }
            e
        };
        let run = |e: Json| {
            evaluate_validating_policy_with_exceptions(
                &p,
                &pod("nginx:latest"),
                &EvalContext::default(),
                &[e],
            )
            .unwrap()[0]
                .status
        };
        assert_eq!(run(exc(json!({}))), Status::Skip);
        assert_eq!(run(exc(json!({"reportResult": "pass"}))), Status::Pass);
        let mut other = exc(json!({}));
        other["spec"]["policyRefs"][0]["name"] = json!("other");
        assert_eq!(run(other), Status::Fail);
        // With allowed images the policy runs and sees them.
        let mut p2 = policy();
        p2["spec"]["validations"] =
            json!([{"expression": "variables.images.all(i, i in exceptions.allowedImages)"}]);
        let e = exc(json!({"images": ["nginx:latest"]}));
        let r = evaluate_validating_policy_with_exceptions(
            &p2,
            &pod("nginx:latest"),
            &EvalContext::default(),
            &[e],
        )
        .unwrap();
        assert_eq!(r[0].status, Status::Pass);
    }

    #[test]
    fn namespace_object_and_default_message() {
        let mut p = policy();
        p["spec"]["validations"] =
            json!([{"expression": "namespaceObject.metadata.name != 'default'"}]);
        let ctx = EvalContext {
            namespace_object: Some(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}),
            ),
            ..EvalContext::default()
        };
        let r = evaluate_validating_policy(&p, &pod("x"), &ctx).unwrap();
        assert_eq!(r[0].status, Status::Fail);
        assert_eq!(r[0].message, "CEL expression validation failed at index 0");
    }
}
