//! Bringing a directory in line with a rendering without losing anything the user wrote,
//! and without touching anything outside the directory.
//!
//! `.homelab/render.lock` records what was rendered last (generator version, config hash, and
//! for every file its sha256 and content). With it each file gets a three-way merge:
//! base = last rendered, ours = on disk, theirs = new rendering. Unedited files are replaced,
//! edited ones merged (`diffy`), conflicts written with markers and reported. `force`
//! overwrites but keeps a backup under `.homelab/backup/<timestamp>/`. Files the config no
//! longer renders are removed only when unchanged since they were rendered.
//!
//! The lock is a committed file, so it is untrusted: every entry must be a normalized path
//! inside the repository ([`homelab_fs::RelPath`]), never under `.git/` nor one of the
//! files homelab manages itself, and its recorded sha256 must match its content. Every read
//! and write goes through a [`Tree`], which never follows a symbolic link: a folder swapped
//! for a link to `/etc` makes the render fail instead of writing there.
//!
//! A render is a transaction. [`apply`] first writes `.homelab/render.journal` (every write
//! and removal it is about to make, with the content found before, and the new lock), then
//! performs them, writes the lock and deletes the journal. A render that is killed midway
//! leaves the journal; the next run ([`recover`]) completes it (skipping any file changed
//! since) before planning anything, and removes temporary files left by the kill.
//!
//! [`plan_sync`] is pure (it reads the disk but writes nothing); [`check`] is the plan seen
//! as drift (what a render would change).

use crate::render::Rendered;
use homelab_fs::{Entry, RelPath, Tree, TreeError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::Path;

/// Where the lock lives, relative to the repository root.
pub const LOCK_PATH: &str = ".homelab/render.lock";
/// The journal of a render in progress.
pub const JOURNAL_PATH: &str = ".homelab/render.journal";
/// Where `--force` keeps what it overwrote.
pub const BACKUP_DIR: &str = ".homelab/backup";
/// The largest repository file a render reads (a rendered file is a few KiB; the lock holds
/// all of them).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

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
    /// The content on disk when planned (sha256), for the journal.
    pub before: BTreeMap<String, String>,
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
    #[error("{0}")]
    Tree(#[from] TreeError),
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}: {message}; restore it from git (`git checkout -- {rel}`) or delete it and render with --force")]
    BadRecord {
        path: String,
        rel: &'static str,
        message: String,
    },
}

