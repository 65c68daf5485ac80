//! Kyverno conditions (`preconditions`, `deny.conditions`, PolicyException `conditions`):
//! `any`/`all` blocks and every operator, with Kyverno's type coercions
//! (pkg/engine/variables/operator).

use crate::pattern::validate_value;
use crate::scalars::{
    as_number, go_parse_float, go_parse_int, go_sprint, parse_duration, parse_quantity,
    wildcard_match,
};
use crate::variables::{Mode, VarError, Vars};
use serde_json::Value;

/// Evaluate a conditions block (`{any, all}` or a legacy list) after substituting its
/// variables. Preconditions use [`Mode::Lenient`] (unresolvable = ""), deny uses
/// [`Mode::Strict`].
pub fn evaluate(conditions: &Value, vars: &Vars, mode: Mode) -> Result<bool, VarError> {
    match conditions {
        Value::Null => Ok(true),
        Value::Array(list) => {
            for c in list {
                if !evaluate_one(c, vars, mode)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Value::Object(m) => {
            let mut any_ok = true;
            if let Some(Value::Array(any)) = m.get("any") {
                any_ok = false;
                for c in any {
                    if evaluate_one(c, vars, mode)? {
                        any_ok = true;
                        break;
                    }
                }
            }
            let mut all_ok = true;
            if let Some(Value::Array(all)) = m.get("all") {
                for c in all {
                    if !evaluate_one(c, vars, mode)? {
                        all_ok = false;
                        break;
                    }
                }
            }
            Ok(any_ok && all_ok)
        }
        _ => Ok(false),
    }
}

fn evaluate_one(c: &Value, vars: &Vars, mode: Mode) -> Result<bool, VarError> {
    let key = vars.substitute(c.get("key").unwrap_or(&Value::Null), mode)?;
    let value = vars.substitute(c.get("value").unwrap_or(&Value::Null), mode)?;
    let op = c.get("operator").and_then(Value::as_str).unwrap_or("");
    Ok(apply(op, &key, &value))
}

/// Apply one operator to a substituted key and value.
pub fn apply(op: &str, key: &Value, value: &Value) -> bool {
    match op.to_ascii_lowercase().as_str() {
        "equal" | "equals" => equals(key, value),
        "notequal" | "notequals" => match key {
            Value::Null => false,
            _ => !equals(key, value),
        },
        "in" => in_op(key, value, SetOp::AllIn),
        "notin" => not_in(key, value),
        "anyin" => set_op(key, value, SetOp::AnyIn),
        "allin" => set_op(key, value, SetOp::AllIn),
        "anynotin" => set_op(key, value, SetOp::AnyNotIn),
        "allnotin" => set_op(key, value, SetOp::AllNotIn),
        "greaterthan" => numeric(key, value, Cmp::Gt),
        "greaterthanorequals" => numeric(key, value, Cmp::Ge),
        "lessthan" => numeric(key, value, Cmp::Lt),
        "lessthanorequals" => numeric(key, value, Cmp::Le),
        "durationgreaterthan" => duration_op(key, value, Cmp::Gt),
        "durationgreaterthanorequals" => duration_op(key, value, Cmp::Ge),
        "durationlessthan" => duration_op(key, value, Cmp::Lt),
        "durationlessthanorequals" => duration_op(key, value, Cmp::Le),
        _ => false,
    }
}

/// Kyverno's `parseDuration(key, value)`: at least one side a duration string (not "0"),
/// the other a duration string or a number of seconds.
fn durations(key: &Value, value: &Value) -> Option<(f64, f64)> {
    let d = |v: &Value| match v {
        Value::String(s) if s != "0" => parse_duration(s),
        _ => None,
    };
    let (kd, vd) = (d(key), d(value));
    if kd.is_none() && vd.is_none() {
        return None;
    }
    let k = kd.or_else(|| as_number(key).map(|x| x.0.trunc()))?;
    let v = vd.or_else(|| as_number(value).map(|x| x.0.trunc()))?;
    Some((k, v))
}

pub fn equals(key: &Value, value: &Value) -> bool {
    match key {
        Value::Bool(b) => value.as_bool() == Some(*b),
        Value::Number(_) => {
            let (k, _) = as_number(key).unwrap_or((f64::NAN, false));
            match value {
                Value::Number(_) => as_number(value).map(|x| x.0) == Some(k),
                Value::String(s) => go_parse_float(s) == Some(k),
                _ => false,
            }
        }
        Value::String(k) => {
            if let Some((a, b)) = durations(key, value) {
                return a == b;
            }
            if let Some(kq) = parse_quantity(k) {
                if let Value::String(vs) = value {
                    return parse_quantity(vs) == Some(kq) || wildcard_match(vs, k);
                }
            }
            match value {
                Value::String(vs) => wildcard_match(vs, k),
                _ => false,
            }
        }
        Value::Object(_) | Value::Array(_) => json_eq(key, value),
        Value::Null => false,
    }
}

/// Deep equality with numbers compared by value (Go's reflect.DeepEqual on decoded JSON).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => {
            as_number(a).map(|x| x.0) == as_number(b).map(|x| x.0)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

#[derive(Clone, Copy, PartialEq)]
#[allow(clippy::enum_variant_names)] // named after Kyverno's operators
enum SetOp {
    AnyIn,
    AllIn,
    AnyNotIn,
    AllNotIn,
}

fn scalar_key(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(go_sprint(key)),
        _ => None,
    }
}

/// Kyverno's `keyExistsInArray`: `None` when the value has an unusable type.
fn key_exists(key: &str, value: &Value) -> Option<bool> {
    match value {
        Value::Array(items) => Some(items.iter().any(|v| {
            let vs = go_sprint(v);
            wildcard_match(&vs, key) || wildcard_match(key, &vs)
        })),
        Value::String(vs) => {
            if wildcard_match(vs, key) {
                return Some(true);
            }
            if is_range(vs) {
                return Some(in_range(key, vs));
            }
            match serde_json::from_str::<Value>(vs) {
                Ok(Value::Array(arr)) => Some(arr.iter().any(|x| go_sprint(x) == key)),
                Ok(_) => None,
                // not JSON: the string is the only candidate
                Err(_) => Some(wildcard_match(key, vs)),
            }
        }
        _ => None,
    }
}

fn is_range(s: &str) -> bool {
    matches!(
        crate::pattern::operator_of(s),
        crate::pattern::Op::InRange | crate::pattern::Op::NotInRange
    )
}

fn in_range(key: &str, range: &str) -> bool {
    let k = match go_parse_float(key) {
        Some(f) => crate::scalars::num_value(f),
        None => Value::String(key.to_string()),
    };
    validate_value(&k, &Value::String(range.to_string()))
}

fn value_strings(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::Array(items) => Some(items.iter().map(go_sprint).collect()),
        Value::String(s) => {
            if serde_json::from_str::<Value>(s).is_ok() {
                serde_json::from_str::<Vec<String>>(s).ok()
            } else {
                Some(vec![s.clone()])
            }
        }
        _ => None,
    }
}

