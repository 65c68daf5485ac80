//! # `gpu/placement`: GPU workload not pinned to a GPU node
//!
//! ## What it checks
//! Every workload (or Helm values document) that requests a GPU (`nvidia.com/gpu` in
//! `resources.limits` or `requests`) also has, in the same pod spec or values document:
//! a node selector or node affinity (to the GPU node), a toleration (for the GPU node's
//! taint), and `runtimeClassName` (the NVIDIA container runtime). This holds where the
//! platform's GPU nodes are known (`platform.toml`, or `gpu_nodes` in `.homelab.toml`
//! `[check.facts]`); on an unknown cluster the device plugin alone may place the pod.
//!
//! ## Why
//! The guide runs Ollama on `akula-prime` (RTX 5080) with a fallback to `homelab`.
//! Without a selector the pod can land on the CPU-only node and stay `Pending`; without the
//! `nvidia` runtime class the container starts but sees no GPU and Ollama silently runs on
//! CPU; without the toleration it cannot schedule on a tainted GPU node at all.
//!
//! ## Example
//! ```yaml
//! resources:
//!   limits: { nvidia.com/gpu: 1 }
//! # no nodeSelector/affinity, tolerations or runtimeClassName
//! ```
//!
//! ## Fix
//! ```yaml
//! runtimeClassName: nvidia
//! nodeSelector: { kubernetes.io/hostname: akula-prime }   # or a preferred nodeAffinity
//! tolerations:
//!   - { key: nvidia.com/gpu, operator: Exists, effect: NoSchedule }
//! ```

use crate::gpu::gpu_requests_in;
use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use homelab_manifest::Document;
use homelab_manifest::ResourceExt;
use serde_json::Value;

pub struct GpuPlacement;

fn non_empty(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Object(m)) => !m.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::String(s)) => !s.is_empty(),
        _ => false,
    }
}

/// What a pod spec (or values map) lacks for GPU placement.
fn missing(scope: &Value) -> Vec<&'static str> {
    let mut out = Vec::new();
    let selector =
        non_empty(scope.get("nodeSelector")) || non_empty(scope.pointer("/affinity/nodeAffinity"));
    if !selector {
        out.push("a nodeSelector or node affinity for the GPU node");
    }
    if !non_empty(scope.get("tolerations")) {
        out.push("a toleration");
    }
    if !non_empty(scope.get("runtimeClassName")) {
        out.push("runtimeClassName (e.g. nvidia)");
    }
    out
}

/// What is missing when every map enclosing `pointer` (from the root down) may provide it.
fn missing_along(root: &Value, pointer: &str) -> Vec<&'static str> {
    let mut scopes = vec![root];
    let mut current = String::new();
    for part in pointer.split('/').skip(1) {
        current.push('/');
        current.push_str(part);
        if let Some(v) = root.pointer(&current) {
            scopes.push(v);
        }
    }
    let lacks: Vec<Vec<&'static str>> = scopes.iter().map(|s| missing(s)).collect();
    let mut out = Vec::new();
    for item in missing(&Value::Null) {
        if lacks.iter().all(|l| l.contains(&item)) {
            out.push(item);
        }
    }
    out
}

fn report(
    rule: &GpuPlacement,
    doc: &Document,
    pointer: &str,
    missing: Vec<&str>,
    what: String,
) -> Diagnostic {
    finding(
        rule,
        doc,
        pointer,
        format!("{what} requests a GPU but lacks {}", missing.join(", ")),
        "add runtimeClassName: nvidia, a nodeSelector/affinity for the GPU node and a toleration for its taint",
    )
}

impl Rule for GpuPlacement {
    fn id(&self) -> &'static str {
        "gpu/placement"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "GPU workload without GPU node selector/affinity, toleration and runtime class"
    }
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
        // Pinning to a GPU node presumes the platform's GPU nodes (their taint, their runtime
        // class); on an unknown cluster the device plugin's extended resource alone may
        // place the pod.
        let Some(gpu_nodes) = &settings.gpu_nodes else {
            return Vec::new();
        };
        let fact = settings.fact(format_args!("GPU nodes {}", gpu_nodes.join(", ")));
        let mut out = Vec::new();
        for doc in repo.objects() {
            let Some(pod) = doc.pod_spec() else { continue };
            let mut gpu = Vec::new();
            gpu_requests_in(pod.spec, pod.pointer, &mut gpu);
            if let Some(first) = gpu.first() {
                let m = missing(pod.spec);
                if !m.is_empty() {
                    out.push(report(
                        self,
                        doc,
                        first,
                        m,
                        format!(
                            "{} `{}`",
                            doc.kind().unwrap_or("?"),
                            doc.name().unwrap_or("?")
                        ),
                    ));
                }
            }
        }
        for values in repo.non_objects() {
            let mut gpu = Vec::new();
            gpu_requests_in(&values.value, "", &mut gpu);
            for pointer in gpu {
                // Charts put placement next to the container, in a pod template above it, or
                // at the top level: a key on any enclosing map counts.
                let near = missing_along(&values.value, &pointer);
                if near.is_empty() {
                    continue;
                }
                out.push(report(
                    self,
                    values,
                    &pointer,
                    near,
                    "this Helm values document".to_string(),
                ));
            }
        }
        out.into_iter()
            .map(|d| d.relying_on([fact.clone()]))
            .collect()
    }
}
