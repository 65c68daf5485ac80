//! Small file-system helpers at the edge: atomic replace (temp file in the same directory,
//! fsync, rename, fsync the directory), dated backups, and UTC timestamps without a date crate.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A test hook: when the environment names `point`, fail there as if the process had died.
/// Used by the crash-injection tests (`HOMELAB_HOST_FAIL_AT=<point>`); harmless otherwise.
pub fn injected_failure(point: &str) -> anyhow::Result<()> {
    match std::env::var("HOMELAB_HOST_FAIL_AT") {
        Ok(v) if v.split(',').any(|p| p == point) => {
            anyhow::bail!("injected failure at {point} (HOMELAB_HOST_FAIL_AT)")
        }
        _ => Ok(()),
    }
}

/// Replace `path` with `bytes` so that a crash leaves either the old or the new file
/// (`homelab_fs::write_atomic`: temp file born with its mode, fsync, rename, fsync the folder).
/// `mode` is used for a new file; an existing file keeps its permissions. When `path` is a
/// symbolic link (an fstab kept elsewhere), the file it points to is edited and the link kept.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    injected_failure(&format!("before-rename:{}", file_name(path)))?;
    homelab_fs::write_atomic(path, bytes, homelab_fs::Perms::KeepOr(mode))
        .with_context(|| format!("{}: writing", path.display()))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Copy `path` to `<path>.homelab-<UTC timestamp>.bak` (atomically; never overwriting an
/// older backup) and return the backup's path.
pub fn backup(path: &Path) -> anyhow::Result<PathBuf> {
    let bytes =
        std::fs::read(path).with_context(|| format!("{}: reading for backup", path.display()))?;
    let stamp = homelab_fs::stamp::backup_stamp(SystemTime::now());
    let mut n = 1;
    loop {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!("-{n}")
        };
        let candidate = PathBuf::from(format!("{}.homelab-{stamp}{suffix}.bak", path.display()));
        if !candidate.exists() {
            write_atomic(&candidate, &bytes, 0o644)?;
            return Ok(candidate);
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn atomic_write_keeps_mode_and_backup_is_dated() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fstab");
        std::fs::write(&p, "old\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        let b = backup(&p).unwrap();
        assert!(b.to_string_lossy().contains("fstab.homelab-"));
        write_atomic(&p, b"new\n", 0o644).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\n");
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "old\n");
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let b2 = backup(&p).unwrap();
        assert_ne!(b, b2);
        // No temp files left behind.
        let leftovers = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains(homelab_fs::TEMP_MARKER)
            })
            .count();
        assert_eq!(leftovers, 0);
    }
}
