//! The rollout itself: objects ordered as ArgoCD applies them, each checked against what
//! exists by then and scheduled on the nodes.

use crate::cluster::{Node, NVIDIA_GPU};
use crate::flows::{self, Flow, Network, Target};
use crate::pod::PodNeeds;
use crate::selector::{self, Labels};
use crate::webhook::{self, Webhook};
use crate::{class, pss, sealed, ApplicationState, Input, Object, Simulation, Stall, Wave};
use homelab_k8s::ResourceExt;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// API groups every cluster serves, plus those the platform's cluster has before any sync:
/// k3s's own (`helm.cattle.io`, `k3s.cattle.io`) and ArgoCD's (`argoproj.io`: ArgoCD runs
/// the sync, so its CRDs are installed).
const BUILT_IN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "scheduling.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "node.k8s.io",
    "certificates.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "resource.k8s.io",
    "helm.cattle.io",
    "k3s.cattle.io",
    "argoproj.io",
];

/// The label the API server sets on every namespace: its name.
const NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The annotation that makes ArgoCD leave an object out of its health assessment.
const IGNORE_HEALTH: &str = "argocd.argoproj.io/ignore-healthcheck";

/// Kinds without a namespace (a namespace set on them is ignored by the API server).
pub(crate) const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "StorageClass",
    "CSIDriver",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "PriorityClass",
    "RuntimeClass",
    "IngressClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "APIService",
    "ClusterPolicy",
    "ClusterIssuer",
    "ClusterComplianceReport",
];

/// ArgoCD's apply order of kinds inside one wave (others after these, by name).
const KIND_ORDER: &[&str] = &[
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

/// Gives each object without an Application the one whose source `path` holds its file
/// (the longest such path).
pub fn assign_applications(objects: &mut [Object<'_>]) {
    let mut paths: Vec<(String, String)> = Vec::new();
    for o in objects.iter() {
        if !is_application(o) {
            continue;
        }
        let name = o.doc.name().unwrap_or_default().to_string();
        let spec = &o.doc.value["spec"];
        let sources = spec
            .get("sources")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_else(|| spec.get("source").cloned().into_iter().collect());
        for s in sources {
            if let Some(p) = s.get("path").and_then(Value::as_str) {
                let p = p.trim_start_matches("./").trim_end_matches('/');
                paths.push((p.to_string(), name.clone()));
            }
        }
    }
    for o in objects.iter_mut() {
        if o.application.is_some() || o.origin.is_some() {
            continue;
        }
        let Some(file) = &o.repo_path else { continue };
        o.application = paths
            .iter()
            .filter(|(p, _)| p.is_empty() || p == "." || file.starts_with(&format!("{p}/")))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, name)| name.clone());
    }
}

fn is_application(o: &Object<'_>) -> bool {
    o.doc.group() == "argoproj.io" && o.doc.kind() == Some("Application")
}

/// An object's sync wave: ArgoCD's annotation, else Helm's hook weight (ArgoCD reads it as
/// the wave), else 0. Bounded so that hook phases stay apart (see [`PHASE_SPAN`]).
fn wave_of(doc: &homelab_manifest::Document) -> i64 {
    let number = |key: &str| {
        doc.annotation(key)
            .and_then(|w| w.trim().parse().ok())
            .or_else(|| doc.annotations()?.get(key)?.as_i64())
    };
    number("argocd.argoproj.io/sync-wave")
        .or_else(|| number("helm.sh/hook-weight"))
        .unwrap_or(0)
        .clamp(-PHASE_SPAN / 4, PHASE_SPAN / 4)
}

/// The distance between sync phases in a key's own-wave part: PreSync hooks come before
/// every wave of the sync, PostSync hooks after.
const PHASE_SPAN: i64 = 1 << 40;

/// The own-wave part of a child Application's key: before the PreSync hooks of what it syncs.
const CHILD_APPLICATION: i64 = -2 * PHASE_SPAN;

/// The parent of an Application synced by another Application.
fn child_of<'m>(o: &Object<'_>, applications: &'m HashMap<String, Application>) -> Option<&'m str> {
    if !is_application(o) {
        return None;
    }
    applications.get(o.doc.name()?)?.parent.as_deref()
}

/// Argo CD's health statuses, from best to worst (an Application takes its worst object's).
const HEALTH_ORDER: &[&str] = &["Healthy", "Progressing", "Missing", "Degraded"];

fn worse(a: &'static str, b: &'static str) -> &'static str {
    let rank = |h: &str| HEALTH_ORDER.iter().position(|x| *x == h).unwrap_or(0);
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// The phases of a sync, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    PreSync,
    Sync,
    PostSync,
}

/// What ArgoCD does with an object: apply it with the sync, or run it as a hook.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Hook {
    /// Part of the sync and of the steady state.
    Resource,
    /// A hook run in `phase` of every sync; `deleted` once it succeeds (HookSucceeded).
    Runs { phase: Phase, deleted: bool },
    /// Never applied by a sync that succeeds: why.
    Never(String),
}

impl Hook {
    fn phase(&self) -> Phase {
        match self {
            Hook::Runs { phase, .. } => *phase,
            _ => Phase::Sync,
        }
    }

    fn is_hook(&self) -> bool {
        !matches!(self, Hook::Resource)
    }
}

/// ArgoCD's reading of the hook annotations: its own (`argocd.argoproj.io/hook`, phases
/// comma-separated), else Helm's (`helm.sh/hook`: install and upgrade hooks map to PreSync
/// and PostSync, other Helm hooks never run in a sync, `crd-install` is no hook). Helm's
/// delete policies map to ArgoCD's; without any, ArgoCD deletes a hook only before creating
/// it again (BeforeHookCreation), so a completed hook stays. Objects applied outside ArgoCD
/// and Helm are plain objects whatever their annotations say.
fn hook_of(o: &Object<'_>) -> Hook {
    let doc = o.doc;
    let list = |key: &str| -> Option<Vec<String>> {
        doc.annotation(key).map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect()
        })
    };
    let argocd = if o.application.is_some() {
        list("argocd.argoproj.io/hook")
    } else {
        None
    };
    let phases: Vec<Phase> = match (&argocd, list("helm.sh/hook")) {
        (None, None) => return Hook::Resource,
        (Some(types), _) => {
            if types.iter().all(|t| t == "Skip") && !types.is_empty() {
                return Hook::Never("ArgoCD skips it (hook Skip)".into());
            }
            let phases: Vec<Phase> = types
                .iter()
                .filter_map(|t| match t.as_str() {
                    "PreSync" => Some(Phase::PreSync),
                    "Sync" => Some(Phase::Sync),
                    "PostSync" => Some(Phase::PostSync),
                    _ => None,
                })
                .collect();
            if phases.is_empty() {
                return Hook::Never(format!(
                    "a {} hook: it runs only when a sync fails or the Application is deleted",
                    types.join(",")
                ));
            }
            phases
        }
        (None, Some(types)) => {
            if types.len() == 1 && types[0] == "crd-install" {
                return Hook::Resource;
            }
            let phases: Vec<Phase> = types
                .iter()
                .filter_map(|t| match t.as_str() {
                    "pre-install" | "pre-upgrade" => Some(Phase::PreSync),
                    "post-install" | "post-upgrade" => Some(Phase::PostSync),
                    _ => None,
                })
                .collect();
            if phases.is_empty() {
                return Hook::Never(format!(
                    "a Helm `{}` hook: only install and upgrade hooks run in a sync",
                    types.join(",")
                ));
            }
            phases
        }
    };
    let mut policies = list("argocd.argoproj.io/hook-delete-policy").unwrap_or_default();
    policies.extend(list("helm.sh/hook-delete-policy").unwrap_or_default());
    Hook::Runs {
        phase: phases.into_iter().min().unwrap_or(Phase::Sync),
        deleted: policies
            .iter()
            .any(|p| p == "HookSucceeded" || p == "hook-succeeded"),
    }
}

/// The wave inside a sync that a key's own part stands for (without its phase).
fn own_wave(own: i64) -> i64 {
    let phase = (own + PHASE_SPAN / 2).div_euclid(PHASE_SPAN);
    own - phase * PHASE_SPAN
}

fn kind_rank(kind: &str) -> usize {
    KIND_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(KIND_ORDER.len())
}

/// Where an object is created: its wave, its own wave inside it, and its rank in the apply
/// order (what applies at a smaller key exists when a larger key is applied).
type Key = (i64, i64, usize);

struct Application {
    /// Index of the Application object.
    index: usize,
    /// The Application that syncs this one (`None`: applied by hand).
    parent: Option<String>,
    wave: i64,
    namespace: Option<String>,
    creates_namespace: bool,
    namespace_labels: BTreeMap<String, String>,
}

struct State<'i, 'a> {
    input: &'i Input<'a>,
    nodes: Vec<NodeState>,
    namespaces: HashMap<String, Key>,
    crds: HashMap<(String, String), Key>,
    pod_security: HashMap<String, String>,
    claims_used: HashSet<(String, String)>,
    storage_classes: HashMap<String, (String, String)>,
    default_class: Option<String>,
    sealed_secrets_controller: bool,
    /// Why each node has no device plugin (set once a device plugin DaemonSet skipped it).
    device_plugin_skipped: BTreeMap<String, String>,
    assumptions: BTreeSet<String>,
    placements: Vec<(String, Vec<String>)>,
    /// The nodes each workload's pods run on, by object index.
    pods: BTreeMap<usize, Vec<String>>,
    /// Where each Secret (namespace, name) comes from.
    secrets: HashMap<(String, String), SecretSource>,
    /// The Application that creates each Secret.
    secret_apps: HashMap<(String, String), Option<String>>,
    /// Where each object is created, by index.
    keys: Vec<Key>,
    /// What became of each object processed so far: `None` Healthy, `Some(cause)` stalled.
    status: HashMap<usize, Option<String>>,
    /// The labels of each namespace (with `kubernetes.io/metadata.name`).
    namespace_labels: HashMap<String, Labels>,
    /// Services by (namespace, name): their index and selector.
    services: HashMap<(String, String), (usize, Option<Value>)>,
    /// StorageClass objects by name.
    class_objects: HashMap<String, usize>,
    /// PersistentVolumeClaims by (namespace, name).
    claim_objects: HashMap<(String, String), usize>,
    /// The node a claim of a local StorageClass lives on, once a pod used it.
    claim_node: HashMap<(String, String), String>,
    /// The node plugin DaemonSets of each provisioner (empty: none is visible).
    node_plugins: HashMap<String, Vec<usize>>,
    /// Findings that do not stop the rollout, with where they are.
    warnings: BTreeSet<String>,
    /// ConfigMaps by (namespace, name).
    config_maps: HashMap<(String, String), usize>,
    /// Objects with a pod template: (index, namespace, pod labels).
    workloads: Vec<(usize, String, Labels)>,
    /// Plural resource names of custom kinds, by (group, kind).
    plurals: HashMap<(String, String), String>,
    /// Webhooks registered so far, with where their configuration was applied.
    webhooks: Vec<(Key, Webhook)>,
    /// PriorityClasses by name: value, and the wave they are created in.
    priority_classes: HashMap<String, (i64, Key)>,
    /// The value of the `globalDefault` PriorityClass (0 without one).
    default_priority: i64,
    /// The pods running on each node (by node index): workload index, priority, needs.
    running: Vec<Vec<Running>>,
    /// Workloads whose pods were preempted and found no other node, with the stall.
    evicted: Vec<(usize, Stall)>,
}

/// One pod running on a node.
#[derive(Clone)]
struct Running {
    object: usize,
    priority: i64,
    needs: PodNeeds,
}

struct NodeState {
    node: Node,
    cpu_used: i128,
    memory_used: i128,
    extended_used: BTreeMap<String, i128>,
    gpu_advertised: bool,
    /// No device plugin is visible, but an unrendered Helm source may bring one.
    gpu_assumed: bool,
}

impl NodeState {
    fn extended_capacity(&self, resource: &str) -> i128 {
        if resource == NVIDIA_GPU && (self.gpu_advertised || self.gpu_assumed) {
            i128::from(self.node.gpus)
        } else {
            0
        }
    }

