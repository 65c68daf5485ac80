//! The network flows the platform needs, judged against its NetworkPolicies.
//!
//! Required flows come from the objects themselves: an Ingress (or a Traefik IngressRoute)
//! needs the ingress controller to reach its backend Service's pods; a container that names
//! a Service in an environment value or in a ConfigMap it reads (`http://litellm.ai.svc:4000`)
//! needs to reach that Service's pods; an Application's `repoURL` needs ArgoCD's repo server
//! to reach the repository; every pod that may send traffic at all needs DNS (kube-dns in
//! kube-system, port 53). Each flow is allowed when the egress side (the policies that select
//! the source for Egress, if any) and the ingress side (those that select the destination for
//! Ingress, if any) both have a rule whose peer and port match, as the API defines it.

use crate::selector::{self, Labels};
use serde_json::Value;
use std::collections::HashMap;
use std::net::Ipv4Addr;

/// A pod of the cluster as a NetworkPolicy sees it.
#[derive(Debug, Clone)]
pub struct Pod {
    /// The workload's index in the input, `None` for a pod the cluster brings (Traefik,
    /// CoreDNS).
    pub object: Option<usize>,
    pub namespace: String,
    pub labels: Labels,
    /// Container ports: (name, number, protocol).
    pub ports: Vec<(Option<String>, u16, String)>,
    /// `Deployment ai/litellm` or `k3s Traefik (kube-system)`.
    pub label: String,
    pub wave: i64,
}

/// One NetworkPolicy of the rollout.
#[derive(Debug, Clone)]
pub struct Policy<'a> {
    pub object: usize,
    pub namespace: String,
    pub name: String,
    pub value: &'a Value,
    pub wave: i64,
}

/// Where a flow goes.
#[derive(Debug, Clone)]
pub enum Target {
    /// A pod (index into the pod list) on a container port.
    Pod(usize, u16, String),
    /// Somewhere outside the cluster and the LAN, on a port.
    Internet(u16),
}

/// A flow the platform needs, and why.
#[derive(Debug, Clone)]
pub struct Flow {
    pub from: usize,
    pub to: Target,
    pub why: String,
}

/// A flow a policy cuts.
#[derive(Debug, Clone)]
pub struct Cut {
    /// The policy to blame (index into the input's objects).
    pub policy: usize,
    pub cause: String,
    pub wave: i64,
}

/// The address that stands for pods (k3s's default cluster CIDR, 10.42.0.0/16).
const POD_ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 42, 0, 10);

/// Private and local ranges: an address outside them is "the internet".
const NOT_INTERNET: &[(Ipv4Addr, u8)] = &[
    (Ipv4Addr::new(10, 0, 0, 0), 8),
    (Ipv4Addr::new(172, 16, 0, 0), 12),
    (Ipv4Addr::new(192, 168, 0, 0), 16),
    (Ipv4Addr::new(127, 0, 0, 0), 8),
    (Ipv4Addr::new(169, 254, 0, 0), 16),
    (Ipv4Addr::new(100, 64, 0, 0), 10),
    (Ipv4Addr::new(0, 0, 0, 0), 8),
];

fn parse_cidr(text: &str) -> Option<(Ipv4Addr, u8)> {
    let (addr, len) = text.split_once('/').unwrap_or((text, "32"));
    let addr: Ipv4Addr = addr.trim().parse().ok()?;
    let len: u8 = len.trim().parse().ok()?;
    (len <= 32).then_some((addr, len))
}

fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

fn contains((net, len): (Ipv4Addr, u8), addr: Ipv4Addr) -> bool {
    u32::from(net) & mask(len) == u32::from(addr) & mask(len)
}

/// Whether `inner` lies entirely inside `outer`.
fn within(inner: (Ipv4Addr, u8), outer: (Ipv4Addr, u8)) -> bool {
    inner.1 >= outer.1 && contains(outer, inner.0)
}