fn item_in(k: &str, values: &[String]) -> bool {
    values
        .iter()
        .any(|v| wildcard_match(k, v) || wildcard_match(v, k))
}

fn set_op(key: &Value, value: &Value, op: SetOp) -> bool {
    if let Some(k) = scalar_key(key) {
        let Some(exists) = key_exists(&k, value) else {
            return false;
        };
        return match op {
            SetOp::AnyIn | SetOp::AllIn => exists,
            SetOp::AnyNotIn | SetOp::AllNotIn => !exists,
        };
    }
    let Value::Array(items) = key else {
        return false;
    };
    let keys: Vec<String> = items.iter().map(go_sprint).collect();
    if let Value::String(vs) = value {
        if keys.len() == 1 && &keys[0] == vs {
            return matches!(op, SetOp::AnyIn | SetOp::AllIn);
        }
        if is_range(vs) {
            let hits = keys.iter().filter(|k| in_range(k, vs)).count();
            return match op {
                SetOp::AnyIn => hits > 0,
                SetOp::AllIn => hits == keys.len(),
                SetOp::AnyNotIn => hits < keys.len(),
                SetOp::AllNotIn => hits == 0,
            };
        }
    }
    let Some(values) = value_strings(value) else {
        return false;
    };
    let hits = keys.iter().filter(|k| item_in(k, &values)).count();
    match op {
        SetOp::AnyIn => hits > 0,
        SetOp::AllIn => hits == keys.len(),
        SetOp::AnyNotIn => hits < keys.len(),
        SetOp::AllNotIn => hits == 0,
    }
}

/// Deprecated `In`: a scalar key must be in the value; a list key must be entirely in it.
fn in_op(key: &Value, value: &Value, _: SetOp) -> bool {
    if let Some(k) = scalar_key(key) {
        return key_exists(&k, value).unwrap_or(false);
    }
    let Value::Array(items) = key else {
        return false;
    };
    let keys: Vec<String> = items.iter().map(go_sprint).collect();
    if let Value::String(vs) = value {
        if keys.len() == 1 && &keys[0] == vs {
            return true;
        }
    }
    let Some(values) = value_strings(value) else {
        return false;
    };
    keys.iter()
        .all(|k| values.iter().any(|v| v == k || wildcard_match(v, k)))
}

/// Deprecated `NotIn`: a scalar key must not be in the value; a list key: any item missing.
fn not_in(key: &Value, value: &Value) -> bool {
    if let Some(k) = scalar_key(key) {
        return match key_exists(&k, value) {
            Some(e) => !e,
            None => false,
        };
    }
    let Value::Array(items) = key else {
        return false;
    };
    let keys: Vec<String> = items.iter().map(go_sprint).collect();
    if let Value::String(vs) = value {
        if keys.len() == 1 && &keys[0] == vs {
            return false;
        }
    }
    let Some(values) = value_strings(value) else {
        return false;
    };
    keys.iter()
        .any(|k| !values.iter().any(|v| v == k || wildcard_match(v, k)))
}

