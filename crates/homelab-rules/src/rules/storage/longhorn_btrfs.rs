//! # `storage/longhorn-btrfs`: Longhorn StorageClass with `fsType: btrfs`
//!
//! ## What it checks
//! A StorageClass with provisioner `driver.longhorn.io` whose `parameters.fsType` is
//! `btrfs`.
//!
//! ## Why
//! Longhorn formats its volumes with ext4 or XFS only; btrfs inside a Longhorn volume is
//! unsupported. The guide's design is btrfs at the host layer (compression and snapshots
//! of `/var/lib/longhorn`) with ext4 inside the volumes.
//!
//! ## Example
//! ```yaml
//! provisioner: driver.longhorn.io
//! parameters:
//!   fsType: btrfs
//! ```
//!
//! ## Fix
//! `fsType: "ext4"` (or `xfs`), and keep btrfs for the host filesystem under Longhorn's
//! data path (`homelab host apply`).

use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use serde_json::Value;

pub struct LonghornBtrfs;

impl Rule for LonghornBtrfs {
    fn id(&self) -> &'static str {
        "storage/longhorn-btrfs"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "Longhorn StorageClass with fsType btrfs (unsupported)"
    }
    fn check(&self, repo: &Repo, _settings: &Settings) -> Vec<Diagnostic> {
        repo.of_kind("StorageClass")
            .filter(|d| d.value.get("provisioner").and_then(Value::as_str) == Some("driver.longhorn.io"))
            .filter(|d| {
                d.value
                    .pointer("/parameters/fsType")
                    .and_then(Value::as_str)
                    .is_some_and(|f| f.eq_ignore_ascii_case("btrfs"))
            })
            .map(|d| {
                finding(
                    self,
                    d,
                    "/parameters/fsType",
                    format!("Longhorn StorageClass `{}` formats volumes as btrfs, which Longhorn does not support", d.name().unwrap_or("?")),
                    "use fsType: \"ext4\" (or xfs); btrfs belongs on the host under /var/lib/longhorn",
                )
            })
            .collect()
    }
}
