//! With `check --kustomize`: every kustomization root of the repository (one that no other
//! kustomization includes) built with `kubectl kustomize`, so that the schema, policy and rule
//! stages judge what kustomize will apply (patches merged, components, name prefixes,
//! generators) instead of the files one by one. Findings on built objects are moved back to the
//! line that produced the field: the patch that sets it, else the resource file, else the
//! generator entry; each names the root it was built from.
//!
//! The repository is untrusted input. A root is built only when every base and component it
//! reaches is a folder inside the repository (no remote URL, no absolute path, no symlink that
//! leaves it) and it inflates no Helm chart; the others are listed as "not judged" notes and
//! keep the file-by-file judgement. kubectl runs with an empty environment (no `PATH`, so no
//! git; every proxy at a closed port, so no HTTP), without plugins, exec functions or helm, with
//! kustomize's default load restrictor (files only from inside each kustomization's folder),
//! from a private temporary folder, bounded in time and output.

use homelab_diagnostics::{Diagnostic, Location, RuleDoc, Severity};
use homelab_fs::process::{self, Finished};
use homelab_manifest::engines::{file_of, normalise};
use homelab_manifest::kustomizations::{is_remote, Kustomizations, INCLUDING_FIELDS};
use homelab_manifest::{Class, Document, LoadOptions, Source};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

pub const RULE_DOC: RuleDoc = RuleDoc {
    id: "kustomize/*",
    severity: Severity::Note,
    summary: "with --kustomize: kustomization roots judged as kustomize builds them",
    doc: "# `kustomize/*`: judging what kustomize builds\n\n## What it checks\nWith `check --kustomize` (kubectl on PATH, or `--kubectl PATH`), every kustomization root (a `kustomization.yaml` no other kustomization includes; components are never roots) is built with `kubectl kustomize`, and the schema, policy and rule stages judge the built objects instead of the files they come from: patches merged, components added, `namePrefix`/`namespace`/labels applied, generated ConfigMaps and Secrets present. A finding on a built object points at the line that produces the field: the kustomize patch that sets it, else the resource file (the nearest existing parent of a missing field), else the `configMapGenerator`/`secretGenerator` entry; its message ends with `[as built by kustomize from ROOT]` (every root that reaches it). `kustomize/built` (a note) says how many objects a root built. `kustomize/not-built` (a note) names a root that was not built and why; its files keep the file-by-file judgement.\n\n## Why\nA file in a kustomize tree is not what the cluster receives: a patch may add the missing `resources`, or set `image: nginx:latest` on a base that pins a tag.\n\n## Safety\nThe repository is untrusted. A root is built only when every base, component, patch and generator file it names is inside the repository (no remote URL or git repository, no absolute path, no symlink that leaves it) and it inflates no Helm chart (`helmCharts`: the charts stage renders Helm sources). kubectl runs with an empty environment (no PATH, so no git; proxies at a closed port, so no HTTP), without plugins, exec functions or helm, with the default load restrictor, from a private temporary folder, at most 30 s and 32 MiB of output per root. Roots whose build still holds Flux `${VAR}` substitutions are judged file by file (Flux substitutes after the build). Argo CD and Flux objects are judged from their files.\n\n## Example\n```text\nnote: built with kustomize: 3 objects  (kustomize/built)\nwarning: image nginx:latest ... [as built by kustomize from overlays/prod/kustomization.yaml]   at overlays/prod/patch.yaml:9\n```\n\n## Fix\nFix the line the finding points at; `kubectl kustomize ROOT` shows the built objects. Without `--kustomize`, check emulates the parts of kustomize that matter most (patch files are partial objects; `namespace` and labels).",
};

/// Bounds of one build.
const TIMEOUT: Duration = Duration::from_secs(30);
const MAX_OUTPUT: u64 = 32 * 1024 * 1024;
/// Roots built at most (the rest keep the file-by-file judgement, with a note).
const MAX_ROOTS: usize = 400;
/// The name built documents carry: `kustomize-build:<root kustomization file>`.
const PREFIX: &str = "kustomize-build:";

/// Kinds whose files the deploy-graph rules read (Argo CD and Flux objects): judged from the
/// files, not from a build (kustomize rarely changes them, and the graph is made of files).
fn kept_from_files(doc: &Document) -> bool {
    let group = doc.group();
    group == "argoproj.io" || group.ends_with(".toolkit.fluxcd.io")
}

