//! What kustomize makes of the objects it builds, for `homelab simulate`: strategic-merge and
//! JSON 6902 patches, `namePrefix`/`nameSuffix` (with the references to renamed objects
//! that kustomize rewrites in the same build), `commonAnnotations`, `replicas` and `images`.
//! `namespace:` and the label transformers are applied before, by
//! [`homelab_manifest::engines::apply`] (shared with `check`).
//!
//! Modelled in process rather than by running `kubectl kustomize` (which `check --kustomize`
//! does): a simulation must give the same answer on every machine, whether kubectl is
//! installed or not; one process per kustomization root would cost more than the whole
//! simulation's time budget; and nothing here runs a tool on the repository, reads a file or
//! follows a path: only the documents already loaded from inside the repository are used, so
//! a remote base or a path out of the repository cannot be fetched or read, it is listed as
//! an assumption. What is not modelled (generators, replacements, components' openapi, Helm
//! inflation) is listed as an assumption too, never silently taken as applied.
//!
//! Transformers run in kustomize's order, innermost kustomization first: patches
//! (`patchesStrategicMerge`, `patches`), then name prefix and suffix, annotations, JSON 6902
//! patches of `patchesJson6902`, replicas, images.

use homelab_diagnostics::Location;
use homelab_k8s::merge_keys::merge_key;
use homelab_manifest::engines::{file_of, map_at, normalise};
use homelab_manifest::kustomizations::{included, is_remote, set_image, Kustomizations};
use homelab_manifest::{Class, Document};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Nested kustomizations followed at most (deeper ones are an assumption).
const MAX_DEPTH: usize = 64;
/// Nesting of a patch merged at most (deeper parts replace rather than merge).
const MAX_MERGE_DEPTH: usize = 128;
/// Compiled size of a target's name or kind pattern at most.
const MAX_PATTERN_BYTES: usize = 1 << 16;

/// Kinds that `namePrefix`/`nameSuffix` leave alone.
const NOT_RENAMED: [&str; 3] = ["CustomResourceDefinition", "APIService", "Namespace"];

/// A patch merged into a document, kept so that findings on the fields it sets point at it.
#[derive(Debug, Clone)]
pub struct Patch {
    pub doc: Document,
    /// JSON 6902 operations (`[{op, path, value}]`); else a strategic-merge patch.
    pub operations: bool,
    /// Where an inline patch is written in its kustomization (its own lines count from the
    /// start of the inline text, so they are not the file's).
    pub inline_at: Option<Location>,
}

/// (file, document, item): one document of the repository.
pub type DocKey = (String, usize, Option<usize>);

pub fn key(doc: &Document) -> DocKey {
    (doc.source.name.clone(), doc.doc_index, doc.item_index)
}

/// What was applied.
#[derive(Debug, Default)]
pub struct Kustomized {
    pub patches: Vec<Patch>,
    /// The patches merged into each document, in the order they were applied.
    pub patched: HashMap<DocKey, Vec<usize>>,
    pub assumptions: BTreeSet<String>,
}

struct Builder<'d> {
    documents: &'d mut [Document],
    kustomizations: Kustomizations,
    /// Documents by file.
    files: HashMap<PathBuf, Vec<usize>>,
    /// The root whose build each file entered first.
    built_by: HashMap<PathBuf, PathBuf>,
    /// Every name each document had before its current one (patches match those too).
    former_names: HashMap<usize, Vec<String>>,
    out: Kustomized,
}

/// Applies the transformers of every kustomization to the documents it builds.
pub fn apply(documents: &mut [Document]) -> Kustomized {
    let mut files: HashMap<PathBuf, Vec<usize>> = HashMap::new();
    for (i, doc) in documents.iter().enumerate() {
        files.entry(file_of(doc)).or_default().push(i);
    }
    let mut builder = Builder {
        kustomizations: Kustomizations::of(documents),
        documents,
        files,
        built_by: HashMap::new(),
        former_names: HashMap::new(),
        out: Kustomized::default(),
    };
    for root in builder.kustomizations.roots(builder.documents) {
        let mut stack = Vec::new();
        builder.build(&root, &root, Vec::new(), &mut stack);
    }
    builder.out
}

