//! What the rules need to know about the platform: LAN, nodes, exempt namespaces, budgets.
//! Built from `platform.toml` by the binary; [`Settings::default`] is the guide's homelab.

use homelab_k8s::guide;
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

/// Whose expectations the rules hold a repository to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expectations {
    /// Only what the repository itself declares (any GitOps repository): a rule judges a
    /// repository by its own facts and conventions, never by the guide's choices.
    #[default]
    Repository,
    /// The guide's platform: the repository is rendered from `platform.toml` (or the user
    /// asked for the guide's posture), so its choices (default-deny everywhere, Pod Security
    /// labels on every namespace, waves on every Application, ...) are requirements.
    Guide,
}

/// Platform facts the rules check against. Empty lists and `None` mean "not known": a rule
/// that needs an unknown fact does not guess it.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub expectations: Expectations,
    /// The LAN the cluster serves (ipBlocks must stay inside one of these).
    pub lan_cidrs: Vec<Cidr>,
    /// Namespaces allowed to be `privileged` under Pod Security Standards.
    pub privileged_namespaces: Vec<String>,
    /// Namespaces that are system namespaces (what a PolicyException may cover), besides
    /// the cluster's own.
    pub system_namespaces: Vec<String>,
    /// Namespaces where Services may be LoadBalancer/NodePort (the ingress controller's).
    pub ingress_namespaces: Option<Vec<String>>,
    /// Number of nodes that hold Longhorn replicas.
    pub storage_nodes: Option<usize>,
    /// Names of nodes with a GPU.
    pub gpu_nodes: Option<Vec<String>>,
    /// StorageClasses that exist besides those the repository defines or installs.
    pub storage_classes: Vec<String>,
    /// StorageClasses that keep a single local replica (fit for GPU workloads).
    pub local_storage_classes: Vec<String>,
    /// GitLab's total memory request budget, in bytes.
    pub gitlab_memory_budget: Option<u64>,
    /// Kyverno policies that must run in Enforce mode.
    pub critical_policies: Vec<String>,
    /// SHA-1 hex hashes of accepted secrets (`hashed_secret` of a detect-secrets
    /// `.secrets.baseline`).
    pub secrets_baseline: std::collections::BTreeSet<String>,
    /// The repository's key for secret fingerprints (`None`: keyed by each file's text).
    pub fingerprint_key: Option<crate::fingerprint::FingerprintKey>,
}

impl Settings {
    /// The guide's homelab: its LAN, nodes, exempt namespaces, classes and budgets. The
    /// binary refines it from `platform.toml`.
    pub fn guide() -> Settings {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Settings {
            expectations: Expectations::Guide,
            lan_cidrs: vec![Cidr::from_str(guide::LAN_CIDR).expect("valid")],
            privileged_namespaces: s(&[
                "kube-system",
                "longhorn-system",
                "gpu-workloads",
                "trivy-system",
            ]),
            system_namespaces: s(&["kyverno", "longhorn-system", "gpu-workloads"]),
            ingress_namespaces: Some(s(&["kube-system", "traefik"])),
            storage_nodes: Some(guide::DEFAULT_REPLICAS as usize),
            gpu_nodes: Some(s(&[guide::GPU_NODE])),
            storage_classes: s(&["local-path"]),
            local_storage_classes: s(&[guide::GPU_STORAGE_CLASS, "local-path"]),
            gitlab_memory_budget: Some(guide::GITLAB_MEMORY_BUDGET),
            critical_policies: s(&guide::CRITICAL_POLICIES),
            secrets_baseline: Default::default(),
            fingerprint_key: None,
        }
    }

    /// Whether the guide's posture applies (rendered platform, or asked for).
    pub fn guide_expectations(&self) -> bool {
        self.expectations == Expectations::Guide
    }

    /// What the platform facts come from, for messages.
    pub fn origin(&self) -> &'static str {
        match self.expectations {
            Expectations::Guide => "the platform (platform.toml)",
            Expectations::Repository => "the check configuration (.homelab.toml)",
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
