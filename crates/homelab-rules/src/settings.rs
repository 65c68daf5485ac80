//! What the rules need to know about the platform: LAN, nodes, exempt namespaces, budgets.
//! Built from `platform.toml` by the binary; [`Settings::default`] is the guide's homelab.

use std::net::IpAddr;
use std::str::FromStr;

/// An IP network in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("`{s}` is not an IP network (expected e.g. 192.168.0.0/16)"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() {
            max
        } else {
            prefix
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("`{s}` has an invalid prefix length (0..={max})"))?
        };
        Ok(Cidr { addr, prefix })
    }
}

fn bits(addr: IpAddr) -> (u128, u8) {
    match addr {
        IpAddr::V4(a) => (u32::from(a) as u128, 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    }
}

impl Cidr {
    /// True when every address of `other` lies inside `self`.
    pub fn contains(&self, other: &Cidr) -> bool {
        let (a, width) = bits(self.addr);
        let (b, other_width) = bits(other.addr);
        if width != other_width || other.prefix < self.prefix {
            return false;
        }
        let shift = width - self.prefix;
        if shift >= 128 {
            return true;
        }
        (a >> shift) == (b >> shift)
    }
}

/// Platform facts the rules check against.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The LAN the cluster serves (ipBlocks must stay inside one of these).
    pub lan_cidrs: Vec<Cidr>,
    /// Namespaces allowed to be `privileged` under Pod Security Standards.
    pub privileged_namespaces: Vec<String>,
    /// Namespaces that are system namespaces (what a PolicyException may cover).
    pub system_namespaces: Vec<String>,
    /// Namespaces where Services may be LoadBalancer/NodePort (the ingress controller's).
    pub ingress_namespaces: Vec<String>,
    /// Number of nodes that hold Longhorn replicas.
    pub storage_nodes: usize,
    /// Names of nodes with a GPU.
    pub gpu_nodes: Vec<String>,
    /// StorageClasses that exist besides those defined in the repository.
    pub storage_classes: Vec<String>,
    /// StorageClasses that keep a single local replica (fit for GPU workloads).
    pub local_storage_classes: Vec<String>,
    /// GitLab's total memory request budget, in bytes.
    pub gitlab_memory_budget: u64,
    /// Kyverno policies that must run in Enforce mode.
    pub critical_policies: Vec<String>,
    /// SHA-1 hex hashes of accepted secrets (`hashed_secret` of a detect-secrets
    /// `.secrets.baseline`).
    pub secrets_baseline: std::collections::BTreeSet<String>,
    /// The repository's key for secret fingerprints (`None`: keyed by each file's text).
    pub fingerprint_key: Option<crate::fingerprint::FingerprintKey>,
}

impl Default for Settings {
    fn default() -> Self {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Settings {
            lan_cidrs: vec![Cidr::from_str("192.168.0.0/16").expect("valid")],
            privileged_namespaces: s(&[
                "kube-system",
                "longhorn-system",
                "gpu-workloads",
                "trivy-system",
            ]),
            system_namespaces: homelab_k8s::namespaces::SYSTEM_NAMESPACES
                .iter()
                .chain(&["kyverno", "longhorn-system", "gpu-workloads"])
                .map(|n| n.to_string())
                .collect(),
            ingress_namespaces: s(&["kube-system", "traefik"]),
            storage_nodes: 2,
            gpu_nodes: s(&["akula-prime"]),
            storage_classes: s(&["local-path"]),
            local_storage_classes: s(&["longhorn-gpu-local", "local-path"]),
            gitlab_memory_budget: 8 * 1024 * 1024 * 1024,
            critical_policies: s(&["pod-security-baseline"]),
            secrets_baseline: Default::default(),
            fingerprint_key: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_containment() {
        let lan: Cidr = "192.168.0.0/16".parse().unwrap();
        assert!(lan.contains(&"192.168.1.0/24".parse().unwrap()));
        assert!(lan.contains(&"192.168.7.9".parse().unwrap()));
        assert!(!lan.contains(&"10.0.0.0/8".parse().unwrap()));
        assert!(!lan.contains(&"0.0.0.0/0".parse().unwrap()));
        assert!(!lan.contains(&"192.0.0.0/8".parse().unwrap()));
        assert!("192.168.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<Cidr>().is_err());
    }
}
