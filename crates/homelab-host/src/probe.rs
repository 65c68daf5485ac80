//! Looking at the host (the I/O edge of planning): reads the device's btrfs superblock,
//! fstab, mountinfo, installed unit files and snapshots into a [`HostState`] that the pure
//! planner and checker consume. Changes nothing.

use crate::config::{HostConfig, REAL_SYSTEMD_DIR, TIMER_NAME};
use crate::fstab::Fstab;
use crate::mountinfo::{self, Mount};
use crate::units;
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The btrfs primary superblock is at 64 KiB; its magic `_BHRfS_M` at +0x40 (absolute 0x10040),
/// the filesystem UUID at +0x20 and the label (256 bytes) at +0x12b.
const SUPER_OFFSET: u64 = 0x10000;
const MAGIC: &[u8; 8] = b"_BHRfS_M";

/// What the superblock says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Superblock {
    pub uuid: String,
    pub label: String,
}

/// Read the btrfs superblock of a device or image file. `Ok(None)`: readable, but not btrfs.
pub fn read_superblock(path: &Path) -> std::io::Result<Option<Superblock>> {
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 0x12b + 256];
    f.seek(SeekFrom::Start(SUPER_OFFSET))?;
    let mut got = 0;
    while got < buf.len() {
        let n = f.read(&mut buf[got..])?;
        if n == 0 {
            return Ok(None);
        }
        got += n;
    }
    Ok(parse_superblock(&buf))
}

/// Parse the first 0x22b bytes of a superblock.
pub fn parse_superblock(buf: &[u8]) -> Option<Superblock> {
    if buf.len() < 0x12b + 256 || &buf[0x40..0x48] != MAGIC {
        return None;
    }
    let u = &buf[0x20..0x30];
    let hexs: String = u.iter().map(|b| format!("{b:02x}")).collect();
    let uuid = format!(
        "{}-{}-{}-{}-{}",
        &hexs[0..8],
        &hexs[8..12],
        &hexs[12..16],
        &hexs[16..20],
        &hexs[20..32]
    );
    let raw = &buf[0x12b..0x12b + 256];
    let end = raw.iter().position(|b| *b == 0).unwrap_or(raw.len());
    let label = String::from_utf8_lossy(&raw[..end]).into_owned();
    Some(Superblock { uuid, label })
}

/// The device as found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum DeviceState {
    /// No device in flags, config, fstab or mountinfo.
    NotConfigured,
    Missing {
        spec: String,
        reason: String,
    },
    Unreadable {
        spec: String,
        path: PathBuf,
        reason: String,
    },
    NotBtrfs {
        spec: String,
        path: PathBuf,
    },
    Btrfs {
        spec: String,
        /// Canonical path (`/dev/nvme0n1p2`, `/dev/loop3`).
        path: PathBuf,
        uuid: String,
        label: String,
    },
}

