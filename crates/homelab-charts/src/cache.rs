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

/// The longest header line of an entry (`failed <length> <crc32>`).
const MAX_HEADER: usize = 64;

/// Rendered output by key. Each entry is one file: a header line `ok|failed <length>
/// <crc32 hex>` and the text, so that a truncated or damaged file is recognised as such.
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

    /// The entry stored under `key`. An entry that is truncated, damaged (its length or
    /// checksum differs from its header), not UTF-8, or in another format is a miss.
    pub fn get(&self, key: &str) -> Option<Entry> {
        let mut bytes = std::fs::read(self.path(key)).ok()?;
        let end = bytes.iter().take(MAX_HEADER).position(|&b| b == b'\n')?;
        let header = std::str::from_utf8(&bytes[..end]).ok()?;
        let mut fields = header.split(' ');
        let (Some(status), Some(length), Some(checksum), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return None;
        };
        let body = &bytes[end + 1..];
        if length.parse::<usize>().ok()? != body.len()
            || u32::from_str_radix(checksum, 16).ok()? != crc32fast::hash(body)
        {
            return None;
        }
        let failed = match status {
            "ok" => false,
            "failed" => true,
            _ => return None,
        };
        bytes.drain(..end + 1);
        let text = String::from_utf8(bytes).ok()?;
        Some(if failed {
            Entry::Failed(text)
        } else {
            Entry::Output(text)
        })
    }

    /// Stores an entry; a cache that cannot be written is only slower, never an error.
    pub fn put(&self, key: &str, entry: &Entry) {
        let (status, text) = match entry {
            Entry::Output(text) => ("ok", text),
            Entry::Failed(text) => ("failed", text),
        };
        let header = format!(
            "{status} {} {:08x}\n",
            text.len(),
            crc32fast::hash(text.as_bytes())
        );
        let mut data = Vec::with_capacity(header.len() + text.len());
        data.extend_from_slice(header.as_bytes());
        data.extend_from_slice(text.as_bytes());
        let _ = write_atomic(&self.path(key), &data);
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

    #[test]
    fn damaged_truncated_or_foreign_entries_are_misses() {
        let dir = tempfile::tempdir().unwrap();
        let cache = RenderCache::new(dir.path().to_path_buf());
        let text = "{\"kind\": \"List\", \"items\": []}\n".repeat(50);
        cache.put("abcdef", &Entry::Output(text.clone()));
        assert_eq!(cache.get("abcdef"), Some(Entry::Output(text)));
        let path = cache.path("abcdef");
        let good = std::fs::read(&path).unwrap();
        let mut bad = Vec::new();
        // Cut short, one byte changed, one byte more, header only, no header, old format.
        bad.push(good[..good.len() - 1].to_vec());
        let mut flipped = good.clone();
        let last = flipped.len() - 10;
        flipped[last] ^= 0x20;
        bad.push(flipped);
        let mut longer = good.clone();
        longer.push(b' ');
        bad.push(longer);
        let newline = good.iter().position(|&b| b == b'\n').unwrap();
        bad.push(good[..=newline].to_vec());
        bad.push(good[newline + 1..].to_vec());
        bad.push(b"ok\nkind: A\n".to_vec());
        bad.push(b"maybe 3 00000000\nabc".to_vec());
        bad.push(vec![0xff; 200]);
        bad.push(Vec::new());
        for bytes in bad {
            std::fs::write(&path, &bytes).unwrap();
            assert_eq!(
                cache.get("abcdef"),
                None,
                "{:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }
}
