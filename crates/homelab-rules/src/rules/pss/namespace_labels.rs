//! # `pss/namespace-labels`: namespace without Pod Security labels, or privileged without a reason
//!
//! ## What it checks
//! On a platform rendered from `platform.toml` (the guide's posture), every `Namespace`
//! carries the Pod Security Standards labels `pod-security.kubernetes.io/enforce`,
//! `.../audit` and `.../warn` with valid levels (`privileged`, `baseline`, `restricted`),
//! and enforces `privileged` only where the repository has a reason: the platform's exempt
//! namespaces, the cluster's own, those of well-known system components (GPU operator,
//! node-feature-discovery, CSI drivers, CNIs, Longhorn; by namespace or by the chart
//! installed there), namespaces whose own workloads need the host (host network, host
//! paths, privileged containers), and namespaces the repository's Kyverno
//! PolicyExceptions cover.
//!
//! Any other repository is judged by what it declares: its own `privileged` labels are its
//! decision; a level that is not a Pod Security level is always an error; and a namespace
//! without an `enforce` label is reported only when the repository labels most of its
//! namespaces and the cluster's fallback is not already baseline (Talos, or a PodSecurity
//! admission configuration in the repository, enforce baseline by default).
//!
//! ## Why
//! The guide's security posture is "Baseline default, Privileged exempt": `enforce:
//! baseline` with `audit`/`warn: restricted` so that R&D workloads are warned about what
//! would not pass `restricted`. A namespace without labels silently falls back to the
//! cluster default (privileged on k3s), and a privileged namespace without a reason
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

use crate::pod_security::{admission_default, privileged_namespaces};
use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use homelab_manifest::ResourceExt;

pub struct NamespacePss;

const LEVELS: [&str; 3] = ["privileged", "baseline", "restricted"];
const ENFORCE: &str = "pod-security.kubernetes.io/enforce";

impl Rule for NamespacePss {
    fn id(&self) -> &'static str {
        "pss/namespace-labels"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "Namespace without Pod Security labels, or privileged without a reason"
    }
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
        let guide = settings.guide_expectations();
        let namespaces: Vec<_> = repo.of_kind("Namespace").collect();
        let fallback = admission_default(repo);
        let labelled = namespaces
            .iter()
            .filter(|d| d.label(ENFORCE).is_some())
            .count();
        // Outside the guide a missing label is a fault only against the repository's own
        // habit, and only when the cluster would fall back to privileged.
        let expect_enforce =
            guide || (labelled * 3 >= namespaces.len() * 2 && !fallback.is_baseline_or_stricter());
        let exempt = if guide {
            privileged_namespaces(repo, settings)
        } else {
            Default::default()
        };
        // Outside the guide, a namespace with a reason to run privileged (the cluster's own, a
        // system component's, one where a workload needs the host) is not held to the habit.
        let needs_privileged = if guide {
            Default::default()
        } else {
            privileged_namespaces(repo, settings)
        };
        let mut out = Vec::new();
        for doc in &namespaces {
            let name = doc.name().unwrap_or("?");
            let label = |mode: &str| doc.label(&format!("pod-security.kubernetes.io/{mode}"));
            let labels_pointer = if doc.labels().is_some() {
                "/metadata/labels"
            } else {
                "/metadata"
            };
            let modes: &[&str] = if guide {
                &["enforce", "audit", "warn"]
            } else {
                &["enforce"]
            };
            let missing: Vec<&str> = modes
                .iter()
                .copied()
                .filter(|m| label(m).is_none())
                .collect();
            if !missing.is_empty() && expect_enforce && !needs_privileged.contains_key(name) {
                let falls_back = if label("enforce").is_none() {
                    let level = fallback.enforce.as_deref().unwrap_or("privileged");
                    format!(
                        " (without it the namespace gets `{level}`: {})",
                        fallback.origin
                    )
                } else {
                    String::new()
                };
                let habit = if guide {
                    settings.posture_fact()
                } else {
                    format!(
                        "the repository's habit: {labelled} of its {} namespaces set the enforce label",
                        namespaces.len()
                    )
                };
                out.push(
                    finding(
                        self,
                        doc,
                        labels_pointer,
                        format!(
                            "namespace `{name}` has no pod-security.kubernetes.io/{} label{falls_back}",
                            missing.join(", /")
                        ),
                        "label it enforce: baseline, audit: restricted, warn: restricted (privileged only where system components need the host)",
                    )
                    .relying_on([habit]),
                );
            }
            for mode in ["enforce", "audit", "warn"] {
                let Some(level) = label(mode) else { continue };
                let pointer = format!("/metadata/labels/pod-security.kubernetes.io~1{mode}");
                if !LEVELS.contains(&level) {
                    out.push(finding(
                        self,
                        doc,
                        &pointer,
                        format!("namespace `{name}`: `{level}` is not a Pod Security level"),
                        "use privileged, baseline or restricted",
                    ));
                } else if guide
                    && mode == "enforce"
                    && level == "privileged"
                    && !exempt.contains_key(name)
                {
                    out.push(
                        finding(
                            self,
                            doc,
                            &pointer,
                            format!(
                                "namespace `{name}` enforces `privileged` but nothing in the repository needs it: no system component or host-level workload runs there, no PolicyException covers it, and it is not exempt"
                            ),
                            "enforce baseline here, or add the namespace to the privileged exemptions in platform.toml if it truly needs host access",
                        )
                        .relying_on([
                            settings.posture_fact(),
                            settings.fact(format_args!(
                                "privileged namespaces {}",
                                settings.privileged_namespaces.join(", ")
                            )),
                        ]),
                    );
                }
            }
        }
        out
    }
}
