//! A `kyverno test`/`kyverno apply` Values file: variables injected per policy, rule and
//! resource (`globalValues`, `policies[]`), the labels of namespaces
//! (`namespaceSelector[]`), and the sources of `generate.clone` rules.

use serde_json::{Map, Value};
use std::collections::HashMap;

/// Values a Values file injects, per policy/rule/resource.
#[derive(Debug, Clone, Default)]
pub struct ValuesFile {
    /// `globalValues`.
    pub global: Map<String, Value>,
    /// `policies[]` entries as written (`name`, `rules[]{name, values, foreachValues}`,
    /// `resources[]{name, values}`).
    pub policies: Vec<Value>,
    /// Source objects for `generate.clone` (a test's `cloneSourceResource`); offline there
    /// is no cluster to read them from.
    pub clone_sources: Vec<Value>,
}

impl ValuesFile {
    /// The values of a Values document, and its `namespaceSelector` labels by namespace.
    pub fn from_document(doc: &Value) -> (ValuesFile, HashMap<String, Map<String, Value>>) {
        let mut values = ValuesFile::default();
        if let Some(Value::Object(g)) = doc.get("globalValues") {
            values.global = g.clone();
        }
        if let Some(Value::Array(p)) = doc.get("policies") {
            values.policies = p.clone();
        }
        let mut labels = HashMap::new();
        if let Some(Value::Array(ns)) = doc.get("namespaceSelector") {
            for n in ns {
                if let (Some(name), Some(Value::Object(l))) =
                    (n.get("name").and_then(Value::as_str), n.get("labels"))
                {
                    labels.insert(name.to_string(), l.clone());
                }
            }
        }
        (values, labels)
    }

    fn policy(&self, name: &str) -> Option<&Value> {
        self.policies
            .iter()
            .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
    }

    /// Values for (policy, resource): global, then the policy's per-resource values.
    pub fn for_resource(&self, policy: &str, resource_name: &str) -> Map<String, Value> {
        let mut out = self.global.clone();
        // a policy may be listed more than once: every entry counts
        let entries = self
            .policies
            .iter()
            .filter(|p| p.get("name").and_then(Value::as_str) == Some(policy));
        for rs in entries.filter_map(|p| p.get("resources").and_then(Value::as_array)) {
            for r in rs {
                if r.get("name").and_then(Value::as_str) == Some(resource_name) {
                    if let Some(Value::Object(v)) = r.get("values") {
                        out.extend(v.clone());
                    }
                }
            }
        }
        out
    }

    /// The `rules[]` entry of `policy` for `rule` (autogen names find their source rule).
    pub fn rule_entry(&self, policy: &str, rule: &str) -> Option<&Value> {
        let rule = crate::engine::strip_autogen(rule);
        match self.policy(policy).and_then(|p| p.get("rules")) {
            Some(Value::Array(rs)) => rs
                .iter()
                .find(|r| r.get("name").and_then(Value::as_str) == Some(rule)),
            _ => None,
        }
    }

    /// Whether any value could apply to `policy` (none: evaluation can skip the lookups).
    pub fn is_empty_for(&self, policy: &str) -> bool {
        self.global.is_empty() && self.policy(policy).is_none()
    }
}
