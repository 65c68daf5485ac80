//! The render cache: helm's output for one (chart digest, values, arguments, helm version),
//! stored under the user's cache folder (never a folder a repository names: a repository is
//! untrusted and must not choose where homelab writes).
//!
//! Location: `$HOMELAB_CACHE_DIR`, else `$XDG_CACHE_HOME/homelab`, else `~/.cache/homelab`.
//! Entries are written atomically and named by their key, so a damaged or foreign entry is
//! at worst a miss.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The user's cache folder for homelab, when one can be determined.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("HOMELAB_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        if dir.is_absolute() {
            return Some(dir.join("homelab"));
        }
    }
    let home = std::env::var_os("HOME").filter(|d| !d.is_empty())?;
    Some(PathBuf::from(home).join(".cache").join("homelab"))
}

/// Writes `data` to `path` atomically (a temporary file in the same folder, then a rename).
pub fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let parent = path
        .parent()
        .ok_or_else(|| std::io::Error::other("no parent folder"))?;
    std::fs::create_dir_all(parent)?;
    let mut file = tempfile::NamedTempFile::new_in(parent)?;
    file.write_all(data)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Rendered output by key.
#[derive(Debug, Clone)]
pub struct RenderCache {
    dir: PathBuf,
}

/// A cached render: helm's output, or its error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Output(String),
    Failed(String),
}

impl RenderCache {
    pub fn new(dir: PathBuf) -> Self {
        RenderCache {
            dir: dir.join("renders"),
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(&key[..2.min(key.len())]).join(key)
    }

    pub fn get(&self, key: &str) -> Option<Entry> {
        let text = std::fs::read_to_string(self.path(key)).ok()?;
        if let Some(rest) = text.strip_prefix("ok\n") {
            Some(Entry::Output(rest.to_string()))
        } else {
            text.strip_prefix("failed\n")
                .map(|rest| Entry::Failed(rest.to_string()))
        }
    }

    /// Stores an entry; a cache that cannot be written is only slower, never an error.
    pub fn put(&self, key: &str, entry: &Entry) {
        let data = match entry {
            Entry::Output(text) => format!("ok\n{text}"),
            Entry::Failed(text) => format!("failed\n{text}"),
        };
        let _ = write_atomic(&self.path(key), data.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let cache = RenderCache::new(dir.path().to_path_buf());
        assert_eq!(cache.get("abcdef"), None);
        cache.put("abcdef", &Entry::Output("kind: A\n".into()));
        assert_eq!(cache.get("abcdef"), Some(Entry::Output("kind: A\n".into())));
        cache.put("abcdef", &Entry::Failed("boom".into()));
        assert_eq!(cache.get("abcdef"), Some(Entry::Failed("boom".into())));
    }
}
