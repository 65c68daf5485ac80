//! Reading a loaded Kubernetes object: identity, labels, annotations, pod spec.

use crate::workload::{self, PodSpec};
use serde_json::{Map, Value};

/// Accessors over a Kubernetes object held as JSON. Implemented for `serde_json::Value`;
/// any type that holds an object implements it by returning that value from
/// [`ResourceExt::object`].
pub trait ResourceExt {
    /// The whole object.
    fn object(&self) -> &Value;

    fn api_version(&self) -> Option<&str> {
        self.object().get("apiVersion").and_then(Value::as_str)
    }

    fn kind(&self) -> Option<&str> {
        self.object().get("kind").and_then(Value::as_str)
    }

    /// The API group: `apps` for `apps/v1`, `""` for the core group (`v1`).
    fn group(&self) -> &str {
        match self.api_version() {
            Some(av) => av.rsplit_once('/').map_or("", |(g, _)| g),
            None => "",
        }
    }

    /// The API version without its group: `v1` for `apps/v1` and for `v1`.
    fn version(&self) -> &str {
        match self.api_version() {
            Some(av) => av.rsplit_once('/').map_or(av, |(_, v)| v),
            None => "",
        }
    }

    /// Whether the object is `kind` of API group `group` (any version).
    fn is(&self, group: &str, kind: &str) -> bool {
        self.kind() == Some(kind) && self.group() == group
    }

    /// `metadata`, when it is a map.
    fn metadata(&self) -> Option<&Map<String, Value>> {
        self.object().get("metadata").and_then(Value::as_object)
    }

    /// A string field of `metadata`.
    fn metadata_str(&self, field: &str) -> Option<&str> {
        self.metadata()?.get(field).and_then(Value::as_str)
    }

    /// `metadata.name`.
    fn name(&self) -> Option<&str> {
        self.metadata_str("name")
    }

    /// `metadata.generateName`.
    fn generate_name(&self) -> Option<&str> {
        self.metadata_str("generateName")
    }

    /// `metadata.namespace`.
    fn namespace(&self) -> Option<&str> {
        self.metadata_str("namespace")
    }

    /// `metadata.labels`, when it is a map.
    fn labels(&self) -> Option<&Map<String, Value>> {
        self.metadata()?.get("labels").and_then(Value::as_object)
    }

    /// One label's value, when it is a string.
    fn label(&self, key: &str) -> Option<&str> {
        self.labels()?.get(key).and_then(Value::as_str)
    }

    /// `metadata.annotations`, when it is a map.
    fn annotations(&self) -> Option<&Map<String, Value>> {
        self.metadata()?
            .get("annotations")
            .and_then(Value::as_object)
    }

    /// One annotation's value, when it is a string.
    fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations()?.get(key).and_then(Value::as_str)
    }

    /// The pod spec of a Pod or of any pod controller (Deployment, StatefulSet, DaemonSet,
    /// ReplicaSet, ReplicationController, Job, CronJob), with the pointer that reaches it.
    fn pod_spec(&self) -> Option<PodSpec<'_>> {
        let pointer = workload::pod_spec_pointer(self.kind()?)?;
        let spec = self.object().pointer(pointer)?;
        spec.is_object().then_some(PodSpec { spec, pointer })
    }
}

impl ResourceExt for Value {
    fn object(&self) -> &Value {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_labels_and_annotations() {
        let d = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop",
                         "labels": {"app": "web", "n": 3},
                         "annotations": {"argocd.argoproj.io/sync-wave": "2"}},
        });
        assert_eq!(d.api_version(), Some("apps/v1"));
        assert_eq!((d.group(), d.version()), ("apps", "v1"));
        assert!(d.is("apps", "Deployment"));
        assert!(!d.is("", "Deployment"));
        assert_eq!((d.name(), d.namespace()), (Some("web"), Some("shop")));
        assert_eq!(d.label("app"), Some("web"));
        assert_eq!(d.label("n"), None);
        assert_eq!(d.annotation("argocd.argoproj.io/sync-wave"), Some("2"));
        let core = json!({"apiVersion": "v1", "kind": "Pod", "metadata": "oops"});
        assert_eq!((core.group(), core.version()), ("", "v1"));
        assert_eq!(core.name(), None);
        assert_eq!(json!([1]).kind(), None);
    }

    #[test]
    fn pod_spec_of_every_controller() {
        let template = json!({"spec": {"containers": [{"name": "c"}]}});
        let cases = [
            ("Pod", json!({"containers": [{"name": "c"}]})),
            ("Deployment", json!({"template": template})),
            ("StatefulSet", json!({"template": template})),
            ("DaemonSet", json!({"template": template})),
            ("ReplicaSet", json!({"template": template})),
            ("ReplicationController", json!({"template": template})),
            ("Job", json!({"template": template})),
            (
                "CronJob",
                json!({"jobTemplate": {"spec": {"template": template}}}),
            ),
        ];
        for (kind, spec) in cases {
            let object = json!({"apiVersion": "v1", "kind": kind, "spec": spec});
            let pod = object.pod_spec().unwrap_or_else(|| panic!("{kind}"));
            assert_eq!(pod.containers()[0].name, "c", "{kind}");
            assert_eq!(
                object.pointer(&pod.containers()[0].pointer).unwrap()["name"],
                "c"
            );
        }
        let service = json!({"kind": "Service", "spec": {"template": template}});
        assert!(service.pod_spec().is_none());
    }
}
