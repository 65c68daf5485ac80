//! The loaded repository as the rules see it: every document (Kubernetes objects and the
//! classified non-Kubernetes files such as Helm values), every source text (for secret
//! scanning), and the repository root (for `$values` paths).

use homelab_manifest::{kustomizations, Class, Document, Source};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub struct Repo<'a> {
    pub documents: &'a [Document],
    pub sources: &'a [Arc<Source>],
    /// The repository root, when the input is one folder (enables path checks).
    pub root: Option<PathBuf>,
    /// `root` as the prefix of the file names under it (`gitops/`); `None` when names are
    /// already relative.
    root_prefix: Option<String>,
    /// Built on first use and shared by every rule: rules that look files up by path would
    /// otherwise scan every document once per lookup (quadratic on large repositories).
    index: OnceLock<PathIndex>,
    /// This repository's addresses as its Argo CD Applications name them (see
    /// [`crate::argo::is_foreign`]), computed on first use.
    pub(crate) argo_own: OnceLock<BTreeSet<String>>,
}

/// The documents of the repository by relative path, and what follows from the paths.
/// Documents are indices into `Repo::documents` (a borrow would make `Repo` invariant).
struct PathIndex {
    /// Documents of each file, in input order.
    by_path: HashMap<String, Vec<usize>>,
    /// The first document of each folder's `kustomization.yaml` (`.yml`, `Kustomization`).
    kustomizations: HashMap<String, usize>,
    /// Every folder that holds a loaded file, and their parents up to the root (`""`).
    folders: BTreeSet<String>,
}

impl<'a> Repo<'a> {
    pub fn new(
        documents: &'a [Document],
        sources: &'a [Arc<Source>],
        root: Option<PathBuf>,
    ) -> Self {
        let root_prefix = root.as_ref().and_then(|root| {
            let root = root.to_string_lossy().replace('\\', "/");
            let root = root.trim_start_matches("./").trim_end_matches('/');
            (!root.is_empty() && root != ".").then(|| format!("{root}/"))
        });
        Repo {
            documents,
            sources,
            root,
            root_prefix,
            index: OnceLock::new(),
            argo_own: OnceLock::new(),
        }
    }

    fn index(&self) -> &PathIndex {
        self.index.get_or_init(|| {
            let mut by_path: HashMap<String, Vec<usize>> = HashMap::new();
            let mut kustomizations = HashMap::new();
            let mut folders = BTreeSet::new();
            for (i, doc) in self.documents.iter().enumerate() {
                let path = self.relative_path(doc);
                if let Some(docs) = by_path.get_mut(&path) {
                    docs.push(i);
                    continue;
                }
                // A folder with two kustomization files (which kustomize refuses to build, an
                // error of its own): the first in the order of `FILE_NAMES`, as everywhere.
                let (folder, file) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
                if let Some(rank) = kustomizations::FILE_NAMES.iter().position(|k| *k == file) {
                    let entry = kustomizations.entry(folder.to_owned()).or_insert((rank, i));
                    if rank < entry.0 {
                        *entry = (rank, i);
                    }
                }
                let mut dir = parent(&path).to_string();
                while folders.insert(dir.clone()) && !dir.is_empty() {
                    dir = parent(&dir).to_string();
                }
                by_path.insert(path, vec![i]);
            }
            PathIndex {
                by_path,
                kustomizations: kustomizations
                    .into_iter()
                    .map(|(folder, (_, i))| (folder, i))
                    .collect(),
                folders,
            }
        })
    }

