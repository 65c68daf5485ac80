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
//! Modules: `criteria` (the checks). Output goes through `homelab-report`'s checklist
//! ([`checklist`] converts).

mod criteria;

pub use criteria::evaluate;
use homelab_k8s::guide;

/// The verdicts as a checklist for `homelab_report::checklist::render`.
pub fn checklist(criteria: &[Criterion]) -> Vec<homelab_report::checklist::Item> {
    use homelab_report::checklist::Item;
    criteria
        .iter()
        .map(|c| Item {
            id: c.id.to_string(),
            area: c.area.to_string(),
            title: c.title.clone(),
            mark: c.status,
            evidence: c.evidence.clone(),
        })
        .collect()
}

/// The verdict on one criterion (`met`, `not met`, `not checkable`, `skipped`): the
/// checklist's own mark, so that the output layer needs no translation.
pub use homelab_report::checklist::Mark;

/// One success criterion and its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criterion {
    /// Stable identifier (`longhorn-storage-classes`).
    pub id: &'static str,
    /// The guide's section (`Storage Infrastructure`).
    pub area: &'static str,
    /// The criterion as the guide words it.
    pub title: String,
    pub status: Mark,
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
            longhorn_namespace: guide::LONGHORN_NAMESPACE.into(),
            default_class: guide::DEFAULT_STORAGE_CLASS.into(),
            default_replicas: guide::DEFAULT_REPLICAS,
            gpu_class: Some(guide::GPU_STORAGE_CLASS.into()),
            snapshot_retain: guide::SNAPSHOT_RETAIN,
            argocd_namespace: "argocd".into(),
            root_app: "root".into(),
            apps: Vec::new(),
            waves: (-2..=3).collect(),
            sealed_secrets: Some("kube-system".into()),
            kyverno: true,
            critical_policies: guide::CRITICAL_POLICIES.map(String::from).to_vec(),
            pss_exempt: guide::PRIVILEGED_NAMESPACES.map(String::from).to_vec(),
            arc_namespace: Some("arc-systems".into()),
            arc_scale_sets: vec!["arc-linux-standard".into(), "arc-linux-gpu".into()],
            runner_group: "homelab-runners".into(),
            gitlab: Some("gitlab".into()),
            gitlab_runner: Some("gitlab-runner".into()),
            trivy: Some("trivy-system".into()),
        }
    }
}

/// True when every checkable criterion is met (exit code 0).
pub fn all_met(criteria: &[Criterion]) -> bool {
    criteria.iter().all(|c| c.status != Mark::NotMet)
}
