//! Scopes and the RSA-OAEP label that binds a sealed value to a name and/or namespace.
//!
//! Strict binds `namespace/name` (with the slash: the Go code, not its prose docs),
//! namespace-wide binds the namespace, cluster-wide binds nothing (empty label).

use serde_json::Value;
use std::fmt;
use std::str::FromStr;

pub const ANNOTATION_NAMESPACE_WIDE: &str = "sealedsecrets.bitnami.com/namespace-wide";
pub const ANNOTATION_CLUSTER_WIDE: &str = "sealedsecrets.bitnami.com/cluster-wide";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scope {
    #[default]
    Strict,
    NamespaceWide,
    ClusterWide,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Strict => "strict",
            Scope::NamespaceWide => "namespace-wide",
            Scope::ClusterWide => "cluster-wide",
        }
    }

    /// The scope an object's `metadata.annotations` select. The value must be exactly the
    /// string `"true"` (Go compares strings; `"True"` or a YAML bool mean "not set"), and
    /// cluster-wide wins when both are set.
    pub fn from_annotations(annotations: Option<&Value>) -> Scope {
        let is_true = |key: &str| {
            annotations
                .and_then(|a| a.get(key))
                .and_then(Value::as_str)
                .is_some_and(|v| v == "true")
        };
        if is_true(ANNOTATION_CLUSTER_WIDE) {
            Scope::ClusterWide
        } else if is_true(ANNOTATION_NAMESPACE_WIDE) {
            Scope::NamespaceWide
        } else {
            Scope::Strict
        }
    }

    /// The scope of an object from its `metadata.annotations`.
    pub fn of_object(object: &Value) -> Scope {
        Scope::from_annotations(object.pointer("/metadata/annotations"))
    }

    /// The annotation that selects this scope (none for strict).
    pub fn annotation(self) -> Option<&'static str> {
        match self {
            Scope::Strict => None,
            Scope::NamespaceWide => Some(ANNOTATION_NAMESPACE_WIDE),
            Scope::ClusterWide => Some(ANNOTATION_CLUSTER_WIDE),
        }
    }

    /// The OAEP label. A missing namespace or name is the empty string.
    pub fn label(self, namespace: &str, name: &str) -> Vec<u8> {
        match self {
            Scope::Strict => format!("{namespace}/{name}").into_bytes(),
            Scope::NamespaceWide => namespace.as_bytes().to_vec(),
            Scope::ClusterWide => Vec::new(),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "strict" => Ok(Scope::Strict),
            "namespace-wide" => Ok(Scope::NamespaceWide),
            "cluster-wide" => Ok(Scope::ClusterWide),
            other => Err(format!(
                "unknown scope `{other}`: expected strict, namespace-wide or cluster-wide"
            )),
        }
    }
}

/// A label as text for messages: labels are names, never secret.
pub fn describe_label(label: &[u8]) -> String {
    if label.is_empty() {
        "the empty label (cluster-wide)".to_string()
    } else {
        format!("label `{}`", String::from_utf8_lossy(label))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn labels_follow_the_go_code() {
        assert_eq!(Scope::Strict.label("myns", "myname"), b"myns/myname");
        assert_eq!(Scope::Strict.label("", "n"), b"/n");
        assert_eq!(Scope::NamespaceWide.label("myns", "x"), b"myns");
        assert!(Scope::ClusterWide.label("a", "b").is_empty());
    }

    #[test]
    fn annotations_need_exactly_true_and_cluster_wide_wins() {
        let a = json!({ANNOTATION_NAMESPACE_WIDE: "True"});
        assert_eq!(Scope::from_annotations(Some(&a)), Scope::Strict);
        let a = json!({ANNOTATION_NAMESPACE_WIDE: true});
        assert_eq!(Scope::from_annotations(Some(&a)), Scope::Strict);
        let a = json!({ANNOTATION_NAMESPACE_WIDE: "true"});
        assert_eq!(Scope::from_annotations(Some(&a)), Scope::NamespaceWide);
        let a = json!({ANNOTATION_NAMESPACE_WIDE: "true", ANNOTATION_CLUSTER_WIDE: "true"});
        assert_eq!(Scope::from_annotations(Some(&a)), Scope::ClusterWide);
        assert_eq!(Scope::from_annotations(None), Scope::Strict);
    }
}
