//! `homelab host plan|apply|check` end to end. Refusal and planning tests use btrfs image
//! files and hand-written mountinfo; the apply/check tests make a real btrfs filesystem on a
//! loop device (root, `mkfs.btrfs`, `losetup`) with a temporary fstab, unit directory and
//! script path, and skip with a printed reason where that is impossible.

use assert_cmd::Command;
use homelab_host::fstab::Fstab;
use homelab_host::mountinfo;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command as Proc;

const OPTS: &str = "subvol=@longhorn,noatime,compress=zstd:1,space_cache=v2,discard=async";

/// A fstab with the awkward things real ones have: comments, tabs, LABEL=, an escaped space,
/// and no newline at the end.
const TRICKY_FSTAB: &str = "# /etc/fstab: static file system information.\n\
# <file system> <mount point>   <type>  <options>       <dump>  <pass>\n\
UUID=1111-2222\t/\text4\terrors=remount-ro\t0\t1\n\
LABEL=swap none swap sw 0 0\n\
   # indented comment\n\
/dev/sdb1  /media/my\\040disk   vfat  defaults,nofail  0  2";

fn homelab() -> Command {
    Command::cargo_bin("homelab").expect("homelab binary")
}

fn have(tool: &str) -> bool {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(tool).is_file())
}

fn is_root() -> bool {
    homelab_host::probe::is_root()
}

/// Print why a test does not run (visible with `--nocapture` / in nextest's output).
/// In CI (`CI=true`) this fails the test instead: `.ci/run` provides root, btrfs-progs and loop
/// devices, so a missing one is a broken CI, not a reason to pass.
fn skip(test: &str, why: &str) {
    homelab_testkit::unavailable(test, why);
}

/// A btrfs filesystem in an image file (no root needed for mkfs on a file).
fn btrfs_image(dir: &Path) -> Option<PathBuf> {
    if !have("mkfs.btrfs") {
        return None;
    }
    let img = dir.join("disk.img");
    std::fs::File::create(&img)
        .unwrap()
        .set_len(300 << 20)
        .unwrap();
    let ok = Proc::new("mkfs.btrfs")
        .args(["-q", "-L", "lhtest"])
        .arg(&img)
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(img)
}

fn json(out: &[u8]) -> Value {
    serde_json::from_slice(out)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(out)))
}

/// A mountinfo with only a root filesystem: the mountpoint is free.
fn free_mountinfo(dir: &Path) -> PathBuf {
    let p = dir.join("mountinfo");
    std::fs::write(
        &p,
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n",
    )
    .unwrap();
    p
}

struct Paths {
    fstab: PathBuf,
    systemd: PathBuf,
    script: PathBuf,
    mnt: PathBuf,
}

fn paths(dir: &Path) -> Paths {
    let p = Paths {
        fstab: dir.join("fstab"),
        systemd: dir.join("systemd"),
        script: dir.join("bin/homelab-longhorn-snapshot"),
        mnt: dir.join("longhorn"),
    };
    std::fs::write(&p.fstab, TRICKY_FSTAB).unwrap();
    p
}

fn args(p: &Paths) -> Vec<String> {
    vec![
        "--fstab".into(),
        p.fstab.display().to_string(),
        "--systemd-dir".into(),
        p.systemd.display().to_string(),
        "--script".into(),
        p.script.display().to_string(),
        "--mountpoint".into(),
        p.mnt.display().to_string(),
    ]
}

#[test]
fn refuses_without_a_device_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let mi = free_mountinfo(dir.path());
    let out = homelab()
        .current_dir(dir.path())
        .args(["host", "plan"])
        .args(args(&p))
        .arg("--mountinfo")
        .arg(&mi)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("refused (no-device)"), "{text}");
    assert!(text.contains("--device"), "{text}");
    assert_eq!(std::fs::read_to_string(&p.fstab).unwrap(), TRICKY_FSTAB);
}

#[test]
fn refuses_missing_device() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let mi = free_mountinfo(dir.path());
    let out = homelab()
        .args(["host", "apply", "--device", "/dev/does-not-exist-homelab"])
        .args(args(&p))
        .arg("--mountinfo")
        .arg(&mi)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("refused (device-missing)"), "{text}");
    assert!(text.contains("nothing was changed"), "{text}");
    assert_eq!(std::fs::read_to_string(&p.fstab).unwrap(), TRICKY_FSTAB);
    assert!(!p.systemd.exists());
}

