//! The `checks` blocks of a test (Kyverno's assertion-tree test format): each check
//! selects rule results with `match` (assertion trees over the `resource`, the
//! `policy` and the `rule` `{name}`) and verifies `assert` (must hold) and `error`
//! (must not hold) on each result `{name, ruleType, message, status}`.
//!
//! Assertion trees (kyverno-json): a map asserts each key on the value; a key is a
//! field name, or a JMESPath projection `(expr)` of the current value (`~.(expr)`
//! asserts every element of the projected list or map); a list asserts a list of the
//! same length item by item; a scalar (or a `(expr)` projection of the value) must
//! equal the value, numbers by value.

use serde_json::{json, Value};

use crate::response::RuleResponse;

use super::compare::Run;
use super::{get, Row, SubjectKind};

/// A key or scalar of an assertion tree.
struct Expr {
    /// `~.` / `~name.`: assert each element.
    foreach: bool,
    /// The JMESPath statement of a `(...)` projection, or the plain text.
    statement: String,
    projection: bool,
}

fn parse(s: &str) -> Expr {
    let mut foreach = false;
    let mut rest = s;
    if let Some(r) = s.strip_prefix('~') {
        if let Some(dot) = r.find('.') {
            if r[..dot].chars().all(|c| c.is_alphanumeric() || c == '_') {
                foreach = true;
                rest = &r[dot + 1..];
            }
        }
    }
    // `\...\` escapes a literal that would read as an expression.
    if rest.len() >= 2 && rest.starts_with('\\') && rest.ends_with('\\') {
        return Expr {
            foreach,
            statement: rest[1..rest.len() - 1].to_string(),
            projection: false,
        };
    }
    if rest.len() >= 2 && rest.starts_with('(') && rest.ends_with(')') {
        let inner = &rest[1..rest.len() - 1];
        let inner = match inner.split_once(';') {
            Some((compiler, e)) if compiler == "jp" || compiler == "default" => e,
            _ => inner,
        };
        return Expr {
            foreach,
            statement: inner.to_string(),
            projection: true,
        };
    }
    Expr {
        foreach,
        statement: rest.to_string(),
        projection: false,
    }
}

fn numbers_equal(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// kyverno-json's leaf comparison: maps and lists as subsets/item by item, numbers by
/// value, the rest by equality.
fn matches_value(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| matches_value(x, y))
        }
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, x)| a.get(k).is_some_and(|y| matches_value(x, y))),
        (Value::Number(_), Value::Number(_)) => numbers_equal(expected, actual),
        _ => expected == actual,
    }
}

/// The failures of asserting `tree` on `value` (empty: it holds).
pub fn assert(tree: &Value, value: &Value, path: &str) -> Result<Vec<String>, String> {
    let mut errs = Vec::new();
    match tree {
        Value::Array(items) => match value {
            Value::Null => errs.push(format!("{path}: value is null")),
            Value::Array(vals) if vals.len() == items.len() => {
                for (i, (t, v)) in items.iter().zip(vals).enumerate() {
                    errs.extend(assert(t, v, &format!("{path}[{i}]"))?);
                }
            }
            Value::Array(_) => errs.push(format!("{path}: lengths of slices don't match")),
            _ => return Err(format!("{path}: expected a slice")),
        },
        Value::Object(m) => {
            if m.is_empty() && value.is_null() {
                errs.push(format!("{path}: invalid value, must not be null"));
            }
            for (k, sub) in m {
                let here = format!("{path}.{k}");
                let e = parse(k);
                let projected = if e.projection {
                    Some(
                        crate::jmes::search(&e.statement, value)
                            .map_err(|x| format!("{here}: {x}"))?,
                    )
                } else {
                    value.get(&e.statement).cloned()
                };
                let Some(projected) = projected else {
                    errs.push(format!("{here}: field not found in the input object"));
                    continue;
                };
                if e.foreach {
                    match &projected {
                        Value::Array(a) => {
                            for (i, x) in a.iter().enumerate() {
                                errs.extend(assert(sub, x, &format!("{here}[{i}]"))?);
                            }
                        }
                        Value::Object(o) => {
                            for (key, x) in o {
                                errs.extend(assert(sub, x, &format!("{here}[{key}]"))?);
                            }
                        }
                        _ => return Err(format!("{here}: expected a slice or a map")),
                    }
                } else {
                    errs.extend(assert(sub, &projected, &here)?);
                }
            }
        }
        Value::String(s) => {
            let e = parse(s);
            let expected = if e.projection {
                crate::jmes::search(&e.statement, value).map_err(|x| format!("{path}: {x}"))?
            } else {
                Value::String(e.statement)
            };
            if !matches_value(&expected, value) {
                errs.push(format!("{path}: Expected value: {expected}"));
            }
        }
        scalar => {
            if !matches_value(scalar, value) {
                errs.push(format!("{path}: Expected value: {scalar}"));
            }
        }
    }
    Ok(errs)
}

