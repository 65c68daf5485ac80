//! # `network/dns-egress`: default-deny egress without DNS egress
//!
//! ## What it checks
//! In every namespace where a NetworkPolicy denies all egress, another NetworkPolicy that
//! selects all pods allows egress to port 53 (UDP and TCP), as the guide's `allow-dns`
//! policy does. A namespace whose policies allow DNS workload by workload (each to the pods
//! it selects) made that choice: a note naming those policies, not an error.
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

use crate::netpol::{
    allows_dns, allows_dns_to_selected, denies_all, policies_by_namespace, Direction,
};
use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};

pub struct DnsEgress;

/// `a`, `a and b`, `a, b and 3 more` (backquoted).
fn names(list: &[&str]) -> String {
    let quoted: Vec<String> = list.iter().take(3).map(|n| format!("`{n}`")).collect();
    match (list.len(), quoted.as_slice()) {
        (1, [a]) => a.clone(),
        (2, [a, b]) => format!("{a} and {b}"),
        (3, [a, b, c]) => format!("{a}, {b} and {c}"),
        (n, [a, b, c]) => format!("{a}, {b}, {c} and {} more", n - 3),
        _ => String::new(),
    }
}

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
            // DNS allowed workload by workload (each policy naming its pods): the author
            // chose which pods resolve names; those no policy selects cannot.
            let per_workload: Vec<&str> = policies
                .iter()
                .filter(|p| allows_dns_to_selected(p))
                .filter_map(|p| p.name())
                .collect();
            for deny in policies.iter().filter(|p| denies_all(p, Direction::Egress)) {
                if !per_workload.is_empty() {
                    let mut note = finding(
                        self,
                        deny,
                        "/spec/policyTypes",
                        format!(
                            "NetworkPolicy `{}` denies all egress in `{ns}`; DNS (port 53) is allowed only to the pods that {} select: not failed",
                            deny.name().unwrap_or("?"),
                            names(&per_workload)
                        ),
                        format!("a pod in `{ns}` that none of them selects cannot resolve names; add it to one, or allow DNS to every pod (podSelector {{}})"),
                    )
                    .relying_on([format!(
                        "the NetworkPolicies of `{ns}` that allow egress to port 53 for the pods they select"
                    )]);
                    note.severity = Severity::Note;
                    out.push(note);
                    continue;
                }
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