    /// Why `needs` does not fit in what is left, or `None`.
    fn lacks(&self, needs: &PodNeeds) -> Option<String> {
        let free_cpu = self.node.cpu - self.cpu_used;
        if needs.cpu > free_cpu {
            return Some(format!(
                "insufficient cpu (needs {}m, {}m free of {}m)",
                needs.cpu / 1_000_000,
                free_cpu.max(0) / 1_000_000,
                self.node.cpu / 1_000_000
            ));
        }
        let free_memory = self.node.memory - self.memory_used;
        if needs.memory > free_memory {
            return Some(format!(
                "insufficient memory (needs {}Mi, {}Mi free of {}Mi)",
                needs.memory / crate::NANO / (1 << 20),
                free_memory.max(0) / crate::NANO / (1 << 20),
                self.node.memory / crate::NANO / (1 << 20)
            ));
        }
        for (resource, amount) in &needs.extended {
            let capacity = self.extended_capacity(resource);
            let used = self.extended_used.get(resource).copied().unwrap_or(0);
            if *amount > capacity - used {
                if capacity == 0 {
                    return Some(format!("no {resource} on this node"));
                }
                return Some(format!(
                    "insufficient {resource} (needs {amount}, {} free)",
                    capacity - used
                ));
            }
        }
        None
    }

    fn take(&mut self, needs: &PodNeeds) {
        self.cpu_used += needs.cpu;
        self.memory_used += needs.memory;
        for (r, a) in &needs.extended {
            *self.extended_used.entry(r.clone()).or_default() += a;
        }
    }

    fn give_back(&mut self, needs: &PodNeeds) {
        self.cpu_used -= needs.cpu;
        self.memory_used -= needs.memory;
        for (r, a) in &needs.extended {
            *self.extended_used.entry(r.clone()).or_default() -= a;
        }
    }
}

