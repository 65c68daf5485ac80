//! `homelab host check`: each storage success criterion as pass/fail with the evidence that
//! decided it. The mount, fstab, unit and snapshot verdicts are pure functions of the probed
//! [`HostState`]; measurements that need the live host (compression, free space, Longhorn
//! prerequisites) are gathered here at the edge.

use crate::config::{HostConfig, TIMER_NAME};
use crate::fstab::{self, EntryMatch};
use crate::mountinfo::{self, Mount};
use crate::plan::LONGHORN_NOTE;
use crate::probe::{find_tool, HostState};
use crate::{fsutil, units};
use std::io::Write;
use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Warn,
    Info,
    Skip,
    /// The host does not show what would decide it (e.g. inside a container).
    #[serde(rename = "not-checkable")]
    NotCheckable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Warn => "warn",
            Verdict::Info => "info",
            Verdict::Skip => "skip",
            Verdict::NotCheckable => "not-checkable",
        }
    }
}

/// One criterion.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Item {
    pub id: String,
    pub verdict: Verdict,
    pub evidence: String,
}

fn item(id: impl Into<String>, verdict: Verdict, evidence: impl Into<String>) -> Item {
    Item {
        id: id.into(),
        verdict,
        evidence: evidence.into(),
    }
}

#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Check ids (or id prefixes like `option`) not to run.
    pub skip: Vec<String>,
}

fn describe(m: &Mount) -> String {
    format!(
        "mountinfo line {}: {} {} {} root={} opts={} super={}",
        m.line,
        m.mountpoint,
        m.fstype,
        m.source,
        m.root,
        m.mount_options.join(","),
        m.super_options.join(",")
    )
}

/// Mount, subvolume and per-option checks (pure).
pub fn mount_items(cfg: &HostConfig, mounts: &[Mount]) -> Vec<Item> {
    let mut out = Vec::new();
    let mp = &cfg.mountpoint;
    let containing = mountinfo::containing(mounts, mp);
    match containing {
        Some(m) if m.fstype == "btrfs" => out.push(item("btrfs", Verdict::Pass, describe(m))),
        Some(m) => out.push(item(
            "btrfs",
            Verdict::Fail,
            format!("{} is on {} ({})", mp.display(), m.fstype, describe(m)),
        )),
        None => out.push(item(
            "btrfs",
            Verdict::Fail,
            format!("no mount contains {}", mp.display()),
        )),
    }
    let exact = mountinfo::at_mountpoint(mounts, mp);
    match exact {
        Some(m) if m.fstype == "btrfs" && m.subvolume() == cfg.subvolume => out.push(item(
            "subvolume",
            Verdict::Pass,
            format!(
                "subvol=/{} (subvolid={})",
                m.subvolume(),
                m.super_value("subvolid").unwrap_or("?")
            ),
        )),
        Some(m) => out.push(item(
            "subvolume",
            Verdict::Fail,
            format!(
                "{} is mounted from subvolume {:?}, want {}: {}",
                mp.display(),
                m.subvolume(),
                cfg.subvolume,
                describe(m)
            ),
        )),
        None => out.push(item(
            "subvolume",
            Verdict::Fail,
            format!(
                "{} is not a mountpoint (data would land in the parent filesystem)",
                mp.display()
            ),
        )),
    }
    for opt in &cfg.mount_options()[1..] {
        let id = format!("option:{opt}");
        match exact {
            Some(m) if m.has_option(opt) => out.push(item(
                id,
                Verdict::Pass,
                format!("in effect (mountinfo line {})", m.line),
            )),
            Some(m) => {
                let key = opt.split('=').next().unwrap_or(opt);
                let seen: Vec<&String> = m
                    .mount_options
                    .iter()
                    .chain(&m.super_options)
                    .filter(|o| o.starts_with(key) || (key == "noatime" && o.ends_with("atime")))
                    .collect();
                out.push(item(
                    id,
                    Verdict::Fail,
                    format!(
                        "not in effect (mountinfo line {}; seen: {})",
                        m.line,
                        if seen.is_empty() {
                            "nothing".to_string()
                        } else {
                            seen.iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(",")
                        }
                    ),
                ))
            }
            None => out.push(item(id, Verdict::Fail, "not mounted")),
        }
    }
    out
}