/// (file, document, item): one document of the repository.
type DocKey = (String, usize, Option<usize>);

fn key(doc: &Document) -> DocKey {
    (doc.source.name.clone(), doc.doc_index, doc.item_index)
}

/// Where one built object came from.
#[derive(Debug, Clone)]
struct Origin {
    /// The root kustomization file, as the user's paths name it.
    root: String,
    /// The repository document it was built from.
    source: Option<usize>,
    /// The generator entry that made it (ConfigMap/Secret generators).
    generated_at: Option<Location>,
}

/// The result of building every root.
#[derive(Default)]
pub struct Built {
    /// The built objects (sources named `kustomize-build:<root>`).
    pub documents: Vec<Document>,
    /// Repository documents that a build judges instead (left out of the stages).
    pub replaced: HashSet<DocKey>,
    /// Notes: roots built, roots not judged and why.
    pub diagnostics: Vec<Diagnostic>,
    origins: HashMap<String, Vec<(Location, Origin)>>,
}

/// Every path-like string a kustomization names, with the field it is in. Inline patches
/// (YAML text) are not paths.
fn path_entries(k: &Value) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|s| !s.contains('\n'))
            .map(str::to_string)
            .collect()
    };
    for field in INCLUDING_FIELDS.into_iter().chain([
        "crds",
        "configurations",
        "generators",
        "transformers",
        "validators",
        "patchesStrategicMerge",
    ]) {
        for s in strings(k.get(field)) {
            out.push((field, s));
        }
    }
    for field in ["patches", "patchesJson6902", "replacements"] {
        for entry in k.get(field).and_then(Value::as_array).into_iter().flatten() {
            if let Some(p) = entry.get("path").and_then(Value::as_str) {
                out.push((field, p.to_string()));
            }
        }
    }
    if let Some(p) = k.pointer("/openapi/path").and_then(Value::as_str) {
        out.push(("openapi", p.to_string()));
    }
    for field in ["configMapGenerator", "secretGenerator"] {
        for entry in k.get(field).and_then(Value::as_array).into_iter().flatten() {
            for s in strings(entry.get("files")) {
                // `key=path` or `path`.
                let path = s.split_once('=').map_or(s.as_str(), |(_, p)| p);
                out.push((field, path.to_string()));
            }
            for s in strings(entry.get("envs")) {
                out.push((field, s));
            }
            if let Some(s) = entry.get("env").and_then(Value::as_str) {
                out.push((field, s.to_string()));
            }
        }
    }
    out
}

/// The repository's kustomizations, with their documents.
struct Tree<'a> {
    documents: &'a [Document],
    kustomizations: Kustomizations,
}

impl<'a> Tree<'a> {
    fn of(documents: &'a [Document]) -> Tree<'a> {
        Tree {
            documents,
            kustomizations: Kustomizations::of(documents),
        }
    }

    fn roots(&self) -> Vec<PathBuf> {
        self.kustomizations.roots(self.documents)
    }

    /// Why a root cannot be built safely, or `None`: everything it reaches stays inside
    /// `repo` (canonical), nothing is remote, no Helm chart is inflated.
    fn refusal(&self, root: &Path, repo: &Path) -> Option<String> {
        // The kustomizations it includes are visited depth first in the order kustomize
        // builds them: of two refusals, the one named is in what kustomize reaches first.
        let mut seen = BTreeSet::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            if !seen.insert(dir.clone()) {
                continue;
            }
            if seen.len() > 512 {
                return Some("it includes more than 512 kustomizations".into());
            }
            let Some(k) = self.kustomizations.get(&dir) else {
                continue;
            };
            let value = &self.documents[k].value;
            let file = file_of(&self.documents[k]);
            for field in ["helmCharts", "helmChartInflationGenerator", "helmGlobals"] {
                if value.get(field).is_some() {
                    return Some(format!(
                        "{} inflates Helm charts (`{field}`): the charts stage renders Helm sources",
                        file.display()
                    ));
                }
            }
            for (field, entry) in path_entries(value) {
                if is_remote(&entry) {
                    return Some(format!(
                        "{} includes the remote `{entry}` (`{field}`): check never fetches",
                        file.display()
                    ));
                }
                let local = Path::new(&entry);
                let escapes = local.is_absolute()
                    || match normalise(&dir.join(local)) {
                        None => true,
                        Some(p) => p
                            .canonicalize()
                            .ok()
                            .is_some_and(|real| !real.starts_with(repo)),
                    };
                if escapes {
                    return Some(format!(
                        "{} names `{entry}` (`{field}`), which is outside the repository",
                        file.display()
                    ));
                }
            }
            if dir
                .canonicalize()
                .ok()
                .is_some_and(|real| !real.starts_with(repo))
            {
                return Some(format!("{} is outside the repository", dir.display()));
            }
            stack.extend(
                self.kustomizations
                    .children(self.documents, &dir)
                    .into_iter()
                    .rev(),
            );
        }
        None
    }
}

