//! The predicted converged cluster in the shape `kubectl get -A -o yaml` prints: every object
//! of the rollout with the status its controller would set, the Pods of each workload on
//! the nodes the simulation placed them, the Nodes, and the Secret each unsealed
//! SealedSecret becomes (key names only, no values). `homelab verify --snapshot` reads it.

use crate::{ApplicationState, Input, Simulation};
use homelab_k8s::ResourceExt;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};

/// Marks what the simulation made up (Pods, Nodes, controller-made Secrets), so that nobody
/// mistakes a predicted object for an observed one.
const SIMULATED: &str = "homelab.dev/simulated";

/// Set on an Application whose objects the simulation could not know (its Helm chart was
/// not rendered): `homelab verify` judges what depends on them "not checkable".
const NOT_SIMULATED: &str = "homelab.dev/not-simulated";

/// Whether a healthy Deployment of the rollout runs an image containing `image`.
fn controller_runs(
    input: &Input<'_>,
    sim: &Simulation,
    placement: &Placement<'_>,
    image: &str,
) -> Option<String> {
    input.objects.iter().enumerate().find_map(|(i, o)| {
        let spec = o.doc.pod_spec()?;
        let runs = o.doc.kind() == Some("Deployment")
            && !sim.unhealthy.contains(&i)
            && sim.pods.get(&i).is_some_and(|p| !p.is_empty())
            && spec
                .containers()
                .iter()
                .any(|c| c.image().is_some_and(|x| x.contains(image)));
        runs.then(|| placement.namespace(o).unwrap_or("default").to_string())
    })
}

/// Where the API server puts each object: its own namespace, else (namespaced kinds only)
/// its Application's destination namespace, else `default`.
struct Placement<'i> {
    cluster_kinds: HashSet<&'i str>,
    destinations: HashMap<&'i str, &'i str>,
}

impl<'i> Placement<'i> {
    fn new(input: &'i Input<'_>) -> Self {
        let mut cluster_kinds: HashSet<&str> =
            crate::engine::CLUSTER_SCOPED.iter().copied().collect();
        let mut destinations = HashMap::new();
        for o in &input.objects {
            let v = &o.doc.value;
            match (o.doc.group(), o.doc.kind()) {
                ("apiextensions.k8s.io", Some("CustomResourceDefinition"))
                    if v.pointer("/spec/scope").and_then(Value::as_str) == Some("Cluster") =>
                {
                    if let Some(k) = v.pointer("/spec/names/kind").and_then(Value::as_str) {
                        cluster_kinds.insert(k);
                    }
                }
                ("argoproj.io", Some("Application")) => {
                    if let (Some(name), Some(ns)) = (
                        o.doc.name(),
                        v.pointer("/spec/destination/namespace")
                            .and_then(Value::as_str),
                    ) {
                        destinations.insert(name, ns);
                    }
                }
                _ => {}
            }
        }
        Placement {
            cluster_kinds,
            destinations,
        }
    }