#[test]
fn refuses_a_device_without_btrfs() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let mi = free_mountinfo(dir.path());
    let img = dir.path().join("zero.img");
    std::fs::write(&img, vec![0u8; 1 << 20]).unwrap();
    let out = homelab()
        .args(["host", "apply", "--device"])
        .arg(&img)
        .args(args(&p))
        .arg("--mountinfo")
        .arg(&mi)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("refused (not-btrfs)"), "{text}");
    assert!(text.contains("0x10040"), "{text}");
    assert_eq!(std::fs::read_to_string(&p.fstab).unwrap(), TRICKY_FSTAB);
}

#[test]
fn refuses_a_mountpoint_busy_with_another_filesystem() {
    let dir = tempfile::tempdir().unwrap();
    let Some(img) = btrfs_image(dir.path()) else {
        return skip(
            "refuses_a_mountpoint_busy_with_another_filesystem",
            "mkfs.btrfs not installed",
        );
    };
    let mut p = paths(dir.path());
    let plain_mnt = p.mnt.clone();
    let mi = dir.path().join("mountinfo");
    // The mountpoint contains a space, escaped as \040 in mountinfo.
    p.mnt = dir.path().join("long horn");
    let escaped = p.mnt.display().to_string().replace(' ', "\\040");
    std::fs::write(
        &mi,
        format!("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n90 22 8:17 / {escaped} rw,relatime - xfs /dev/sdb1 rw\n"),
    )
    .unwrap();
    let out = homelab()
        .args(["host", "plan", "--format", "json", "--device"])
        .arg(&img)
        .args(args(&p))
        .arg("--mountinfo")
        .arg(&mi)
        .output()
        .unwrap();
    // A space in the mountpoint is refused by config validation before anything else...
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out.stdout);
    assert_eq!(v["refusals"][0]["code"], "config", "{v}");
    // ...so check the busy mountpoint with a plain path.
    p.mnt = plain_mnt;
    std::fs::write(
        &mi,
        format!(
            "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n90 22 8:17 / {} rw,relatime - xfs /dev/sdb1 rw\n",
            p.mnt.display()
        ),
    )
    .unwrap();
    let out = homelab()
        .args(["host", "apply", "--format", "json", "--device"])
        .arg(&img)
        .args(args(&p))
        .arg("--mountinfo")
        .arg(&mi)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out.stdout);
    let codes: Vec<&str> = v["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"mountpoint-busy"), "{v}");
    assert_eq!(v["changed"], false);
    assert!(v["refusals"].to_string().contains("xfs /dev/sdb1"), "{v}");
    assert_eq!(std::fs::read_to_string(&p.fstab).unwrap(), TRICKY_FSTAB);
}

#[test]
fn refuses_a_differing_fstab_entry_with_a_diff_and_force_plans_the_replacement() {
    let dir = tempfile::tempdir().unwrap();
    let Some(img) = btrfs_image(dir.path()) else {
        return skip(
            "refuses_a_differing_fstab_entry...",
            "mkfs.btrfs not installed",
        );
    };
    let p = paths(dir.path());
    let old = format!(
        "{TRICKY_FSTAB}\nLABEL=lhtest {} btrfs subvol=@longhorn,relatime,compress=zstd:3 0 0\n",
        p.mnt.display()
    );
    std::fs::write(&p.fstab, &old).unwrap();
    let mi = free_mountinfo(dir.path());
    let out = homelab()
        .args(["host", "plan", "--device"])
        .arg(&img)
        .args(args(&p))
        .arg("--mountinfo")
        .arg(&mi)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("refused (fstab-differs)"), "{text}");
    assert!(text.contains("relatime conflicts with noatime"), "{text}");
    assert!(text.contains("--force"), "{text}");
    assert!(
        text.contains(&format!("-   7| LABEL=lhtest {}", p.mnt.display())),
        "{text}"
    );
    assert!(text.contains("+   7| UUID="), "{text}");
    let out = homelab()
        .args(["host", "plan", "--force", "--format", "json", "--device"])
        .arg(&img)
        .args(args(&p))
        .arg("--mountinfo")
        .arg(&mi)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v = json(&out.stdout);
    let fstab_step = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "fstab")
        .expect("fstab step");
    assert!(
        fstab_step["action"]
            .as_str()
            .unwrap()
            .contains(":7 with: UUID="),
        "{v}"
    );
    // plan changed nothing.
    assert_eq!(std::fs::read_to_string(&p.fstab).unwrap(), old);
}

