//! ArgoCD Application reading shared by the `argocd/*` rules: sources, waves, the paths an
//! Application deploys from this repository, and where each file lives relative to the root.

use crate::repo::{join, repository_address};
use crate::workload::sync_wave;
use crate::Repo;
use homelab_manifest::{Document, ResourceExt};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

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

/// Whether an Application source fetches another repository than the one checked, so that
/// its `path` (and its `$ref` value files) name files there, not here. This repository is
/// the one that the Applications' sources name with the most distinct paths that exist here
/// (other than the root, which exists everywhere), with its mirrors (the same owner and
/// name on another host). Unknown (no source names an existing folder): no source is
/// foreign. A templated address (`{{.repo}}`, `${REPO}`, `<GITOPS_REPO_URL>`) is never foreign.
pub fn is_foreign(repo: &Repo, source: &AppSource) -> bool {
    let Some(url) = source.str("repoURL").filter(|u| !templated(u)) else {
        return false;
    };
    if url.starts_with(LOCAL_PACKAGE) {
        return false;
    }
    let own = repo.argo_own.get_or_init(|| own_repositories(repo));
    !own.is_empty() && !own.contains(owner_and_name(&repository_address(url)))
}

/// idpbuilder's address of a folder of this repository: `cnoe://REL` is the folder `REL`
/// relative to the Application's file, pushed to idpbuilder's own git server as a
/// repository of its own.
const LOCAL_PACKAGE: &str = "cnoe://";

/// The folder of this repository (relative to the root, normalised) that an Application
/// source's `path` names: from the root, or, for an idpbuilder `cnoe://REL` source, from the
/// folder `REL` next to the Application's file. `None` without a path, or when it leaves the
/// repository.
pub fn source_dir(repo: &Repo, app: &Document, source: &AppSource) -> Option<String> {
    let path = source.str("path")?;
    match source
        .str("repoURL")
        .and_then(|u| u.strip_prefix(LOCAL_PACKAGE))
    {
        Some(local) => {
            let file = repo.relative_path(app);
            let base = join(crate::repo::parent(&file), local)?;
            join(&base, path)
        }
        None => Some(normalise_dir(path)),
    }
}

fn templated(url: &str) -> bool {
    url.contains("{{") || url.contains('$') || url.contains('<')
}

/// The last two parts of an address (`owner/name` of `github.com/owner/name`).
fn owner_and_name(address: &str) -> &str {
    match address.rmatch_indices('/').nth(1) {
        Some((i, _)) => &address[i + 1..],
        None => address,
    }
}

/// This repository's `owner/name` as the Applications name it (see [`is_foreign`]).
fn own_repositories(repo: &Repo) -> BTreeSet<String> {
    let mut votes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for app in applications(repo) {
        for source in sources(app).iter().filter(|s| s.str("chart").is_none()) {
            let (Some(url), Some(path)) = (source.str("repoURL"), source.str("path")) else {
                continue;
            };
            if url.starts_with(LOCAL_PACKAGE) {
                continue;
            }
            let dir = normalise_dir(path);
            if templated(url) || dir.is_empty() || !repo.folders().contains(&dir) {
                continue;
            }
            votes
                .entry(owner_and_name(&repository_address(url)).to_string())
                .or_default()
                .insert(dir);
        }
    }
    let most = votes.values().map(BTreeSet::len).max().unwrap_or(0);
    votes
        .into_iter()
        .filter(|(_, dirs)| most > 0 && dirs.len() == most)
        .map(|(name, _)| name)
        .collect()
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
    repo.relative_path(doc)
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
    /// The folder (for a glob, the part before the first wildcard).
    pub dir: String,
    recurse: bool,
    files: Option<BTreeSet<String>>,
    /// An ApplicationSet's directory glob (`apps/*/*`): every folder it matches, with all
    /// that is under it.
    glob: Option<String>,
}

