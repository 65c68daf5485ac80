//! The platform derived from a [`Config`]: node roles resolved, replica counts, placement of
//! every workload, namespaces with their Pod Security level, ArgoCD Applications with their
//! waves, and per-node budgets. Both the renderer and `homelab plan` read this one model, so
//! what the plan shows is what the files say.

use crate::config::{Config, COMPONENTS};
use serde::Serialize;
use std::collections::BTreeMap;

/// One container group the platform runs, with the resources its manifests/values request.
#[derive(Debug, Clone, Serialize)]
pub struct Workload {
    /// Stable key, also used by the templates (`gitlab-webservice`).
    pub key: &'static str,
    /// Component key (`gitlab`).
    pub component: &'static str,
    /// Where it runs.
    pub placement: Placement,
    /// Replicas counted in the budget (per node for `EveryNode`).
    pub replicas: u32,
    pub requests_cpu: &'static str,
    pub requests_memory: &'static str,
    pub limits_cpu: &'static str,
    pub limits_memory: &'static str,
    /// `nvidia.com/gpu` requested per replica.
    pub gpu: u32,
}

/// Where a workload goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// The component's node (default: the primary general node).
    Primary,
    /// The first GPU node.
    Gpu,
    /// One per node (DaemonSet).
    EveryNode,
}

