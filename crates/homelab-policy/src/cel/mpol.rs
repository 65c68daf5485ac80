//! Kyverno `MutatingPolicy` / `NamespacedMutatingPolicy` (policies.kyverno.io):
//! match constraints and conditions as for ValidatingPolicy, then each of
//! `mutations` in order on the object as mutated so far — `ApplyConfiguration`
//! (an `Object{...}` literal merged into the object as server-side apply does:
//! keyed lists item by item, new items appended) or `JSONPatch` (a list of `JSONPatch{...}`
//! operations, RFC 6902).
//!
//! Result: not selected -> `None`; a false match condition -> skip; an
//! evaluation or patch error -> error; else pass with the patched resource.

use serde_json::{Map, Value as Json};

use crate::context::EvalContext;
use crate::response::{RuleResponse, Status};

use super::eval;
use super::matching;

/// Whether `doc` is a Kyverno MutatingPolicy (cluster-wide or namespaced).
pub fn is_mutating_policy(doc: &Json) -> bool {
    let api = doc.get("apiVersion").and_then(Json::as_str).unwrap_or("");
    let kind = doc.get("kind").and_then(Json::as_str).unwrap_or("");
    api.starts_with("policies.kyverno.io/")
        && matches!(kind, "MutatingPolicy" | "NamespacedMutatingPolicy")
}

/// Applies a MutatingPolicy to `resource`: `None` when it does not select the
/// resource, else its rule response and, when it mutated, the patched resource.
pub fn evaluate_mutating_policy(
    policy: &Json,
    resource: &Json,
    ctx: &EvalContext,
) -> Option<(Vec<RuleResponse>, Option<Json>)> {
    let spec = policy.get("spec")?;
    let name = policy
        .pointer("/metadata/name")
        .and_then(Json::as_str)
        .unwrap_or("");
    if policy.get("kind").and_then(Json::as_str) == Some("NamespacedMutatingPolicy") {
        let pns = policy
            .pointer("/metadata/namespace")
            .and_then(Json::as_str)
            .unwrap_or("");
        if resource
            .pointer("/metadata/namespace")
            .and_then(Json::as_str)
            .unwrap_or("")
            != pns
        {
            return None;
        }
    }
    let labels: Map<String, Json> = ctx
        .namespace_labels
        .clone()
        .or_else(|| {
            ctx.namespace_object
                .as_ref()
                .and_then(|n| n.pointer("/metadata/labels"))
                .and_then(Json::as_object)
                .cloned()
        })
        .unwrap_or_default();
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
    let respond = |status, message: String| vec![RuleResponse::new(name, status, message)];
    let (status, message, patched) = mutate(spec, resource, ctx);
    Some((respond(status, message), patched))
}

fn mutate(spec: &Json, resource: &Json, ctx: &EvalContext) -> (Status, String, Option<Json>) {
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
            Ok(false) => return (Status::Skip, "skip".into(), None),
            Err(e) => {
                if spec.get("failurePolicy").and_then(Json::as_str) == Some("Ignore") {
                    return (Status::Skip, "skip".into(), None);
                }
                return (Status::Error, e, None);
            }
        }
    }
    let mut object = resource.clone();
    for (i, m) in spec
        .get("mutations")
        .and_then(Json::as_array)
        .unwrap_or(&empty)
        .iter()
        .enumerate()
    {
        match apply_mutation(m, &act, &vars, &object) {
            Ok(next) => object = next,
            Err(e) => return (Status::Error, format!("mutation {i}: {e}"), None),
        }
        // The next mutation sees the object as mutated so far.
        act.bind_json("object", &object);
    }
    let changed = &object != resource;
    (Status::Pass, "success".into(), changed.then_some(object))
}

/// One entry of `mutations` applied to `object`.
fn apply_mutation(
    m: &Json,
    act: &homelab_cel::Activation,
    vars: &eval::Variables,
    object: &Json,
) -> Result<Json, String> {
    match m.get("patchType").and_then(Json::as_str).unwrap_or("") {
        "ApplyConfiguration" => {
            let expr = m
                .pointer("/applyConfiguration/expression")
                .and_then(Json::as_str)
                .unwrap_or("");
            eval::eval_json(expr, act, vars).map(|patch| apply_merge(object, &patch, ""))
        }
        "JSONPatch" => {
            let expr = m
                .pointer("/jsonPatch/expression")
                .and_then(Json::as_str)
                .unwrap_or("");
            eval::eval_json(expr, act, vars).and_then(|ops| match ops {
                Json::Array(ops) => crate::mutate::json_patch(object, &ops),
                other => Err(format!(
                    "JSONPatch expression must give a list, got {other}"
                )),
            })
        }
        other => Err(format!("unsupported patchType {other:?}")),
    }
}

/// Whether `doc` is a Kubernetes MutatingAdmissionPolicy.
pub fn is_mutating_admission_policy(doc: &Json) -> bool {
    doc.get("apiVersion")
        .and_then(Json::as_str)
        .is_some_and(|a| a.starts_with("admissionregistration.k8s.io/"))
        && doc.get("kind").and_then(Json::as_str) == Some("MutatingAdmissionPolicy")
}