/// Runs the rollout.
pub fn simulate(input: &Input<'_>) -> Simulation {
    let mut applications: HashMap<String, Application> = HashMap::new();
    for (index, o) in input.objects.iter().enumerate() {
        if !is_application(o) {
            continue;
        }
        let spec = &o.doc.value["spec"];
        let creates_namespace = spec
            .pointer("/syncPolicy/syncOptions")
            .and_then(Value::as_array)
            .is_some_and(|opts| {
                opts.iter()
                    .any(|x| x.as_str().map(str::trim) == Some("CreateNamespace=true"))
            });
        let namespace_labels = spec
            .pointer("/syncPolicy/managedNamespaceMetadata/labels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        applications.insert(
            o.doc.name().unwrap_or_default().to_string(),
            Application {
                index,
                parent: o
                    .application
                    .clone()
                    .filter(|p| Some(p.as_str()) != o.doc.name()),
                wave: wave_of(o.doc),
                namespace: spec
                    .pointer("/destination/namespace")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                creates_namespace,
                namespace_labels,
            },
        );
    }

    let hooks: Vec<Hook> = input.objects.iter().map(hook_of).collect();
    let phase_offset = |phase: Phase| match phase {
        Phase::PreSync => -PHASE_SPAN,
        Phase::Sync => 0,
        Phase::PostSync => PHASE_SPAN,
    };
    let key_of = |o: &Object<'_>| -> Key {
        let own = wave_of(o.doc) + phase_offset(hook_of(o).phase());
        if child_of(o, &applications).is_some() {
            // Created in its wave of its parent's sync, before everything it syncs.
            return (
                wave_of(o.doc),
                CHILD_APPLICATION,
                kind_rank(o.doc.kind().unwrap_or_default()),
            );
        }
        let stage = o
            .application
            .as_ref()
            .and_then(|a| applications.get(a))
            .map_or(own, |a| a.wave);
        (stage, own, kind_rank(o.doc.kind().unwrap_or_default()))
    };
    // Hooks that never run in a sync that succeeds are not part of the rollout.
    let mut order: Vec<usize> = (0..input.objects.len())
        .filter(|&i| !matches!(hooks[i], Hook::Never(_)))
        .collect();
    order.sort_by_key(|&i| {
        let o = &input.objects[i];
        (key_of(o), o.doc.kind().unwrap_or_default().to_string())
    });

    let mut state = State {
        input,
        nodes: input
            .nodes
            .iter()
            .map(|n| NodeState {
                node: n.clone(),
                cpu_used: 0,
                memory_used: 0,
                extended_used: BTreeMap::new(),
                gpu_advertised: false,
                gpu_assumed: false,
            })
            .collect(),
        namespaces: HashMap::new(),
        crds: HashMap::new(),
        pod_security: HashMap::new(),
        claims_used: HashSet::new(),
        storage_classes: HashMap::new(),
        default_class: None,
        sealed_secrets_controller: false,
        device_plugin_skipped: BTreeMap::new(),
        assumptions: input.assumptions.iter().cloned().collect(),
        placements: Vec::new(),
        pods: BTreeMap::new(),
        secrets: HashMap::new(),
        secret_apps: HashMap::new(),
        keys: input.objects.iter().map(key_of).collect(),
        status: HashMap::new(),
        namespace_labels: HashMap::new(),
        services: HashMap::new(),
        config_maps: HashMap::new(),
        class_objects: HashMap::new(),
        claim_objects: HashMap::new(),
        claim_node: HashMap::new(),
        node_plugins: HashMap::new(),
        warnings: BTreeSet::new(),
        workloads: Vec::new(),
        plurals: HashMap::new(),
        webhooks: Vec::new(),
        priority_classes: HashMap::new(),
        default_priority: 0,
        running: vec![Vec::new(); input.nodes.len()],
        evicted: Vec::new(),
    };
    if input.nodes.is_empty() {
        state
            .assumptions
            .insert("no nodes are known: scheduling is not simulated".to_string());
    }
    if input.incomplete {
        let visible_plugin = input.objects.iter().any(|o| {
            o.doc.kind() == Some("DaemonSet")
                && o.doc.pod_spec().is_some_and(|s| is_device_plugin(&s))
        });
        for n in state
            .nodes
            .iter_mut()
            .filter(|n| n.node.gpus > 0 && !visible_plugin)
        {
            n.gpu_assumed = true;
            state.assumptions.insert(format!(
                "{NVIDIA_GPU} is advertised on {} by a device plugin from a Helm source that was not rendered",
                n.node.name
            ));
        }
    }
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        state
            .namespaces
            .insert(ns.to_string(), (i64::MIN, i64::MIN, 0));
        state.namespace_labels.insert(
            ns.to_string(),
            Labels::from([(NAME_LABEL.to_string(), ns.to_string())]),
        );
    }
    // Facts that do not depend on order: which claims pods mount, which classes exist,
    // which namespaces get which Pod Security level, whether a SealedSecrets controller runs.
    for (i, o) in input.objects.iter().enumerate() {
        if matches!(hooks[i], Hook::Never(_)) {
            continue;
        }
        let doc = o.doc;
        let kind = doc.kind().unwrap_or_default();
        match (doc.group(), kind) {
            ("", "Service") => {
                let ns = namespace_of(o, &applications).unwrap_or_else(|| "default".into());
                let name = doc.name().unwrap_or_default().to_string();
                let sel = doc.value.pointer("/spec/selector").cloned();
                state.services.entry((ns, name)).or_insert((i, sel));
            }
            ("storage.k8s.io", "StorageClass") => {
                let name = doc.name().unwrap_or_default().to_string();
                state.class_objects.entry(name).or_insert(i);
            }
            ("", "PersistentVolumeClaim") => {
                let ns = namespace_of(o, &applications).unwrap_or_else(|| "default".into());
                let name = doc.name().unwrap_or_default().to_string();
                state.claim_objects.entry((ns, name)).or_insert(i);
            }
            ("", "ConfigMap") => {
                let ns = namespace_of(o, &applications).unwrap_or_else(|| "default".into());
                let name = doc.name().unwrap_or_default().to_string();
                state.config_maps.entry((ns, name)).or_insert(i);
            }
            ("", "Namespace") => {
                let name = doc.name().unwrap_or_default().to_string();
                let mut labels = selector::labels_at(doc.value.pointer("/metadata/labels"));
                labels.insert(NAME_LABEL.to_string(), name.clone());
                state.namespace_labels.entry(name).or_insert(labels);
            }
            ("scheduling.k8s.io", "PriorityClass") => {
                let value = doc.value.get("value").and_then(Value::as_i64).unwrap_or(0);
                if doc.value.get("globalDefault").and_then(Value::as_bool) == Some(true) {
                    state.default_priority = value;
                }
                state.priority_classes.insert(
                    doc.name().unwrap_or_default().to_string(),
                    (value, state.keys[i]),
                );
            }
            ("apiextensions.k8s.io", "CustomResourceDefinition") => {
                let v = &doc.value;
                if let (Some(g), Some(k), Some(p)) = (
                    v.pointer("/spec/group").and_then(Value::as_str),
                    v.pointer("/spec/names/kind").and_then(Value::as_str),
                    v.pointer("/spec/names/plural").and_then(Value::as_str),
                ) {
                    state
                        .plurals
                        .insert((g.to_string(), k.to_string()), p.to_string());
                }
            }
            _ => {}
        }
        if let Some(spec) = doc.pod_spec() {
            let ns = namespace_of(o, &applications);
            if kind != "CronJob" {
                state.workloads.push((
                    i,
                    ns.clone().unwrap_or_else(|| "default".into()),
                    pod_labels(doc, &spec),
                ));
            }
            for v in spec
                .get("volumes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(claim) = v
                    .pointer("/persistentVolumeClaim/claimName")
                    .and_then(Value::as_str)
                {
                    state
                        .claims_used
                        .insert((ns.clone().unwrap_or_default(), claim.to_string()));
                }
            }
            if kind == "Deployment"
                && spec.containers().iter().any(|c| {
                    c.image()
                        .is_some_and(|i| i.contains("sealed-secrets-controller"))
                })
            {
                state.sealed_secrets_controller = true;
            }
        }
        if kind == "StorageClass" && doc.group() == "storage.k8s.io" {
            let name = doc.name().unwrap_or_default().to_string();
            let mode = doc.value["volumeBindingMode"]
                .as_str()
                .unwrap_or("Immediate")
                .to_string();
            let provisioner = doc.value["provisioner"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if doc.annotation("storageclass.kubernetes.io/is-default-class") == Some("true") {
                state.default_class = Some(name.clone());
            }
            state.storage_classes.insert(name, (mode, provisioner));
        }
        if kind == "Namespace" && doc.group().is_empty() {
            if let Some(level) = doc.label("pod-security.kubernetes.io/enforce") {
                state.pod_security.insert(
                    doc.name().unwrap_or_default().to_string(),
                    level.to_string(),
                );
            }
        }
    }
    for app in applications.values() {
        if let (Some(ns), true) = (&app.namespace, app.creates_namespace) {
            let labels = state.namespace_labels.entry(ns.clone()).or_default();
            labels.insert(NAME_LABEL.to_string(), ns.clone());
            for (k, v) in &app.namespace_labels {
                labels.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        if let (Some(ns), Some(level)) = (
            &app.namespace,
            app.namespace_labels
                .get("pod-security.kubernetes.io/enforce"),
        ) {
            if app.creates_namespace {
                state
                    .pod_security
                    .entry(ns.clone())
                    .or_insert_with(|| level.clone());
            }
        }
    }
    // Namespaces, CRDs and Secrets: where each is created.
    for &i in &order {
        let o = &input.objects[i];
        let key = key_of(o);
        let ns = namespace_of(o, &applications).unwrap_or_else(|| "default".to_string());
        match (o.doc.group(), o.doc.kind().unwrap_or_default()) {
            ("", "Secret") => {
                let name = o.doc.name().unwrap_or_default().to_string();
                state
                    .secret_apps
                    .entry((ns.clone(), name.clone()))
                    .or_insert_with(|| o.application.clone());
                state
                    .secrets
                    .entry((ns, name))
                    .or_insert(SecretSource::Plain(key));
            }
            ("bitnami.com", "SealedSecret") => {
                let name = o
                    .doc
                    .value
                    .pointer("/spec/template/metadata/name")
                    .and_then(Value::as_str)
                    .or(o.doc.name())
                    .unwrap_or_default()
                    .to_string();
                let broken = unsealable(o.doc).map(|(_, why)| why);
                state
                    .secret_apps
                    .entry((ns.clone(), name.clone()))
                    .or_insert_with(|| o.application.clone());
                state
                    .secrets
                    .entry((ns, name))
                    .or_insert(SecretSource::Sealed(o.doc.id(), key, broken));
            }
            ("", "Namespace") => {
                let name = o.doc.name().unwrap_or_default().to_string();
                state.namespaces.entry(name).or_insert(key);
            }
            ("apiextensions.k8s.io", "CustomResourceDefinition") => {
                let group = o.doc.value.pointer("/spec/group").and_then(Value::as_str);
                let kind = o
                    .doc
                    .value
                    .pointer("/spec/names/kind")
                    .and_then(Value::as_str);
                if let (Some(g), Some(k)) = (group, kind) {
                    state
                        .crds
                        .entry((g.to_string(), k.to_string()))
                        .or_insert(key);
                }
            }
            _ => {}
        }
        if let Some(app) = o.application.as_ref().and_then(|a| applications.get(a)) {
            if let (true, Some(ns)) = (app.creates_namespace, &app.namespace) {
                // Created by ArgoCD before the Application's first object.
                let at = (key.0, i64::MIN, 0);
                let e = state.namespaces.entry(ns.clone()).or_insert(at);
                if at < *e {
                    *e = at;
                }
            }
        }
    }

    // Inside a wave the scheduler places pending pods by priority (what must fit first);
    // DaemonSet pods go to their nodes before, as the device plugins they often are must
    // run before the pods that need what they advertise.
    let mut run_order = order.clone();
    run_order.sort_by_cached_key(|&i| {
        let o = &input.objects[i];
        let k = state.keys[i];
        let kind = o.doc.kind().unwrap_or_default();
        let (phase, priority) = match o.doc.pod_spec() {
            Some(_) if kind == "CronJob" => (0, 0),
            Some(_) if kind == "DaemonSet" => (1, 0),
            Some(spec) => (2, -state.priority_of(&spec)),
            None => (0, 0),
        };
        (k.0, k.1, phase, priority, k.2, kind.to_string())
    });
    let mut waves: BTreeMap<i64, Wave> = BTreeMap::new();
    let mut unhealthy = BTreeSet::new();
    let mut absent: BTreeSet<usize> = (0..input.objects.len())
        .filter(|&i| matches!(hooks[i], Hook::Never(_)))
        .collect();
    // Applications whose sync stopped: at a PreSync hook that never completes (the rest
    // of the sync is never applied), or anywhere (its PostSync hooks never run).
    let mut stopped_at_pre_sync: HashMap<String, String> = HashMap::new();
    let mut sync_failed: HashSet<String> = HashSet::new();
    // ArgoCD waits for each sync wave of an Application to be Healthy before the next: the
    // wave each sync waits at, and for what.
    let mut waits: HashMap<String, (i64, String)> = HashMap::new();
    // Child Applications their parent never creates, and why.
    let mut never_created: HashMap<String, String> = HashMap::new();
    let mut settled = Settled::default();
    // What each Application syncs (its resources, hooks aside), by index.
    let mut members: HashMap<&str, Vec<usize>> = HashMap::new();
    for (j, o) in input.objects.iter().enumerate() {
        if let Some(app) = o.application.as_deref() {
            let itself = is_application(o) && o.doc.name() == Some(app);
            if !hooks[j].is_hook() && !itself {
                members.entry(app).or_default().push(j);
            }
        }
    }
    let view = |unhealthy: &BTreeSet<usize>, absent: &BTreeSet<usize>| AppView {
        input,
        members: &members,
        applications: &applications,
        unhealthy: unhealthy.clone(),
        absent: absent.clone(),
        assessed: input.application_health.is_some(),
    };
    let mut stage = None;
    for &i in &run_order {
        let o = &input.objects[i];
        let key = key_of(o);
        if stage.is_some_and(|s| s < key.0) {
            // The waves before this one are settled: their child Applications are Healthy
            // or not, and a parent that assesses them waits.
            settle(
                key.0,
                &view(&unhealthy, &absent),
                &mut settled,
                &mut SettleOut {
                    waves: &mut waves,
                    unhealthy: &mut unhealthy,
                    state: &mut state,
                    waits: &mut waits,
                    sync_failed: &mut sync_failed,
                },
            );
        }
        stage = Some(key.0);
        let wave = waves.entry(key.0).or_insert_with(|| Wave {
            wave: key.0,
            ..Wave::default()
        });
        let hook = &hooks[i];
        if let Some(app) = &o.application {
            let waiting = waits
                .get(app)
                .filter(|(at, _)| hook.phase() == Phase::Sync && wave_of(o.doc) > *at);
            let not_applied = if let Some(why) = never_created.get(app) {
                Some(format!("Application {app} is never created: {why}"))
            } else if let Some((at, what)) = waiting {
                Some(format!(
                    "the sync of Application {app} waits at sync wave {at} for {what} to become Healthy"
                ))
            } else {
                let stops = match hook.phase() {
                    Phase::PreSync => false,
                    Phase::Sync => stopped_at_pre_sync.contains_key(app),
                    Phase::PostSync => sync_failed.contains(app),
                };
                stops.then(|| format!("the sync of Application {app} stops before"))
            };
            if let Some(why) = not_applied {
                // ArgoCD never gets there: the object is never created.
                if is_application(o) {
                    never_created.insert(o.doc.name().unwrap_or_default().to_string(), why.clone());
                }
                unhealthy.insert(i);
                absent.insert(i);
                state
                    .status
                    .insert(i, Some(format!("never applied: {why}")));
                continue;
            }
        }
        let mut stalls = Vec::new();
        state.apply(i, o, key, &applications, &mut stalls);
        if !stalls.is_empty() {
            unhealthy.insert(i);
            if let Some(app) = &o.application {
                sync_failed.insert(app.clone());
                if hook.phase() == Phase::PreSync {
                    stopped_at_pre_sync
                        .entry(app.clone())
                        .or_insert_with(|| o.doc.id());
                    let waiting = (0..input.objects.len())
                        .filter(|&j| {
                            input.objects[j].application.as_ref() == Some(app)
                                && hooks[j].phase() != Phase::PreSync
                                && !matches!(hooks[j], Hook::Never(_))
                        })
                        .count();
                    for s in stalls.iter_mut().filter(|s| s.object == o.doc.id()) {
                        s.cause = format!(
                            "{} (a PreSync hook of Application {app}: its {waiting} other objects are applied only once it completes)",
                            s.cause
                        );
                    }
                }
            }
        } else if let Hook::Runs { deleted: true, .. } = hook {
            // Deleted once it succeeds (HookSucceeded): not in the converged cluster.
            absent.insert(i);
        }
        state.status.insert(
            i,
            stalls
                .iter()
                .find(|s| s.object == o.doc.id())
                .map(|s| s.cause.clone()),
        );
        if !stalls.is_empty() && o.doc.annotation(IGNORE_HEALTH) == Some("true") {
            // ArgoCD does not wait for it: the wave goes on, what needs it may not.
            for s in stalls.drain(..) {
                state.assumptions.insert(format!(
                    "{} never becomes Healthy ({}); ArgoCD ignores its health ({IGNORE_HEALTH}), so its wave goes on without it",
                    s.object, s.cause
                ));
            }
        }
        if stalls.is_empty() {
            wave.healthy.push(o.doc.id());
        } else if let (Some(app), Phase::Sync) = (&o.application, hook.phase()) {
            waits
                .entry(app.clone())
                .or_insert_with(|| (wave_of(o.doc), o.doc.id()));
        }
        wave.stalls.extend(stalls);
        for (victim, stall) in std::mem::take(&mut state.evicted) {
            unhealthy.insert(victim);
            state.status.insert(victim, Some(stall.cause.clone()));
            wave.stalls.push(Stall {
                wave: key.0,
                ..stall
            });
        }
    }
    settle(
        i64::MAX,
        &view(&unhealthy, &absent),
        &mut settled,
        &mut SettleOut {
            waves: &mut waves,
            unhealthy: &mut unhealthy,
            state: &mut state,
            waits: &mut waits,
            sync_failed: &mut sync_failed,
        },
    );
    if input.application_health.is_none() {
        unordered_children(&applications, &mut state.assumptions);
    }
    let final_view = view(&unhealthy, &absent);
    let mut states: Vec<ApplicationState> = Vec::new();
    let mut order_of_apps: Vec<&Application> = applications.values().collect();
    // Children before their parents: a parent's health takes its children's.
    order_of_apps.sort_by_key(|a| (std::cmp::Reverse(a.wave), a.index));
    for app in order_of_apps {
        let name = input.objects[app.index].doc.name().unwrap_or_default();
        let created = !absent.contains(&app.index);
        let (sync, health, cause) = if created {
            final_view.assess(name, &settled.health)
        } else {
            let why = state.status.get(&app.index).cloned().flatten();
            ("OutOfSync", "Missing", why)
        };
        settled.health.insert(name.to_string(), health);
        states.push(ApplicationState {
            index: app.index,
            name: name.to_string(),
            parent: app.parent.clone(),
            wave: app.wave,
            sync,
            health,
            created,
            cause,
        });
    }
    states.sort_by_key(|a| a.index);
    for cut in state.network_cuts(&applications, &unhealthy) {
        let o = &input.objects[cut.policy];
        let key = (cut.wave, state.keys[cut.policy].1, state.keys[cut.policy].2);
        let stall = state.stall(o, key, "", class::NETWORK_POLICY, cut.cause);
        let wave = waves.entry(cut.wave).or_insert_with(|| Wave {
            wave: cut.wave,
            ..Wave::default()
        });
        if !wave
            .stalls
            .iter()
            .any(|s| s.object == stall.object && s.cause == stall.cause)
        {
            wave.stalls.push(stall);
        }
    }
    Simulation {
        waves: waves.into_values().collect(),
        assumptions: state.assumptions.into_iter().collect(),
        warnings: state.warnings.into_iter().collect(),
        placements: state.placements,
        pods: state.pods,
        unhealthy,
        hooks: (0..input.objects.len())
            .filter(|&i| hooks[i].is_hook())
            .collect(),
        absent,
        applications: states,
        assesses_applications: input.application_health.is_some(),
    }
}

/// Without a health check for Applications, a parent with child Applications in several
/// sync waves creates them all at once: their waves order nothing they sync.
fn unordered_children(
    applications: &HashMap<String, Application>,
    assumptions: &mut BTreeSet<String>,
) {
    let mut waves_of: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    for app in applications.values() {
        if let Some(parent) = &app.parent {
            waves_of.entry(parent).or_default().insert(app.wave);
        }
    }
    for (parent, waves) in waves_of.into_iter().filter(|(_, w)| w.len() > 1) {
        let list: Vec<String> = waves.iter().map(i64::to_string).collect();
        assumptions.insert(format!(
            "Argo CD does not assess the health of Applications (argocd-cm has no resource.customizations.health.argoproj.io_Application): Application {parent} goes on to its next sync wave as soon as its child Applications exist, so its sync waves {} do not order what its child Applications sync; simulated in wave order all the same",
            list.join(", ")
        ));
    }
}

/// What the settling of child Applications reads.
struct AppView<'v, 'a> {
    input: &'v Input<'a>,
    members: &'v HashMap<&'v str, Vec<usize>>,
    applications: &'v HashMap<String, Application>,
    unhealthy: BTreeSet<usize>,
    absent: BTreeSet<usize>,
    /// Argo CD assesses Applications' health (a parent takes its children's).
    assessed: bool,
}

impl AppView<'_, '_> {
    /// An Application's sync and health as Argo CD sets them, and its first object that is
    /// not Healthy (index) with that object's health.
    fn assess(
        &self,
        name: &str,
        children: &HashMap<String, &'static str>,
    ) -> (&'static str, &'static str, Option<String>) {
        let (sync, health, first) = self.resources(name, children);
        (sync, health, first.map(|(_, h, why)| format!("{h}: {why}")))
    }

    fn resources(
        &self,
        name: &str,
        children: &HashMap<String, &'static str>,
    ) -> (
        &'static str,
        &'static str,
        Option<(usize, &'static str, String)>,
    ) {
        let mut sync = "Synced";
        let mut health = "Healthy";
        let mut first = None;
        for &j in self.members.get(name).into_iter().flatten() {
            let o = &self.input.objects[j];
            if self.absent.contains(&j) {
                sync = "OutOfSync";
            }
            if o.doc.annotation(IGNORE_HEALTH) == Some("true") {
                continue;
            }
            let h = if self.absent.contains(&j) {
                "Missing"
            } else if child_of(o, self.applications).is_some() {
                if !self.assessed {
                    continue;
                }
                children
                    .get(o.doc.name().unwrap_or_default())
                    .copied()
                    .unwrap_or("Healthy")
            } else if self.unhealthy.contains(&j) {
                resource_health(o)
            } else {
                "Healthy"
            };
            if h != "Healthy" && first.is_none() {
                first = Some((j, h, o.doc.id()));
            }
            health = worse(health, h);
        }
        (sync, health, first)
    }
}

/// How Argo CD reports an object that never becomes Healthy: a claim stays Pending
/// (Progressing); a workload past its progress deadline, a failed Job, an unsealed
/// SealedSecret are Degraded.
fn resource_health(o: &Object<'_>) -> &'static str {
    match o.doc.kind() {
        Some("PersistentVolumeClaim") => "Progressing",
        _ => "Degraded",
    }
}

#[derive(Default)]
struct Settled {
    /// Child Applications already settled, with their health.
    health: HashMap<String, &'static str>,
}

struct SettleOut<'o, 'i, 'a> {
    waves: &'o mut BTreeMap<i64, Wave>,
    unhealthy: &'o mut BTreeSet<usize>,
    state: &'o mut State<'i, 'a>,
    waits: &'o mut HashMap<String, (i64, String)>,
    sync_failed: &'o mut HashSet<String>,
}

/// Settles the child Applications of every wave before `next`: each is Healthy when what it
/// syncs is. One that is not stalls its parent's sync at its wave when Argo CD assesses
/// Applications' health; otherwise the parent goes on (said as an assumption).
fn settle(
    next: i64,
    view: &AppView<'_, '_>,
    settled: &mut Settled,
    out: &mut SettleOut<'_, '_, '_>,
) {
    let mut due: Vec<&Application> = view
        .applications
        .values()
        .filter(|a| a.parent.is_some() && a.wave < next)
        .filter(|a| {
            let name = view.input.objects[a.index].doc.name().unwrap_or_default();
            !settled.health.contains_key(name)
        })
        .collect();
    due.sort_by_key(|a| (a.wave, a.index));
    for app in due {
        let o = &view.input.objects[app.index];
        let name = o.doc.name().unwrap_or_default();
        if view.absent.contains(&app.index) {
            settled.health.insert(name.to_string(), "Missing");
            continue;
        }
        let (_, health, first) = view.resources(name, &settled.health);
        settled.health.insert(name.to_string(), health);
        let (Some((j, object_health, object)), Some(parent)) = (first, &app.parent) else {
            continue;
        };
        let why = out
            .state
            .status
            .get(&j)
            .cloned()
            .flatten()
            .unwrap_or_else(|| "it never becomes Healthy".into());
        let at = out
            .waves
            .values()
            .flat_map(|w| &w.stalls)
            .find(|s| s.object == object)
            .map(|s| format!(" ({}:{})", s.at.file, s.at.line))
            .unwrap_or_default();
        let chain = format!("{object} is {object_health}: {why}{at}");
        match &view.input.application_health {
            Some(config) => {
                let cause = format!(
                    "Application {name} is {health}: {chain}; Argo CD assesses Application health ({}:{}), so Application {parent} waits at sync wave {} for it and never syncs its later waves",
                    config.file, config.line, app.wave
                );
                let key = out.state.keys[app.index];
                let stall = out.state.stall(
                    o,
                    key,
                    "/metadata/name",
                    class::APPLICATION_UNHEALTHY,
                    cause.clone(),
                );
                let wave = out.waves.entry(app.wave).or_insert_with(|| Wave {
                    wave: app.wave,
                    ..Wave::default()
                });
                let id = o.doc.id();
                wave.healthy.retain(|h| *h != id);
                wave.stalls.push(stall);
                out.unhealthy.insert(app.index);
                out.state.status.insert(app.index, Some(cause));
                out.waits
                    .entry(parent.clone())
                    .or_insert_with(|| (app.wave, format!("Application {name}")));
                out.sync_failed.insert(parent.clone());
            }
            None => {
                out.state.assumptions.insert(format!(
                    "Application {name} is {health} ({chain}), but Argo CD does not assess Application health: Application {parent} does not wait for it and syncs its later waves"
                ));
            }
        }
    }
}

/// The namespace an object lands in: its own, else its Application's destination.
fn namespace_of(o: &Object<'_>, applications: &HashMap<String, Application>) -> Option<String> {
    o.doc.namespace().map(str::to_string).or_else(|| {
        o.application
            .as_ref()
            .and_then(|a| applications.get(a))
            .and_then(|a| a.namespace.clone())
    })
}

impl State<'_, '_> {
    fn stall(
        &self,
        o: &Object<'_>,
        key: Key,
        pointer: &str,
        class: &'static str,
        cause: String,
    ) -> Stall {
        let (at, cause) = match &o.origin {
            Some(origin) => (
                origin.at.clone(),
                format!("{cause} [chart {}]", origin.description),
            ),
            None => (o.location(pointer), cause),
        };
        Stall {
            wave: key.0,
            object: o.doc.id(),
            class,
            cause,
            at,
        }
    }

    fn apply(
        &mut self,
        index: usize,
        o: &Object<'_>,
        key: Key,
        applications: &HashMap<String, Application>,
        stalls: &mut Vec<Stall>,
    ) {
        let doc = o.doc;
        let kind = doc.kind().unwrap_or_default();
        let group = doc.group().to_string();
        let namespace = if CLUSTER_SCOPED.contains(&kind) {
            None
        } else {
            namespace_of(o, applications)
        };
        if let Some(ns) = &namespace {
            match self.namespaces.get(ns) {
                Some(created) if *created > key => {
                    stalls.push(self.stall(o, key, "/metadata/namespace", class::NAMESPACE_LATER, format!(
                        "namespace `{ns}` is created only in wave {} (after this object's wave {}): the sync fails with `namespaces \"{ns}\" not found`",
                        created.0, key.0
                    )));
                    return;
                }
                Some(_) => {}
                None => {
                    self.assumptions.insert(format!(
                        "namespace `{ns}` exists before the sync (nothing in the repository creates it)"
                    ));
                }
            }
        }
        if !BUILT_IN_GROUPS.contains(&group.as_str()) && kind != "CustomResourceDefinition" {
            match self.crds.get(&(group.clone(), kind.to_string())) {
                Some(created) if (created.0, created.1) > (key.0, key.1) => {
                    stalls.push(self.stall(o, key, "/kind", class::CRD_LATER, format!(
                        "its CRD ({kind}.{group}) is applied only in wave {} (after this object's wave {}): the sync fails with `no matches for kind \"{kind}\"`",
                        created.0, key.0
                    )));
                    return;
                }
                Some(_) => {}
                None => {
                    self.assumptions.insert(format!(
                        "the CRD of {kind}.{group} is installed (nothing in the repository defines it)"
                    ));
                }
            }
        }
        let denials: Vec<&str> = self
            .input
            .denials
            .iter()
            .filter(|d| d.object == index)
            .map(|d| d.reason.as_str())
            .collect();
        if !denials.is_empty() {
            self.blocked_device_plugin(o, key, "rejected at admission");
            stalls.push(self.stall(
                o,
                key,
                "",
                class::ADMISSION,
                format!("rejected at admission: {}", denials.join("; ")),
            ));
            return;
        }
        if let Some((pointer, cause)) = self.webhook_rejects(index, o, key, namespace.as_deref()) {
            self.blocked_device_plugin(o, key, "rejected by an unreachable webhook");
            stalls.push(self.stall(o, key, &pointer, class::WEBHOOK_UNAVAILABLE, cause));
            return;
        }
        if kind.ends_with("WebhookConfiguration") && group == "admissionregistration.k8s.io" {
            for hook in webhook::parse(index, &doc.value) {
                self.webhooks.push((key, hook));
            }
        }
        match (group.as_str(), kind) {
            ("", "PersistentVolumeClaim") => self.claim(o, key, namespace.as_deref(), stalls),
            ("bitnami.com", "SealedSecret") => self.sealed_secret(o, key, stalls),
            _ => {}
        }
        if let Some(spec) = doc.pod_spec() {
            if kind == "CronJob" {
                return;
            }
            if self.secrets_missing(o, key, &spec, namespace.as_deref(), stalls) {
                return;
            }
            let level = namespace
                .as_ref()
                .and_then(|ns| self.pod_security.get(ns))
                .cloned();
            if let Some(level) = level {
                let broken = pss::violations(&spec, &level);
                if !broken.is_empty() {
                    self.blocked_device_plugin(o, key, "its pods are rejected by Pod Security");
                    stalls.push(self.stall(
                        o,
                        key,
                        spec.pointer,
                        class::POD_SECURITY,
                        format!(
                            "its pods are rejected by Pod Security `{level}` of namespace `{}`: {}",
                            namespace.as_deref().unwrap_or_default(),
                            broken.join(", ")
                        ),
                    ));
                    return;
                }
            }
            self.schedule(index, o, key, &spec, stalls);
        }
    }

    /// The flows the running platform needs that its NetworkPolicies cut.
    fn network_cuts(
        &mut self,
        applications: &HashMap<String, Application>,
        unhealthy: &BTreeSet<usize>,
    ) -> Vec<flows::Cut> {
        let objects = &self.input.objects;
        let policies: Vec<flows::Policy<'_>> = objects
            .iter()
            .enumerate()
            .filter(|(i, o)| {
                o.doc.group() == "networking.k8s.io"
                    && o.doc.kind() == Some("NetworkPolicy")
                    && !unhealthy.contains(i)
            })
            .map(|(i, o)| flows::Policy {
                object: i,
                namespace: namespace_of(o, applications).unwrap_or_else(|| "default".into()),
                name: o.doc.name().unwrap_or_default().to_string(),
                value: &o.doc.value,
                wave: self.keys[i].0,
            })
            .collect();
        if policies.is_empty() {
            return Vec::new();
        }
        // The pods that run once the rollout is done.
        let mut pods: Vec<flows::Pod> = Vec::new();
        let mut pod_of: HashMap<usize, usize> = HashMap::new();
        for (i, ns, labels) in &self.workloads {
            let o = &objects[*i];
            let runs = !unhealthy.contains(i)
                && (self.nodes.is_empty() || self.pods.get(i).is_some_and(|p| !p.is_empty()));
            let Some(spec) = o.doc.pod_spec() else {
                continue;
            };
            if !runs {
                continue;
            }
            let mut ports = Vec::new();
            for c in spec.containers() {
                for p in c
                    .value
                    .get("ports")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(number) = p
                        .get("containerPort")
                        .and_then(Value::as_u64)
                        .and_then(|n| u16::try_from(n).ok())
                    else {
                        continue;
                    };
                    ports.push((
                        p.get("name").and_then(Value::as_str).map(str::to_string),
                        number,
                        p.get("protocol")
                            .and_then(Value::as_str)
                            .unwrap_or("TCP")
                            .to_string(),
                    ));
                }
            }
            pod_of.insert(*i, pods.len());
            pods.push(flows::Pod {
                object: Some(*i),
                namespace: ns.clone(),
                labels: labels.clone(),
                ports,
                label: format!("{} {}", o.doc.kind().unwrap_or_default(), short_name(o.doc)),
                wave: self.keys[*i].0,
            });
        }
        let builtin =
            |labels: &[(&str, &str)], ports: &[(&str, u16, &str)], label: &str| flows::Pod {
                object: None,
                namespace: "kube-system".to_string(),
                labels: labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                ports: ports
                    .iter()
                    .map(|(n, p, pr)| (Some(n.to_string()), *p, pr.to_string()))
                    .collect(),
                label: label.to_string(),
                wave: i64::MIN,
            };
        let dns = pods.len();
        pods.push(builtin(
            &[("k8s-app", "kube-dns")],
            &[("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")],
            "kube-dns (kube-system)",
        ));
        let traefik = pods.len();
        pods.push(builtin(
            &[
                ("app.kubernetes.io/name", "traefik"),
                ("app.kubernetes.io/instance", "traefik-kube-system"),
            ],
            &[("web", 8000, "TCP"), ("websecure", 8443, "TCP")],
            "k3s Traefik (kube-system)",
        ));

        let mut wanted: Vec<Flow> = Vec::new();
        let mut used_traefik = false;
        for (i, o) in objects.iter().enumerate() {
            if unhealthy.contains(&i) {
                continue;
            }
            let ns = namespace_of(o, applications).unwrap_or_else(|| "default".into());
            for (service, port, pointer) in ingress_backends(o) {
                let why = format!("backend of {} at {}", o.doc.id(), where_is(o, &pointer));
                let class = o
                    .doc
                    .value
                    .pointer("/spec/ingressClassName")
                    .and_then(Value::as_str);
                if class.is_some_and(|c| c != "traefik") {
                    self.assumptions.insert(format!(
                        "the flows of Ingresses of class `{}` are not judged (only k3s's Traefik is modelled)",
                        class.unwrap_or_default()
                    ));
                    continue;
                }
                let service_ns = service.1.clone().unwrap_or_else(|| ns.clone());
                for (d, p, proto) in self.service_targets(&pods, &service_ns, &service.0, port) {
                    used_traefik = true;
                    wanted.push(Flow {
                        from: traefik,
                        to: Target::Pod(d, p, proto),
                        why: why.clone(),
                    });
                }
            }
            let Some(&from) = pod_of.get(&i) else {
                continue;
            };
            let mut sources = 0;
            for (text, pointer, what) in self.texts_read(o, &ns) {
                for (name, rns, port) in flows::references(&text) {
                    let service_ns = rns.clone().unwrap_or_else(|| ns.clone());
                    if !self
                        .services
                        .contains_key(&(service_ns.clone(), name.clone()))
                    {
                        continue;
                    }
                    for (d, p, proto) in self.service_targets(&pods, &service_ns, &name, port) {
                        if d == from {
                            continue;
                        }
                        sources += 1;
                        wanted.push(Flow {
                            from,
                            to: Target::Pod(d, p, proto),
                            why: format!("{what} names Service `{service_ns}/{name}` at {pointer}"),
                        });
                    }
                }
            }
            if o.doc.label("app.kubernetes.io/name") == Some("argocd-repo-server")
                || pods[from]
                    .labels
                    .get("app.kubernetes.io/name")
                    .map(String::as_str)
                    == Some("argocd-repo-server")
            {
                for (j, app) in objects.iter().enumerate() {
                    if !is_application(app) {
                        continue;
                    }
                    for (url, pointer) in repo_urls(app) {
                        let Some((host, port)) = flows::repo_host(&url) else {
                            continue;
                        };
                        let why =
                            format!("repoURL of {} at {}", app.doc.id(), where_is(app, &pointer));
                        let service = host
                            .strip_suffix(".cluster.local")
                            .unwrap_or(&host)
                            .strip_suffix(".svc")
                            .and_then(|h| h.split_once('.'));
                        if let Some((name, sns)) = service {
                            for (d, p, proto) in self.service_targets(&pods, sns, name, Some(port))
                            {
                                sources += 1;
                                wanted.push(Flow {
                                    from,
                                    to: Target::Pod(d, p, proto),
                                    why: why.clone(),
                                });
                            }
                            continue;
                        }
                        let public_ip = host
                            .parse::<std::net::Ipv4Addr>()
                            .map(|a| !(a.is_private() || a.is_loopback() || a.is_link_local()));
                        let internet = match public_ip {
                            Ok(public) => public,
                            Err(_) => {
                                host.contains('.')
                                    && ![
                                        ".lan",
                                        ".local",
                                        ".home",
                                        ".internal",
                                        ".localdomain",
                                        ".home.arpa",
                                    ]
                                    .iter()
                                    .any(|s| host.ends_with(s))
                            }
                        };
                        if internet {
                            sources += 1;
                            wanted.push(Flow {
                                from,
                                to: Target::Internet(port),
                                why,
                            });
                        } else {
                            self.assumptions.insert(format!(
                                "ArgoCD reaches `{host}` (repoURL of {}): an address on the LAN, not judged against the NetworkPolicies",
                                objects[j].doc.id()
                            ));
                        }
                    }
                }
            }
            if sources > 0 {
                wanted.push(Flow {
                    from,
                    to: Target::Pod(dns, 53, "UDP".to_string()),
                    why: "name resolution of the Services it reaches".to_string(),
                });
            }
        }
        if used_traefik {
            self.assumptions.insert(
                "Ingresses are served by k3s's Traefik in kube-system (labels app.kubernetes.io/name=traefik)".to_string(),
            );
        }
        let mut seen = HashSet::new();
        let network = Network {
            pods,
            policies,
            namespace_labels: &self.namespace_labels,
        };
        wanted
            .into_iter()
            .filter(|f| {
                let to = match &f.to {
                    Target::Pod(d, p, pr) => (Some(*d), *p, pr.clone()),
                    Target::Internet(p) => (None, *p, "TCP".to_string()),
                };
                seen.insert((f.from, to))
            })
            .filter_map(|f| network.judge(&f))
            .collect()
    }

    /// The pods behind Service `ns/name` for a reference on `port` (the Service port; none
    /// named: its only port, or 80): (pod index, container port, protocol).
    fn service_targets(
        &self,
        pods: &[flows::Pod],
        ns: &str,
        name: &str,
        port: Option<u16>,
    ) -> Vec<(usize, u16, String)> {
        let Some((svc, selector)) = self.services.get(&(ns.to_string(), name.to_string())) else {
            return Vec::new();
        };
        if selector::is_empty(selector.as_ref()) {
            return Vec::new();
        }
        let svc_ports: Vec<&Value> = self.input.objects[*svc]
            .doc
            .value
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let number = |p: &Value| p.get("port").and_then(Value::as_u64);
        let chosen = match port {
            Some(want) => svc_ports
                .iter()
                .find(|p| number(p) == Some(u64::from(want))),
            None if svc_ports.len() == 1 => svc_ports.first(),
            None => svc_ports.iter().find(|p| number(p) == Some(80)),
        };
        let Some(chosen) = chosen else {
            return Vec::new();
        };
        let protocol = chosen
            .get("protocol")
            .and_then(Value::as_str)
            .unwrap_or("TCP")
            .to_string();
        let target = chosen.get("targetPort").or_else(|| chosen.get("port"));
        pods.iter()
            .enumerate()
            .filter(|(_, p)| {
                p.object.is_some()
                    && p.namespace == ns
                    && selector::map_matches(selector.as_ref(), &p.labels)
            })
            .filter_map(|(d, p)| {
                let container_port = match target? {
                    Value::Number(n) => u16::try_from(n.as_u64()?).ok()?,
                    Value::String(s) => match s.parse::<u16>() {
                        Ok(n) => n,
                        Err(_) => {
                            p.ports
                                .iter()
                                .find(|(pn, _, pr)| {
                                    pn.as_deref() == Some(s.as_str()) && *pr == protocol
                                })?
                                .1
                        }
                    },
                    _ => return None,
                };
                Some((d, container_port, protocol.clone()))
            })
            .collect()
    }

    /// The texts a workload's containers read that may name a Service: environment values,
    /// commands and arguments, and the ConfigMaps of its namespace it loads; with where each
    /// is and what it is.
    fn texts_read(&self, o: &Object<'_>, ns: &str) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        let Some(spec) = o.doc.pod_spec() else {
            return out;
        };
        let id = o.doc.id();
        let mut config_maps: Vec<String> = Vec::new();
        for c in spec.all_containers() {
            for (i, e) in c
                .value
                .get("env")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if let Some(v) = e.get("value").and_then(Value::as_str) {
                    let name = e.get("name").and_then(Value::as_str).unwrap_or("?");
                    out.push((
                        v.to_string(),
                        where_is(o, &format!("{}/env/{i}/value", c.pointer)),
                        format!("env {name} of {id}"),
                    ));
                }
                if let Some(cm) = e
                    .pointer("/valueFrom/configMapKeyRef/name")
                    .and_then(Value::as_str)
                {
                    config_maps.push(cm.to_string());
                }
            }
            for e in c
                .value
                .get("envFrom")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(cm) = e.pointer("/configMapRef/name").and_then(Value::as_str) {
                    config_maps.push(cm.to_string());
                }
            }
            for field in ["command", "args"] {
                for (i, a) in c
                    .value
                    .get(field)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    if let Some(a) = a.as_str() {
                        out.push((
                            a.to_string(),
                            where_is(o, &format!("{}/{field}/{i}", c.pointer)),
                            format!("{field} of {id}"),
                        ));
                    }
                }
            }
        }
        for v in spec
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(cm) = v.pointer("/configMap/name").and_then(Value::as_str) {
                config_maps.push(cm.to_string());
            }
            for source in v
                .pointer("/projected/sources")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(cm) = source.pointer("/configMap/name").and_then(Value::as_str) {
                    config_maps.push(cm.to_string());
                }
            }
        }
        config_maps.sort();
        config_maps.dedup();
        for cm in config_maps {
            let Some(&i) = self.config_maps.get(&(ns.to_string(), cm.clone())) else {
                continue;
            };
            let co = &self.input.objects[i];
            for (k, v) in co
                .doc
                .value
                .get("data")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if let Some(text) = v.as_str() {
                    let pointer = format!("/data/{}", k.replace('~', "~0").replace('/', "~1"));
                    out.push((
                        text.to_string(),
                        where_is(co, &pointer),
                        format!("ConfigMap `{ns}/{cm}` (key {k}, read by {id})"),
                    ));
                }
            }
        }
        out
    }

    /// The labels of a namespace as admission sees them.
    fn labels_of_namespace(&self, ns: &str) -> Labels {
        self.namespace_labels
            .get(ns)
            .cloned()
            .unwrap_or_else(|| Labels::from([(NAME_LABEL.to_string(), ns.to_string())]))
    }

    /// A `Fail` webhook registered before `o` that intercepts its creation (or the creation
    /// of its pods) while its backend is not running rejects it: the pointer to blame and
    /// the cause chain.
    fn webhook_rejects(
        &mut self,
        index: usize,
        o: &Object<'_>,
        key: Key,
        namespace: Option<&str>,
    ) -> Option<(String, String)> {
        let doc = o.doc;
        let kind = doc.kind().unwrap_or_default();
        let group = doc.group();
        if self.webhooks.is_empty()
            || group == "admissionregistration.k8s.io"
                && (kind.ends_with("WebhookConfiguration")
                    || kind.starts_with("ValidatingAdmission"))
        {
            return None; // the API server never sends these to webhooks
        }
        let resource = self
            .plurals
            .get(&(group.to_string(), kind.to_string()))
            .cloned()
            .unwrap_or_else(|| webhook::plural(kind));
        let own_labels = selector::labels_at(doc.value.pointer("/metadata/labels"));
        let ns_labels = match (group, kind) {
            ("", "Namespace") => {
                let mut l = own_labels.clone();
                l.insert(
                    NAME_LABEL.to_string(),
                    doc.name().unwrap_or_default().to_string(),
                );
                l
            }
            _ => namespace
                .map(|n| self.labels_of_namespace(n))
                .unwrap_or_default(),
        };
        let object = webhook::Request {
            group,
            version: doc.version(),
            resource: &resource,
            namespace,
            labels: &own_labels,
            namespace_labels: &ns_labels,
        };
        let spec = doc.pod_spec().filter(|_| kind != "CronJob");
        let template_labels = spec.as_ref().map(|s| pod_labels(doc, s));
        let pods = template_labels.as_ref().map(|labels| webhook::Request {
            group: "",
            version: "v1",
            resource: "pods",
            namespace: namespace.or(Some("default")),
            labels,
            namespace_labels: &ns_labels,
        });
        let hooks: Vec<(Key, Webhook)> = self.webhooks.clone();
        for (registered, hook) in &hooks {
            if !hook.fails_closed {
                continue;
            }
            // ArgoCD's own request comes after configurations applied before it; the pods
            // come from controllers once the wave is applied, so a configuration of the same
            // wave already intercepts them.
            let on_object = *registered < key && hook.intercepts(&object);
            let on_pods = !on_object
                && kind != "Pod"
                && registered.0 <= key.0
                && pods.as_ref().is_some_and(|p| hook.intercepts(p));
            if !on_object && !on_pods {
                continue;
            }
            if hook.has_match_conditions {
                self.assumptions.insert(format!(
                    "the matchConditions of webhook `{}` are not evaluated: it is taken to intercept what its rules and selectors match",
                    hook.name
                ));
            }
            let Some(why) = self.backend_unavailable(index, key, *registered, hook) else {
                continue;
            };
            let config = &self.input.objects[hook.config];
            let what = if on_object {
                "its creation is rejected".to_string()
            } else {
                "its pods are rejected".to_string()
            };
            let pointer = if on_object {
                String::new()
            } else {
                spec.as_ref()
                    .map(|s| s.pointer.to_string())
                    .unwrap_or_default()
            };
            return Some((
                pointer,
                format!(
                    "{what}: webhook `{}` of {} ({}) fails closed (failurePolicy Fail) and {why}",
                    hook.name,
                    config.doc.id(),
                    where_is(config, &hook.pointer),
                ),
            ));
        }
        None
    }

    /// Why the backend of `hook` cannot answer a request made for object `index` at `key`,
    /// or `None` when it can (or is taken on trust, with an assumption).
    fn backend_unavailable(
        &mut self,
        index: usize,
        key: Key,
        registered: Key,
        hook: &Webhook,
    ) -> Option<String> {
        let Some((ns, name)) = &hook.service else {
            self.assumptions.insert(format!(
                "webhook `{}` answers at its URL (outside the cluster's objects)",
                hook.name
            ));
            return None;
        };
        let Some((_, service_selector)) = self.services.get(&(ns.clone(), name.clone())) else {
            self.assumptions.insert(format!(
                "Service `{ns}/{name}`, the backend of webhook `{}`, exists and answers (nothing in the repository creates it)",
                hook.name
            ));
            return None;
        };
        if selector::is_empty(service_selector.as_ref()) {
            self.assumptions.insert(format!(
                "Service `{ns}/{name}` (no selector) has endpoints that answer webhook `{}`",
                hook.name
            ));
            return None;
        }
        let backends: Vec<usize> = self
            .workloads
            .iter()
            .filter(|(_, wns, labels)| {
                wns == ns && selector::map_matches(service_selector.as_ref(), labels)
            })
            .map(|(i, _, _)| *i)
            .collect();
        if backends.is_empty() {
            return Some(format!(
                "its backend Service `{ns}/{name}` selects no pod of the repository"
            ));
        }
        let mut causes = Vec::new();
        for b in backends {
            let label = self.input.objects[b].doc.id();
            if b == index {
                if registered.0 < key.0 {
                    causes.push(format!(
                        "its backend is these very pods ({label}): they cannot be created while the webhook cannot be reached"
                    ));
                } else {
                    self.assumptions.insert(format!(
                        "the pods of {label} start before webhook `{}` of the same wave is registered (they are its own backend)",
                        hook.name
                    ));
                    return None;
                }
                continue;
            }
            match self.status.get(&b) {
                Some(None) => return None,
                Some(Some(cause)) => causes.push(format!(
                    "its backend {label} (Service `{ns}/{name}`) is not Healthy: {cause}"
                )),
                None if self.keys[b].0 > key.0 => causes.push(format!(
                    "its backend {label} (Service `{ns}/{name}`) is created only in wave {}, after this wave {}",
                    self.keys[b].0, key.0
                )),
                // Same wave, not applied yet: the sync retries until it answers.
                None => return None,
            }
        }
        Some(causes.join("; "))
    }

    /// A pod that needs a Secret which never exists, or exists only in a later wave, never
    /// starts (CreateContainerConfigError). True when that stalls `o`.
    fn secrets_missing(
        &mut self,
        o: &Object<'_>,
        key: Key,
        spec: &homelab_k8s::PodSpec<'_>,
        namespace: Option<&str>,
        stalls: &mut Vec<Stall>,
    ) -> bool {
        let ns = namespace.unwrap_or("default").to_string();
        for (name, pointer) in required_secrets(spec) {
            // A later wave, or a later sync wave of the same Application (ArgoCD waits for
            // each of an Application's waves to be Healthy before the next).
            let same_app = o.application.is_some()
                && self.secret_apps.get(&(ns.clone(), name.clone())) == Some(&o.application);
            let later =
                |made: &Key| made.0 > key.0 || (same_app && made.0 == key.0 && made.1 > key.1);
            let when = |made: &Key| {
                if made.0 > key.0 {
                    format!("wave {}", made.0)
                } else {
                    format!(
                        "sync wave {} of Application {}",
                        own_wave(made.1),
                        o.application.as_deref().unwrap_or_default()
                    )
                }
            };
            let cause = match self.secrets.get(&(ns.clone(), name.clone())) {
                None => {
                    self.assumptions.insert(format!(
                        "Secret `{ns}/{name}` exists (nothing in the repository creates it)"
                    ));
                    continue;
                }
                Some(SecretSource::Sealed(id, _, Some(why))) => format!(
                    "its pods cannot start (CreateContainerConfigError): Secret `{ns}/{name}` comes from {id}, which the controller cannot unseal: {why}"
                ),
                Some(SecretSource::Sealed(id, made, None)) if later(made) => format!(
                    "its pods cannot start before {} creates Secret `{ns}/{name}` ({id}), and that wave waits for this one",
                    when(made)
                ),
                Some(SecretSource::Plain(made)) if later(made) => format!(
                    "its pods cannot start before {} creates Secret `{ns}/{name}`, and that wave waits for this one",
                    when(made)
                ),
                Some(_) => continue,
            };
            stalls.push(self.stall(o, key, &pointer, class::SECRET_UNAVAILABLE, cause));
            return true;
        }
        false
    }

    /// A device plugin DaemonSet that never runs leaves the GPU nodes without their
    /// extended resource: remember why, for the pods that need it.
    fn blocked_device_plugin(&mut self, o: &Object<'_>, key: Key, why: &str) {
        let Some(spec) = o.doc.pod_spec() else { return };
        if o.doc.kind() != Some("DaemonSet") || !is_device_plugin(&spec) {
            return;
        }
        let label = format!("DaemonSet {}", short_name(o.doc));
        for n in self.nodes.iter().filter(|n| n.node.gpus > 0) {
            self.device_plugin_skipped
                .entry(n.node.name.clone())
                .or_insert_with(|| format!("{label}: {why} in wave {}", key.0));
        }
    }

    fn claim(
        &mut self,
        o: &Object<'_>,
        key: Key,
        namespace: Option<&str>,
        stalls: &mut Vec<Stall>,
    ) {
        let doc = o.doc;
        let named = doc
            .value
            .pointer("/spec/storageClassName")
            .and_then(Value::as_str);
        let class_name = match named
            .map(str::to_string)
            .or_else(|| self.default_class.clone())
        {
            Some(c) => c,
            None => {
                self.assumptions.insert(
                    "the cluster has a default StorageClass for claims that name none".to_string(),
                );
                return;
            }
        };
        if class_name.is_empty() {
            return; // statically bound to a PersistentVolume
        }
        let Some((mode, _)) = self.storage_classes.get(&class_name).cloned() else {
            self.assumptions.insert(format!(
                "StorageClass `{class_name}` exists in the cluster (the repository does not define it)"
            ));
            return;
        };
        let name = doc.name().unwrap_or_default().to_string();
        if let Some(&c) = self.class_objects.get(&class_name) {
            let made = self.keys[c];
            if made.0 > key.0 {
                stalls.push(self.stall(o, key, "/spec/storageClassName", class::STORAGE_CLASS_MISSING, format!(
                    "stays Pending: StorageClass `{class_name}` is created only in wave {}, after this wave {}",
                    made.0, key.0
                )));
                return;
            }
            self.replicas_within_storage_nodes(c, &class_name);
        }
        let used = self
            .claims_used
            .contains(&(namespace.unwrap_or_default().to_string(), name.clone()));
        if mode == "WaitForFirstConsumer" && !used {
            stalls.push(self.stall(o, key, "/spec/storageClassName", class::PVC_NO_CONSUMER, format!(
                "stays Pending: StorageClass `{class_name}` binds on first consumer (WaitForFirstConsumer) and no pod in the repository mounts claim `{name}`"
            )));
        }
    }

    fn sealed_secret(&mut self, o: &Object<'_>, key: Key, stalls: &mut Vec<Stall>) {
        if let Some((pointer, why)) = unsealable(o.doc) {
            stalls.push(self.stall(
                o,
                key,
                &pointer,
                class::UNSEALABLE,
                format!("the controller cannot unseal it: {why}"),
            ));
            return;
        }
        if self.sealed_secrets_controller {
            self.assumptions.insert(
                "SealedSecrets were sealed with the cluster controller's key (the private key is not in the repository)".to_string(),
            );
        } else {
            self.assumptions.insert(
                "a SealedSecrets controller runs in the cluster (the repository deploys none)"
                    .to_string(),
            );
        }
    }

    /// The StorageClass of a claim (its own, else the default) with its object index.
    fn class_of_claim(&self, ns: &str, claim: &str) -> Option<(String, usize)> {
        let i = *self
            .claim_objects
            .get(&(ns.to_string(), claim.to_string()))?;
        let name = self.input.objects[i]
            .doc
            .value
            .pointer("/spec/storageClassName")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| self.default_class.clone())?;
        let c = *self.class_objects.get(&name)?;
        Some((name, c))
    }

    /// The node a pod is held to by a claim of a local StorageClass already used there.
    fn pinned_node(&self, ns: &str, claims: &[(String, String)]) -> Option<(String, String)> {
        claims.iter().find_map(|(claim, _)| {
            let node = self.claim_node.get(&(ns.to_string(), claim.clone()))?;
            let (class, _) = self.class_of_claim(ns, claim)?;
            Some((
                node.clone(),
                format!("claim `{claim}` lives on node {node} (local StorageClass `{class}`)"),
            ))
        })
    }

    /// The DaemonSets that run a provisioner's node plugin: those whose pod template names
    /// the provisioner (CSI node plugins pass their driver name and socket path), and
    /// Longhorn's manager for `driver.longhorn.io` (it deploys the CSI plugin itself).
    fn plugins_of(&mut self, provisioner: &str) -> Vec<usize> {
        if let Some(known) = self.node_plugins.get(provisioner) {
            return known.clone();
        }
        let found: Vec<usize> = self
            .input
            .objects
            .iter()
            .enumerate()
            .filter(|(_, o)| o.doc.kind() == Some("DaemonSet"))
            .filter(|(_, o)| {
                let Some(spec) = o.doc.pod_spec() else {
                    return false;
                };
                let text = spec.spec.to_string();
                text.contains(provisioner)
                    || provisioner == "driver.longhorn.io" && text.contains("longhorn-manager")
            })
            .map(|(i, _)| i)
            .collect();
        self.node_plugins
            .insert(provisioner.to_string(), found.clone());
        found
    }

    /// Whether the volumes of a pod placed on node `n` can be provisioned and attached
    /// there: the provisioner's node plugin has to run on that node. Local classes bind the
    /// claim to the node. `Some((pointer under the pod spec, cause))` when they cannot.
    fn volumes_blocked(
        &mut self,
        ns: &str,
        claims: &[(String, String)],
        n: usize,
        key: Key,
    ) -> Option<(String, String)> {
        let node_name = self.nodes[n].node.name.clone();
        for (claim, pointer) in claims {
            let Some((class, c)) = self.class_of_claim(ns, claim) else {
                continue;
            };
            let provisioner = self.input.objects[c]
                .doc
                .value
                .get("provisioner")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if is_local_provisioner(&provisioner) {
                self.claim_node
                    .entry((ns.to_string(), claim.clone()))
                    .or_insert_with(|| node_name.clone());
                continue;
            }
            let plugins = self.plugins_of(&provisioner);
            if plugins.is_empty() {
                self.assumptions.insert(format!(
                    "the node plugin of provisioner `{provisioner}` runs on every node that mounts its volumes (no DaemonSet of the repository names it)"
                ));
                continue;
            }
            let mut why = Vec::new();
            let mut runs = false;
            for &d in &plugins {
                let ds = &self.input.objects[d];
                let label = format!("DaemonSet {}", short_name(ds.doc));
                match self.status.get(&d) {
                    Some(None) if self.pods.get(&d).is_some_and(|p| p.contains(&node_name)) => {
                        runs = true;
                    }
                    Some(None) => {
                        let reason = ds
                            .doc
                            .pod_spec()
                            .and_then(|s| PodNeeds::of(&s).excluded_by(&self.nodes[n].node))
                            .unwrap_or_else(|| "no room on the node".to_string());
                        why.push(format!("{label} does not run on {node_name} ({reason})"));
                    }
                    Some(Some(cause)) => why.push(format!("{label} is not Healthy: {cause}")),
                    None if self.keys[d].0 > key.0 => why.push(format!(
                        "{label} is created only in wave {}, after this wave {}",
                        self.keys[d].0, key.0
                    )),
                    None => runs = true,
                }
            }
            if !runs {
                return Some((
                    pointer.clone(),
                    format!(
                        "its pod on {node_name} stays ContainerCreating: claim `{claim}` (StorageClass `{class}`, provisioner `{provisioner}`) cannot be attached there: {}",
                        why.join("; ")
                    ),
                ));
            }
        }
        None
    }

    /// A replicated class (Longhorn's `numberOfReplicas`) needs as many nodes running its
    /// provisioner's node plugin: fewer leave every volume Degraded (a warning, once).
    fn replicas_within_storage_nodes(&mut self, c: usize, class_name: &str) {
        let o = &self.input.objects[c];
        let Some(replicas) = o
            .doc
            .value
            .pointer("/parameters/numberOfReplicas")
            .and_then(|v| match v {
                Value::String(s) => s.trim().parse::<usize>().ok(),
                Value::Number(n) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
                _ => None,
            })
        else {
            return;
        };
        let provisioner = o
            .doc
            .value
            .get("provisioner")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let plugins = self.plugins_of(&provisioner);
        if plugins.is_empty() || self.nodes.is_empty() {
            return;
        }
        let storage_nodes = self
            .nodes
            .iter()
            .filter(|n| {
                plugins.iter().any(|&d| {
                    self.input.objects[d]
                        .doc
                        .pod_spec()
                        .is_some_and(|s| PodNeeds::of(&s).excluded_by(&n.node).is_none())
                })
            })
            .count();
        if replicas > storage_nodes {
            let o = &self.input.objects[c];
            self.warnings.insert(format!(
                "{}: StorageClass `{class_name}` asks for {replicas} replicas but only {storage_nodes} node(s) run its provisioner `{provisioner}`: its volumes stay Degraded (lower numberOfReplicas or add storage nodes)",
                where_is(o, "/parameters/numberOfReplicas")
            ));
        }
    }

    /// The priority of the pods of `spec`: their PriorityClass's value (the built-in
    /// `system-*-critical` classes included), else the `globalDefault` class's.
    fn priority_of(&self, spec: &homelab_k8s::PodSpec<'_>) -> i64 {
        match spec.get("priorityClassName").and_then(Value::as_str) {
            Some("system-node-critical") => 2_000_001_000,
            Some("system-cluster-critical") => 2_000_000_000,
            Some(name) => self
                .priority_classes
                .get(name)
                .map_or(self.default_priority, |(v, _)| *v),
            None => self.default_priority,
        }
    }

    /// The PriorityClass a pod names must exist when its pods are created (the Priority
    /// admission plugin rejects them otherwise).
    fn priority_class_missing(
        &mut self,
        spec: &homelab_k8s::PodSpec<'_>,
        key: Key,
    ) -> Option<String> {
        let name = spec.get("priorityClassName").and_then(Value::as_str)?;
        if name.starts_with("system-") && name.ends_with("-critical") {
            return None;
        }
        match self.priority_classes.get(name) {
            Some((_, made)) if made.0 > key.0 => Some(format!(
                "its pods are rejected at admission: PriorityClass `{name}` is created only in wave {}, after this wave {}",
                made.0, key.0
            )),
            Some(_) => None,
            None => {
                self.assumptions.insert(format!(
                    "PriorityClass `{name}` exists in the cluster (the repository does not define it)"
                ));
                None
            }
        }
    }

    /// Preemption: the lower-priority pods of node `n` whose eviction makes room for
    /// `needs`, lowest priority first; `None` when evicting them all is not enough.
    fn victims(&self, n: usize, needs: &PodNeeds, priority: i64) -> Option<Vec<usize>> {
        let mut node = NodeState {
            node: self.nodes[n].node.clone(),
            cpu_used: self.nodes[n].cpu_used,
            memory_used: self.nodes[n].memory_used,
            extended_used: self.nodes[n].extended_used.clone(),
            gpu_advertised: self.nodes[n].gpu_advertised,
            gpu_assumed: self.nodes[n].gpu_assumed,
        };
        let mut lower: Vec<usize> = (0..self.running[n].len())
            .filter(|&p| self.running[n][p].priority < priority)
            .collect();
        lower.sort_by_key(|&p| self.running[n][p].priority);
        let mut chosen = Vec::new();
        for p in lower {
            if node.lacks(needs).is_none() {
                break;
            }
            node.give_back(&self.running[n][p].needs);
            chosen.push(p);
        }
        (node.lacks(needs).is_none() && !chosen.is_empty()).then_some(chosen)
    }

    /// Evicts the pods `victims` of node `n` for `preemptor`; each victim that fits on no
    /// other node stalls its workload.
    fn preempt(&mut self, n: usize, mut victims: Vec<usize>, preemptor: &str, priority: i64) {
        victims.sort_unstable_by(|a, b| b.cmp(a));
        let evicted: Vec<Running> = victims
            .into_iter()
            .map(|p| self.running[n].remove(p))
            .collect();
        for pod in &evicted {
            self.nodes[n].give_back(&pod.needs);
        }
        let node_name = self.nodes[n].node.name.clone();
        for pod in evicted {
            if let Some(list) = self.pods.get_mut(&pod.object) {
                if let Some(at) = list.iter().position(|x| *x == node_name) {
                    list.remove(at);
                }
            }
            let elsewhere = (0..self.nodes.len()).find(|&m| {
                m != n
                    && pod.needs.excluded_by(&self.nodes[m].node).is_none()
                    && self.nodes[m].lacks(&pod.needs).is_none()
            });
            if let Some(m) = elsewhere {
                self.nodes[m].take(&pod.needs);
                let name = self.nodes[m].node.name.clone();
                self.pods.entry(pod.object).or_default().push(name);
                self.running[m].push(pod);
                continue;
            }
            let o = &self.input.objects[pod.object];
            let Some(spec) = o.doc.pod_spec() else {
                continue;
            };
            let stall = self.stall(
                o,
                self.keys[pod.object],
                spec.pointer,
                class::PREEMPTED,
                format!(
                    "its pod on {node_name} is preempted by {preemptor} (priority {priority} > {}) and no other node has room for it",
                    pod.priority
                ),
            );
            self.evicted.push((pod.object, stall));
        }
    }

    fn schedule(
        &mut self,
        index: usize,
        o: &Object<'_>,
        key: Key,
        spec: &homelab_k8s::PodSpec<'_>,
        stalls: &mut Vec<Stall>,
    ) {
        let doc = o.doc;
        let kind = doc.kind().unwrap_or_default();
        if self.nodes.is_empty() {
            return;
        }
        let needs = PodNeeds::of(spec);
        let label = format!("{kind} {}", short_name(doc));
        let priority = self.priority_of(spec);
        if let Some(cause) = self.priority_class_missing(spec, key) {
            stalls.push(self.stall(o, key, spec.pointer, class::ADMISSION, cause));
            return;
        }
        if kind == "DaemonSet" {
            let device_plugin = is_device_plugin(spec);
            if device_plugin {
                self.assumptions.insert(format!(
                    "{label} (NVIDIA k8s-device-plugin image) advertises nvidia.com/gpu on the nodes it runs on"
                ));
            }
            let mut placed = Vec::new();
            let mut excluded = Vec::new();
            for n in 0..self.nodes.len() {
                let node = &self.nodes[n];
                if let Some(why) = needs.excluded_by(&node.node) {
                    if device_plugin && node.node.gpus > 0 {
                        self.device_plugin_skipped
                            .entry(node.node.name.clone())
                            .or_insert_with(|| format!("{label}: {why}"));
                    }
                    excluded.push(format!("{}: {why}", node.node.name));
                    continue;
                }
                if node.lacks(&needs).is_some() {
                    if let Some(victims) = self.victims(n, &needs, priority) {
                        self.preempt(n, victims, &label, priority);
                    }
                }
                let node = &self.nodes[n];
                if let Some(why) = node.lacks(&needs) {
                    let name = node.node.name.clone();
                    stalls.push(self.stall(
                        o,
                        key,
                        spec.pointer,
                        class::OVERCOMMITTED,
                        format!("its pod on node {name} stays Pending: {why}"),
                    ));
                    continue;
                }
                self.nodes[n].take(&needs);
                self.running[n].push(Running {
                    object: index,
                    priority,
                    needs: needs.clone(),
                });
                if device_plugin {
                    self.nodes[n].gpu_advertised = true;
                }
                placed.push(self.nodes[n].node.name.clone());
            }
            // A node its selectors pick but whose taint it does not tolerate: the DaemonSet
            // was meant to run there. One that no node's labels match runs nowhere by
            // design (ArgoCD sees 0 of 0 pods: Healthy), which is only worth a warning.
            let taint_blocked = self.nodes.iter().any(|n| {
                needs
                    .excluded_by(&n.node)
                    .is_some_and(|why| why.starts_with("taint "))
            });
            if placed.is_empty() && !stalls.iter().any(|s| s.object == doc.id()) {
                if taint_blocked {
                    let cause = format!("runs on no node: {}", excluded.join("; "));
                    stalls.push(self.stall(o, key, spec.pointer, class::DAEMONSET_NOWHERE, cause));
                } else {
                    self.warnings.insert(format!(
                        "{}: {} runs on no node ({}): Healthy with 0 pods",
                        where_is(o, spec.pointer),
                        doc.id(),
                        excluded.join("; ")
                    ));
                }
            }
            self.pods.insert(index, placed.clone());
            self.placements.push((label, placed));
            return;
        }
        let replicas = match kind {
            "Deployment" | "StatefulSet" | "ReplicaSet" | "ReplicationController" => doc
                .value
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1),
            "Job" => doc
                .value
                .pointer("/spec/parallelism")
                .and_then(Value::as_i64)
                .unwrap_or(1),
            _ => 1,
        }
        .clamp(0, 1000);
        let mut placed = Vec::new();
        let namespace = self
            .workloads
            .iter()
            .find(|(i, _, _)| *i == index)
            .map(|(_, ns, _)| ns.clone())
            .unwrap_or_else(|| "default".into());
        let claims = claims_of(spec);
        for _ in 0..replicas {
            let mut reasons = Vec::new();
            let mut best: Option<usize> = None;
            let pinned = self.pinned_node(&namespace, &claims);
            for (n, node) in self.nodes.iter().enumerate() {
                if let Some(why) = needs.excluded_by(&node.node) {
                    reasons.push(format!("{}: {why}", node.node.name));
                    continue;
                }
                if let Some((at, why)) = &pinned {
                    if *at != node.node.name {
                        reasons.push(format!("{}: {why}", node.node.name));
                        continue;
                    }
                }
                if let Some(why) = node.lacks(&needs) {
                    reasons.push(format!("{}: {why}", node.node.name));
                    continue;
                }
                let free = node.node.cpu - node.cpu_used;
                if best.is_none_or(|b| free > self.nodes[b].node.cpu - self.nodes[b].cpu_used) {
                    best = Some(n);
                }
            }
            if best.is_none() {
                // Preemption: the node where the fewest lower-priority pods make room.
                let candidate = (0..self.nodes.len())
                    .filter(|&n| needs.excluded_by(&self.nodes[n].node).is_none())
                    .filter_map(|n| self.victims(n, &needs, priority).map(|v| (n, v)))
                    .min_by_key(|(_, v)| v.len());
                if let Some((n, victims)) = candidate {
                    self.preempt(n, victims, &label, priority);
                    if self.nodes[n].lacks(&needs).is_none() {
                        best = Some(n);
                    }
                }
            }
            match best {
                Some(n) => {
                    self.nodes[n].take(&needs);
                    self.running[n].push(Running {
                        object: index,
                        priority,
                        needs: needs.clone(),
                    });
                    placed.push(n);
                    if let Some((pointer, cause)) =
                        self.volumes_blocked(&namespace, &claims, n, key)
                    {
                        stalls.push(self.stall(
                            o,
                            key,
                            &format!("{}{pointer}", spec.pointer),
                            class::STORAGE_UNAVAILABLE,
                            cause,
                        ));
                        break;
                    }
                }
                None => {
                    let (class, cause) = self.unschedulable_cause(&needs, reasons);
                    stalls.push(self.stall(
                        o,
                        key,
                        spec.pointer,
                        class,
                        format!("Pending: {cause}"),
                    ));
                    break;
                }
            }
        }
        if kind == "Job"
            || kind == "Pod"
                && doc
                    .value
                    .pointer("/spec/restartPolicy")
                    .and_then(Value::as_str)
                    == Some("Never")
        {
            // Jobs complete and give their room back.
            for &n in &placed {
                self.nodes[n].give_back(&needs);
                if let Some(at) = self.running[n].iter().rposition(|r| r.object == index) {
                    self.running[n].remove(at);
                }
            }
        }
        let names: Vec<String> = placed
            .iter()
            .map(|&n| self.nodes[n].node.name.clone())
            .collect();
        self.pods.insert(index, names.clone());
        self.placements.push((label, names));
    }

    /// The reason chain of a pod no node takes; a missing extended resource names the device
    /// plugin that should have advertised it.
    fn unschedulable_cause(
        &self,
        needs: &PodNeeds,
        reasons: Vec<String>,
    ) -> (&'static str, String) {
        if needs.extended.contains_key(NVIDIA_GPU) {
            let gpu_nodes: Vec<&NodeState> =
                self.nodes.iter().filter(|n| n.node.gpus > 0).collect();
            if gpu_nodes.is_empty() {
                return (
                    class::UNSCHEDULABLE,
                    format!(
                        "needs {NVIDIA_GPU}: no node has a GPU ({})",
                        reasons.join("; ")
                    ),
                );
            }
            if self.input.incomplete
                && gpu_nodes
                    .iter()
                    .all(|n| !self.device_plugin_skipped.contains_key(&n.node.name))
            {
                return (
                    class::UNSCHEDULABLE,
                    format!("0/{} nodes fit: {}", self.nodes.len(), reasons.join("; ")),
                );
            }
            let unadvertised: Vec<String> = gpu_nodes
                .iter()
                .filter(|n| !n.gpu_advertised && needs.excluded_by(&n.node).is_none())
                .map(|n| match self.device_plugin_skipped.get(&n.node.name) {
                    Some(why) => {
                        format!("the device plugin does not run on {} ({why})", n.node.name)
                    }
                    None => format!(
                        "no device plugin DaemonSet runs on {} before this wave",
                        n.node.name
                    ),
                })
                .collect();
            if !unadvertised.is_empty() {
                return (
                    class::NO_DEVICE_PLUGIN,
                    format!("needs {NVIDIA_GPU}: {}", unadvertised.join("; ")),
                );
            }
        }
        let capacity_only =
            !reasons.is_empty() && reasons.iter().all(|r| r.contains("insufficient"));
        let class = if capacity_only {
            class::OVERCOMMITTED
        } else {
            class::UNSCHEDULABLE
        };
        (
            class,
            format!("0/{} nodes fit: {}", self.nodes.len(), reasons.join("; ")),
        )
    }
}