fn bad_record(tree: &Tree, rel: &'static str, message: String) -> SyncError {
    SyncError::BadRecord {
        path: tree.display(rel).display().to_string(),
        rel,
        message,
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

/// Open the repository folder, creating it when absent (`homelab init`).
pub fn open(root: &Path) -> Result<Tree, SyncError> {
    if fs::symlink_metadata(root).is_err() {
        fs::create_dir_all(root).map_err(|e| SyncError::Io {
            path: root.display().to_string(),
            source: e,
        })?;
    }
    Tree::open(root).map_err(|e| SyncError::Io {
        path: root.display().to_string(),
        source: e,
    })
}

/// Paths a render never writes or removes, whatever a lock or journal says: git's own files
/// (a hook there would run code) and homelab's bookkeeping.
fn reserved(path: &RelPath) -> Option<&'static str> {
    if path.components().any(|c| c == ".git") {
        return Some("is inside .git");
    }
    match path.as_str() {
        LOCK_PATH | JOURNAL_PATH => Some("is homelab's own bookkeeping"),
        "platform.toml" => Some("is the configuration"),
        p if p.starts_with(".homelab/backup/") => Some("is a backup"),
        _ => None,
    }
}

/// A path a render may manage: normalized, inside the tree, not reserved.
fn managed(text: &str) -> Result<RelPath, String> {
    let path = RelPath::new(text).map_err(|e| format!("{e}"))?;
    match reserved(&path) {
        Some(why) => Err(format!("`{text}` {why}")),
        None => Ok(path),
    }
}

/// Read a file of the tree as text (`None` when absent). Links, FIFOs and devices are errors.
pub fn read_text(tree: &Tree, path: &RelPath) -> Result<Option<String>, SyncError> {
    match tree.read(path, MAX_FILE_BYTES)? {
        Entry::Missing => Ok(None),
        Entry::File(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
    }
}

fn lock_path() -> RelPath {
    RelPath::new(LOCK_PATH).expect("a valid relative path")
}

fn journal_path() -> RelPath {
    RelPath::new(JOURNAL_PATH).expect("a valid relative path")
}

/// Check every entry of a lock read from disk.
fn validate_lock(tree: &Tree, lock: &Lock, rel: &'static str) -> Result<(), SyncError> {
    for (path, entry) in &lock.files {
        managed(path).map_err(|why| {
            bad_record(
                tree,
                rel,
                format!("entry {why}: not a file a render may manage"),
            )
        })?;
        if sha256_hex(&entry.content) != entry.sha256 {
            return Err(bad_record(
                tree,
                rel,
                format!(
                    "entry `{}`: the recorded sha256 does not match its content",
                    path.escape_debug()
                ),
            ));
        }
    }
    Ok(())
}

/// Read `.homelab/render.lock` (an absent lock is an empty one). Entries are validated.
pub fn read_lock(tree: &Tree) -> Result<Lock, SyncError> {
    let Some(text) = read_text(tree, &lock_path())? else {
        return Ok(Lock::default());
    };
    let lock: Lock = serde_json::from_str(&text)
        .map_err(|e| bad_record(tree, LOCK_PATH, format!("not a valid render lock ({e})")))?;
    validate_lock(tree, &lock, LOCK_PATH)?;
    Ok(lock)
}

fn has_markers(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("<<<<<<< ours"))
        && text.lines().any(|l| l.starts_with(">>>>>>> theirs"))
}

/// Decide what to do with every file. Reads the disk, writes nothing.
pub fn plan_sync(
    tree: &Tree,
    rendered: &Rendered,
    config_text: &str,
    force: bool,
    timestamp: &str,
) -> Result<SyncPlan, SyncError> {
    let old = read_lock(tree)?;
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
        let rel = managed(&k).map_err(|why| SyncError::Io {
            path: tree.display(&k).display().to_string(),
            source: io::Error::new(io::ErrorKind::InvalidInput, format!("rendered path {why}")),
        })?;
        let disk = read_text(tree, &rel)?;
        if let Some(d) = &disk {
            plan.before.insert(k.clone(), sha256_hex(d));
        }
        let base = old.files.get(&k).map(|e| e.content.as_str());
        let action = match disk {
            None => Action::Create(new.clone()),
            Some(ref d) if d == new => Action::Unchanged,
            // A real SealedSecret where the placeholder was rendered: the user's, even with
            // --force (its values exist nowhere else).
            Some(ref d) if crate::secrets::sealed_in_place_of(&k, new, d) => Action::KeepEdited,
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
        let rel = tree.rel(k)?;
        match read_text(tree, &rel)? {
            None => {}
            Some(d) if d == entry.content => {
                plan.before.insert(k.clone(), sha256_hex(&d));
                plan.actions.insert(k.clone(), Action::Remove);
            }
            Some(_) => {
                // Still tracked, so a later render can still tell it was once rendered.
                plan.lock.files.insert(k.clone(), entry.clone());
                plan.actions.insert(k.clone(), Action::KeepStale);
            }
        }
    }
    Ok(plan)
}

/// One change of a render, as the journal records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Step {
    path: String,
    /// sha256 of what was on disk when planned (`None`: absent).
    before: Option<String>,
    /// The new content; `None` removes the file.
    write: Option<String>,
}

/// A render in progress: its steps and the lock to write when they are done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Journal {
    steps: Vec<Step>,
    lock: Lock,
}

fn mode_for(path: &str) -> u32 {
    if path.ends_with(".sh") {
        0o755
    } else {
        0o644
    }
}