/// Whether an `ipBlock` reaches pods.
fn block_holds_pods(block: &Value) -> bool {
    let Some(cidr) = block
        .get("cidr")
        .and_then(Value::as_str)
        .and_then(parse_cidr)
    else {
        return false;
    };
    contains(cidr, POD_ADDRESS)
        && !block
            .get("except")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(parse_cidr)
            .any(|e| contains(e, POD_ADDRESS))
}

/// Whether an `ipBlock` reaches some address of the internet (an address we cannot know:
/// any public part of the block is taken to cover it, so that no flow is called cut by a
/// block that may well hold its address).
fn block_holds_internet(block: &Value) -> bool {
    let Some(cidr) = block
        .get("cidr")
        .and_then(Value::as_str)
        .and_then(parse_cidr)
    else {
        return false;
    };
    if NOT_INTERNET.iter().any(|r| within(cidr, *r)) {
        return false;
    }
    // Excepting the whole block leaves nothing.
    !block
        .get("except")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(parse_cidr)
        .any(|e| within(cidr, e))
}

fn policy_types(value: &Value) -> (bool, bool) {
    let types = homelab_k8s::network_policy::policy_types(value);
    (
        types.contains(&homelab_k8s::network_policy::Direction::Ingress),
        types.contains(&homelab_k8s::network_policy::Direction::Egress),
    )
}

/// Everything needed to judge flows.
pub struct Network<'a> {
    pub pods: Vec<Pod>,
    pub policies: Vec<Policy<'a>>,
    pub namespace_labels: &'a HashMap<String, Labels>,
}

