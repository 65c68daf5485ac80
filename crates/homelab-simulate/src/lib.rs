//! `homelab simulate`: a static rollout of a GitOps repository. From the repository's objects
//! (plain files and chart-rendered ones) and the nodes it describes, predict what ArgoCD and
//! Kubernetes will do, wave by wave, and name the first thing that stalls with its cause at
//! the line that causes it.
//!
//! Modelled: ArgoCD sync waves (an Application's objects in its wave, ordered by their own
//! waves and ArgoCD's kind order), namespaces and CRDs before what needs them, Pod Security
//! labels of namespaces, admission denials the caller found (the repository's own Kyverno
//! Enforce policies), scheduling (requests against allocatable capacity, taints and
//! tolerations, nodeSelector, required node affinity, DaemonSets on every matching node,
//! extended resources that exist only where a device plugin runs), PVCs whose
//! `WaitForFirstConsumer` class waits for a pod that never comes, SealedSecrets the
//! controller cannot unseal and the pods that cannot start without their Secret. What cannot
//! be known offline is listed as an assumption.

mod cluster;
mod engine;
mod flows;
mod output;
mod pod;
mod pss;
mod sealed;
mod selector;
mod snapshot;
mod webhook;

pub use cluster::{Node, Taint, NANO, NVIDIA_GPU};
pub use engine::{assign_applications, simulate};
pub use pod::{tolerates, PodNeeds};
pub use pss::violations as pod_security_violations;
pub use snapshot::snapshot;

use homelab_diagnostics::Location;
use homelab_k8s::merge_keys::merge_key;
use homelab_manifest::Document;

/// One object of the repository as the rollout sees it.
#[derive(Debug, Clone)]
pub struct Object<'a> {
    pub doc: &'a Document,
    /// The ArgoCD Application that syncs it (`None`: applied outside ArgoCD).
    pub application: Option<String>,
    /// Its file's path inside the repository (`apps/ollama/deployment.yaml`), for matching
    /// Applications' source paths.
    pub repo_path: Option<String>,
    /// Set for chart-rendered objects: where findings about them belong.
    pub origin: Option<Origin>,
    /// The kustomize patches merged into it, in the order they were applied.
    pub patches: Vec<Patch<'a>>,
}

/// A kustomize patch merged into an object: a finding on a field it sets belongs to it.
#[derive(Debug, Clone, Copy)]
pub struct Patch<'a> {
    pub doc: &'a Document,
    /// JSON 6902 operations (`[{op, path, value}]`); else a strategic-merge patch.
    pub operations: bool,
    /// Where an inline patch is written in its kustomization.
    pub inline_at: Option<&'a Location>,
}

impl Object<'_> {
    /// Where the field at `pointer` is written: in the last patch that sets it, else in the
    /// object's own file.
    pub fn location(&self, pointer: &str) -> Location {
        for patch in self.patches.iter().rev() {
            if let Some(at) = patch.sets(&self.doc.value, pointer) {
                return at;
            }
        }
        self.doc.location(pointer)
    }
}

/// Whether `patch` gives every key of `merged`, at every level of maps (values may differ:
/// later transformers, such as a name prefix, change them).
fn covers(patch: &serde_json::Value, merged: &serde_json::Value) -> bool {
    match (patch, merged) {
        (serde_json::Value::Object(p), serde_json::Value::Object(m)) => {
            p.len() >= m.len()
                && m.iter()
                    .all(|(k, mv)| p.get(k).is_some_and(|pv| covers(pv, mv)))
        }
        _ => true,
    }
}