/// Why the SealedSecrets controller cannot unseal `doc` (with the pointer to blame), or
/// `None` when it has the shape of something it can unseal.
fn unsealable(doc: &homelab_manifest::Document) -> Option<(String, String)> {
    if let Some(Value::Object(data)) = doc.value.pointer("/spec/encryptedData") {
        for (k, v) in data {
            if let Some(why) = sealed::malformed(k, v) {
                let pointer = format!(
                    "/spec/encryptedData/{}",
                    k.replace('~', "~0").replace('/', "~1")
                );
                return Some((pointer, why));
            }
        }
    }
    let strict = doc.annotation("sealedsecrets.bitnami.com/namespace-wide") != Some("true")
        && doc.annotation("sealedsecrets.bitnami.com/cluster-wide") != Some("true");
    let template_name = doc
        .value
        .pointer("/spec/template/metadata/name")
        .and_then(Value::as_str);
    if let (true, Some(t), Some(n)) = (strict, template_name, doc.name()) {
        if t != n {
            return Some(("/spec/template/metadata/name".to_string(), format!(
                "strict scope binds the data to the SealedSecret's own name `{n}`, but the template names the Secret `{t}`"
            )));
        }
    }
    None
}

/// The labels of the pods `spec` makes (its template's, or a Pod's own).
fn pod_labels(doc: &homelab_manifest::Document, spec: &homelab_k8s::PodSpec<'_>) -> Labels {
    let base = spec.pointer.strip_suffix("/spec").unwrap_or("");
    selector::labels_at(doc.value.pointer(&format!("{base}/metadata/labels")))
}