/// The static catalog: what each component runs and requests. The templates render these
/// exact numbers (through the `resources` function), so budgets and files never disagree.
const CATALOG: &[Workload] = &[
    Workload {
        key: "longhorn-manager",
        component: "longhorn",
        placement: Placement::EveryNode,
        replicas: 1,
        requests_cpu: "100m",
        requests_memory: "256Mi",
        limits_cpu: "1",
        limits_memory: "1Gi",
        gpu: 0,
    },
    Workload {
        key: "longhorn-ui",
        component: "longhorn",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "10m",
        requests_memory: "32Mi",
        limits_cpu: "100m",
        limits_memory: "128Mi",
        gpu: 0,
    },
    Workload {
        key: "cert-manager",
        component: "cert_manager",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "50m",
        requests_memory: "64Mi",
        limits_cpu: "200m",
        limits_memory: "256Mi",
        gpu: 0,
    },
    Workload {
        key: "cert-manager-webhook",
        component: "cert_manager",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "20m",
        requests_memory: "32Mi",
        limits_cpu: "100m",
        limits_memory: "64Mi",
        gpu: 0,
    },
    Workload {
        key: "cert-manager-cainjector",
        component: "cert_manager",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "20m",
        requests_memory: "64Mi",
        limits_cpu: "200m",
        limits_memory: "256Mi",
        gpu: 0,
    },
    Workload {
        key: "kyverno-admission",
        component: "kyverno",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "100m",
        requests_memory: "256Mi",
        limits_cpu: "1",
        limits_memory: "512Mi",
        gpu: 0,
    },
    Workload {
        key: "kyverno-background",
        component: "kyverno",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "100m",
        requests_memory: "128Mi",
        limits_cpu: "500m",
        limits_memory: "256Mi",
        gpu: 0,
    },
    Workload {
        key: "kyverno-cleanup",
        component: "kyverno",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "50m",
        requests_memory: "64Mi",
        limits_cpu: "200m",
        limits_memory: "128Mi",
        gpu: 0,
    },
    Workload {
        key: "kyverno-reports",
        component: "kyverno",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "50m",
        requests_memory: "128Mi",
        limits_cpu: "500m",
        limits_memory: "256Mi",
        gpu: 0,
    },
    Workload {
        key: "sealed-secrets",
        component: "sealed_secrets",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "50m",
        requests_memory: "64Mi",
        limits_cpu: "200m",
        limits_memory: "128Mi",
        gpu: 0,
    },
    Workload {
        key: "argocd-server",
        component: "argocd",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "100m",
        requests_memory: "256Mi",
        limits_cpu: "500m",
        limits_memory: "512Mi",
        gpu: 0,
    },
    Workload {
        key: "argocd-repo-server",
        component: "argocd",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "100m",
        requests_memory: "256Mi",
        limits_cpu: "1",
        limits_memory: "1Gi",
        gpu: 0,
    },
    Workload {
        key: "argocd-application-controller",
        component: "argocd",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "250m",
        requests_memory: "512Mi",
        limits_cpu: "1",
        limits_memory: "2Gi",
        gpu: 0,
    },
    Workload {
        key: "argocd-applicationset",
        component: "argocd",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "50m",
        requests_memory: "128Mi",
        limits_cpu: "250m",
        limits_memory: "256Mi",
        gpu: 0,
    },
    Workload {
        key: "argocd-redis",
        component: "argocd",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "50m",
        requests_memory: "64Mi",
        limits_cpu: "200m",
        limits_memory: "256Mi",
        gpu: 0,
    },
    Workload {
        key: "gitlab-webservice",
        component: "gitlab",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "300m",
        requests_memory: "2.5Gi",
        limits_cpu: "2000m",
        limits_memory: "4Gi",
        gpu: 0,
    },
    Workload {
        key: "gitlab-sidekiq",
        component: "gitlab",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "100m",
        requests_memory: "650Mi",
        limits_cpu: "1000m",
        limits_memory: "1.5Gi",
        gpu: 0,
    },
    Workload {
        key: "gitlab-gitaly",
        component: "gitlab",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "100m",
        requests_memory: "200Mi",
        limits_cpu: "1500m",
        limits_memory: "1Gi",
        gpu: 0,
    },
    Workload {
        key: "gitlab-postgresql",
        component: "gitlab",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "100m",
        requests_memory: "256Mi",
        limits_cpu: "1000m",
        limits_memory: "1Gi",
        gpu: 0,
    },
    Workload {
        key: "gitlab-redis",
        component: "gitlab",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "50m",
        requests_memory: "64Mi",
        limits_cpu: "500m",
        limits_memory: "256Mi",
        gpu: 0,
    },
    Workload {
        key: "gitlab-registry",
        component: "gitlab",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "50m",
        requests_memory: "128Mi",
        limits_cpu: "500m",
        limits_memory: "512Mi",
        gpu: 0,
    },
    Workload {
        key: "gitlab-shell",
        component: "gitlab",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "20m",
        requests_memory: "64Mi",
        limits_cpu: "200m",
        limits_memory: "128Mi",
        gpu: 0,
    },
    Workload {
        key: "gitlab-toolbox",
        component: "gitlab",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "50m",
        requests_memory: "256Mi",
        limits_cpu: "500m",
        limits_memory: "1Gi",
        gpu: 0,
    },
    Workload {
        key: "gitlab-minio",
        component: "gitlab",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "50m",
        requests_memory: "128Mi",
        limits_cpu: "500m",
        limits_memory: "512Mi",
        gpu: 0,
    },
    Workload {
        key: "gitlab-runner",
        component: "gitlab_runner",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "50m",
        requests_memory: "64Mi",
        limits_cpu: "200m",
        limits_memory: "256Mi",
        gpu: 0,
    },
    Workload {
        key: "gitlab-runner-job",
        component: "gitlab_runner",
        placement: Placement::Primary,
        replicas: 0,
        requests_cpu: "500m",
        requests_memory: "1Gi",
        limits_cpu: "2",
        limits_memory: "4Gi",
        gpu: 0,
    },
    Workload {
        key: "arc-controller",
        component: "arc",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "50m",
        requests_memory: "64Mi",
        limits_cpu: "500m",
        limits_memory: "256Mi",
        gpu: 0,
    },
    Workload {
        key: "arc-listener",
        component: "arc",
        placement: Placement::Primary,
        replicas: 2,
        requests_cpu: "20m",
        requests_memory: "32Mi",
        limits_cpu: "100m",
        limits_memory: "128Mi",
        gpu: 0,
    },
    Workload {
        key: "arc-runner-standard",
        component: "arc",
        placement: Placement::Primary,
        replicas: 0,
        requests_cpu: "500m",
        requests_memory: "1Gi",
        limits_cpu: "2",
        limits_memory: "4Gi",
        gpu: 0,
    },
    Workload {
        key: "arc-runner-gpu",
        component: "arc",
        placement: Placement::Gpu,
        replicas: 0,
        requests_cpu: "500m",
        requests_memory: "2Gi",
        limits_cpu: "4",
        limits_memory: "8Gi",
        gpu: 1,
    },
    Workload {
        key: "nvidia-device-plugin",
        component: "nvidia_device_plugin",
        placement: Placement::Gpu,
        replicas: 1,
        requests_cpu: "10m",
        requests_memory: "32Mi",
        limits_cpu: "100m",
        limits_memory: "128Mi",
        gpu: 0,
    },
    Workload {
        key: "ollama",
        component: "ollama",
        placement: Placement::Gpu,
        replicas: 1,
        requests_cpu: "2",
        requests_memory: "8Gi",
        limits_cpu: "8",
        limits_memory: "24Gi",
        gpu: 1,
    },
    Workload {
        key: "ollama-cpu-fallback",
        component: "ollama",
        placement: Placement::Primary,
        replicas: 0,
        requests_cpu: "4",
        requests_memory: "8Gi",
        limits_cpu: "16",
        limits_memory: "32Gi",
        gpu: 0,
    },
    Workload {
        key: "litellm",
        component: "litellm",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "100m",
        requests_memory: "256Mi",
        limits_cpu: "1",
        limits_memory: "1Gi",
        gpu: 0,
    },
    Workload {
        key: "open-webui",
        component: "open_webui",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "100m",
        requests_memory: "512Mi",
        limits_cpu: "1",
        limits_memory: "2Gi",
        gpu: 0,
    },
    Workload {
        key: "n8n",
        component: "n8n",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "100m",
        requests_memory: "256Mi",
        limits_cpu: "1",
        limits_memory: "1Gi",
        gpu: 0,
    },
    Workload {
        key: "searxng",
        component: "searxng",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "50m",
        requests_memory: "128Mi",
        limits_cpu: "500m",
        limits_memory: "512Mi",
        gpu: 0,
    },
    Workload {
        key: "trivy-operator",
        component: "trivy_operator",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "100m",
        requests_memory: "256Mi",
        limits_cpu: "1",
        limits_memory: "1Gi",
        gpu: 0,
    },
    Workload {
        key: "trivy-scan-job",
        component: "trivy_operator",
        placement: Placement::Primary,
        replicas: 1,
        requests_cpu: "100m",
        requests_memory: "128Mi",
        limits_cpu: "500m",
        limits_memory: "512Mi",
        gpu: 0,
    },
];

