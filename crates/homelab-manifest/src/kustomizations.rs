//! The kustomizations of a loaded repository as one tree: which folder holds which
//! kustomization, which kustomizations each one includes, and the roots (the ones no other
//! includes), for everything that follows kustomize's build (`check --kustomize`, `simulate`).
//!
//! The order is kustomize's: a kustomization's `resources` first, then its `bases` (kustomize
//! appends the deprecated `bases` to `resources` when it reads the file), then its
//! `components` (accumulated after the resources, into the same set, before the
//! transformers run).
//!
//! Only the documents already loaded are read: no file is opened and no remote base fetched.

use crate::engines::{file_of, normalise};
use crate::Document;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The names kustomize reads a kustomization from, in a folder.
pub const FILE_NAMES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// The fields that include other kustomizations (or resource files), in the order kustomize
/// builds them.
pub const INCLUDING_FIELDS: [&str; 3] = ["resources", "bases", "components"];

/// Whether `path` names a kustomization file.
pub fn is_kustomization_file(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| FILE_NAMES.iter().any(|k| name == *k))
}

/// Whether a `resources`/`bases`/`components` entry is remote (a URL or a git repository),
/// which nothing here fetches.
pub fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("git@")
        || entry.contains("?ref=")
        || ["github.com/", "gitlab.com/", "bitbucket.org/"]
            .iter()
            .any(|host| entry.starts_with(host))
}

/// The entries of a kustomization's including fields, as `(field, entry)` in build order.
pub fn included(kustomization: &Value) -> impl Iterator<Item = (&'static str, &str)> {
    INCLUDING_FIELDS.into_iter().flat_map(move |field| {
        kustomization
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(move |entry| (field, entry))
    })
}

/// The image after one kustomization's `images` entries: the image split into name and tag
/// or digest as kustomize splits it (a `:` after the last `/` starts the tag, `@` the
/// digest), and the first entry whose `name` is the image's name applied (`newName`, then
/// `digest` over `newTag`). `None` when no entry names the image.
pub fn set_image(image: &str, entries: &[Value]) -> Option<String> {
    let (name, rest) = match image.find('@') {
        Some(at) => (&image[..at], &image[at..]),
        None => match image.rfind(':') {
            Some(colon) if !image[colon..].contains('/') => (&image[..colon], &image[colon..]),
            _ => (image, ""),
        },
    };
    let entry = entries
        .iter()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(name))?;
    let new_name = entry.get("newName").and_then(Value::as_str).unwrap_or(name);
    let tag = match (
        entry.get("digest").and_then(Value::as_str),
        entry.get("newTag"),
    ) {
        (Some(digest), _) => format!("@{digest}"),
        (None, Some(Value::String(t))) => format!(":{t}"),
        (None, Some(t @ Value::Number(_))) => format!(":{t}"),
        _ => rest.to_string(),
    };
    Some(format!("{new_name}{tag}"))
}

/// The repository's kustomizations, by folder (as the loaded paths name it).
#[derive(Debug, Default)]
pub struct Kustomizations {
    by_dir: BTreeMap<PathBuf, usize>,
}

impl Kustomizations {
    /// The kustomizations among `documents`: the first document of each kustomization file,
    /// when it is a map. A folder with more than one (which kustomize refuses to build):
    /// the first in the order of [`FILE_NAMES`].
    pub fn of(documents: &[Document]) -> Kustomizations {
        let mut ranked: BTreeMap<PathBuf, (usize, usize)> = BTreeMap::new();
        for (i, doc) in documents.iter().enumerate() {
            if doc.doc_index != 0 || !doc.value.is_object() {
                continue;
            }
            let file = file_of(doc);
            let Some(rank) = file
                .file_name()
                .and_then(|name| FILE_NAMES.iter().position(|k| name == *k))
            else {
                continue;
            };
            let entry = ranked
                .entry(file.parent().unwrap_or(Path::new("")).to_path_buf())
                .or_insert((rank, i));
            if rank < entry.0 {
                *entry = (rank, i);
            }
        }
        Kustomizations {
            by_dir: ranked.into_iter().map(|(dir, (_, i))| (dir, i)).collect(),
        }
    }

    /// The document of the kustomization in `dir`.
    pub fn get(&self, dir: &Path) -> Option<usize> {
        self.by_dir.get(dir).copied()
    }

