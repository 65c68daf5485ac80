//! Mutate-existing rules of Kyverno ClusterPolicy/Policy (`mutate.targets`): when a
//! trigger resource matches the rule, each target the rule names (apiVersion, kind,
//! name with wildcards, namespace, label selector; variables substituted) is looked
//! up among the objects Kyverno's engine can see and mutated with the rule's patches,
//! with `target` bound to it. `kyverno test` then compares each patched target with
//! the test's `patchedResources`.
//!
//! One rule response covers all targets: its status is the first that is not pass
//! (else pass), and it carries every patched target.

use serde_json::{Map, Value};

use crate::conditions;
use crate::context::EvalContext;
use crate::response::{RuleResponse, Status};
use crate::scalars::wildcard_match;
use crate::variables::{Mode, Vars};

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The objects `spec` (a substituted target selector) names.
fn find<'a>(spec: &Value, objects: &'a [Value], policy_namespace: &str) -> Vec<&'a Value> {
    let (api, kind) = (s(spec, "apiVersion"), s(spec, "kind"));
    let name = s(spec, "name");
    let namespace = if policy_namespace.is_empty() {
        s(spec, "namespace")
    } else {
        policy_namespace
    };
    let empty = Map::new();
    objects
        .iter()
        .filter(|o| s(o, "apiVersion") == api && s(o, "kind") == kind)
        .filter(|o| {
            let n = o
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            name.is_empty() || wildcard_match(name, n)
        })
        .filter(|o| {
            namespace.is_empty()
                || o.pointer("/metadata/namespace").and_then(Value::as_str) == Some(namespace)
        })
        .filter(|o| {
            let labels = o
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            crate::cel_kinds::selector_matches(spec.get("selector"), labels)
        })
        .collect()
}

/// Applies a mutate-existing rule (`mutate` has `targets`) for the trigger described by
/// `vars`. `policy_namespace` restricts a namespaced Policy to its own namespace.
pub fn apply(
    rule: &str,
    mutate: &Value,
    vars: &Vars,
    ctx: &EvalContext,
    policy_namespace: &str,
) -> RuleResponse {
    let objects: &[Value] = ctx.mocks.as_ref().map_or(&[], |m| m.client_objects());
    let mut patch = mutate.clone();
    if let Value::Object(m) = &mut patch {
        m.remove("targets");
    }
    let mut statuses = Vec::new();
    let mut patched_targets = Vec::new();
    let mut messages = Vec::new();
    for (i, t) in mutate
        .get("targets")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let mut selector = t.clone();
        if let Value::Object(m) = &mut selector {
            m.remove("preconditions");
            m.remove("context");
        }
        let selector = match vars.substitute(&selector, Mode::Strict) {
            Ok(v) => v,
            Err(e) => {
                statuses.push(Status::Error);
                messages.push(format!(
                    "failed to substitute variables in target[{i}]: {e}"
                ));
                continue;
            }
        };
        for target in find(&selector, objects, policy_namespace) {
            let mut v = vars.clone();
            v.set("target", target.clone());
            if let Some(pre) = t.get("preconditions") {
                match conditions::evaluate(pre, &v, Mode::Lenient) {
                    Ok(true) => {}
                    Ok(false) => {
                        statuses.push(Status::Skip);
                        messages.push("preconditions not met".into());
                        continue;
                    }
                    Err(e) => {
                        statuses.push(Status::Error);
                        messages.push(format!("failed to evaluate preconditions: {e}"));
                        continue;
                    }
                }
            }
            let (status, message, out) = crate::mutate::mutate(&patch, target, &v);
            statuses.push(status);
            if status == Status::Pass {
                let kind = s(&out, "kind");
                let name = out
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                messages.push(
                    match out.pointer("/metadata/namespace").and_then(Value::as_str) {
                        Some(ns) if !ns.is_empty() => {
                            format!("mutated {kind}/{name} in namespace {ns}")
                        }
                        _ => format!("mutated {kind}/{name}"),
                    },
                );
                patched_targets.push(out);
            } else {
                messages.push(message);
            }
        }
    }
    let status = statuses
        .iter()
        .copied()
        .find(|s| *s != Status::Pass)
        .unwrap_or(Status::Pass);
    let mut r = if statuses.is_empty() {
        RuleResponse::new(rule, Status::Skip, "no target resources found")
    } else {
        RuleResponse::new(rule, status, messages.join("; "))
    };
    r.targets = patched_targets;
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mocks::{Mocks, Shared};
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn patches_the_named_targets() {
        let mut m = Mocks::default();
        m.add_client_objects([
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "secret-1", "namespace": "staging"}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "secret-1", "namespace": "prod"}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "other", "namespace": "prod"}}),
        ]);
        let ctx = EvalContext {
            mocks: Some(Shared(Arc::new(m))),
            ..EvalContext::default()
        };
        let mutate = json!({
            "targets": [{"apiVersion": "v1", "kind": "Secret", "name": "secret-*"}],
            "patchStrategicMerge": {"metadata": {"labels": {"foo": "{{ request.object.metadata.name }}"}}}
        });
        let vars = crate::engine::base_vars(
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "staging"}}),
            &ctx,
        );
        let r = apply("r", &mutate, &vars, &ctx, "");
        assert_eq!(r.status, Status::Pass);
        assert_eq!(r.targets.len(), 2);
        assert_eq!(r.targets[0]["metadata"]["labels"]["foo"], "cm");
        let none = apply(
            "r",
            &json!({"targets": [{"apiVersion": "v1", "kind": "Secret", "name": "nope"}], "patchStrategicMerge": {}}),
            &vars,
            &ctx,
            "",
        );
        assert_eq!((none.status, none.targets.len()), (Status::Skip, 0));
    }
}
