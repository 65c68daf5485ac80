//! Kubernetes `MutatingAdmissionPolicy` (admissionregistration.k8s.io) with its
//! `MutatingAdmissionPolicyBinding`s and parameter resources, as Kyverno's CLI applies
//! it offline (see [`super::bindings`]): without bindings the policy's match
//! constraints select resources; with bindings every binding that selects the resource
//! applies the policy (with its parameters) and the last one decides.
//!
//! Result (one rule named after the policy): nothing when no binding (or the policy)
//! selects the resource, a match condition fails to evaluate, or a mutation fails (the
//! CLI drops such a response); skip when a match condition is false; else pass with
//! the mutated resource. Server-side apply merges without schemas here: lists are
//! replaced whole.

use serde_json::Value as Json;

use crate::context::EvalContext;
use crate::response::{RuleResponse, Status};

use super::bindings;
use super::eval;
use super::fields;
use super::mutation::{self, Lists};
use super::opening::{self, Conditions, Opening};

/// Whether `doc` is a Kubernetes MutatingAdmissionPolicy.
pub fn is_mutating_admission_policy(doc: &Json) -> bool {
    fields::is_admission_kind(doc, "MutatingAdmissionPolicy")
}

/// Applies a MutatingAdmissionPolicy without bindings or parameters.
pub fn evaluate_mutating_admission_policy(
    policy: &Json,
    resource: &Json,
    ctx: &EvalContext,
) -> Option<(Vec<RuleResponse>, Option<Json>)> {
    evaluate_mutating_admission_policy_with_bindings(policy, &[], &[], resource, ctx)
}

/// Applies a MutatingAdmissionPolicy with the bindings among `all_bindings` that name it
/// and the parameter resources `params`.
pub fn evaluate_mutating_admission_policy_with_bindings(
    policy: &Json,
    all_bindings: &[Json],
    params: &[Json],
    resource: &Json,
    ctx: &EvalContext,
) -> Option<(Vec<RuleResponse>, Option<Json>)> {
    let spec = policy.get("spec")?;
    let mine = bindings::for_policy(policy, "MutatingAdmissionPolicyBinding", all_bindings);
    // Kyverno's CLI admits every resource as a CREATE.
    let opening = Opening::new(policy, resource, ctx)?.with_operation("CREATE");
    let namespace_object = bindings::namespace_object(resource, Some(opening.namespace_labels()));
    if mine.is_empty() {
        if !opening.spec_selects(spec) {
            return None;
        }
        return mutate(policy, spec, resource, &Json::Null, &namespace_object, ctx)
            .map(|(r, p)| (r, Some(p)));
    }
    // Each binding mutates the resource as admitted (Kyverno's CLI keeps the request's
    // object): the last binding that applies decides the result.
    let mut last = None;
    for b in mine {
        if let Some(mr) = b.pointer("/spec/matchResources").filter(|m| !m.is_null()) {
            if !opening.selects(Some(mr)) {
                continue;
            }
        }
        let p = bindings::params(b, params);
        if let Some(done) = mutate(policy, spec, resource, &p, &namespace_object, ctx) {
            last = Some(done);
        }
    }
    last.map(|(rules, patched)| (rules, Some(patched)))
}

/// One application of the policy: `None` when the CLI reports nothing (a match
/// condition or mutation error); else the rule and the object after the mutations.
fn mutate(
    policy: &Json,
    spec: &Json,
    resource: &Json,
    params: &Json,
    namespace_object: &Json,
    ctx: &EvalContext,
) -> Option<(Vec<RuleResponse>, Json)> {
    let rule = |status, message: &str| {
        vec![RuleResponse::new(
            fields::policy_name(policy),
            status,
            message,
        )]
    };
    let (mut act, _) =
        eval::create_request_activation(resource, namespace_object, &Json::Null, ctx);
    act.bind_json("params", &Json::Null);
    match opening::match_conditions(spec, &act, &eval::Variables::default(), true) {
        Conditions::Met => {}
        Conditions::NotMet => {
            return Some((
                rule(Status::Skip, "match conditions aren't met"),
                resource.clone(),
            ))
        }
        Conditions::Failed(_) => return None,
    }
    act.bind_json("params", params);
    let vars = eval::eval_variables(fields::list(spec, "variables"), &mut act);
    let mut object = resource.clone();
    for m in fields::list(spec, "mutations") {
        object = mutation::apply_mutation(m, &act, &vars, &object, Lists::Atomic).ok()?;
        act.bind_json("object", &object);
    }
    Some((
        rule(Status::Pass, "mutation is successfully applied"),
        object,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map() -> Json {
        json!({
            "apiVersion": "admissionregistration.k8s.io/v1alpha1", "kind": "MutatingAdmissionPolicy",
            "metadata": {"name": "replicas"},
            "spec": {
                "paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
                "matchConstraints": {"resourceRules": [{"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["deployments"]}]},
                "mutations": [
                    {"patchType": "ApplyConfiguration", "applyConfiguration": {"expression": "Object{spec: Object.spec{replicas: params == null ? 1 : int(params.data.replicas)}}"}},
                    {"patchType": "ApplyConfiguration", "applyConfiguration": {"expression": "Object{spec: Object.spec{tolerations: [Object.spec.tolerations{key: 'b'}]}}"}}
                ]
            }
        })
    }

    fn deploy() -> Json {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default"},
               "spec": {"replicas": 3, "tolerations": [{"key": "a"}]}})
    }

    #[test]
    fn one_rule_for_all_mutations_and_atomic_lists() {
        assert!(is_mutating_admission_policy(&map()));
        let (rules, patched) =
            evaluate_mutating_admission_policy(&map(), &deploy(), &EvalContext::default()).unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].status, Status::Pass);
        let patched = patched.unwrap();
        assert_eq!(patched["spec"]["replicas"], 1);
        assert_eq!(patched["spec"]["tolerations"], json!([{"key": "b"}]));
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}});
        assert!(
            evaluate_mutating_admission_policy(&map(), &svc, &EvalContext::default()).is_none()
        );
    }

    #[test]
    fn bindings_bring_parameters() {
        let binding = json!({"apiVersion": "admissionregistration.k8s.io/v1alpha1", "kind": "MutatingAdmissionPolicyBinding",
            "metadata": {"name": "b"},
            "spec": {"policyName": "replicas", "paramRef": {"name": "limits", "namespace": "default"}}});
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "limits", "namespace": "default"}, "data": {"replicas": "7"}});
        let (_, patched) = evaluate_mutating_admission_policy_with_bindings(
            &map(),
            &[binding],
            &[cm],
            &deploy(),
            &EvalContext::default(),
        )
        .unwrap();
        assert_eq!(patched.unwrap()["spec"]["replicas"], 7);
        // a binding that selects nothing leaves no result
        let narrow = json!({"kind": "MutatingAdmissionPolicyBinding", "spec": {"policyName": "replicas",
            "matchResources": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["*"], "resources": ["pods"]}]}}});
        assert!(evaluate_mutating_admission_policy_with_bindings(
            &map(),
            &[narrow],
            &[],
            &deploy(),
            &EvalContext::default()
        )
        .is_none());
    }
}
