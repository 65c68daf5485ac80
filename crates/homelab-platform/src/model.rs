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
/// (key, component, placement, replicas, [req cpu, req mem, lim cpu, lim mem], gpu)
type CatalogEntry = (
    &'static str,
    &'static str,
    Placement,
    u32,
    [&'static str; 4],
    u32,
);

const CATALOG: &[CatalogEntry] = &[
    // (key, component, placement, replicas, [req cpu, req mem, lim cpu, lim mem], gpu)
    (
        "longhorn-manager",
        "longhorn",
        Placement::EveryNode,
        1,
        ["100m", "256Mi", "1", "1Gi"],
        0,
    ),
    (
        "longhorn-ui",
        "longhorn",
        Placement::Primary,
        1,
        ["10m", "32Mi", "100m", "128Mi"],
        0,
    ),
    (
        "cert-manager",
        "cert_manager",
        Placement::Primary,
        1,
        ["50m", "64Mi", "200m", "256Mi"],
        0,
    ),
    (
        "cert-manager-webhook",
        "cert_manager",
        Placement::Primary,
        1,
        ["20m", "32Mi", "100m", "64Mi"],
        0,
    ),
    (
        "cert-manager-cainjector",
        "cert_manager",
        Placement::Primary,
        1,
        ["20m", "64Mi", "200m", "256Mi"],
        0,
    ),
    (
        "kyverno-admission",
        "kyverno",
        Placement::Primary,
        1,
        ["100m", "256Mi", "1", "512Mi"],
        0,
    ),
    (
        "kyverno-background",
        "kyverno",
        Placement::Primary,
        1,
        ["100m", "128Mi", "500m", "256Mi"],
        0,
    ),
    (
        "kyverno-cleanup",
        "kyverno",
        Placement::Primary,
        1,
        ["50m", "64Mi", "200m", "128Mi"],
        0,
    ),
    (
        "kyverno-reports",
        "kyverno",
        Placement::Primary,
        1,
        ["50m", "128Mi", "500m", "256Mi"],
        0,
    ),
    (
        "sealed-secrets",
        "sealed_secrets",
        Placement::Primary,
        1,
        ["50m", "64Mi", "200m", "128Mi"],
        0,
    ),
    (
        "argocd-server",
        "argocd",
        Placement::Primary,
        1,
        ["100m", "256Mi", "500m", "512Mi"],
        0,
    ),
    (
        "argocd-repo-server",
        "argocd",
        Placement::Primary,
        1,
        ["100m", "256Mi", "1", "1Gi"],
        0,
    ),
    (
        "argocd-application-controller",
        "argocd",
        Placement::Primary,
        1,
        ["250m", "512Mi", "1", "2Gi"],
        0,
    ),
    (
        "argocd-applicationset",
        "argocd",
        Placement::Primary,
        1,
        ["50m", "128Mi", "250m", "256Mi"],
        0,
    ),
    (
        "argocd-redis",
        "argocd",
        Placement::Primary,
        1,
        ["50m", "64Mi", "200m", "256Mi"],
        0,
    ),
    (
        "gitlab-webservice",
        "gitlab",
        Placement::Primary,
        1,
        ["300m", "2.5Gi", "2000m", "4Gi"],
        0,
    ),
    (
        "gitlab-sidekiq",
        "gitlab",
        Placement::Primary,
        1,
        ["100m", "650Mi", "1000m", "1.5Gi"],
        0,
    ),
    (
        "gitlab-gitaly",
        "gitlab",
        Placement::Primary,
        1,
        ["100m", "200Mi", "1500m", "1Gi"],
        0,
    ),
    (
        "gitlab-postgresql",
        "gitlab",
        Placement::Primary,
        1,
        ["100m", "256Mi", "1000m", "1Gi"],
        0,
    ),
    (
        "gitlab-redis",
        "gitlab",
        Placement::Primary,
        1,
        ["50m", "64Mi", "500m", "256Mi"],
        0,
    ),
    (
        "gitlab-registry",
        "gitlab",
        Placement::Primary,
        1,
        ["50m", "128Mi", "500m", "512Mi"],
        0,
    ),
    (
        "gitlab-shell",
        "gitlab",
        Placement::Primary,
        1,
        ["20m", "64Mi", "200m", "128Mi"],
        0,
    ),
    (
        "gitlab-toolbox",
        "gitlab",
        Placement::Primary,
        1,
        ["50m", "256Mi", "500m", "1Gi"],
        0,
    ),
    (
        "gitlab-minio",
        "gitlab",
        Placement::Primary,
        1,
        ["50m", "128Mi", "500m", "512Mi"],
        0,
    ),
    (
        "gitlab-runner",
        "gitlab_runner",
        Placement::Primary,
        1,
        ["50m", "64Mi", "200m", "256Mi"],
        0,
    ),
    (
        "gitlab-runner-job",
        "gitlab_runner",
        Placement::Primary,
        0,
        ["500m", "1Gi", "2", "4Gi"],
        0,
    ),
    (
        "arc-controller",
        "arc",
        Placement::Primary,
        1,
        ["50m", "64Mi", "500m", "256Mi"],
        0,
    ),
    (
        "arc-listener",
        "arc",
        Placement::Primary,
        2,
        ["20m", "32Mi", "100m", "128Mi"],
        0,
    ),
    (
        "arc-runner-standard",
        "arc",
        Placement::Primary,
        0,
        ["500m", "1Gi", "2", "4Gi"],
        0,
    ),
    (
        "arc-runner-gpu",
        "arc",
        Placement::Gpu,
        0,
        ["500m", "2Gi", "4", "8Gi"],
        1,
    ),
    (
        "ollama",
        "ollama",
        Placement::Gpu,
        1,
        ["2", "8Gi", "8", "24Gi"],
        1,
    ),
    (
        "ollama-cpu-fallback",
        "ollama",
        Placement::Primary,
        0,
        ["4", "8Gi", "16", "32Gi"],
        0,
    ),
    (
        "litellm",
        "litellm",
        Placement::Primary,
        1,
        ["100m", "256Mi", "1", "1Gi"],
        0,
    ),
    (
        "open-webui",
        "open_webui",
        Placement::Primary,
        1,
        ["100m", "512Mi", "1", "2Gi"],
        0,
    ),
    (
        "n8n",
        "n8n",
        Placement::Primary,
        1,
        ["100m", "256Mi", "1", "1Gi"],
        0,
    ),
    (
        "searxng",
        "searxng",
        Placement::Primary,
        1,
        ["50m", "128Mi", "500m", "512Mi"],
        0,
    ),
    (
        "trivy-operator",
        "trivy_operator",
        Placement::Primary,
        1,
        ["100m", "256Mi", "1", "1Gi"],
        0,
    ),
    (
        "trivy-scan-job",
        "trivy_operator",
        Placement::Primary,
        1,
        ["100m", "128Mi", "500m", "512Mi"],
        0,
    ),
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
    CATALOG
        .iter()
        .find(|e| e.0 == key)
        .map(|&(key, component, placement, replicas, r, gpu)| Workload {
            key,
            component,
            placement,
            replicas,
            requests_cpu: r[0],
            requests_memory: r[1],
            limits_cpu: r[2],
            limits_memory: r[3],
            gpu,
        })
}

/// Derive the platform. Assumes a validated config, but never panics on an unvalidated one.
pub fn derive(config: &Config) -> Platform {
    let nodes: Vec<NodeInfo> = config
        .nodes
        .iter()
        .map(|n| NodeInfo {
            name: n.name.clone(),
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
    for &(key, ..) in CATALOG {
        let Some(mut w) = catalog_entry(key) else {
            continue;
        };
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

fn derive_apps(config: &Config, workloads: &[PlacedWorkload], has_gpu: bool) -> Vec<App> {
    let c = &config.components;
    // Where an Application's pods run: the nodes of its catalog workloads (including ones
    // scaled to zero, such as the CPU fallback or the GPU runners, which show placement).
    let nodes_of = |app: &str, component: &str| -> Vec<String> {
        let keys: Vec<&str> = match app {
            "namespaces"
            | "network-policies"
            | "longhorn-storage"
            | "cert-manager-issuers"
            | "kyverno-policies"
            | "secrets-homelab"
            | "traefik" => vec![],
            "arc-controller" => vec!["arc-controller", "arc-listener"],
            "arc-linux-standard" => vec!["arc-runner-standard"],
            "arc-linux-gpu" => vec!["arc-runner-gpu"],
            _ => CATALOG
                .iter()
                .filter(|e| e.1 == component)
                .map(|e| e.0)
                .collect(),
        };
        let mut v: Vec<String> = workloads
            .iter()
            .filter(|w| keys.contains(&w.workload.key))
            .map(|w| w.node.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let mut apps = Vec::new();
    let mut push = |name: &str,
                    group: &'static str,
                    component: &'static str,
                    namespace: &str,
                    wave: i32,
                    chart: Option<AppChart>,
                    path: Option<&str>,
                    storage: Vec<String>| {
        apps.push(App {
            name: name.to_string(),
            group,
            component,
            namespace: namespace.to_string(),
            wave,
            chart,
            path: path.map(str::to_string),
            storage_classes: storage,
            nodes: nodes_of(name, component),
        });
    };
    let chart = |key: &str, name_override: Option<&str>, values: &str| -> Option<AppChart> {
        let comp = c.get(key)?;
        let ch = comp.chart.as_ref()?;
        Some(AppChart {
            repo: ch.repo.clone(),
            name: name_override.unwrap_or(&ch.name).to_string(),
            version: ch.version.clone(),
            values: values.to_string(),
        })
    };
    let st = &config.storage;
    push(
        "namespaces",
        "infrastructure",
        "namespaces",
        &c.argocd.namespace,
        -2,
        None,
        Some("infrastructure/namespaces"),
        vec![],
    );
    push(
        "network-policies",
        "infrastructure",
        "network_policies",
        &c.argocd.namespace,
        -1,
        None,
        Some("infrastructure/network-policies"),
        vec![],
    );
    for spec in COMPONENTS {
        let Some(comp) = c.get(spec.key) else {
            continue;
        };
        if !comp.enabled {
            continue;
        }
        let ns = comp.namespace.as_str();
        let w = comp.sync_wave;
        let sc = comp
            .storage_class
            .clone()
            .map(|s| vec![s])
            .unwrap_or_default();
        match spec.key {
            "longhorn" => {
                push(
                    "longhorn",
                    "infrastructure",
                    "longhorn",
                    ns,
                    w,
                    chart("longhorn", None, "infrastructure/longhorn/values.yaml"),
                    None,
                    vec![],
                );
                push(
                    "longhorn-storage",
                    "infrastructure",
                    "longhorn",
                    ns,
                    -1,
                    None,
                    Some("infrastructure/longhorn/storage"),
                    vec![st.default_class.clone(), st.gpu_class.clone()],
                );
            }
            "cert_manager" => {
                push(
                    "cert-manager",
                    "infrastructure",
                    "cert_manager",
                    ns,
                    w,
                    chart(
                        "cert_manager",
                        None,
                        "infrastructure/cert-manager/values.yaml",
                    ),
                    None,
                    vec![],
                );
                push(
                    "cert-manager-issuers",
                    "infrastructure",
                    "cert_manager",
                    ns,
                    -1,
                    None,
                    Some("infrastructure/cert-manager/issuers"),
                    vec![],
                );
            }
            "kyverno" => {
                push(
                    "kyverno",
                    "infrastructure",
                    "kyverno",
                    ns,
                    w,
                    chart("kyverno", None, "infrastructure/kyverno/values.yaml"),
                    None,
                    vec![],
                );
                push(
                    "kyverno-policies",
                    "infrastructure",
                    "kyverno",
                    ns,
                    -1,
                    None,
                    Some("policies/kyverno"),
                    vec![],
                );
            }
            "sealed_secrets" => {
                push(
                    "sealed-secrets",
                    "infrastructure",
                    "sealed_secrets",
                    ns,
                    w,
                    chart(
                        "sealed_secrets",
                        None,
                        "infrastructure/sealed-secrets/values.yaml",
                    ),
                    None,
                    vec![],
                );
                push(
                    "secrets-homelab",
                    "infrastructure",
                    "sealed_secrets",
                    &c.argocd.namespace,
                    -1,
                    None,
                    Some("secrets/homelab"),
                    vec![],
                );
            }
            "argocd" => push(
                "argocd",
                "infrastructure",
                "argocd",
                ns,
                w,
                chart("argocd", None, "infrastructure/argocd/values.yaml"),
                None,
                vec![],
            ),
            "traefik" => push(
                "traefik",
                "infrastructure",
                "traefik",
                ns,
                w,
                None,
                Some("infrastructure/traefik"),
                vec![],
            ),
            "trivy_operator" => push(
                "trivy-operator",
                "infrastructure",
                "trivy_operator",
                ns,
                w,
                chart(
                    "trivy_operator",
                    None,
                    "infrastructure/trivy-operator/values.yaml",
                ),
                None,
                vec![],
            ),
            "gitlab" => push(
                "gitlab",
                "apps",
                "gitlab",
                ns,
                w,
                chart("gitlab", None, "apps/gitlab/values-homelab.yaml"),
                None,
                sc,
            ),
            "gitlab_runner" => push(
                "gitlab-runner",
                "apps",
                "gitlab_runner",
                ns,
                w,
                chart("gitlab_runner", None, "apps/gitlab-runner/values.yaml"),
                None,
                vec![],
            ),
            "arc" => {
                let rns = comp
                    .runners_namespace
                    .clone()
                    .unwrap_or_else(|| "arc-runners".into());
                push(
                    "arc-controller",
                    "apps",
                    "arc",
                    ns,
                    w,
                    chart("arc", None, "apps/arc/controller-values.yaml"),
                    None,
                    vec![],
                );
                push(
                    "arc-linux-standard",
                    "apps",
                    "arc",
                    &rns,
                    3,
                    chart(
                        "arc",
                        Some("gha-runner-scale-set"),
                        "apps/arc/arc-linux-standard-values.yaml",
                    ),
                    None,
                    vec![],
                );
                if has_gpu {
                    push(
                        "arc-linux-gpu",
                        "apps",
                        "arc",
                        &rns,
                        3,
                        chart(
                            "arc",
                            Some("gha-runner-scale-set"),
                            "apps/arc/arc-linux-gpu-values.yaml",
                        ),
                        None,
                        vec![],
                    );
                }
            }
            "ollama" | "litellm" | "open_webui" | "n8n" | "searxng" => {
                let dir = spec.key.replace('_', "-");
                let path = format!("apps/ai-services/{dir}");
                let mut sc = sc;
                if spec.key == "ollama" {
                    // The CPU fallback keeps its own model cache on the default class.
                    sc.push(st.default_class.clone());
                }
                push(&dir, "apps", spec.key, ns, w, None, Some(&path), sc);
            }
            _ => {}
        }
    }
    apps.sort_by(|a, b| (a.wave, a.group, &a.name).cmp(&(b.wave, b.group, &b.name)));
    apps
}

#[cfg(test)]
mod quantity_tests {
    use super::*;

    #[test]
    fn every_catalog_quantity_is_a_kubernetes_quantity() {
        for (key, _, _, _, [req_cpu, req_mem, lim_cpu, lim_mem], _) in CATALOG {
            for cpu in [req_cpu, lim_cpu] {
                assert!(cpu_millis(cpu).is_some(), "{key}: cpu {cpu}");
            }
            for memory in [req_mem, lim_mem] {
                assert!(memory_mi(memory).is_some(), "{key}: memory {memory}");
            }
        }
    }

    /// Bad text is no longer read as zero, and every Kubernetes unit counts.
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
