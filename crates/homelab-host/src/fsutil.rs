//! Small file-system helpers at the edge: atomic replace (temp file in the same directory,
//! fsync, rename, fsync the directory), dated backups, and UTC timestamps without a date crate.

use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

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
    let stamp = utc_stamp(SystemTime::now());
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

/// `YYYYMMDDTHHMMSSZ`. Hand-written (days-to-civil, H. Hinnant's algorithm) because this is the
/// only date arithmetic the crate needs and a date crate would be a large dependency for it.
pub fn utc_stamp(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Inverse of [`utc_stamp`] for the leading `YYYYMMDDTHHMMSSZ` of `s`: seconds since the epoch.
pub fn parse_stamp(s: &str) -> Option<i64> {
    let b = s.get(..16)?;
    if !b.ends_with('Z') || b.as_bytes()[8] != b'T' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| b.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // days-from-civil
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    #[test]
    fn stamps_round_trip() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101T000000Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_767_225_600 + 3 * 3600 + 61); // 2026-01-01
        assert_eq!(utc_stamp(t), "20260101T030101Z");
        assert_eq!(
            parse_stamp("20260101T030101Z-2"),
            Some(1_767_225_600 + 3 * 3600 + 61)
        );
        assert_eq!(parse_stamp("2024022 T000000Z"), None);
        let leap = parse_stamp("20240229T120000Z").unwrap();
        assert_eq!(
            utc_stamp(UNIX_EPOCH + Duration::from_secs(leap as u64)),
            "20240229T120000Z"
        );
    }

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
