//! Relative paths that cannot leave the folder they are joined to.

use std::fmt;

/// A normalized relative path with `/` separators: not empty, not absolute, no `.` or `..`
/// component, no empty component (`a//b`, a trailing `/`), no NUL and no backslash.
/// Joined to a folder it names something inside that folder (symbolic links aside: see
/// [`crate::Tree`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelPath(String);

/// Why a text is not a [`RelPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelPathError {
    pub path: String,
    pub reason: &'static str,
}

impl fmt::Display for RelPathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.path.escape_debug(), self.reason)
    }
}

impl std::error::Error for RelPathError {}

impl RelPath {
    /// Validate `text` as a normalized relative path.
    pub fn new(text: &str) -> Result<RelPath, RelPathError> {
        let fail = |reason| {
            Err(RelPathError {
                path: text.to_string(),
                reason,
            })
        };
        if text.is_empty() {
            return fail("is empty");
        }
        if text.starts_with('/') {
            return fail("is absolute");
        }
        if text.contains('\0') {
            return fail("contains a NUL byte");
        }
        if text.contains('\\') {
            return fail("contains a backslash");
        }
        for component in text.split('/') {
            match component {
                "" => return fail("has an empty component (`//` or a trailing `/`)"),
                "." => return fail("has a `.` component"),
                ".." => return fail("leaves its folder (`..`)"),
                _ => {}
            }
        }
        Ok(RelPath(text.to_string()))
    }

    /// From a relative [`std::path::Path`] (for paths built by our own code).
    pub fn from_path(path: &std::path::Path) -> Result<RelPath, RelPathError> {
        let text: Vec<String> = path
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        RelPath::new(&text.join("/"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The components, first to last.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The last component.
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// Everything but the last component (`None` for a single component).
    pub fn parent(&self) -> Option<RelPath> {
        self.0.rsplit_once('/').map(|(p, _)| RelPath(p.to_string()))
    }

    /// `self/other`.
    pub fn join(&self, other: &RelPath) -> RelPath {
        RelPath(format!("{}/{}", self.0, other.0))
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_normalized_relative_paths_are_accepted() {
        for ok in [
            "a",
            "a/b.yaml",
            ".homelab/render.lock",
            "a/..b/c..",
            "x y/z",
        ] {
            assert_eq!(RelPath::new(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/..",
            "./a",
            "a/./b",
            "a//b",
            "a/",
            "a\0b",
            "a\\..\\b",
        ] {
            assert!(RelPath::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn parts() {
        let p = RelPath::new("a/b/c.yaml").unwrap();
        assert_eq!(p.file_name(), "c.yaml");
        assert_eq!(p.parent().unwrap().as_str(), "a/b");
        assert!(RelPath::new("c").unwrap().parent().is_none());
        assert_eq!(
            RelPath::from_path(std::path::Path::new("a/b"))
                .unwrap()
                .as_str(),
            "a/b"
        );
        assert!(RelPath::from_path(std::path::Path::new("/a")).is_err());
    }
}