/// Why a build failed.
enum RunError {
    Spawn(String),
    Timeout,
    TooLarge,
    Failed(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Spawn(e) => write!(f, "kubectl could not start: {e}"),
            RunError::Timeout => write!(f, "the build ran longer than {}s", TIMEOUT.as_secs()),
            RunError::TooLarge => write!(f, "the build printed more than {MAX_OUTPUT} bytes"),
            RunError::Failed(e) => write!(f, "{e}"),
        }
    }
}

/// `kubectl kustomize` of a wrapper kustomization that includes `root` and asks for origin
/// annotations, in a private folder with an empty environment.
fn build_root(kubectl: &Path, root_abs: &Path) -> Result<(String, PathBuf), RunError> {
    let work = tempfile::tempdir().map_err(|e| RunError::Spawn(e.to_string()))?;
    let wrapper = work
        .path()
        .canonicalize()
        .map_err(|e| RunError::Spawn(e.to_string()))?
        .join("build");
    std::fs::create_dir_all(&wrapper).map_err(|e| RunError::Spawn(e.to_string()))?;
    // kustomize takes no absolute folder as a resource: climb from the wrapper to `/`.
    let up = wrapper.components().count().saturating_sub(1);
    let relative: PathBuf = std::iter::repeat_n(Component::ParentDir.as_os_str(), up)
        .map(PathBuf::from)
        .chain(
            root_abs
                .components()
                .skip(1)
                .map(|c| PathBuf::from(c.as_os_str())),
        )
        .collect();
    let text = serde_json::json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [relative.to_string_lossy()],
        "buildMetadata": ["originAnnotations"],
    });
    std::fs::write(wrapper.join("kustomization.yaml"), text.to_string())
        .map_err(|e| RunError::Spawn(e.to_string()))?;
    let mut command = Command::new(kubectl);
    command
        .arg("kustomize")
        .arg(&wrapper)
        .arg("--load-restrictor=LoadRestrictionsRootOnly")
        .current_dir(work.path())
        .env_clear()
        .env("HOME", work.path())
        .env("KUBECONFIG", work.path().join("kubeconfig"))
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ALLOW_PROTOCOL", "none");
    process::offline(&mut command);
    let limits = process::Limits {
        timeout: TIMEOUT,
        max_output: MAX_OUTPUT,
        max_errors: 64 * 1024,
    };
    let Finished {
        status,
        stdout,
        stderr,
    } = process::run_bounded(&mut command, limits).map_err(|e| match e {
        process::RunError::Spawn(e) => RunError::Spawn(e),
        process::RunError::Timeout => RunError::Timeout,
        process::RunError::OutputTooLarge => RunError::TooLarge,
    })?;
    if !status.success() {
        let text = String::from_utf8_lossy(&stderr);
        let first = text
            .lines()
            .map(|l| {
                l.trim()
                    .trim_start_matches("error: ")
                    .trim_start_matches("Error: ")
            })
            .find(|l| !l.is_empty())
            .unwrap_or("kubectl kustomize failed");
        // kustomize nests its errors (`accumulating resources from 'X': ...`): the last link
        // of the chain says what failed.
        let innermost = first
            .rsplit("': ")
            .find(|p| !p.trim().is_empty())
            .unwrap_or(first);
        let innermost: String = innermost.chars().take(300).collect();
        return Err(RunError::Failed(innermost));
    }
    let text = String::from_utf8(stdout)
        .map_err(|_| RunError::Failed("the build printed text that is not UTF-8".into()))?;
    Ok((text, wrapper))
}

