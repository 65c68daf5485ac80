//! Kyverno `MutatingPolicy` / `NamespacedMutatingPolicy` (policies.kyverno.io), as
//! `kyverno test` applies one:
//! - on admission of a resource: its match constraints (or those of an autogen
//!   variant for pod controllers), CEL `PolicyException`s, match conditions (which may
//!   read `variables`), then each of `mutations` in order on the object as mutated so
//!   far ([`super::mutation`]);
//! - as mutate-existing (`evaluation.mutateExisting.enabled`), on each target resource
//!   of the test: the targets its `targetMatchConstraints` select (resource rules, or a
//!   CEL `expression` naming the targets), evaluated with the target as `object` and
//!   the triggering admission request as `request`.
//!
//! Result: not selected -> nothing (or an empty response for constraints the CLI
//! reports anyway); a false match condition -> skip; an exception -> skip (or pass);
//! an evaluation or patch error -> error; else pass with the patched resource.

use serde_json::{json, Value as Json};

use crate::context::EvalContext;
use crate::response::{RuleResponse, Status};

use super::eval;
use super::exceptions::{self, Decision};
use super::fields;
use super::match_constraints;
use super::mutation::{self, Lists};
use super::opening::Opening;
use homelab_cel::Activation;

/// Whether `doc` is a Kyverno MutatingPolicy (cluster-wide or namespaced).
pub fn is_mutating_policy(doc: &Json) -> bool {
    fields::is_kyverno_kind(doc, "MutatingPolicy")
}

/// Whether the policy also mutates existing resources.
pub fn mutates_existing(policy: &Json) -> bool {
    policy
        .pointer("/spec/evaluation/mutateExisting/enabled")
        .and_then(Json::as_bool)
        == Some(true)
}

fn respond(policy: &Json, status: Status, message: impl Into<String>) -> Vec<RuleResponse> {
    vec![RuleResponse::new(
        fields::policy_name(policy),
        status,
        message,
    )]
}

/// Applies a MutatingPolicy to `resource` on admission: `None` when it does not
/// select the resource, else its rule response and, when it mutated, the patched
/// resource.
pub fn evaluate_mutating_policy(
    policy: &Json,
    resource: &Json,
    ctx: &EvalContext,
) -> Option<(Vec<RuleResponse>, Option<Json>)> {
    evaluate_mutating_policy_with_exceptions(policy, resource, ctx, &[])
}

/// [`evaluate_mutating_policy`] with the CEL `PolicyException`s among `exceptions`.
pub fn evaluate_mutating_policy_with_exceptions(
    policy: &Json,
    resource: &Json,
    ctx: &EvalContext,
    all_exceptions: &[Json],
) -> Option<(Vec<RuleResponse>, Option<Json>)> {
    let spec = policy.get("spec")?;
    let opening = Opening::new(policy, resource, ctx)?;
    let variants = super::autogen::mutating_policy_variants(spec);
    let chosen = if opening.spec_selects(spec) {
        Some(spec)
    } else {
        variants.iter().find(|v| opening.spec_selects(v))
    };
    let Some(spec) = chosen else {
        let reported = std::iter::once(spec)
            .chain(variants.iter())
            .any(|s| match_constraints::reports_unselected(s.get("matchConstraints")));
        return reported.then(|| (Vec::new(), None));
    };
    let mine = exceptions::for_policy(policy, all_exceptions);
    let (rules, patched) = mutate(
        policy,
        spec,
        opening.activation(),
        &opening.object(),
        &mine,
        "matchConditions",
    );
    Some((rules, patched.filter(|p| p != resource)))
}

