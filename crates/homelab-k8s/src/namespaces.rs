//! Namespaces the cluster itself runs.

/// The namespaces every Kubernetes cluster creates for itself: its control-plane add-ons
/// (`kube-system`), public bootstrap data (`kube-public`) and node heartbeats
/// (`kube-node-lease`). No repository should lock them down or be judged by what runs there.
pub const SYSTEM_NAMESPACES: [&str; 3] = ["kube-system", "kube-public", "kube-node-lease"];

/// Whether `namespace` is one of [`SYSTEM_NAMESPACES`].
pub fn is_system_namespace(namespace: &str) -> bool {
    SYSTEM_NAMESPACES.contains(&namespace)
}
