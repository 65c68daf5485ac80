//! # `network/default-deny`: namespace with workloads but no default-deny NetworkPolicy
//!
//! ## What it checks
//! Every namespace that runs workloads (a workload object in it, or an ArgoCD Application
//! deploying into it) has a NetworkPolicy that selects all pods (`podSelector: {}`) and
//! denies all ingress and all egress (`policyTypes: [Ingress, Egress]` with no rules). The
//! k3s core namespaces (`kube-system`, `kube-public`, `kube-node-lease`) are not checked.
//!
//! ## Why
//! The guide's posture is "default deny + explicit allow" per namespace: without a
//! default-deny, any pod on the cluster (a compromised CI runner, say) can reach GitLab's
//! database or Ollama's API, and allow-rules stop meaning anything.
//!
//! ## Example
//! A Deployment in `ai-services` and no NetworkPolicy in `ai-services` that denies all.
//!
//! ## Fix
//! ```yaml
//! apiVersion: networking.k8s.io/v1
//! kind: NetworkPolicy
//! metadata: { name: default-deny-all, namespace: ai-services }
//! spec:
//!   podSelector: {}
//!   policyTypes: [Ingress, Egress]
//! ```
//! then allow DNS egress and each real flow explicitly.

use crate::netpol::{denies_all, policies_by_namespace, workload_namespaces, Direction};
use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};

pub struct DefaultDeny;

impl Rule for DefaultDeny {
    fn id(&self) -> &'static str {
        "network/default-deny"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "Namespace with workloads but no default-deny NetworkPolicy"
    }
    fn check(&self, repo: &Repo, _settings: &Settings) -> Vec<Diagnostic> {
        let policies = policies_by_namespace(repo);
        let namespaces = repo.namespaces();
        let mut out = Vec::new();
        for (ns, witness) in workload_namespaces(repo) {
            let list = policies.get(ns.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            let ingress = list.iter().any(|p| denies_all(p, Direction::Ingress));
            let egress = list.iter().any(|p| denies_all(p, Direction::Egress));
            if ingress && egress {
                continue;
            }
            let missing = match (ingress, egress) {
                (false, false) => "ingress and egress",
                (false, true) => "ingress",
                _ => "egress",
            };
            // Point at the Namespace object when the repository defines it.
            let anchor = repo
                .of_kind("Namespace")
                .find(|d| d.name() == Some(ns.as_str()))
                .filter(|_| namespaces.contains(ns.as_str()))
                .unwrap_or(witness);
            let pointer = if std::ptr::eq(anchor, witness) && anchor.kind() != Some("Namespace") {
                "/metadata"
            } else {
                "/metadata/name"
            };
            out.push(finding(
                self,
                anchor,
                pointer,
                format!("namespace `{ns}` runs workloads but no NetworkPolicy denies all {missing} by default"),
                format!("add a NetworkPolicy in `{ns}` with podSelector: {{}} and policyTypes: [Ingress, Egress] and no rules, then allow DNS and each real flow"),
            ));
        }
        out
    }
}