/// fstab entry present and matching (pure).
pub fn fstab_item(cfg: &HostConfig, st: &HostState) -> Item {
    let mp = cfg.mountpoint.to_string_lossy();
    let f = st.fstab();
    let same = |s: &str| st.same_source(s);
    let where_ = cfg.fstab.display();
    match fstab::compare(&f, &mp, &cfg.mount_options(), &same) {
        EntryMatch::Matches { line } => {
            let text = &f.lines[line - 1].text;
            item("fstab", Verdict::Pass, format!("{where_}:{line}: {text}"))
        }
        EntryMatch::Missing => item(
            "fstab",
            Verdict::Fail,
            format!("{where_}: no entry for {mp}"),
        ),
        EntryMatch::Differs { line, reasons } => item(
            "fstab",
            Verdict::Fail,
            format!("{where_}:{line}: {}", reasons.join("; ")),
        ),
        EntryMatch::Duplicate { lines } => item(
            "fstab",
            Verdict::Fail,
            format!(
                "{where_}: {} entries for {mp} (lines {lines:?})",
                lines.len()
            ),
        ),
    }
}

/// Snapshot timer, service and script installed as `apply` writes them (pure).
pub fn unit_items(cfg: &HostConfig, st: &HostState) -> Vec<Item> {
    let mut out = Vec::new();
    let mut files_ok = true;
    let mut evidence = Vec::new();
    for (path, want) in [
        (cfg.script.clone(), units::script(cfg)),
        (cfg.service_path(), units::service(cfg)),
        (cfg.timer_path(), units::timer(cfg)),
    ] {
        match st.installed.get(&path) {
            Some(have) if *have == want => evidence.push(format!("{} current", path.display())),
            Some(_) => {
                files_ok = false;
                evidence.push(format!("{} differs from what apply writes", path.display()))
            }
            None => {
                files_ok = false;
                evidence.push(format!("{} missing", path.display()))
            }
        }
    }
    out.push(item(
        "snapshot-units",
        if files_ok {
            Verdict::Pass
        } else {
            Verdict::Fail
        },
        evidence.join("; "),
    ));
    let timer = match (st.timer_enabled, st.timer_active) {
        (Some(true), Some(true)) => item(
            "snapshot-timer",
            Verdict::Pass,
            format!("{TIMER_NAME} enabled and active"),
        ),
        (Some(e), Some(a)) => item(
            "snapshot-timer",
            Verdict::Fail,
            format!(
                "{TIMER_NAME}: enabled={e} active={a}; run systemctl enable --now {TIMER_NAME}"
            ),
        ),
        _ if files_ok => item(
            "snapshot-timer",
            Verdict::Pass,
            format!(
                "unit files present in {}; {} so enablement cannot be queried here",
                cfg.systemd_dir.display(),
                if st.systemd_running {
                    "not the system unit directory"
                } else {
                    "systemd is not running"
                }
            ),
        ),
        _ => item("snapshot-timer", Verdict::Fail, "timer unit not installed"),
    };
    out.push(timer);
    out
}

/// Schedule period in seconds for the common `OnCalendar` shorthands (for staleness).
fn period_secs(schedule: &str) -> Option<i64> {
    match schedule {
        "hourly" => Some(3600),
        "daily" => Some(86_400),
        "weekly" => Some(7 * 86_400),
        "monthly" => Some(31 * 86_400),
        _ => None,
    }
}

