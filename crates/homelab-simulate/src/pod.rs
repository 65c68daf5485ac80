//! What one pod of a workload asks of a node, and whether a node gives it: requests
//! (init containers counted as the scheduler does), nodeSelector, required node affinity,
//! tolerations against taints.

use crate::cluster::{Node, Taint, NANO};
use homelab_k8s::{PodSpec, Quantity};
use serde_json::Value;
use std::collections::BTreeMap;

/// The scheduling needs of one pod.
#[derive(Debug, Clone, Default)]
pub struct PodNeeds {
    /// Nanocores.
    pub cpu: i128,
    /// Nano-bytes.
    pub memory: i128,
    /// Extended resources (`nvidia.com/gpu`) in whole units.
    pub extended: BTreeMap<String, i128>,
    pub node_selector: BTreeMap<String, String>,
    /// Required node affinity: any term must match; within a term every expression.
    pub affinity_terms: Vec<Vec<Expression>>,
    pub tolerations: Vec<Value>,
}

/// A `matchExpressions` item of a node selector term.
#[derive(Debug, Clone)]
pub struct Expression {
    pub key: String,
    pub operator: String,
    pub values: Vec<String>,
}

impl PodNeeds {
    pub fn of(spec: &PodSpec<'_>) -> PodNeeds {
        let mut needs = PodNeeds::default();
        let mut regular = Requests::default();
        let mut init_max = Requests::default();
        for c in spec.containers() {
            let r = Requests::of(c.value.get("resources"));
            if c.is_init() {
                init_max.max_with(&r);
            } else {
                regular.add(&r);
            }
        }
        regular.max_with(&init_max);
        needs.cpu = regular.cpu;
        needs.memory = regular.memory;
        needs.extended = regular.extended;
        if let Some(Value::Object(sel)) = spec.get("nodeSelector") {
            for (k, v) in sel {
                needs
                    .node_selector
                    .insert(k.clone(), v.as_str().unwrap_or_default().to_string());
            }
        }
        let terms = spec
            .get("affinity")
            .and_then(|a| a.pointer("/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms"))
            .and_then(Value::as_array);
        for term in terms.into_iter().flatten() {
            let exprs = term
                .get("matchExpressions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|e| Expression {
                    key: str_of(e, "key"),
                    operator: str_of(e, "operator"),
                    values: e
                        .get("values")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .map(|v| match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect(),
                })
                .collect();
            needs.affinity_terms.push(exprs);
        }
        if let Some(Value::Array(t)) = spec.get("tolerations") {
            needs.tolerations = t.clone();
        }
        needs
    }

    /// Why `node` cannot run this pod regardless of what already runs there (labels and
    /// taints), or `None` when it can.
    pub fn excluded_by(&self, node: &Node) -> Option<String> {
        for (k, v) in &self.node_selector {
            if node.labels.get(k) != Some(v) {
                return Some(format!("nodeSelector {k}={v} does not match"));
            }
        }
        if !self.affinity_terms.is_empty()
            && !self
                .affinity_terms
                .iter()
                .any(|term| term.iter().all(|e| e.matches(&node.labels)))
        {
            return Some("required node affinity does not match".to_string());
        }
        if let Some(t) = self.untolerated(node) {
            return Some(format!("taint {t} is not tolerated"));
        }
        None
    }

    /// The first NoSchedule/NoExecute taint of `node` that no toleration covers.
    pub fn untolerated<'n>(&self, node: &'n Node) -> Option<&'n Taint> {
        node.taints
            .iter()
            .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
            .find(|t| !self.tolerations.iter().any(|tol| tolerates(tol, t)))
    }
}

