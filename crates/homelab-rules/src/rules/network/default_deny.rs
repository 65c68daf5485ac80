//! # `network/default-deny`: namespace with workloads but no default-deny NetworkPolicy
//!
//! ## What it checks
//! Every namespace that runs workloads (a workload object in it, or an ArgoCD Application
//! deploying into it) has a NetworkPolicy that selects all pods (`podSelector: {}`) and
//! denies all ingress and all egress (`policyTypes: [Ingress, Egress]` with no rules). The
//! k3s core namespaces (`kube-system`, `kube-public`, `kube-node-lease`) are not checked.
//! That is the guide's posture, required on a platform rendered from `platform.toml`. Any
//! other repository is held to its own habit: a direction is expected only when at least
//! two in three of its namespaces with workloads deny it by default, and namespaces that
//! other policy engines govern (Cilium, Calico) are not judged.
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
use homelab_manifest::Document;
use std::collections::BTreeSet;

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
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
        let policies = policies_by_namespace(repo);
        let namespaces = repo.namespaces();
        let guide = settings.guide_expectations();
        // Cluster-wide policies of other engines may deny by default for every namespace.
        let cluster_wide = repo.objects().any(|d| {
            matches!(
                d.kind(),
                Some("CiliumClusterwideNetworkPolicy" | "GlobalNetworkPolicy")
            )
        });
        if !guide && cluster_wide {
            return Vec::new();
        }
        let other_engine: BTreeSet<&str> = repo
            .objects()
            .filter(|d| {
                matches!(d.kind(), Some("CiliumNetworkPolicy" | "NetworkPolicy"))
                    && d.group() != "networking.k8s.io"
            })
            .filter_map(|d| d.namespace())
            .collect();
        let coverage: Vec<(String, &Document, bool, bool)> = workload_namespaces(repo)
            .into_iter()
            .filter(|(ns, _)| guide || !other_engine.contains(ns.as_str()))
            .map(|(ns, witness)| {
                let list = policies.get(ns.as_str()).map(Vec::as_slice).unwrap_or(&[]);
                let ingress = list.iter().any(|p| denies_all(p, Direction::Ingress));
                let egress = list.iter().any(|p| denies_all(p, Direction::Egress));
                (ns, witness, ingress, egress)
            })
            .collect();
        let total = coverage.len();
        let with_ingress = coverage.iter().filter(|c| c.2).count();
        let with_egress = coverage.iter().filter(|c| c.3).count();
        let habit = |n: usize| n * 3 >= total * 2;
        let (need_ingress, need_egress) = if guide {
            (true, true)
        } else {
            (habit(with_ingress), habit(with_egress))
        };
        let mut out = Vec::new();
        for (ns, witness, ingress, egress) in coverage {
            let missing = match (need_ingress && !ingress, need_egress && !egress) {
                (true, true) => "ingress and egress",
                (true, false) => "ingress",
                (false, true) => "egress",
                (false, false) => continue,
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
            let fact = if guide {
                settings.posture_fact()
            } else {
                format!(
                    "the repository's habit: {with_ingress} of its {total} namespaces with workloads deny ingress by default, {with_egress} egress"
                )
            };
            out.push(
                finding(
                    self,
                    anchor,
                    pointer,
                    format!("namespace `{ns}` runs workloads but no NetworkPolicy denies all {missing} by default"),
                    format!("add a NetworkPolicy in `{ns}` with podSelector: {{}} and policyTypes: [Ingress, Egress] and no rules, then allow DNS and each real flow"),
                )
                .relying_on([fact]),
            );
        }
        out
    }
}
