//! The planner: from the wanted [`HostConfig`] and the observed [`HostState`] to the list of
//! steps `apply` takes, each with the reason, or the refusals that stop it. Pure: no I/O, so
//! `plan` and `apply` can never disagree about what would change.

use crate::config::{HostConfig, TIMER_NAME};
use crate::fstab::{self, Edit, EntryMatch};
use crate::probe::{DeviceState, HostState, SubvolState};
use crate::units;
use std::path::{Path, PathBuf};

/// Longhorn's position and the guide's reasoning; printed by `plan` and `check`.
pub const LONGHORN_NOTE: &str = "Longhorn documents ext4 and XFS as its supported host filesystems for the data path; btrfs is an open feature request, not a supported configuration. The guide still puts /var/lib/longhorn on a btrfs subvolume to get compression and snapshots at the host layer, while every Longhorn volume itself is formatted ext4 (StorageClass fsType: ext4); never use fsType: btrfs for Longhorn volumes.";

/// Why `apply` will not touch the host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
    /// A diff or other detail, shown indented.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One thing `apply` does.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    pub id: &'static str,
    pub action: String,
    pub why: String,
    #[serde(skip)]
    pub kind: StepKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    CreateMountpoint,
    /// Mount the top level (subvolid=5) in a temp dir and create the subvolume if missing.
    EnsureSubvolume {
        device: PathBuf,
    },
    Mount {
        device: PathBuf,
    },
    Remount,
    /// Write the new fstab text (after a dated backup). `expected_before` guards against the
    /// file changing between probe and write.
    WriteFstab {
        expected_before: Option<String>,
        new_text: String,
    },
    InstallFile {
        path: PathBuf,
        content: String,
        mode: u32,
    },
    SystemdEnable,
    FirstSnapshot,
}

/// The planner's answer.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Plan {
    pub refusals: Vec<Refusal>,
    pub steps: Vec<Step>,
    /// Commands the user must run by hand (systemd not running or a non-default unit dir).
    pub manual: Vec<String>,
    pub notes: Vec<String>,
    /// The fstab line `apply` wants.
    pub fstab_line: Option<String>,
}

