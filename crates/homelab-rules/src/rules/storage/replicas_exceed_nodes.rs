//! # `storage/replicas-exceed-nodes`: Longhorn replica count above the number of storage nodes
//!
//! ## What it checks
//! `parameters.numberOfReplicas` of every Longhorn StorageClass, and the replica settings
//! in Longhorn's Helm values (`defaultSettings.defaultReplicaCount`,
//! `persistence.defaultClassReplicaCount`), are at most the number of nodes that hold
//! Longhorn storage in `platform.toml` (or `storage_nodes` in `.homelab.toml`
//! `[check.facts]`); without that count nothing is reported.
//!
//! ## Why
//! Longhorn places each replica of a volume on a different node (hard anti-affinity by
//! default). With more replicas than storage nodes, every volume is created `Degraded`
//! and stays so: the GitLab and n8n volumes look fine until the one real replica dies.
//!
//! ## Example
//! `numberOfReplicas: "3"` on a cluster with two storage nodes.
//!
//! ## Fix
//! Set the replica count to the number of storage nodes or less (the guide: 2 for the
//! default class, 1 for `longhorn-gpu-local`), or add storage nodes in `platform.toml`.

use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use serde_json::Value;

pub struct LonghornReplicas;

fn as_count(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl Rule for LonghornReplicas {
    fn id(&self) -> &'static str {
        "storage/replicas-exceed-nodes"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "Longhorn replica count above the number of storage nodes"
    }
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
        // The number of storage nodes is a fact of the platform, not of the manifests.
        let Some(nodes) = settings.storage_nodes else {
            return Vec::new();
        };
        let nodes = nodes as u64;
        let fact = settings.fact(format_args!("{nodes} storage node(s)"));
        let mut out = Vec::new();
        let mut flag = |doc, pointer: &str, what: String, n: u64| {
            if n > nodes {
                out.push(finding(
                    self,
                    doc,
                    pointer,
                    format!("{what} asks for {n} replicas but only {nodes} node(s) hold Longhorn storage"),
                    format!("use at most {nodes} replica(s), or add storage nodes in platform.toml"),
                ).relying_on([fact.clone()]));
            }
        };
        for sc in repo.of_kind("StorageClass") {
            if sc.value.get("provisioner").and_then(Value::as_str) != Some("driver.longhorn.io") {
                continue;
            }
            if let Some(n) = sc
                .value
                .pointer("/parameters/numberOfReplicas")
                .and_then(as_count)
            {
                flag(
                    sc,
                    "/parameters/numberOfReplicas",
                    format!("StorageClass `{}`", sc.name().unwrap_or("?")),
                    n,
                );
            }
        }
        for values in repo.non_objects() {
            for pointer in [
                "/defaultSettings/defaultReplicaCount",
                "/persistence/defaultClassReplicaCount",
            ] {
                // Only Longhorn's values have these paths next to each other.
                if values.value.get("defaultSettings").is_none()
                    && values.value.get("persistence").is_none()
                {
                    continue;
                }
                if let Some(n) = values.value.pointer(pointer).and_then(as_count) {
                    flag(
                        values,
                        pointer,
                        format!("Longhorn values `{}`", &pointer[1..]),
                        n,
                    );
                }
            }
        }
        out
    }
}