/// Where an object's part is, for a cause that names another object: its file:line, or the
/// chart and values it was rendered from.
fn where_is(o: &Object<'_>, pointer: &str) -> String {
    match &o.origin {
        Some(origin) => format!("{}, values at {}", origin.description, origin.at),
        None => o.location(pointer).to_string(),
    }
}

/// The Services an Ingress or a Traefik IngressRoute sends traffic to: ((name, namespace if
/// given), port if given as a number, pointer).
/// A backend of an Ingress: (Service name, its namespace when given), port number when
/// given, pointer.
type Backend = ((String, Option<String>), Option<u16>, String);

fn ingress_backends(o: &Object<'_>) -> Vec<Backend> {
    let doc = o.doc;
    let mut out = Vec::new();
    let port_of = |p: Option<&Value>| {
        p.and_then(Value::as_u64)
            .and_then(|n| u16::try_from(n).ok())
    };
    match (doc.group(), doc.kind().unwrap_or_default()) {
        ("networking.k8s.io", "Ingress") => {
            if let Some(b) = doc.value.pointer("/spec/defaultBackend/service") {
                if let Some(name) = b.get("name").and_then(Value::as_str) {
                    out.push((
                        (name.to_string(), None),
                        port_of(b.pointer("/port/number")),
                        "/spec/defaultBackend".to_string(),
                    ));
                }
            }
            for (r, rule) in doc
                .value
                .pointer("/spec/rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                for (p, path) in rule
                    .pointer("/http/paths")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let Some(b) = path.pointer("/backend/service") else {
                        continue;
                    };
                    let Some(name) = b.get("name").and_then(Value::as_str) else {
                        continue;
                    };
                    out.push((
                        (name.to_string(), None),
                        port_of(b.pointer("/port/number")),
                        format!("/spec/rules/{r}/http/paths/{p}/backend"),
                    ));
                }
            }
        }
        ("traefik.io" | "traefik.containo.us", "IngressRoute" | "IngressRouteTCP") => {
            for (r, route) in doc
                .value
                .pointer("/spec/routes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                for (s, svc) in route
                    .get("services")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    if svc
                        .get("kind")
                        .and_then(Value::as_str)
                        .is_some_and(|k| k != "Service")
                    {
                        continue;
                    }
                    let Some(name) = svc.get("name").and_then(Value::as_str) else {
                        continue;
                    };
                    out.push((
                        (
                            name.to_string(),
                            svc.get("namespace")
                                .and_then(Value::as_str)
                                .map(str::to_string),
                        ),
                        port_of(svc.get("port")),
                        format!("/spec/routes/{r}/services/{s}"),
                    ));
                }
            }
        }
        _ => {}
    }
    out
}