impl Plan {
    pub fn is_noop(&self) -> bool {
        self.refusals.is_empty() && self.steps.is_empty()
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// Planning for `apply` (root is required) rather than `plan`.
    pub for_apply: bool,
    pub force: bool,
    /// Do not mount or remount (`--no-mount`).
    pub no_mount: bool,
}

impl Plan {
    fn refuse(&mut self, code: &'static str, message: String, detail: Option<String>) {
        self.refusals.push(Refusal {
            code,
            message,
            detail,
        });
    }
}

fn step(id: &'static str, action: String, why: &str, kind: StepKind) -> Step {
    Step {
        id,
        action,
        why: why.to_string(),
        kind,
    }
}

/// What the mountpoint needs, as found by [`check_mountpoint`].
#[derive(Debug, Default)]
struct MountNeeds {
    /// The subvolume is already mounted there.
    mounted_ok: bool,
    /// Nothing is mounted there yet.
    needs_mount: bool,
    /// Options missing from the current mount.
    needs_remount: Vec<String>,
}

/// Compute the steps. Every refusal is collected before returning, so the user sees all of
/// them at once; steps are planned only when nothing refuses.
pub fn plan(cfg: &HostConfig, st: &HostState, opts: PlanOptions) -> Plan {
    let mut p = Plan {
        notes: vec![LONGHORN_NOTE.to_string()],
        ..Plan::default()
    };
    if let Err(e) = cfg.validate() {
        p.refuse("config", e, None);
        return p;
    }
    check_root(&mut p, st, opts);
    let device = check_device(&mut p, cfg, st);
    let mount = check_mountpoint(&mut p, cfg, st, opts);
    check_snapshot_dir(&mut p, cfg, st);
    let fstab_step = device
        .as_ref()
        .and_then(|(_, uuid)| plan_fstab(&mut p, cfg, st, opts, uuid));
    note_malformed_fstab_lines(&mut p, cfg, st);
    if !p.refusals.is_empty() {
        return p;
    }
    let Some((dev, _)) = device else {
        return p;
    };
    plan_storage_steps(&mut p, cfg, st, opts, &dev, &mount);
    p.steps.extend(fstab_step);
    plan_unit_steps(&mut p, cfg, st);
    let mounted_after = mount.mounted_ok || (mount.needs_mount && !opts.no_mount);
    if mounted_after && st.snapshots.as_ref().is_none_or(|s| s.is_empty()) {
        p.steps.push(step(
            "first-snapshot",
            format!("run {} once", cfg.script.display()),
            "take the first read-only snapshot now, proving the chain works before the first timer run",
            StepKind::FirstSnapshot,
        ));
    }
    p
}

fn check_root(p: &mut Plan, st: &HostState, opts: PlanOptions) {
    if st.is_root {
        return;
    }
    if opts.for_apply {
        p.refuse(
            "not-root",
            "apply must run as root (it mounts filesystems and writes fstab and systemd units); nothing was changed".into(),
            None,
        );
    } else {
        p.notes
            .push("not running as root: apply needs root, and some facts (device, subvolume) may be unknown".into());
    }
}

/// The device's path and btrfs UUID, or a refusal saying why there is none.
fn check_device(p: &mut Plan, cfg: &HostConfig, st: &HostState) -> Option<(PathBuf, String)> {
    let mp = cfg.mountpoint.to_string_lossy();
    match &st.device {
        DeviceState::NotConfigured => {
            p.refuse(
                "no-device",
                format!("no device for {mp}: pass --device /dev/... (or UUID=/LABEL=), set [storage] device in platform.toml, or add an fstab entry"),
                None,
            );
            None
        }
        DeviceState::Missing { spec, reason } => {
            p.refuse(
                "device-missing",
                format!("device {spec} not found: {reason}"),
                None,
            );
            None
        }
        DeviceState::Unreadable { spec, path, reason } => {
            p.refuse(
                "device-unreadable",
                format!(
                    "cannot read device {spec} ({}): {reason}; run as root",
                    path.display()
                ),
                None,
            );
            None
        }
        DeviceState::NotBtrfs { spec, path } => {
            p.refuse(
                "not-btrfs",
                format!(
                    "device {spec} ({}) does not hold btrfs (no _BHRfS_M superblock magic at byte 0x10040); homelab never formats disks: create the filesystem with mkfs.btrfs first",
                    path.display()
                ),
                None,
            );
            None
        }
        DeviceState::Btrfs {
            path, uuid, label, ..
        } => {
            p.notes.push(format!(
                "device {} holds btrfs UUID={uuid}{}",
                path.display(),
                if label.is_empty() {
                    String::new()
                } else {
                    format!(" LABEL={label}")
                }
            ));
            Some((path.clone(), uuid.clone()))
        }
    }
}

/// The mountpoint: free, already ours, or busy with something else.
fn check_mountpoint(
    p: &mut Plan,
    cfg: &HostConfig,
    st: &HostState,
    opts: PlanOptions,
) -> MountNeeds {
    let mp = cfg.mountpoint.to_string_lossy();
    let options = cfg.mount_options();
    let mut needs = MountNeeds::default();
    match &st.at_target {
        None if st.mountpoint_entries > 0 && !opts.no_mount && !opts.force => p.refuse(
            "mountpoint-not-empty",
            format!(
                "{mp} is not a mountpoint but holds {} entr{} on the parent filesystem; mounting would hide them (existing Longhorn data?). Move them into the subvolume first, or rerun with --force",
                st.mountpoint_entries,
                if st.mountpoint_entries == 1 { "y" } else { "ies" }
            ),
            None,
        ),
        None => needs.needs_mount = true,
        Some(t) if t.same_fs && t.mount.subvolume() == cfg.subvolume => {
            needs.mounted_ok = true;
            needs.needs_remount = options[1..]
                .iter()
                .filter(|o| !t.mount.has_option(o))
                .cloned()
                .collect();
        }
        Some(t) => p.refuse(
            "mountpoint-busy",
            format!(
                "{mp} is already mounted with another filesystem: {} {} subvolume {:?} (mountinfo line {}); unmount it first",
                t.mount.fstype,
                t.mount.source,
                t.mount.root,
                t.mount.line
            ),
            None,
        ),
    }
    needs
}

fn check_snapshot_dir(p: &mut Plan, cfg: &HostConfig, st: &HostState) {
    if let Some(t) = st.snapshot_dir_mount.as_ref().filter(|t| !t.same_fs) {
        p.refuse(
            "snapshot-dir-elsewhere",
            format!(
                "snapshot dir {} is on {} {} (mounted at {}), not on this btrfs filesystem: snapshots cannot cross filesystems; mount the btrfs top level there first or use a directory under {}",
                cfg.snapshot_dir.display(),
                t.mount.fstype,
                t.mount.source,
                t.mount.mountpoint,
                cfg.mountpoint.to_string_lossy()
            ),
            None,
        );
    }
}

/// The fstab step, if the wanted line is not there yet. A different or duplicated entry is
/// replaced only with `--force`; otherwise it is a refusal that shows the diff.
fn plan_fstab(
    p: &mut Plan,
    cfg: &HostConfig,
    st: &HostState,
    opts: PlanOptions,
    uuid: &str,
) -> Option<Step> {
    let mp = cfg.mountpoint.to_string_lossy().into_owned();
    let options = cfg.mount_options();
    let fstab = st.fstab();
    let line = fstab::desired_line(&format!("UUID={uuid}"), &mp, &options);
    p.fstab_line = Some(line.clone());
    let same = |s: &str| st.same_source(s);
    let (edit, refusal) = match fstab::compare(&fstab, &mp, &options, &same) {
        EntryMatch::Matches { .. } => return None,
        EntryMatch::Missing => (Edit::Append { line }, None),
        EntryMatch::Differs { line: at, reasons } => (
            Edit::Replace {
                replace: at,
                disable: vec![],
                line,
            },
            Some((
                "fstab-differs",
                format!(
                    "{}:{at} already has a different entry for {mp} ({}); rerun with --force to replace it (a dated backup is kept)",
                    cfg.fstab.display(),
                    reasons.join("; ")
                ),
            )),
        ),
        EntryMatch::Duplicate { lines } => (
            Edit::Replace {
                replace: lines[0],
                disable: lines[1..].to_vec(),
                line,
            },
            Some((
                "fstab-duplicate",
                format!(
                    "{} has {} entries for {mp} (lines {}); rerun with --force to keep one (the others are commented out, a dated backup is kept)",
                    cfg.fstab.display(),
                    lines.len(),
                    lines.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", ")
                ),
            )),
        ),
    };
    let new = fstab::apply_edit(&fstab, &edit);
    if let Some((code, message)) = refusal.filter(|_| !opts.force) {
        p.refuse(code, message, Some(fstab::diff(&fstab, &new)));
        return None;
    }
    let action = match &edit {
        Edit::Append { line } => format!("append to {}: {line}", cfg.fstab.display()),
        Edit::Replace { replace, line, .. } => {
            format!("replace {}:{replace} with: {line}", cfg.fstab.display())
        }
    };
    Some(step(
        "fstab",
        action,
        "so the subvolume is mounted with these options at every boot; written atomically after a dated backup, every other line unchanged",
        StepKind::WriteFstab {
            expected_before: st.fstab_text.clone(),
            new_text: new.render(),
        },
    ))
}

