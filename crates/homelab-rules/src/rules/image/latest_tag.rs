//! # `image/latest-tag`: image with `:latest` or no tag
//!
//! ## What it checks
//! Every container and init container of every workload (Pod, Deployment, StatefulSet,
//! DaemonSet, ReplicaSet, ReplicationController, Job, CronJob) must name its image with an
//! explicit tag other than `latest`, or with a digest (`@sha256:...`).
//!
//! ## Why
//! `latest` (or no tag, which means `latest`) changes under you: ArgoCD shows the app as
//! synced while the node pulls whatever was pushed last, rollbacks restore nothing and two
//! nodes can run two versions. The guide's `disallow-latest-tag` Kyverno policy rejects such
//! pods at admission; this rule finds them before they reach the cluster.
//!
//! ## Example
//! ```yaml
//! containers:
//!   - name: ollama
//!     image: ollama/ollama          # no tag: means :latest
//! ```
//!
//! ## Fix
//! Pin a version: `image: ollama/ollama:0.5.7`, or a digest:
//! `image: ollama/ollama@sha256:…`.

use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use homelab_manifest::ResourceExt;
use serde_json::Value;

pub struct ImageLatestTag;

/// The tag of an image reference (`None` when there is none), ignoring a registry port.
fn tag(image: &str) -> Option<&str> {
    if image.contains('@') {
        return Some("@digest");
    }
    let last_segment = image.rsplit('/').next().unwrap_or(image);
    last_segment.split_once(':').map(|(_, t)| t)
}

impl Rule for ImageLatestTag {
    fn id(&self) -> &'static str {
        "image/latest-tag"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "Container image with `:latest` or no tag"
    }
    fn check(&self, repo: &Repo, _settings: &Settings) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for doc in repo.objects() {
            let Some(pod) = doc.pod_spec() else { continue };
            for c in pod.containers() {
                let Some(image) = c.value.get("image").and_then(Value::as_str) else {
                    continue;
                };
                let problem = match tag(image) {
                    None => "has no tag (which means `latest`)",
                    Some("latest") => "uses the `latest` tag",
                    Some(_) => continue,
                };
                out.push(finding(
                    self,
                    doc,
                    &format!("{}/image", c.pointer),
                    format!("container `{}` image `{image}` {problem}", c.name),
                    "pin a version tag (image: name:1.2.3) or a digest (image: name@sha256:...)",
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_read_past_registry_ports() {
        assert_eq!(tag("registry:5000/app"), None);
        assert_eq!(tag("registry:5000/app:1.2"), Some("1.2"));
        assert_eq!(tag("app:latest"), Some("latest"));
        assert_eq!(tag("app@sha256:abc"), Some("@digest"));
    }
}