/// The origin kustomize recorded (`config.kubernetes.io/origin`): a resource file (`path:`)
/// or the kustomization whose generator made the object (`configuredIn:`).
fn origin_annotation(value: &Value) -> (Option<String>, Option<String>) {
    let Some(text) = value
        .pointer("/metadata/annotations/config.kubernetes.io~1origin")
        .and_then(Value::as_str)
    else {
        return (None, None);
    };
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().trim_matches('"').trim_matches('\'').to_string())
    };
    (field("path:"), field("configuredIn:"))
}

fn strip_build_annotations(value: &mut Value) {
    let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let empty = match metadata
        .get_mut("annotations")
        .and_then(Value::as_object_mut)
    {
        Some(a) => {
            a.shift_remove("config.kubernetes.io/origin");
            a.shift_remove("alpha.config.kubernetes.io/transformations");
            a.is_empty()
        }
        None => false,
    };
    if empty {
        metadata.shift_remove("annotations");
    }
}

fn has_variable(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains("${"),
        Value::Array(a) => a.iter().any(has_variable),
        Value::Object(m) => m.values().any(has_variable),
        _ => false,
    }
}

/// Builds every root of the loaded repository with `kubectl`.
pub fn build(documents: &[Document], root: &Path, kubectl: &Path) -> Built {
    let mut built = Built::default();
    let Ok(repo) = root.canonicalize() else {
        return built;
    };
    let tree = Tree::of(documents);
    let mut roots = tree.roots();
    if roots.len() > MAX_ROOTS {
        built.diagnostics.push(
            Diagnostic::note(
                "kustomize/not-built",
                format!(
                    "{} kustomization roots: only the first {MAX_ROOTS} are built; the rest are judged file by file",
                    roots.len()
                ),
            )
            .at(Location::file_only(root.to_string_lossy())),
        );
        roots.truncate(MAX_ROOTS);
    }
    // Where each repository file's documents are, and the kustomize patches by target.
    let mut by_file: HashMap<PathBuf, Vec<usize>> = HashMap::new();
    for (i, doc) in documents.iter().enumerate() {
        by_file.entry(file_of(doc)).or_default().push(i);
    }
    type Job = (PathBuf, usize, Result<PathBuf, String>);
    type Done = (PathBuf, usize, Result<(String, PathBuf), String>);
    let jobs: Vec<Job> = roots
        .into_iter()
        .filter_map(|dir| {
            let k = tree.kustomizations.get(&dir)?;
            let ok = match tree.refusal(&dir, &repo) {
                Some(why) => Err(why),
                None => Ok(dir.clone()),
            };
            Some((dir, k, ok))
        })
        .collect();
    use rayon::prelude::*;
    let results: Vec<Done> = jobs
        .into_par_iter()
        .map(|(dir, k, ok)| {
            let result = ok.and_then(|dir| {
                let abs = dir
                    .canonicalize()
                    .map_err(|e| format!("{}: {e}", dir.display()))?;
                build_root(kubectl, &abs).map_err(|e| e.to_string())
            });
            (dir, k, result)
        })
        .collect();
    for (dir, k, result) in results {
        let kustomization = &documents[k];
        let root_name = kustomization.source.name.clone();
        let (text, wrapper) = match result {
            Ok(r) => r,
            Err(why) => {
                // Paths as the user gave them, not as they resolve on this machine.
                let why = why.replace(&*repo.to_string_lossy(), &root.to_string_lossy());
                built.diagnostics.push(
                    Diagnostic::note(
                        "kustomize/not-built",
                        format!("not built with kustomize: {why}; its files are judged one by one"),
                    )
                    .at(kustomization.start())
                    .with_help("`kubectl kustomize` of this folder shows what fails"),
                );
                continue;
            }
        };
        let name = format!("{PREFIX}{root_name}");
        let (docs, _) = homelab_manifest::parse_str(&name, &text);
        let mut objects = Vec::new();
        let mut variable = false;
        for doc in docs.into_iter().filter(|d| d.class == Class::Object) {
            if kept_from_files(&doc) {
                continue;
            }
            variable |= has_variable(&doc.value);
            let (path, configured_in) = origin_annotation(&doc.value);
            let mut value = doc.value;
            strip_build_annotations(&mut value);
            objects.push((value, path, configured_in));
        }
        if variable {
            built.diagnostics.push(
                Diagnostic::note(
                    "kustomize/not-built",
                    "not judged from the kustomize build: what it builds holds `${VAR}` substitutions (Flux fills them in after the build); its files are judged one by one",
                )
                .at(kustomization.start()),
            );
            continue;
        }
        // The built objects as one JSON document each (one field per line, so that findings on
        // different fields keep different positions).
        let text = objects
            .iter()
            .map(|(v, _, _)| serde_json::to_string_pretty(v).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n---\n");
        let source = Arc::new(Source {
            name: name.clone(),
            path: None,
            text,
        });
        let (docs, _) = homelab_manifest::parse_source(source, &LoadOptions::default());
        let docs: Vec<Document> = docs
            .into_iter()
            .filter(|d| d.class == Class::Object)
            .collect();
        let resolve = |p: &str| -> Option<PathBuf> {
            let abs = normalise(&wrapper.join(p))?;
            let rel = abs.strip_prefix(&repo).ok()?;
            normalise(&root.join(rel))
        };
        let mut origins = Vec::new();
        for (doc, (_, path, configured_in)) in docs.iter().zip(&objects) {
            let source = path
                .as_deref()
                .and_then(resolve)
                .and_then(|file| by_file.get(&file))
                .and_then(|candidates| source_document(documents, candidates, doc));
            let generated_at = configured_in
                .as_deref()
                .and_then(resolve)
                .and_then(|file| by_file.get(&file))
                .and_then(|c| c.first())
                .map(|&g| generator_location(&documents[g], doc));
            if let Some(s) = source {
                built.replaced.insert(key(&documents[s]));
            }
            origins.push((
                doc.start(),
                Origin {
                    root: root_name.clone(),
                    source,
                    generated_at,
                },
            ));
        }
        built.diagnostics.push(
            Diagnostic::note(
                "kustomize/built",
                format!(
                    "built with kustomize: {} objects; judged as built, findings point at the lines that produce them",
                    docs.len()
                ),
            )
            .at(kustomization.start()),
        );
        let _ = dir;
        built.origins.insert(name, origins);
        built.documents.extend(docs);
    }
    built
}

/// The repository document a built object was made from: in its origin file, the object of
/// the same kind whose name the built name contains (kustomize adds prefixes and suffixes).
fn source_document(
    documents: &[Document],
    candidates: &[usize],
    built: &Document,
) -> Option<usize> {
    let kind = built.kind()?;
    let name = built.name().unwrap_or("");
    let same_kind: Vec<usize> = candidates
        .iter()
        .copied()
        .filter(|&i| documents[i].class == Class::Object && documents[i].kind() == Some(kind))
        .collect();
    if same_kind.len() == 1 {
        return same_kind.first().copied();
    }
    same_kind
        .iter()
        .copied()
        .filter(|&i| {
            documents[i]
                .name()
                .is_some_and(|n| !n.is_empty() && name.contains(n))
        })
        .max_by_key(|&i| documents[i].name().map_or(0, str::len))
}

/// The `configMapGenerator`/`secretGenerator` entry that made a built object.
fn generator_location(kustomization: &Document, built: &Document) -> Location {
    let name = built.name().unwrap_or("");
    for field in ["configMapGenerator", "secretGenerator"] {
        let entries = kustomization
            .value
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        for (i, entry) in entries.enumerate() {
            if entry
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty() && name.contains(n))
            {
                return kustomization.location(&format!("/{field}/{i}"));
            }
        }
    }
    kustomization.start()
}