#[test]
fn plan_lists_every_step_with_a_reason_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let Some(img) = btrfs_image(dir.path()) else {
        return skip(
            "plan_lists_every_step_with_a_reason_and_changes_nothing",
            "mkfs.btrfs not installed",
        );
    };
    let p = paths(dir.path());
    let mi = free_mountinfo(dir.path());
    let out = homelab()
        .args(["host", "plan", "--format", "json", "--device"])
        .arg(&img)
        .args(args(&p))
        .arg("--mountinfo")
        .arg(&mi)
        .output()
        .unwrap();
    let v = json(&out.stdout);
    if !is_root() {
        assert!(v["notes"].to_string().contains("not running as root"));
    }
    let ids: Vec<&str> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    for want in [
        "mkdir",
        "subvolume",
        "mount",
        "fstab",
        "script",
        "service",
        "timer",
        "first-snapshot",
    ] {
        assert!(ids.contains(&want), "missing step {want}: {v}");
    }
    assert!(v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| !s["why"].as_str().unwrap().is_empty()));
    let line = v["fstab_line"].as_str().unwrap();
    assert!(
        line.starts_with("UUID=")
            && line.ends_with(&format!(" {} btrfs {OPTS} 0 0", p.mnt.display())),
        "{line}"
    );
    assert!(v["notes"]
        .to_string()
        .contains("Longhorn documents ext4 and XFS"));
    assert!(v["manual"]
        .to_string()
        .contains("systemctl enable --now homelab-longhorn-snapshot.timer"));
    assert_eq!(std::fs::read_to_string(&p.fstab).unwrap(), TRICKY_FSTAB);
    assert!(!p.systemd.exists() && !p.script.exists() && !p.mnt.exists());
    // `apply --dry-run` prints the same plan and changes nothing either.
    let out = homelab()
        .args(["host", "apply", "--dry-run", "--device"])
        .arg(&img)
        .args(args(&p))
        .arg("--mountinfo")
        .arg(&mi)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    if is_root() {
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(text.contains("apply would take 8 step(s)"), "{text}");
    } else {
        assert!(text.contains("refused (not-root)"), "{text}");
    }
    assert_eq!(std::fs::read_to_string(&p.fstab).unwrap(), TRICKY_FSTAB);
    assert!(!p.systemd.exists() && !p.script.exists() && !p.mnt.exists());
}

#[test]
fn apply_refuses_when_not_root() {
    let dir = tempfile::tempdir().unwrap();
    let Some(img) = btrfs_image(dir.path()) else {
        return skip("apply_refuses_when_not_root", "mkfs.btrfs not installed");
    };
    let p = paths(dir.path());
    let mi = free_mountinfo(dir.path());
    let bin = assert_cmd::cargo::cargo_bin("homelab");
    let mut cmd = if is_root() {
        if !have("setpriv") {
            return skip(
                "apply_refuses_when_not_root",
                "running as root and setpriv is missing",
            );
        }
        // Let the unprivileged user read the test files.
        for d in [
            dir.path().to_path_buf(),
            p.fstab.clone(),
            img.clone(),
            mi.clone(),
        ] {
            let _ = Proc::new("chmod").arg("a+rX").arg(&d).status();
        }
        let mut c = Proc::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin);
        c
    } else {
        Proc::new(&bin)
    };
    let out = cmd
        .args(["host", "apply", "--device"])
        .arg(&img)
        .args(args(&p))
        .arg("--mountinfo")
        .arg(&mi)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    if is_root() && text.is_empty() {
        return skip(
            "apply_refuses_when_not_root",
            &format!(
                "cannot run the binary as nobody: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
        );
    }
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("refused (not-root)"), "{text}");
    assert_eq!(std::fs::read_to_string(&p.fstab).unwrap(), TRICKY_FSTAB);
    assert!(!p.systemd.exists());
}

