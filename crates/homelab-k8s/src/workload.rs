//! Pods and the controllers that make them: which kinds carry a pod template, where it is,
//! and the containers inside.

use serde_json::Value;

/// The capabilities Pod Security's `baseline` level lets a container add
/// (`securityContext.capabilities.add`); anything else needs `privileged`.
pub const BASELINE_CAPABILITIES: &[&str] = &[
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// The kinds that create Pods from a template (what Kyverno's autogen extends Pod rules to).
pub const POD_CONTROLLERS: [&str; 7] = [
    "DaemonSet",
    "Deployment",
    "Job",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
    "CronJob",
];

/// Where the pod spec of a Pod or pod controller kind is (JSON pointer).
pub fn pod_spec_pointer(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some("/spec"),
        "CronJob" => Some("/spec/jobTemplate/spec/template/spec"),
        k if POD_CONTROLLERS.contains(&k) => Some("/spec/template/spec"),
        _ => None,
    }
}

/// Whether `kind` is a pod controller (not a Pod itself).
pub fn is_pod_controller(kind: &str) -> bool {
    POD_CONTROLLERS.contains(&kind)
}

/// A pod spec inside an object, with the pointer that reaches it.
#[derive(Debug, Clone, Copy)]
pub struct PodSpec<'a> {
    pub spec: &'a Value,
    pub pointer: &'static str,
}

/// Which list of the pod spec a container is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    Regular,
    Init,
    Ephemeral,
}

/// A container of a pod spec.
#[derive(Debug, Clone)]
pub struct Container<'a> {
    pub value: &'a Value,
    /// From the object's root (`/spec/template/spec/containers/0`).
    pub pointer: String,
    pub name: &'a str,
    pub kind: ContainerKind,
}

impl Container<'_> {
    pub fn is_init(&self) -> bool {
        self.kind == ContainerKind::Init
    }

    /// `image`, when it is a string.
    pub fn image(&self) -> Option<&str> {
        self.value.get("image").and_then(Value::as_str)
    }
}

impl<'a> PodSpec<'a> {
    /// Regular and init containers (ephemeral containers are debugging aids, not workload).
    pub fn containers(&self) -> Vec<Container<'a>> {
        self.containers_of(&[ContainerKind::Regular, ContainerKind::Init])
    }

    /// Regular, init and ephemeral containers.
    pub fn all_containers(&self) -> Vec<Container<'a>> {
        self.containers_of(&[
            ContainerKind::Regular,
            ContainerKind::Init,
            ContainerKind::Ephemeral,
        ])
    }

    fn containers_of(&self, kinds: &[ContainerKind]) -> Vec<Container<'a>> {
        let mut out = Vec::new();
        for kind in kinds {
            let field = match kind {
                ContainerKind::Regular => "containers",
                ContainerKind::Init => "initContainers",
                ContainerKind::Ephemeral => "ephemeralContainers",
            };
            let Some(list) = self.spec.get(field).and_then(Value::as_array) else {
                continue;
            };
            for (i, c) in list.iter().enumerate() {
                out.push(Container {
                    value: c,
                    pointer: format!("{}/{field}/{i}", self.pointer),
                    name: c.get("name").and_then(Value::as_str).unwrap_or("?"),
                    kind: *kind,
                });
            }
        }
        out
    }

    /// A field of the pod spec.
    pub fn get(&self, field: &str) -> Option<&'a Value> {
        self.spec.get(field)
    }
}
