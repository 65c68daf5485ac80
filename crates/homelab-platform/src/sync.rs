//! Bringing a directory in line with a rendering without losing anything the user wrote.
//!
//! `.homelab/render.lock` records what was rendered last (generator version, config hash, and
//! for every file its sha256 and content). With it each file gets a three-way merge:
//! base = last rendered, ours = on disk, theirs = new rendering. Unedited files are replaced,
//! edited ones merged (`diffy`), conflicts written with markers and reported. `force`
//! overwrites but keeps a backup under `.homelab/backup/<timestamp>/`. Files the config no
//! longer renders are removed only when unchanged since they were rendered.
//!
//! [`plan_sync`] is pure (it reads the disk but writes nothing); [`apply`] performs the writes,
//! each atomic (temp file in the same directory, fsync, rename).

use crate::render::Rendered;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Where the lock lives, relative to the repository root.
pub const LOCK_PATH: &str = ".homelab/render.lock";
/// Where `--force` keeps what it overwrote.
pub const BACKUP_DIR: &str = ".homelab/backup";

/// The record of the last rendering.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lock {
    /// `homelab` version that rendered.
    pub generator: String,
    /// sha256 of the platform.toml text it rendered from.
    pub config_sha256: String,
    /// Relative path (with `/`) -> what was written.
    pub files: BTreeMap<String, LockEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockEntry {
    pub sha256: String,
    pub content: String,
}

/// What happens to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// New file.
    Create(String),
    /// Not edited by hand: replaced by the new rendering.
    Update(String),
    /// Edited by hand and the rendering changed: merged cleanly.
    Merge(String),
    /// Edited by hand, the rendering did not change: kept as is.
    KeepEdited,
    /// Edited by hand and the merge conflicts: written with conflict markers.
    Conflict(String),
    /// Overwritten by `--force`; the old content is backed up.
    Overwrite { new: String, backup: String },
    /// Already what it should be.
    Unchanged,
    /// No longer rendered and unchanged since: deleted.
    Remove,
    /// No longer rendered but edited by hand: kept.
    KeepStale,
    /// Still carries conflict markers from an earlier render.
    UnresolvedConflict,
}

/// The decisions for a whole directory.
#[derive(Debug, Clone, Default)]
pub struct SyncPlan {
    pub actions: BTreeMap<String, Action>,
    /// The lock to write afterwards.
    pub lock: Lock,
}

impl SyncPlan {
    /// Paths with a given kind of action (for the summary).
    pub fn names(&self, pred: impl Fn(&Action) -> bool) -> Vec<&str> {
        self.actions
            .iter()
            .filter(|(_, a)| pred(a))
            .map(|(p, _)| p.as_str())
            .collect()
    }

    /// Whether anything conflicts (exit 1).
    pub fn has_conflicts(&self) -> bool {
        self.actions
            .values()
            .any(|a| matches!(a, Action::Conflict(_) | Action::UnresolvedConflict))
    }
}

/// Errors of the filesystem edge.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}: the render lock is not valid JSON ({message}); restore it from git or render with --force")]
    BadLock { path: String, message: String },
}

fn io_err(path: &Path, source: io::Error) -> SyncError {
    SyncError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// sha256 hex of a text.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn key(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Read `.homelab/render.lock` (an absent lock is an empty one).
pub fn read_lock(root: &Path) -> Result<Lock, SyncError> {
    let path = root.join(LOCK_PATH);
    match fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| SyncError::BadLock {
            path: path.display().to_string(),
            message: e.to_string(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Lock::default()),
        Err(e) => Err(io_err(&path, e)),
    }
}

fn read_optional(path: &Path) -> Result<Option<String>, SyncError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path, e)),
    }
}

fn has_markers(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("<<<<<<< ours"))
        && text.lines().any(|l| l.starts_with(">>>>>>> theirs"))
}

/// Decide what to do with every file. Reads the disk, writes nothing.
pub fn plan_sync(
    root: &Path,
    rendered: &Rendered,
    config_text: &str,
    force: bool,
    timestamp: &str,
) -> Result<SyncPlan, SyncError> {
    let old = read_lock(root)?;
    let mut plan = SyncPlan {
        lock: Lock {
            generator: crate::render::GENERATOR_VERSION.to_string(),
            config_sha256: sha256_hex(config_text),
            files: BTreeMap::new(),
        },
        ..Default::default()
    };
    for (path, new) in rendered {
        let k = key(path);
        let disk = read_optional(&root.join(path))?;
        let base = old.files.get(&k).map(|e| e.content.as_str());
        let action = match disk {
            None => Action::Create(new.clone()),
            Some(ref d) if d == new => Action::Unchanged,
            Some(_) if force => Action::Overwrite {
                new: new.clone(),
                backup: format!("{BACKUP_DIR}/{timestamp}/{k}"),
            },
            Some(ref d) if has_markers(d) => Action::UnresolvedConflict,
            Some(ref d) if Some(d.as_str()) == base => Action::Update(new.clone()),
            Some(_) if Some(new.as_str()) == base => Action::KeepEdited,
            Some(ref d) => match diffy::merge(base.unwrap_or(""), d, new) {
                Ok(merged) if &merged == d => Action::KeepEdited,
                Ok(merged) => Action::Merge(merged),
                Err(conflicted) => Action::Conflict(conflicted),
            },
        };
        plan.lock.files.insert(
            k.clone(),
            LockEntry {
                sha256: sha256_hex(new),
                content: new.clone(),
            },
        );
        plan.actions.insert(k, action);
    }
    for (k, entry) in &old.files {
        if plan.actions.contains_key(k) {
            continue;
        }
        let disk = read_optional(&root.join(k))?;
        match disk {
            None => {}
            Some(d) if d == entry.content => {
                plan.actions.insert(k.clone(), Action::Remove);
            }
            Some(_) => {
                // Still tracked, so `render --check` keeps reporting it until the user
                // deletes it (and a later render can still tell it was once rendered).
                plan.lock.files.insert(k.clone(), entry.clone());
                plan.actions.insert(k.clone(), Action::KeepStale);
            }
        }
    }
    Ok(plan)
}

