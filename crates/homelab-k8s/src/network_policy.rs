//! What a NetworkPolicy selects and denies, as the API server and CNI read it.

use serde_json::Value;

/// Traffic direction of a NetworkPolicy rule list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    /// The `policyTypes` entry.
    pub fn policy_type(self) -> &'static str {
        match self {
            Direction::Ingress => "Ingress",
            Direction::Egress => "Egress",
        }
    }

    /// The field that holds the allow rules.
    pub fn rules_field(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

/// The directions a policy governs: its `policyTypes`, or, when absent, Ingress always and
/// Egress when it has egress rules (the API server's defaulting).
pub fn policy_types(policy: &Value) -> Vec<Direction> {
    match policy
        .pointer("/spec/policyTypes")
        .and_then(Value::as_array)
    {
        Some(list) => [Direction::Ingress, Direction::Egress]
            .into_iter()
            .filter(|d| list.iter().any(|t| t.as_str() == Some(d.policy_type())))
            .collect(),
        None => {
            let mut types = vec![Direction::Ingress];
            if policy.pointer("/spec/egress").is_some_and(|e| !e.is_null()) {
                types.push(Direction::Egress);
            }
            types
        }
    }
}

/// Whether the policy selects every pod of its namespace. A missing or null `podSelector`
/// is the empty selector (the field is optional and defaults to `{}`), as is one whose
/// `matchLabels` and `matchExpressions` are empty.
pub fn selects_all_pods(policy: &Value) -> bool {
    match policy.pointer("/spec/podSelector") {
        None | Some(Value::Null) => true,
        Some(Value::Object(selector)) => selector.values().all(|v| match v {
            Value::Object(m) => m.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Null => true,
            _ => false,
        }),
        _ => false,
    }
}

/// Whether the policy has no allow rules for `direction` (absent, null or empty list).
pub fn has_no_rules(policy: &Value, direction: Direction) -> bool {
    match policy.pointer(&format!("/spec/{}", direction.rules_field())) {
        None | Some(Value::Null) => true,
        Some(Value::Array(rules)) => rules.is_empty(),
        _ => false,
    }
}

/// The default-deny predicate: the policy selects every pod of its namespace, governs
/// `direction` and allows nothing in it.
pub fn denies_all(policy: &Value, direction: Direction) -> bool {
    selects_all_pods(policy)
        && policy_types(policy).contains(&direction)
        && has_no_rules(policy, direction)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn default_deny_shapes() {
        let both = json!({"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}});
        assert!(denies_all(&both, Direction::Ingress) && denies_all(&both, Direction::Egress));
        let implied = json!({"spec": {"podSelector": {}}});
        assert!(denies_all(&implied, Direction::Ingress));
        assert!(!denies_all(&implied, Direction::Egress));
        let allow =
            json!({"spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}});
        assert!(!denies_all(&allow, Direction::Ingress));
        let scoped = json!({"spec": {"podSelector": {"matchLabels": {"a": "b"}}, "policyTypes": ["Ingress"]}});
        assert!(!denies_all(&scoped, Direction::Ingress));
        let empty_parts = json!({"spec": {"podSelector": {"matchLabels": {}, "matchExpressions": []}, "policyTypes": ["Egress"], "egress": []}});
        assert!(denies_all(&empty_parts, Direction::Egress));
    }

    /// `podSelector` is optional: omitted (or null) it is the empty selector, which selects
    /// every pod of the namespace. A policy without it still denies by default.
    #[test]
    fn a_missing_pod_selector_selects_every_pod() {
        let missing = json!({"spec": {"policyTypes": ["Ingress", "Egress"]}});
        assert!(selects_all_pods(&missing));
        assert!(denies_all(&missing, Direction::Ingress));
        assert!(denies_all(&missing, Direction::Egress));
        let null = json!({"spec": {"podSelector": null, "policyTypes": ["Egress"]}});
        assert!(denies_all(&null, Direction::Egress));
    }

    #[test]
    fn egress_rules_imply_the_egress_type() {
        let p = json!({"spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53}]}]}});
        assert_eq!(
            policy_types(&p),
            vec![Direction::Ingress, Direction::Egress]
        );
        assert!(!denies_all(&p, Direction::Egress));
    }
}