    /// The kustomization document of a folder (relative to the root), when it has one: the
    /// first document of its `kustomization.yaml`, `kustomization.yml` or `Kustomization`.
    pub fn kustomization(&self, folder: &str) -> Option<&'a Document> {
        let i = *self.index().kustomizations.get(folder)?;
        Some(&self.documents[i])
    }

    /// Every loaded file, relative to the root (in no particular order).
    pub fn files(&self) -> impl Iterator<Item = &str> + '_ {
        self.index().by_path.keys().map(String::as_str)
    }

    /// Every folder that holds a loaded file, relative to the root.
    pub fn folders(&self) -> &BTreeSet<String> {
        &self.index().folders
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
        self.relative_name(&doc.source.name)
    }

    /// A source name (as findings locate it) relative to the repository root.
    pub fn relative_name(&self, name: &str) -> String {
        let name: std::borrow::Cow<str> = if name.contains('\\') {
            name.replace('\\', "/").into()
        } else {
            name.into()
        };
        let name = name.trim_start_matches("./");
        self.root_prefix
            .as_deref()
            .and_then(|prefix| name.strip_prefix(prefix))
            .unwrap_or(name)
            .to_string()
    }

    /// The documents of the file at `relative` (a path from the repository root).
    pub fn documents_at(&self, relative: &str) -> Vec<&'a Document> {
        let relative = relative.trim_start_matches("./");
        self.index()
            .by_path
            .get(relative)
            .into_iter()
            .flatten()
            .map(|i| &self.documents[*i])
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
    /// Whether `folder` (relative to the root, `""` for the root itself) is the top of a git
    /// work tree: it holds a `.git` entry (a folder, or the file of a worktree or submodule)
    /// inside the root. Nothing in it is read.
    pub fn holds_git(&self, folder: &str) -> bool {
        let entry = if folder.is_empty() {
            ".git".to_string()
        } else {
            format!("{folder}/.git")
        };
        self.root
            .as_deref()
            .is_some_and(|r| exists_under(r, &entry))
    }
}

/// Whether `relative` names something inside `root`. The path comes from the repository
/// (untrusted): an absolute path, a `..`, or a link that leads out of the root is not inside
/// it, so that the answer never tells whether a file exists elsewhere on the host.
fn exists_under(root: &Path, relative: &str) -> bool {
    use std::path::Component;
    let relative = Path::new(relative);
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return false;
    }
    match (
        std::fs::canonicalize(root),
        std::fs::canonicalize(root.join(relative)),
    ) {
        (Ok(root), Ok(target)) => target.starts_with(root),
        _ => false,
    }
}

/// A Git or OCI address reduced to host and path (`github.com/owner/repo`), so that the
/// HTTPS, SSH and `.git` spellings of one repository compare equal.
pub fn repository_address(url: &str) -> String {
    let mut u = url.trim().to_ascii_lowercase();
    for scheme in ["https://", "http://", "ssh://", "oci://", "git://"] {
        if let Some(rest) = u.strip_prefix(scheme) {
            u = rest.to_string();
        }
    }
    if let Some((user, rest)) = u.split_once('@') {
        if !user.contains('/') {
            u = rest.replacen(':', "/", 1);
        }
    }
    u.trim_end_matches('/').trim_end_matches(".git").to_string()
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

#[cfg(test)]
mod path_tests {
    use super::exists_under;

    #[test]
    fn only_paths_inside_the_root_exist() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("host");
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("passwd"), "x").unwrap();
        let root = tmp.path().join("repo");
        std::fs::create_dir_all(root.join("values")).unwrap();
        std::fs::write(root.join("values/a.yaml"), "a: 1").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("out")).unwrap();
        std::os::unix::fs::symlink("values/a.yaml", root.join("in.yaml")).unwrap();
        assert!(exists_under(&root, "values/a.yaml"));
        assert!(exists_under(&root, "./values/a.yaml"));
        assert!(
            exists_under(&root, "in.yaml"),
            "a link inside the root is followed"
        );
        let host_file = outside.join("passwd");
        assert!(!exists_under(&root, host_file.to_str().unwrap()));
        assert!(!exists_under(&root, "../host/passwd"));
        assert!(!exists_under(&root, "values/../../host/passwd"));
        assert!(!exists_under(&root, "out/passwd"));
        assert!(!exists_under(&root, "values/missing.yaml"));
    }
}
