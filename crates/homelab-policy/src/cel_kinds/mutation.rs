//! The `mutations` of Kyverno's MutatingPolicy and Kubernetes' MutatingAdmissionPolicy:
//! `ApplyConfiguration` (an `Object{...}` literal merged into the object as server-side
//! apply does) and `JSONPatch` (a list of `JSONPatch{...}` operations, RFC 6902).
//!
//! How server-side apply merges lists depends on the schema it knows: with the
//! built-in Kubernetes schemas (Kyverno's MutatingPolicy on built-in kinds) the lists
//! keyed by a field (`containers` by `name`, ...) merge item by item; without a schema
//! (a MutatingAdmissionPolicy in Kyverno's CLI, or a custom resource) every list is
//! atomic and replaced whole.

use homelab_k8s::merge_keys::merge_key;
use serde_json::Value as Json;

use super::eval;

/// How lists merge under server-side apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lists {
    /// Known list-map fields merge by key, others are replaced.
    Keyed,
    /// Every list is replaced.
    Atomic,
}

/// Whether `api_version` belongs to a built-in Kubernetes API group (whose schemas
/// server-side apply knows): the core group, groups without a dot, `*.k8s.io`.
pub fn is_builtin_api(api_version: &str) -> bool {
    match api_version.rsplit_once('/') {
        None => true,
        Some((group, _)) => !group.contains('.') || group.ends_with(".k8s.io"),
    }
}

/// One entry of `mutations` applied to `object`.
pub fn apply_mutation(
    m: &Json,
    act: &homelab_cel::Activation,
    vars: &eval::Variables,
    object: &Json,
    lists: Lists,
) -> Result<Json, String> {
    match m.get("patchType").and_then(Json::as_str).unwrap_or("") {
        "ApplyConfiguration" => {
            let expr = m
                .pointer("/applyConfiguration/expression")
                .and_then(Json::as_str)
                .unwrap_or("");
            eval::eval_json(expr, act, vars).map(|patch| apply_merge(object, &patch, "", lists))
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

/// Merges an apply configuration into `base` the way server-side apply does:
/// objects field by field, keyed lists item by item (new items appended), other
/// lists and scalars replaced.
pub fn apply_merge(base: &Json, patch: &Json, field: &str, lists: Lists) -> Json {
    match (base, patch) {
        (Json::Object(b), Json::Object(p)) => {
            let mut out = b.clone();
            for (k, pv) in p {
                let merged = match out.get(k) {
                    Some(bv) => apply_merge(bv, pv, k, lists),
                    None => pv.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Json::Object(out)
        }
        (Json::Array(b), Json::Array(p)) => {
            match merge_key(field, b.iter().chain(p)).filter(|_| lists == Lists::Keyed) {
                Some(key) if b.iter().chain(p).all(|v| v.get(key).is_some()) => {
                    let mut out = b.clone();
                    for pv in p {
                        match out.iter_mut().find(|bv| bv.get(key) == pv.get(key)) {
                            Some(bv) => *bv = apply_merge(bv, pv, "", lists),
                            None => out.push(pv.clone()),
                        }
                    }
                    Json::Array(out)
                }
                _ => patch.clone(),
            }
        }
        _ => patch.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keyed_lists_merge_item_by_item_and_service_ports_by_port() {
        let base = json!({"spec": {
            "containers": [{"name": "a", "image": "a:1"}],
            "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}],
            "tolerations": [{"key": "x"}]
        }});
        let patch = json!({"spec": {
            "containers": [{"name": "b", "image": "b:1"}],
            "ports": [{"port": 443, "targetPort": 9443}],
            "tolerations": [{"key": "y"}]
        }});
        let merged = apply_merge(&base, &patch, "", Lists::Keyed);
        assert_eq!(
            merged,
            json!({"spec": {
                "containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}],
                "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443, "targetPort": 9443}],
                "tolerations": [{"key": "y"}]
            }})
        );
        // Without a schema every list is atomic.
        let atomic = apply_merge(&base, &patch, "", Lists::Atomic);
        assert_eq!(atomic["spec"]["ports"], patch["spec"]["ports"]);
    }
}
