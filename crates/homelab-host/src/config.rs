//! What the host should look like: the `[storage]` section of `platform.toml`, read and
//! checked by the platform crate (the same parser, types and errors as `homelab render`), or
//! the guide's defaults without a platform.toml; command-line flags override either.

use homelab_platform::values::{ValueKind, DEVICE_PLACEHOLDER};
use std::path::{Path, PathBuf};

/// The guide's fstab options after `subvol=`.
pub const BASE_OPTIONS: [&str; 3] = ["noatime", "space_cache=v2", "discard=async"];

/// A Longhorn replica the platform places on this node.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PlannedReplica {
    pub name: String,
    pub bytes: u64,
}

/// Everything `plan`, `apply` and `check` need to know.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HostConfig {
    /// `/dev/...`, `UUID=...` or `LABEL=...`; `None` means "take it from the fstab entry".
    pub device: Option<String>,
    pub subvolume: String,
    pub mountpoint: PathBuf,
    /// `zstd:1` (NVMe) or `zstd:3` (SATA), or any btrfs `compress=` value.
    pub compression: String,
    pub snapshot_dir: PathBuf,
    /// systemd `OnCalendar=` value.
    pub schedule: String,
    pub retention: u32,
    pub replicas: Vec<PlannedReplica>,
    pub fstab: PathBuf,
    pub systemd_dir: PathBuf,
    pub mountinfo: PathBuf,
    /// Where the snapshot script is installed.
    pub script: PathBuf,
}

pub const SERVICE_NAME: &str = "homelab-longhorn-snapshot.service";
pub const TIMER_NAME: &str = "homelab-longhorn-snapshot.timer";
pub const REAL_SYSTEMD_DIR: &str = "/etc/systemd/system";

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            device: None,
            subvolume: "@longhorn".into(),
            mountpoint: "/var/lib/longhorn".into(),
            compression: "zstd:1".into(),
            snapshot_dir: "/var/lib/longhorn/.snapshots".into(),
            schedule: "weekly".into(),
            retention: 4,
            replicas: Vec::new(),
            fstab: "/etc/fstab".into(),
            systemd_dir: REAL_SYSTEMD_DIR.into(),
            mountinfo: "/proc/self/mountinfo".into(),
            script: "/usr/local/sbin/homelab-longhorn-snapshot".into(),
        }
    }
}

impl HostConfig {
    /// The mount options in fstab order: `subvol=@longhorn,noatime,compress=zstd:1,space_cache=v2,discard=async`.
    pub fn mount_options(&self) -> Vec<String> {
        let mut v = vec![
            format!("subvol={}", self.subvolume),
            BASE_OPTIONS[0].to_string(),
        ];
        if self.compresses() {
            v.push(format!("compress={}", self.compression));
        }
        v.push(BASE_OPTIONS[1].to_string());
        v.push(BASE_OPTIONS[2].to_string());
        v
    }

    /// `compression = "none"` leaves `compress=` out of the options.
    pub fn compresses(&self) -> bool {
        self.compression != "none"
    }

    pub fn service_path(&self) -> PathBuf {
        self.systemd_dir.join(SERVICE_NAME)
    }

    pub fn timer_path(&self) -> PathBuf {
        self.systemd_dir.join(TIMER_NAME)
    }

    /// The values as `platform.toml` allows them (flags may override the file), so nothing odd
    /// reaches fstab, a unit file or a shell script.
    pub fn validate(&self) -> Result<(), String> {
        validate_compression(&self.compression)?;
        if !ValueKind::SubvolumeName.check(&self.subvolume) {
            return Err(format!(
                "subvolume {:?}: expected {}",
                self.subvolume,
                ValueKind::SubvolumeName.describe()
            ));
        }
        // A device given with --device may also be a loop image file (tests, trials).
        if self.device.as_deref() == Some(DEVICE_PLACEHOLDER) {
            return Err(format!(
                "device {DEVICE_PLACEHOLDER:?} is the placeholder: expected {}",
                ValueKind::FstabDevice.describe()
            ));
        }
        for (what, p) in [
            ("mountpoint", &self.mountpoint),
            ("snapshot_dir", &self.snapshot_dir),
            ("script", &self.script),
        ] {
            let s = p.to_string_lossy();
            if !ValueKind::AbsolutePath.check(&s) {
                return Err(format!(
                    "{what} {s:?}: expected {} (it goes into fstab, systemd units and a shell script)",
                    ValueKind::AbsolutePath.describe()
                ));
            }
        }
        if self.retention == 0 {
            return Err("retention must be at least 1 snapshot".into());
        }
        if !ValueKind::OnCalendar.check(&self.schedule) {
            return Err(format!(
                "schedule {:?}: expected {}",
                self.schedule,
                ValueKind::OnCalendar.describe()
            ));
        }
        Ok(())
    }
}