    fn namespace(&self, o: &crate::Object<'i>) -> Option<&'i str> {
        let kind = o.doc.kind().unwrap_or_default();
        if self.cluster_kinds.contains(kind) {
            return None;
        }
        o.doc.namespace().or_else(|| {
            Some(
                o.application
                    .as_deref()
                    .and_then(|a| self.destinations.get(a).copied())
                    .unwrap_or("default"),
            )
        })
    }
}

/// A `kind: List` of the converged cluster.
pub fn snapshot(input: &Input<'_>, sim: &Simulation) -> Value {
    let mut items = Vec::new();
    let placement = Placement::new(input);
    let sealing_controller = controller_runs(input, sim, &placement, "sealed-secrets-controller");
    let kyverno = controller_runs(input, sim, &placement, "kyverno/kyverno").is_some();
    if let Some(ns) = &sealing_controller {
        // The controller generates its sealing key at first start (names only, no values).
        items.push(json!({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": "sealed-secrets-key", "namespace": ns,
                "labels": {"sealedsecrets.bitnami.com/sealed-secrets-key": "active"},
                "annotations": {SIMULATED: "true"}},
            "data": {"tls.crt": "", "tls.key": ""},
        }));
    }
    for node in &input.nodes {
        let taints: Vec<Value> = node
            .taints
            .iter()
            .map(|t| json!({"key": t.key, "value": t.value, "effect": t.effect}))
            .collect();
        let mut allocatable = json!({
            "cpu": format!("{}m", node.cpu / 1_000_000),
            "memory": format!("{}Ki", node.memory / crate::NANO / 1024),
        });
        if node.gpus > 0 && sim.pods.values().flatten().any(|n| n == &node.name) {
            allocatable[crate::NVIDIA_GPU] = json!(node.gpus.to_string());
        }
        items.push(json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": node.name, "labels": node.labels, "annotations": {SIMULATED: "true"}},
            "spec": {"taints": taints},
            "status": {
                "allocatable": allocatable,
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }));
    }
    // What each Application syncs, and the Applications by index.
    let mut members: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, o) in input.objects.iter().enumerate() {
        if let Some(app) = o.application.as_deref() {
            members.entry(app).or_default().push(i);
        }
    }
    let states: HashMap<usize, &ApplicationState> =
        sim.applications.iter().map(|a| (a.index, a)).collect();
    let apps = Apps {
        members,
        states,
        placement: &placement,
    };
    for (i, object) in input.objects.iter().enumerate() {
        if sim.absent.contains(&i) {
            continue;
        }
        let doc = object.doc;
        let ns = placement.namespace(object);
        let healthy = !sim.unhealthy.contains(&i);
        let mut value = doc.value.clone();
        let nodes = sim.pods.get(&i).cloned().unwrap_or_default();
        let ready = if healthy { nodes.len() } else { 0 };
        let kind = doc.kind().unwrap_or_default();
        let status = match (doc.group(), kind) {
            ("", "Namespace") => Some(json!({"phase": "Active"})),
            ("", "PersistentVolumeClaim") => {
                Some(json!({"phase": if healthy { "Bound" } else { "Pending" }}))
            }
            ("apps", "Deployment") => Some(json!({
                "replicas": nodes.len(), "readyReplicas": ready, "availableReplicas": ready,
                "updatedReplicas": ready,
                "conditions": [{"type": "Available", "status": if healthy { "True" } else { "False" }}],
            })),
            ("apps", "StatefulSet") => Some(json!({
                "replicas": nodes.len(), "readyReplicas": ready, "currentReplicas": ready,
                "availableReplicas": ready,
            })),
            ("apps", "DaemonSet") => Some(json!({
                "desiredNumberScheduled": nodes.len(), "currentNumberScheduled": nodes.len(),
                "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": ready,
            })),
            ("batch", "Job") => Some(if healthy {
                json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]})
            } else {
                json!({"active": 0, "conditions": [{"type": "Failed", "status": "True"}]})
            }),
            ("argoproj.io", "Application") => Some(application_status(input, sim, &apps, i)),
            // A value no key can unseal fails on every cluster; a well-formed one is unsealed
            // by a running controller. When no controller is in the prediction but a chart
            // was not rendered, that chart may install it: the status is not known.
            ("bitnami.com", "SealedSecret") => {
                let synced = healthy && sealing_controller.is_some();
                (synced || !healthy || input.unrendered.is_empty()).then(|| {
                    json!({"conditions": [{"type": "Synced", "status": if synced { "True" } else { "False" }}]})
                })
            }
            ("kyverno.io", "ClusterPolicy" | "Policy") if kyverno => Some(json!({
                "ready": true,
                "conditions": [{"type": "Ready", "status": "True"}],
            })),
            ("apiextensions.k8s.io", "CustomResourceDefinition") => Some(json!({
                "conditions": [{"type": "Established", "status": "True"}],
            })),
            _ => None,
        };
        if let (Some(status), Value::Object(map)) = (status, &mut value) {
            map.insert("status".into(), status);
        }
        if let (Some(ns), None) = (ns, doc.namespace()) {
            if let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) {
                metadata.insert("namespace".into(), json!(ns));
            }
        }
        if let Some((_, why)) = input.unrendered.iter().find(|(u, _)| *u == i) {
            if let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) {
                let annotations = metadata.entry("annotations").or_insert_with(|| json!({}));
                if let Some(a) = annotations.as_object_mut() {
                    a.insert(NOT_SIMULATED.into(), json!(why));
                }
            }
        }
        items.push(value);
        if let Some(spec) = doc.pod_spec() {
            if kind != "CronJob" {
                let phase = if kind == "Job" {
                    "Succeeded"
                } else {
                    "Running"
                };
                for (n, node) in nodes.iter().enumerate() {
                    items.push(pod(doc, ns, &spec, node, n, phase, healthy));
                }
            }
        }
        if healthy
            && sealing_controller.is_some()
            && doc.group() == "bitnami.com"
            && kind == "SealedSecret"
        {
            items.push(unsealed(doc, ns));
        }
    }
    json!({"apiVersion": "v1", "kind": "List", "items": items})
}