impl Network<'_> {
    fn ns_labels(&self, ns: &str) -> Labels {
        self.namespace_labels.get(ns).cloned().unwrap_or_else(|| {
            Labels::from([("kubernetes.io/metadata.name".to_string(), ns.to_string())])
        })
    }

    /// Whether a policy peer (`from`/`to` item) of a policy in `policy_ns` matches `pod`.
    fn peer_matches_pod(&self, peer: &Value, policy_ns: &str, pod: &Pod) -> bool {
        if let Some(block) = peer.get("ipBlock") {
            return block_holds_pods(block);
        }
        let ns_sel = peer.get("namespaceSelector");
        let pod_sel = peer.get("podSelector");
        if ns_sel.is_none() && pod_sel.is_none() {
            return false;
        }
        let ns_ok = match ns_sel {
            Some(sel) => selector::matches(Some(sel), &self.ns_labels(&pod.namespace)),
            None => pod.namespace == policy_ns,
        };
        ns_ok && selector::matches(pod_sel, &pod.labels)
    }

    /// Whether a rule's `ports` admit `port`/`protocol` on `pod` (named ports resolve on the
    /// destination pod).
    fn ports_match(rule: &Value, port: u16, protocol: &str, dest: Option<&Pod>) -> bool {
        let Some(Value::Array(ports)) = rule.get("ports") else {
            return true;
        };
        if ports.is_empty() {
            return true;
        }
        ports.iter().any(|p| {
            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            if proto != protocol {
                return false;
            }
            match p.get("port") {
                None | Some(Value::Null) => true,
                Some(Value::Number(n)) => {
                    let start = n.as_u64().unwrap_or(0);
                    let end = p.get("endPort").and_then(Value::as_u64).unwrap_or(start);
                    (start..=end).contains(&u64::from(port))
                }
                Some(Value::String(name)) => match name.parse::<u16>() {
                    Ok(n) => n == port,
                    Err(_) => dest.is_some_and(|d| {
                        d.ports.iter().any(|(pn, number, pr)| {
                            pn.as_deref() == Some(name.as_str())
                                && *number == port
                                && pr == protocol
                        })
                    }),
                },
                Some(_) => false,
            }
        })
    }

    /// The policies of `pod`'s namespace that select it for a direction.
    fn selecting(&self, pod: &Pod, egress: bool) -> Vec<&Policy<'_>> {
        self.policies
            .iter()
            .filter(|p| p.namespace == pod.namespace)
            .filter(|p| {
                let (i, e) = policy_types(p.value);
                if egress {
                    e
                } else {
                    i
                }
            })
            .filter(|p| selector::matches(p.value.pointer("/spec/podSelector"), &pod.labels))
            .collect()
    }

    /// Judges one flow: `None` when allowed, else the cut.
    pub fn judge(&self, flow: &Flow) -> Option<Cut> {
        let src = &self.pods[flow.from];
        let (port, protocol, dest) = match &flow.to {
            Target::Pod(d, port, proto) => (*port, proto.as_str(), Some(&self.pods[*d])),
            Target::Internet(port) => (*port, "TCP", None),
        };
        let dest_label = match dest {
            Some(d) => d.label.clone(),
            None => "the internet".to_string(),
        };
        let mut wave = src.wave.max(dest.map_or(i64::MIN, |d| d.wave));
        // Egress from the source.
        let egress = self.selecting(src, true);
        if !egress.is_empty() {
            let allowed = egress.iter().any(|p| {
                p.value
                    .pointer("/spec/egress")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|rule| {
                        let peers_ok = match rule.get("to").and_then(Value::as_array) {
                            None => true,
                            Some(to) if to.is_empty() => true,
                            Some(to) => to.iter().any(|peer| match dest {
                                Some(d) => self.peer_matches_pod(peer, &p.namespace, d),
                                None => peer.get("ipBlock").is_some_and(block_holds_internet),
                            }),
                        };
                        peers_ok && Self::ports_match(rule, port, protocol, dest)
                    })
            });
            if !allowed {
                let blamed = blame(&egress, "egress");
                wave = wave.max(blamed.wave);
                return Some(Cut {
                    policy: blamed.object,
                    wave,
                    cause: format!(
                        "cuts a required flow: {} -> {dest_label} on {port}/{protocol} ({}): egress of {} is governed by NetworkPolicy {} and none allows it",
                        src.label,
                        flow.why,
                        src.label,
                        names(&egress),
                    ),
                });
            }
        }
        let d = dest?;
        let ingress = self.selecting(d, false);
        if ingress.is_empty() {
            return None;
        }
        let allowed = ingress.iter().any(|p| {
            p.value
                .pointer("/spec/ingress")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|rule| {
                    let peers_ok = match rule.get("from").and_then(Value::as_array) {
                        None => true,
                        Some(from) if from.is_empty() => true,
                        Some(from) => from
                            .iter()
                            .any(|peer| self.peer_matches_pod(peer, &p.namespace, src)),
                    };
                    peers_ok && Self::ports_match(rule, port, protocol, Some(d))
                })
        });
        if allowed {
            return None;
        }
        let blamed = blame(&ingress, "ingress");
        Some(Cut {
            policy: blamed.object,
            wave: wave.max(blamed.wave),
            cause: format!(
                "cuts a required flow: {} -> {dest_label} on {port}/{protocol} ({}): ingress to {dest_label} is governed by NetworkPolicy {} and none allows it",
                src.label,
                flow.why,
                names(&ingress),
            ),
        })
    }
}

/// The policy to blame among those that govern a direction: the one that allows nothing in
/// it (the default deny), else the first.
fn blame<'p>(policies: &[&'p Policy<'p>], field: &str) -> &'p Policy<'p> {
    policies
        .iter()
        .find(|p| {
            p.value
                .pointer(&format!("/spec/{field}"))
                .and_then(Value::as_array)
                .is_none_or(|r| r.is_empty())
        })
        .copied()
        .unwrap_or(policies[0])
}