/// `zstd`, `zstd:1..15`, `lzo`, `zlib`, `zlib:1..9`, `none` (btrfs(5)): the platform's rule.
pub fn validate_compression(c: &str) -> Result<(), String> {
    if homelab_platform::values::is_btrfs_compression(c) {
        Ok(())
    } else {
        Err(format!(
            "compression {c:?}: use zstd:1 for NVMe, zstd:3 for SATA SSD (or zstd, zstd:1..15, lzo, zlib[:1..9], none)"
        ))
    }
}

/// Parse a Kubernetes quantity (`50Gi`, `20G`, `1.5Ti`, `1024`) into bytes, exactly as the
/// cluster reads the same text.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let quantity =
        homelab_k8s::Quantity::parse(s.trim()).map_err(|e| format!("size {s:?}: {e}"))?;
    u64::try_from(quantity.units_rounded_up())
        .map_err(|_| format!("size {s:?}: a size cannot be negative"))
}

/// Read `[storage]` from a platform.toml text (`origin` names the file in errors): the whole
/// file is parsed and validated as `homelab render` does (a file render refuses, host refuses
/// too, with the same `file:line:col` errors); node budgets are not the host's concern.
pub fn from_toml(text: &str, origin: &Path) -> anyhow::Result<HostConfig> {
    let config = homelab_platform::config::parse_with(text, &origin.display().to_string(), false)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(from_storage(&config.storage))
}

