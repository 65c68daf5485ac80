//! # `network/dns-egress`: default-deny egress without DNS egress
//!
//! ## What it checks
//! In every namespace where a NetworkPolicy denies all egress, another NetworkPolicy that
//! selects all pods allows egress to port 53 (UDP and TCP), as the guide's `allow-dns`
//! policy does.
//!
//! ## Why
//! A default-deny on egress also blocks DNS: every pod in the namespace then fails to
//! resolve service names, which looks like a broken application rather than a policy.
//!
//! ## Example
//! `default-deny-all` in `gitlab` with `policyTypes: [Ingress, Egress]` and nothing else.
//!
//! ## Fix
//! ```yaml
//! apiVersion: networking.k8s.io/v1
//! kind: NetworkPolicy
//! metadata: { name: allow-dns, namespace: gitlab }
//! spec:
//!   podSelector: {}
//!   policyTypes: [Egress]
//!   egress:
//!     - to:
//!         - namespaceSelector:
//!             matchLabels: { kubernetes.io/metadata.name: kube-system }
//!       ports:
//!         - { protocol: UDP, port: 53 }
//!         - { protocol: TCP, port: 53 }
//! ```

use crate::netpol::{allows_dns, denies_all, policies_by_namespace, Direction};
use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};

pub struct DnsEgress;

impl Rule for DnsEgress {
    fn id(&self) -> &'static str {
        "network/dns-egress"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "Default-deny egress without a DNS egress allow"
    }
    fn check(&self, repo: &Repo, _settings: &Settings) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for (ns, policies) in policies_by_namespace(repo) {
            if policies.iter().any(|p| allows_dns(p)) {
                continue;
            }
            for deny in policies.iter().filter(|p| denies_all(p, Direction::Egress)) {
                out.push(finding(
                    self,
                    deny,
                    "/spec/policyTypes",
                    format!("NetworkPolicy `{}` denies all egress in `{ns}` but nothing allows DNS (port 53)", deny.name().unwrap_or("?")),
                    format!("add an allow-dns NetworkPolicy in `{ns}`: podSelector {{}}, egress to kube-system on UDP and TCP port 53"),
                ));
            }
        }
        out
    }
}