impl DeviceState {
    pub fn btrfs(&self) -> Option<(&Path, &str, &str)> {
        match self {
            DeviceState::Btrfs {
                path, uuid, label, ..
            } => Some((path, uuid, label)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubvolState {
    Exists,
    Missing,
    /// Could not look without mounting (not root, or no btrfs tool).
    Unknown,
}

/// The mount at the configured mountpoint, with whether it is our filesystem.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MountAtTarget {
    pub mount: Mount,
    /// Same filesystem (UUID) as the configured device.
    pub same_fs: bool,
}

/// Everything the planner needs to know about the host.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HostState {
    pub is_root: bool,
    pub systemd_running: bool,
    /// The systemd directory is the real one, so systemctl may be used.
    pub real_systemd_dir: bool,
    pub device: DeviceState,
    /// fstab text; `None` when the file does not exist.
    #[serde(skip)]
    pub fstab_text: Option<String>,
    /// Canonical device paths of fstab sources that are paths (for "same filesystem" checks).
    pub fstab_spec_paths: BTreeMap<String, PathBuf>,
    #[serde(skip)]
    pub mounts: Vec<Mount>,
    pub at_target: Option<MountAtTarget>,
    /// The mount holding the snapshot dir, when that dir is outside the data path.
    pub snapshot_dir_mount: Option<MountAtTarget>,
    pub mountpoint_is_dir: bool,
    /// Entries in the mountpoint directory (as seen now): data a new mount would hide.
    pub mountpoint_entries: usize,
    pub subvolume: SubvolState,
    #[serde(skip)]
    pub installed: BTreeMap<PathBuf, String>,
    /// `systemctl is-enabled` and `is-active` for the timer (None when not asked).
    pub timer_enabled: Option<bool>,
    pub timer_active: Option<bool>,
    /// Snapshot subvolume names in the snapshot dir (sorted, oldest first).
    pub snapshots: Option<Vec<String>>,
}

impl HostState {
    pub fn fstab(&self) -> Fstab {
        Fstab::parse(self.fstab_text.as_deref().unwrap_or(""))
    }

    /// Does an fstab source name the configured filesystem?
    pub fn same_source(&self, spec: &str) -> bool {
        let Some((path, uuid, label)) = self.device.btrfs() else {
            return false;
        };
        match split_tag(spec) {
            Some(("UUID", u)) => u.eq_ignore_ascii_case(uuid),
            Some(("LABEL", l)) => !label.is_empty() && l == label,
            _ => self.fstab_spec_paths.get(spec).is_some_and(|p| p == path),
        }
    }
}

/// Read `path`; "missing" is `Ok(None)`.
fn read_optional(path: &Path) -> anyhow::Result<Option<String>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(String::from_utf8(b).map_err(|_| {
            anyhow::anyhow!("{}: not UTF-8 text; refusing to edit it", path.display())
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
    }
}

pub fn is_root() -> bool {
    // Effective uid from /proc (no libc call: the workspace forbids unsafe code).
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// sd_booted(3): systemd is PID 1 when `/run/systemd/system` exists.
pub fn systemd_running() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// Is `tool` runnable (on PATH, or in the sbin directories a non-login root shell may lack)?
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

fn command_stdout(cmd: &mut Command) -> Option<String> {
    cmd.output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// Resolve `/dev/...`, `UUID=` or `LABEL=` to a device path.
pub fn resolve_device(spec: &str) -> Result<PathBuf, String> {
    let Some((tag, value)) = split_tag(spec) else {
        let p = Path::new(spec);
        return p.canonicalize().map_err(|e| format!("{spec}: {e}"));
    };
    let dir = match tag {
        "UUID" => "/dev/disk/by-uuid",
        "LABEL" => "/dev/disk/by-label",
        "PARTUUID" => "/dev/disk/by-partuuid",
        _ => "/dev/disk/by-partlabel",
    };
    let link = Path::new(dir).join(value);
    if let Ok(p) = link.canonicalize() {
        return Ok(p);
    }
    // No udev symlinks (containers, early boot): ask blkid.
    let token = format!("{tag}={value}");
    if let Some(out) = command_stdout(Command::new("blkid").args(["-o", "device", "-t", &token])) {
        if let Some(first) = out.lines().next().filter(|l| !l.is_empty()) {
            return Path::new(first)
                .canonicalize()
                .map_err(|e| format!("{first}: {e}"));
        }
    }
    Err(format!(
        "no block device has {spec} ({} and `blkid -t {token}` found nothing)",
        link.display()
    ))
}

/// `UUID=x`, `LABEL=x`, `PARTUUID=x`, `PARTLABEL=x` (value optionally in double quotes, as
/// libmount accepts) -> (tag, value). `None` for a path.
pub fn split_tag(spec: &str) -> Option<(&str, &str)> {
    let (tag, value) = spec.split_once('=')?;
    if !matches!(tag, "UUID" | "LABEL" | "PARTUUID" | "PARTLABEL") {
        return None;
    }
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    Some((tag, value))
}

/// Is `m` a mount of the configured btrfs filesystem (same device path or same UUID)?
fn is_same_fs(m: &Mount, device: &DeviceState) -> bool {
    let Some((dev, uuid, _)) = device.btrfs() else {
        return false;
    };
    m.fstype == "btrfs"
        && (Path::new(&m.source).canonicalize().ok().as_deref() == Some(dev)
            || read_superblock(Path::new(&m.source))
                .ok()
                .flatten()
                .is_some_and(|s| s.uuid == uuid))
}

/// Pick and inspect the device: flag/config, else the fstab entry, else the current mount.
fn probe_device(cfg: &HostConfig, fstab: &Fstab, at_target: Option<&Mount>) -> DeviceState {
    let mp = cfg.mountpoint.to_string_lossy();
    let spec = cfg
        .device
        .clone()
        .or_else(|| fstab.entries_for(&mp).first().map(|e| e.spec.clone()))
        .or_else(|| {
            at_target
                .filter(|m| m.fstype == "btrfs")
                .map(|m| m.source.clone())
        });
    let Some(spec) = spec else {
        return DeviceState::NotConfigured;
    };
    if spec.contains('<') {
        return DeviceState::Missing {
            reason: "this is the template's placeholder: put the filesystem's UUID (from `blkid`) in platform.toml [storage] device".into(),
            spec,
        };
    }
    let path = match resolve_device(&spec) {
        Ok(p) => p,
        Err(reason) => return DeviceState::Missing { spec, reason },
    };
    match read_superblock(&path) {
        Ok(Some(sb)) => DeviceState::Btrfs {
            spec,
            path,
            uuid: sb.uuid,
            label: sb.label,
        },
        Ok(None) => DeviceState::NotBtrfs { spec, path },
        Err(e) => DeviceState::Unreadable {
            spec,
            path,
            reason: e.to_string(),
        },
    }
}

/// Does the top-level root tree list `subvolume` (a direct child of subvolid 5)? Reads the
/// device with `btrfs inspect-internal dump-tree -t root`, so nothing is mounted.
fn subvol_in_root_tree(device: &Path, subvolume: &str) -> Option<bool> {
    if subvolume.contains('/') {
        return None;
    }
    let out = command_stdout(
        Command::new("btrfs")
            .args(["inspect-internal", "dump-tree", "-t", "root"])
            .arg(device),
    )?;
    let mut lines = out.lines();
    let mut found = false;
    while let Some(l) = lines.next() {
        if l.contains("(FS_TREE ROOT_REF ") {
            if let Some(next) = lines.next() {
                if next.trim_end().rsplit_once(" name ").map(|(_, n)| n) == Some(subvolume) {
                    found = true;
                }
            }
        }
    }
    Some(found)
}

/// The subvolume: mounted somewhere already, under a mounted top level, or in the root tree.
fn probe_subvolume(cfg: &HostConfig, device: &DeviceState, mounts: &[Mount]) -> SubvolState {
    let Some((dev, _, _)) = device.btrfs() else {
        return SubvolState::Unknown;
    };
    let ours = |m: &&Mount| is_same_fs(m, device);
    let mine: Vec<&Mount> = mounts.iter().filter(ours).collect();
    if mine.iter().any(|m| m.subvolume() == cfg.subvolume) {
        return SubvolState::Exists;
    }
    if let Some(top) = mine.iter().find(|m| m.subvolume().is_empty()) {
        let p = Path::new(&top.mountpoint).join(&cfg.subvolume);
        return if is_subvolume(&p) {
            SubvolState::Exists
        } else {
            SubvolState::Missing
        };
    }
    match subvol_in_root_tree(dev, &cfg.subvolume) {
        Some(true) => SubvolState::Exists,
        Some(false) => SubvolState::Missing,
        None => SubvolState::Unknown,
    }
}

/// A btrfs subvolume root always has inode number 256.
pub fn is_subvolume(p: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir() && m.ino() == 256)
}

fn systemctl_is(verb: &str) -> Option<bool> {
    let out = Command::new("systemctl")
        .args([verb, TIMER_NAME])
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&out.stdout);
    Some(matches!(s.trim(), "enabled" | "active"))
}

/// Snapshot subvolumes (by name prefix) in the snapshot dir, sorted oldest first.
pub fn list_snapshots(cfg: &HostConfig) -> Option<Vec<String>> {
    let prefix = units::snapshot_prefix(cfg);
    let rd = std::fs::read_dir(&cfg.snapshot_dir).ok()?;
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix))
        .collect();
    names.sort();
    Some(names)
}

/// Look at the host. Errors only for unreadable inputs the user pointed at (fstab, mountinfo).
pub fn probe(cfg: &HostConfig) -> anyhow::Result<HostState> {
    let mountinfo_text = std::fs::read_to_string(&cfg.mountinfo)
        .map_err(|e| anyhow::anyhow!("{}: {e}", cfg.mountinfo.display()))?;
    let mounts = mountinfo::parse(&mountinfo_text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", cfg.mountinfo.display()))?;
    let fstab_text = read_optional(&cfg.fstab)?;
    let fstab = Fstab::parse(fstab_text.as_deref().unwrap_or(""));
    let at = mountinfo::at_mountpoint(&mounts, &cfg.mountpoint).cloned();
    let device = probe_device(cfg, &fstab, at.as_ref());
    let at_target = at.map(|m| MountAtTarget {
        same_fs: is_same_fs(&m, &device),
        mount: m,
    });
    // Snapshots must stay on the same btrfs filesystem; a directory outside the data path
    // must already sit on a mount of it (e.g. the top level at [storage] btrfs_mount).
    let snapshot_dir_mount = if cfg.snapshot_dir.starts_with(&cfg.mountpoint) {
        None
    } else {
        mountinfo::containing(&mounts, &cfg.snapshot_dir).map(|m| MountAtTarget {
            same_fs: is_same_fs(m, &device),
            mount: m.clone(),
        })
    };
    let fstab_spec_paths = fstab
        .entries()
        .filter(|e| e.spec.starts_with('/') || e.spec.starts_with("PART"))
        .filter_map(|e| Some((e.spec.clone(), resolve_device(&e.spec).ok()?)))
        .collect();
    let subvolume = probe_subvolume(cfg, &device, &mounts);
    let mut installed = BTreeMap::new();
    for p in [cfg.script.clone(), cfg.service_path(), cfg.timer_path()] {
        if let Ok(Some(t)) = read_optional(&p) {
            installed.insert(p, t);
        }
    }
    let real_systemd_dir = cfg.systemd_dir == Path::new(REAL_SYSTEMD_DIR);
    let systemd_running = systemd_running();
    let (timer_enabled, timer_active) = if systemd_running && real_systemd_dir {
        (systemctl_is("is-enabled"), systemctl_is("is-active"))
    } else {
        (None, None)
    };
    Ok(HostState {
        is_root: is_root(),
        systemd_running,
        real_systemd_dir,
        device,
        fstab_text,
        fstab_spec_paths,
        mountpoint_is_dir: cfg.mountpoint.is_dir(),
        mountpoint_entries: std::fs::read_dir(&cfg.mountpoint)
            .map(|rd| rd.count())
            .unwrap_or(0),
        at_target,
        snapshot_dir_mount,
        mounts,
        subvolume,
        installed,
        timer_enabled,
        timer_active,
        snapshots: list_snapshots(cfg),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superblock_magic_uuid_label() {
        let mut sb = vec![0u8; 0x12b + 256];
        assert_eq!(parse_superblock(&sb), None);
        sb[0x40..0x48].copy_from_slice(MAGIC);
        for (i, b) in sb[0x20..0x30].iter_mut().enumerate() {
            *b = i as u8 * 17;
        }
        sb[0x12b..0x12b + 7].copy_from_slice(b"storage");
        let parsed = parse_superblock(&sb).unwrap();
        assert_eq!(parsed.uuid, "00112233-4455-6677-8899-aabbccddeeff");
        assert_eq!(parsed.label, "storage");
    }

    #[test]
    fn source_tags() {
        assert_eq!(split_tag("UUID=abc"), Some(("UUID", "abc")));
        assert_eq!(split_tag("UUID=\"abc\""), Some(("UUID", "abc")));
        assert_eq!(split_tag("PARTLABEL=data"), Some(("PARTLABEL", "data")));
        assert_eq!(split_tag("/dev/sda1"), None);
        assert_eq!(split_tag("tmpfs"), None);
        assert!(resolve_device("UUID=00000000-dead-beef-0000-000000000000").is_err());
    }

    #[test]
    fn short_or_zero_files_are_not_btrfs() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("img");
        std::fs::write(&p, vec![0u8; 100]).unwrap();
        assert_eq!(read_superblock(&p).unwrap(), None);
        std::fs::write(&p, vec![0u8; 0x20000]).unwrap();
        assert_eq!(read_superblock(&p).unwrap(), None);
    }
}