/// Evaluates the policy's exceptions, conditions (`conditions_key`: `matchConditions`,
/// or `targetMatchConditions` for a mutate-existing target) and mutations on `object`,
/// bound in `act`.
fn mutate(
    policy: &Json,
    spec: &Json,
    mut act: Activation,
    object: &Json,
    exceptions: &[&Json],
    conditions_key: &str,
) -> (Vec<RuleResponse>, Option<Json>) {
    match exceptions::decide(exceptions, &mut act, false) {
        Decision::Evaluate => {}
        Decision::Exempt(status, message) => return (respond(policy, status, message), None),
        Decision::Error(e) => return (respond(policy, Status::Error, e), None),
    }
    let vars = eval::eval_variables(fields::list(spec, "variables"), &mut act);
    if let Some(conds) = spec.get(conditions_key).and_then(Json::as_array) {
        match eval::match_conditions(conds, &act, &vars) {
            Ok(true) => {}
            Ok(false) => return (respond(policy, Status::Skip, "skip"), None),
            Err(e) => return (respond(policy, Status::Error, e), None),
        }
    }
    let lists = if mutation::is_builtin_api(
        object
            .get("apiVersion")
            .and_then(Json::as_str)
            .unwrap_or(""),
    ) {
        Lists::Keyed
    } else {
        Lists::Atomic
    };
    let mut current = object.clone();
    for (i, m) in fields::list(spec, "mutations").iter().enumerate() {
        match mutation::apply_mutation(m, &act, &vars, &current, lists) {
            Ok(next) => current = next,
            Err(e) => {
                return (
                    respond(policy, Status::Error, format!("mutation {i}: {e}")),
                    None,
                )
            }
        }
        // The next mutation (and the variables it reads) sees the object as mutated so far.
        act.bind_json("object", &current);
    }
    if let Err((key, e)) = eval::audit_annotations(spec, &act, &vars) {
        return (
            respond(
                policy,
                Status::Error,
                format!("failed to evaluate auditAnnotation {key:?}: {e}"),
            ),
            None,
        );
    }
    (respond(policy, Status::Pass, "success"), Some(current))
}

/// Whether a mutate-existing policy targets `target`, for the admission of `trigger`:
/// the CEL `targetMatchConstraints.expression` (evaluated with the trigger as
/// `object`) names it, or the target constraints' resource rules (else the policy's
/// match constraints), for any operation, select it.
pub fn targets(policy: &Json, trigger: &Json, target: &Json, ctx: &EvalContext) -> bool {
    let Some(spec) = policy.get("spec") else {
        return false;
    };
    let tmc = spec.get("targetMatchConstraints");
    if let Some(expr) = tmc
        .and_then(|t| t.get("expression"))
        .and_then(Json::as_str)
        .filter(|e| !e.trim().is_empty())
    {
        let null = Json::Null;
        let pns = super::opening::policy_namespace(policy);
        let mut act = eval::activation_in(trigger, &null, &null, &null, ctx, pns);
        let vars = eval::eval_variables(fields::list(spec, "variables"), &mut act);
        let Ok(found) = eval::eval_json(expr, &act, &vars) else {
            return false;
        };
        let key = |o: &Json| {
            (
                o.pointer("/metadata/namespace")
                    .and_then(Json::as_str)
                    .unwrap_or("")
                    .to_string(),
                o.pointer("/metadata/name")
                    .and_then(Json::as_str)
                    .unwrap_or("")
                    .to_string(),
            )
        };
        let want = key(target);
        return match found.get("items") {
            Some(Json::Array(items)) => items.iter().any(|i| key(i) == want),
            _ => key(&found) == want,
        };
    }
    let constraints = tmc
        .filter(|t| {
            t.get("resourceRules")
                .and_then(Json::as_array)
                .is_some_and(|r| !r.is_empty())
        })
        .or_else(|| spec.get("matchConstraints"));
    let Some(mut constraints) = constraints.cloned() else {
        return false;
    };
    if let Some(Json::Array(rules)) = constraints.get_mut("resourceRules") {
        for r in rules {
            r["operations"] = json!(["*"]);
        }
    }
    let ns = target
        .pointer("/metadata/namespace")
        .and_then(Json::as_str)
        .unwrap_or("");
    let mut labels = serde_json::Map::new();
    if !ns.is_empty() {
        labels.insert("kubernetes.io/metadata.name".into(), json!(ns));
    }
    let req = match_constraints::Request {
        resource: target,
        operation: "CREATE",
        namespace_labels: &labels,
        subresource: None,
    };
    match_constraints::matches(&constraints, &req)
}