    /// Whether `dir` holds a kustomization.
    pub fn contains(&self, dir: &Path) -> bool {
        self.by_dir.contains_key(dir)
    }

    /// The folders of the kustomizations that the one in `dir` includes, in build order
    /// (remote entries and folders without a kustomization left out).
    pub fn children(&self, documents: &[Document], dir: &Path) -> Vec<PathBuf> {
        let Some(k) = self.get(dir) else {
            return Vec::new();
        };
        included(&documents[k].value)
            .filter(|(_, entry)| !is_remote(entry))
            .filter_map(|(_, entry)| normalise(&dir.join(entry)))
            .filter(|path| self.contains(path))
            .collect()
    }

    /// The kustomizations no other one includes, by folder (components are never roots).
    pub fn roots(&self, documents: &[Document]) -> Vec<PathBuf> {
        let included: BTreeSet<PathBuf> = self
            .by_dir
            .keys()
            .flat_map(|dir| self.children(documents, dir))
            .collect();
        self.by_dir
            .iter()
            .filter(|(dir, &k)| {
                !included.contains(*dir)
                    && documents[k].value.get("kind").and_then(Value::as_str) != Some("Component")
            })
            .map(|(dir, _)| dir.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(files: &[(&str, &str)]) -> Vec<Document> {
        files
            .iter()
            .flat_map(|(name, text)| crate::parse_str(name, text).0)
            .collect()
    }

    #[test]
    fn children_come_in_kustomizes_order_and_roots_are_the_uncovered() {
        let docs = load(&[
            (
                "overlay/kustomization.yaml",
                "components: [../component]\nbases: [../old-base]\nresources: [../base, deployment.yaml, https://example.com/x]\n",
            ),
            ("base/kustomization.yaml", "resources: [service.yaml]\n"),
            ("old-base/kustomization.yml", "resources: []\n"),
            ("component/kustomization.yaml", "kind: Component\n"),
            ("lonely-component/Kustomization", "kind: Component\n"),
            ("other/kustomization.yaml", "resources: [../base]\n"),
        ]);
        let tree = Kustomizations::of(&docs);
        assert_eq!(
            tree.children(&docs, Path::new("overlay")),
            [
                PathBuf::from("base"),
                PathBuf::from("old-base"),
                PathBuf::from("component")
            ]
        );
        assert_eq!(
            tree.roots(&docs),
            [PathBuf::from("other"), PathBuf::from("overlay")]
        );
        let fields: Vec<_> = included(&docs[0].value).map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            ["resources", "resources", "resources", "bases", "components"]
        );
    }

    #[test]
    fn a_folder_with_several_kustomization_files_reads_the_first_name() {
        let docs = load(&[
            ("app/Kustomization", "resources: [../c]\n"),
            ("app/kustomization.yml", "resources: [../b]\n"),
            ("app/kustomization.yaml", "resources: [../a]\n"),
            ("a/kustomization.yaml", "resources: []\n"),
            ("b/kustomization.yaml", "resources: []\n"),
            ("c/kustomization.yaml", "resources: []\n"),
        ]);
        let tree = Kustomizations::of(&docs);
        assert_eq!(tree.children(&docs, Path::new("app")), [PathBuf::from("a")]);
    }

    #[test]
    fn remote_entries_are_recognised() {
        for remote in [
            "https://github.com/org/repo//base?ref=v1",
            "github.com/org/repo/base",
            "git@github.com:org/repo.git",
            "gitlab.com/org/repo",
            "../base?ref=main",
        ] {
            assert!(is_remote(remote), "{remote}");
        }
        for local in ["../base", "deployment.yaml", "github/base"] {
            assert!(!is_remote(local), "{local}");
        }
    }

    #[test]
    fn images_keep_or_replace_tag_and_name() {
        let entries = [
            json!({"name": "nginx", "newTag": "1.27"}),
            json!({"name": "registry:5000/app", "newName": "mirror/app", "digest": "sha256:ab"}),
        ];
        assert_eq!(set_image("nginx:1.25", &entries).unwrap(), "nginx:1.27");
        assert_eq!(set_image("nginx", &entries).unwrap(), "nginx:1.27");
        assert_eq!(
            set_image("registry:5000/app:2", &entries).unwrap(),
            "mirror/app@sha256:ab"
        );
        assert!(set_image("redis:7", &entries).is_none());
    }
}
