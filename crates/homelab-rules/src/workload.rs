//! Where the pods are: the pod template of each workload kind, with its JSON pointer, and
//! the containers inside it. Shared by every rule about containers, images and placement.

use homelab_manifest::Document;
use serde_json::Value;

/// A pod spec inside an object, with the pointer that reaches it.
pub struct PodSpec<'a> {
    pub spec: &'a Value,
    pub pointer: String,
}

/// The pod spec of a workload object (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
/// ReplicationController, Job, CronJob), if it has one.
pub fn pod_spec(doc: &Document) -> Option<PodSpec<'_>> {
    let pointer = match doc.kind()? {
        "Pod" => "/spec",
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job" => "/spec/template/spec",
        "CronJob" => "/spec/jobTemplate/spec/template/spec",
        _ => return None,
    };
    let spec = doc.value.pointer(pointer)?;
    spec.is_object().then(|| PodSpec {
        spec,
        pointer: pointer.to_string(),
    })
}

/// A container of a pod spec.
pub struct Container<'a> {
    pub value: &'a Value,
    pub pointer: String,
    pub name: &'a str,
    pub init: bool,
}

impl PodSpec<'_> {
    /// Regular and init containers (ephemeral containers are debugging aids, not workload).
    pub fn containers(&self) -> Vec<Container<'_>> {
        let mut out = Vec::new();
        for (field, init) in [("containers", false), ("initContainers", true)] {
            if let Some(list) = self.spec.get(field).and_then(Value::as_array) {
                for (i, c) in list.iter().enumerate() {
                    out.push(Container {
                        value: c,
                        pointer: format!("{}/{field}/{i}", self.pointer),
                        name: c.get("name").and_then(Value::as_str).unwrap_or("?"),
                        init,
                    });
                }
            }
        }
        out
    }
}

/// The `argocd.argoproj.io/sync-wave` annotation of an object, parsed (missing = None,
/// unparsable = Some(Err)).
pub fn sync_wave(doc: &Document) -> Option<Result<i64, String>> {
    let raw = doc
        .value
        .pointer("/metadata/annotations/argocd.argoproj.io~1sync-wave")?;
    let text = match raw {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    };
    Some(text.parse::<i64>().map_err(|_| text))
}
