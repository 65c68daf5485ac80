//! The Kubernetes core that every homelab crate shares, so that each fact has one home:
//!
//! - [`Quantity`]: resource quantities (`500m`, `2.5Gi`, `1E`, `1e3`) parsed and compared
//!   exactly as the API server's `resource.Quantity` does (nano precision, rounding up,
//!   the int64 cap), never through a float.
//! - [`ResourceExt`]: name, namespace, kind, group, labels, annotations and the pod spec of a
//!   loaded object, instead of JSON-pointer chains at every call site.
//! - [`workload`]: the pod-controller kinds and where their pod template lives.
//! - [`namespaces`]: the namespaces the cluster itself runs.
//! - [`network_policy`]: what a NetworkPolicy selects and denies (the default-deny
//!   predicate).
//! - [`merge_keys`]: which list fields of the built-in kinds merge item by item in a
//!   strategic merge or server-side apply, and by which key.
//! - [`guide`]: the guide's platform facts that init, check and verify share (critical
//!   policies, classes, namespaces, budgets).
//! - [`public_material`]: Secret values that are public by design (SSH public keys,
//!   certificates), which the secret rules never call credentials.
//!
//! Pure functions over `serde_json::Value`; no I/O.

pub mod guide;
pub mod merge_keys;
pub mod namespaces;
pub mod network_policy;
pub mod placeholders;
pub mod public_material;
mod quantity;
mod resource;
pub mod workload;

pub use quantity::{Format, Quantity, QuantityError};
pub use resource::ResourceExt;
pub use workload::{Container, ContainerKind, PodSpec};
