//! ArgoCD Application reading shared by the `argocd/*` rules: sources, waves, the paths an
//! Application deploys from this repository, and where each file lives relative to the root.

use crate::workload::sync_wave;
use crate::Repo;
use homelab_manifest::Document;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// One source of an Application (single `source` or each of `sources`), with its pointer.
pub struct AppSource<'a> {
    pub value: &'a Value,
    pub pointer: String,
}

impl<'a> AppSource<'a> {
    pub fn str(&self, key: &str) -> Option<&'a str> {
        self.value.get(key).and_then(Value::as_str)
    }
}

pub fn is_application(doc: &Document) -> bool {
    doc.kind() == Some("Application") && doc.group() == "argoproj.io"
}

pub fn applications<'a>(repo: &'a Repo<'a>) -> impl Iterator<Item = &'a Document> + 'a {
    repo.objects().filter(|d| is_application(d))
}

pub fn sources(doc: &Document) -> Vec<AppSource<'_>> {
    let mut out = Vec::new();
    if let Some(s) = doc.value.pointer("/spec/source").filter(|v| v.is_object()) {
        out.push(AppSource {
            value: s,
            pointer: "/spec/source".into(),
        });
    }
    if let Some(list) = doc.value.pointer("/spec/sources").and_then(Value::as_array) {
        for (i, s) in list.iter().enumerate() {
            out.push(AppSource {
                value: s,
                pointer: format!("/spec/sources/{i}"),
            });
        }
    }
    out
}

/// The Application's wave (0 when it has none, as ArgoCD does).
pub fn wave(doc: &Document) -> i64 {
    match sync_wave(doc) {
        Some(Ok(w)) => w,
        _ => 0,
    }
}

/// A document's path relative to the repository root, with `/` separators.
pub fn relative_path(repo: &Repo, doc: &Document) -> String {
    let name = doc.source.name.replace('\\', "/");
    let name = name.trim_start_matches("./").to_string();
    if let Some(root) = &repo.root {
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

/// Normalise a source `path` (`./apps/x/`, `apps/x`) for prefix comparison.
pub fn normalise_dir(path: &str) -> String {
    let p = path.trim().trim_start_matches("./").trim_end_matches('/');
    if p == "." {
        String::new()
    } else {
        p.to_string()
    }
}

/// Whether a repository file lies in a source directory (`recurse`: in any subfolder too).
pub fn in_dir(file: &str, dir: &str, recurse: bool) -> bool {
    let rest = if dir.is_empty() {
        Some(file)
    } else {
        file.strip_prefix(dir).and_then(|r| r.strip_prefix('/'))
    };
    match rest {
        Some(r) => recurse || !r.contains('/'),
        None => false,
    }
}

/// Something an Application deploys from this repository: a folder (recursively or not), or,
/// when the folder holds a `kustomization.yaml`, exactly the files its `resources` reach.
pub struct Deployment {
    pub dir: String,
    recurse: bool,
    files: Option<BTreeSet<String>>,
}

impl Deployment {
    /// Whether the repository file `file` (relative to the root) is deployed.
    pub fn contains(&self, file: &str) -> bool {
        match &self.files {
            Some(files) => files.contains(file),
            None => in_dir(file, &self.dir, self.recurse),
        }
    }
}

/// What an Application deploys from this repository (sources with a `path`; every source with
/// a path is taken to be this repository: the rules run on the GitOps repository).
pub fn deployments(repo: &Repo, doc: &Document) -> Vec<Deployment> {
    sources(doc)
        .iter()
        .filter(|s| s.str("chart").is_none())
        .filter_map(|s| {
            let dir = normalise_dir(s.str("path")?);
            let recurse = s
                .value
                .pointer("/directory/recurse")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let files = kustomize_files(repo, &dir);
            Some(Deployment {
                dir,
                recurse,
                files,
            })
        })
        .collect()
}

/// `a/b` + `../c/d.yaml` = `a/c/d.yaml` (None when it leaves the repository).
fn join(dir: &str, entry: &str) -> Option<String> {
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

/// The files a kustomization in `dir` deploys, following `resources` into other
/// kustomizations (as ArgoCD does: a path with a kustomization.yaml is built with kustomize).
///
/// The kustomizations are the repository's (untrusted): each folder is expanded once (a
/// kustomization that lists itself, or a diamond of kustomizations listing each other many
/// times, costs one visit per folder, not one per path through them), and a cycle adds nothing.
fn kustomize_files(repo: &Repo, dir: &str) -> Option<BTreeSet<String>> {
    let mut kustomizations: HashMap<String, &Document> = HashMap::new();
    for doc in repo.documents.iter() {
        let path = relative_path(repo, doc);
        let (folder, file) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        if ["kustomization.yaml", "kustomization.yml", "Kustomization"].contains(&file) {
            kustomizations.entry(folder.to_owned()).or_insert(doc);
        }
    }
    let mut walk = KustomizeWalk {
        kustomizations,
        stack: Vec::new(),
        done: HashMap::new(),
    };
    walk.files(&join("", dir)?)
}

struct KustomizeWalk<'a> {
    /// The kustomization document of each folder that has one.
    kustomizations: HashMap<String, &'a Document>,
    /// The folders being expanded (to cut cycles).
    stack: Vec<String>,
    /// Folders already expanded.
    done: HashMap<String, Option<BTreeSet<String>>>,
}

impl KustomizeWalk<'_> {
    fn files(&mut self, dir: &str) -> Option<BTreeSet<String>> {
        if let Some(known) = self.done.get(dir) {
            return known.clone();
        }
        if self.stack.len() > 16 {
            return None;
        }
        if self.stack.iter().any(|d| d == dir) {
            // Its files are being gathered further up.
            return Some(BTreeSet::new());
        }
        let kustomization = *self.kustomizations.get(dir)?;
        self.stack.push(dir.to_owned());
        let mut files = BTreeSet::new();
        for entry in ["resources", "components"]
            .iter()
            .filter_map(|k| kustomization.value.get(*k).and_then(Value::as_array))
            .flatten()
            .filter_map(Value::as_str)
        {
            if entry.contains("://") || entry.starts_with("github.com/") {
                continue;
            }
            let Some(path) = join(dir, entry) else {
                continue;
            };
            match self.files(&path) {
                Some(nested) => files.extend(nested),
                None => {
                    files.insert(path);
                }
            }
        }
        self.stack.pop();
        self.done.insert(dir.to_owned(), Some(files.clone()));
        Some(files)
    }
}