fn names(policies: &[&Policy<'_>]) -> String {
    policies
        .iter()
        .map(|p| format!("`{}/{}`", p.namespace, p.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A Service reference found in a text: (service name, namespace if named, port if named).
pub type Reference = (String, Option<String>, Option<u16>);

/// The in-cluster Service names a text mentions: `name.ns.svc[.cluster.local][:port]`, and
/// `name.ns:port` / `name:port` (kept only when such a Service exists, by the caller).
pub fn references(text: &str) -> Vec<Reference> {
    let mut out = Vec::new();
    for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':')))
    {
        let token = token.trim_matches(|c| c == '.' || c == ':');
        if token.is_empty() || token.len() > 300 {
            continue;
        }
        let (host, port) = match token.rsplit_once(':') {
            Some((h, p)) => match p.parse::<u16>() {
                Ok(p) => (h, Some(p)),
                Err(_) => continue,
            },
            None => (token, None),
        };
        let host = host
            .strip_suffix(".cluster.local")
            .unwrap_or(host)
            .to_ascii_lowercase();
        let parts: Vec<&str> = host.split('.').collect();
        let valid = |s: &str| {
            !s.is_empty()
                && s.len() <= 63
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !s.starts_with('-')
        };
        match parts.as_slice() {
            [name, ns, "svc"] if valid(name) && valid(ns) => {
                out.push((name.to_string(), Some(ns.to_string()), port));
            }
            [name, ns] if port.is_some() && valid(name) && valid(ns) => {
                out.push((name.to_string(), Some(ns.to_string()), port));
            }
            [name] if port.is_some() && valid(name) && name.parse::<u16>().is_err() => {
                out.push((name.to_string(), None, port));
            }
            _ => {}
        }
    }
    out
}

/// The host and port of a repository URL (`https://host/x.git`, `git@host:x.git`,
/// `ssh://git@host:2222/x`), with the port its scheme implies.
pub fn repo_host(url: &str) -> Option<(String, u16)> {
    let url = url.trim();
    if let Some(rest) = url.strip_prefix("git@") {
        let host = rest.split(':').next()?;
        return Some((host.to_ascii_lowercase(), 22));
    }
    let (scheme, rest) = url.split_once("://")?;
    let default = match scheme {
        "https" | "oci" => 443,
        "http" => 80,
        "ssh" | "git+ssh" => 22,
        "git" => 9418,
        _ => return None,
    };
    let authority = rest.split('/').next()?;
    let authority = authority.rsplit('@').next()?;
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (authority, default),
    };
    (!host.is_empty()).then(|| (host.to_ascii_lowercase(), port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_references_in_urls_and_addresses() {
        let r = references("http://litellm.ai-services.svc:4000/v1");
        assert_eq!(
            r,
            vec![("litellm".into(), Some("ai-services".into()), Some(4000))]
        );
        let r = references("api_base: http://ollama.gpu.svc.cluster.local:11434");
        assert_eq!(r, vec![("ollama".into(), Some("gpu".into()), Some(11434))]);
        assert_eq!(
            references("redis:6379"),
            vec![("redis".into(), None, Some(6379))]
        );
        assert!(references("see https://example.com/a and 10.0.0.1:80")
            .iter()
            .all(|r| r.1.is_some() || r.0 != "10"));
        assert!(references("time: 12:30").is_empty());
    }

    #[test]
    fn repository_hosts_and_ports() {
        assert_eq!(
            repo_host("https://github.com/a/b.git"),
            Some(("github.com".into(), 443))
        );
        assert_eq!(
            repo_host("git@gitlab.lan:a/b.git"),
            Some(("gitlab.lan".into(), 22))
        );
        assert_eq!(
            repo_host("http://gitlab-webservice.gitlab.svc:8181/a/b.git"),
            Some(("gitlab-webservice.gitlab.svc".into(), 8181))
        );
        assert_eq!(
            repo_host("ssh://git@host:2222/x"),
            Some(("host".into(), 2222))
        );
        assert_eq!(repo_host("file:///etc"), None);
    }

    #[test]
    fn ip_blocks_for_pods_and_the_internet() {
        let internet = json!({"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]});
        assert!(block_holds_internet(&internet));
        assert!(!block_holds_pods(&internet));
        assert!(block_holds_pods(&json!({"cidr": "0.0.0.0/0"})));
        assert!(!block_holds_internet(&json!({"cidr": "10.0.0.10/32"})));
        assert!(block_holds_internet(&json!({"cidr": "140.82.112.0/20"})));
        assert!(!block_holds_internet(
            &json!({"cidr": "140.82.112.0/20", "except": ["140.82.0.0/16"]})
        ));
    }
}