/// The host layout `[storage]` describes. The default device placeholder means "not set yet":
/// the device then comes from `--device` or the existing fstab entry.
pub fn from_storage(st: &homelab_platform::config::Storage) -> HostConfig {
    HostConfig {
        device: (st.device != DEVICE_PLACEHOLDER).then(|| st.device.clone()),
        subvolume: st.subvolume.clone(),
        mountpoint: PathBuf::from(&st.host_path),
        compression: st.compression.clone(),
        snapshot_dir: PathBuf::from(&st.host_snapshot.directory),
        schedule: st.host_snapshot.on_calendar.clone(),
        retention: st.host_snapshot.retain,
        ..HostConfig::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_guide() {
        let c = HostConfig::default();
        assert_eq!(
            c.mount_options().join(","),
            "subvol=@longhorn,noatime,compress=zstd:1,space_cache=v2,discard=async"
        );
        assert_eq!(c.mountpoint, Path::new("/var/lib/longhorn"));
        assert_eq!(c.schedule, "weekly");
        c.validate().unwrap();
    }

    use homelab_platform::DEFAULT_CONFIG;

    fn with(from: &str, to: &str) -> String {
        assert!(DEFAULT_CONFIG.contains(from), "{from}");
        DEFAULT_CONFIG.replacen(from, to, 1)
    }

    #[test]
    fn reads_the_platform_template() {
        let text = with("retain = 4", "retain = 6")
            .replacen(
                "on_calendar = \"weekly\"",
                "on_calendar = \"Sun *-*-* 03:00\"",
                1,
            )
            .replacen("compression = \"zstd:1\"", "compression = \"none\"", 1);
        let c = from_toml(&text, Path::new("platform.toml")).unwrap();
        assert_eq!(c.schedule, "Sun *-*-* 03:00");
        assert_eq!(c.retention, 6);
        assert_eq!(c.mountpoint, Path::new("/var/lib/longhorn"));
        assert_eq!(
            c.snapshot_dir,
            Path::new("/mnt/storage/.snapshots/longhorn")
        );
        assert_eq!(c.device, None, "the placeholder is not a device");
        c.validate().unwrap();
        assert_eq!(
            c.mount_options().join(","),
            "subvol=@longhorn,noatime,space_cache=v2,discard=async"
        );
        let uuid = "UUID=0123abcd-0000-4000-8000-00000000abcd";
        let c = from_toml(
            &with(
                "device = \"UUID=<btrfs-uuid>\"",
                &format!("device = \"{uuid}\""),
            ),
            Path::new("p"),
        )
        .unwrap();
        assert_eq!(c.device.as_deref(), Some(uuid));
    }

    /// One reader: whatever `[storage]` text the platform parser refuses, host refuses (the
    /// aliases and flat keys host once read loosely included), and the other way round.
    #[test]
    fn host_and_platform_accept_and_reject_the_same_storage() {
        let cases = [
            (
                "host_path = \"/var/lib/longhorn\"",
                "data_path = \"/var/lib/longhorn\"",
            ),
            (
                "host_path = \"/var/lib/longhorn\"",
                "mountpoint = \"/var/lib/longhorn\"",
            ),
            ("compression = \"zstd:1\"", "disk = \"sata\""),
            ("compression = \"zstd:1\"", "compression = \"zlib:9\""),
            ("compression = \"zstd:1\"", "compression = \"zstd:16\""),
            ("compression = \"zstd:1\"", "compression = \"zstd:1,ro\""),
            ("subvolume = \"@longhorn\"", "subvolume = \"../x\""),
            (
                "host_path = \"/var/lib/longhorn\"",
                "host_path = \"var/lib\"",
            ),
            ("retain = 4", "snapshot_retention = 4"),
            (
                "max_replicas = 2",
                "max_replicas = 2\n[[storage.replicas]]\nname = \"gitlab\"\nsize = \"50Gi\"",
            ),
        ];
        for (from, to) in cases {
            let text = with(from, to);
            let platform = homelab_platform::config::parse_with(&text, "p", false).is_ok();
            let host = from_toml(&text, Path::new("p")).is_ok_and(|c| c.validate().is_ok());
            assert_eq!(platform, host, "{to}");
        }
        for value in [
            "zstd", "zstd:15", "zlib", "zlib:9", "lzo", "none", "zstd:0", "zlib:10", "gzip",
        ] {
            let text = with(
                "compression = \"zstd:1\"",
                &format!("compression = \"{value}\""),
            );
            let platform = homelab_platform::config::parse_with(&text, "p", false).is_ok();
            assert_eq!(validate_compression(value).is_ok(), platform, "{value}");
        }
    }

    #[test]
    fn errors_name_the_file_line_and_column() {
        let e = from_toml(&with("retain = 4", "retain = \"x\""), Path::new("p.toml"))
            .unwrap_err()
            .to_string();
        let line = DEFAULT_CONFIG
            .lines()
            .position(|l| l == "retain = 4")
            .unwrap()
            + 1;
        assert!(e.starts_with(&format!("p.toml:{line}:")), "{e}");
    }

    #[test]
    fn validation() {
        for ok in ["zstd:1", "zstd:3", "zstd", "lzo", "zlib:9"] {
            validate_compression(ok).unwrap();
        }
        for bad in ["zstd:0", "zstd:16", "gzip", "zlib:10", "zstd:1,ro"] {
            assert!(validate_compression(bad).is_err(), "{bad}");
        }
        let c = HostConfig {
            subvolume: "@long,horn".into(),
            ..Default::default()
        };
        assert!(c.validate().is_err());
        let c = HostConfig {
            mountpoint: "relative".into(),
            ..Default::default()
        };
        assert!(c.validate().is_err());
        assert_eq!(parse_size("1.5Ti").unwrap(), 1649267441664);
        assert!(parse_size("5Qi").is_err());
    }

    /// Sizes read the way Kubernetes reads quantities: every unit up to `E`/`Ei`, exponents,
    /// and no unit Kubernetes rejects (`K`).
    #[test]
    fn sizes_are_kubernetes_quantities() {
        assert_eq!(parse_size("20G").unwrap(), 20_000_000_000);
        assert_eq!(parse_size(" 512Mi ").unwrap(), 512 << 20);
        assert_eq!(parse_size("1E").unwrap(), 10u64.pow(18));
        assert_eq!(parse_size("2Ei").unwrap(), 2 << 60);
        assert_eq!(parse_size("5e9").unwrap(), 5_000_000_000);
        assert_eq!(parse_size("1k").unwrap(), 1000);
        assert!(parse_size("1K").is_err());
        assert!(parse_size("-1Gi").is_err());
    }
}