/// Snapshots present, within retention and not stale (pure given `now`).
pub fn snapshot_item(cfg: &HostConfig, snapshots: Option<&[String]>, now: i64) -> Item {
    let dir = cfg.snapshot_dir.display();
    let Some(snaps) = snapshots else {
        return item(
            "snapshots",
            Verdict::Fail,
            format!("{dir} does not exist: no snapshot taken yet"),
        );
    };
    if snaps.is_empty() {
        return item(
            "snapshots",
            Verdict::Fail,
            format!(
                "no snapshots in {dir}; run {} or wait for the timer",
                cfg.script.display()
            ),
        );
    }
    let n = snaps.len();
    let newest = &snaps[n - 1];
    let prefix = units::snapshot_prefix(cfg);
    let mut ev = format!(
        "{n} snapshot(s) in {dir} (retention {}), newest {newest}",
        cfg.retention
    );
    if n as u64 > cfg.retention as u64 {
        return item(
            "snapshots",
            Verdict::Fail,
            format!("{ev}: more than the retention count, pruning is not working"),
        );
    }
    if let (Some(t), Some(p)) = (
        newest.strip_prefix(&prefix).and_then(fsutil::parse_stamp),
        period_secs(&cfg.schedule),
    ) {
        let age = now - t;
        ev.push_str(&format!(", {} h old", age / 3600));
        if age > 2 * p + 3600 {
            return item(
                "snapshots",
                Verdict::Warn,
                format!(
                    "{ev}: older than two {} periods, is the timer running?",
                    cfg.schedule
                ),
            );
        }
    }
    item("snapshots", Verdict::Pass, ev)
}

/// Free space against the replicas planned on this node. Longhorn's default
/// `storage-minimal-available-percentage` is 25: it schedules no replica into the last quarter.
pub fn free_space_item(cfg: &HostConfig, avail: u64, size: u64) -> Item {
    let gib = |b: u64| format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64);
    let planned: u64 = cfg.replicas.iter().map(|r| r.bytes).sum();
    let reserve = size / 4;
    let usable = avail.saturating_sub(reserve);
    let ev = format!(
        "available {} of {}; Longhorn keeps 25% ({}) free, leaving {} for replicas; planned here: {} in {} replica(s)",
        gib(avail),
        gib(size),
        gib(reserve),
        gib(usable),
        gib(planned),
        cfg.replicas.len()
    );
    if cfg.replicas.is_empty() {
        item(
            "free-space",
            Verdict::Info,
            format!("{ev} (none given: --replica NAME=SIZE or [[storage.replicas]])"),
        )
    } else if planned <= usable {
        item("free-space", Verdict::Pass, ev)
    } else {
        let list: Vec<String> = cfg
            .replicas
            .iter()
            .map(|r| format!("{} {}", r.name, gib(r.bytes)))
            .collect();
        item(
            "free-space",
            Verdict::Fail,
            format!("{ev}: {}", list.join(", ")),
        )
    }
}

fn df(path: &Path) -> Option<(u64, u64, u64)> {
    let out = Command::new("df")
        .args(["-B1", "--output=used,avail,size"])
        .arg(path)
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let nums: Vec<u64> = text
        .lines()
        .nth(1)?
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    match nums.as_slice() {
        [u, a, s] => Some((*u, *a, *s)),
        _ => None,
    }
}

/// Parse `compsize -b` output's TOTAL line: (disk bytes, uncompressed bytes).
pub fn parse_compsize(out: &str) -> Option<(u64, u64)> {
    let line = out.lines().find(|l| l.starts_with("TOTAL"))?;
    let f: Vec<&str> = line.split_whitespace().collect();
    Some((f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?))
}

/// Parse `filefrag -v`: (extents, extents flagged `encoded`, i.e. compressed).
pub fn parse_filefrag(out: &str) -> (usize, usize) {
    let mut total = 0;
    let mut encoded = 0;
    for l in out.lines() {
        let t = l.trim_start();
        if t.split(':')
            .next()
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        {
            total += 1;
            if l.contains("encoded") {
                encoded += 1;
            }
        }
    }
    (total, encoded)
}

const PROBE_BYTES: usize = 16 << 20;