fn str_of(v: &Value, field: &str) -> String {
    v.get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl Expression {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        let number = |s: &str| s.parse::<i64>().ok();
        match self.operator.as_str() {
            "In" => value.is_some_and(|v| self.values.contains(v)),
            "NotIn" => value.is_none_or(|v| !self.values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            "Gt" | "Lt" => {
                let (Some(have), Some(bound)) = (
                    value.and_then(|v| number(v)),
                    self.values.first().and_then(|v| number(v)),
                ) else {
                    return false;
                };
                if self.operator == "Gt" {
                    have > bound
                } else {
                    have < bound
                }
            }
            _ => false,
        }
    }
}

/// Whether a toleration covers a taint (the scheduler's rules: an empty key with `Exists`
/// tolerates everything; an empty effect matches every effect).
pub fn tolerates(toleration: &Value, taint: &Taint) -> bool {
    let key = toleration.get("key").and_then(Value::as_str).unwrap_or("");
    let operator = toleration
        .get("operator")
        .and_then(Value::as_str)
        .unwrap_or("Equal");
    let effect = toleration
        .get("effect")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !effect.is_empty() && effect != taint.effect {
        return false;
    }
    match operator {
        "Exists" => key.is_empty() || key == taint.key,
        "Equal" => {
            let value = toleration
                .get("value")
                .and_then(Value::as_str)
                .unwrap_or("");
            key == taint.key && value == taint.value
        }
        _ => false,
    }
}

#[derive(Debug, Clone, Default)]
struct Requests {
    cpu: i128,
    memory: i128,
    extended: BTreeMap<String, i128>,
}

impl Requests {
    /// A container's requests; a resource with only a limit requests its limit (the API
    /// server's defaulting).
    fn of(resources: Option<&Value>) -> Requests {
        let mut out = Requests::default();
        let Some(resources) = resources else {
            return out;
        };
        let mut names: Vec<&String> = Vec::new();
        for part in ["limits", "requests"] {
            if let Some(Value::Object(m)) = resources.get(part) {
                names.extend(m.keys());
            }
        }
        names.sort();
        names.dedup();
        for name in names {
            let amount = resources
                .pointer(&format!(
                    "/requests/{}",
                    name.replace('~', "~0").replace('/', "~1")
                ))
                .or_else(|| {
                    resources.pointer(&format!(
                        "/limits/{}",
                        name.replace('~', "~0").replace('/', "~1")
                    ))
                })
                .and_then(Quantity::from_value)
                .and_then(Result::ok)
                .map(|q| q.nanos().max(0));
            let Some(nanos) = amount else { continue };
            match name.as_str() {
                "cpu" => out.cpu = nanos,
                "memory" => out.memory = nanos,
                "ephemeral-storage" => {}
                other if other.contains('/') => {
                    out.extended.insert(other.to_string(), nanos / NANO);
                }
                _ => {}
            }
        }
        out
    }

    fn add(&mut self, other: &Requests) {
        self.cpu += other.cpu;
        self.memory += other.memory;
        for (k, v) in &other.extended {
            *self.extended.entry(k.clone()).or_default() += v;
        }
    }

    fn max_with(&mut self, other: &Requests) {
        self.cpu = self.cpu.max(other.cpu);
        self.memory = self.memory.max(other.memory);
        for (k, v) in &other.extended {
            let e = self.extended.entry(k.clone()).or_default();
            *e = (*e).max(*v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn needs(spec: Value) -> PodNeeds {
        PodNeeds::of(&PodSpec {
            spec: &spec,
            pointer: "/spec",
        })
    }

    #[test]
    fn requests_sum_regular_containers_and_take_the_largest_init() {
        let n = needs(json!({
            "initContainers": [{"name": "i", "resources": {"requests": {"cpu": "2", "memory": "1Gi"}}}],
            "containers": [
                {"name": "a", "resources": {"requests": {"cpu": "500m"}, "limits": {"memory": "512Mi", "nvidia.com/gpu": 1}}},
                {"name": "b", "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}},
            ],
        }));
        assert_eq!(n.cpu, 2 * NANO);
        assert_eq!(n.memory, (1 << 30) * NANO);
        assert_eq!(n.extended["nvidia.com/gpu"], 1);
    }

    #[test]
    fn taints_need_a_matching_toleration() {
        let mut node = Node::new("n", 4, 8, 0);
        node.taints
            .push(Taint::parse("nvidia.com/gpu=true:NoSchedule").unwrap());
        node.taints
            .push(Taint::parse("soft=x:PreferNoSchedule").unwrap());
        let plain = needs(json!({"containers": []}));
        assert_eq!(
            plain.excluded_by(&node).as_deref(),
            Some("taint nvidia.com/gpu=true:NoSchedule is not tolerated")
        );
        for tol in [
            json!({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}),
            json!({"key": "nvidia.com/gpu", "value": "true"}),
            json!({"operator": "Exists"}),
        ] {
            let n = needs(json!({"containers": [], "tolerations": [tol]}));
            assert!(n.excluded_by(&node).is_none(), "{tol}");
        }
        let wrong = needs(
            json!({"containers": [], "tolerations": [{"key": "nvidia.com/gpu", "value": "false"}]}),
        );
        assert!(wrong.excluded_by(&node).is_some());
    }

    #[test]
    fn selectors_and_affinity_pick_nodes_by_label() {
        let mut node = Node::new("n", 4, 8, 0);
        node.labels.insert("disk".into(), "ssd".into());
        let sel = needs(json!({"containers": [], "nodeSelector": {"disk": "hdd"}}));
        assert!(sel
            .excluded_by(&node)
            .unwrap()
            .contains("nodeSelector disk=hdd"));
        let aff = |op: &str, values: Value| {
            needs(
                json!({"containers": [], "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "disk", "operator": op, "values": values}]}]}}}}),
            )
        };
        assert!(aff("In", json!(["ssd"])).excluded_by(&node).is_none());
        assert!(aff("NotIn", json!(["ssd"])).excluded_by(&node).is_some());
        assert!(aff("Exists", json!([])).excluded_by(&node).is_none());
        assert!(aff("DoesNotExist", json!([])).excluded_by(&node).is_some());
    }
}
