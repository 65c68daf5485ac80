//! Kyverno `mutate` rules: `patchStrategicMerge` (with conditional `()`, global `<()` and
//! add-if-not-present `+()` anchors), `patchesJson6902`, and `foreach` over both.
//!
//! Anchors are resolved against the resource first (Kyverno's strategic preprocessing),
//! then the anchor-free patch is merged the Kubernetes strategic-merge way: maps merge,
//! `null` deletes, lists of known object types merge by their merge key (`name`,
//! `mountPath`, `containerPort`, ...), other lists are replaced.

use crate::pattern::{match_pattern, parse_anchor, AnchorKind, PatternResult};
use crate::response::Status;
use crate::variables::{Mode, Vars};
use homelab_k8s::merge_keys::merge_key;
use serde_json::{Map, Value};

/// Why preprocessing stopped.
#[derive(Debug)]
enum Pre {
    /// A conditional anchor did not hold (drops the element, or skips the rule at the top).
    Condition(String),
    /// A global anchor did not hold: the rule is skipped.
    Global(String),
}

fn holds(resource: Option<&Value>, pattern: &Value) -> bool {
    match resource {
        // add-if-not-present anchors inside a condition are not part of it
        Some(r) => matches!(
            match_pattern(r, &without_add_anchors(pattern)),
            PatternResult::Pass
        ),
        None => false,
    }
}

fn is_add_anchor(key: &str) -> bool {
    matches!(parse_anchor(key), Some((AnchorKind::AddIfNotPresent, _)))
}

/// `pattern` without its add-if-not-present anchors.
fn without_add_anchors(pattern: &Value) -> Value {
    match pattern {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !is_add_anchor(k))
                .map(|(k, v)| (k.clone(), without_add_anchors(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Only the add-if-not-present anchors of a condition's value (with the keys that lead
/// to them): what the condition adds once it holds.
fn add_anchors_only(pattern: &Value) -> Option<Value> {
    let Value::Object(m) = pattern else {
        return None;
    };
    let out: Map<String, Value> = m
        .iter()
        .filter_map(|(k, v)| {
            if is_add_anchor(k) {
                Some((k.clone(), v.clone()))
            } else {
                add_anchors_only(v).map(|x| (k.clone(), x))
            }
        })
        .collect();
    (!out.is_empty()).then_some(Value::Object(out))
}

fn preprocess(pattern: &Value, resource: Option<&Value>) -> Result<Value, Pre> {
    match pattern {
        Value::Object(pm) => {
            let rm = resource.and_then(Value::as_object);
            let mut out = Map::new();
            // conditions and global anchors at this level first
            for (k, pv) in pm {
                match parse_anchor(k) {
                    Some((AnchorKind::Condition, key))
                        if !holds(rm.and_then(|m| m.get(key)), pv) =>
                    {
                        return Err(Pre::Condition(format!(
                            "conditional anchor ({key}) does not match"
                        )));
                    }
                    Some((AnchorKind::Global, key)) if !holds(rm.and_then(|m| m.get(key)), pv) => {
                        return Err(Pre::Global(format!(
                            "global anchor <({key}) does not match"
                        )));
                    }
                    _ => {}
                }
            }
            for (k, pv) in pm {
                match parse_anchor(k) {
                    Some((AnchorKind::Condition | AnchorKind::Global, key)) => {
                        // a condition that holds adds what its add anchors add
                        if let Some(adds) = add_anchors_only(pv) {
                            let sub = preprocess(&adds, rm.and_then(|m| m.get(key)))?;
                            if sub.as_object().is_some_and(|o| !o.is_empty()) {
                                out.insert(key.to_string(), sub);
                            }
                        }
                    }
                    Some((AnchorKind::AddIfNotPresent, key)) => {
                        if rm.is_some_and(|m| m.contains_key(key)) {
                            continue;
                        }
                        out.insert(key.to_string(), strip_anchors(pv));
                    }
                    Some((
                        AnchorKind::Equality | AnchorKind::Existence | AnchorKind::Negation,
                        key,
                    )) => {
                        let sub = preprocess(pv, rm.and_then(|m| m.get(key)))?;
                        out.insert(key.to_string(), sub);
                    }
                    None => {
                        let sub = preprocess(pv, rm.and_then(|m| m.get(k)))?;
                        // a list whose conditional elements all fell away patches nothing
                        let dropped = matches!((pv, &sub), (Value::Array(p), Value::Array(s)) if !p.is_empty() && s.is_empty());
                        if !dropped {
                            out.insert(k.clone(), sub);
                        }
                    }
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(pa) => {
            let ra: &[Value] = match resource {
                Some(Value::Array(a)) => a,
                _ => &[],
            };
            let mut out = Vec::new();
            for pe in pa {
                if !pe.is_object() || !has_anchors(pe) {
                    out.push(pe.clone());
                    continue;
                }
                let global = has_global(pe);
                let mut applied = false;
                for re in ra {
                    match preprocess(pe, Some(re)) {
                        Ok(mut p) => {
                            applied = true;
                            // carry the element's identity so the merge lands on it
                            if let (Value::Object(pm), Value::Object(rm)) = (&mut p, re) {
                                for key in
                                    ["name", "mountPath", "containerPort", "ip", "topologyKey"]
                                {
                                    if let Some(v) = rm.get(key) {
                                        pm.entry(key.to_string()).or_insert_with(|| v.clone());
                                        break;
                                    }
                                }
                            }
                            out.push(p);
                        }
                        Err(Pre::Condition(_)) => {}
                        Err(Pre::Global(_)) => {}
                    }
                }
                if !applied && global {
                    return Err(Pre::Global(
                        "global anchor in list does not match any element".into(),
                    ));
                }
            }
            Ok(Value::Array(out))
        }
        other => Ok(other.clone()),
    }
}

fn has_anchors(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, x)| {
            matches!(
                parse_anchor(k),
                Some((
                    AnchorKind::Condition | AnchorKind::Global | AnchorKind::AddIfNotPresent,
                    _
                ))
            ) || has_anchors(x)
        }),
        Value::Array(a) => a.iter().any(has_anchors),
        _ => false,
    }
}

fn has_global(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, x)| {
            matches!(parse_anchor(k), Some((AnchorKind::Global, _))) || has_global(x)
        }),
        Value::Array(a) => a.iter().any(has_global),
        _ => false,
    }
}

fn strip_anchors(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                let key = match parse_anchor(k) {
                    Some((AnchorKind::Condition | AnchorKind::Global, _)) => continue,
                    Some((_, key)) => key.to_string(),
                    None => k.clone(),
                };
                out.insert(key, strip_anchors(x));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(strip_anchors).collect()),
        other => other.clone(),
    }
}