#[derive(Clone, Copy)]
enum Cmp {
    Gt,
    Ge,
    Lt,
    Le,
}

fn cmp_ord(ord: std::cmp::Ordering, c: Cmp) -> bool {
    use std::cmp::Ordering::*;
    match c {
        Cmp::Gt => ord == Greater,
        Cmp::Ge => ord != Less,
        Cmp::Lt => ord == Less,
        Cmp::Le => ord != Greater,
    }
}

fn cmp(a: f64, b: f64, c: Cmp) -> bool {
    match c {
        Cmp::Gt => a > b,
        Cmp::Ge => a >= b,
        Cmp::Lt => a < b,
        Cmp::Le => a <= b,
    }
}

fn num_vs_value(k: f64, value: &Value, c: Cmp) -> bool {
    match value {
        Value::Number(_) => as_number(value).is_some_and(|(v, _)| cmp(k, v, c)),
        Value::String(s) => {
            if let Some((a, b)) = durations(&crate::scalars::num_value(k), value) {
                return cmp(a, b, c);
            }
            if let Some(v) = go_parse_float(s).or_else(|| go_parse_int(s).map(|i| i as f64)) {
                return cmp(k, v, c);
            }
            false
        }
        _ => false,
    }
}

fn numeric(key: &Value, value: &Value, c: Cmp) -> bool {
    match key {
        Value::Number(_) => as_number(key).is_some_and(|(k, _)| num_vs_value(k, value, c)),
        Value::String(k) => {
            if let Some((a, b)) = durations(key, value) {
                return cmp(a, b, c);
            }
            if let (Some(kq), Value::String(vs)) = (parse_quantity(k), value) {
                if let Some(vq) = parse_quantity(vs) {
                    return cmp_ord(kq.cmp(&vq), c);
                }
            }
            if let Some(kf) = go_parse_float(k) {
                return num_vs_value(kf, value, c);
            }
            if let Ok(kv) = semver::Version::parse(k) {
                if let Value::String(vs) = value {
                    if let Ok(vv) = semver::Version::parse(vs) {
                        return match c {
                            Cmp::Gt => kv > vv,
                            Cmp::Ge => kv >= vv,
                            Cmp::Lt => kv < vv,
                            Cmp::Le => kv <= vv,
                        };
                    }
                }
            }
            false
        }
        _ => false,
    }
}

fn duration_op(key: &Value, value: &Value, c: Cmp) -> bool {
    let d = |v: &Value| match v {
        Value::String(s) => parse_duration(s),
        Value::Number(_) => as_number(v).map(|x| x.0),
        _ => None,
    };
    match (d(key), d(value)) {
        (Some(a), Some(b)) => cmp(a, b, c),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operators() {
        assert!(apply("Equals", &json!("abc"), &json!("a*")));
        assert!(apply("Equals", &json!("1Gi"), &json!("1024Mi")));
        assert!(apply("Equals", &json!(3), &json!("3")));
        assert!(apply("Equals", &json!({"a": 1}), &json!({"a": 1.0})));
        assert!(apply("NotEquals", &json!("abc"), &json!("x*")));
        assert!(!apply("NotEquals", &Value::Null, &json!("x")));
        assert!(apply("AnyIn", &json!(["a", "b"]), &json!(["b", "c"])));
        assert!(!apply("AllIn", &json!(["a", "b"]), &json!(["b", "c"])));
        assert!(apply("AllNotIn", &json!(["x"]), &json!(["b", "c"])));
        assert!(apply("AnyNotIn", &json!(["b", "x"]), &json!(["b", "c"])));
        assert!(apply("AnyIn", &json!("NET_ADMIN"), &json!(["NET_*"])));
        assert!(apply("In", &json!("a"), &json!(["a", "b"])));
        assert!(apply("NotIn", &json!("z"), &json!(["a", "b"])));
        assert!(apply("AnyIn", &json!(5), &json!("1-10")));
        assert!(apply("GreaterThan", &json!(5), &json!(3)));
        assert!(apply("GreaterThan", &json!("2Gi"), &json!("1Gi")));
        assert!(apply("LessThan", &json!("30m"), &json!("1h")));
        assert!(apply(
            "GreaterThanOrEquals",
            &json!("1.2.3"),
            &json!("1.2.0")
        ));
        assert!(apply("DurationGreaterThan", &json!("2h"), &json!("1h")));
        assert!(!apply("Bogus", &json!(1), &json!(1)));
    }

    #[test]
    fn blocks() {
        let vars = Vars::new(serde_json::Map::new());
        let c = json!({"any": [{"key": "a", "operator": "Equals", "value": "b"}, {"key": "a", "operator": "Equals", "value": "a"}]});
        assert!(evaluate(&c, &vars, Mode::Strict).unwrap());
        let c = json!({"all": [{"key": "a", "operator": "Equals", "value": "b"}]});
        assert!(!evaluate(&c, &vars, Mode::Strict).unwrap());
        let legacy = json!([{"key": 1, "operator": "Equals", "value": 1}]);
        assert!(evaluate(&legacy, &vars, Mode::Strict).unwrap());
    }
}
