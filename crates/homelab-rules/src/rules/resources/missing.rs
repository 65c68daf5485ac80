//! # `resources/missing`: container without requests or limits
//!
//! ## What it checks
//! Every container and init container of every workload sets `resources.requests` and
//! `resources.limits` for both `cpu` and `memory`.
//!
//! ## Why
//! The guide sizes a two-node homelab down to the gigabyte (GitLab within 8 GB, Ollama on
//! the GPU node). A container without requests is invisible to the scheduler's budget and
//! can be packed onto a full node; one without limits can starve GitLab or the Longhorn
//! engine on the same node. `homelab plan` can only add up what is declared.
//!
//! ## Example
//! ```yaml
//! containers:
//!   - name: searxng
//!     image: searxng/searxng:2024.11.17
//!     # no resources
//! ```
//!
//! ## Fix
//! ```yaml
//!     resources:
//!       requests: { cpu: 100m, memory: 256Mi }
//!       limits: { cpu: 500m, memory: 512Mi }
//! ```

use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use homelab_manifest::ResourceExt;
use serde_json::Value;

pub struct ContainerResources;

impl Rule for ContainerResources {
    fn id(&self) -> &'static str {
        "resources/missing"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn summary(&self) -> &'static str {
        "Container without CPU/memory requests or limits"
    }
    fn check(&self, repo: &Repo, _settings: &Settings) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for doc in repo.objects() {
            let Some(pod) = doc.pod_spec() else { continue };
            for c in pod.containers() {
                let resources = c.value.get("resources");
                let mut missing = Vec::new();
                for section in ["requests", "limits"] {
                    for resource in ["cpu", "memory"] {
                        let set = resources
                            .and_then(|r| r.get(section))
                            .and_then(|s| s.get(resource))
                            .is_some_and(|v| !v.is_null());
                        if !set {
                            missing.push(format!("{section}.{resource}"));
                        }
                    }
                }
                if missing.is_empty() {
                    continue;
                }
                let pointer = if resources.is_some_and(Value::is_object) {
                    format!("{}/resources", c.pointer)
                } else {
                    c.pointer.clone()
                };
                out.push(finding(
                    self,
                    doc,
                    &pointer,
                    format!("container `{}` has no {}", c.name, missing.join(", ")),
                    "set resources.requests and resources.limits for cpu and memory",
                ));
            }
        }
        out
    }
}