/// A namespace the repository creates, with its Pod Security Standards level.
#[derive(Debug, Clone, Serialize)]
pub struct Namespace {
    pub name: String,
    /// `baseline` or `privileged` (enforce); audit/warn are `restricted` for baseline ones.
    pub enforce: &'static str,
    pub audit: &'static str,
    pub warn: &'static str,
    /// Why it is privileged, when it is.
    pub reason: &'static str,
    /// Component keys living here.
    pub components: Vec<String>,
}

/// One ArgoCD Application.
#[derive(Debug, Clone, Serialize)]
pub struct App {
    pub name: String,
    /// `infrastructure` or `apps`.
    pub group: &'static str,
    pub component: &'static str,
    pub namespace: String,
    pub wave: i32,
    /// Chart source (multi-source with `$values`) ...
    pub chart: Option<AppChart>,
    /// ... or a path in this repository (kustomize).
    pub path: Option<String>,
    /// Storage classes its volumes use.
    pub storage_classes: Vec<String>,
    /// Nodes it runs on.
    pub nodes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AppChart {
    pub repo: String,
    pub name: String,
    pub version: String,
    /// `$values/...` file.
    pub values: String,
}

/// A derived node.
#[derive(Debug, Clone, Serialize)]
pub struct NodeInfo {
    pub name: String,
    /// LAN IPv4 address.
    pub address: String,
    /// Runs the k3s server (API server on `address`:6443).
    pub server: bool,
    pub cores: u32,
    pub memory_gb: u32,
    pub storage: bool,
    pub gpu: bool,
    pub gpu_count: u32,
    pub gpu_model: String,
    pub vram_gb: u32,
}

/// Requests on one node against its capacity.
#[derive(Debug, Clone, Serialize)]
pub struct Budget {
    pub node: String,
    pub cpu_requested_m: u64,
    pub cpu_capacity_m: u64,
    pub memory_requested_mi: u64,
    pub memory_capacity_mi: u64,
    pub gpu_requested: u64,
    pub gpu_capacity: u64,
    /// Workload keys counted here.
    pub workloads: Vec<String>,
}

impl Budget {
    pub fn over_committed(&self) -> bool {
        self.cpu_requested_m > self.cpu_capacity_m
            || self.memory_requested_mi > self.memory_capacity_mi
            || self.gpu_requested > self.gpu_capacity
    }
}

/// Everything derived.
#[derive(Debug, Clone, Serialize)]
pub struct Platform {
    pub nodes: Vec<NodeInfo>,
    pub primary_node: String,
    pub gpu_node: Option<String>,
    pub storage_nodes: Vec<String>,
    /// Replica count of the default StorageClass.
    pub default_replicas: u32,
    pub workloads: Vec<PlacedWorkload>,
    pub namespaces: Vec<Namespace>,
    pub apps: Vec<App>,
    pub budgets: Vec<Budget>,
}

/// A workload with its node.
#[derive(Debug, Clone, Serialize)]
pub struct PlacedWorkload {
    #[serde(flatten)]
    pub workload: Workload,
    pub node: String,
}

/// Namespaces the guide exempts from baseline (and why).
fn privileged_reason(ns: &str) -> Option<&'static str> {
    match ns {
        "longhorn-system" => Some(
            "Longhorn's manager, CSI plugin and instance managers need privileged host access to attach block devices",
        ),
        "gpu-workloads" => Some(
            "the guide exempts GPU workloads (device plugin, driver tooling); Ollama itself still runs as non-root",
        ),
        _ => None,
    }
}

