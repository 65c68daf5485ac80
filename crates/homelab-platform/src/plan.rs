//! `homelab plan`: the rollout the config implies, as text, JSON, Graphviz DOT or Mermaid.
//! Pure formatting of [`crate::model::Platform`]; over-committed nodes are flagged and make
//! the command exit 1.
//!
//! JSON (stable): `{cluster, kubernetes_version, primary_node, gpu_node, waves: [{wave, label,
//! applications: [{name, group, component, namespace, wave, chart: {repo, name, version,
//! values} | null, path | null, storage_classes, nodes}]}], storage_classes: [{name,
//! replicas, data_locality, default}], budgets: [{node, cpu_requested_m, cpu_capacity_m,
//! memory_requested_mi, memory_capacity_mi, gpu_requested, gpu_capacity, workloads,
//! over_committed}], over_committed}`.

use crate::config::Config;
use crate::model::{Budget, Platform};
use serde::Serialize;
use std::fmt::Write as _;

/// The guide's meaning of each wave.
pub fn wave_label(wave: i32) -> &'static str {
    match wave {
        -3 => "project",
        -2 => "namespaces and CRDs",
        -1 => "config, secrets, storage prerequisites",
        0 => "core services and databases",
        1 => "applications",
        2 => "ingress and monitoring",
        3 => "runners and batch",
        _ => "custom",
    }
}

#[derive(Debug, Serialize)]
struct JsonPlan<'a> {
    cluster: &'a str,
    kubernetes_version: &'a str,
    primary_node: &'a str,
    gpu_node: Option<&'a str>,
    waves: Vec<JsonWave<'a>>,
    storage_classes: Vec<JsonClass>,
    budgets: Vec<JsonBudget<'a>>,
    over_committed: bool,
}

#[derive(Debug, Serialize)]
struct JsonWave<'a> {
    wave: i32,
    label: &'static str,
    applications: Vec<&'a crate::model::App>,
}

#[derive(Debug, Serialize)]
struct JsonClass {
    name: String,
    replicas: u32,
    data_locality: &'static str,
    default: bool,
}

#[derive(Debug, Serialize)]
struct JsonBudget<'a> {
    #[serde(flatten)]
    budget: &'a Budget,
    over_committed: bool,
}

fn waves(platform: &Platform) -> Vec<i32> {
    let mut w: Vec<i32> = platform.apps.iter().map(|a| a.wave).collect();
    w.sort();
    w.dedup();
    w
}

fn classes(config: &Config, platform: &Platform) -> Vec<JsonClass> {
    let mut v = vec![JsonClass {
        name: config.storage.default_class.clone(),
        replicas: platform.default_replicas,
        data_locality: "best-effort",
        default: true,
    }];
    if platform.gpu_node.is_some() {
        v.push(JsonClass {
            name: config.storage.gpu_class.clone(),
            replicas: 1,
            data_locality: "strict-local",
            default: false,
        });
    }
    v
}

/// Whether any node is over-committed.
pub fn over_committed(platform: &Platform) -> bool {
    platform.budgets.iter().any(Budget::over_committed)
}

/// JSON (stable keys, pretty).
pub fn to_json(config: &Config, platform: &Platform) -> String {
    let plan = JsonPlan {
        cluster: &config.cluster.name,
        kubernetes_version: &config.cluster.kubernetes_version,
        primary_node: &platform.primary_node,
        gpu_node: platform.gpu_node.as_deref(),
        waves: waves(platform)
            .into_iter()
            .map(|w| JsonWave {
                wave: w,
                label: wave_label(w),
                applications: platform.apps.iter().filter(|a| a.wave == w).collect(),
            })
            .collect(),
        storage_classes: classes(config, platform),
        budgets: platform
            .budgets
            .iter()
            .map(|b| JsonBudget {
                budget: b,
                over_committed: b.over_committed(),
            })
            .collect(),
        over_committed: over_committed(platform),
    };
    serde_json::to_string_pretty(&plan).unwrap_or_default() + "\n"
}

fn pct(a: u64, b: u64) -> u64 {
    (a * 100).checked_div(b).unwrap_or(0)
}

