//! Success criteria of the guide checked against a live cluster or a snapshot.
//!
//! The input is a list of Kubernetes objects as `kubectl get ... -A -o yaml` returns them
//! (the caller loads and expands `kind: List`); the output is one [`Criterion`] per success
//! criterion of the guide, each `met`, `not met` (with evidence: which objects and fields,
//! what was expected), `not checkable` (what data would be needed) or `skipped` (the component
//! is switched off in `platform.toml`). Everything here is pure: no I/O, no clock.
//!
//! How absence is judged. A snapshot does not say which kinds were fetched, so:
//! - an object the guide requires that is absent (a StorageClass, the root Application,
//!   PolicyReports, VulnerabilityReports, the ARC scale sets...) makes its criterion
//!   **not met**: on a live cluster absence means "not installed / not producing";
//! - an object that is present but carries no `status` (a snapshot of manifests rather than of
//!   a cluster) makes the status part **not checkable**;
//! - criteria that are scoped by Pods (default-deny coverage, GitLab pods) are **not checkable**
//!   when the snapshot holds no Pods at all;
//! - criteria the cluster cannot show (btrfs host layout, key backups, pre-commit, GitHub-side
//!   runner group restrictions) are always **not checkable** and name the command that checks
//!   them.
//!
//! Scope: `kube-system`, `kube-public` and `kube-node-lease` belong to k3s and are outside the
//! Pod Security and default-deny checks; `default` needs a PSS label only when it runs Pods.
//! Default-deny means a NetworkPolicy with an empty `podSelector` listing the direction in
//! `policyTypes` with no rules, for both Ingress and Egress. Critical Kyverno policies (must be
//! Enforce) are those the rendered repository enforces: `pod-security-baseline`,
//! `disallow-host-access`, `require-pinned-images`.
//!
//! Secrets: only Secret names, labels and *key names* are ever read; values never reach the
//! evidence (tested).
//!
//! Modules: `criteria` (the checks), `output` (text, JSON, HTML).

mod criteria;
mod output;

pub use criteria::evaluate;
pub use output::{to_html, to_json, to_text};

/// The verdict on one criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Met,
    NotMet,
    NotCheckable,
    /// The component is switched off in `platform.toml`.
    Skipped,
}

impl Status {
    /// The stable name used in JSON and text (`met`, `not met`, `not checkable`, `skipped`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::NotMet => "not met",
            Status::NotCheckable => "not checkable",
            Status::Skipped => "skipped",
        }
    }

    /// The checklist box.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Met => "[x]",
            Status::NotMet => "[ ]",
            Status::NotCheckable => "[?]",
            Status::Skipped => "[-]",
        }
    }
}

/// One success criterion and its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criterion {
    /// Stable identifier (`longhorn-storage-classes`).
    pub id: &'static str,
    /// The guide's section (`Storage Infrastructure`).
    pub area: &'static str,
    /// The criterion as the guide words it.
    pub title: String,
    pub status: Status,
    /// What was found, what was expected, or what data would be needed.
    pub evidence: Vec<String>,
}

/// What the cluster should look like: the guide's defaults, or derived from `platform.toml`
/// by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expectations {
    pub longhorn_namespace: String,
    pub default_class: String,
    pub default_replicas: u32,
    /// `None` when the platform has no GPU node (no strict-local class is rendered).
    pub gpu_class: Option<String>,
    pub snapshot_retain: u32,
    pub argocd_namespace: String,
    pub root_app: String,
    /// Applications the platform renders with their sync waves (empty: not checked by name).
    pub apps: Vec<(String, i32)>,
    /// Sync waves that must each hold at least one Application.
    pub waves: Vec<i32>,
    /// Namespace of the SealedSecrets controller; `None` when switched off.
    pub sealed_secrets: Option<String>,
    /// Kyverno switched on.
    pub kyverno: bool,
    /// ClusterPolicies that must exist in Enforce mode.
    pub critical_policies: Vec<String>,
    /// Namespaces allowed to enforce `privileged`.
    pub pss_exempt: Vec<String>,
    /// ARC controller namespace; `None` when switched off.
    pub arc_namespace: Option<String>,
    pub arc_scale_sets: Vec<String>,
    pub runner_group: String,
    /// GitLab namespace; `None` when switched off.
    pub gitlab: Option<String>,
    /// GitLab Runner namespace; `None` when switched off.
    pub gitlab_runner: Option<String>,
    /// Trivy Operator namespace; `None` when switched off.
    pub trivy: Option<String>,
}

impl Default for Expectations {
    /// The guide's cluster (the embedded default `platform.toml`).
    fn default() -> Self {
        Expectations {
            longhorn_namespace: "longhorn-system".into(),
            default_class: "longhorn-homelab".into(),
            default_replicas: 2,
            gpu_class: Some("longhorn-gpu-local".into()),
            snapshot_retain: 7,
            argocd_namespace: "argocd".into(),
            root_app: "root".into(),
            apps: Vec::new(),
            waves: (-2..=3).collect(),
            sealed_secrets: Some("kube-system".into()),
            kyverno: true,
            critical_policies: vec![
                "pod-security-baseline".into(),
                "disallow-host-access".into(),
                "require-pinned-images".into(),
            ],
            pss_exempt: vec!["longhorn-system".into(), "gpu-workloads".into()],
            arc_namespace: Some("arc-systems".into()),
            arc_scale_sets: vec!["arc-linux-standard".into(), "arc-linux-gpu".into()],
            runner_group: "homelab-runners".into(),
            gitlab: Some("gitlab".into()),
            gitlab_runner: Some("gitlab-runner".into()),
            trivy: Some("trivy-system".into()),
        }
    }
}

/// Counts per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub met: usize,
    pub not_met: usize,
    pub not_checkable: usize,
    pub skipped: usize,
}

/// Counts the verdicts.
pub fn summarize(criteria: &[Criterion]) -> Summary {
    let mut s = Summary::default();
    for c in criteria {
        match c.status {
            Status::Met => s.met += 1,
            Status::NotMet => s.not_met += 1,
            Status::NotCheckable => s.not_checkable += 1,
            Status::Skipped => s.skipped += 1,
        }
    }
    s
}

/// True when every checkable criterion is met (exit code 0).
pub fn all_met(criteria: &[Criterion]) -> bool {
    criteria.iter().all(|c| c.status != Status::NotMet)
}
