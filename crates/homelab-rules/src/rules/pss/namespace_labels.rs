//! # `pss/namespace-labels`: namespace without Pod Security labels, or privileged outside the exempt list
//!
//! ## What it checks
//! Every `Namespace` carries the Pod Security Standards labels
//! `pod-security.kubernetes.io/enforce`, `.../audit` and `.../warn` with valid levels
//! (`privileged`, `baseline`, `restricted`), and only the platform's exempt namespaces
//! (system, storage and GPU namespaces, from `platform.toml`) enforce `privileged`.
//!
//! ## Why
//! The guide's security posture is "Baseline default, Privileged exempt": `enforce:
//! baseline` with `audit`/`warn: restricted` so that R&D workloads are warned about what
//! would not pass `restricted`. A namespace without labels silently falls back to the
//! cluster default (privileged on k3s), and a privileged namespace outside the exempt list
//! lets any pod there mount the host.
//!
//! ## Example
//! ```yaml
//! apiVersion: v1
//! kind: Namespace
//! metadata:
//!   name: ai-services          # no pod-security.kubernetes.io labels
//! ```
//!
//! ## Fix
//! ```yaml
//!   labels:
//!     pod-security.kubernetes.io/enforce: baseline
//!     pod-security.kubernetes.io/audit: restricted
//!     pod-security.kubernetes.io/warn: restricted
//! ```

use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use homelab_manifest::ResourceExt;

pub struct NamespacePss;

const LEVELS: [&str; 3] = ["privileged", "baseline", "restricted"];

impl Rule for NamespacePss {
    fn id(&self) -> &'static str {
        "pss/namespace-labels"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "Namespace without Pod Security labels, or privileged outside the exempt list"
    }
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for doc in repo.of_kind("Namespace") {
            let name = doc.name().unwrap_or("?");
            let labels = doc.labels();
            let label = |mode: &str| doc.label(&format!("pod-security.kubernetes.io/{mode}"));
            let labels_pointer = if labels.is_some() {
                "/metadata/labels"
            } else {
                "/metadata"
            };
            let missing: Vec<&str> = ["enforce", "audit", "warn"]
                .into_iter()
                .filter(|m| label(m).is_none())
                .collect();
            if !missing.is_empty() {
                out.push(finding(
                    self,
                    doc,
                    labels_pointer,
                    format!(
                        "namespace `{name}` has no pod-security.kubernetes.io/{} label",
                        missing.join(", /")
                    ),
                    "label it enforce: baseline, audit: restricted, warn: restricted (privileged only for exempt system namespaces)",
                ));
            }
            for mode in ["enforce", "audit", "warn"] {
                if let Some(level) = label(mode) {
                    let pointer = format!("/metadata/labels/pod-security.kubernetes.io~1{mode}");
                    if !LEVELS.contains(&level) {
                        out.push(finding(
                            self,
                            doc,
                            &pointer,
                            format!("namespace `{name}`: `{level}` is not a Pod Security level"),
                            "use privileged, baseline or restricted",
                        ));
                    } else if mode == "enforce"
                        && level == "privileged"
                        && !settings.privileged_namespaces.iter().any(|n| n == name)
                    {
                        out.push(finding(
                            self,
                            doc,
                            &pointer,
                            format!("namespace `{name}` enforces `privileged` but is not an exempt namespace ({})", settings.privileged_namespaces.join(", ")),
                            "enforce baseline here, or add the namespace to the privileged exemptions in platform.toml if it truly needs host access",
                        ));
                    }
                }
            }
        }
        out
    }
}