/// A CPU quantity (`300m`, `2`, `1.5`) in millicores, rounded up; `None` when the text is
/// not a non-negative Kubernetes quantity.
pub fn cpu_millis(q: &str) -> Option<u64> {
    let quantity = homelab_k8s::Quantity::parse(q).ok()?;
    u64::try_from(quantity.millis_rounded_up()).ok()
}

/// A memory quantity (`2.5Gi`, `650Mi`, `100M`, `1G`) in MiB, rounded up; `None` when the
/// text is not a non-negative Kubernetes quantity.
pub fn memory_mi(q: &str) -> Option<u64> {
    let bytes = homelab_k8s::Quantity::parse(q).ok()?.units_rounded_up();
    u64::try_from((bytes + (1 << 20) - 1) >> 20).ok()
}

/// The catalog entry of a workload key (the templates' `resources(key)`).
pub fn catalog_entry(key: &str) -> Option<Workload> {
    CATALOG.iter().find(|w| w.key == key).cloned()
}

/// Derive the platform. Assumes a validated config, but never panics on an unvalidated one.
pub fn derive(config: &Config) -> Platform {
    let nodes: Vec<NodeInfo> = config
        .nodes
        .iter()
        .map(|n| NodeInfo {
            name: n.name.clone(),
            address: n.address.clone(),
            server: n.name == config.k3s.server,
            cores: n.cores,
            memory_gb: n.memory_gb,
            storage: n.roles.iter().any(|r| r == "storage"),
            gpu: n.roles.iter().any(|r| r == "gpu") && n.gpu.is_some(),
            gpu_count: n.gpu.as_ref().map(|g| g.count).unwrap_or(0),
            gpu_model: n.gpu.as_ref().map(|g| g.model.clone()).unwrap_or_default(),
            vram_gb: n.gpu.as_ref().map(|g| g.vram_gb).unwrap_or(0),
        })
        .collect();
    let primary_node = config
        .nodes
        .iter()
        .find(|n| n.roles.iter().any(|r| r == "general"))
        .or_else(|| {
            config.nodes.iter().find(|n| {
                n.roles.iter().any(|r| r == "storage") && !n.roles.iter().any(|r| r == "gpu")
            })
        })
        .or_else(|| {
            config
                .nodes
                .iter()
                .find(|n| n.roles.iter().any(|r| r == "storage"))
        })
        .or(config.nodes.first())
        .map(|n| n.name.clone())
        .unwrap_or_default();
    let gpu_node = nodes.iter().find(|n| n.gpu).map(|n| n.name.clone());
    let storage_nodes: Vec<String> = nodes
        .iter()
        .filter(|n| n.storage)
        .map(|n| n.name.clone())
        .collect();
    let default_replicas = (storage_nodes.len() as u32)
        .min(config.storage.max_replicas)
        .max(1);

    let enabled = |key: &str| config.components.get(key).is_some_and(|c| c.enabled);
    let node_of = |component: &str, placement: Placement| -> String {
        if placement == Placement::Gpu {
            return gpu_node.clone().unwrap_or_else(|| primary_node.clone());
        }
        config
            .components
            .get(component)
            .and_then(|c| c.node.clone())
            .unwrap_or_else(|| primary_node.clone())
    };

    let mut workloads = Vec::new();
    for entry in CATALOG {
        let key = entry.key;
        let mut w = entry.clone();
        if !enabled(w.component) {
            continue;
        }
        if key == "arc-runner-gpu" && gpu_node.is_none() {
            continue;
        }
        if key == "arc-runner-standard" {
            w.replicas = config.github.min_runners;
        }
        if w.placement == Placement::EveryNode {
            for n in &nodes {
                workloads.push(PlacedWorkload {
                    workload: w.clone(),
                    node: n.name.clone(),
                });
            }
        } else {
            let node = node_of(w.component, w.placement);
            workloads.push(PlacedWorkload { workload: w, node });
        }
    }

    // Namespaces (kube-system belongs to k3s and is never rendered).
    let mut ns_map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for spec in COMPONENTS {
        let Some(c) = config.components.get(spec.key) else {
            continue;
        };
        if !c.enabled {
            continue;
        }
        if c.namespace != "kube-system" {
            ns_map
                .entry(c.namespace.clone())
                .or_default()
                .push(spec.key.to_string());
        }
        if let Some(rn) = &c.runners_namespace {
            ns_map
                .entry(rn.clone())
                .or_default()
                .push(format!("{}-runners", spec.key));
        }
    }
    let namespaces = ns_map
        .into_iter()
        .map(|(name, components)| {
            let reason = privileged_reason(&name);
            Namespace {
                enforce: if reason.is_some() {
                    "privileged"
                } else {
                    "baseline"
                },
                audit: if reason.is_some() {
                    "baseline"
                } else {
                    "restricted"
                },
                warn: if reason.is_some() {
                    "baseline"
                } else {
                    "restricted"
                },
                reason: reason.unwrap_or(""),
                name,
                components,
            }
        })
        .collect();

    let apps = derive_apps(config, &workloads, gpu_node.is_some());

    let budgets = nodes
        .iter()
        .map(|n| {
            let mut b = Budget {
                node: n.name.clone(),
                cpu_requested_m: 0,
                cpu_capacity_m: u64::from(n.cores) * 1000,
                memory_requested_mi: 0,
                memory_capacity_mi: u64::from(n.memory_gb) * 1024,
                gpu_requested: 0,
                gpu_capacity: u64::from(n.gpu_count),
                workloads: Vec::new(),
            };
            for pw in workloads.iter().filter(|w| w.node == n.name) {
                let r = u64::from(pw.workload.replicas);
                if r == 0 {
                    continue;
                }
                // The catalog's quantities are constants, each parsed by a test.
                b.cpu_requested_m += cpu_millis(pw.workload.requests_cpu).unwrap_or(0) * r;
                b.memory_requested_mi += memory_mi(pw.workload.requests_memory).unwrap_or(0) * r;
                b.gpu_requested += u64::from(pw.workload.gpu) * r;
                b.workloads.push(pw.workload.key.to_string());
            }
            b
        })
        .collect();

    Platform {
        nodes,
        primary_node,
        gpu_node,
        storage_nodes,
        default_replicas,
        workloads,
        namespaces,
        apps,
        budgets,
    }
}