fn journal_of(plan: &SyncPlan, backups: &BTreeMap<String, String>) -> Journal {
    let mut steps: Vec<Step> = backups
        .iter()
        .map(|(path, old)| Step {
            path: path.clone(),
            before: None,
            write: Some(old.clone()),
        })
        .collect();
    for (k, action) in &plan.actions {
        let write = match action {
            Action::Create(text)
            | Action::Update(text)
            | Action::Merge(text)
            | Action::Conflict(text) => Some(Some(text.clone())),
            Action::Overwrite { new, .. } => Some(Some(new.clone())),
            Action::Remove => Some(None),
            Action::KeepEdited
            | Action::Unchanged
            | Action::KeepStale
            | Action::UnresolvedConflict => None,
        };
        if let Some(write) = write {
            steps.push(Step {
                path: k.clone(),
                before: plan.before.get(k).cloned(),
                write,
            });
        }
    }
    Journal {
        steps,
        lock: plan.lock.clone(),
    }
}

/// What [`perform`] did with one step.
enum Outcome {
    Done,
    AlreadyDone,
    /// The file changed since the render was planned: left as it is.
    ChangedSince,
}

/// Perform one step if the file is still what the plan saw (or already what it should be).
fn perform(tree: &Tree, step: &Step, recovering: bool) -> Result<Outcome, SyncError> {
    let path = tree.rel(&step.path)?;
    let now = read_text(tree, &path)?;
    let now_sha = now.as_deref().map(sha256_hex);
    if now.as_deref() == step.write.as_deref() {
        return Ok(Outcome::AlreadyDone);
    }
    // A backup step (recorded with no `before`) is redone whatever is there.
    let is_backup = step.path.starts_with(BACKUP_DIR);
    if recovering && !is_backup && now_sha != step.before {
        return Ok(Outcome::ChangedSince);
    }
    match &step.write {
        Some(text) => tree.write(&path, text.as_bytes(), mode_for(&step.path))?,
        None => {
            tree.remove_file(&path)?;
            tree.remove_empty_parents(&path);
        }
    }
    Ok(Outcome::Done)
}

/// Write the lock, then drop the journal: the render is complete.
fn commit(tree: &Tree, lock: &Lock) -> Result<(), SyncError> {
    let text = serde_json::to_string_pretty(lock).unwrap_or_default() + "\n";
    tree.write(&lock_path(), text.as_bytes(), 0o644)?;
    tree.remove_file(&journal_path())?;
    Ok(())
}

/// Perform a plan as one transaction: journal, backups, writes and removals, lock.
pub fn apply(tree: &Tree, plan: &SyncPlan) -> Result<(), SyncError> {
    let mut backups = BTreeMap::new();
    for (k, action) in &plan.actions {
        if let Action::Overwrite { backup, .. } = action {
            let old = read_text(tree, &tree.rel(k)?)?.unwrap_or_default();
            tree.rel(backup)?;
            backups.insert(backup.clone(), old);
        }
    }
    let journal = journal_of(plan, &backups);
    let text = serde_json::to_string(&journal).unwrap_or_default();
    tree.write(&journal_path(), text.as_bytes(), 0o644)?;
    for step in &journal.steps {
        perform(tree, step, false)?;
    }
    commit(tree, &journal.lock)
}

/// What [`recover`] found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// An interrupted render was completed.
    pub completed: bool,
    /// Files it left as they were because they changed after the interrupted render began.
    pub left_changed: Vec<String>,
    /// Temporary files of a killed write that were removed.
    pub removed_temp_files: Vec<String>,
}

/// Whether a render was interrupted (its journal is still there).
pub fn interrupted(tree: &Tree) -> Result<bool, SyncError> {
    Ok(tree.exists(&journal_path())?)
}

