//! # `network/exposed-service`: LoadBalancer or NodePort Service outside the ingress controller
//!
//! ## What it checks
//! A `Service` of type `LoadBalancer` or `NodePort` is only allowed in the ingress
//! controller's namespaces (Traefik in `kube-system` on k3s; configurable in
//! `platform.toml`), or as a LAN-only LoadBalancer: one whose `loadBalancerSourceRanges` are
//! all private (RFC 1918) ranges, such as the guide's "LAN clients reach Ollama on 11434".
//! It needs the platform's ingress namespaces (`platform.toml`, or `ingress_namespaces` in
//! `.homelab.toml` `[check.facts]`): in any other repository a LoadBalancer may well be a
//! deliberate MetalLB address, and nothing is reported.
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
        // Which Services are meant to face the network is the platform's choice: without
        // it (a repository not rendered from platform.toml), a LoadBalancer is as likely a
        // deliberate MetalLB address as a mistake.
        let Some(ingress_namespaces) = &settings.ingress_namespaces else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for doc in repo.of_kind("Service") {
            let Some(kind) = doc.value.pointer("/spec/type").and_then(Value::as_str) else {
                continue;
            };
            if kind != "LoadBalancer" && kind != "NodePort" {
                continue;
            }
            if kind == "LoadBalancer" && lan_only(&doc.value) {
                continue;
            }
            let ns = doc.namespace().unwrap_or("default");
            if ingress_namespaces.iter().any(|n| n == ns) {
                continue;
            }
            out.push(
                finding(
                    self,
                    doc,
                    "/spec/type",
                    format!(
                        "Service `{}` in `{ns}` is of type {kind}, which opens ports on every node outside the ingress namespaces",
                        doc.name().unwrap_or("?"),
                    ),
                    "use type: ClusterIP and expose it through the ingress controller (Traefik)",
                )
                .relying_on([settings.fact(format_args!(
                    "ingress namespaces {}",
                    ingress_namespaces.join(", ")
                ))]),
            );
        }
        out
    }
}

/// A LoadBalancer whose source ranges are all private IPv4 ranges (k3s ServiceLB enforces them).
fn lan_only(service: &Value) -> bool {
    let Some(ranges) = service
        .pointer("/spec/loadBalancerSourceRanges")
        .and_then(Value::as_array)
    else {
        return false;
    };
    !ranges.is_empty()
        && ranges.iter().all(|r| {
            r.as_str()
                .and_then(|r| r.split_once('/'))
                .and_then(|(ip, len)| {
                    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
                    let len: u8 = len.parse().ok()?;
                    let private_len = match ip.octets() {
                        [10, ..] => 8,
                        [172, b, ..] if (16..32).contains(&b) => 12,
                        [192, 168, ..] => 16,
                        _ => return None,
                    };
                    Some(len >= private_len && len <= 32)
                })
                .unwrap_or(false)
        })
}

#[cfg(test)]
mod lan_only_tests {
    use super::lan_only;
    use serde_json::json;

    #[test]
    fn only_private_source_ranges_make_a_lan_only_load_balancer() {
        let svc = |ranges: serde_json::Value| json!({"spec": {"type": "LoadBalancer", "loadBalancerSourceRanges": ranges}});
        assert!(lan_only(&svc(json!(["192.168.0.0/16"]))));
        assert!(lan_only(&svc(json!(["10.1.0.0/16", "172.16.0.0/12"]))));
        assert!(!lan_only(&svc(json!([]))));
        assert!(!lan_only(&svc(json!(["0.0.0.0/0"]))));
        assert!(!lan_only(&svc(json!(["192.168.0.0/16", "8.8.8.0/24"]))));
        assert!(!lan_only(&svc(json!(["10.0.0.0/7"]))));
        assert!(!lan_only(&json!({"spec": {"type": "LoadBalancer"}})));
    }
}
