//! A folder that reads and writes stay inside, whatever symbolic links it holds.

use crate::atomic::{temp_name, TEMP_MARKER};
use crate::read::{kind_name, read_open, ReadError};
use crate::relpath::{RelPath, RelPathError};
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// A folder opened once; every path below it is reached with `openat` one component at a
/// time, never following a symbolic link.
#[derive(Debug)]
pub struct Tree {
    root: OwnedFd,
    path: PathBuf,
}

/// What [`Tree::read`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Entry {
    Missing,
    File(Vec<u8>),
}

/// Why an operation inside a [`Tree`] was refused or failed. Paths are shown as the folder
/// joined with the relative path.
#[derive(Debug)]
pub enum TreeError {
    /// The path is not a normalized relative path.
    Path(PathBuf, RelPathError),
    /// A component is a symbolic link: nothing is read or written through it.
    Symlink(PathBuf),
    /// A component that must be a folder is something else.
    NotFolder(PathBuf, &'static str),
    /// The file is a folder, FIFO, device...: never read or replaced.
    NotRegular(PathBuf, &'static str),
    TooLarge(PathBuf, u64),
    Io(PathBuf, io::Error),
}

impl std::error::Error for TreeError {}

impl std::fmt::Display for TreeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TreeError::Path(_, e) => write!(f, "{e}: not a path inside the repository"),
            TreeError::Symlink(p) => write!(
                f,
                "{}: is a symbolic link; homelab does not read or write through links inside the repository (replace it with a real file or folder)",
                p.display()
            ),
            TreeError::NotFolder(p, what) => {
                write!(f, "{}: is a {what} where a folder is needed", p.display())
            }
            TreeError::NotRegular(p, what) => {
                write!(f, "{}: is a {what}, not a regular file", p.display())
            }
            TreeError::TooLarge(p, n) => write!(f, "{}: is too large ({n} bytes)", p.display()),
            TreeError::Io(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

impl From<TreeError> for io::Error {
    fn from(e: TreeError) -> io::Error {
        let kind = match &e {
            TreeError::Io(_, e) => e.kind(),
            _ => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, e.to_string())
    }
}

const DIR_FLAGS: OFlags = OFlags::DIRECTORY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::RDONLY)
    .union(OFlags::CLOEXEC);

impl Tree {
    /// Open `root` (which the user named: a link there is followed).
    pub fn open(root: &Path) -> io::Result<Tree> {
        let fd = rustix::fs::open(
            root,
            OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Tree {
            root: fd,
            path: root.to_path_buf(),
        })
    }

    /// The folder as the user named it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `root/rel` for messages.
    pub fn display(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }

    /// Validate a relative path against this tree (for messages that name the tree).
    pub fn rel(&self, text: &str) -> Result<RelPath, TreeError> {
        RelPath::new(text).map_err(|e| TreeError::Path(self.display(text), e))
    }

    /// What kind of entry `name` is in `dir`, without following it.
    fn kind_at(dir: impl AsFd, name: &str) -> Option<FileType> {
        rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .ok()
            .map(|st| FileType::from_raw_mode(st.st_mode))
    }

    /// Open the folder `dir` (the root for `None`), creating missing folders when `create`.
    /// `Ok(None)`: a folder on the way does not exist (and `create` is false).
    fn folder(&self, dir: Option<&RelPath>, create: bool) -> Result<Option<OwnedFd>, TreeError> {
        let mut fd = rustix::fs::openat(&self.root, ".", DIR_FLAGS, Mode::empty())
            .map_err(|e| TreeError::Io(self.path.clone(), e.into()))?;
        let Some(dir) = dir else {
            return Ok(Some(fd));
        };
        let mut walked = String::new();
        for name in dir.components() {
            if !walked.is_empty() {
                walked.push('/');
            }
            walked.push_str(name);
            let next = match rustix::fs::openat(&fd, name, DIR_FLAGS, Mode::empty()) {
                Ok(next) => next,
                Err(Errno::NOENT) if create => {
                    match rustix::fs::mkdirat(&fd, name, Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(TreeError::Io(self.display(&walked), e.into())),
                    }
                    rustix::fs::openat(&fd, name, DIR_FLAGS, Mode::empty())
                        .map_err(|e| self.classify(&fd, name, &walked, e))?
                }
                Err(Errno::NOENT) => return Ok(None),
                Err(e) => return Err(self.classify(&fd, name, &walked, e)),
            };
            fd = next;
        }
        Ok(Some(fd))
    }

    /// Turn a failed `openat` of a folder into a message that says what is in the way.
    fn classify(&self, parent: &OwnedFd, name: &str, walked: &str, e: Errno) -> TreeError {
        match Self::kind_at(parent, name) {
            Some(FileType::Symlink) => TreeError::Symlink(self.display(walked)),
            Some(FileType::Directory) | None => TreeError::Io(self.display(walked), e.into()),
            Some(other) => TreeError::NotFolder(self.display(walked), kind_name(other)),
        }
    }

    /// Read the regular file at `rel` (at most `max_bytes`). A symbolic link anywhere on the
    /// path is an error, a missing file is [`Entry::Missing`].
    pub fn read(&self, rel: &RelPath, max_bytes: u64) -> Result<Entry, TreeError> {
        let shown = || self.display(rel.as_str());
        let Some(dir) = self.folder(rel.parent().as_ref(), false)? else {
            return Ok(Entry::Missing);
        };
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = match rustix::fs::openat(&dir, rel.file_name(), flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(Entry::Missing),
            Err(e) => {
                return Err(match Self::kind_at(&dir, rel.file_name()) {
                    Some(FileType::Symlink) => TreeError::Symlink(shown()),
                    _ => TreeError::Io(shown(), e.into()),
                })
            }
        };
        match read_open(std::fs::File::from(fd), max_bytes) {
            Ok(bytes) => Ok(Entry::File(bytes)),
            Err(ReadError::NotRegular(what)) => Err(TreeError::NotRegular(shown(), what)),
            Err(ReadError::TooLarge(n)) => Err(TreeError::TooLarge(shown(), n)),
            Err(ReadError::Symlink) => Err(TreeError::Symlink(shown())),
            Err(ReadError::Io(e)) => Err(TreeError::Io(shown(), e)),
        }
    }

    /// Whether `rel` names something (of any kind, links not followed).
    pub fn exists(&self, rel: &RelPath) -> Result<bool, TreeError> {
        let Some(dir) = self.folder(rel.parent().as_ref(), false)? else {
            return Ok(false);
        };
        Ok(Self::kind_at(&dir, rel.file_name()).is_some())
    }

    /// Replace `rel` atomically with `bytes` and exactly `mode`, creating missing folders.
    /// The temporary file is born with `mode`; a link in place of the file is replaced, never
    /// followed; a folder in its place is an error.
    pub fn write(&self, rel: &RelPath, bytes: &[u8], mode: u32) -> Result<(), TreeError> {
        let shown = || self.display(rel.as_str());
        let dir = self
            .folder(rel.parent().as_ref(), true)?
            .ok_or_else(|| TreeError::Io(shown(), io::ErrorKind::NotFound.into()))?;
        if let Some(kind) = Self::kind_at(&dir, rel.file_name()) {
            if !matches!(kind, FileType::RegularFile | FileType::Symlink) {
                return Err(TreeError::NotRegular(shown(), kind_name(kind)));
            }
        }
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let (tmp, fd) = loop {
            let tmp = temp_name(rel.file_name());
            match rustix::fs::openat(
                &dir,
                tmp.as_str(),
                flags,
                Mode::from_raw_mode(mode & 0o7777),
            ) {
                Ok(fd) => break (tmp, fd),
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(TreeError::Io(shown(), e.into())),
            }
        };
        let result = (|| -> io::Result<()> {
            rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode & 0o7777))?;
            let mut file = std::fs::File::from(fd);
            file.write_all(bytes)?;
            file.sync_all()?;
            crash_point();
            rustix::fs::renameat(&dir, tmp.as_str(), &dir, rel.file_name())?;
            let _ = rustix::fs::fsync(&dir);
            Ok(())
        })();
        if let Err(e) = result {
            let _ = rustix::fs::unlinkat(&dir, tmp.as_str(), AtFlags::empty());
            return Err(TreeError::Io(shown(), e));
        }
        crash_point();
        Ok(())
    }