/// Strategic merge of `patch` into `base`.
pub fn strategic_merge(base: &Value, patch: &Value, field: &str) -> Value {
    match (base, patch) {
        (Value::Object(bm), Value::Object(pm)) => {
            let mut out = bm.clone();
            for (k, pv) in pm {
                if pv.is_null() {
                    out.remove(k);
                    continue;
                }
                let merged = match out.get(k) {
                    Some(bv) => strategic_merge(bv, pv, k),
                    None => strip_nulls(pv),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(ba), Value::Array(pa)) => match merge_key(field, pa.iter().chain(ba)) {
            Some(key) if pa.iter().all(Value::is_object) => {
                let mut out = ba.clone();
                // like Kubernetes' strategic merge, elements new to the list come first
                let mut fresh = Vec::new();
                for pe in pa {
                    let Some(kv) = pe.get(key) else {
                        // an element without identity (e.g. only anchors) patches nothing
                        continue;
                    };
                    match out.iter_mut().find(|be| be.get(key) == Some(kv)) {
                        Some(be) => *be = strategic_merge(be, pe, ""),
                        None => fresh.push(strip_nulls(pe)),
                    }
                }
                fresh.extend(out);
                Value::Array(fresh)
            }
            _ => patch.clone(),
        },
        (_, p) => strip_nulls(p),
    }
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k.clone(), strip_nulls(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

fn unescape_pointer(s: &str) -> String {
    s.replace("~1", "/").replace("~0", "~")
}

/// Apply RFC 6902 operations.
pub fn json_patch(doc: &Value, ops: &[Value]) -> Result<Value, String> {
    let mut d = doc.clone();
    for op in ops {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or("");
        let path = op.get("path").and_then(Value::as_str).unwrap_or("");
        match kind {
            "add" | "replace" => {
                let v = op.get("value").cloned().unwrap_or(Value::Null);
                set(&mut d, path, v, kind == "add")?;
            }
            "remove" => {
                remove(&mut d, path)?;
            }
            "copy" | "move" => {
                let from = op.get("from").and_then(Value::as_str).unwrap_or("");
                let v = d
                    .pointer(from)
                    .cloned()
                    .ok_or_else(|| format!("path {from} not found"))?;
                if kind == "move" {
                    remove(&mut d, from)?;
                }
                set(&mut d, path, v, true)?;
            }
            "test" => {
                let v = op.get("value").cloned().unwrap_or(Value::Null);
                if d.pointer(path) != Some(&v) {
                    return Err(format!("test failed at {path}"));
                }
            }
            other => return Err(format!("unknown JSON patch operation {other:?}")),
        }
    }
    Ok(d)
}

fn split_parent(path: &str) -> Result<(&str, String), String> {
    let i = path
        .rfind('/')
        .ok_or_else(|| format!("invalid JSON pointer {path:?}"))?;
    Ok((&path[..i], unescape_pointer(&path[i + 1..])))
}

fn set(d: &mut Value, path: &str, v: Value, add: bool) -> Result<(), String> {
    if path.is_empty() {
        *d = v;
        return Ok(());
    }
    let (parent, last) = split_parent(path)?;
    if add && resolve_mut(d, parent).is_none() {
        // Kyverno applies patches with EnsurePathExistsOnAdd: create missing parents
        ensure_path(d, parent, last == "-" || last.parse::<i64>().is_ok())?;
    }
    let p = resolve_mut(d, parent).ok_or_else(|| format!("path {parent} not found"))?;
    match p {
        Value::Object(m) => {
            if !add && !m.contains_key(&last) {
                return Err(format!("path {path} not found"));
            }
            m.insert(last, v);
        }
        Value::Array(a) => {
            if last == "-" || (add && last.parse::<i64>().is_ok_and(|n| n < 0)) {
                // `-` and, on add, a negative index append
                a.push(v);
            } else {
                let i: usize = last
                    .parse()
                    .map_err(|_| format!("invalid index in {path}"))?;
                if add {
                    if i > a.len() {
                        return Err(format!("index out of range in {path}"));
                    }
                    a.insert(i, v);
                } else {
                    *a.get_mut(i)
                        .ok_or_else(|| format!("index out of range in {path}"))? = v;
                }
            }
        }
        _ => return Err(format!("cannot set {path}")),
    }
    Ok(())
}

/// `pointer_mut` that also accepts negative array indices (counted from the end).
fn resolve_mut<'a>(d: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    let mut cur = d;
    for part in path.split('/').skip(1).map(unescape_pointer) {
        cur = match cur {
            Value::Object(m) => m.get_mut(&part)?,
            Value::Array(a) => {
                let n: i64 = part.parse().ok()?;
                let idx = if n < 0 { a.len() as i64 + n } else { n };
                if idx < 0 {
                    return None;
                }
                a.get_mut(idx as usize)?
            }
            _ => return None,
        };
    }
    Some(cur)
}

fn ensure_path(d: &mut Value, path: &str, leaf_is_array: bool) -> Result<(), String> {
    let parts: Vec<String> = path.split('/').skip(1).map(unescape_pointer).collect();
    let mut cur = d;
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let next_is_index = parts
            .get(i + 1)
            .is_some_and(|p| p == "-" || p.parse::<i64>().is_ok());
        let fresh = || {
            if (last && leaf_is_array) || (!last && next_is_index) {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            }
        };
        cur = match cur {
            Value::Object(m) => m.entry(part.clone()).or_insert_with(fresh),
            Value::Array(a) => {
                let n: i64 = if part == "-" {
                    a.len() as i64
                } else {
                    part.parse()
                        .map_err(|_| format!("invalid index in {path}"))?
                };
                // negative indices count from the end (-1 = last, or a new element if empty)
                let idx = if n < 0 {
                    (a.len() as i64 + n).max(0) as usize
                } else {
                    n as usize
                };
                if idx == a.len() {
                    a.push(fresh());
                }
                a.get_mut(idx)
                    .ok_or_else(|| format!("index out of range in {path}"))?
            }
            _ => return Err(format!("cannot create {path}")),
        };
    }
    Ok(())
}

/// Kyverno applies patches with AllowMissingPathOnRemove: removing nothing is fine.
fn remove(d: &mut Value, path: &str) -> Result<(), String> {
    let (parent, last) = split_parent(path)?;
    let Some(p) = resolve_mut(d, parent) else {
        return Ok(());
    };
    match p {
        Value::Object(m) => {
            m.remove(&last);
            Ok(())
        }
        Value::Array(a) => {
            let i: usize = last
                .parse()
                .map_err(|_| format!("invalid index in {path}"))?;
            if i < a.len() {
                a.remove(i);
                Ok(())
            } else {
                Err(format!("index out of range in {path}"))
            }
        }
        _ => Err(format!("cannot remove {path}")),
    }
}

/// Apply one patch block (`patchStrategicMerge` and/or `patchesJson6902`) to `resource`.
fn apply_patches(
    spec: &Value,
    resource: &Value,
    vars: &Vars,
) -> Result<Option<Value>, (Status, String)> {
    let mut cur = resource.clone();
    let mut touched = false;
    if let Some(p) = spec.get("patchStrategicMerge") {
        let p = vars
            .substitute(p, Mode::Strict)
            .map_err(|e| (Status::Error, format!("variable substitution failed: {e}")))?;
        match preprocess(&p, Some(&cur)) {
            Ok(clean) => {
                cur = strategic_merge(&cur, &clean, "");
                touched = true;
            }
            Err(Pre::Condition(m)) | Err(Pre::Global(m)) => return Err((Status::Skip, m)),
        }
    }
    if let Some(p) = spec.get("patchesJson6902") {
        let text = match p {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let text = match vars.substitute_str(&text, Mode::Strict) {
            Ok(Value::String(s)) => s,
            Ok(other) => other.to_string(),
            Err(e) => return Err((Status::Error, format!("variable substitution failed: {e}"))),
        };
        let ops = crate::yaml::parse_one(&text)
            .map_err(|e| (Status::Error, format!("invalid patchesJson6902: {e}")))?;
        let Value::Array(ops) = ops else {
            return Err((
                Status::Error,
                "patchesJson6902 must be a list of operations".into(),
            ));
        };
        cur = json_patch(&cur, &ops)
            .map_err(|e| (Status::Error, format!("failed to apply JSON patch: {e}")))?;
        touched = true;
    }
    Ok(if touched { Some(cur) } else { None })
}

/// Run `foreach` mutations (nested ones too), threading the patched resource through.
fn foreach_mutate(
    fes: &[Value],
    resource: &Value,
    vars: &Vars,
    nesting: usize,
) -> Result<(Value, usize), (Status, String)> {
    let mut cur = resource.clone();
    let mut applied = 0;
    for fe in fes {
        let list = fe.get("list").and_then(Value::as_str).unwrap_or("");
        let mut lv = vars.clone();
        lv.set("request.object", cur.clone());
        let elements = match lv.query(list) {
            Ok(Value::Array(a)) => a,
            Ok(Value::Null) | Err(_) => continue,
            Ok(other) => vec![other],
        };
        let mut order: Vec<usize> = (0..elements.len()).collect();
        if fe.get("order").and_then(Value::as_str) == Some("Descending") {
            order.reverse();
        }
        for i in order {
            let el = &elements[i];
            let mut v = vars.clone();
            v.set("request.object", cur.clone());
            v.set("element", el.clone());
            v.set(&format!("element{nesting}"), el.clone());
            v.set("elementIndex", Value::from(i as i64));
            v.set(&format!("elementIndex{nesting}"), Value::from(i as i64));
            if let Some(pre) = fe.get("preconditions") {
                match crate::conditions::evaluate(pre, &v, Mode::Lenient) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        return Err((
                            Status::Error,
                            format!("failed to evaluate preconditions: {e}"),
                        ))
                    }
                }
            }
            if let Some(Value::Array(inner)) = fe.get("foreach") {
                let (next, n) = foreach_mutate(inner, &cur, &v, nesting + 1)?;
                applied += n;
                cur = next;
                continue;
            }
            match apply_patches(fe, &cur, &v) {
                Ok(Some(next)) => {
                    if next != cur {
                        applied += 1;
                    }
                    cur = next;
                }
                Ok(None) | Err((Status::Skip, _)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok((cur, applied))
}

/// Evaluate a `mutate` block. Returns the status, message and the patched resource.
pub fn mutate(spec: &Value, resource: &Value, vars: &Vars) -> (Status, String, Value) {
    if let Some(Value::Array(fes)) = spec.get("foreach") {
        return match foreach_mutate(fes, resource, vars, 0) {
            Ok((_, 0)) => (Status::Skip, "no patches applied".into(), resource.clone()),
            Ok((cur, _)) => (Status::Pass, "mutated resource".into(), cur),
            Err((s, m)) => (s, m, resource.clone()),
        };
    }
    match apply_patches(spec, resource, vars) {
        Ok(Some(next)) => {
            if &next == resource {
                (Status::Skip, "no patches applied".into(), next)
            } else {
                (Status::Pass, "mutated resource".into(), next)
            }
        }
        Ok(None) => (
            Status::Error,
            "mutate rule has no patchStrategicMerge, patchesJson6902 or foreach".into(),
            resource.clone(),
        ),
        Err((s, m)) => (s, m, resource.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        Vars::new(Map::new())
    }

    #[test]
    fn add_if_not_present_and_conditions() {
        let pod = json!({"metadata": {"annotations": {"a": "1"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}, {"name": "d", "image": "redis"}]}});
        let m = json!({"patchStrategicMerge": {"metadata": {"annotations": {"+(a)": "2", "+(b)": "3"}},
            "spec": {"containers": [{"(image)": "redis", "imagePullPolicy": "Always"}]}}});
        let (s, _, out) = mutate(&m, &pod, &vars());
        assert_eq!(s, Status::Pass);
        assert_eq!(out["metadata"]["annotations"], json!({"a": "1", "b": "3"}));
        assert!(out["spec"]["containers"][0]
            .get("imagePullPolicy")
            .is_none());
        assert_eq!(out["spec"]["containers"][1]["imagePullPolicy"], "Always");
    }

    #[test]
    fn global_anchor_skips() {
        let pod = json!({"spec": {"volumes": [{"name": "v", "configMap": {"name": "x"}}]}});
        let m = json!({"patchStrategicMerge": {"metadata": {"annotations": {"+(x)": "y"}}, "spec": {"volumes": [{"<(emptyDir)": {}}]}}});
        assert_eq!(mutate(&m, &pod, &vars()).0, Status::Skip);
    }

    #[test]
    fn service_ports_merge_by_port() {
        // A Service's ports are keyed by `port` (a container's by `containerPort`): the patch
        // changes the port it names and leaves the other alone.
        let service = json!({"kind": "Service", "spec": {"ports": [
            {"name": "http", "port": 80, "targetPort": 8080},
            {"name": "https", "port": 443, "targetPort": 8443}
        ]}});
        let m = json!({"patchStrategicMerge": {"spec": {"ports": [{"port": 443, "targetPort": 9443}]}}});
        let (s, _, out) = mutate(&m, &service, &vars());
        assert_eq!(s, Status::Pass);
        assert_eq!(
            out["spec"]["ports"],
            json!([
                {"name": "http", "port": 80, "targetPort": 8080},
                {"name": "https", "port": 443, "targetPort": 9443}
            ])
        );
    }

    #[test]
    fn json6902() {
        let d = json!({"spec": {"list": [1]}});
        let ops = vec![
            json!({"op": "add", "path": "/spec/list/-", "value": 2}),
            json!({"op": "add", "path": "/spec/x", "value": "y"}),
        ];
        assert_eq!(
            json_patch(&d, &ops).unwrap(),
            json!({"spec": {"list": [1, 2], "x": "y"}})
        );
        assert_eq!(
            json_patch(&d, &[json!({"op": "remove", "path": "/nope"})]).unwrap(),
            d
        );
        assert!(json_patch(&d, &[json!({"op": "replace", "path": "/nope", "value": 1})]).is_err());
    }
}