/// The repository URLs of an Application's sources, with their pointers.
fn repo_urls(o: &Object<'_>) -> Vec<(String, String)> {
    let spec = &o.doc.value["spec"];
    let mut out = Vec::new();
    if let Some(url) = spec.pointer("/source/repoURL").and_then(Value::as_str) {
        out.push((url.to_string(), "/spec/source/repoURL".to_string()));
    }
    for (i, s) in spec
        .get("sources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(url) = s.get("repoURL").and_then(Value::as_str) {
            out.push((url.to_string(), format!("/spec/sources/{i}/repoURL")));
        }
    }
    out
}

/// Provisioners whose volumes live on one node's disk.
fn is_local_provisioner(provisioner: &str) -> bool {
    matches!(
        provisioner,
        "rancher.io/local-path" | "kubernetes.io/no-provisioner" | "openebs.io/local"
    ) || provisioner.contains("local-path")
        || provisioner.contains("lvm")
        || provisioner.contains("topolvm")
}

/// The claims a pod mounts: (claim name, pointer under the pod spec).
fn claims_of(spec: &homelab_k8s::PodSpec<'_>) -> Vec<(String, String)> {
    spec.get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, v)| {
            let claim = v
                .pointer("/persistentVolumeClaim/claimName")
                .and_then(Value::as_str)?;
            Some((claim.to_string(), format!("/volumes/{i}")))
        })
        .collect()
}

