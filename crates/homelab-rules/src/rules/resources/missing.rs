//! # `resources/missing`: container without requests or limits
//!
//! ## What it checks
//! On a platform rendered from `platform.toml` (the guide's posture), every container and
//! init container of every workload sets `resources.requests` and `resources.limits` for
//! both `cpu` and `memory`. Any other repository is held to its own habit: a field is
//! expected only when the repository sets it on at least four in five of its containers
//! (and has five or more), so a container that lacks it stands out as an oversight;
//! leaving out CPU limits everywhere, as many do on purpose, is not a finding.
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
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
        let fields = [
            ("requests", "cpu"),
            ("requests", "memory"),
            ("limits", "cpu"),
            ("limits", "memory"),
        ];
        let set = |c: &Value, (section, resource): (&str, &str)| {
            c.get("resources")
                .and_then(|r| r.get(section))
                .and_then(|s| s.get(resource))
                .is_some_and(|v| !v.is_null())
        };
        let workloads: Vec<_> = repo
            .objects()
            .filter_map(|doc| doc.pod_spec().map(|pod| (doc, pod)))
            .collect();
        let containers: Vec<_> = workloads
            .iter()
            .flat_map(|(_, pod)| pod.containers())
            .collect();
        // How many containers of the repository set each field: its habit.
        let counts: Vec<usize> = fields
            .iter()
            .map(|f| containers.iter().filter(|c| set(c.value, *f)).count())
            .collect();
        let guide = settings.guide_expectations();
        let expected: Vec<bool> = counts
            .iter()
            .map(|n| guide || (containers.len() >= 5 && n * 5 >= containers.len() * 4))
            .collect();
        let mut out = Vec::new();
        for (doc, pod) in &workloads {
            for c in pod.containers() {
                let missing: Vec<String> = fields
                    .iter()
                    .zip(&expected)
                    .filter(|(f, expected)| **expected && !set(c.value, **f))
                    .map(|((section, resource), _)| format!("{section}.{resource}"))
                    .collect();
                if missing.is_empty() {
                    continue;
                }
                let resources = c.value.get("resources");
                let pointer = if resources.is_some_and(Value::is_object) {
                    format!("{}/resources", c.pointer)
                } else {
                    c.pointer.clone()
                };
                let habit = if guide {
                    settings.posture_fact()
                } else {
                    let first = fields
                        .iter()
                        .position(|(s, r)| missing[0] == format!("{s}.{r}"))
                        .unwrap_or(0);
                    format!(
                        "the repository's habit: {} of its {} containers set {}",
                        counts[first],
                        containers.len(),
                        missing[0]
                    )
                };
                out.push(
                    finding(
                        self,
                        doc,
                        &pointer,
                        format!("container `{}` has no {}", c.name, missing.join(", ")),
                        "set resources.requests and resources.limits for cpu and memory",
                    )
                    .relying_on([habit]),
                );
            }
        }
        out
    }
}
