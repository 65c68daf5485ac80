//! Label selectors as the API server evaluates them (`matchLabels` and `matchExpressions`
//! with `In`, `NotIn`, `Exists`, `DoesNotExist`), for Services, NetworkPolicies and
//! webhooks.

use serde_json::Value;
use std::collections::BTreeMap;

/// Labels of one object (or namespace).
pub type Labels = BTreeMap<String, String>;

/// The labels at `value` (an object of strings; other values are ignored).
pub fn labels_at(value: Option<&Value>) -> Labels {
    value
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        Value::Bool(b) => b.to_string(),
                        Value::Number(n) => n.to_string(),
                        _ => return None,
                    };
                    Some((k.clone(), v))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a `LabelSelector` matches `labels`. An absent or null selector, and `{}`, match
/// everything; a malformed one (unknown operator, wrong shape) matches nothing, as the API
/// server would refuse it.
pub fn matches(selector: Option<&Value>, labels: &Labels) -> bool {
    let selector = match selector {
        None | Some(Value::Null) => return true,
        Some(Value::Object(s)) => s,
        Some(_) => return false,
    };
    if let Some(required) = selector.get("matchLabels") {
        match required {
            Value::Object(m) => {
                for (k, v) in m {
                    let want = match v {
                        Value::String(s) => s.clone(),
                        Value::Bool(b) => b.to_string(),
                        Value::Number(n) => n.to_string(),
                        _ => return false,
                    };
                    if labels.get(k) != Some(&want) {
                        return false;
                    }
                }
            }
            Value::Null => {}
            _ => return false,
        }
    }
    match selector.get("matchExpressions") {
        None | Some(Value::Null) => true,
        Some(Value::Array(exprs)) => exprs.iter().all(|e| expression(e, labels)),
        Some(_) => false,
    }
}

fn expression(e: &Value, labels: &Labels) -> bool {
    let Some(key) = e.get("key").and_then(Value::as_str) else {
        return false;
    };
    let values: Vec<&str> = e
        .get("values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let have = labels.get(key).map(String::as_str);
    match e.get("operator").and_then(Value::as_str) {
        Some("In") => have.is_some_and(|v| values.contains(&v)),
        Some("NotIn") => have.is_none_or(|v| !values.contains(&v)),
        Some("Exists") => have.is_some(),
        Some("DoesNotExist") => have.is_none(),
        _ => false,
    }
}

/// Whether a plain label map (a Service's `spec.selector`) matches: every pair has to.
pub fn map_matches(selector: Option<&Value>, labels: &Labels) -> bool {
    let wanted = labels_at(selector);
    wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Whether a selector is empty (`{}`, null or absent): it selects every object.
pub fn is_empty(selector: Option<&Value>) -> bool {
    match selector {
        None | Some(Value::Null) => true,
        Some(Value::Object(s)) => s.values().all(|v| match v {
            Value::Object(m) => m.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Null => true,
            _ => false,
        }),
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn match_labels_and_expressions_all_have_to_hold() {
        let l = labels(&[("app", "web"), ("tier", "front")]);
        assert!(matches(None, &l));
        assert!(matches(Some(&json!({})), &l));
        assert!(matches(Some(&json!({"matchLabels": {"app": "web"}})), &l));
        assert!(!matches(Some(&json!({"matchLabels": {"app": "db"}})), &l));
        let sel = json!({"matchLabels": {"app": "web"}, "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["front", "edge"]},
            {"key": "debug", "operator": "DoesNotExist"},
        ]});
        assert!(matches(Some(&sel), &l));
        let sel = json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["front"]}]});
        assert!(!matches(Some(&sel), &l));
        let sel = json!({"matchExpressions": [{"key": "x", "operator": "NotIn", "values": ["a"]}]});
        assert!(matches(Some(&sel), &l), "NotIn holds for an absent label");
    }

    #[test]
    fn a_malformed_selector_matches_nothing() {
        let l = labels(&[("app", "web")]);
        assert!(!matches(Some(&json!("app=web")), &l));
        let sel =
            json!({"matchExpressions": [{"key": "app", "operator": "Like", "values": ["w"]}]});
        assert!(!matches(Some(&sel), &l));
        assert!(is_empty(Some(&json!({"matchLabels": {}}))));
        assert!(!is_empty(Some(&json!({"matchLabels": {"a": "b"}}))));
    }
}