/// Perform a plan: atomic writes, backups, removals, then the lock.
pub fn apply(root: &Path, plan: &SyncPlan) -> Result<(), SyncError> {
    for (k, action) in &plan.actions {
        let path = root.join(k);
        match action {
            Action::Create(text)
            | Action::Update(text)
            | Action::Merge(text)
            | Action::Conflict(text) => write_atomic(&path, text.as_bytes())?,
            Action::Overwrite { new, backup } => {
                let old = fs::read(&path).map_err(|e| io_err(&path, e))?;
                write_atomic(&root.join(backup), &old)?;
                write_atomic(&path, new.as_bytes())?;
            }
            Action::Remove => {
                fs::remove_file(&path).map_err(|e| io_err(&path, e))?;
                remove_empty_parents(root, &path);
            }
            Action::KeepEdited
            | Action::Unchanged
            | Action::KeepStale
            | Action::UnresolvedConflict => {}
        }
    }
    let lock = serde_json::to_string_pretty(&plan.lock).unwrap_or_default() + "\n";
    write_atomic(&root.join(LOCK_PATH), lock.as_bytes())
}

fn remove_empty_parents(root: &Path, path: &Path) {
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d == root || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// Write a file atomically: temp file in the same directory, fsync, rename. Shell scripts
/// get the executable bit.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SyncError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| io_err(dir, e))?;
    tmp.write_all(bytes).map_err(|e| io_err(path, e))?;
    tmp.as_file().sync_all().map_err(|e| io_err(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = if path.extension().is_some_and(|e| e == "sh") {
            0o755
        } else {
            0o644
        };
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode))
            .map_err(|e| io_err(path, e))?;
    }
    tmp.persist(path).map_err(|e| io_err(path, e.error))?;
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// One difference between the tree and the rendering (`render --check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// Rendered but absent on disk.
    Missing(String),
    /// On disk with other content (a hand edit, or the config changed since).
    Modified(String),
    /// Rendered before, no longer rendered, still on disk.
    Stale(String),
}

impl Drift {
    pub fn path(&self) -> &str {
        match self {
            Drift::Missing(p) | Drift::Modified(p) | Drift::Stale(p) => p,
        }
    }
}

/// Compare the tree with a rendering. Writes nothing.
pub fn check(root: &Path, rendered: &Rendered) -> Result<Vec<Drift>, SyncError> {
    let mut out = Vec::new();
    for (path, new) in rendered {
        match read_optional(&root.join(path))? {
            None => out.push(Drift::Missing(key(path))),
            Some(d) if &d != new => out.push(Drift::Modified(key(path))),
            Some(_) => {}
        }
    }
    let lock = read_lock(root)?;
    let rendered_keys: std::collections::BTreeSet<String> =
        rendered.keys().map(|p| key(p)).collect();
    for k in lock.files.keys() {
        if !rendered_keys.contains(k) && root.join(k).exists() {
            out.push(Drift::Stale(k.clone()));
        }
    }
    Ok(out)
}

/// A UTC timestamp `YYYYmmddTHHMMSSZ` for backup folders (civil-from-days; no date crate
/// needed for this one format).
pub fn timestamp_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_timestamp(secs)
}

/// Format unix seconds as `YYYYmmddTHHMMSSZ`.
pub fn format_timestamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if mo <= 2 { y + 1 } else { y };
    format!("{y:04}{mo:02}{d:02}T{h:02}{m:02}{s:02}Z")
}

/// Whether a directory looks like a homelab repository (has platform.toml or the lock).
pub fn is_homelab_repo(root: &Path) -> bool {
    root.join("platform.toml").is_file() || root.join(LOCK_PATH).is_file()
}

/// Whether a directory is absent or empty.
pub fn is_empty_dir(root: &Path) -> bool {
    match fs::read_dir(root) {
        Ok(mut it) => it.next().is_none(),
        Err(_) => !root.exists(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_civil_dates() {
        assert_eq!(format_timestamp(0), "19700101T000000Z");
        assert_eq!(format_timestamp(1_709_251_199), "20240229T235959Z");
        assert_eq!(format_timestamp(1_798_675_200), "20261231T000000Z");
    }

    #[test]
    fn conflict_markers_are_detected() {
        assert!(has_markers(
            "a\n<<<<<<< ours\nx\n=======\ny\n>>>>>>> theirs\n"
        ));
        assert!(!has_markers("a\nb\n"));
    }
}
