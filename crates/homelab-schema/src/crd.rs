//! Schemas of custom kinds: extracted from `CustomResourceDefinition` objects (every served
//! version's `openAPIV3Schema`) and from the embedded hand-written platform schemas
//! (`crds/<group>/<kind>_<version>.yaml`, each with top-level `group`, `version`, `kind` and
//! `schema`).

use serde_json::Value;

/// One custom kind's schema.
#[derive(Debug, Clone)]
pub struct CrdSchema {
    /// `group/version`, e.g. `argoproj.io/v1alpha1`.
    pub api_version: String,
    pub kind: String,
    /// The `openAPIV3Schema`.
    pub schema: Value,
    /// Where it came from, for messages (`file.yaml`, `embedded`).
    pub origin: String,
}

/// Whether `value` is a CustomResourceDefinition.
pub fn is_crd(value: &Value) -> bool {
    value.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition")
        && value
            .get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|a| a.starts_with("apiextensions.k8s.io/"))
}

/// The schemas a CRD declares: one per served version (v1), or the shared
/// `spec.validation` schema for every version (v1beta1). Versions without a schema are
/// returned with `preserve-unknown-fields`, as the API server would accept anything.
pub fn from_crd(value: &Value, origin: &str) -> Vec<CrdSchema> {
    let spec = &value["spec"];
    let Some(group) = spec["group"].as_str() else {
        return Vec::new();
    };
    let Some(kind) = spec["names"]["kind"].as_str() else {
        return Vec::new();
    };
    let shared = spec["validation"]["openAPIV3Schema"].clone();
    let mut out = Vec::new();
    let mut push = |version: &str, schema: &Value| {
        let schema = if schema.is_object() {
            schema.clone()
        } else {
            serde_json::json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
        };
        out.push(CrdSchema {
            api_version: format!("{group}/{version}"),
            kind: kind.to_string(),
            schema,
            origin: origin.to_string(),
        });
    };
    match spec["versions"].as_array() {
        Some(versions) if !versions.is_empty() => {
            for v in versions {
                if v["served"].as_bool() == Some(false) {
                    continue;
                }
                let Some(name) = v["name"].as_str() else {
                    continue;
                };
                let schema = if v["schema"]["openAPIV3Schema"].is_object() {
                    &v["schema"]["openAPIV3Schema"]
                } else {
                    &shared
                };
                push(name, schema);
            }
        }
        _ => {
            if let Some(version) = spec["version"].as_str() {
                push(version, &shared);
            }
        }
    }
    out
}

/// A hand-written platform schema file (`group`, `version`, `kind`, `schema`).
pub fn from_platform_file(value: &Value, origin: &str) -> Option<CrdSchema> {
    let group = value["group"].as_str()?;
    let version = value["version"].as_str()?;
    let kind = value["kind"].as_str()?;
    let schema = value.get("schema")?.clone();
    let api_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(CrdSchema {
        api_version,
        kind: kind.to_string(),
        schema,
        origin: origin.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v1_crd_yields_each_served_version() {
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "spec": {
                "group": "example.com",
                "names": {"kind": "Widget"},
                "versions": [
                    {"name": "v1", "served": true, "schema": {"openAPIV3Schema": {"type": "object"}}},
                    {"name": "v1beta1", "served": false, "schema": {"openAPIV3Schema": {"type": "object"}}},
                    {"name": "v2", "served": true}
                ]
            }
        });
        assert!(is_crd(&crd));
        let s = from_crd(&crd, "crd.yaml");
        let names: Vec<_> = s.iter().map(|c| c.api_version.as_str()).collect();
        assert_eq!(names, ["example.com/v1", "example.com/v2"]);
        assert_eq!(s[1].schema["x-kubernetes-preserve-unknown-fields"], true);
    }

    #[test]
    fn v1beta1_crd_uses_shared_validation() {
        let crd = json!({
            "apiVersion": "apiextensions.k8s.io/v1beta1",
            "kind": "CustomResourceDefinition",
            "spec": {"group": "g.io", "version": "v1", "names": {"kind": "K"},
                     "validation": {"openAPIV3Schema": {"type": "object", "properties": {"a": {"type": "string"}}}}}
        });
        let s = from_crd(&crd, "x");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].api_version, "g.io/v1");
        assert_eq!(s[0].schema["properties"]["a"]["type"], "string");
    }
}