/// Where a Secret comes from.
enum SecretSource {
    /// A Secret object of the repository (or of a chart).
    Plain(Key),
    /// A SealedSecret: its id, wave, and why it cannot be unsealed (if it cannot).
    Sealed(String, Key, Option<String>),
}

/// The Secrets a pod cannot start without (`optional: true` references left out), with the
/// pointer of each reference.
fn required_secrets(spec: &homelab_k8s::PodSpec<'_>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let required = |v: &Value| v.get("optional").and_then(Value::as_bool) != Some(true);
    // The two ways a container names a Secret: one key (`env[].valueFrom.secretKeyRef`) or
    // all of them (`envFrom[].secretRef`).
    const CONTAINER_REFERENCES: [(&str, &str); 2] = [
        ("env", "/valueFrom/secretKeyRef"),
        ("envFrom", "/secretRef"),
    ];
    for c in spec.containers() {
        for (list, reference) in CONTAINER_REFERENCES {
            let entries = c.value.get(list).and_then(Value::as_array);
            for (i, e) in entries.into_iter().flatten().enumerate() {
                let Some(r) = e.pointer(reference) else {
                    continue;
                };
                if let (Some(name), true) = (r.get("name").and_then(Value::as_str), required(r)) {
                    out.push((name.to_string(), format!("{}/{list}/{i}", c.pointer)));
                }
            }
        }
    }
    for (i, v) in spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(r) = v.get("secret") {
            if let (Some(name), true) = (r.get("secretName").and_then(Value::as_str), required(r)) {
                out.push((name.to_string(), format!("{}/volumes/{i}", spec.pointer)));
            }
        }
    }
    out
}

/// NVIDIA's device plugin (its image), which advertises `nvidia.com/gpu`.
fn is_device_plugin(spec: &homelab_k8s::PodSpec<'_>) -> bool {
    spec.containers()
        .iter()
        .any(|c| c.image().is_some_and(|i| i.contains("k8s-device-plugin")))
}

fn short_name(doc: &homelab_manifest::Document) -> String {
    match doc.namespace() {
        Some(ns) => format!("{ns}/{}", doc.name().unwrap_or("?")),
        None => doc.name().unwrap_or("?").to_string(),
    }
}