/// Applies a mutate-existing policy to `target` for the admission of `trigger`: its
/// rule response and the patched target (when it passed).
pub fn mutate_existing(
    policy: &Json,
    trigger: &Json,
    target: &Json,
    ctx: &EvalContext,
    all_exceptions: &[Json],
) -> Option<(Vec<RuleResponse>, Option<Json>)> {
    let spec = policy.get("spec")?;
    let mine = exceptions::for_policy(policy, all_exceptions);
    let request = eval::request_json(trigger, ctx);
    let pns = super::opening::policy_namespace(policy);
    let null = Json::Null;
    let act = eval::activation_in(target, &null, &request, &null, ctx, pns);
    let (rules, patched) = mutate(policy, spec, act, target, &mine, "targetMatchConditions");
    Some((rules, patched))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(tolerations: Option<Json>) -> Json {
        let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"},
                           "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
        if let Some(t) = tolerations {
            p["spec"]["tolerations"] = t;
        }
        p
    }

    fn policy(mutations: Json) -> Json {
        json!({
            "apiVersion": "policies.kyverno.io/v1alpha1", "kind": "MutatingPolicy", "metadata": {"name": "m"},
            "spec": {
                "matchConstraints": {"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}]},
                "matchConditions": [{"name": "not-yet", "expression": "!has(object.metadata.labels) || !('done' in object.metadata.labels)"}],
                "mutations": mutations
            }
        })
    }

    #[test]
    fn apply_configuration_merges() {
        let p = policy(
            json!([{"patchType": "ApplyConfiguration", "applyConfiguration": {"expression":
            "Object{metadata: Object.metadata{labels: {'done': 'yes'}}, spec: Object.spec{containers: [Object.spec.containers{name: 'c', imagePullPolicy: 'Always'}]}}"}}]),
        );
        assert!(is_mutating_policy(&p));
        let (rules, patched) =
            evaluate_mutating_policy(&p, &pod(None), &EvalContext::default()).unwrap();
        assert_eq!(rules[0].status, Status::Pass);
        let patched = patched.unwrap();
        assert_eq!(patched["metadata"]["labels"]["done"], "yes");
        assert_eq!(
            patched["spec"]["containers"],
            json!([{"name": "c", "image": "nginx", "imagePullPolicy": "Always"}])
        );
        // Already labelled: the match condition skips it.
        let (rules, patched) =
            evaluate_mutating_policy(&p, &patched, &EvalContext::default()).unwrap();
        assert_eq!((rules[0].status, patched), (Status::Skip, None));
    }

    #[test]
    fn json_patches_apply_in_order() {
        let p = policy(json!([
            {"patchType": "JSONPatch", "jsonPatch": {"expression":
                "has(object.spec.tolerations) ? [JSONPatch{op: 'add', path: '/spec/tolerations/-', value: {'key': 'k'}}] : [JSONPatch{op: 'add', path: '/spec/tolerations', value: [{'key': 'k'}]}]"}},
            {"patchType": "JSONPatch", "jsonPatch": {"expression":
                "[JSONPatch{op: 'add', path: '/metadata/annotations', value: {'n': string(size(object.spec.tolerations))}}]"}}
        ]));
        let (_, patched) =
            evaluate_mutating_policy(&p, &pod(None), &EvalContext::default()).unwrap();
        let patched = patched.unwrap();
        assert_eq!(patched["spec"]["tolerations"], json!([{"key": "k"}]));
        assert_eq!(patched["metadata"]["annotations"]["n"], "1");
        let (_, patched) = evaluate_mutating_policy(
            &p,
            &pod(Some(json!([{"key": "a"}]))),
            &EvalContext::default(),
        )
        .unwrap();
        assert_eq!(
            patched.unwrap()["spec"]["tolerations"],
            json!([{"key": "a"}, {"key": "k"}])
        );
    }

    #[test]
    fn errors_and_non_matches() {
        let p =
            policy(json!([{"patchType": "JSONPatch", "jsonPatch": {"expression": "object.nope"}}]));
        let (rules, _) = evaluate_mutating_policy(&p, &pod(None), &EvalContext::default()).unwrap();
        assert_eq!(rules[0].status, Status::Error);
        // A Service is not selected: the pod-controller variant (two resource rules) is
        // reported without a result, as Kyverno's CLI does.
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}});
        let (rules, patched) = evaluate_mutating_policy(&p, &svc, &EvalContext::default()).unwrap();
        assert!(rules.is_empty() && patched.is_none());
        let mut plain = p.clone();
        plain["spec"]["autogen"] = json!({"podControllers": {"controllers": []}});
        assert!(evaluate_mutating_policy(&plain, &svc, &EvalContext::default()).is_none());
    }
}