/// What an Application deploys from.
#[derive(Clone, Copy)]
enum AppSource {
    /// The component's chart (or another chart of the same repository) with `$values/<values>`.
    Chart {
        values: &'static str,
        chart_name: Option<&'static str>,
    },
    /// A kustomize folder of this repository.
    Path(&'static str),
}

/// Which namespace an Application deploys into.
#[derive(Clone, Copy)]
enum AppNamespace {
    Component,
    Argocd,
    ArcRunners,
}

/// Which nodes an Application's pods run on (for `homelab plan`).
#[derive(Clone, Copy)]
enum AppRuns {
    /// Cluster-wide configuration only: no pods.
    Nothing,
    /// Every catalog workload of its component.
    Component,
    /// These catalog workloads.
    Workloads(&'static [&'static str]),
}

/// Which StorageClasses an Application's volumes use.
#[derive(Clone, Copy)]
enum AppStorage {
    None,
    /// The component's `storage_class`.
    Component,
    /// Both classes of `[storage]` (the app that creates them).
    Classes,
}

/// One Application of the catalog. Its component must be enabled (components that are not in
/// `[components]`, such as the namespaces, are always on).
struct AppDef {
    name: &'static str,
    group: &'static str,
    component: &'static str,
    /// `None`: the component's `sync_wave`.
    wave: Option<i32>,
    namespace: AppNamespace,
    source: AppSource,
    storage: AppStorage,
    runs: AppRuns,
    /// Rendered only when the platform has a GPU node.
    needs_gpu: bool,
}