impl Patch<'_> {
    /// Where this patch sets the field at `pointer` of the merged object `merged`, if it does.
    fn sets(&self, merged: &serde_json::Value, pointer: &str) -> Option<Location> {
        let at = |patch_pointer: &str| match self.inline_at {
            Some(at) => at.clone(),
            None => self.doc.location(patch_pointer),
        };
        if pointer.is_empty() {
            return None;
        }
        if self.operations {
            let ops = self.doc.value.as_array()?;
            for (i, op) in ops.iter().enumerate().rev() {
                let path = op.get("path").and_then(serde_json::Value::as_str)?;
                let rest = if pointer == path {
                    ""
                } else if let Some(rest) = pointer.strip_prefix(path).filter(|r| r.starts_with('/'))
                {
                    rest
                } else {
                    continue;
                };
                let inside = format!("/{i}/value{rest}");
                return Some(if self.doc.value.pointer(&inside).is_some() {
                    at(&inside)
                } else {
                    at(&format!("/{i}"))
                });
            }
            return None;
        }
        // Walk the pointer through the merged object and the patch together; the items of
        // a list that merges by key (`containers` by `name`, ...) are matched by that key,
        // others by position (the patch's list replaced the object's).
        let mut m = merged;
        let mut p = &self.doc.value;
        let mut patch_pointer = String::new();
        let mut field = String::new();
        for token in pointer.trim_start_matches('/').split('/') {
            let unescaped = token.replace("~1", "/").replace("~0", "~");
            match (m, p) {
                (serde_json::Value::Object(mm), serde_json::Value::Object(pm)) => {
                    m = mm.get(&unescaped)?;
                    p = pm.get(&unescaped)?;
                    patch_pointer.push('/');
                    patch_pointer.push_str(token);
                    field = unescaped;
                }
                (serde_json::Value::Array(ma), serde_json::Value::Array(pa)) => {
                    let i: usize = token.parse().ok()?;
                    let item = ma.get(i)?;
                    let keyed = merge_key(&field, [item]).and_then(|k| item.get(k).map(|v| (k, v)));
                    let j = match keyed {
                        Some((k, v)) => pa.iter().position(|x| x.get(k) == Some(v))?,
                        None if i < pa.len() => i,
                        None => return None,
                    };
                    m = item;
                    p = &pa[j];
                    patch_pointer.push_str(&format!("/{j}"));
                }
                _ => return None,
            }
        }
        // A map the patch only adds to is the object's; a value, a list or a map it gives
        // whole (every key the merged map has) is its own.
        covers(p, m).then(|| at(&patch_pointer))
    }
}

/// Where a chart-rendered object comes from.
#[derive(Debug, Clone)]
pub struct Origin {
    /// `longhorn 1.12.1, template longhorn/templates/daemonset-sa.yaml, rendered for
    /// Application longhorn`.
    pub description: String,
    /// The values line or Application that produced it.
    pub at: Location,
}

/// An admission webhook or policy that rejects an object (found by the caller).
#[derive(Debug, Clone)]
pub struct Denial {
    /// Index into [`Input::objects`].
    pub object: usize,
    pub reason: String,
}

/// Everything a simulation needs.
#[derive(Debug, Clone, Default)]
pub struct Input<'a> {
    pub objects: Vec<Object<'a>>,
    pub nodes: Vec<Node>,
    pub denials: Vec<Denial>,
    /// What the caller already knows it cannot see (charts not in the cache, ...).
    pub assumptions: Vec<String>,
    /// Some Helm sources were not rendered: what they would create is unknown, so a GPU
    /// node without a visible device plugin is assumed to get one from them.
    pub incomplete: bool,
    /// Applications (index into [`Input::objects`]) whose Helm source was not rendered, and
    /// why: what they create is unknown, and the snapshot says so.
    pub unrendered: Vec<(usize, String)>,
    /// Where the Argo CD configuration gives Applications a health check (argocd-cm
    /// `resource.customizations.health.argoproj.io_Application`, or the argo-cd chart's
    /// `configs.cm` that makes it). Without one, Argo CD (since 1.8) does not assess an
    /// Application's health: a parent Application does not wait for its children.
    pub application_health: Option<Location>,
}

/// The class of a stall (stable ids, used in JSON and tests).
pub mod class {
    pub const UNSCHEDULABLE: &str = "unschedulable";
    pub const DAEMONSET_NOWHERE: &str = "daemonset-nowhere";
    pub const OVERCOMMITTED: &str = "overcommitted";
    pub const NO_DEVICE_PLUGIN: &str = "no-device-plugin";
    pub const POD_SECURITY: &str = "pod-security";
    pub const ADMISSION: &str = "admission";
    pub const CRD_LATER: &str = "crd-later";
    pub const NAMESPACE_LATER: &str = "namespace-later";
    pub const PVC_NO_CONSUMER: &str = "pvc-no-consumer";
    pub const STORAGE_CLASS_MISSING: &str = "storage-class-missing";
    pub const UNSEALABLE: &str = "unsealable";
    pub const SECRET_UNAVAILABLE: &str = "secret-unavailable";
    pub const WEBHOOK_UNAVAILABLE: &str = "webhook-unavailable";
    pub const PREEMPTED: &str = "preempted";
    pub const NETWORK_POLICY: &str = "network-policy";
    pub const STORAGE_UNAVAILABLE: &str = "storage-unavailable";
    /// A child Application that never becomes Healthy, which its parent waits for.
    pub const APPLICATION_UNHEALTHY: &str = "application-unhealthy";
}

