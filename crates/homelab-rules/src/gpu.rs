//! What makes a workload a GPU workload, in objects and in Helm values.

use homelab_k8s::Quantity;
use serde_json::Value;

/// Whether a resources map requests/limits an NVIDIA (or other vendor) GPU.
pub fn requests_gpu(resources: &Value) -> bool {
    ["limits", "requests"].iter().any(|section| {
        resources
            .get(*section)
            .and_then(Value::as_object)
            .is_some_and(|m| {
                m.iter().any(|(k, v)| {
                    (k.ends_with("/gpu") || k == "nvidia.com/gpu")
                        && Quantity::from_value(v)
                            .and_then(Result::ok)
                            .is_some_and(|n| n.signum() > 0)
                })
            })
    })
}

/// Pointers of every `resources` map inside `value` that requests a GPU.
pub fn gpu_requests_in(value: &Value, base: &str, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let child = format!("{base}/{}", k.replace('~', "~0").replace('/', "~1"));
                if k == "resources" && requests_gpu(v) {
                    out.push(child.clone());
                }
                gpu_requests_in(v, &child, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                gpu_requests_in(v, &format!("{base}/{i}"), out);
            }
        }
        _ => {}
    }
}
