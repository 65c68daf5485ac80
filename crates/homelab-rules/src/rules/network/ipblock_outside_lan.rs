//! # `network/ipblock-outside-lan`: ingress ipBlock outside the LAN
//!
//! ## What it checks
//! Every `ipBlock.cidr` in a NetworkPolicy's `ingress[].from` lies inside one of the LAN
//! CIDRs of `platform.toml` (`cluster.lan_cidr`, default `192.168.0.0/16`). Egress ipBlocks
//! are not checked: runners and image pulls legitimately reach the internet. Without a LAN
//! (a repository not rendered from `platform.toml` and no `lan_cidrs` in `.homelab.toml`
//! `[check.facts]`) only a malformed CIDR is reported.
//!
//! ## Why
//! The platform is LAN-only R&D: Ollama, GitLab and the AI UIs have no authentication fit
//! for the internet. An ingress allow from `0.0.0.0/0` (or a typo such as `192.0.0.0/8`)
//! exposes them beyond the LAN as soon as a port is forwarded.
//!
//! ## Example
//! ```yaml
//! ingress:
//!   - from:
//!       - ipBlock: { cidr: 0.0.0.0/0 }
//! ```
//!
//! ## Fix
//! Use the LAN CIDR (`cidr: 192.168.0.0/16`) or a narrower range inside it.

use crate::{finding, Cidr, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use serde_json::Value;

pub struct IpBlockLan;

impl Rule for IpBlockLan {
    fn id(&self) -> &'static str {
        "network/ipblock-outside-lan"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "NetworkPolicy ingress ipBlock outside the LAN CIDR"
    }
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
        let lan: Vec<String> = settings
            .lan_cidrs
            .iter()
            .map(|c| format!("{}/{}", c.addr, c.prefix))
            .collect();
        let mut out = Vec::new();
        for doc in repo.of_kind("NetworkPolicy") {
            let Some(rules) = doc.value.pointer("/spec/ingress").and_then(Value::as_array) else {
                continue;
            };
            for (i, rule) in rules.iter().enumerate() {
                let Some(peers) = rule.get("from").and_then(Value::as_array) else {
                    continue;
                };
                for (j, peer) in peers.iter().enumerate() {
                    let Some(cidr) = peer.pointer("/ipBlock/cidr").and_then(Value::as_str) else {
                        continue;
                    };
                    // A `${VAR}` the engine fills in later is unknown here, not malformed.
                    if cidr.contains("${") {
                        continue;
                    }
                    let pointer = format!("/spec/ingress/{i}/from/{j}/ipBlock/cidr");
                    let inside = cidr
                        .parse::<Cidr>()
                        .map(|c| settings.lan_cidrs.iter().any(|l| l.contains(&c)));
                    let (message, facts) = match inside {
                        Ok(true) => continue,
                        // Without the LAN (not rendered from platform.toml, not configured)
                        // only a malformed block is a fact.
                        Ok(false) if settings.lan_cidrs.is_empty() => continue,
                        Ok(false) => (
                            format!("ingress from `{cidr}` reaches beyond the LAN"),
                            vec![settings.fact(format_args!("LAN {}", lan.join(", ")))],
                        ),
                        Err(e) => (e, Vec::new()),
                    };
                    out.push(
                        finding(
                            self,
                            doc,
                            &pointer,
                            message,
                            format!("allow only addresses inside the LAN: {}", lan.join(", ")),
                        )
                        .relying_on(facts),
                    );
                }
            }
        }
        out
    }
}