/// Applies a Kubernetes MutatingAdmissionPolicy as Kyverno's CLI does offline
/// (bindings not considered: the policy's match constraints decide): one rule
/// response per mutation — pass when it changed the object, skip when it had no
/// effect, error when it failed — or a single skip when a match condition is
/// false; plus the resource after all mutations.
pub fn evaluate_mutating_admission_policy(
    policy: &Json,
    resource: &Json,
    ctx: &EvalContext,
) -> Option<(Vec<RuleResponse>, Option<Json>)> {
    let spec = policy.get("spec")?;
    let name = policy
        .pointer("/metadata/name")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_string();
    let labels: Map<String, Json> = ctx.namespace_labels.clone().unwrap_or_default();
    let req = matching::Request {
        resource,
        operation: "CREATE",
        namespace_labels: &labels,
    };
    if !spec
        .get("matchConstraints")
        .is_some_and(|mc| matching::matches(mc, &req))
    {
        return None;
    }
    let rule = |status, message: &str| RuleResponse::new(name.clone(), status, message);
    let kind = resource.get("kind").and_then(Json::as_str).unwrap_or("");
    let ns = resource
        .pointer("/metadata/namespace")
        .and_then(Json::as_str)
        .unwrap_or("");
    let ns_obj = if ns.is_empty() || kind == "Namespace" {
        Json::Null
    } else {
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    };
    let (mut act, vars) = eval::create_request_activation(resource, &ns_obj, spec, ctx);
    if let Some(conds) = spec.get("matchConditions").and_then(Json::as_array) {
        match eval::match_conditions(conds, &act, &vars) {
            Ok(true) => {}
            Ok(false) | Err(_) => {
                return Some((vec![rule(Status::Skip, "match conditions not met")], None))
            }
        }
    }
    let mut object = resource.clone();
    let mut rules = Vec::new();
    for m in spec
        .get("mutations")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        match apply_mutation(m, &act, &vars, &object) {
            Err(e) => rules.push(rule(Status::Error, &e)),
            Ok(next) if next == object => rules.push(rule(Status::Skip, "mutation had no effect")),
            Ok(next) => {
                object = next;
                act.bind_json("object", &object);
                rules.push(rule(Status::Pass, ""));
            }
        }
    }
    if rules.is_empty() {
        rules.push(rule(Status::Pass, "mutation returned no patchers"));
    }
    Some((rules, Some(object)))
}

/// The key identifying the items of a list field under server-side apply
/// (Kubernetes' `listMapKeys`); `None` = an atomic list, replaced whole.
fn list_map_key(field: &str) -> Option<&'static str> {
    Some(match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "resourceClaims" => "name",
        "volumeMounts" => "mountPath",
        "volumeDevices" => "devicePath",
        "ports" => "containerPort",
        "hostAliases" => "ip",
        "topologySpreadConstraints" => "topologyKey",
        _ => return None,
    })
}

/// Merges an apply configuration into `base` the way server-side apply does:
/// objects field by field, keyed lists item by item (new items appended), other
/// lists and scalars replaced.
fn apply_merge(base: &Json, patch: &Json, field: &str) -> Json {
    match (base, patch) {
        (Json::Object(b), Json::Object(p)) => {
            let mut out = b.clone();
            for (k, pv) in p {
                let merged = match out.get(k) {
                    Some(bv) => apply_merge(bv, pv, k),
                    None => pv.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Json::Object(out)
        }
        (Json::Array(b), Json::Array(p)) => match list_map_key(field) {
            Some(key) if b.iter().chain(p).all(|v| v.get(key).is_some()) => {
                let mut out = b.clone();
                for pv in p {
                    match out.iter_mut().find(|bv| bv.get(key) == pv.get(key)) {
                        Some(bv) => *bv = apply_merge(bv, pv, ""),
                        None => out.push(pv.clone()),
                    }
                }
                Json::Array(out)
            }
            _ => patch.clone(),
        },
        _ => patch.clone(),
    }
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
    fn mutating_admission_policy_reports_each_mutation() {
        let mut p = policy(json!([
            {"patchType": "ApplyConfiguration", "applyConfiguration": {"expression": "Object{metadata: Object.metadata{labels: {'done': 'yes'}}}"}},
            {"patchType": "JSONPatch", "jsonPatch": {"expression": "[]"}}
        ]));
        p["apiVersion"] = json!("admissionregistration.k8s.io/v1alpha1");
        p["kind"] = json!("MutatingAdmissionPolicy");
        assert!(is_mutating_admission_policy(&p));
        let (rules, patched) =
            evaluate_mutating_admission_policy(&p, &pod(None), &EvalContext::default()).unwrap();
        let statuses: Vec<Status> = rules.iter().map(|r| r.status).collect();
        assert_eq!(statuses, vec![Status::Pass, Status::Skip]);
        assert_eq!(patched.unwrap()["metadata"]["labels"]["done"], "yes");
    }

    #[test]
    fn errors_and_non_matches() {
        let p =
            policy(json!([{"patchType": "JSONPatch", "jsonPatch": {"expression": "object.nope"}}]));
        let (rules, _) = evaluate_mutating_policy(&p, &pod(None), &EvalContext::default()).unwrap();
        assert_eq!(rules[0].status, Status::Error);
        let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}});
        assert!(evaluate_mutating_policy(&p, &svc, &EvalContext::default()).is_none());
    }
}