impl Builder<'_> {
    fn assume(&mut self, text: String) {
        self.out.assumptions.insert(text);
    }

    /// Builds the kustomization of `dir` (a component adds to and transforms `set`): the
    /// documents it makes, transformed.
    fn build(
        &mut self,
        root: &Path,
        dir: &Path,
        mut set: Vec<usize>,
        stack: &mut Vec<PathBuf>,
    ) -> Vec<usize> {
        let Some(k) = self.kustomizations.get(dir) else {
            return set;
        };
        let file = file_of(&self.documents[k]);
        if stack.iter().any(|d| d == dir) || stack.len() >= MAX_DEPTH {
            self.assume(format!(
                "{}: included in a cycle or nested more than {MAX_DEPTH} deep; its transformers are not simulated",
                file.display()
            ));
            return set;
        }
        stack.push(dir.to_path_buf());
        let value = self.documents[k].value.clone();
        for (field, entry) in included(&value) {
            if field != "components" {
                self.include(root, dir, &file, field, entry, &mut set, stack);
            } else if is_remote(entry) {
                self.assume(format!(
                    "{}: the remote component `{entry}` is not fetched (simulate never fetches); what it adds or changes is not simulated",
                    file.display()
                ));
            } else if let Some(path) = normalise(&dir.join(entry)) {
                set = self.build(root, &path, set, stack);
            }
        }
        for field in ["configMapGenerator", "secretGenerator", "generators"] {
            if value.get(field).is_some() {
                self.assume(format!(
                    "{}: the objects `{field}` makes are not simulated (what needs them is taken to find them)",
                    file.display()
                ));
            }
        }
        for field in ["replacements", "vars", "transformers", "helmCharts"] {
            if value.get(field).is_some() {
                self.assume(format!(
                    "{}: `{field}` is not simulated; the objects are simulated without it",
                    file.display()
                ));
            }
        }
        self.transform(k, dir, &file, &value, &set);
        stack.pop();
        set
    }

    #[allow(clippy::too_many_arguments)]
    fn include(
        &mut self,
        root: &Path,
        dir: &Path,
        file: &Path,
        field: &str,
        entry: &str,
        set: &mut Vec<usize>,
        stack: &mut Vec<PathBuf>,
    ) {
        if is_remote(entry) {
            self.assume(format!(
                "{}: the remote `{entry}` (`{field}`) is not fetched (simulate never fetches); its objects are not simulated",
                file.display()
            ));
            return;
        }
        let Some(path) = normalise(&dir.join(entry)).filter(|_| !Path::new(entry).is_absolute())
        else {
            self.assume(format!(
                "{}: `{entry}` (`{field}`) is outside the repository; its objects are not simulated",
                file.display()
            ));
            return;
        };
        if self.kustomizations.contains(&path) {
            let built = self.build(root, &path, Vec::new(), stack);
            set.extend(built);
            return;
        }
        match self.built_by.get(&path) {
            Some(other) if other != root => {
                self.assume(format!(
                    "{} is built by both {} and {}: simulated once, as the first builds it",
                    path.display(),
                    other.display(),
                    root.display()
                ));
                return;
            }
            Some(_) => return,
            None => {
                self.built_by.insert(path.clone(), root.to_path_buf());
            }
        }
        let docs = self.files.get(&path).cloned().unwrap_or_default();
        set.extend(
            docs.into_iter()
                .filter(|&i| self.documents[i].class == Class::Object),
        );
    }

    /// The transformers of one kustomization, in kustomize's order, on what it builds.
    fn transform(&mut self, k: usize, dir: &Path, file: &Path, value: &Value, set: &[usize]) {
        for (i, entry) in value
            .get("patchesStrategicMerge")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(text) = entry.as_str() else { continue };
            let pointer = format!("/patchesStrategicMerge/{i}");
            for patch in self.patch_documents(k, dir, file, text, &pointer) {
                self.apply_patch(patch, None, set, file);
            }
        }
        for (i, entry) in value
            .get("patches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let (text, pointer) = match (entry.get("path"), entry.get("patch"), entry.as_str()) {
                (Some(Value::String(p)), _, _) => (p.clone(), format!("/patches/{i}/path")),
                (_, Some(Value::String(p)), _) => (p.clone(), format!("/patches/{i}/patch")),
                (_, _, Some(p)) => (p.to_string(), format!("/patches/{i}")),
                _ => continue,
            };
            let target = entry.get("target").cloned();
            for patch in self.patch_documents(k, dir, file, &text, &pointer) {
                self.apply_patch(patch, target.as_ref(), set, file);
            }
        }
        let prefix = value
            .get("namePrefix")
            .and_then(Value::as_str)
            .unwrap_or("");
        let suffix = value
            .get("nameSuffix")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !prefix.is_empty() || !suffix.is_empty() {
            self.rename(set, prefix, suffix);
        }
        if let Some(annotations) = value.get("commonAnnotations").and_then(Value::as_object) {
            for &i in set {
                annotate(&mut self.documents[i].value, annotations);
            }
        }
        for (i, entry) in value
            .get("patchesJson6902")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let (text, pointer) = match (entry.get("path"), entry.get("patch")) {
                (Some(Value::String(p)), _) => (p.clone(), format!("/patchesJson6902/{i}/path")),
                (_, Some(Value::String(p))) => (p.clone(), format!("/patchesJson6902/{i}/patch")),
                _ => continue,
            };
            let target = entry.get("target").cloned();
            for patch in self.patch_documents(k, dir, file, &text, &pointer) {
                self.apply_patch(patch, target.as_ref(), set, file);
            }
        }
        for entry in value
            .get("replicas")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(name), Some(count)) = (
                entry.get("name").and_then(Value::as_str),
                entry.get("count").filter(|c| c.is_u64()),
            ) else {
                continue;
            };
            for &i in set {
                let doc = &self.documents[i];
                let scalable = matches!(
                    doc.kind(),
                    Some("Deployment" | "StatefulSet" | "ReplicaSet" | "ReplicationController")
                );
                if scalable && self.has_name(i, name) {
                    if let Some(spec) = self.documents[i]
                        .value
                        .get_mut("spec")
                        .and_then(Value::as_object_mut)
                    {
                        spec.insert("replicas".into(), count.clone());
                    }
                }
            }
        }
        if let Some(images) = value.get("images").and_then(Value::as_array) {
            for &i in set {
                let Some(pod) =
                    homelab_k8s::workload::pod_spec_pointer(self.documents[i].kind().unwrap_or(""))
                else {
                    continue;
                };
                let Some(spec) = self.documents[i].value.pointer_mut(pod) else {
                    continue;
                };
                for list in ["containers", "initContainers"] {
                    for c in spec
                        .get_mut(list)
                        .and_then(Value::as_array_mut)
                        .into_iter()
                        .flatten()
                    {
                        if let Some(Value::String(image)) = c.get_mut("image") {
                            if let Some(new) = set_image(image, images) {
                                *image = new;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Whether document `i` is named `name` now or was before a prefix or suffix.
    fn has_name(&self, i: usize, name: &str) -> bool {
        self.documents[i].name() == Some(name)
            || self
                .former_names
                .get(&i)
                .is_some_and(|names| names.iter().any(|n| n == name))
    }

    /// The documents of a patch: a file of the repository (by its loaded documents; a file
    /// outside it is an assumption), or inline YAML.
    fn patch_documents(
        &mut self,
        k: usize,
        dir: &Path,
        file: &Path,
        text: &str,
        pointer: &str,
    ) -> Vec<Patch> {
        let inline = text.contains('\n') || text.trim_start().starts_with(['{', '[']);
        if inline {
            let name = format!("{} (inline patch)", file.display());
            let (docs, _) = homelab_manifest::parse_str(&name, text);
            let at = self.documents[k].location(pointer);
            return docs
                .into_iter()
                .filter(|d| d.value.is_object() || d.value.is_array())
                .map(|doc| Patch {
                    operations: doc.value.is_array(),
                    doc,
                    inline_at: Some(at.clone()),
                })
                .collect();
        }
        if is_remote(text) || Path::new(text).is_absolute() {
            self.assume(format!(
                "{}: the patch `{text}` is not in the repository; it is not simulated",
                file.display()
            ));
            return Vec::new();
        }
        let Some(path) = normalise(&dir.join(text)) else {
            self.assume(format!(
                "{}: the patch `{text}` is outside the repository; it is not simulated",
                file.display()
            ));
            return Vec::new();
        };
        let Some(docs) = self.files.get(&path) else {
            self.assume(format!(
                "{}: the patch `{text}` was not loaded (no such YAML file in the repository); it is not simulated",
                file.display()
            ));
            return Vec::new();
        };
        docs.iter()
            .map(|&i| &self.documents[i])
            .filter(|d| d.value.is_object() || d.value.is_array())
            .map(|d| Patch {
                operations: d.value.is_array(),
                doc: d.clone(),
                inline_at: None,
            })
            .collect()
    }

    /// Merges one patch into the documents of `set` it targets.
    fn apply_patch(&mut self, patch: Patch, target: Option<&Value>, set: &[usize], file: &Path) {
        let targets: Vec<usize> = match target {
            Some(t) => match Selector::of(t) {
                Ok(selector) => set
                    .iter()
                    .copied()
                    .filter(|&i| selector.matches(&self.documents[i], self.former(i)))
                    .collect(),
                Err(why) => {
                    self.assume(format!(
                        "{}: a patch target is not understood ({why}); the patch is not simulated",
                        file.display()
                    ));
                    return;
                }
            },
            None if patch.operations => {
                self.assume(format!(
                    "{}: a JSON 6902 patch without a target is not simulated",
                    file.display()
                ));
                return;
            }
            None => {
                let kind = patch.doc.value.get("kind").and_then(Value::as_str);
                let name = patch
                    .doc
                    .value
                    .pointer("/metadata/name")
                    .and_then(Value::as_str);
                let group = patch
                    .doc
                    .value
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .map(|v| v.rsplit_once('/').map_or("", |(g, _)| g));
                let (Some(kind), Some(name)) = (kind, name) else {
                    self.assume(format!(
                        "{}: a strategic-merge patch without kind and metadata.name is not simulated",
                        file.display()
                    ));
                    return;
                };
                set.iter()
                    .copied()
                    .filter(|&i| {
                        let d = &self.documents[i];
                        d.kind() == Some(kind)
                            && group.is_none_or(|g| d.group() == g)
                            && self.has_name(i, name)
                    })
                    .collect()
            }
        };
        if targets.is_empty() {
            return;
        }
        let index = self.out.patches.len();
        for &i in &targets {
            let built_in = is_built_in(self.documents[i].group());
            let doc = &mut self.documents[i];
            let applied = if patch.operations {
                json_patch(&mut doc.value, &patch.doc.value)
            } else {
                let mut body = patch.doc.value.clone();
                // What identifies the target is not part of what a targeted patch changes.
                if target.is_some() {
                    if let Some(m) = body.get_mut("metadata").and_then(Value::as_object_mut) {
                        m.shift_remove("name");
                        m.shift_remove("namespace");
                    }
                }
                merge(&mut doc.value, &body, built_in, "", 0);
                Ok(())
            };
            if let Err(why) = applied {
                self.out.assumptions.insert(format!(
                    "{}: a JSON 6902 patch of {} is not fully simulated: {why}",
                    file.display(),
                    self.documents[i].id()
                ));
            }
            self.out
                .patched
                .entry(key(&self.documents[i]))
                .or_default()
                .push(index);
        }
        self.out.patches.push(patch);
    }

    fn former(&self, i: usize) -> &[String] {
        self.former_names.get(&i).map_or(&[], Vec::as_slice)
    }

    /// `namePrefix`/`nameSuffix`, and the references to renamed objects in the same build.
    fn rename(&mut self, set: &[usize], prefix: &str, suffix: &str) {
        let mut renamed: HashMap<(String, String), String> = HashMap::new();
        for &i in set {
            let doc = &self.documents[i];
            let Some(kind) = doc.kind().map(str::to_string) else {
                continue;
            };
            let Some(name) = doc.name().map(str::to_string) else {
                continue;
            };
            if NOT_RENAMED.contains(&kind.as_str()) {
                continue;
            }
            let new = format!("{prefix}{name}{suffix}");
            if let Some(m) = self.documents[i]
                .value
                .get_mut("metadata")
                .and_then(Value::as_object_mut)
            {
                m.insert("name".into(), Value::String(new.clone()));
            }
            self.former_names.entry(i).or_default().push(name.clone());
            renamed.insert((kind, name), new);
        }
        for &i in set {
            rewrite_references(&mut self.documents[i].value, &renamed);
        }
    }
}

fn is_built_in(group: &str) -> bool {
    !group.contains('.') || group.ends_with(".k8s.io")
}

/// A patch's `target`: every field given must match (names and kinds are anchored regular
/// expressions, as kustomize reads them).
struct Selector {
    group: Option<String>,
    version: Option<String>,
    kind: Option<regex::Regex>,
    name: Option<regex::Regex>,
    namespace: Option<String>,
    labels: Vec<(String, Option<String>)>,
    annotations: Vec<(String, Option<String>)>,
}

fn pattern(text: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(&format!("^(?:{text})$"))
        .size_limit(MAX_PATTERN_BYTES)
        .build()
        .map_err(|e| format!("`{text}`: {e}"))
}

/// `a=b,c` as (key, value) pairs (a key alone must exist).
fn pairs(text: &str) -> Vec<(String, Option<String>)> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (
                k.trim().to_string(),
                Some(v.trim().trim_start_matches('=').to_string()),
            ),
            None => (p.to_string(), None),
        })
        .collect()
}

impl Selector {
    fn of(target: &Value) -> Result<Selector, String> {
        let text = |f: &str| target.get(f).and_then(Value::as_str).map(str::to_string);
        let selector = |f: &str| -> Result<Vec<(String, Option<String>)>, String> {
            match text(f) {
                None => Ok(Vec::new()),
                Some(t)
                    if t.contains(['!', '(']) || t.contains(" in ") || t.contains(" notin ") =>
                {
                    Err(format!("`{f}: {t}` uses set-based operators"))
                }
                Some(t) => Ok(pairs(&t)),
            }
        };
        Ok(Selector {
            group: text("group"),
            version: text("version"),
            kind: text("kind").map(|k| pattern(&k)).transpose()?,
            name: text("name").map(|n| pattern(&n)).transpose()?,
            namespace: text("namespace"),
            labels: selector("labelSelector")?,
            annotations: selector("annotationSelector")?,
        })
    }

    fn matches(&self, doc: &Document, former: &[String]) -> bool {
        let version = doc
            .api_version()
            .map(|v| v.rsplit_once('/').map_or(v, |(_, v)| v));
        let meta = |field: &str, pairs: &[(String, Option<String>)]| {
            let map = doc.value.pointer(&format!("/metadata/{field}"));
            pairs.iter().all(|(k, v)| {
                let have = map.and_then(|m| m.get(k)).and_then(Value::as_str);
                match v {
                    Some(v) => have == Some(v.as_str()),
                    None => have.is_some(),
                }
            })
        };
        self.group.as_deref().is_none_or(|g| doc.group() == g)
            && self.version.as_deref().is_none_or(|v| version == Some(v))
            && self
                .kind
                .as_ref()
                .is_none_or(|k| doc.kind().is_some_and(|kind| k.is_match(kind)))
            && self.name.as_ref().is_none_or(|n| {
                doc.name().is_some_and(|name| n.is_match(name))
                    || former.iter().any(|f| n.is_match(f))
            })
            && self
                .namespace
                .as_deref()
                .is_none_or(|ns| doc.namespace().unwrap_or("default") == ns)
            && meta("labels", &self.labels)
            && meta("annotations", &self.annotations)
    }
}

/// Keys of a strategic-merge patch that are directives, not fields.
fn is_directive(key: &str) -> bool {
    key.starts_with('$')
}

fn without_directives(value: &Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !is_directive(k))
                .map(|(k, v)| (k.clone(), without_directives(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|i| i.get("$patch").and_then(Value::as_str) != Some("delete"))
                .map(without_directives)
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A strategic merge of `patch` into `target`: maps merge, `null` deletes, lists of
/// built-in kinds merge by their merge key (others are replaced, as for a JSON merge patch),
/// `$patch: replace|delete` are honoured.
fn merge(target: &mut Value, patch: &Value, built_in: bool, field: &str, depth: usize) {
    let (Value::Object(t), Value::Object(p)) = (&mut *target, patch) else {
        match (&mut *target, patch) {
            (Value::Array(t), Value::Array(p)) if built_in && depth < MAX_MERGE_DEPTH => {
                if let Some(key) = merge_key(field, p.iter().chain(t.iter())) {
                    merge_list(t, p, key, built_in, depth);
                    return;
                }
                *target = without_directives(patch);
            }
            _ => *target = without_directives(patch),
        }
        return;
    };
    if p.get("$patch").and_then(Value::as_str) == Some("replace") || depth >= MAX_MERGE_DEPTH {
        *target = without_directives(patch);
        return;
    }
    for (k, v) in p {
        if is_directive(k) {
            continue;
        }
        if v.is_null() || v.get("$patch").and_then(Value::as_str) == Some("delete") {
            t.shift_remove(k);
            continue;
        }
        match t.get_mut(k) {
            Some(existing) => merge(existing, v, built_in, k, depth + 1),
            None => {
                t.insert(k.clone(), without_directives(v));
            }
        }
    }
}

fn merge_list(target: &mut Vec<Value>, patch: &[Value], key: &str, built_in: bool, depth: usize) {
    if patch
        .iter()
        .any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        *target = patch
            .iter()
            .filter(|i| i.get("$patch").is_none())
            .map(without_directives)
            .collect();
        return;
    }
    for item in patch {
        let id = item.get(key);
        let found = id.and_then(|id| target.iter().position(|t| t.get(key) == Some(id)));
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (found, delete) {
            (Some(at), true) => {
                target.remove(at);
            }
            (Some(at), false) => merge(&mut target[at], item, built_in, "", depth + 1),
            (None, true) => {}
            (None, false) => target.push(without_directives(item)),
        }
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// The parent of `pointer` in `value` and the last token.
fn parent_of<'v>(value: &'v mut Value, pointer: &str) -> Result<(&'v mut Value, String), String> {
    let (parent, last) = pointer
        .rsplit_once('/')
        .ok_or_else(|| format!("`{pointer}` is not a JSON pointer"))?;
    let node = if parent.is_empty() {
        value
    } else {
        value
            .pointer_mut(parent)
            .ok_or_else(|| format!("`{parent}` does not exist"))?
    };
    Ok((node, unescape(last)))
}

/// RFC 6902 `add`, `remove`, `replace` (what kustomize repositories use); `move`, `copy`
/// and `test` are reported as not simulated.
fn json_patch(value: &mut Value, operations: &Value) -> Result<(), String> {
    let mut problems = Vec::new();
    for op in operations.as_array().into_iter().flatten() {
        let (Some(kind), Some(path)) = (
            op.get("op").and_then(Value::as_str),
            op.get("path").and_then(Value::as_str),
        ) else {
            problems.push("an operation without op or path".to_string());
            continue;
        };
        let result = match kind {
            "add" | "replace" => {
                let new = op.get("value").cloned().unwrap_or(Value::Null);
                parent_of(value, path).and_then(|(parent, last)| match parent {
                    Value::Object(m) => {
                        if kind == "replace" && !m.contains_key(&last) {
                            return Err(format!("`{path}` does not exist"));
                        }
                        m.insert(last, new);
                        Ok(())
                    }
                    Value::Array(items) => {
                        if last == "-" && kind == "add" {
                            items.push(new);
                            return Ok(());
                        }
                        let i: usize = last.parse().map_err(|_| format!("`{path}`: no index"))?;
                        match kind {
                            "add" if i <= items.len() => items.insert(i, new),
                            "replace" if i < items.len() => items[i] = new,
                            _ => return Err(format!("`{path}`: index out of range")),
                        }
                        Ok(())
                    }
                    _ => Err(format!("`{path}`: the parent is not a map or list")),
                })
            }
            "remove" => parent_of(value, path).and_then(|(parent, last)| match parent {
                Value::Object(m) => m
                    .shift_remove(&last)
                    .map(|_| ())
                    .ok_or_else(|| format!("`{path}` does not exist")),
                Value::Array(items) => {
                    let i: usize = last.parse().map_err(|_| format!("`{path}`: no index"))?;
                    if i < items.len() {
                        items.remove(i);
                        Ok(())
                    } else {
                        Err(format!("`{path}`: index out of range"))
                    }
                }
                _ => Err(format!("`{path}`: the parent is not a map or list")),
            }),
            other => Err(format!("operation `{other}` is not simulated")),
        };
        if let Err(e) = result {
            problems.push(e);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// `commonAnnotations`: on the object and on the pods it makes.
fn annotate(value: &mut Value, annotations: &Map<String, Value>) {
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    let mut targets = vec!["/metadata".to_string()];
    if let Some(pod) = homelab_k8s::workload::pod_spec_pointer(kind) {
        if let Some(template) = pod.strip_suffix("/spec").filter(|t| !t.is_empty()) {
            targets.push(format!("{template}/metadata"));
        }
    }
    for target in targets {
        let Some(metadata) = map_at(value, &target) else {
            continue;
        };
        let Some(map) = metadata
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
        else {
            continue;
        };
        for (k, v) in annotations {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            map.insert(k.clone(), Value::String(text));
        }
    }
}

/// Where objects name other objects, by the kind they name: (kind named, kinds of the
/// referrer (empty: any with a pod spec), path with `*` for every list item). The paths
/// under `POD/` are relative to the pod spec.
const REFERENCES: &[(&str, &[&str], &str)] = &[
    ("ConfigMap", &[], "POD/volumes/*/configMap/name"),
    (
        "ConfigMap",
        &[],
        "POD/volumes/*/projected/sources/*/configMap/name",
    ),
    (
        "ConfigMap",
        &[],
        "POD/containers/*/env/*/valueFrom/configMapKeyRef/name",
    ),
    (
        "ConfigMap",
        &[],
        "POD/initContainers/*/env/*/valueFrom/configMapKeyRef/name",
    ),
    (
        "ConfigMap",
        &[],
        "POD/containers/*/envFrom/*/configMapRef/name",
    ),
    (
        "ConfigMap",
        &[],
        "POD/initContainers/*/envFrom/*/configMapRef/name",
    ),
    ("Secret", &[], "POD/volumes/*/secret/secretName"),
    (
        "Secret",
        &[],
        "POD/volumes/*/projected/sources/*/secret/name",
    ),
    (
        "Secret",
        &[],
        "POD/containers/*/env/*/valueFrom/secretKeyRef/name",
    ),
    (
        "Secret",
        &[],
        "POD/initContainers/*/env/*/valueFrom/secretKeyRef/name",
    ),
    ("Secret", &[], "POD/containers/*/envFrom/*/secretRef/name"),
    (
        "Secret",
        &[],
        "POD/initContainers/*/envFrom/*/secretRef/name",
    ),
    ("Secret", &[], "POD/imagePullSecrets/*/name"),
    ("Secret", &["Ingress"], "spec/tls/*/secretName"),
    (
        "PersistentVolumeClaim",
        &[],
        "POD/volumes/*/persistentVolumeClaim/claimName",
    ),
    ("ServiceAccount", &[], "POD/serviceAccountName"),
    ("ServiceAccount", &[], "POD/serviceAccount"),
    ("PriorityClass", &[], "POD/priorityClassName"),
    ("Service", &["StatefulSet"], "spec/serviceName"),
    (
        "Service",
        &["Ingress"],
        "spec/rules/*/http/paths/*/backend/service/name",
    ),
    ("Service", &["Ingress"], "spec/defaultBackend/service/name"),
    (
        "Service",
        &[
            "ValidatingWebhookConfiguration",
            "MutatingWebhookConfiguration",
        ],
        "webhooks/*/clientConfig/service/name",
    ),
    ("Service", &["APIService"], "spec/service/name"),
    (
        "StorageClass",
        &["PersistentVolumeClaim"],
        "spec/storageClassName",
    ),
    (
        "StorageClass",
        &["StatefulSet"],
        "spec/volumeClaimTemplates/*/spec/storageClassName",
    ),
];

/// Rewrites the references to renamed objects (kustomize's name reference transformer, for
/// the references the simulation reads).
fn rewrite_references(value: &mut Value, renamed: &HashMap<(String, String), String>) {
    if renamed.is_empty() {
        return;
    }
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let pod = homelab_k8s::workload::pod_spec_pointer(&kind);
    for (named, referrers, path) in REFERENCES {
        let full = match path.strip_prefix("POD/") {
            Some(rest) => match pod {
                Some(p) => format!("{}/{rest}", p.trim_start_matches('/')),
                None => continue,
            },
            None if referrers.contains(&kind.as_str()) => path.to_string(),
            None => continue,
        };
        let parts: Vec<&str> = full.split('/').collect();
        each_string(value, &parts, &mut |name: &mut String| {
            if let Some(new) = renamed.get(&(named.to_string(), name.clone())) {
                *name = new.clone();
            }
        });
    }
    // Bindings name their Role and their ServiceAccount subjects.
    if kind == "RoleBinding" || kind == "ClusterRoleBinding" {
        let role_kind = value
            .pointer("/roleRef/kind")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let (Some(role_kind), Some(Value::String(name))) =
            (role_kind, value.pointer_mut("/roleRef/name"))
        {
            if let Some(new) = renamed.get(&(role_kind, name.clone())) {
                *name = new.clone();
            }
        }
        for subject in value
            .get_mut("subjects")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if subject.get("kind").and_then(Value::as_str) != Some("ServiceAccount") {
                continue;
            }
            if let Some(Value::String(name)) = subject.get_mut("name") {
                if let Some(new) = renamed.get(&("ServiceAccount".to_string(), name.clone())) {
                    *name = new.clone();
                }
            }
        }
    }
}

fn each_string(value: &mut Value, parts: &[&str], f: &mut dyn FnMut(&mut String)) {
    let Some((first, rest)) = parts.split_first() else {
        if let Value::String(s) = value {
            f(s);
        }
        return;
    };
    if *first == "*" {
        for item in value.as_array_mut().into_iter().flatten() {
            each_string(item, rest, f);
        }
    } else if let Some(child) = value.get_mut(*first) {
        each_string(child, rest, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategic_merge_merges_containers_by_name_and_replaces_other_lists() {
        let mut target = json!({"spec": {"template": {"spec": {
            "containers": [{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}],
            "tolerations": [{"key": "x"}],
            "nodeSelector": {"disk": "ssd"}
        }}}});
        let patch = json!({"spec": {"template": {"spec": {
            "containers": [{"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}, {"name": "a", "$patch": "delete"}],
            "tolerations": [{"key": "y"}],
            "nodeSelector": {"disk": null, "gpu": "true"}
        }}}});
        merge(&mut target, &patch, true, "", 0);
        assert_eq!(
            target,
            json!({"spec": {"template": {"spec": {
                "containers": [{"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}],
                "tolerations": [{"key": "y"}],
                "nodeSelector": {"gpu": "true"}
            }}}})
        );
        // A custom kind's lists are replaced (no merge keys without its schema).
        let mut custom = json!({"spec": {"containers": [{"name": "a"}]}});
        merge(
            &mut custom,
            &json!({"spec": {"containers": [{"name": "b"}]}}),
            false,
            "",
            0,
        );
        assert_eq!(custom, json!({"spec": {"containers": [{"name": "b"}]}}));
    }

    #[test]
    fn strategic_merge_merges_scheduling_gates_by_name_and_service_ports_by_port() {
        // `schedulingGates` merge by `name` (PodSpec's patchMergeKey): a patch adds a gate.
        let mut pod = json!({"spec": {"schedulingGates": [{"name": "a"}]}});
        let patch = json!({"spec": {"schedulingGates": [{"name": "b"}]}});
        merge(&mut pod, &patch, true, "", 0);
        assert_eq!(
            pod,
            json!({"spec": {"schedulingGates": [{"name": "a"}, {"name": "b"}]}})
        );
        // A Service's ports merge by `port`.
        let mut service = json!({"spec": {"ports": [
            {"name": "http", "port": 80, "targetPort": 8080},
            {"name": "https", "port": 443, "targetPort": 8443}
        ]}});
        let patch = json!({"spec": {"ports": [{"port": 443, "targetPort": 9443}]}});
        merge(&mut service, &patch, true, "", 0);
        assert_eq!(
            service["spec"]["ports"],
            json!([
                {"name": "http", "port": 80, "targetPort": 8080},
                {"name": "https", "port": 443, "targetPort": 9443}
            ])
        );
    }

    #[test]
    fn json_patches_add_replace_and_remove() {
        let mut value = json!({"spec": {"replicas": 1, "list": [1, 2]}});
        let ops = json!([
            {"op": "replace", "path": "/spec/replicas", "value": 3},
            {"op": "add", "path": "/spec/list/-", "value": 4},
            {"op": "add", "path": "/spec/list/0", "value": 0},
            {"op": "remove", "path": "/spec/list/1"},
            {"op": "add", "path": "/spec/new~1key", "value": true}
        ]);
        json_patch(&mut value, &ops).unwrap();
        assert_eq!(
            value,
            json!({"spec": {"replicas": 3, "list": [0, 2, 4], "new/key": true}})
        );
        let err = json_patch(
            &mut value,
            &json!([{"op": "move", "from": "/a", "path": "/b"}]),
        );
        assert!(err.unwrap_err().contains("`move` is not simulated"));
        let err = json_patch(
            &mut value,
            &json!([{"op": "replace", "path": "/nope/x", "value": 1}]),
        );
        assert!(err.is_err());
    }

    #[test]
    fn references_to_renamed_objects_follow_them() {
        let renamed = HashMap::from([
            (
                ("ConfigMap".to_string(), "cfg".to_string()),
                "p-cfg".to_string(),
            ),
            (("Secret".to_string(), "s".to_string()), "p-s".to_string()),
            (
                ("ServiceAccount".to_string(), "sa".to_string()),
                "p-sa".to_string(),
            ),
        ]);
        let mut deployment = json!({"kind": "Deployment", "spec": {"template": {"spec": {
            "serviceAccountName": "sa",
            "volumes": [{"name": "v", "configMap": {"name": "cfg"}}, {"name": "w", "configMap": {"name": "other"}}],
            "containers": [{"name": "c", "envFrom": [{"secretRef": {"name": "s"}}]}]
        }}}});
        rewrite_references(&mut deployment, &renamed);
        let spec = &deployment["spec"]["template"]["spec"];
        assert_eq!(spec["serviceAccountName"], "p-sa");
        assert_eq!(spec["volumes"][0]["configMap"]["name"], "p-cfg");
        assert_eq!(spec["volumes"][1]["configMap"]["name"], "other");
        assert_eq!(
            spec["containers"][0]["envFrom"][0]["secretRef"]["name"],
            "p-s"
        );
        let mut binding = json!({"kind": "RoleBinding", "roleRef": {"kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "sa"}, {"kind": "User", "name": "sa"}]});
        rewrite_references(&mut binding, &renamed);
        assert_eq!(binding["subjects"][0]["name"], "p-sa");
        assert_eq!(binding["subjects"][1]["name"], "sa");
    }

    #[test]
    fn targets_are_anchored_patterns() {
        let target = json!({"kind": "Deploy.*", "name": "web", "labelSelector": "app=web"});
        let selector = Selector::of(&target).unwrap();
        let (docs, _) = homelab_manifest::parse_str(
            "x.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {app: web}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web2, labels: {app: web}}\n",
        );
        assert!(selector.matches(&docs[0], &[]));
        assert!(!selector.matches(&docs[1], &[]));
        assert!(selector.matches(&docs[1], &["web".to_string()]));
        assert!(Selector::of(&json!({"labelSelector": "app in (a,b)"})).is_err());
        assert!(Selector::of(&json!({"name": "(unclosed"})).is_err());
    }
}