/// The per-node budget table (also printed by `init` and `render`).
pub fn budget_table(platform: &Platform) -> String {
    let mut out = String::new();
    let width = platform
        .budgets
        .iter()
        .map(|b| b.node.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let _ = writeln!(
        out,
        "  {:width$}  {:>22}  {:>24}  {:>5}",
        "node", "cpu requested/capacity", "memory requested/capacity", "gpu"
    );
    for b in &platform.budgets {
        let flag = if b.over_committed() {
            "  OVER-COMMITTED"
        } else {
            ""
        };
        let cpu = format!(
            "{:.2}/{} ({}%)",
            b.cpu_requested_m as f64 / 1000.0,
            b.cpu_capacity_m / 1000,
            pct(b.cpu_requested_m, b.cpu_capacity_m)
        );
        let mem = format!(
            "{:.1}/{} GiB ({}%)",
            b.memory_requested_mi as f64 / 1024.0,
            b.memory_capacity_mi / 1024,
            pct(b.memory_requested_mi, b.memory_capacity_mi)
        );
        let gpu = format!("{}/{}", b.gpu_requested, b.gpu_capacity);
        let _ = writeln!(
            out,
            "  {:width$}  {cpu:>22}  {mem:>24}  {gpu:>5}{flag}",
            b.node
        );
    }
    out
}

/// A few lines for the end of `init`/`render`: each wave and its Applications.
pub fn summary(platform: &Platform) -> String {
    let mut out = String::new();
    for w in waves(platform) {
        let names: Vec<&str> = platform
            .apps
            .iter()
            .filter(|a| a.wave == w)
            .map(|a| a.name.as_str())
            .collect();
        let _ = writeln!(
            out,
            "  wave {w:>2} {:<40} {}",
            wave_label(w),
            names.join(", ")
        );
    }
    out
}

/// Human-readable plan.
pub fn to_text(config: &Config, platform: &Platform) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Rollout plan: cluster {} ({} {}), {} node(s), primary {}{}",
        config.cluster.name,
        config.cluster.distribution,
        config.cluster.kubernetes_version,
        platform.nodes.len(),
        platform.primary_node,
        platform
            .gpu_node
            .as_ref()
            .map(|g| format!(", GPU {g}"))
            .unwrap_or_default()
    );
    let name_w = platform
        .apps
        .iter()
        .map(|a| a.name.len())
        .max()
        .unwrap_or(8);
    for w in waves(platform) {
        let _ = writeln!(out, "\nwave {w:>2}  {}", wave_label(w));
        for app in platform.apps.iter().filter(|a| a.wave == w) {
            let source = match (&app.chart, &app.path) {
                (Some(c), _) => format!("chart {} {}", c.name, c.version),
                (None, Some(p)) => format!("path {p}"),
                _ => String::new(),
            };
            let mut extra = String::new();
            if !app.nodes.is_empty() {
                let _ = write!(extra, "  on {}", app.nodes.join(", "));
            }
            if !app.storage_classes.is_empty() {
                let _ = write!(extra, "  storage {}", app.storage_classes.join(", "));
            }
            let _ = writeln!(
                out,
                "  {:name_w$}  ns {:16} {source}{extra}",
                app.name, app.namespace
            );
        }
    }
    let _ = writeln!(out, "\nStorage classes:");
    for c in classes(config, platform) {
        let _ = writeln!(
            out,
            "  {}{}: {} replica(s), {}",
            c.name,
            if c.default { " (default)" } else { "" },
            c.replicas,
            c.data_locality
        );
    }
    let _ = writeln!(out, "\nNamespaces (Pod Security enforce):");
    for ns in &platform.namespaces {
        let _ = writeln!(out, "  {:16} {}", ns.name, ns.enforce);
    }
    let _ = writeln!(out, "\nNode budgets (requests of running replicas):");
    out.push_str(&budget_table(platform));
    if over_committed(platform) {
        let _ = writeln!(
            out,
            "\nerror: at least one node is over-committed: lower replicas, move components (components.<name>.node) or raise the node's cores/memory_gb"
        );
    }
    out
}

fn ident(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

fn wave_id(w: i32) -> String {
    if w < 0 {
        format!("wave_m{}", -w)
    } else {
        format!("wave_{w}")
    }
}

/// Graphviz DOT: one cluster per wave, waves chained in order.
pub fn to_dot(platform: &Platform) -> String {
    let mut out = String::from("digraph rollout {\n  rankdir=LR;\n  node [shape=box];\n");
    let ws = waves(platform);
    for w in &ws {
        let _ = writeln!(out, "  subgraph cluster_{} {{", wave_id(*w));
        let _ = writeln!(out, "    label=\"wave {w}: {}\";", wave_label(*w));
        let _ = writeln!(out, "    {} [shape=point];", wave_id(*w));
        for app in platform.apps.iter().filter(|a| a.wave == *w) {
            let _ = writeln!(
                out,
                "    {} [label=\"{}\\n{}\"];",
                ident(&app.name),
                app.name,
                app.namespace
            );
        }
        out.push_str("  }\n");
    }
    for pair in ws.windows(2) {
        let _ = writeln!(out, "  {} -> {};", wave_id(pair[0]), wave_id(pair[1]));
    }
    out.push_str("}\n");
    out
}

/// Mermaid flowchart: one subgraph per wave, waves chained in order.
pub fn to_mermaid(platform: &Platform) -> String {
    let mut out = String::from("flowchart LR\n");
    let ws = waves(platform);
    for w in &ws {
        let _ = writeln!(
            out,
            "  subgraph {}[\"wave {w}: {}\"]",
            wave_id(*w),
            wave_label(*w)
        );
        for app in platform.apps.iter().filter(|a| a.wave == *w) {
            let _ = writeln!(
                out,
                "    {}[\"{} ({})\"]",
                ident(&app.name),
                app.name,
                app.namespace
            );
        }
        out.push_str("  end\n");
    }
    for pair in ws.windows(2) {
        let _ = writeln!(out, "  {} --> {}", wave_id(pair[0]), wave_id(pair[1]));
    }
    out
}
