//! The rollout itself: objects ordered as ArgoCD applies them, each checked against what
//! exists by then and scheduled on the nodes.

use crate::cluster::{Node, NVIDIA_GPU};
use crate::pod::PodNeeds;
use crate::{class, pss, sealed, Input, Object, Simulation, Stall, Wave};
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

/// The annotation that makes ArgoCD leave an object out of its health assessment.
const IGNORE_HEALTH: &str = "argocd.argoproj.io/ignore-healthcheck";

/// Kinds without a namespace (a namespace set on them is ignored by the API server).
const CLUSTER_SCOPED: &[&str] = &[
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

fn wave_of(doc: &homelab_manifest::Document) -> i64 {
    doc.annotation("argocd.argoproj.io/sync-wave")
        .and_then(|w| w.trim().parse().ok())
        .or_else(|| {
            doc.annotations()?
                .get("argocd.argoproj.io/sync-wave")?
                .as_i64()
        })
        .unwrap_or(0)
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
    for o in &input.objects {
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

    let key_of = |o: &Object<'_>| -> Key {
        let own = wave_of(o.doc);
        let stage = o
            .application
            .as_ref()
            .and_then(|a| applications.get(a))
            .map_or(own, |a| a.wave);
        (stage, own, kind_rank(o.doc.kind().unwrap_or_default()))
    };
    let mut order: Vec<usize> = (0..input.objects.len()).collect();
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
    }
    // Facts that do not depend on order: which claims pods mount, which classes exist,
    // which namespaces get which Pod Security level, whether a SealedSecrets controller runs.
    for o in &input.objects {
        let doc = o.doc;
        let kind = doc.kind().unwrap_or_default();
        if let Some(spec) = doc.pod_spec() {
            let ns = namespace_of(o, &applications);
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

    let mut waves: BTreeMap<i64, Wave> = BTreeMap::new();
    let mut unhealthy = BTreeSet::new();
    for &i in &order {
        let o = &input.objects[i];
        let key = key_of(o);
        let wave = waves.entry(key.0).or_insert_with(|| Wave {
            wave: key.0,
            ..Wave::default()
        });
        let mut stalls = Vec::new();
        state.apply(i, o, key, &applications, &mut stalls);
        if !stalls.is_empty() {
            unhealthy.insert(i);
        }
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
        }
        wave.stalls.extend(stalls);
    }
    Simulation {
        waves: waves.into_values().collect(),
        assumptions: state.assumptions.into_iter().collect(),
        placements: state.placements,
        pods: state.pods,
        unhealthy,
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
            None => (o.doc.location(pointer), cause),
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
                Some(SecretSource::Sealed(id, made, None)) if made.0 > key.0 => format!(
                    "its pods cannot start before wave {} creates Secret `{ns}/{name}` ({id}), and that wave waits for this one",
                    made.0
                ),
                Some(SecretSource::Plain(made)) if made.0 > key.0 => format!(
                    "its pods cannot start before wave {} creates Secret `{ns}/{name}`, and that wave waits for this one",
                    made.0
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
        let Some((mode, _)) = self.storage_classes.get(&class_name) else {
            self.assumptions.insert(format!(
                "StorageClass `{class_name}` exists in the cluster (the repository does not define it)"
            ));
            return;
        };
        let name = doc.name().unwrap_or_default().to_string();
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
                if device_plugin {
                    self.nodes[n].gpu_advertised = true;
                }
                placed.push(self.nodes[n].node.name.clone());
            }
            let selects_some = self.nodes.iter().any(|n| {
                needs
                    .node_selector
                    .iter()
                    .all(|(k, v)| n.node.labels.get(k) == Some(v))
            });
            if placed.is_empty() && !stalls.iter().any(|s| s.object == doc.id()) {
                let cause = if selects_some {
                    format!("runs on no node: {}", excluded.join("; "))
                } else {
                    format!(
                        "runs on no node: no node matches its nodeSelector ({})",
                        excluded.join("; ")
                    )
                };
                stalls.push(self.stall(o, key, spec.pointer, class::DAEMONSET_NOWHERE, cause));
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
        for _ in 0..replicas {
            let mut reasons = Vec::new();
            let mut best: Option<usize> = None;
            for (n, node) in self.nodes.iter().enumerate() {
                if let Some(why) = needs.excluded_by(&node.node) {
                    reasons.push(format!("{}: {why}", node.node.name));
                    continue;
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
            match best {
                Some(n) => {
                    self.nodes[n].take(&needs);
                    placed.push(n);
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
    for c in spec.containers() {
        for (i, e) in c
            .value
            .get("env")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(r) = e.pointer("/valueFrom/secretKeyRef") {
                if let (Some(name), true) = (r.get("name").and_then(Value::as_str), required(r)) {
                    out.push((name.to_string(), format!("{}/env/{i}", c.pointer)));
                }
            }
        }
        for (i, e) in c
            .value
            .get("envFrom")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(r) = e.get("secretRef") {
                if let (Some(name), true) = (r.get("name").and_then(Value::as_str), required(r)) {
                    out.push((name.to_string(), format!("{}/envFrom/{i}", c.pointer)));
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