const fn chart(values: &'static str) -> AppSource {
    AppSource::Chart {
        values,
        chart_name: None,
    }
}

const fn app(
    name: &'static str,
    group: &'static str,
    component: &'static str,
    source: AppSource,
) -> AppDef {
    AppDef {
        name,
        group,
        component,
        wave: None,
        namespace: AppNamespace::Component,
        source,
        storage: AppStorage::None,
        runs: AppRuns::Component,
        needs_gpu: false,
    }
}

const fn config_app(
    name: &'static str,
    component: &'static str,
    wave: i32,
    path: &'static str,
) -> AppDef {
    AppDef {
        wave: Some(wave),
        runs: AppRuns::Nothing,
        ..app(name, "infrastructure", component, AppSource::Path(path))
    }
}

const INFRA: &str = "infrastructure";

/// Every Application the platform can render.
const APPS: &[AppDef] = &[
    AppDef {
        namespace: AppNamespace::Argocd,
        ..config_app("namespaces", "namespaces", -2, "infrastructure/namespaces")
    },
    AppDef {
        namespace: AppNamespace::Argocd,
        ..config_app(
            "network-policies",
            "network_policies",
            -1,
            "infrastructure/network-policies",
        )
    },
    app(
        "longhorn",
        INFRA,
        "longhorn",
        chart("infrastructure/longhorn/values.yaml"),
    ),
    AppDef {
        storage: AppStorage::Classes,
        ..config_app(
            "longhorn-storage",
            "longhorn",
            -1,
            "infrastructure/longhorn/storage",
        )
    },
    app(
        "cert-manager",
        INFRA,
        "cert_manager",
        chart("infrastructure/cert-manager/values.yaml"),
    ),
    config_app(
        "cert-manager-issuers",
        "cert_manager",
        -1,
        "infrastructure/cert-manager/issuers",
    ),
    app(
        "kyverno",
        INFRA,
        "kyverno",
        chart("infrastructure/kyverno/values.yaml"),
    ),
    config_app("kyverno-policies", "kyverno", -1, "policies/kyverno"),
    app(
        "sealed-secrets",
        INFRA,
        "sealed_secrets",
        chart("infrastructure/sealed-secrets/values.yaml"),
    ),
    AppDef {
        namespace: AppNamespace::Argocd,
        ..config_app("secrets-homelab", "sealed_secrets", -1, "secrets/homelab")
    },
    app(
        "argocd",
        INFRA,
        "argocd",
        chart("infrastructure/argocd/values.yaml"),
    ),
    AppDef {
        needs_gpu: true,
        ..config_app(
            "nvidia-runtime",
            "nvidia_device_plugin",
            -2,
            "infrastructure/nvidia-device-plugin/runtime",
        )
    },
    AppDef {
        needs_gpu: true,
        ..app(
            "nvidia-device-plugin",
            INFRA,
            "nvidia_device_plugin",
            chart("infrastructure/nvidia-device-plugin/values.yaml"),
        )
    },
    AppDef {
        wave: None,
        runs: AppRuns::Nothing,
        ..app(
            "traefik",
            INFRA,
            "traefik",
            AppSource::Path("infrastructure/traefik"),
        )
    },
    app(
        "trivy-operator",
        INFRA,
        "trivy_operator",
        chart("infrastructure/trivy-operator/values.yaml"),
    ),
    AppDef {
        storage: AppStorage::Component,
        ..app(
            "gitlab",
            "apps",
            "gitlab",
            chart("apps/gitlab/values-homelab.yaml"),
        )
    },
    app(
        "gitlab-runner",
        "apps",
        "gitlab_runner",
        chart("apps/gitlab-runner/values.yaml"),
    ),
    AppDef {
        runs: AppRuns::Workloads(&["arc-controller", "arc-listener"]),
        ..app(
            "arc-controller",
            "apps",
            "arc",
            chart("apps/arc/controller-values.yaml"),
        )
    },
    AppDef {
        wave: Some(3),
        namespace: AppNamespace::ArcRunners,
        runs: AppRuns::Workloads(&["arc-runner-standard"]),
        ..app(
            "arc-linux-standard",
            "apps",
            "arc",
            AppSource::Chart {
                values: "apps/arc/arc-linux-standard-values.yaml",
                chart_name: Some("gha-runner-scale-set"),
            },
        )
    },
    AppDef {
        wave: Some(3),
        namespace: AppNamespace::ArcRunners,
        runs: AppRuns::Workloads(&["arc-runner-gpu"]),
        needs_gpu: true,
        ..app(
            "arc-linux-gpu",
            "apps",
            "arc",
            AppSource::Chart {
                values: "apps/arc/arc-linux-gpu-values.yaml",
                chart_name: Some("gha-runner-scale-set"),
            },
        )
    },
    ai_service("ollama", "ollama", "apps/ai-services/ollama"),
    ai_service("litellm", "litellm", "apps/ai-services/litellm"),
    ai_service("open-webui", "open_webui", "apps/ai-services/open-webui"),
    ai_service("n8n", "n8n", "apps/ai-services/n8n"),
    ai_service("searxng", "searxng", "apps/ai-services/searxng"),
];