    /// Remove the regular file (or link) at `rel`; folders are never removed here.
    pub fn remove_file(&self, rel: &RelPath) -> Result<(), TreeError> {
        let shown = || self.display(rel.as_str());
        let Some(dir) = self.folder(rel.parent().as_ref(), false)? else {
            return Ok(());
        };
        match Self::kind_at(&dir, rel.file_name()) {
            None => return Ok(()),
            Some(FileType::RegularFile | FileType::Symlink) => {}
            Some(other) => return Err(TreeError::NotRegular(shown(), kind_name(other))),
        }
        rustix::fs::unlinkat(&dir, rel.file_name(), AtFlags::empty())
            .map_err(|e| TreeError::Io(shown(), e.into()))?;
        let _ = rustix::fs::fsync(&dir);
        crash_point();
        Ok(())
    }

    /// Remove the folders above `rel` that are empty, deepest first, stopping at the first
    /// that is not (or at the root).
    pub fn remove_empty_parents(&self, rel: &RelPath) {
        let mut dir = rel.parent();
        while let Some(d) = dir {
            let parent = d.parent();
            let Ok(Some(fd)) = self.folder(parent.as_ref(), false) else {
                return;
            };
            if rustix::fs::unlinkat(&fd, d.file_name(), AtFlags::REMOVEDIR).is_err() {
                return;
            }
            dir = parent;
        }
    }

