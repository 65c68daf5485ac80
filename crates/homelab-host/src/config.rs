//! What the host should look like: the `[storage]` section of `platform.toml` (other sections
//! ignored), with the guide's defaults, overridden by command-line flags.

use serde::Deserialize;
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

    /// Basic sanity, so nothing odd reaches fstab, a unit file or a shell script.
    pub fn validate(&self) -> Result<(), String> {
        validate_compression(&self.compression)?;
        let sv = &self.subvolume;
        if sv.is_empty()
            || sv.starts_with('/')
            || sv.split('/').any(|p| p.is_empty() || p == "." || p == "..")
            || sv.contains([',', ' ', '\t', '\n', '\'', '"', '\\', '$', '`'])
        {
            return Err(format!(
                "subvolume {sv:?}: give a path below the top-level subvolume like @longhorn (no leading /, commas, quotes or spaces)"
            ));
        }
        for (what, p) in [
            ("mountpoint", &self.mountpoint),
            ("snapshot_dir", &self.snapshot_dir),
            ("script", &self.script),
        ] {
            let s = p.to_string_lossy();
            if !p.is_absolute() || s.contains([' ', '\t', '\n', '\'', '"', '\\', '$', '`', '%']) {
                return Err(format!(
                    "{what} {s:?}: must be an absolute path without spaces, quotes, backslashes, `$` or `%` (it goes into fstab, systemd units and a shell script)"
                ));
            }
        }
        if self.retention == 0 {
            return Err("retention must be at least 1 snapshot".into());
        }
        if self.schedule.is_empty() || self.schedule.contains(['\n', '\r']) {
            return Err(format!(
                "schedule {:?}: give a systemd OnCalendar value such as weekly",
                self.schedule
            ));
        }
        Ok(())
    }
}

/// `zstd`, `zstd:1..15`, `lzo`, `zlib`, `zlib:1..9` (btrfs(5)).
pub fn validate_compression(c: &str) -> Result<(), String> {
    let ok = match c.split_once(':') {
        None => matches!(c, "zstd" | "lzo" | "zlib" | "none"),
        Some(("zstd", l)) => l.parse::<u8>().is_ok_and(|l| (1..=15).contains(&l)),
        Some(("zlib", l)) => l.parse::<u8>().is_ok_and(|l| (1..=9).contains(&l)),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "compression {c:?}: use zstd:1 for NVMe, zstd:3 for SATA SSD (or zstd, zstd:1..15, lzo, zlib[:1..9], none)"
        ))
    }
}

/// The `[storage]` keys this crate reads (the names `homelab-platform`'s platform.toml uses;
/// a few flat aliases are accepted too). Unknown keys and other sections are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StorageSection {
    pub device: Option<String>,
    /// Where the btrfs top level is mounted (informational: apply mounts it itself).
    pub btrfs_mount: Option<String>,
    pub host_snapshot: Option<HostSnapshotToml>,
    pub subvolume: Option<String>,
    #[serde(alias = "host_path", alias = "data_path")]
    pub mountpoint: Option<String>,
    pub compression: Option<String>,
    /// `nvme` or `sata`: picks zstd:1 or zstd:3 when `compression` is not given.
    pub disk: Option<String>,
    pub snapshot_dir: Option<String>,
    pub snapshot_schedule: Option<String>,
    pub snapshot_retention: Option<u32>,
    pub replicas: Vec<ReplicaToml>,
}

/// `[storage.host_snapshot]`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct HostSnapshotToml {
    pub on_calendar: Option<String>,
    pub retain: Option<u32>,
    pub directory: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ReplicaToml {
    pub name: String,
    /// `"50Gi"`, `"20G"`, `"512Mi"` or a number of bytes.
    pub size: SizeToml,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum SizeToml {
    Bytes(u64),
    Text(String),
}

#[derive(Debug, Default, Deserialize)]
struct PlatformFile {
    #[serde(default)]
    storage: StorageSection,
}

/// Parse a Kubernetes quantity (`50Gi`, `20G`, `1.5Ti`, `1024`) into bytes, exactly as the
/// cluster reads the same text.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let quantity =
        homelab_k8s::Quantity::parse(s.trim()).map_err(|e| format!("size {s:?}: {e}"))?;
    u64::try_from(quantity.units_rounded_up())
        .map_err(|_| format!("size {s:?}: a size cannot be negative"))
}

