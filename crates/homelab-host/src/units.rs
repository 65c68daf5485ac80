//! The files `apply` installs for weekly host snapshots: the snapshot script, its systemd
//! service and timer. Pure text rendering from [`HostConfig`]; the values were validated by
//! [`HostConfig::validate`] (no quotes, spaces, `$` or `%`), so single quoting is safe.

use crate::config::HostConfig;

/// First line of every managed file, so a human knows where it came from.
pub const MANAGED: &str =
    "Managed by `homelab host apply`: edits are overwritten; change platform.toml [storage].";

/// Snapshot names: `<last component of the subvolume>-<UTC timestamp>`, e.g.
/// `@longhorn-20260105T030000Z`, which sort by time.
pub fn snapshot_prefix(cfg: &HostConfig) -> String {
    let base = cfg.subvolume.rsplit('/').next().unwrap_or(&cfg.subvolume);
    format!("{base}-")
}

/// The POSIX shell script the service runs (shellcheck-clean; checked by a test).
pub fn script(cfg: &HostConfig) -> String {
    format!(
        r#"#!/bin/sh
# {MANAGED}
# Takes a read-only btrfs snapshot of the Longhorn subvolume and keeps the newest {keep}.
set -eu

SOURCE='{source}'
DEST='{dest}'
KEEP={keep}
PREFIX='{prefix}'
LC_ALL=C
export LC_ALL

fstype=$(stat -f -c %T "$SOURCE")
if [ "$fstype" != btrfs ]; then
  echo "$SOURCE is on $fstype, not btrfs: is the subvolume mounted?" >&2
  exit 1
fi
if [ ! -d "$DEST" ]; then
  mkdir -p "$(dirname "$DEST")"
  btrfs subvolume create "$DEST" >/dev/null
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
name="$PREFIX$stamp"
n=1
while [ -e "$DEST/$name" ]; do
  n=$((n + 1))
  name="$PREFIX$stamp-$n"
done
btrfs subvolume snapshot -r "$SOURCE" "$DEST/$name" >/dev/null
echo "snapshot $DEST/$name"

# The glob sorts oldest first (C locale, UTC timestamps): delete from the front.
count=0
for s in "$DEST/$PREFIX"*; do
  if [ -d "$s" ]; then count=$((count + 1)); fi
done
excess=$((count - KEEP))
for s in "$DEST/$PREFIX"*; do
  if [ "$excess" -le 0 ]; then break; fi
  if [ ! -d "$s" ]; then continue; fi
  btrfs subvolume delete "$s" >/dev/null
  echo "pruned $s"
  excess=$((excess - 1))
done
"#,
        source = cfg.mountpoint.display(),
        dest = cfg.snapshot_dir.display(),
        keep = cfg.retention,
        prefix = snapshot_prefix(cfg),
    )
}

pub fn service(cfg: &HostConfig) -> String {
    format!(
        "# {MANAGED}\n\
[Unit]\n\
Description=Read-only btrfs snapshot of {sv} (keep {keep})\n\
Documentation=https://btrfs.readthedocs.io/en/latest/btrfs-subvolume.html\n\
RequiresMountsFor={mp}\n\
ConditionPathIsMountPoint={mp}\n\
\n\
[Service]\n\
Type=oneshot\n\
ExecStart={script}\n\
Nice=10\n\
IOSchedulingClass=idle\n",
        sv = cfg.subvolume,
        keep = cfg.retention,
        mp = cfg.mountpoint.display(),
        script = cfg.script.display(),
    )
}

pub fn timer(cfg: &HostConfig) -> String {
    format!(
        "# {MANAGED}\n\
[Unit]\n\
Description=Scheduled ({schedule}) read-only btrfs snapshots of {sv}\n\
\n\
[Timer]\n\
OnCalendar={schedule}\n\
Persistent=true\n\
RandomizedDelaySec=30min\n\
\n\
[Install]\n\
WantedBy=timers.target\n",
        schedule = cfg.schedule,
        sv = cfg.subvolume,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_carry_the_config() {
        let cfg = HostConfig::default();
        let t = timer(&cfg);
        assert!(t.contains("\nOnCalendar=weekly\n"));
        assert!(t.contains("\nPersistent=true\n"));
        assert!(t.contains("\nWantedBy=timers.target\n"));
        let s = service(&cfg);
        assert!(s.contains("\nExecStart=/usr/local/sbin/homelab-longhorn-snapshot\n"));
        assert!(s.contains("\nRequiresMountsFor=/var/lib/longhorn\n"));
        let sh = script(&cfg);
        assert!(sh.starts_with("#!/bin/sh\n"));
        assert!(sh.contains("\nKEEP=4\n"));
        assert!(sh.contains("\nDEST='/var/lib/longhorn/.snapshots'\n"));
        assert!(sh.contains("btrfs subvolume snapshot -r"));
        assert_eq!(snapshot_prefix(&cfg), "@longhorn-");
    }

    #[test]
    fn script_is_shellcheck_clean() {
        let cfg = HostConfig::default();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("snap.sh");
        std::fs::write(&p, script(&cfg)).unwrap();
        match std::process::Command::new("shellcheck")
            .arg("--severity=style")
            .arg(&p)
            .output()
        {
            Ok(out) => assert!(
                out.status.success(),
                "shellcheck: {}",
                String::from_utf8_lossy(&out.stdout)
            ),
            Err(e) => homelab_testkit::unavailable(
                "script_is_shellcheck_clean",
                &format!("shellcheck not runnable ({e})"),
            ),
        }
        // Whether or not shellcheck exists, the script must at least parse.
        let out = std::process::Command::new("sh")
            .arg("-n")
            .arg(&p)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn units_pass_systemd_analyze_verify() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = HostConfig {
            systemd_dir: dir.path().join("units"),
            script: dir.path().join("snap"),
            mountpoint: dir.path().join("lh"),
            snapshot_dir: dir.path().join("lh/.snapshots"),
            ..Default::default()
        };
        std::fs::create_dir_all(&cfg.systemd_dir).unwrap();
        crate::fsutil::write_atomic(&cfg.script, script(&cfg).as_bytes(), 0o755).unwrap();
        std::fs::write(cfg.service_path(), service(&cfg)).unwrap();
        std::fs::write(cfg.timer_path(), timer(&cfg)).unwrap();
        let out = std::process::Command::new("systemd-analyze")
            .arg("verify")
            .arg(cfg.timer_path())
            .arg(cfg.service_path())
            .output();
        match out {
            Ok(o) => assert!(
                o.status.success(),
                "systemd-analyze verify: {}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => homelab_testkit::unavailable(
                "units_pass_systemd_analyze_verify",
                &format!("systemd-analyze not runnable ({e})"),
            ),
        }
    }
}