fn note_malformed_fstab_lines(p: &mut Plan, cfg: &HostConfig, st: &HostState) {
    for m in st.fstab().malformed() {
        p.notes.push(format!(
            "{}:{}: line is not a valid entry (left untouched): {:?}",
            cfg.fstab.display(),
            m.line,
            m.text
        ));
    }
}

/// Mountpoint directory, subvolume, and mount or remount, in that order.
fn plan_storage_steps(
    p: &mut Plan,
    cfg: &HostConfig,
    st: &HostState,
    opts: PlanOptions,
    dev: &Path,
    mount: &MountNeeds,
) {
    let mp = cfg.mountpoint.to_string_lossy();
    let options = cfg.mount_options();
    if !st.mountpoint_is_dir && !mount.mounted_ok {
        p.steps.push(step(
            "mkdir",
            format!("create directory {mp}"),
            "the mountpoint does not exist yet",
            StepKind::CreateMountpoint,
        ));
    }
    match st.subvolume {
        SubvolState::Exists => {}
        SubvolState::Missing => p.steps.push(step(
            "subvolume",
            format!("create btrfs subvolume {} on {} (top level mounted at a temporary directory)", cfg.subvolume, dev.display()),
            "Longhorn's data gets its own subvolume so it can be mounted with its own options and snapshotted on its own",
            StepKind::EnsureSubvolume { device: dev.to_path_buf() },
        )),
        SubvolState::Unknown => p.steps.push(step(
            "subvolume",
            format!("create btrfs subvolume {} on {} if it is missing", cfg.subvolume, dev.display()),
            "could not look inside the filesystem without mounting it; apply mounts the top level and creates the subvolume only if absent",
            StepKind::EnsureSubvolume { device: dev.to_path_buf() },
        )),
    }
    let opt_str = options.join(",");
    if opts.no_mount {
        if mount.needs_mount || !mount.needs_remount.is_empty() {
            p.notes.push(format!("--no-mount: {mp} is not mounted with {opt_str}; mount it yourself or rerun without --no-mount"));
        }
    } else if mount.needs_mount {
        p.steps.push(step(
            "mount",
            format!("mount -t btrfs -o {opt_str} {} {mp}", dev.display()),
            "mount before writing fstab, so the options are proven on this kernel before the next boot depends on them",
            StepKind::Mount { device: dev.to_path_buf() },
        ));
    } else if !mount.needs_remount.is_empty() {
        p.steps.push(step(
            "remount",
            format!("mount -o remount,{} {mp}", options[1..].join(",")),
            &format!(
                "options not in effect now: {}",
                mount.needs_remount.join(", ")
            ),
            StepKind::Remount,
        ));
    }
}

