//! Atomic replacement of a file named by the user (reports, keys, fstab, ...).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Part of the name of every temporary file this crate creates: `.NAME.homelab-tmp-PID-N`.
/// A temporary file left by a killed process is recognisable by it (and cleaned by `render`).
pub const TEMP_MARKER: &str = ".homelab-tmp-";

/// The permissions a written file gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perms {
    /// Exactly this mode, whatever the file had (0o600 for keys and plaintext).
    Exact(u32),
    /// An existing file keeps its mode; a new one gets this.
    KeepOr(u32),
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh temporary name next to `file_name`.
pub(crate) fn temp_name(file_name: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(".{file_name}{TEMP_MARKER}{}-{n}", std::process::id())
}

/// Replace `path` with `bytes` atomically. The temporary file is created exclusively
/// (`O_CREAT|O_EXCL|O_NOFOLLOW`) with its final mode, so a secret is never readable by others
/// at any moment. When `path` is a symbolic link, the file it points to is replaced (the link
/// stays), as an editor would do.
pub fn write_atomic(path: &Path, bytes: &[u8], perms: Perms) -> io::Result<()> {
    write(path, bytes, perms, true)
}

/// Create `path` atomically with exactly `mode`; fails with `AlreadyExists` when anything
/// (even a dangling symbolic link) is there already. For keys that must never be overwritten.
pub fn create_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    write(path, bytes, Perms::Exact(mode), false)
}

fn write(path: &Path, bytes: &[u8], perms: Perms, replace: bool) -> io::Result<()> {
    let target = if replace {
        resolve_link(path)?
    } else {
        path.to_path_buf()
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?
        .to_string_lossy()
        .into_owned();
    let mode = match perms {
        Perms::Exact(m) => m,
        Perms::KeepOr(m) => fs::metadata(&target).map_or(m, |meta| meta.permissions().mode()),
    } & 0o7777;
    let (tmp, mut file) = loop {
        let tmp = dir.join(temp_name(&file_name));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&tmp)
        {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    };
    let result = (|| {
        // The umask may have narrowed the mode at creation; widen it to exactly `mode` (never
        // the other way round, so the file is never more open than asked).
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        if replace {
            fs::rename(&tmp, &target)?;
        } else {
            rustix::fs::renameat_with(
                rustix::fs::CWD,
                &tmp,
                rustix::fs::CWD,
                &target,
                rustix::fs::RenameFlags::NOREPLACE,
            )?;
        }
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The file a path names after following a symbolic link at its last component (a missing
/// path is returned as is).
fn resolve_link(path: &Path) -> io::Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => fs::canonicalize(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("is a symbolic link whose target cannot be resolved ({e})"),
            )
        }),
        _ => Ok(path.to_path_buf()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn writes_with_the_final_mode_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        write_atomic(&key, b"secret", Perms::Exact(0o600)).unwrap();
        assert_eq!(fs::read(&key).unwrap(), b"secret");
        assert_eq!(mode(&key), 0o600);
        let script = dir.path().join("run.sh");
        write_atomic(&script, b"#!/bin/sh\n", Perms::KeepOr(0o755)).unwrap();
        assert_eq!(mode(&script), 0o755);
        fs::set_permissions(&script, fs::Permissions::from_mode(0o700)).unwrap();
        write_atomic(&script, b"#!/bin/sh\necho\n", Perms::KeepOr(0o755)).unwrap();
        assert_eq!(mode(&script), 0o700, "an existing file keeps its mode");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.contains(TEMP_MARKER)), "{names:?}");
    }

    #[test]
    fn create_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("tls.key");
        create_atomic(&key, b"one", 0o600).unwrap();
        let err = create_atomic(&key, b"two", 0o600).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&key).unwrap(), b"one");
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(create_atomic(&dangling, b"x", 0o600).is_err());
        assert!(!dir.path().join("nowhere").exists());
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temp file left"
        );
    }

    #[test]
    fn a_link_is_kept_and_its_target_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs::write(&real, "old").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new", Perms::KeepOr(0o644)).unwrap();
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
    }
}