/// Write 16 MiB of compressible text into the data path and measure what btrfs allocated:
/// compsize when installed, else the `encoded` (compressed) extent flag from `filefrag -v` and
/// the filesystem's used-bytes growth after a sync.
fn compression_item(cfg: &HostConfig) -> Item {
    let id = "compression";
    let path = cfg
        .mountpoint
        .join(format!(".homelab-compression-probe-{}", std::process::id()));
    let sync = |p: &Path| Command::new("sync").arg("-f").arg(p).status();
    let _ = sync(&cfg.mountpoint);
    let before = df(&cfg.mountpoint);
    let mut f = match std::fs::File::create(&path) {
        Ok(f) => f,
        Err(e) => {
            return item(
                id,
                Verdict::Skip,
                format!(
                    "cannot write a probe file in {}: {e}",
                    cfg.mountpoint.display()
                ),
            )
        }
    };
    struct Cleanup<'a>(&'a Path);
    impl Drop for Cleanup<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(self.0);
        }
    }
    let _cleanup = Cleanup(&path);
    let mut chunk = String::new();
    let mut i = 0u64;
    while chunk.len() < 1 << 20 {
        chunk.push_str(&format!(
            "homelab compression probe line {i:08} for Longhorn host storage\n"
        ));
        i += 1;
    }
    let mut written = 0;
    while written < PROBE_BYTES {
        let n = chunk.len().min(PROBE_BYTES - written);
        if let Err(e) = f.write_all(&chunk.as_bytes()[..n]) {
            return item(
                id,
                Verdict::Skip,
                format!("writing {}: {e}", path.display()),
            );
        }
        written += n;
    }
    if let Err(e) = f.sync_all() {
        return item(id, Verdict::Skip, format!("fsync {}: {e}", path.display()));
    }
    let _ = sync(&path);
    let mb = |b: u64| format!("{:.2} MiB", b as f64 / (1 << 20) as f64);
    let mut evidence = vec![format!(
        "wrote {} of text to {}",
        mb(written as u64),
        path.display()
    )];
    let mut verdict = None;
    if let Some(compsize) = find_tool("compsize") {
        if let Some((disk, unc)) = Command::new(compsize)
            .args(["-b"])
            .arg(&path)
            .output()
            .ok()
            .and_then(|o| parse_compsize(&String::from_utf8_lossy(&o.stdout)))
        {
            evidence.push(format!(
                "compsize: {} on disk for {} uncompressed",
                mb(disk),
                mb(unc)
            ));
            verdict = Some(disk * 2 < unc);
        }
    }
    if let Some(filefrag) = find_tool("filefrag") {
        if let Ok(o) = Command::new(filefrag).arg("-v").arg(&path).output() {
            let (total, encoded) = parse_filefrag(&String::from_utf8_lossy(&o.stdout));
            evidence.push(format!(
                "filefrag: {encoded} of {total} extents encoded (compressed)"
            ));
            if verdict.is_none() && total > 0 {
                verdict = Some(encoded == total);
            }
        }
    }
    if let (Some((u0, _, _)), Some((u1, _, _))) = (before, df(&cfg.mountpoint)) {
        let grew = u1.saturating_sub(u0);
        evidence.push(format!(
            "filesystem used grew {} ({:.1}% of written)",
            mb(grew),
            grew as f64 * 100.0 / written as f64
        ));
        if verdict.is_none() {
            verdict = Some(grew * 2 < written as u64);
        }
    }
    match verdict {
        Some(true) => item(id, Verdict::Pass, evidence.join("; ")),
        Some(false) => item(
            id,
            Verdict::Fail,
            format!("{}: new data is not compressed", evidence.join("; ")),
        ),
        None => item(
            id,
            Verdict::Skip,
            format!(
                "{}: no way to measure (no compsize, filefrag or df)",
                evidence.join("; ")
            ),
        ),
    }
}

/// Does a multipath.conf blacklist section list Longhorn's `devnode "^sd[a-z0-9]+"`?
pub fn blacklists_longhorn(conf: &str) -> bool {
    let mut depth = 0i32;
    let mut in_blacklist = false;
    for raw in conf.lines() {
        let l = raw.split('#').next().unwrap_or("").trim();
        if depth == 0 && l.starts_with("blacklist") && !l.starts_with("blacklist_exceptions") {
            in_blacklist = true;
        }
        if in_blacklist && depth >= 1 && l.starts_with("devnode") && l.contains("^sd[a-z0-9]+") {
            return true;
        }
        depth += l.matches('{').count() as i32 - l.matches('}').count() as i32;
        if depth <= 0 {
            depth = 0;
            if !l.starts_with("blacklist") {
                in_blacklist = false;
            }
        }
    }
    false
}

fn skipped(opts: &CheckOptions, id: &str) -> bool {
    opts.skip
        .iter()
        .any(|s| id == s || id.starts_with(&format!("{s}:")))
}

