//! The nodes a rollout is scheduled on: capacity, labels and taints.
//!
//! [`Node::from_k3s_config`] reads what a k3s node registers with (`node-name`, `node-label`,
//! `node-taint`, the kubelet's `system-reserved`) from its `/etc/rancher/k3s/config.yaml`;
//! capacity (cores, memory, GPUs) comes from the caller, who knows the hardware.

use homelab_k8s::Quantity;
use serde_json::Value;
use std::collections::BTreeMap;

/// One billion: quantities are held in nano-units (a CPU core is `NANO` nanocores).
pub const NANO: i128 = 1_000_000_000;

/// The extended resource NVIDIA's device plugin advertises.
pub const NVIDIA_GPU: &str = "nvidia.com/gpu";

/// A node taint (`key=value:Effect`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taint {
    pub key: String,
    pub value: String,
    pub effect: String,
}

impl Taint {
    /// `key=value:Effect` or `key:Effect`.
    pub fn parse(text: &str) -> Option<Taint> {
        let (kv, effect) = text.rsplit_once(':')?;
        let (key, value) = kv.split_once('=').unwrap_or((kv, ""));
        if key.is_empty() || effect.is_empty() {
            return None;
        }
        Some(Taint {
            key: key.to_string(),
            value: value.to_string(),
            effect: effect.to_string(),
        })
    }
}

impl std::fmt::Display for Taint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}:{}", self.key, self.effect)
        } else {
            write!(f, "{}={}:{}", self.key, self.value, self.effect)
        }
    }
}

/// A node as the scheduler sees it.
#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub taints: Vec<Taint>,
    /// Allocatable CPU in nanocores (capacity minus what the kubelet keeps back).
    pub cpu: i128,
    /// Allocatable memory in nano-bytes.
    pub memory: i128,
    /// Physical GPUs: advertised as `nvidia.com/gpu` only once a device plugin runs here.
    pub gpus: u32,
}

impl Node {
    /// A node with the labels every kubelet sets (`kubernetes.io/hostname`, `os`, `arch`).
    pub fn new(name: &str, cores: u32, memory_gib: u32, gpus: u32) -> Node {
        let mut labels = BTreeMap::new();
        labels.insert("kubernetes.io/hostname".to_string(), name.to_string());
        labels.insert("kubernetes.io/os".to_string(), "linux".to_string());
        labels.insert("kubernetes.io/arch".to_string(), "amd64".to_string());
        Node {
            name: name.to_string(),
            labels,
            taints: Vec::new(),
            cpu: i128::from(cores) * NANO,
            memory: i128::from(memory_gib) * (1 << 30) * NANO,
            gpus,
        }
    }

    /// Applies a k3s `config.yaml` (already parsed): its labels, taints and `system-reserved`
    /// kubelet argument. Unknown or malformed entries are returned as messages.
    pub fn apply_k3s_config(&mut self, config: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        for label in strings(config.get("node-label")) {
            match label.split_once('=') {
                Some((k, v)) => {
                    self.labels.insert(k.to_string(), v.to_string());
                }
                None => problems.push(format!("node-label `{label}` is not key=value")),
            }
        }
        for taint in strings(config.get("node-taint")) {
            match Taint::parse(taint) {
                Some(t) => self.taints.push(t),
                None => problems.push(format!("node-taint `{taint}` is not key=value:Effect")),
            }
        }
        for arg in strings(config.get("kubelet-arg")) {
            let Some(reserved) = arg.strip_prefix("system-reserved=") else {
                continue;
            };
            for part in reserved.split(',') {
                let Some((resource, amount)) = part.split_once('=') else {
                    continue;
                };
                let Ok(q) = Quantity::parse(amount.trim()) else {
                    problems.push(format!(
                        "system-reserved {resource}=`{amount}` is not a quantity"
                    ));
                    continue;
                };
                match resource {
                    "cpu" => self.cpu -= q.nanos(),
                    "memory" => self.memory -= q.nanos(),
                    _ => {}
                }
            }
        }
        problems
    }
}

/// A string or a list of strings (k3s accepts both).
fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn taints_parse_with_and_without_value() {
        let t = Taint::parse("nvidia.com/gpu=true:NoSchedule").unwrap();
        assert_eq!(
            (t.key.as_str(), t.value.as_str(), t.effect.as_str()),
            ("nvidia.com/gpu", "true", "NoSchedule")
        );
        assert_eq!(t.to_string(), "nvidia.com/gpu=true:NoSchedule");
        let t = Taint::parse("dedicated:NoExecute").unwrap();
        assert_eq!((t.key.as_str(), t.value.as_str()), ("dedicated", ""));
        assert!(Taint::parse("no-effect").is_none());
    }

    #[test]
    fn k3s_config_sets_labels_taints_and_reservations() {
        let mut node = Node::new("gpu", 8, 32, 1);
        let problems = node.apply_k3s_config(&json!({
            "node-label": ["nvidia.com/gpu.present=true", "broken"],
            "node-taint": "nvidia.com/gpu=true:NoSchedule",
            "kubelet-arg": ["system-reserved=cpu=500m,memory=2Gi", "max-pods=50"],
        }));
        assert_eq!(node.labels["nvidia.com/gpu.present"], "true");
        assert_eq!(node.labels["kubernetes.io/hostname"], "gpu");
        assert_eq!(node.taints.len(), 1);
        assert_eq!(node.cpu, 7_500_000_000);
        assert_eq!(node.memory, 30 * (1i128 << 30) * NANO);
        assert_eq!(problems.len(), 1, "{problems:?}");
    }
}