/// The Pod a controller creates on `node`.
fn pod(
    owner: &homelab_manifest::Document,
    namespace: Option<&str>,
    spec: &homelab_k8s::PodSpec<'_>,
    node: &str,
    n: usize,
    phase: &str,
    ready: bool,
) -> Value {
    let template_meta = owner
        .value
        .pointer(&format!(
            "{}/metadata",
            spec.pointer.strip_suffix("/spec").unwrap_or_default()
        ))
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut metadata = Map::new();
    metadata.insert(
        "name".into(),
        json!(format!("{}-{n}", owner.name().unwrap_or("pod"))),
    );
    if let Some(ns) = namespace {
        metadata.insert("namespace".into(), json!(ns));
    }
    if let Some(labels) = template_meta.get("labels") {
        metadata.insert("labels".into(), labels.clone());
    }
    metadata.insert("annotations".into(), json!({SIMULATED: "true"}));
    metadata.insert(
        "ownerReferences".into(),
        json!([{"kind": owner.kind(), "name": owner.name()}]),
    );
    let mut pod_spec = spec.spec.clone();
    if let Value::Object(m) = &mut pod_spec {
        m.insert("nodeName".into(), json!(node));
    }
    let statuses: Vec<Value> = spec
        .containers()
        .iter()
        .filter(|c| !c.is_init())
        .map(|c| json!({"name": c.name, "ready": ready && phase == "Running", "image": c.image()}))
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": pod_spec,
        "status": {"phase": if ready { phase } else { "Pending" }, "containerStatuses": statuses},
    })
}

/// The Secret the controller makes of a SealedSecret: its template's metadata and type, and
/// the key names of `encryptedData` with empty values (a snapshot never holds secret values).
fn unsealed(doc: &homelab_manifest::Document, namespace: Option<&str>) -> Value {
    let mut metadata = doc
        .value
        .pointer("/spec/template/metadata")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Value::Object(m) = &mut metadata {
        m.entry("name").or_insert_with(|| json!(doc.name()));
        m.insert("annotations".into(), json!({SIMULATED: "true"}));
        if let Some(ns) = namespace {
            m.entry("namespace").or_insert_with(|| json!(ns));
        }
    }
    let keys: Map<String, Value> = doc
        .value
        .pointer("/spec/encryptedData")
        .and_then(Value::as_object)
        .map(|m| m.keys().map(|k| (k.clone(), json!(""))).collect())
        .unwrap_or_default();
    let kind_type = doc
        .value
        .pointer("/spec/template/type")
        .cloned()
        .unwrap_or_else(|| json!("Opaque"));
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "type": kind_type, "data": keys})
}

/// What Argo CD sets on an Application: its sync and health status, and each object it
/// syncs with its own. A child Application's health appears in its parent's resources only
/// when Argo CD assesses Application health; a never-applied object is OutOfSync and Missing.
fn application_status(
    input: &Input<'_>,
    sim: &Simulation,
    apps: &Apps<'_, '_>,
    index: usize,
) -> Value {
    let doc = input.objects[index].doc;
    let name = doc.name().unwrap_or_default();
    let me = apps.states.get(&index);
    let mut resources = Vec::new();
    for &i in apps.members.get(name).into_iter().flatten() {
        let o = &input.objects[i];
        // Hooks are not resources of their Application (ArgoCD neither lists them nor
        // assesses their health).
        if i == index || sim.hooks.contains(&i) {
            continue;
        }
        let applied = !sim.absent.contains(&i);
        let child = apps
            .states
            .get(&i)
            .filter(|a| a.parent.as_deref() == Some(name));
        let health = match child {
            Some(_) if !sim.assesses_applications => None,
            Some(c) => Some(c.health),
            None if !applied => Some("Missing"),
            None if sim.unhealthy.contains(&i) => Some(match o.doc.kind() {
                Some("PersistentVolumeClaim") => "Progressing",
                _ => "Degraded",
            }),
            None => Some("Healthy"),
        };
        let mut resource = json!({
            "group": o.doc.group(), "kind": o.doc.kind(), "name": o.doc.name(),
            "namespace": apps.placement.namespace(o),
            "status": if applied { "Synced" } else { "OutOfSync" },
        });
        if let Some(h) = health {
            resource["health"] = json!({"status": h});
        }
        resources.push(resource);
    }
    let (sync, health) = me.map_or(("Synced", "Healthy"), |a| (a.sync, a.health));
    let mut health = json!({"status": health});
    if let Some(cause) = me.and_then(|a| a.cause.as_ref()) {
        health["message"] = json!(cause);
    }
    json!({
        "sync": {"status": sync},
        "health": health,
        "resources": resources,
    })
}

/// What each Application syncs, and the state of each Application (by object index).
struct Apps<'s, 'i> {
    members: HashMap<&'i str, Vec<usize>>,
    states: HashMap<usize, &'s ApplicationState>,
    placement: &'s Placement<'i>,
}