/// Run every check.
pub fn check(cfg: &HostConfig, st: &HostState, opts: &CheckOptions) -> Vec<Item> {
    let mut items = vec![item("longhorn-support", Verdict::Info, LONGHORN_NOTE)];
    let mounts = mount_items(cfg, &st.mounts);
    let mounted_here = mounts
        .iter()
        .any(|i| i.id == "subvolume" && i.verdict == Verdict::Pass);
    items.extend(mounts);
    items.push(fstab_item(cfg, st));
    if skipped(opts, "compression") {
        // reported as skipped below
    } else if !cfg.compresses() {
        items.push(item(
            "compression",
            Verdict::Info,
            "compression = \"none\" in the config: not measured",
        ));
    } else if mounted_here {
        items.push(compression_item(cfg));
    } else {
        items.push(item(
            "compression",
            Verdict::Fail,
            "subvolume not mounted: cannot measure",
        ));
    }
    items.extend(unit_items(cfg, st));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut snap = snapshot_item(cfg, st.snapshots.as_deref(), now);
    if snap.verdict == Verdict::Pass {
        if let Some(newest) = st.snapshots.as_ref().and_then(|s| s.last()) {
            let p = cfg.snapshot_dir.join(newest);
            let ro = Command::new("btrfs")
                .args(["property", "get", "-ts"])
                .arg(&p)
                .arg("ro")
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
            match ro.as_deref() {
                Some("ro=true") => snap.evidence.push_str(", read-only"),
                Some("ro=false") => {
                    snap.verdict = Verdict::Fail;
                    snap.evidence
                        .push_str(": newest snapshot is writable, not read-only");
                }
                _ => {}
            }
        }
    }
    items.push(snap);
    if let Some(t) = &st.snapshot_dir_mount {
        let ev = format!(
            "{} is on {} {} mounted at {}",
            cfg.snapshot_dir.display(),
            t.mount.fstype,
            t.mount.source,
            t.mount.mountpoint
        );
        items.push(if t.same_fs {
            item(
                "snapshot-dir",
                Verdict::Pass,
                format!("{ev}: the same btrfs filesystem"),
            )
        } else {
            item(
                "snapshot-dir",
                Verdict::Fail,
                format!(
                    "{ev}: not the data path's btrfs filesystem, snapshots cannot be taken there"
                ),
            )
        });
    }
    match df(&cfg.mountpoint) {
        Some((_, avail, size)) => items.push(free_space_item(cfg, avail, size)),
        None => items.push(item(
            "free-space",
            Verdict::Fail,
            format!("df {} failed", cfg.mountpoint.display()),
        )),
    }
    items.extend(crate::prereqs::items(&crate::prereqs::PrereqEnv::host(
        st.systemd_running,
    )));
    for i in items.iter_mut() {
        if skipped(opts, &i.id) {
            i.verdict = Verdict::Skip;
            i.evidence = format!("skipped by --skip: {}", i.evidence);
        }
    }
    if skipped(opts, "compression") {
        items.push(item("compression", Verdict::Skip, "skipped by --skip"));
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PlannedReplica;

    #[test]
    fn mount_items_check_each_option() {
        let cfg = HostConfig::default();
        let text = "44 22 0:39 /@longhorn /var/lib/longhorn rw,relatime shared:21 - btrfs /dev/sda2 rw,compress=zstd:3,space_cache=v2,subvolid=256,subvol=/@longhorn\n";
        let mounts = mountinfo::parse(text).unwrap();
        let items = mount_items(&cfg, &mounts);
        let get = |id: &str| items.iter().find(|i| i.id == id).unwrap();
        assert_eq!(get("btrfs").verdict, Verdict::Pass);
        assert_eq!(get("subvolume").verdict, Verdict::Pass);
        assert_eq!(get("option:noatime").verdict, Verdict::Fail);
        assert!(get("option:noatime").evidence.contains("relatime"));
        assert_eq!(get("option:compress=zstd:1").verdict, Verdict::Fail);
        assert!(get("option:compress=zstd:1")
            .evidence
            .contains("compress=zstd:3"));
        assert_eq!(get("option:space_cache=v2").verdict, Verdict::Pass);
        assert_eq!(get("option:discard=async").verdict, Verdict::Fail);
        // Not a mountpoint: the directory sits on the root filesystem.
        let root = mountinfo::parse("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n").unwrap();
        let items = mount_items(&cfg, &root);
        assert!(items.iter().all(|i| i.verdict == Verdict::Fail));
        assert!(items[0].evidence.contains("ext4"));
    }

    #[test]
    fn snapshot_verdicts() {
        let cfg = HostConfig {
            retention: 2,
            ..Default::default()
        };
        let now = fsutil::parse_stamp("20260110T000000Z").unwrap();
        assert_eq!(snapshot_item(&cfg, None, now).verdict, Verdict::Fail);
        assert_eq!(snapshot_item(&cfg, Some(&[]), now).verdict, Verdict::Fail);
        let fresh = vec![
            "@longhorn-20260105T000000Z".to_string(),
            "@longhorn-20260109T000000Z".to_string(),
        ];
        let i = snapshot_item(&cfg, Some(&fresh), now);
        assert_eq!(i.verdict, Verdict::Pass, "{}", i.evidence);
        assert!(i.evidence.contains("24 h old"));
        let mut three = fresh.clone();
        three.push("@longhorn-20260109T000001Z".into());
        assert_eq!(
            snapshot_item(&cfg, Some(&three), now).verdict,
            Verdict::Fail
        );
        let old = vec!["@longhorn-20251201T000000Z".to_string()];
        assert_eq!(snapshot_item(&cfg, Some(&old), now).verdict, Verdict::Warn);
    }

    #[test]
    fn free_space_keeps_longhorn_reserve() {
        let gi = 1u64 << 30;
        let mut cfg = HostConfig::default();
        assert_eq!(
            free_space_item(&cfg, 100 * gi, 200 * gi).verdict,
            Verdict::Info
        );
        cfg.replicas = vec![PlannedReplica {
            name: "gitlab".into(),
            bytes: 40 * gi,
        }];
        assert_eq!(
            free_space_item(&cfg, 100 * gi, 200 * gi).verdict,
            Verdict::Pass
        );
        cfg.replicas.push(PlannedReplica {
            name: "ollama".into(),
            bytes: 20 * gi,
        });
        let i = free_space_item(&cfg, 100 * gi, 200 * gi);
        assert_eq!(i.verdict, Verdict::Fail, "{}", i.evidence);
        assert!(i.evidence.contains("ollama 20.0 GiB"));
    }

    #[test]
    fn tool_output_parsers() {
        let cs = "Processed 1 file, 128 regular extents (128 refs), 0 inline.\nType       Perc     Disk Usage   Uncompressed Referenced  \nTOTAL        3%       524288     16777216     16777216\nzstd         3%       524288     16777216     16777216\n";
        assert_eq!(parse_compsize(cs), Some((524_288, 16_777_216)));
        let ff = "Filesystem type is: 9123683e\nFile size of f is 16777216 (4096 blocks of 4096 bytes)\n ext:     logical_offset:        physical_offset: length:   expected: flags:\n   0:        0..      31:       3328..      3359:     32:             encoded\n   1:       32..      63:       3329..      3360:     32:       3360: encoded,last,eof\nf: 2 extents found\n";
        assert_eq!(parse_filefrag(ff), (2, 2));
        let plain =
            "   0:        0..    4095:      34816..     38911:   4096:             last,eof\n";
        assert_eq!(parse_filefrag(plain), (1, 0));
    }

    #[test]
    fn multipath_blacklist_detection() {
        assert!(blacklists_longhorn(
            "blacklist {\n    devnode \"^sd[a-z0-9]+\"\n}\n"
        ));
        assert!(!blacklists_longhorn(
            "defaults {\n user_friendly_names yes\n}\n"
        ));
        assert!(!blacklists_longhorn(
            "blacklist_exceptions {\n devnode \"^sd[a-z0-9]+\"\n}\n"
        ));
        assert!(!blacklists_longhorn(
            "# blacklist {\n# devnode \"^sd[a-z0-9]+\"\n"
        ));
    }
}