const fn ai_service(name: &'static str, component: &'static str, path: &'static str) -> AppDef {
    AppDef {
        storage: AppStorage::Component,
        ..app(name, "apps", component, AppSource::Path(path))
    }
}

/// The nodes the given workloads were placed on (sorted, once each).
fn nodes_running(workloads: &[PlacedWorkload], keys: &[&str]) -> Vec<String> {
    let mut nodes: Vec<String> = workloads
        .iter()
        .filter(|w| keys.contains(&w.workload.key))
        .map(|w| w.node.clone())
        .collect();
    nodes.sort();
    nodes.dedup();
    nodes
}

fn derive_apps(config: &Config, workloads: &[PlacedWorkload], has_gpu: bool) -> Vec<App> {
    let c = &config.components;
    let st = &config.storage;
    let mut apps: Vec<App> = APPS
        .iter()
        .filter_map(|def| {
            let comp = c.get(def.component);
            if comp.is_some_and(|comp| !comp.enabled) || (def.needs_gpu && !has_gpu) {
                return None;
            }
            let namespace = match (def.namespace, comp) {
                (AppNamespace::Argocd, _) | (AppNamespace::Component, None) => {
                    c.argocd.namespace.clone()
                }
                (AppNamespace::Component, Some(comp)) => comp.namespace.clone(),
                (AppNamespace::ArcRunners, _) => c
                    .arc
                    .runners_namespace
                    .clone()
                    .unwrap_or_else(|| "arc-runners".into()),
            };
            let (chart, path) = match def.source {
                AppSource::Chart { values, chart_name } => {
                    let pinned = comp.and_then(|comp| comp.chart.as_ref())?;
                    let chart = AppChart {
                        repo: pinned.repo.clone(),
                        name: chart_name.unwrap_or(&pinned.name).to_string(),
                        version: pinned.version.clone(),
                        values: values.to_string(),
                    };
                    (Some(chart), None)
                }
                AppSource::Path(path) => (None, Some(path.to_string())),
            };
            let storage_classes = match def.storage {
                AppStorage::None => vec![],
                AppStorage::Component => comp
                    .and_then(|comp| comp.storage_class.clone())
                    .into_iter()
                    .collect(),
                AppStorage::Classes => vec![st.default_class.clone(), st.gpu_class.clone()],
            };
            let nodes = match def.runs {
                AppRuns::Nothing => vec![],
                AppRuns::Workloads(keys) => nodes_running(workloads, keys),
                AppRuns::Component => {
                    let keys: Vec<&str> = CATALOG
                        .iter()
                        .filter(|w| w.component == def.component)
                        .map(|w| w.key)
                        .collect();
                    nodes_running(workloads, &keys)
                }
            };
            Some(App {
                name: def.name.to_string(),
                group: def.group,
                component: def.component,
                namespace,
                wave: def
                    .wave
                    .or(comp.map(|comp| comp.sync_wave))
                    .unwrap_or_default(),
                chart,
                path,
                storage_classes,
                nodes,
            })
        })
        .collect();
    apps.sort_by(|a, b| (a.wave, a.group, &a.name).cmp(&(b.wave, b.group, &b.name)));
    apps
}

#[cfg(test)]
mod quantity_tests {
    use super::*;

    #[test]
    fn every_catalog_quantity_is_a_kubernetes_quantity() {
        for w in CATALOG {
            for cpu in [w.requests_cpu, w.limits_cpu] {
                assert!(cpu_millis(cpu).is_some(), "{}: cpu {cpu}", w.key);
            }
            for memory in [w.requests_memory, w.limits_memory] {
                assert!(memory_mi(memory).is_some(), "{}: memory {memory}", w.key);
            }
        }
    }

    /// Bad text is not a quantity (never zero), and every Kubernetes unit counts.
    #[test]
    fn quantities_read_as_kubernetes_reads_them() {
        assert_eq!(cpu_millis("300m"), Some(300));
        assert_eq!(cpu_millis("1.5"), Some(1500));
        assert_eq!(cpu_millis("lots"), None);
        assert_eq!(memory_mi("2.5Gi"), Some(2560));
        assert_eq!(memory_mi("1G"), Some(954));
        assert_eq!(memory_mi("1Ei"), Some(1 << 40));
        assert_eq!(memory_mi("1E"), Some(953_674_316_407));
        assert_eq!(memory_mi("ten"), None);
        assert_eq!(memory_mi("-1Gi"), None);
    }
}
