//! The loaded repository as the rules see it: every document (Kubernetes objects and the
//! classified non-Kubernetes files such as Helm values), every source text (for secret
//! scanning), and the repository root (for `$values` paths).

use homelab_manifest::{Class, Document, Source};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct Repo<'a> {
    pub documents: &'a [Document],
    pub sources: &'a [Arc<Source>],
    /// The repository root, when the input is one folder (enables path checks).
    pub root: Option<PathBuf>,
}

impl<'a> Repo<'a> {
    pub fn new(
        documents: &'a [Document],
        sources: &'a [Arc<Source>],
        root: Option<PathBuf>,
    ) -> Self {
        Repo {
            documents,
            sources,
            root,
        }
    }

    /// Kubernetes objects only.
    pub fn objects(&self) -> impl Iterator<Item = &'a Document> + '_ {
        self.documents
            .iter()
            .filter(|d| matches!(d.class, Class::Object))
    }

    /// Objects of one kind (any group).
    pub fn of_kind(&self, kind: &'a str) -> impl Iterator<Item = &'a Document> + 'a {
        self.documents
            .iter()
            .filter(move |d| matches!(d.class, Class::Object) && d.kind() == Some(kind))
    }

    /// Documents that are not Kubernetes objects (Helm values, CI files, ...).
    pub fn non_objects(&self) -> impl Iterator<Item = &'a Document> + '_ {
        self.documents
            .iter()
            .filter(|d| matches!(d.class, Class::NotKubernetes { .. }))
    }

    /// Names of the Namespace objects defined in the repository.
    pub fn namespaces(&self) -> BTreeSet<&'a str> {
        self.of_kind("Namespace").filter_map(|d| d.name()).collect()
    }

    /// A document's path relative to the repository root, with `/` separators.
    pub fn relative_path(&self, doc: &Document) -> String {
        let name = doc.source.name.replace('\\', "/");
        let name = name.trim_start_matches("./").to_string();
        if let Some(root) = &self.root {
            let root = root.to_string_lossy().replace('\\', "/");
            let root = root
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_string();
            if root.is_empty() || root == "." {
                return name;
            }
            if let Some(rest) = name.strip_prefix(&format!("{root}/")) {
                return rest.to_string();
            }
        }
        name
    }

    /// The documents of the file at `relative` (a path from the repository root).
    pub fn documents_at(&self, relative: &str) -> Vec<&'a Document> {
        let relative = relative.trim_start_matches("./");
        self.documents
            .iter()
            .filter(|d| self.relative_path(d) == relative)
            .collect()
    }

    /// Whether `relative` (a path inside the repository) exists: among the loaded sources,
    /// or on disk under the root.
    pub fn path_exists(&self, relative: &str) -> bool {
        let relative = relative.trim_start_matches("./");
        let loaded = self.sources.iter().any(|s| {
            let name = s.name.trim_start_matches("./");
            name == relative || name.ends_with(&format!("/{relative}"))
        });
        loaded
            || self
                .root
                .as_deref()
                .is_some_and(|r| exists_under(r, relative))
    }
}

fn exists_under(root: &Path, relative: &str) -> bool {
    !relative.split('/').any(|c| c == "..") && root.join(relative).exists()
}

/// `a/b` + `../c/d.yaml` = `a/c/d.yaml` (None when it leaves the repository).
pub fn join(dir: &str, entry: &str) -> Option<String> {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for part in entry.split('/') {
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

/// The folder of a repository path (`""` for a file at the root).
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}