/// The snapshot script, its service and timer, and enabling the timer (or the command to do it
/// by hand where systemd is not running or the units go to another directory).
fn plan_unit_steps(p: &mut Plan, cfg: &HostConfig, st: &HostState) {
    let mut units_changed = false;
    for (id, path, content, mode, why) in [
        (
            "script",
            cfg.script.clone(),
            units::script(cfg),
            0o755,
            "the script the timer runs: read-only snapshot, then prune to the retention count",
        ),
        (
            "service",
            cfg.service_path(),
            units::service(cfg),
            0o644,
            "the oneshot service that runs the snapshot script",
        ),
        (
            "timer",
            cfg.timer_path(),
            units::timer(cfg),
            0o644,
            "runs the snapshot service on schedule; Persistent=true catches up after downtime",
        ),
    ] {
        if st.installed.get(&path) != Some(&content) {
            units_changed |= id != "script";
            let verb = if st.installed.contains_key(&path) {
                "update"
            } else {
                "install"
            };
            p.steps.push(step(
                id,
                format!("{verb} {}", path.display()),
                why,
                StepKind::InstallFile {
                    path,
                    content,
                    mode,
                },
            ));
        }
    }
    let enable_cmd = format!("systemctl daemon-reload && systemctl enable --now {TIMER_NAME}");
    if st.systemd_running && st.real_systemd_dir {
        if units_changed || st.timer_enabled != Some(true) || st.timer_active != Some(true) {
            p.steps.push(step(
                "enable",
                enable_cmd,
                "load the units and start the timer now and at every boot",
                StepKind::SystemdEnable,
            ));
        }
    } else {
        let why = if st.systemd_running {
            format!(
                "units written to {} (not {})",
                cfg.systemd_dir.display(),
                crate::config::REAL_SYSTEMD_DIR
            )
        } else {
            "systemd is not running here".to_string()
        };
        p.manual
            .push(format!("{enable_cmd}   # {why}: run this on the host"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mountinfo;
    use crate::probe::MountAtTarget;
    use std::collections::BTreeMap;

    const UUID: &str = "6b0e40ab-698b-4a1a-8838-44d468a4ba7e";

    fn state(cfg: &HostConfig, mountinfo_line: Option<&str>, fstab: &str) -> HostState {
        let mounts = mountinfo_line
            .map(|l| mountinfo::parse(l).unwrap())
            .unwrap_or_default();
        let at_target = mounts.first().cloned().map(|m| MountAtTarget {
            same_fs: m.source == "/dev/sdb2",
            mount: m,
        });
        HostState {
            is_root: true,
            systemd_running: false,
            real_systemd_dir: false,
            device: DeviceState::Btrfs {
                spec: "/dev/sdb2".into(),
                path: "/dev/sdb2".into(),
                uuid: UUID.into(),
                label: String::new(),
            },
            fstab_text: Some(fstab.to_string()),
            fstab_spec_paths: BTreeMap::new(),
            at_target,
            snapshot_dir_mount: None,
            mounts,
            mountpoint_is_dir: true,
            mountpoint_entries: 0,
            subvolume: SubvolState::Exists,
            installed: [
                (cfg.script.clone(), units::script(cfg)),
                (cfg.service_path(), units::service(cfg)),
                (cfg.timer_path(), units::timer(cfg)),
            ]
            .into_iter()
            .collect(),
            timer_enabled: None,
            timer_active: None,
            snapshots: Some(vec!["@longhorn-20260101T000000Z".into()]),
        }
    }

    const GOOD_MOUNT: &str = "44 22 0:39 /@longhorn /var/lib/longhorn rw,noatime - btrfs /dev/sdb2 rw,compress=zstd:1,discard=async,space_cache=v2,subvolid=256,subvol=/@longhorn\n";

    fn good_fstab() -> String {
        format!("UUID={UUID} /var/lib/longhorn btrfs subvol=@longhorn,noatime,compress=zstd:1,space_cache=v2,discard=async 0 0\n")
    }

    #[test]
    fn matching_host_needs_nothing() {
        let cfg = HostConfig::default();
        let st = state(&cfg, Some(GOOD_MOUNT), &good_fstab());
        let p = plan(
            &cfg,
            &st,
            PlanOptions {
                for_apply: true,
                ..Default::default()
            },
        );
        assert!(p.is_noop(), "{p:#?}");
        assert_eq!(
            p.manual.len(),
            1,
            "systemd not running: enable is printed, not run"
        );
    }

    #[test]
    fn missing_options_plan_a_remount_only() {
        let cfg = HostConfig::default();
        let relatime = GOOD_MOUNT
            .replace("rw,noatime", "rw,relatime")
            .replace("compress=zstd:1,", "");
        let st = state(&cfg, Some(&relatime), &good_fstab());
        let p = plan(&cfg, &st, PlanOptions::default());
        let ids: Vec<_> = p.steps.iter().map(|s| s.id).collect();
        assert_eq!(ids, ["remount"]);
        assert!(
            p.steps[0].why.contains("noatime, compress=zstd:1"),
            "{}",
            p.steps[0].why
        );
        let p = plan(
            &cfg,
            &st,
            PlanOptions {
                no_mount: true,
                ..Default::default()
            },
        );
        assert!(p.steps.is_empty() && p.notes.iter().any(|n| n.contains("--no-mount")));
    }

    #[test]
    fn busy_mountpoint_and_not_root_are_refused() {
        let cfg = HostConfig::default();
        let other = "50 22 8:3 / /var/lib/longhorn rw - ext4 /dev/sdc1 rw\n";
        let mut st = state(&cfg, Some(other), "");
        st.is_root = false;
        let p = plan(
            &cfg,
            &st,
            PlanOptions {
                for_apply: true,
                ..Default::default()
            },
        );
        let codes: Vec<_> = p.refusals.iter().map(|r| r.code).collect();
        assert_eq!(codes, ["not-root", "mountpoint-busy"]);
        assert!(p.steps.is_empty());
        // Data in an unmounted mountpoint would be hidden by the mount.
        let mut st2 = state(&cfg, None, "");
        st2.mountpoint_entries = 3;
        let p2 = plan(&cfg, &st2, PlanOptions::default());
        assert_eq!(p2.refusals[0].code, "mountpoint-not-empty");
        assert!(p2.refusals[0].message.contains("3 entries"));
        let p2 = plan(
            &cfg,
            &st2,
            PlanOptions {
                force: true,
                ..Default::default()
            },
        );
        assert!(p2.refusals.is_empty() && p2.steps.iter().any(|s| s.id == "mount"));
        // A snapshot dir on another filesystem cannot hold btrfs snapshots.
        let mut st3 = state(&cfg, Some(GOOD_MOUNT), &good_fstab());
        let root = mountinfo::parse("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n").unwrap();
        st3.snapshot_dir_mount = Some(MountAtTarget {
            mount: root[0].clone(),
            same_fs: false,
        });
        let p3 = plan(&cfg, &st3, PlanOptions::default());
        assert_eq!(p3.refusals[0].code, "snapshot-dir-elsewhere");
        assert!(p3.refusals[0].message.contains("ext4 /dev/sda1"));
        // `plan` (not apply) only notes the missing root.
        let p = plan(&cfg, &st, PlanOptions::default());
        assert_eq!(p.refusals.len(), 1);
    }

    #[test]
    fn changed_units_and_no_snapshots_are_planned() {
        let cfg = HostConfig {
            retention: 9,
            ..Default::default()
        };
        let mut st = state(&cfg, Some(GOOD_MOUNT), &good_fstab());
        st.installed.insert(cfg.timer_path(), "old".into());
        st.snapshots = Some(vec![]);
        let p = plan(&cfg, &st, PlanOptions::default());
        let ids: Vec<_> = p.steps.iter().map(|s| s.id).collect();
        assert_eq!(ids, ["timer", "first-snapshot"]);
        assert!(p.steps[0].action.starts_with("update "));
    }
}
