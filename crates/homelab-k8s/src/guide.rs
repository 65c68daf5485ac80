//! The guide's platform, as facts that more than one part of homelab needs: `homelab init`'s
//! default `platform.toml` renders it, `check` holds repositories to it, `verify` holds a
//! cluster to it. One home for each fact, so that "critical" (for example) means the same in
//! all three; the platform crate's tests pin that its default and its render agree with these.

/// The Kyverno ClusterPolicies the guide enforces (Enforce mode, never Audit): its security
/// policies. `check` reports one of them in Audit (`kyverno/critical-audit`); `verify` wants each
/// to exist in Enforce mode.
pub const CRITICAL_POLICIES: [&str; 3] = [
    "pod-security-baseline",
    "disallow-host-access",
    "require-pinned-images",
];

/// Namespaces the guide labels `pod-security.kubernetes.io/enforce: privileged` (Longhorn's
/// node components, the GPU stack); every other namespace it renders enforces `baseline`.
pub const PRIVILEGED_NAMESPACES: [&str; 2] = ["longhorn-system", "gpu-workloads"];

/// The LAN range of the guide's network (the only source allowed into LAN-exposed services).
pub const LAN_CIDR: &str = "192.168.0.0/16";

/// Longhorn's namespace.
pub const LONGHORN_NAMESPACE: &str = "longhorn-system";

/// The default StorageClass (replicated across the storage nodes).
pub const DEFAULT_STORAGE_CLASS: &str = "longhorn-homelab";

/// The GPU node's strict-local StorageClass (one replica, on that node's disk).
pub const GPU_STORAGE_CLASS: &str = "longhorn-gpu-local";

/// Replicas of the default class (the guide's two storage nodes).
pub const DEFAULT_REPLICAS: u32 = 2;

/// Daily Longhorn snapshots kept.
pub const SNAPSHOT_RETAIN: u32 = 7;

/// The GPU node of the guide's two machines.
pub const GPU_NODE: &str = "akula-prime";

/// GitLab's memory request budget: the guide's 8 GB baseline.
pub const GITLAB_MEMORY_BUDGET: u64 = 8 * 1024 * 1024 * 1024;