fn rule_data(r: &RuleResponse, rule_type: &str) -> Value {
    json!({"name": r.rule, "ruleType": rule_type, "message": r.message, "status": r.status.as_str()})
}

/// The rows of a test's `checks`.
pub fn rows(run: &Run<'_>, checks: &[Value]) -> Vec<Row> {
    let mut out = Vec::new();
    let responses = run.runs.get("").map(Vec::as_slice).unwrap_or(&[]);
    for check in checks {
        let m = get(check, "match");
        for resp in responses {
            let subject = &run.subjects[resp.subject];
            if subject.kind == SubjectKind::Target {
                continue;
            }
            let policy = &run.loaded.policies[resp.policy];
            let held = |tree: Option<&Value>, v: &Value| {
                tree.filter(|t| !t.is_null())
                    .map(|t| assert(t, v, "").map(|e| e.is_empty()))
                    .unwrap_or(Ok(true))
            };
            let evaluated = resp
                .response
                .patched_resource
                .as_ref()
                .unwrap_or(&subject.doc);
            if !matches!(
                held(m.and_then(|m| get(m, "resource")), evaluated),
                Ok(true)
            ) {
                continue;
            }
            if !matches!(held(m.and_then(|m| get(m, "policy")), policy), Ok(true)) {
                continue;
            }
            for rule in &resp.response.rules {
                let rule_name = json!({"name": rule.rule});
                if !matches!(held(m.and_then(|m| get(m, "rule")), &rule_name), Ok(true)) {
                    continue;
                }
                let data = rule_data(rule, super::compare::rule_type_name(policy, &rule.rule));
                for (key, negate) in [("assert", false), ("error", true)] {
                    let Some(tree) = get(check, key).filter(|t| !t.is_null()) else {
                        continue;
                    };
                    let outcome = assert(tree, &data, "");
                    let (ok, reason) = match (outcome, negate) {
                        (Ok(errs), false) if errs.is_empty() => (true, "Ok".to_string()),
                        (Ok(errs), false) => (false, errs.join("; ")),
                        (Ok(errs), true) if !errs.is_empty() => (true, errs.join("; ")),
                        (Ok(_), true) => (
                            false,
                            "The assertion succeeded but was expected to fail".to_string(),
                        ),
                        (Err(e), _) => (false, e),
                    };
                    let status = rule.status.as_str().to_string();
                    out.push(Row {
                        policy: policy
                            .pointer("/metadata/name")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        rule: rule.rule.clone(),
                        resource: subject.label.clone(),
                        expected: status.clone(),
                        actual: Some(status),
                        ok,
                        test: run.test.clone(),
                        reason,
                        message: rule.message.clone(),
                        file: run.file.clone(),
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(tree: Value, v: Value) -> bool {
        assert(&tree, &v, "").unwrap().is_empty()
    }

    #[test]
    fn assertion_trees() {
        let data = json!({"name": "r", "status": "fail", "list": [1, 2], "m": {"a": {"x": 1}, "b": {"x": 1}}});
        assert!(holds(json!({"status": "fail"}), data.clone()));
        assert!(!holds(json!({"status": "pass"}), data.clone()));
        assert!(holds(json!({"(status != 'pass')": true}), data.clone()));
        assert!(holds(json!({"(length(list))": 2}), data.clone()));
        assert!(holds(json!({"list": [1, 2.0]}), data.clone()));
        assert!(!holds(json!({"list": [1]}), data.clone()));
        assert!(holds(json!({"~.(m)": {"x": 1}}), data.clone()));
        assert!(!holds(json!({"missing": 1}), data.clone()));
        // a scalar projection reads the value it is compared with
        assert!(holds(json!({"name": "(@)"}), data.clone()));
        assert!(holds(json!({"list": "(@)"}), data));
    }
}