#[test]
fn reads_storage_from_platform_toml_and_flags_override() {
    let dir = tempfile::tempdir().unwrap();
    let Some(img) = btrfs_image(dir.path()) else {
        return skip(
            "reads_storage_from_platform_toml_and_flags_override",
            "mkfs.btrfs not installed",
        );
    };
    let p = paths(dir.path());
    let mi = free_mountinfo(dir.path());
    // The repository's platform.toml, read by the platform parser; --mountpoint, --device (a
    // loop image here) and --snapshot-dir override it.
    let config = homelab_platform::DEFAULT_CONFIG
        .replacen("compression = \"zstd:1\"", "compression = \"zstd:3\"", 1)
        .replacen(
            "host_path = \"/var/lib/longhorn\"",
            "host_path = \"/srv/ignored\"",
            1,
        );
    std::fs::write(dir.path().join("platform.toml"), &config).unwrap();
    let out = homelab()
        .current_dir(dir.path())
        .args(["host", "plan", "--format", "json"])
        .arg("--device")
        .arg(&img)
        .arg("--snapshot-dir")
        .arg(p.mnt.join(".snapshots"))
        .args(args(&p))
        .arg("--mountinfo")
        .arg(&mi)
        .output()
        .unwrap();
    let v = json(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{v}");
    let line = v["fstab_line"].as_str().unwrap();
    assert!(
        line.contains(&format!(
            "{} btrfs subvol=@longhorn,noatime,compress=zstd:3,",
            p.mnt.display()
        )),
        "{line}"
    );
    // A key only the old loose reader took is refused where it is written, as render does.
    let loose = config.replacen("compression = \"zstd:3\"", "disk = \"sata\"", 1);
    std::fs::write(dir.path().join("platform.toml"), &loose).unwrap();
    let line = loose.lines().position(|l| l == "disk = \"sata\"").unwrap() + 1;
    let out = homelab()
        .current_dir(dir.path())
        .args(["host", "plan"])
        .args(args(&p))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("platform.toml:{line}:")) && stderr.contains("disk"),
        "{stderr}"
    );
    let bad = homelab()
        .args(["host", "plan", "--config", "/nonexistent/platform.toml"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/nonexistent/platform.toml"));
}

#[test]
fn check_reports_failures_with_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let p = paths(dir.path());
    let mi = dir.path().join("mountinfo");
    std::fs::write(
        &mi,
        format!("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n44 22 0:39 /@other {} rw,relatime - btrfs /dev/sdz2 rw,space_cache=v2,subvolid=257,subvol=/@other\n", p.mnt.display()),
    )
    .unwrap();
    let out = homelab()
        .args(["host", "check", "--format", "json"])
        .args(args(&p))
        .arg("--mountinfo")
        .arg(&mi)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out.stdout);
    let get = |id: &str| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .unwrap_or_else(|| panic!("no {id}: {v}"))
            .clone()
    };
    assert_eq!(get("btrfs")["verdict"], "pass");
    assert_eq!(get("subvolume")["verdict"], "fail");
    assert!(get("subvolume")["evidence"]
        .as_str()
        .unwrap()
        .contains("@other"));
    assert_eq!(get("option:noatime")["verdict"], "fail");
    assert_eq!(get("option:space_cache=v2")["verdict"], "pass");
    assert_eq!(get("fstab")["verdict"], "fail");
    assert_eq!(get("longhorn-support")["verdict"], "info");
    assert!(get("longhorn-support")["evidence"]
        .as_str()
        .unwrap()
        .contains("ext4"));
    assert_eq!(get("snapshot-units")["verdict"], "fail");
    assert_eq!(v["ok"], false);
    // The mountpoint does not exist: df has nothing to measure.
    assert_eq!(get("free-space")["verdict"], "fail");
    std::fs::create_dir_all(&p.mnt).unwrap();
    // A replica far larger than any disk here fails the free-space check, naming it.
    let out = homelab()
        .args([
            "host",
            "check",
            "--format",
            "json",
            "--replica",
            "gitlab=900Ti",
            "--replica",
            "n8n=1Gi",
        ])
        .args(args(&p))
        .arg("--mountinfo")
        .arg(&mi)
        .output()
        .unwrap();
    let v2 = json(&out.stdout);
    let fs = v2["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "free-space")
        .unwrap()
        .clone();
    assert_eq!(fs["verdict"], "fail", "{fs}");
    assert!(
        fs["evidence"]
            .as_str()
            .unwrap()
            .contains("gitlab 921600.0 GiB"),
        "{fs}"
    );
    // Longhorn prerequisites follow what is installed on this machine.
    let want = |tool: &str| if have(tool) { "pass" } else { "fail" };
    assert_eq!(get("nfs4-client")["verdict"], want("mount.nfs4"), "{v}");
    if !have("iscsiadm") {
        assert_eq!(get("open-iscsi")["verdict"], "fail");
        assert!(get("open-iscsi")["evidence"]
            .as_str()
            .unwrap()
            .contains("open-iscsi"));
    }
    if !have("multipathd") {
        assert_eq!(get("multipath")["verdict"], "pass");
    }
}