/// Something that never becomes Healthy, and why.
#[derive(Debug, Clone)]
pub struct Stall {
    pub wave: i64,
    /// `apps/v1/Deployment ai/ollama`.
    pub object: String,
    pub class: &'static str,
    pub cause: String,
    pub at: Location,
}

/// One sync wave of the rollout.
#[derive(Debug, Clone, Default)]
pub struct Wave {
    pub wave: i64,
    /// Objects that become Healthy, in apply order.
    pub healthy: Vec<String>,
    pub stalls: Vec<Stall>,
}

/// An Application as Argo CD reports it once the rollout settles (`status.sync.status`,
/// `status.health.status`).
#[derive(Debug, Clone)]
pub struct ApplicationState {
    /// Index into [`Input::objects`].
    pub index: usize,
    pub name: String,
    /// The Application that syncs it (`None`: applied by hand).
    pub parent: Option<String>,
    /// Its sync wave in its parent.
    pub wave: i64,
    /// `Synced`, or `OutOfSync` when some of its objects are never applied.
    pub sync: &'static str,
    /// `Healthy`, `Progressing`, `Missing` or `Degraded` (the worst of its objects').
    pub health: &'static str,
    /// `false` when its parent's sync never reaches its wave (it does not exist).
    pub created: bool,
    /// Why it is not Healthy: its first object that is not, and that object's cause.
    pub cause: Option<String>,
}

/// The predicted rollout.
#[derive(Debug, Clone, Default)]
pub struct Simulation {
    pub waves: Vec<Wave>,
    /// What was taken on trust, once each, sorted.
    pub assumptions: Vec<String>,
    /// What does not stop the rollout but leaves it worse than asked (file:line first).
    pub warnings: Vec<String>,
    /// Where each workload's pods were placed (`Deployment ai/ollama` -> nodes).
    pub placements: Vec<(String, Vec<String>)>,
    /// The nodes of each workload's running pods, by index into [`Input::objects`].
    pub pods: std::collections::BTreeMap<usize, Vec<String>>,
    /// Objects that never become Healthy (stalled, or ignored by ArgoCD's health), by index.
    pub unhealthy: std::collections::BTreeSet<usize>,
    /// ArgoCD and Helm hooks (not resources of their Application), by index.
    pub hooks: std::collections::BTreeSet<usize>,
    /// Objects not in the converged cluster: hooks that never run in a sync that succeeds,
    /// hooks deleted once they succeed, objects a stopped sync never applies.
    pub absent: std::collections::BTreeSet<usize>,
    /// Every Application, in the order of the input.
    pub applications: Vec<ApplicationState>,
    /// Whether Argo CD assesses Applications' health (see [`Input::application_health`]):
    /// a parent waits for each wave of child Applications to be Healthy.
    pub assesses_applications: bool,
}

impl Simulation {
    /// True when every wave becomes Healthy.
    pub fn converges(&self) -> bool {
        self.waves.iter().all(|w| w.stalls.is_empty())
    }

    /// The first stall in rollout order: ArgoCD stops there.
    pub fn first_stall(&self) -> Option<&Stall> {
        self.waves.iter().flat_map(|w| &w.stalls).next()
    }

    pub fn stalls(&self) -> impl Iterator<Item = &Stall> {
        self.waves.iter().flat_map(|w| &w.stalls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_patched_list_item_is_found_by_its_lists_merge_key() {
        let (objects, _) = homelab_manifest::parse_str(
            "deployment.yaml",
            "spec:\n  containers:\n    - name: app\n      ports:\n        - {name: http, containerPort: 80}\n        - {name: metrics, containerPort: 9090}\n",
        );
        let (patches, _) = homelab_manifest::parse_str(
            "patch.yaml",
            "spec:\n  containers:\n    - name: app\n      ports:\n        - containerPort: 9090\n          hostPort: 9090\n",
        );
        // What the strategic merge made: the container port named by `containerPort`.
        let mut merged = objects[0].value.clone();
        merged["spec"]["containers"][0]["ports"][1]["hostPort"] = json!(9090);
        let patch = Patch {
            doc: &patches[0],
            operations: false,
            inline_at: None,
        };
        let at = patch
            .sets(&merged, "/spec/containers/0/ports/1/hostPort")
            .expect("the patch sets the host port");
        assert_eq!((at.file.as_str(), at.line), ("patch.yaml", 6));
        // The port it leaves alone is not its.
        assert!(patch
            .sets(&merged, "/spec/containers/0/ports/0/containerPort")
            .is_none());
    }
}