    /// Remove temporary files left in folder `dir` by a killed process (names carrying
    /// [`TEMP_MARKER`], regular files only). Returns their paths.
    pub fn clean_temp_files(&self, dir: Option<&RelPath>) -> Result<Vec<RelPath>, TreeError> {
        let Some(fd) = self.folder(dir, false)? else {
            return Ok(Vec::new());
        };
        let listing = rustix::fs::Dir::read_from(&fd)
            .map_err(|e| TreeError::Io(self.display(dir.map_or("", RelPath::as_str)), e.into()))?;
        let mut removed = Vec::new();
        for entry in listing.flatten() {
            let Ok(name) = entry.file_name().to_str() else {
                continue;
            };
            if !(name.starts_with('.') && name.contains(TEMP_MARKER)) {
                continue;
            }
            if Self::kind_at(&fd, name) != Some(FileType::RegularFile) {
                continue;
            }
            if rustix::fs::unlinkat(&fd, name, AtFlags::empty()).is_ok() {
                let rel = RelPath::new(name).expect("a directory entry name is one component");
                removed.push(match dir {
                    Some(d) => d.join(&rel),
                    None => rel,
                });
            }
        }
        Ok(removed)
    }
}

/// A test hook that makes file operations count down to a crash: with
/// `HOMELAB_CRASH_AFTER_WRITES=N` the process aborts (as if killed) right after the N-th
/// write, removal or rename. The crash-recovery tests of `render` use it to stop a render at
/// every point; unset, it costs one environment lookup per process.
pub(crate) fn crash_point() {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::OnceLock;
    static LEFT: OnceLock<Option<AtomicI64>> = OnceLock::new();
    let left = LEFT.get_or_init(|| {
        std::env::var("HOMELAB_CRASH_AFTER_WRITES")
            .ok()
            .and_then(|v| v.parse::<i64>().ok())
            .map(AtomicI64::new)
    });
    if let Some(left) = left {
        if left.fetch_sub(1, Ordering::SeqCst) <= 1 {
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn rel(s: &str) -> RelPath {
        RelPath::new(s).unwrap()
    }

    #[test]
    fn writes_create_folders_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        tree.write(&rel("a/b/c.sh"), b"x", 0o755).unwrap();
        assert_eq!(
            tree.read(&rel("a/b/c.sh"), 10).unwrap(),
            Entry::File(b"x".to_vec())
        );
        assert_eq!(tree.read(&rel("a/nope"), 10).unwrap(), Entry::Missing);
        assert_eq!(tree.read(&rel("nope/x"), 10).unwrap(), Entry::Missing);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("a/b/c.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        tree.remove_file(&rel("a/b/c.sh")).unwrap();
        tree.remove_empty_parents(&rel("a/b/c.sh"));
        assert!(!dir.path().join("a").exists());
    }

    #[test]
    fn nothing_goes_through_a_linked_folder() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("victim"), "precious").unwrap();
        let dir = tempfile::tempdir().unwrap();
        symlink(outside.path(), dir.path().join("scripts")).unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        for result in [
            tree.write(&rel("scripts/victim"), b"owned", 0o644).err(),
            tree.write(&rel("scripts/new"), b"owned", 0o644).err(),
            tree.read(&rel("scripts/victim"), 100).err(),
            tree.remove_file(&rel("scripts/victim")).err(),
        ] {
            assert!(matches!(result, Some(TreeError::Symlink(_))), "{result:?}");
        }
        assert_eq!(
            std::fs::read_to_string(outside.path().join("victim")).unwrap(),
            "precious"
        );
        assert!(!outside.path().join("new").exists());
    }

    #[test]
    fn a_linked_file_is_not_read_and_is_replaced_not_followed() {
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let dir = tempfile::tempdir().unwrap();
        symlink(&victim, dir.path().join("f")).unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        assert!(matches!(
            tree.read(&rel("f"), 100),
            Err(TreeError::Symlink(_))
        ));
        tree.write(&rel("f"), b"new", 0o644).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("f")).unwrap(),
            "new"
        );
    }

    #[test]
    fn special_files_are_refused_and_temp_files_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let tree = Tree::open(dir.path()).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            dir.path().join("fifo"),
            FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        assert!(matches!(
            tree.read(&rel("fifo"), 100),
            Err(TreeError::NotRegular(..))
        ));
        std::fs::create_dir(dir.path().join("d")).unwrap();
        assert!(matches!(
            tree.write(&rel("d"), b"", 0o644),
            Err(TreeError::NotRegular(..))
        ));
        std::fs::write(dir.path().join(format!(".x{TEMP_MARKER}1-2")), "half").unwrap();
        std::fs::write(dir.path().join("keep"), "").unwrap();
        let removed = tree.clean_temp_files(None).unwrap();
        assert_eq!(removed.len(), 1);
        assert!(dir.path().join("keep").exists());
    }
}