/// Read `[storage]` from a platform.toml text (`origin` names the file in errors).
pub fn from_toml(text: &str, origin: &Path) -> anyhow::Result<HostConfig> {
    let file: PlatformFile = toml::from_str(text).map_err(|e| {
        anyhow::anyhow!(
            "{}: {}",
            origin.display(),
            e.to_string().trim_end().replace('\n', "\n  ")
        )
    })?;
    let s = file.storage;
    let mut cfg = HostConfig::default();
    if let Some(d) = s.device {
        cfg.device = Some(d);
    }
    if let Some(v) = s.subvolume {
        cfg.subvolume = v;
    }
    let mut snapshot_dir_given = false;
    if let Some(v) = s.mountpoint {
        cfg.mountpoint = v.into();
    }
    match (s.compression, s.disk.as_deref()) {
        (Some(c), _) => cfg.compression = c,
        (None, Some("sata")) => cfg.compression = "zstd:3".into(),
        (None, Some("nvme")) | (None, None) => {}
        (None, Some(other)) => anyhow::bail!(
            "{}: [storage] disk = {other:?}: use \"nvme\" (zstd:1) or \"sata\" (zstd:3)",
            origin.display()
        ),
    }
    let hs = s.host_snapshot.unwrap_or_default();
    if let Some(v) = hs.directory.or(s.snapshot_dir) {
        cfg.snapshot_dir = v.into();
        snapshot_dir_given = true;
    }
    if !snapshot_dir_given {
        cfg.snapshot_dir = cfg.mountpoint.join(".snapshots");
    }
    if let Some(v) = hs.on_calendar.or(s.snapshot_schedule) {
        cfg.schedule = v;
    }
    if let Some(v) = hs.retain.or(s.snapshot_retention) {
        cfg.retention = v;
    }
    for r in s.replicas {
        let bytes = match r.size {
            SizeToml::Bytes(b) => b,
            SizeToml::Text(t) => parse_size(&t).map_err(|e| {
                anyhow::anyhow!("{}: [[storage.replicas]] {}: {e}", origin.display(), r.name)
            })?,
        };
        cfg.replicas.push(PlannedReplica {
            name: r.name,
            bytes,
        });
    }
    Ok(cfg)
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

    #[test]
    fn reads_storage_section_ignoring_the_rest() {
        let text = r#"
[cluster]
name = "homelab"
[storage]
device = "UUID=abc"
host_path = "/srv/longhorn"
disk = "sata"
snapshot_retention = 8
default_class = "longhorn-homelab"
[[storage.replicas]]
name = "gitlab"
size = "50Gi"
[[storage.replicas]]
name = "raw"
size = 1000
[components]
longhorn = true
"#;
        let c = from_toml(text, Path::new("platform.toml")).unwrap();
        assert_eq!(c.device.as_deref(), Some("UUID=abc"));
        assert_eq!(c.mountpoint, Path::new("/srv/longhorn"));
        assert_eq!(c.snapshot_dir, Path::new("/srv/longhorn/.snapshots"));
        assert_eq!(c.compression, "zstd:3");
        assert_eq!(c.retention, 8);
        assert_eq!(c.replicas[0].bytes, 50 * 1024 * 1024 * 1024);
        assert_eq!(c.replicas[1].bytes, 1000);
        assert_eq!(
            from_toml("", Path::new("p")).unwrap(),
            HostConfig::default()
        );
    }

    #[test]
    fn reads_the_platform_template_layout() {
        let text = r#"
[storage]
host_path = "/var/lib/longhorn"
btrfs_mount = "/mnt/storage"
subvolume = "@longhorn"
device = "UUID=0000"
compression = "none"
max_replicas = 2
[storage.longhorn_snapshot]
cron = "0 2 * * *"
retain = 7
[storage.host_snapshot]
on_calendar = "Sun *-*-* 03:00"
retain = 6
directory = "/mnt/storage/.snapshots/longhorn"
"#;
        let c = from_toml(text, Path::new("platform.toml")).unwrap();
        assert_eq!(c.schedule, "Sun *-*-* 03:00");
        assert_eq!(c.retention, 6);
        assert_eq!(
            c.snapshot_dir,
            Path::new("/mnt/storage/.snapshots/longhorn")
        );
        assert_eq!(c.device.as_deref(), Some("UUID=0000"));
        c.validate().unwrap();
        assert_eq!(
            c.mount_options().join(","),
            "subvol=@longhorn,noatime,space_cache=v2,discard=async"
        );
    }

    #[test]
    fn errors_name_the_file() {
        let e = from_toml(
            "[storage]\nsnapshot_retention = \"x\"\n",
            Path::new("p.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("p.toml: "), "{e}");
        assert!(e.contains("line 2"), "{e}");
        let e = from_toml("[storage]\ndisk = \"tape\"\n", Path::new("p.toml")).unwrap_err();
        assert!(e.to_string().contains("nvme"));
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
