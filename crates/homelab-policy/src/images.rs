//! Kyverno's `images` context variable: every container image of a workload split into
//! registry, path, name, tag and digest, keyed by container name.

use serde_json::{json, Map, Value};

/// The pod spec of a Pod or pod controller (Deployment & co., Job, CronJob).
pub fn pod_spec(resource: &Value) -> Option<&Value> {
    match resource.get("kind").and_then(Value::as_str).unwrap_or("") {
        "Pod" => resource.get("spec"),
        "CronJob" => resource.pointer("/spec/jobTemplate/spec/template/spec"),
        _ => resource.pointer("/spec/template/spec"),
    }
}

/// Parsed image reference.
pub fn parse_image(image: &str) -> Value {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, d.to_string()),
        None => (image, String::new()),
    };
    let (name_part, tag) = match rest.rsplit_once(':') {
        Some((n, t)) if !t.contains('/') => (n, t.to_string()),
        _ => (rest, String::new()),
    };
    let first = name_part.split('/').next().unwrap_or("");
    let has_registry = name_part.contains('/')
        && (first.contains('.') || first.contains(':') || first == "localhost");
    let (registry, path) = if has_registry {
        let (r, p) = name_part.split_once('/').unwrap_or(("", name_part));
        (r.to_string(), p.to_string())
    } else {
        ("docker.io".to_string(), name_part.to_string())
    };
    let name = path.rsplit('/').next().unwrap_or("").to_string();
    let tag = if tag.is_empty() && digest.is_empty() {
        "latest".to_string()
    } else {
        tag
    };
    let mut reference = format!("{registry}/{path}");
    if !tag.is_empty() {
        reference.push(':');
        reference.push_str(&tag);
    }
    let reference_with_tag = reference.clone();
    if !digest.is_empty() {
        reference.push('@');
        reference.push_str(&digest);
    }
    json!({"registry": registry, "path": path, "name": name, "tag": tag, "digest": digest,
           "reference": reference, "referenceWithTag": reference_with_tag})
}

pub fn images_of(resource: &Value) -> Value {
    let mut out = Map::new();
    let Some(spec) = pod_spec(resource) else {
        return Value::Object(out);
    };
    for key in ["containers", "initContainers", "ephemeralContainers"] {
        if let Some(Value::Array(cs)) = spec.get(key) {
            let mut m = Map::new();
            for c in cs {
                let (Some(n), Some(i)) = (
                    c.get("name").and_then(Value::as_str),
                    c.get("image").and_then(Value::as_str),
                ) else {
                    continue;
                };
                m.insert(n.to_string(), parse_image(i));
            }
            if !m.is_empty() {
                out.insert(key.to_string(), Value::Object(m));
            }
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        let i = parse_image("ghcr.io/org/app:1.2");
        assert_eq!(i["registry"], "ghcr.io");
        assert_eq!(i["path"], "org/app");
        assert_eq!(i["name"], "app");
        assert_eq!(i["tag"], "1.2");
        let i = parse_image("nginx");
        assert_eq!(i["registry"], "docker.io");
        assert_eq!(i["tag"], "latest");
        let i = parse_image("localhost:5000/x@sha256:abc");
        assert_eq!(i["registry"], "localhost:5000");
        assert_eq!(i["digest"], "sha256:abc");
    }
}