impl Deployment {
    /// Whether the repository file `file` (relative to the root) is deployed.
    pub fn contains(&self, file: &str) -> bool {
        if let Some(glob) = &self.glob {
            let mut dir = crate::repo::parent(file);
            loop {
                if glob_match(glob, dir) {
                    return true;
                }
                if dir.is_empty() {
                    return false;
                }
                dir = crate::repo::parent(dir);
            }
        }
        match &self.files {
            Some(files) => files.contains(file),
            None => in_dir(file, &self.dir, self.recurse),
        }
    }

    /// The entries of `by_path` (nodes by repository path) whose file this deploys, in
    /// ascending order.
    fn reached(&self, by_path: &BTreeMap<&str, Vec<usize>>) -> Vec<usize> {
        let mut out: Vec<usize> = match (&self.glob, &self.files) {
            (Some(_), _) => by_path
                .iter()
                .filter(|(path, _)| self.contains(path))
                .flat_map(|(_, nodes)| nodes.iter().copied())
                .collect(),
            (None, Some(files)) => files
                .iter()
                .filter_map(|file| by_path.get(file.as_str()))
                .flatten()
                .copied()
                .collect(),
            (None, None) => {
                let prefix = if self.dir.is_empty() {
                    String::new()
                } else {
                    format!("{}/", self.dir)
                };
                by_path
                    .range::<str, _>((
                        std::ops::Bound::Included(prefix.as_str()),
                        std::ops::Bound::Unbounded,
                    ))
                    .take_while(|(path, _)| path.starts_with(&prefix))
                    .filter(|(path, _)| in_dir(path, &self.dir, self.recurse))
                    .flat_map(|(_, nodes)| nodes.iter().copied())
                    .collect()
            }
        };
        out.sort_unstable();
        out.dedup();
        out
    }

    fn folder(repo: &Repo, path: &str, recurse: bool) -> Deployment {
        let dir = normalise_dir(path);
        let files = kustomize_files(repo, &dir);
        Deployment {
            dir,
            recurse,
            files,
            glob: None,
        }
    }

    fn glob(pattern: &str) -> Deployment {
        let pattern = normalise_dir(pattern);
        let dir = pattern
            .split('/')
            .take_while(|p| !p.contains(['*', '?', '[', '{']))
            .collect::<Vec<_>>()
            .join("/");
        Deployment {
            dir,
            recurse: true,
            files: None,
            glob: Some(pattern),
        }
    }
}

/// A path glob as Argo CD's git generators read it: `*` and `?` within one folder name,
/// `**` across folders.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    fn segments(p: &[&str], s: &[&str]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(&"**"), _) => segments(&p[1..], s) || (!s.is_empty() && segments(p, &s[1..])),
            (Some(pat), Some(seg)) => {
                name_match(pat.as_bytes(), seg.as_bytes()) && segments(&p[1..], &s[1..])
            }
            _ => false,
        }
    }
    fn name_match(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => name_match(&p[1..], s) || (!s.is_empty() && name_match(p, &s[1..])),
            (Some(b'?'), Some(_)) => name_match(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => name_match(&p[1..], &s[1..]),
            _ => false,
        }
    }
    let p: Vec<&str> = pattern.split('/').filter(|x| !x.is_empty()).collect();
    let s: Vec<&str> = path.split('/').filter(|x| !x.is_empty()).collect();
    // Bounded: folder names and depths of a repository are short.
    p.len() <= 64 && s.len() <= 64 && segments(&p, &s)
}

/// What an Application deploys from this repository (sources with a `path`, except those
/// of another repository, see [`is_foreign`]).
pub fn deployments(repo: &Repo, doc: &Document) -> Vec<Deployment> {
    if doc.kind() == Some("ApplicationSet") {
        return appset_deployments(repo, doc);
    }
    if doc.is("kustomize.toolkit.fluxcd.io", "Kustomization") {
        // Flux builds the folder with kustomize, or applies every manifest under it.
        return doc
            .value
            .pointer("/spec/path")
            .and_then(Value::as_str)
            .map(|p| vec![Deployment::folder(repo, p, true)])
            .unwrap_or_default();
    }
    sources(doc)
        .iter()
        .filter(|s| s.str("chart").is_none() && !is_foreign(repo, s))
        .filter_map(|s| {
            let recurse = s
                .value
                .pointer("/directory/recurse")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            Some(Deployment::folder(
                repo,
                &source_dir(repo, doc, s)?,
                recurse,
            ))
        })
        .collect()
}