/// Complete a render that was interrupted (its journal is there), then remove temporary
/// files left in the folders a render writes. Safe to run at any time; does nothing on a
/// clean tree.
pub fn recover(tree: &Tree) -> Result<Recovery, SyncError> {
    let mut recovery = Recovery::default();
    if let Some(text) = read_text(tree, &journal_path())? {
        let journal: Journal = serde_json::from_str(&text).map_err(|e| {
            bad_record(
                tree,
                JOURNAL_PATH,
                format!("not a valid render journal ({e})"),
            )
        })?;
        validate_lock(tree, &journal.lock, JOURNAL_PATH)?;
        for step in &journal.steps {
            let ok = match managed(&step.path) {
                Ok(_) => true,
                Err(_) => {
                    step.path.starts_with(&format!("{BACKUP_DIR}/"))
                        && RelPath::new(&step.path).is_ok()
                        && !step.path.split('/').any(|c| c == ".git")
                        && step.write.is_some()
                }
            };
            if !ok {
                return Err(bad_record(
                    tree,
                    JOURNAL_PATH,
                    format!(
                        "step `{}` is not a file a render may manage",
                        step.path.escape_debug()
                    ),
                ));
            }
        }
        for step in &journal.steps {
            if let Outcome::ChangedSince = perform(tree, step, true)? {
                recovery.left_changed.push(step.path.clone());
            }
        }
        commit(tree, &journal.lock)?;
        recovery.completed = true;
    }
    let lock = read_lock(tree)?;
    let mut folders: BTreeSet<Option<RelPath>> = BTreeSet::new();
    folders.insert(None);
    for k in lock.files.keys() {
        folders.insert(tree.rel(k)?.parent());
    }
    folders.insert(lock_path().parent());
    for folder in folders {
        for removed in tree.clean_temp_files(folder.as_ref())? {
            recovery.removed_temp_files.push(removed.to_string());
        }
    }
    Ok(recovery)
}

/// Write one file of the tree atomically (init's platform.toml and its backup).
pub fn write_file(tree: &Tree, path: &str, bytes: &[u8]) -> Result<(), SyncError> {
    tree.write(&tree.rel(path)?, bytes, mode_for(path))?;
    Ok(())
}

/// One difference a render would make (`render --check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// Rendered but absent on disk: a render would create it.
    Missing(String),
    /// A render would replace or merge it (the config changed since it was rendered).
    Modified(String),
    /// A render would merge it and conflict with a hand edit.
    Conflicting(String),
    /// Rendered before, no longer rendered, unchanged: a render would remove it.
    Stale(String),
    /// It still carries conflict markers from an earlier render.
    Unresolved(String),
}

impl Drift {
    pub fn path(&self) -> &str {
        match self {
            Drift::Missing(p)
            | Drift::Modified(p)
            | Drift::Conflicting(p)
            | Drift::Stale(p)
            | Drift::Unresolved(p) => p,
        }
    }
}

/// What a render would change, file by file. Writes nothing. Hand edits a render keeps
/// (including a placeholder replaced by a real SealedSecret) are not drift.
pub fn check(tree: &Tree, rendered: &Rendered, config_text: &str) -> Result<Vec<Drift>, SyncError> {
    let plan = plan_sync(tree, rendered, config_text, false, "")?;
    Ok(plan
        .actions
        .into_iter()
        .filter_map(|(k, action)| match action {
            Action::Create(_) => Some(Drift::Missing(k)),
            Action::Update(_) | Action::Merge(_) | Action::Overwrite { .. } => {
                Some(Drift::Modified(k))
            }
            Action::Conflict(_) => Some(Drift::Conflicting(k)),
            Action::Remove => Some(Drift::Stale(k)),
            Action::UnresolvedConflict => Some(Drift::Unresolved(k)),
            Action::KeepEdited | Action::Unchanged | Action::KeepStale => None,
        })
        .collect())
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
    [root.join("platform.toml"), root.join(LOCK_PATH)]
        .iter()
        .any(|p| fs::symlink_metadata(p).is_ok())
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