// ---------------------------------------------------------------------------------------------
// Real btrfs on a loop device (root).

/// A loop device with a fresh btrfs, detached and unmounted on drop, also when a test fails.
struct LoopFs {
    dir: tempfile::TempDir,
    dev: String,
    uuid: String,
}

impl LoopFs {
    fn new(test: &str) -> Option<LoopFs> {
        if !is_root() {
            skip(test, "needs root (loop devices and mount)");
            return None;
        }
        for tool in ["mkfs.btrfs", "losetup", "btrfs", "mount"] {
            if !have(tool) {
                skip(
                    test,
                    &format!("{tool} not installed (btrfs-progs / util-linux)"),
                );
                return None;
            }
        }
        if !Path::new("/dev/loop-control").exists() {
            skip(
                test,
                "no /dev/loop-control: this machine cannot create loop devices",
            );
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("homelab-host-it-")
            .tempdir_in("/var/tmp")
            .unwrap();
        let img = btrfs_image(dir.path()).expect("mkfs.btrfs on an image file");
        // losetup --find can race with parallel tests: retry.
        let mut dev = None;
        for _ in 0..10 {
            let out = Proc::new("losetup")
                .args(["--find", "--show"])
                .arg(&img)
                .output()
                .unwrap();
            if out.status.success() {
                dev = Some(String::from_utf8_lossy(&out.stdout).trim().to_string());
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        let Some(dev) = dev else {
            skip(test, "losetup could not attach a loop device");
            return None;
        };
        let uuid = homelab_host::probe::read_superblock(Path::new(&dev))
            .unwrap()
            .unwrap()
            .uuid;
        Some(LoopFs { dir, dev, uuid })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Mounts below our temp dir, deepest first.
    fn our_mounts(&self) -> Vec<String> {
        let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let base = self.dir.path().display().to_string();
        let mut v: Vec<String> = mountinfo::parse(&text)
            .unwrap()
            .into_iter()
            .filter(|m| m.mountpoint.starts_with(&base) || m.source == self.dev)
            .map(|m| m.mountpoint)
            .collect();
        v.reverse();
        v
    }
}

impl Drop for LoopFs {
    fn drop(&mut self) {
        for _ in 0..3 {
            let mounts = self.our_mounts();
            if mounts.is_empty() {
                break;
            }
            for m in mounts {
                if !Proc::new("umount")
                    .arg(&m)
                    .status()
                    .is_ok_and(|s| s.success())
                {
                    let _ = Proc::new("umount").arg("-l").arg(&m).status();
                }
            }
        }
        let _ = Proc::new("losetup").arg("-d").arg(&self.dev).status();
    }
}

fn apply(
    fs: &LoopFs,
    p: &Paths,
    extra: &[&str],
    env: Option<(&str, &str)>,
) -> std::process::Output {
    let mut c = homelab();
    c.args(["host", "apply", "--device", &fs.dev])
        .args(args(p))
        .args(extra);
    if let Some((k, v)) = env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn check_json(fs: &LoopFs, p: &Paths) -> (Option<i32>, Value) {
    let out = homelab()
        .args([
            "host",
            "check",
            "--format",
            "json",
            "--device",
            &fs.dev,
            "--skip",
            "open-iscsi,iscsid,nfs4-client,multipath,module,gpu",
        ])
        .args(args(p))
        .output()
        .unwrap();
    (out.status.code(), json(&out.stdout))
}

fn expected_fstab(fs: &LoopFs, p: &Paths) -> String {
    format!(
        "{TRICKY_FSTAB}\n# Longhorn data path on a btrfs subvolume (written by homelab host apply)\nUUID={} {} btrfs {OPTS} 0 0\n",
        fs.uuid,
        p.mnt.display()
    )
}

fn backups(p: &Paths) -> Vec<PathBuf> {
    let dir = p.fstab.parent().unwrap();
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|f| {
            f.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("fstab.homelab-")
        })
        .collect()
}

#[test]
fn apply_twice_then_check_passes_on_real_btrfs() {
    let Some(fs) = LoopFs::new("apply_twice_then_check_passes_on_real_btrfs") else {
        return;
    };
    let p = paths(fs.path());
    let out = apply(&fs, &p, &["--retention", "3"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for id in [
        "[mkdir]",
        "[subvolume]",
        "[mount]",
        "[fstab]",
        "[script]",
        "[service]",
        "[timer]",
        "[first-snapshot]",
    ] {
        assert!(text.contains(id), "missing {id}: {text}");
    }
    // fstab: every old line byte-for-byte, plus our entry; one dated backup of the old file.
    let after = std::fs::read_to_string(&p.fstab).unwrap();
    assert_eq!(after, expected_fstab(&fs, &p));
    let b = backups(&p);
    assert_eq!(b.len(), 1, "{b:?}");
    assert_eq!(std::fs::read_to_string(&b[0]).unwrap(), TRICKY_FSTAB);

    // Each option really in effect, from the kernel's mountinfo.
    let mounts =
        mountinfo::parse(&std::fs::read_to_string("/proc/self/mountinfo").unwrap()).unwrap();
    let m = mountinfo::at_mountpoint(&mounts, &p.mnt).expect("mounted");
    assert_eq!(m.fstype, "btrfs");
    assert_eq!(m.subvolume(), "@longhorn");
    for o in [
        "noatime",
        "compress=zstd:1",
        "space_cache=v2",
        "discard=async",
    ] {
        assert!(m.has_option(o), "{o} not in effect: {m:?}");
    }

    // Second apply: nothing to do, nothing written.
    let out = apply(&fs, &p, &["--retention", "3"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("nothing to do"), "{text}");
    assert!(!text.contains("done ["), "{text}");
    assert_eq!(std::fs::read_to_string(&p.fstab).unwrap(), after);
    assert_eq!(backups(&p).len(), 1);

    // check passes, with compression measured on freshly written data.
    let (code, v) = check_json(&fs, &p);
    let items = v["items"].as_array().unwrap();
    let failed: Vec<&Value> = items.iter().filter(|i| i["verdict"] == "fail").collect();
    // The retention passed to apply is part of the installed units; check with the same value.
    let (code3, v3) = {
        let out = homelab()
            .args([
                "host",
                "check",
                "--format",
                "json",
                "--retention",
                "3",
                "--device",
                &fs.dev,
                "--skip",
                "open-iscsi,iscsid,nfs4-client,multipath,module,gpu",
            ])
            .args(args(&p))
            .output()
            .unwrap();
        (out.status.code(), json(&out.stdout))
    };
    // With the default retention (4) the installed units differ: check must notice.
    assert_eq!(code, Some(1), "{v}");
    assert!(failed.iter().any(|i| i["id"] == "snapshot-units"), "{v}");
    assert_eq!(code3, Some(0), "{v3:#}");
    let get = |id: &str| {
        v3["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .unwrap()
            .clone()
    };
    for id in [
        "btrfs",
        "subvolume",
        "option:noatime",
        "option:compress=zstd:1",
        "option:space_cache=v2",
        "option:discard=async",
        "fstab",
        "compression",
        "snapshot-units",
        "snapshot-timer",
        "snapshots",
    ] {
        assert_eq!(get(id)["verdict"], "pass", "{id}: {v3:#}");
    }
    let comp = get("compression")["evidence"].as_str().unwrap().to_string();
    assert!(
        comp.contains("encoded") || comp.contains("compsize"),
        "{comp}"
    );
    eprintln!("compression evidence: {comp}");
    assert!(get("snapshots")["evidence"]
        .as_str()
        .unwrap()
        .contains("read-only"));

    // Snapshots: run the installed script directly until retention prunes.
    let snapdir = p.mnt.join(".snapshots");
    for _ in 0..4 {
        let out = Proc::new(&p.script).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(&snapdir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 3, "retention 3: {names:?}");
    for n in &names {
        assert!(n.starts_with("@longhorn-20"), "{n}");
        assert!(homelab_host::probe::is_subvolume(&snapdir.join(n)));
        let ro = Proc::new("btrfs")
            .args(["property", "get", "-ts"])
            .arg(snapdir.join(n))
            .arg("ro")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&ro.stdout).trim(), "ro=true");
    }
    let (code, v) = {
        let out = homelab()
            .args([
                "host",
                "check",
                "--format",
                "json",
                "--retention",
                "3",
                "--device",
                &fs.dev,
                "--skip",
                "open-iscsi,iscsid,nfs4-client,multipath,module,gpu",
            ])
            .args(args(&p))
            .output()
            .unwrap();
        (out.status.code(), json(&out.stdout))
    };
    assert_eq!(code, Some(0), "{v:#}");
}

#[test]
fn remount_applies_missing_options() {
    let Some(fs) = LoopFs::new("remount_applies_missing_options") else {
        return;
    };
    let p = paths(fs.path());
    // Someone created the subvolume and mounted it with relatime and no compression.
    let top = fs.path().join("top");
    std::fs::create_dir_all(&top).unwrap();
    std::fs::create_dir_all(&p.mnt).unwrap();
    assert!(Proc::new("mount")
        .arg(&fs.dev)
        .arg(&top)
        .status()
        .unwrap()
        .success());
    assert!(Proc::new("btrfs")
        .args(["subvolume", "create"])
        .arg(top.join("@longhorn"))
        .status()
        .unwrap()
        .success());
    assert!(Proc::new("umount").arg(&top).status().unwrap().success());
    assert!(Proc::new("mount")
        .args(["-o", "subvol=@longhorn,relatime"])
        .arg(&fs.dev)
        .arg(&p.mnt)
        .status()
        .unwrap()
        .success());
    let out = apply(&fs, &p, &["--format", "json"], None);
    let v = json(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    let done: Vec<&str> = v["done"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert!(
        done.contains(&"remount") && !done.contains(&"mount") && !done.contains(&"subvolume"),
        "{done:?}"
    );
    let mounts =
        mountinfo::parse(&std::fs::read_to_string("/proc/self/mountinfo").unwrap()).unwrap();
    let m = mountinfo::at_mountpoint(&mounts, &p.mnt).unwrap();
    for o in [
        "noatime",
        "compress=zstd:1",
        "discard=async",
        "space_cache=v2",
    ] {
        assert!(m.has_option(o), "{o}: {m:?}");
    }
}

#[test]
fn force_replaces_a_differing_entry_and_keeps_the_backup() {
    let Some(fs) = LoopFs::new("force_replaces_a_differing_entry_and_keeps_the_backup") else {
        return;
    };
    let p = paths(fs.path());
    let old = format!(
        "{TRICKY_FSTAB}\nUUID={} {} btrfs subvol=@longhorn,compress=zstd:3 0 0\n",
        fs.uuid,
        p.mnt.display()
    );
    std::fs::write(&p.fstab, &old).unwrap();
    let out = apply(&fs, &p, &[], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("fstab-differs"));
    assert_eq!(std::fs::read_to_string(&p.fstab).unwrap(), old);
    assert!(!p.mnt.exists(), "refusal must change nothing");
    let out = apply(&fs, &p, &["--force"], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let new = std::fs::read_to_string(&p.fstab).unwrap();
    assert_eq!(
        new,
        format!(
            "{TRICKY_FSTAB}\nUUID={} {} btrfs {OPTS} 0 0\n",
            fs.uuid,
            p.mnt.display()
        )
    );
    let b = backups(&p);
    assert_eq!(b.len(), 1);
    assert_eq!(std::fs::read_to_string(&b[0]).unwrap(), old);
}

#[test]
fn crash_between_steps_leaves_fstab_before_or_after() {
    let points = [
        "after:mkdir",
        "after:subvolume",
        "after:mount",
        "after:fstab-backup",
        "before-rename:fstab",
        "after:fstab",
        "after:script",
        "after:service",
        "after:timer",
    ];
    for point in points {
        let Some(fs) = LoopFs::new("crash_between_steps_leaves_fstab_before_or_after") else {
            return;
        };
        let p = paths(fs.path());
        let out = apply(&fs, &p, &[], Some(("HOMELAB_HOST_FAIL_AT", point)));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{point}: {err}");
        assert!(err.contains("injected failure"), "{point}: {err}");
        let now = std::fs::read_to_string(&p.fstab).unwrap();
        let parsed = Fstab::parse(&now);
        assert!(
            parsed.malformed().is_empty(),
            "{point}: broken fstab {now:?}"
        );
        let after = expected_fstab(&fs, &p);
        assert!(
            now == TRICKY_FSTAB || now == after,
            "{point}: fstab is neither before nor after: {now:?}"
        );
        let stray: Vec<_> = std::fs::read_dir(fs.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".homelab-tmp-"))
            .collect();
        assert!(stray.is_empty(), "{point}: temp files left: {stray:?}");
        // A rerun finishes the job; then the host matches.
        let out = apply(&fs, &p, &[], None);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{point} rerun: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_eq!(std::fs::read_to_string(&p.fstab).unwrap(), after, "{point}");
        let out = apply(&fs, &p, &[], None);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("nothing to do"),
            "{point}"
        );
    }
}

#[test]
fn snapshots_on_the_mounted_top_level_like_the_platform_template() {
    let Some(fs) = LoopFs::new("snapshots_on_the_mounted_top_level_like_the_platform_template")
    else {
        return;
    };
    let p = paths(fs.path());
    let top = fs.path().join("top");
    let snapdir = top.join(".snapshots/longhorn");
    let extra = [
        "--snapshot-dir",
        snapdir.to_str().unwrap(),
        "--retention",
        "2",
    ];
    // Top level not mounted yet: the snapshot dir would be on /var/tmp's filesystem.
    std::fs::create_dir_all(&top).unwrap();
    let out = apply(&fs, &p, &extra, None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("refused (snapshot-dir-elsewhere)"), "{text}");
    assert_eq!(std::fs::read_to_string(&p.fstab).unwrap(), TRICKY_FSTAB);
    // Mount the top level (the template's btrfs_mount) and apply: snapshots land there.
    assert!(Proc::new("mount")
        .arg(&fs.dev)
        .arg(&top)
        .status()
        .unwrap()
        .success());
    let out = apply(&fs, &p, &extra, None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for _ in 0..3 {
        assert!(Proc::new(&p.script).status().unwrap().success());
    }
    let n = std::fs::read_dir(&snapdir).unwrap().count();
    assert_eq!(n, 2, "retention 2");
    let out = homelab()
        .args([
            "host",
            "check",
            "--format",
            "json",
            "--device",
            &fs.dev,
            "--skip",
            "open-iscsi,iscsid,nfs4-client,multipath,module,gpu",
        ])
        .args(args(&p))
        .args(extra)
        .output()
        .unwrap();
    let v = json(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    let dir_item = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "snapshot-dir")
        .unwrap();
    assert_eq!(dir_item["verdict"], "pass", "{v:#}");
}

#[test]
fn an_fstab_that_is_a_link_is_edited_through_the_link() {
    let Some(fs) = LoopFs::new("an_fstab_that_is_a_link_is_edited_through_the_link") else {
        return;
    };
    let p = paths(fs.path());
    // /etc/fstab kept elsewhere (e.g. in a configuration repository) and linked.
    let real = fs.path().join("etc-real/fstab");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::rename(&p.fstab, &real).unwrap();
    std::os::unix::fs::symlink(&real, &p.fstab).unwrap();
    let out = apply(&fs, &p, &[], None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::symlink_metadata(&p.fstab)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced by a file"
    );
    assert_eq!(std::fs::read_link(&p.fstab).unwrap(), real);
    assert_eq!(
        std::fs::read_to_string(&real).unwrap(),
        expected_fstab(&fs, &p)
    );
}