/// A kustomize patch of the repository that targets `source` and sets `pointer`.
fn patch_setting<'d>(
    documents: &'d [Document],
    source: &Document,
    pointer: &str,
) -> Option<&'d Document> {
    let kind = source.kind()?;
    let name = source.name()?;
    documents.iter().find(|d| {
        matches!(&d.class, Class::NotKubernetes { reason } if reason.starts_with("a kustomize patch"))
            && d.kind() == Some(kind)
            && d.name() == Some(name)
            && d.value.pointer(pointer).is_some()
    })
}

impl Built {
    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }

    /// Findings on built objects moved to the repository lines that produced them; the same
    /// finding reached through several roots is said once, naming them all.
    pub fn attribute(
        &self,
        diagnostics: Vec<Diagnostic>,
        documents: &[Document],
    ) -> Vec<Diagnostic> {
        if self.origins.is_empty() {
            return diagnostics;
        }
        let mut out: Vec<Diagnostic> = Vec::new();
        let mut seen: HashMap<(String, String, u32, u32, String), usize> = HashMap::new();
        for mut d in diagnostics {
            let Some(at) = d.location.clone() else {
                out.push(d);
                continue;
            };
            let Some(origins) = self.origins.get(&at.file) else {
                out.push(d);
                continue;
            };
            let position = (at.line.max(1), at.column);
            let Some((_, origin)) = origins
                .iter()
                .filter(|(start, _)| (start.line, start.column) <= position)
                .max_by_key(|(start, _)| (start.line, start.column))
            else {
                out.push(d);
                continue;
            };
            let pointer = d.path.clone().unwrap_or_default();
            let location = match origin.source.map(|s| &documents[s]) {
                Some(source) => match patch_setting(documents, source, &pointer) {
                    Some(patch) if !pointer.is_empty() => patch.location(&pointer),
                    _ => source.location(&pointer),
                },
                None => origin
                    .generated_at
                    .clone()
                    .unwrap_or_else(|| Location::file_only(origin.root.clone())),
            };
            let dedup = (
                d.rule.clone(),
                location.file.clone(),
                location.line,
                location.column,
                d.message.clone(),
            );
            if let Some(&i) = seen.get(&dedup) {
                let earlier: &mut Diagnostic = &mut out[i];
                if let Some(open) = earlier.message.rfind(" [as built by kustomize from ") {
                    let roots = &earlier.message[open..];
                    if !roots.contains(&origin.root) {
                        let mut message = earlier.message.trim_end_matches(']').to_string();
                        message.push_str(&format!(", {}]", origin.root));
                        earlier.message = message;
                    }
                }
                continue;
            }
            d.message = format!("{} [as built by kustomize from {}]", d.message, origin.root);
            d.location = Some(location);
            seen.insert(dedup, out.len());
            out.push(d);
        }
        out
    }
}

