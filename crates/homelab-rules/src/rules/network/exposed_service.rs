//! # `network/exposed-service`: LoadBalancer or NodePort Service outside the ingress controller
//!
//! ## What it checks
//! A `Service` of type `LoadBalancer` or `NodePort` is only allowed in the ingress
//! controller's namespaces (Traefik in `kube-system` on k3s; configurable in
//! `platform.toml`).
//!
//! ## Why
//! On k3s, ServiceLB turns every LoadBalancer Service into host ports on every node, and a
//! NodePort opens a port on every node too: both bypass Traefik, its TLS and its
//! middlewares, and NetworkPolicies on the LAN side are easy to get wrong. The guide routes
//! every UI through the ingress controller.
//!
//! ## Example
//! ```yaml
//! kind: Service
//! metadata: { name: open-webui, namespace: ai-services }
//! spec: { type: LoadBalancer, ... }
//! ```
//!
//! ## Fix
//! Use `type: ClusterIP` and an Ingress/IngressRoute through Traefik.

use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use serde_json::Value;

pub struct ExposedService;

impl Rule for ExposedService {
    fn id(&self) -> &'static str {
        "network/exposed-service"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn summary(&self) -> &'static str {
        "Service of type LoadBalancer or NodePort outside the ingress controller"
    }
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for doc in repo.of_kind("Service") {
            let Some(kind) = doc.value.pointer("/spec/type").and_then(Value::as_str) else {
                continue;
            };
            if kind != "LoadBalancer" && kind != "NodePort" {
                continue;
            }
            let ns = doc.namespace().unwrap_or("default");
            if settings.ingress_namespaces.iter().any(|n| n == ns) {
                continue;
            }
            out.push(finding(
                self,
                doc,
                "/spec/type",
                format!(
                    "Service `{}` in `{ns}` is of type {kind}, which opens ports on every node",
                    doc.name().unwrap_or("?")
                ),
                "use type: ClusterIP and expose it through the ingress controller (Traefik)",
            ));
        }
        out
    }
}