/// What an ApplicationSet's Applications deploy: the folders its git generators match
/// (directories, or those holding the matched files), and its template's literal path;
/// generators and template sources of another repository deploy nothing from here.
/// Templated paths are taken to reach everything under their literal prefix.
fn appset_deployments(repo: &Repo, doc: &Document) -> Vec<Deployment> {
    fn generators<'v>(v: &'v Value, out: &mut Vec<&'v Value>) {
        for g in v
            .get("generators")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.push(g);
            for nested in ["matrix", "merge"] {
                if let Some(inner) = g.get(nested) {
                    generators(inner, out);
                }
            }
        }
    }
    let mut found = Vec::new();
    if let Some(spec) = doc.value.get("spec") {
        generators(spec, &mut found);
    }
    let mut out = Vec::new();
    let has_git_generator = found.iter().any(|g| g.get("git").is_some());
    // A generator or template source of another repository names folders there, not here
    // (see [`is_foreign`]).
    let foreign = |value: &Value| {
        is_foreign(
            repo,
            &AppSource {
                value,
                pointer: String::new(),
            },
        )
    };
    for g in &found {
        let Some(git) = g.get("git").filter(|git| !foreign(git)) else {
            continue;
        };
        // Each folder a directory generator matches becomes one Application's source path,
        // built like any other (its kustomization, or the files in it).
        let recurse = doc
            .value
            .pointer("/spec/template/spec/source/directory/recurse")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let patterns: Vec<(String, bool)> = git
            .get("directories")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|d| {
                let path = d.get("path").and_then(Value::as_str)?;
                let exclude = d.get("exclude").and_then(Value::as_bool) == Some(true);
                Some((normalise_dir(path), exclude))
            })
            .collect();
        for dir in repo.folders() {
            let included = patterns.iter().any(|(p, ex)| !ex && glob_match(p, dir));
            let excluded = patterns.iter().any(|(p, ex)| *ex && glob_match(p, dir));
            if included && !excluded {
                out.push(Deployment::folder(repo, dir, recurse));
            }
        }
        for f in git
            .get("files")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            // Argo CD makes one Application per file the glob matches: none when no file
            // of the repository matches (a placeholder a kustomize patch replaces).
            if let Some(path) = f.get("path").and_then(Value::as_str) {
                let pattern = normalise_dir(path);
                if repo.files().any(|file| glob_match(&pattern, file)) {
                    out.push(Deployment::glob(crate::repo::parent(path)));
                }
            }
        }
    }
    for source in doc
        .value
        .pointer("/spec/template/spec/source")
        .into_iter()
        .chain(
            doc.value
                .pointer("/spec/template/spec/sources")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
    {
        if source.get("chart").is_some() || foreign(source) {
            continue;
        }
        let Some(path) = source.get("path").and_then(Value::as_str) else {
            continue;
        };
        match path.find("{{") {
            None => out.push(Deployment::folder(repo, path, false)),
            // A path from a git generator's parameters: the generator said where.
            Some(_) if has_git_generator => {}
            Some(i) => match list_paths(&found, path) {
                // Every list element names its folder: one Application per element.
                Some(paths) => out.extend(paths.iter().map(|p| Deployment::folder(repo, p, false))),
                None => out.push(Deployment::glob(&format!("{}**", &path[..i]))),
            },
        }
    }
    out
}