/// Documents of the repository that are judged as built instead.
pub fn without_replaced(documents: Vec<Document>, built: &Built) -> Vec<Document> {
    if built.replaced.is_empty() {
        return documents;
    }
    documents
        .into_iter()
        .filter(|d| !built.replaced.contains(&key(d)))
        .collect()
}

/// The kubectl to build with: the one given, else `kubectl` on PATH.
pub fn locate(given: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(path) = given {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(format!("--kubectl {}: no such file", path.display()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("kubectl"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| "`kubectl` is not on PATH: install it or pass --kubectl PATH".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(files: &[(&str, &str)]) -> Vec<Document> {
        files
            .iter()
            .flat_map(|(name, text)| homelab_manifest::parse_str(name, text).0)
            .collect()
    }

    #[test]
    fn the_refusal_named_is_the_one_kustomize_meets_first() {
        // kustomize reads `resources`, then `bases`, then `components`: of three included
        // kustomizations that each name a remote file, the resource's is the one reported.
        let docs = load(&[
            (
                "overlay/kustomization.yaml",
                "components: [../component]\nbases: [../old-base]\nresources: [../base]\n",
            ),
            (
                "base/kustomization.yaml",
                "resources: [https://example.com/base.yaml]\n",
            ),
            (
                "old-base/kustomization.yaml",
                "resources: [https://example.com/old-base.yaml]\n",
            ),
            (
                "component/kustomization.yaml",
                "kind: Component\nresources: [https://example.com/component.yaml]\n",
            ),
        ]);
        let tree = Tree::of(&docs);
        assert_eq!(tree.roots(), [PathBuf::from("overlay")]);
        let why = tree
            .refusal(Path::new("overlay"), Path::new("/nonexistent-repo"))
            .expect("a remote base is refused");
        assert!(why.contains("https://example.com/base.yaml"), "{why}");
        // In one kustomization, too: its remote base before its remote component.
        let docs = load(&[(
            "app/kustomization.yaml",
            "components: [https://example.com/c]\nbases: [https://example.com/b]\n",
        )]);
        let why = Tree::of(&docs)
            .refusal(Path::new("app"), Path::new("/nonexistent-repo"))
            .expect("remote entries are refused");
        assert!(why.contains("https://example.com/b`"), "{why}");
    }
}
