//! Paths that a repository names (value files, local charts, `$values/...`) confined to the
//! repository: no absolute paths, no `..` out of it, no link that resolves outside it.

use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest values file read (a values file is configuration, never data).
pub const MAX_VALUES_BYTES: u64 = 8 * 1024 * 1024;

/// `a/b` joined with `../c` inside the repository, as a normalised relative path
/// (`a/c`). `None` when it is absolute or climbs out of the repository.
pub fn join_relative(base: &str, entry: &str) -> Option<String> {
    if entry.starts_with('/') || entry.starts_with('\\') || entry.contains(':') {
        return None;
    }
    let mut parts: Vec<&str> = base
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for part in entry.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Why a path of the repository cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    Missing,
    Outside,
    NotAFile,
    TooLarge(u64),
    Unreadable(String),
}

impl Refused {
    pub fn describe(&self) -> String {
        match self {
            Refused::Missing => "does not exist in the repository".into(),
            Refused::Outside => "resolves outside the repository (an absolute path, `..`, or a link); homelab never reads it".into(),
            Refused::NotAFile => "is not a regular file".into(),
            Refused::TooLarge(n) => format!("is {n} bytes, over the {MAX_VALUES_BYTES} byte bound of a values file"),
            Refused::Unreadable(e) => format!("cannot be read ({e})"),
        }
    }
}

/// The on-disk path of `relative` under `root`, after checking that it resolves inside it.
pub fn confine(root: &Path, relative: &str) -> Result<PathBuf, Refused> {
    let normal = join_relative("", relative).ok_or(Refused::Outside)?;
    let path = root.join(&normal);
    let canonical_root = root
        .canonicalize()
        .map_err(|e| Refused::Unreadable(e.to_string()))?;
    let resolved = match path.canonicalize() {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A dangling link is "outside" as far as we can tell; a plain missing file is
            // missing.
            return Err(if std::fs::symlink_metadata(&path).is_ok() {
                Refused::Outside
            } else {
                Refused::Missing
            });
        }
        Err(e) => return Err(Refused::Unreadable(e.to_string())),
    };
    if !resolved.starts_with(&canonical_root) {
        return Err(Refused::Outside);
    }
    Ok(resolved)
}

/// Reads a confined file of the repository with the values-file bound.
pub fn read_confined(root: &Path, relative: &str) -> Result<String, Refused> {
    let path = confine(root, relative)?;
    let meta = std::fs::metadata(&path).map_err(|e| Refused::Unreadable(e.to_string()))?;
    if !meta.is_file() {
        return Err(Refused::NotAFile);
    }
    if meta.len() > MAX_VALUES_BYTES {
        return Err(Refused::TooLarge(meta.len()));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(&path)
        .and_then(|f| f.take(MAX_VALUES_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| Refused::Unreadable(e.to_string()))?;
    if bytes.len() as u64 > MAX_VALUES_BYTES {
        return Err(Refused::TooLarge(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|_| Refused::Unreadable("not UTF-8 text".into()))
}

/// `name` of a document relative to `root` (`/x/repo/apps/a.yaml` with root `/x/repo` ->
/// `apps/a.yaml`), with `/` separators.
pub fn relative_to(root: &Path, name: &str) -> String {
    let name = name.replace('\\', "/");
    let root_text = root.to_string_lossy().replace('\\', "/");
    let root_text = root_text.trim_end_matches('/');
    let stripped = if root_text.is_empty() || root_text == "." {
        name.trim_start_matches("./").to_string()
    } else {
        name.strip_prefix(&format!("{root_text}/"))
            .map(str::to_string)
            .unwrap_or_else(|| name.trim_start_matches("./").to_string())
    };
    stripped
}

/// The file name the loader gives `relative` under `root` (so locations match the report's
/// sources): `root/relative` as the user wrote the root.
pub fn display_name(root: &Path, relative: &str) -> String {
    let root_text = root.to_string_lossy();
    if root_text.is_empty() {
        relative.to_string()
    } else {
        root.join(relative).to_string_lossy().into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_joins_stay_inside() {
        assert_eq!(
            join_relative("a/b", "../c.yaml").as_deref(),
            Some("a/c.yaml")
        );
        assert_eq!(join_relative("", "./x/y").as_deref(), Some("x/y"));
        assert_eq!(join_relative("a", "../../etc/passwd"), None);
        assert_eq!(join_relative("", "/etc/passwd"), None);
        assert_eq!(join_relative("", "C:\\x"), None);
        assert_eq!(join_relative("", "https://example.com/v.yaml"), None);
    }

    #[cfg(unix)]
    #[test]
    fn confined_reads_refuse_links_out() {
        let repo = tempfile::tempdir().unwrap();
        std::fs::write(repo.path().join("v.yaml"), "a: 1\n").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", repo.path().join("leak.yaml")).unwrap();
        std::os::unix::fs::symlink("/nonexistent/x", repo.path().join("dangling.yaml")).unwrap();
        assert_eq!(read_confined(repo.path(), "v.yaml").unwrap(), "a: 1\n");
        assert_eq!(
            read_confined(repo.path(), "leak.yaml"),
            Err(Refused::Outside)
        );
        assert_eq!(
            read_confined(repo.path(), "dangling.yaml"),
            Err(Refused::Outside)
        );
        assert_eq!(
            read_confined(repo.path(), "nope.yaml"),
            Err(Refused::Missing)
        );
        assert_eq!(read_confined(repo.path(), "../x"), Err(Refused::Outside));
        assert_eq!(read_confined(repo.path(), "."), Err(Refused::NotAFile));
    }

    #[test]
    fn names_relative_to_the_root() {
        assert_eq!(
            relative_to(Path::new("/x/repo"), "/x/repo/a/b.yaml"),
            "a/b.yaml"
        );
        assert_eq!(relative_to(Path::new("."), "./a/b.yaml"), "a/b.yaml");
        assert_eq!(relative_to(Path::new("repo/"), "repo/a.yaml"), "a.yaml");
    }
}