/// The paths a template `path` takes with the parameters of the list generators' elements,
/// when the generators are all lists and every element fills every parameter of the path
/// (`{{path}}`, `{{ .path }}`, `{{values.dir}}`). `None` when anything stays unknown.
fn list_paths(generators: &[&Value], template: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for g in generators {
        // A matrix or merge holds its own generators, which are in the list too.
        if g.get("matrix").is_some() || g.get("merge").is_some() {
            continue;
        }
        let elements = g.pointer("/list/elements").and_then(Value::as_array)?;
        for element in elements {
            let mut path = String::new();
            let mut rest = template;
            while let Some(start) = rest.find("{{") {
                path.push_str(&rest[..start]);
                let after = &rest[start + 2..];
                let end = after.find("}}")?;
                let key = after[..end].trim().trim_start_matches('.');
                let value = key
                    .split('.')
                    .try_fold(element, |v, part| v.get(part))?
                    .as_str()?;
                path.push_str(value);
                rest = &after[end + 2..];
            }
            path.push_str(rest);
            out.push(path);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The Argo CD Applications and ApplicationSets, and the Flux Kustomizations, of a
/// repository, with which deploys which.
pub struct AppGraph<'a> {
    pub nodes: Vec<&'a Document>,
    pub paths: Vec<String>,
    pub parents: Vec<Vec<usize>>,
    pub children: Vec<Vec<usize>>,
}

impl<'a> AppGraph<'a> {
    pub fn of(repo: &Repo<'a>) -> AppGraph<'a> {
        let nodes: Vec<&Document> = repo
            .objects()
            .filter(|d| {
                is_application(d)
                    || d.is("argoproj.io", "ApplicationSet")
                    || d.is("kustomize.toolkit.fluxcd.io", "Kustomization")
            })
            .collect();
        let paths: Vec<String> = nodes.iter().map(|d| repo.relative_path(d)).collect();
        // The nodes of each file, by path: a deployment looks up the files it reaches
        // instead of testing every node (nodes x nodes on a repository of many Kustomizations).
        let mut by_path: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (j, path) in paths.iter().enumerate() {
            by_path.entry(path.as_str()).or_default().push(j);
        }
        let mut parents = vec![Vec::new(); nodes.len()];
        let mut children = vec![Vec::new(); nodes.len()];
        for (i, node) in nodes.iter().enumerate() {
            for deployment in deployments(repo, node) {
                for j in deployment.reached(&by_path) {
                    if i != j && !children[i].contains(&j) {
                        children[i].push(j);
                        parents[j].push(i);
                    }
                }
            }
        }
        AppGraph {
            nodes,
            paths,
            parents,
            children,
        }
    }

    /// Roots: what nothing in the repository deploys and that deploys something (the
    /// app-of-apps applied by hand), with what sits in the same folder as one of them
    /// (applied with it).
    pub fn roots(&self) -> Vec<usize> {
        let tops: Vec<usize> = (0..self.nodes.len())
            .filter(|i| self.parents[*i].is_empty() && !self.children[*i].is_empty())
            .collect();
        let folders: BTreeSet<&str> = tops
            .iter()
            .map(|i| crate::repo::parent(&self.paths[*i]))
            .collect();
        (0..self.nodes.len())
            .filter(|i| {
                self.parents[*i].is_empty()
                    && (tops.contains(i) || folders.contains(crate::repo::parent(&self.paths[*i])))
            })
            .collect()
    }
}

/// The files a kustomization in `dir` deploys, following `resources` into other
/// kustomizations (as ArgoCD does: a path with a kustomization.yaml is built with kustomize).
///
/// The kustomizations are the repository's (untrusted): each folder is expanded once (a
/// kustomization that lists itself, or a diamond of kustomizations listing each other many
/// times, costs one visit per folder, not one per path through them), and a cycle adds nothing.
fn kustomize_files(repo: &Repo, dir: &str) -> Option<BTreeSet<String>> {
    let mut walk = KustomizeWalk {
        repo,
        stack: Vec::new(),
        done: HashMap::new(),
    };
    walk.files(&join("", dir)?)
}

struct KustomizeWalk<'r, 'a> {
    /// Knows the kustomization document of each folder that has one.
    repo: &'r Repo<'a>,
    /// The folders being expanded (to cut cycles).
    stack: Vec<String>,
    /// Folders already expanded.
    done: HashMap<String, Option<BTreeSet<String>>>,
}

impl KustomizeWalk<'_, '_> {
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
        let kustomization = self.repo.kustomization(dir)?;
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
