//! ArgoCD Application reading shared by the `argocd/*` rules: sources, waves, the paths an
//! Application deploys from this repository, and where each file lives relative to the root.

use crate::workload::sync_wave;
use crate::Repo;
use homelab_manifest::Document;
use serde_json::Value;
use std::collections::BTreeSet;

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
            let files = kustomize_files(repo, &dir, 0);
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
fn kustomize_files(repo: &Repo, dir: &str, depth: usize) -> Option<BTreeSet<String>> {
    if depth > 16 {
        return None;
    }
    let kustomization = repo.documents.iter().find(|d| {
        let path = relative_path(repo, d);
        ["kustomization.yaml", "kustomization.yml", "Kustomization"]
            .iter()
            .any(|name| path == join(dir, name).unwrap_or_default())
    })?;
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
        match kustomize_files(repo, &path, depth + 1) {
            Some(nested) => files.extend(nested),
            None => {
                files.insert(path);
            }
        }
    }
    Some(files)
}
