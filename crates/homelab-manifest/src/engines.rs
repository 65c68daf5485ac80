//! What the GitOps engines do to a repository's files before the API server sees them, so
//! that every stage judges what will be applied:
//!
//! - kustomize: a file listed under `patches`, `patchesStrategicMerge` or `patchesJson6902`
//!   completes an object, it is not one (reclassified, with a `load/kustomize-patch` note);
//!   `namespace:` sets the namespace of everything the kustomization builds; and kustomize
//!   reads YAML with 1.2 rules, so `on`/`Off`/`yes` stay strings in what it builds (the value
//!   is corrected and the `yaml/ambiguous-value` warning becomes a note saying so). What a
//!   patch fills into the object it targets is located at the patch (its file and line, or
//!   the kustomization that writes it inline), so findings about it point where it is written.
//! - `kubectl patch`: a file that a script, task file, CI workflow or README applies with
//!   `kubectl patch --patch-file FILE` (or `-p @FILE`, `-p "$(cat FILE)"`) is a partial object
//!   ([`Document::partial`]): it stays an object, so the fields it sets are judged, and the
//!   pipeline sets aside the checks that need the whole object. The text is only searched.
//! - Flux: a Kustomization's `postBuild.substitute`/`substituteFrom` fill in `${VAR}` and
//!   `${VAR:=default}` in the files under its `path` (from values in the repository; the
//!   rest stay unknown, see [`depends_on_variable`]), and its `targetNamespace` is the
//!   namespace of what it applies.
//!
//! Paths are resolved lexically inside the loaded inputs; nothing here touches the disk.

use crate::kustomizations::{included, is_kustomization_file, FILE_NAMES};
use crate::{Class, Document, Loaded, ResourceExt, Source};
use base64::Engine;
use homelab_diagnostics::{Diagnostic, Location, Severity};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Kinds that have no namespace: a namespace transformer leaves them alone.
const CLUSTER_SCOPED: [&str; 24] = [
    "Namespace",
    "Node",
    "PersistentVolume",
    "StorageClass",
    "CSIDriver",
    "CSINode",
    "VolumeSnapshotClass",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "PriorityClass",
    "RuntimeClass",
    "IngressClass",
    "GatewayClass",
    "ClusterPolicy",
    "ClusterIssuer",
    "ClusterSecretStore",
    "ClusterExternalSecret",
    "ClusterCleanupPolicy",
];

/// Lexically normalised path (`a/./b/../c` = `a/c`); `None` when it climbs above its start.
pub fn normalise(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    Some(out)
}

/// The file a document comes from, as a normalised path (its source name when it has no path).
pub fn file_of(doc: &Document) -> PathBuf {
    let path = doc
        .source
        .path
        .clone()
        .unwrap_or_else(|| PathBuf::from(&doc.source.name));
    normalise(&path).unwrap_or(path)
}

/// The documents by file.
struct Index {
    files: BTreeMap<PathBuf, Vec<usize>>,
}

impl Index {
    fn of(documents: &[Document]) -> Index {
        let mut files: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
        for (i, doc) in documents.iter().enumerate() {
            files.entry(file_of(doc)).or_default().push(i);
        }
        Index { files }
    }

    /// The documents of `files`, in input order.
    fn documents_of(&self, files: &BTreeSet<PathBuf>) -> Vec<usize> {
        let mut out: Vec<usize> = files
            .iter()
            .filter_map(|f| self.files.get(f))
            .flatten()
            .copied()
            .collect();
        out.sort_unstable();
        out
    }

    fn kustomization_in(&self, dir: &Path) -> Option<usize> {
        FILE_NAMES
            .iter()
            .find_map(|name| self.files.get(&dir.join(name)))
            .and_then(|docs| docs.first().copied())
    }

    /// Every file under `dir` (recursively). Paths order component by component, so the
    /// files under a folder are one range of the map: no scan of every file per lookup.
    fn under<'a>(&'a self, dir: &'a Path) -> impl Iterator<Item = &'a PathBuf> + 'a {
        self.files
            .range::<Path, _>((std::ops::Bound::Included(dir), std::ops::Bound::Unbounded))
            .map(|(file, _)| file)
            .take_while(move |f| f.starts_with(dir))
    }
}

/// The files a kustomization builds (its `resources`, `bases` and `components`, through nested
/// kustomizations), with the kustomizations it reaches.
fn build_files(
    documents: &[Document],
    index: &Index,
    kustomization: usize,
    files: &mut BTreeSet<PathBuf>,
    reached: &mut BTreeSet<usize>,
) {
    if !reached.insert(kustomization) || reached.len() > 256 {
        return;
    }
    let doc = &documents[kustomization];
    let file = file_of(doc);
    let dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
    for (_, entry) in included(&doc.value) {
        if entry.contains("://") || entry.starts_with("github.com/") {
            continue;
        }
        let Some(path) = normalise(&dir.join(entry)) else {
            continue;
        };
        if let Some(nested) = index.kustomization_in(&path) {
            build_files(documents, index, nested, files, reached);
        } else {
            files.insert(path);
        }
    }
}

/// The patch files of a kustomization, with the field that lists them.
fn patch_files(doc: &Document, dir: &Path) -> Vec<(PathBuf, &'static str)> {
    patch_file_entries(doc)
        .into_iter()
        .filter_map(|(field, path, _)| normalise(&dir.join(path)).map(|p| (p, field)))
        .collect()
}

/// The patch files a kustomization lists, as written, with the field that lists them and
/// the entry's `target` selector, if any. `patchesStrategicMerge` names files (or holds
/// inline YAML, which is no file); `patches` and `patchesJson6902` entries are
/// `{path: ...}`, or the file name alone (an older spelling kustomize accepts).
fn patch_file_entries(doc: &Document) -> Vec<(&'static str, &str, Option<&Value>)> {
    let mut out = Vec::new();
    for field in ["patchesStrategicMerge", "patches", "patchesJson6902"] {
        for entry in doc
            .value
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let path = if field == "patchesStrategicMerge" {
                entry.as_str()
            } else {
                entry.get("path").and_then(Value::as_str).or(entry.as_str())
            };
            // An inline patch is YAML text, a file reference one line.
            if let Some(path) = path.filter(|p| !p.contains('\n')) {
                let target = entry.get("target").filter(|t| t.is_object());
                out.push((field, path, target));
            }
        }
    }
    out
}

/// The files a kustomization's `configMapGenerator` and `secretGenerator` read (`files:`
/// as `path` or `key=path`, `envs:`, `env:`), each with what it generates (`the ConfigMap
/// `x``): their text becomes data of that object.
fn generator_inputs(doc: &Document, dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for (field, kind) in [
        ("configMapGenerator", "ConfigMap"),
        ("secretGenerator", "Secret"),
    ] {
        for generator in doc
            .value
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = generator.get("name").and_then(Value::as_str).unwrap_or("");
            let generated = format!("the {kind} `{name}`");
            let listed = ["files", "envs"]
                .iter()
                .filter_map(|k| generator.get(*k).and_then(Value::as_array))
                .flatten()
                .filter_map(Value::as_str)
                .chain(generator.get("env").and_then(Value::as_str));
            for entry in listed {
                let path = entry.split_once('=').map_or(entry, |(_, p)| p).trim();
                if let Some(p) = normalise(&dir.join(path)) {
                    out.push((p, generated.clone()));
                }
            }
        }
    }
    out
}

/// The patch files a kustomization lists that the repository does not hold (as written),
/// each with its target selector when it has one. Without the file its target is unknown:
/// it may be any object of the build.
fn unseen_patches(doc: &Document, dir: &Path, index: &Index) -> Vec<(String, Option<Value>)> {
    patch_file_entries(doc)
        .into_iter()
        .filter(|(_, path, _)| {
            !normalise(&dir.join(path)).is_some_and(|p| index.files.contains_key(&p))
        })
        .map(|(_, path, target)| (path.to_string(), target.cloned()))
        .collect()
}

/// Fills into each object what every build that applies its file patches in: the top builds
/// (kustomizations no other kustomization builds) that reach the file each run their own
/// patches and those of the kustomizations they build, and a field that each of them fills
/// in is set wherever the file is applied, even when each writes its own value (overlays
/// that each give a shared base HelmRelease its `interval`). The value filled in is the first
/// build's, and findings about it point at that build's patch. A field that some build
/// leaves out is not filled in: that build applies the file without it.
///
/// When Flux applies some of a file's top builds (their kustomization lies under a Flux
/// Kustomization's path), only those count: a top build no Flux Kustomization reaches is an
/// aggregator kept beside the bases (`base/kustomization.yaml` listing every base), which
/// Flux never builds.
fn fill_from_every_build(
    docs: &mut [Document],
    index: &Index,
    patched: &[(usize, BTreeSet<PathBuf>, Vec<KustomizePatch>)],
    builds: &[(usize, BTreeSet<PathBuf>, BTreeSet<usize>)],
    flux_applied: &BTreeSet<PathBuf>,
) {
    if patched.is_empty() {
        return;
    }
    let nested: BTreeSet<usize> = builds
        .iter()
        .flat_map(|(k, _, reached)| reached.iter().filter(move |r| *r != k))
        .copied()
        .collect();
    let mut tops_of: BTreeMap<&Path, Vec<(bool, &BTreeSet<usize>)>> = BTreeMap::new();
    for (k, files, reached) in builds {
        if nested.contains(k) {
            continue;
        }
        let by_flux = flux_applied.contains(&file_of(&docs[*k]));
        for f in files {
            tops_of
                .entry(f.as_path())
                .or_default()
                .push((by_flux, reached));
        }
    }
    for (file, mut tops) in tops_of {
        if !patched.iter().any(|(_, files, _)| files.contains(file)) {
            continue;
        }
        if tops.iter().any(|(by_flux, _)| *by_flux) {
            tops.retain(|(by_flux, _)| *by_flux);
        }
        let one: BTreeSet<PathBuf> = [file.to_path_buf()].into();
        for i in index.documents_of(&one) {
            if docs[i].class != Class::Object {
                continue;
            }
            // Per top build: what its patches fill in (pointer -> the patch and where it
            // writes it), and the object as that build makes it.
            type Filled<'p> = BTreeMap<String, (&'p KustomizePatch, String)>;
            let mut per_build: Vec<(Filled, Value)> = Vec::new();
            for (_, reached) in &tops {
                let mut value = docs[i].value.clone();
                let mut filled = Filled::new();
                let own = patched
                    .iter()
                    .filter(|(k, files, _)| reached.contains(k) && files.contains(file))
                    .flat_map(|(_, _, own)| own);
                for patch in own {
                    if targets(&patch.target, &docs[i]) != Some(true) {
                        continue;
                    }
                    for (at, origin_at) in patch.fill_value(&mut value) {
                        filled.entry(at).or_insert((patch, origin_at));
                    }
                }
                per_build.push((filled, value));
            }
            let Some(((first, built), others)) = per_build.split_first() else {
                continue;
            };
            for (at, (patch, origin_at)) in first {
                if !others.iter().all(|(filled, _)| filled.contains_key(at)) {
                    continue;
                }
                let Some(subtree) = built.pointer(at) else {
                    continue;
                };
                if insert_at(&mut docs[i].value, at, subtree.clone()) {
                    docs[i].add_graft(
                        at.clone(),
                        patch.origin.clone(),
                        origin_at.clone(),
                        patch.embedded.clone(),
                    );
                }
            }
        }
    }
}

/// Inserts `value` at `pointer` where nothing is yet: a key its parent map lacks, or the
/// next item of its parent list. Returns whether it did.
fn insert_at(into: &mut Value, pointer: &str, value: Value) -> bool {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return false;
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    match pointer_mut(into, parent) {
        Some(Value::Object(map)) if !map.contains_key(&key) => {
            map.insert(key, value);
            true
        }
        Some(Value::Array(items)) if key.parse::<usize>() == Ok(items.len()) => {
            items.push(value);
            true
        }
        _ => false,
    }
}

/// A patch of a kustomization (`patches`, `patchesStrategicMerge`, `patchesJson6902`), as
/// far as it adds to the objects it targets.
struct KustomizePatch {
    /// The target selector; a strategic-merge patch without one selects its own kind and name.
    target: Value,
    body: PatchBody,
    /// Where the patch is written: its file's document (or, inline, the document parsed
    /// from its text), with the pointer to the body there.
    origin: Arc<Document>,
    origin_at: String,
    /// An inline patch: the kustomization and the pointer to the text it is parsed from.
    embedded: Option<(Arc<Document>, String)>,
}

enum PatchBody {
    /// A strategic-merge patch: a partial object.
    Merge(Value),
    /// JSON6902 operations.
    Operations(Vec<Value>),
}

impl KustomizePatch {
    /// Fill into `value` (an object the patch targets) what the patch adds that it lacks:
    /// the fields of a merge patch the object does not set, and the values of `add`
    /// operations at places the object leaves empty (or at the end of a list). Nothing the
    /// object sets is replaced or removed, so a patch hides no fault of the file. Returns
    /// each pointer filled in with the pointer of the patch's origin that writes it.
    fn fill_value(&self, value: &mut Value) -> Vec<(String, String)> {
        match &self.body {
            PatchBody::Merge(patch) => {
                let mut patch = patch.clone();
                if let Some(meta) = patch.get_mut("metadata").and_then(Value::as_object_mut) {
                    meta.remove("name");
                    meta.remove("namespace");
                }
                let mut filled = Vec::new();
                fill_absent_at(value, &patch, &mut String::new(), &mut filled);
                filled
                    .into_iter()
                    .map(|at| {
                        let origin_at = format!("{}{at}", self.origin_at);
                        (at, origin_at)
                    })
                    .collect()
            }
            PatchBody::Operations(operations) => operations
                .iter()
                .enumerate()
                .filter_map(|(n, operation)| {
                    let at = add_absent(value, operation)?;
                    Some((at, format!("{}/{n}/value", self.origin_at)))
                })
                .collect(),
        }
    }
}

/// One JSON6902 `add` operation, only where it adds: a key the object lacks, or `-` (the end
/// of a list); and a `replace` of a key the object lacks, which kustomize adds as well.
/// Returns the pointer of what it added.
fn add_absent(value: &mut Value, operation: &Value) -> Option<String> {
    let op = operation.get("op").and_then(Value::as_str);
    if op != Some("add") && op != Some("replace") {
        return None;
    }
    let path = operation.get("path").and_then(Value::as_str)?;
    let add = operation.get("value")?;
    let (parent, last) = path.rsplit_once('/')?;
    let key = last.replace("~1", "/").replace("~0", "~");
    match pointer_mut(value, parent) {
        Some(Value::Object(map)) if !map.contains_key(&key) => {
            map.insert(key, add.clone());
            Some(path.to_string())
        }
        Some(Value::Array(items)) if key == "-" && op == Some("add") => {
            items.push(add.clone());
            Some(format!("{parent}/{}", items.len() - 1))
        }
        _ => None,
    }
}

/// The patches of kustomization `k` (in folder `dir`): from their files (the documents
/// loaded from them) or written inline.
fn kustomize_patches(
    docs: &[Document],
    index: &Index,
    k: usize,
    dir: &Path,
) -> Vec<KustomizePatch> {
    let kustomization = &docs[k].value;
    // The kustomization holds its inline patches (cloned once, and only when it has one).
    let mut itself: Option<Arc<Document>> = None;
    type Body = (Value, Arc<Document>, Option<(Arc<Document>, String)>);
    let mut bodies = |entry: &Value, at: String| -> Vec<Body> {
        let inline = match entry.get("patch").and_then(Value::as_str) {
            Some(text) => Some((text, format!("{at}/patch"))),
            None => entry.as_str().filter(|e| e.contains('\n')).map(|t| (t, at)),
        };
        if let Some((text, at)) = inline {
            let container = itself
                .get_or_insert_with(|| Arc::new(docs[k].clone()))
                .clone();
            return crate::parse_str("patch", text)
                .0
                .into_iter()
                .map(|d| {
                    let value = d.value.clone();
                    (value, Arc::new(d), Some((container.clone(), at.clone())))
                })
                .collect();
        }
        let file = entry
            .get("path")
            .and_then(Value::as_str)
            .or(entry.as_str())
            .and_then(|p| normalise(&dir.join(p)));
        file.and_then(|f| index.files.get(&f))
            .into_iter()
            .flatten()
            .map(|&i| (docs[i].value.clone(), Arc::new(docs[i].clone()), None))
            .collect()
    };
    let mut out = Vec::new();
    for field in ["patchesStrategicMerge", "patches", "patchesJson6902"] {
        for (n, entry) in kustomization
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let target = entry.get("target").filter(|t| t.is_object());
            for (body, origin, embedded) in bodies(entry, format!("/{field}/{n}")) {
                match body {
                    Value::Array(operations) => {
                        if let Some(target) = target {
                            out.push(KustomizePatch {
                                target: target.clone(),
                                body: PatchBody::Operations(operations),
                                origin,
                                origin_at: String::new(),
                                embedded,
                            });
                        }
                    }
                    // A merge patch without a target must name its kind.
                    Value::Object(_) if target.is_some() || body.get("kind").is_some() => {
                        let target = match target {
                            Some(t) => t.clone(),
                            None => own_target(&body),
                        };
                        out.push(KustomizePatch {
                            target,
                            body: PatchBody::Merge(body),
                            origin,
                            origin_at: String::new(),
                            embedded,
                        });
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// The target of a patch without one: its own kind and name.
fn own_target(patch: &Value) -> Value {
    let mut target = Map::new();
    for (key, from) in [("kind", "/kind"), ("name", "/metadata/name")] {
        if let Some(v) = patch.pointer(from) {
            target.insert(key.into(), v.clone());
        }
    }
    Value::Object(target)
}

/// A field a kustomize transformer sets, from a kustomization's `configurations` files
/// (`namespace: [{kind, group, path, create}]`): kustomize's namespace transformer sets these
/// fields too, e.g. the service namespace of a webhook configuration.
struct FieldSpec {
    kind: Option<String>,
    group: Option<String>,
    /// Field names; a list on the way is entered element by element, as kustomize does.
    path: Vec<String>,
    /// Whether kustomize creates the field when it is absent.
    create: bool,
}

impl FieldSpec {
    fn selects(&self, doc: &Document) -> bool {
        self.kind.as_deref().is_none_or(|k| doc.kind() == Some(k))
            && self.group.as_deref().is_none_or(|g| doc.group() == g)
    }
}

/// The namespace field specs of a kustomization's `configurations` files (those loaded from
/// the repository; at most 64 specs of 16 fields each).
fn namespace_field_specs(
    docs: &[Document],
    index: &Index,
    kustomization: &Document,
    dir: &Path,
) -> Vec<FieldSpec> {
    let mut out = Vec::new();
    let entries = kustomization
        .value
        .get("configurations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    for entry in entries {
        let Some(file) = normalise(&dir.join(entry)) else {
            continue;
        };
        for &i in index.files.get(&file).into_iter().flatten() {
            let specs = docs[i]
                .value
                .get("namespace")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            for spec in specs {
                let text = |k: &str| spec.get(k).and_then(Value::as_str).map(str::to_string);
                let Some(path) = text("path") else { continue };
                let path: Vec<String> = path
                    .split('/')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect();
                if path.is_empty() || path.len() > 16 || out.len() >= 64 {
                    continue;
                }
                out.push(FieldSpec {
                    kind: text("kind"),
                    group: text("group"),
                    path,
                    create: spec.get("create").and_then(Value::as_bool) == Some(true),
                });
            }
        }
    }
    out
}

/// Sets the string field at `path` under `value` (entering lists element by element), when
/// it is there or `create` allows making it in a parent that is there. Depth is bounded.
fn set_field(value: &mut Value, path: &[String], to: &str, create: bool, depth: usize) {
    if depth > 32 {
        return;
    }
    match value {
        Value::Array(items) => {
            for item in items {
                set_field(item, path, to, create, depth + 1);
            }
        }
        Value::Object(map) => {
            let Some((field, rest)) = path.split_first() else {
                return;
            };
            if rest.is_empty() {
                if create || map.contains_key(field) {
                    map.insert(field.clone(), Value::String(to.to_string()));
                }
                return;
            }
            // Only the last field is made: a missing parent stays missing, so nothing here
            // can give a field a shape its schema does not have.
            if let Some(next) = map.get_mut(field) {
                set_field(next, rest, to, create, depth + 1);
            }
        }
        _ => {}
    }
}

/// Set `metadata.namespace` of a namespaced object.
fn set_namespace(doc: &mut Document, namespace: &str) {
    if doc.class != Class::Object || doc.kind().is_some_and(|k| CLUSTER_SCOPED.contains(&k)) {
        return;
    }
    if let Some(map) = doc.value.as_object_mut() {
        let metadata = map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(metadata) = metadata.as_object_mut() {
            metadata.insert("namespace".into(), Value::String(namespace.into()));
        }
    }
}

/// The label transformers of a kustomization: `commonLabels` (into selectors too) and each
/// `labels` entry (into selectors and templates when it says so).
fn label_transforms(kustomization: &Document) -> Vec<(Map<String, Value>, bool)> {
    let mut out = Vec::new();
    if let Some(common) = kustomization
        .value
        .get("commonLabels")
        .and_then(Value::as_object)
    {
        out.push((common.clone(), true));
    }
    for entry in kustomization
        .value
        .get("labels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(pairs) = entry.get("pairs").and_then(Value::as_object) {
            let selectors = entry.get("includeSelectors").and_then(Value::as_bool) == Some(true);
            out.push((pairs.clone(), selectors));
        }
    }
    out
}

/// What kustomize's label transformer does: labels on the object, and with `selectors`
/// on the selector and pod template of workloads and on a Service's selector.
fn add_labels(doc: &mut Document, labels: &Map<String, Value>, selectors: bool) {
    if doc.class != Class::Object {
        return;
    }
    let kind = doc.kind().unwrap_or("").to_string();
    let mut targets = vec!["/metadata/labels".to_string()];
    if selectors {
        match kind.as_str() {
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => {
                targets.push("/spec/selector/matchLabels".into());
                targets.push("/spec/template/metadata/labels".into());
            }
            "ReplicationController" | "Service" => targets.push("/spec/selector".into()),
            "Job" => targets.push("/spec/template/metadata/labels".into()),
            "CronJob" => targets.push("/spec/jobTemplate/spec/template/metadata/labels".into()),
            _ => {}
        }
    }
    for target in targets {
        if let Some(map) = map_at(&mut doc.value, &target) {
            for (k, v) in labels {
                map.insert(k.clone(), v.clone());
            }
        }
    }
}

/// The map at `pointer`, created (with its parents) when absent; `None` when something
/// other than a map is in the way.
pub fn map_at<'v>(value: &'v mut Value, pointer: &str) -> Option<&'v mut Map<String, Value>> {
    let mut node = value;
    for part in pointer.trim_start_matches('/').split('/') {
        node = node
            .as_object_mut()?
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    node.as_object_mut()
}

/// Apply what kustomize and Flux do. Returns the notes to report; reclassifies patches,
/// fills in namespaces and variables, corrects values kustomize reads as strings.
pub fn apply(loaded: &mut Loaded, root: Option<&Path>) -> Vec<Diagnostic> {
    let index = Index::of(&loaded.documents);
    let mut notes = multiple_kustomizations(&index, &loaded.documents);
    let docs = &mut loaded.documents;
    let kustomizations: Vec<usize> = (0..docs.len())
        .filter(|i| is_kustomization_file(&file_of(&docs[*i])) && docs[*i].value.is_object())
        .collect();

    // Patches are partial objects.
    let mut patches: BTreeMap<PathBuf, (PathBuf, &'static str)> = BTreeMap::new();
    let mut generator_data: BTreeMap<PathBuf, (PathBuf, String)> = BTreeMap::new();
    let mut built_by_kustomize: BTreeSet<PathBuf> = BTreeSet::new();
    let mut namespace_of: BTreeMap<PathBuf, (usize, String)> = BTreeMap::new();
    let mut labelled: Vec<(BTreeSet<PathBuf>, Map<String, Value>, bool)> = Vec::new();
    let mut namespace_fields: Vec<(BTreeSet<PathBuf>, String, Vec<FieldSpec>)> = Vec::new();
    let mut patched: Vec<(usize, BTreeSet<PathBuf>, Vec<KustomizePatch>)> = Vec::new();
    let mut builds: Vec<(usize, BTreeSet<PathBuf>, BTreeSet<usize>)> = Vec::new();
    for &k in &kustomizations {
        let file = file_of(&docs[k]);
        let dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
        for (patch, field) in patch_files(&docs[k], &dir) {
            patches.entry(patch).or_insert((file.clone(), field));
        }
        for (input, generated) in generator_inputs(&docs[k], &dir) {
            generator_data
                .entry(input)
                .or_insert((file.clone(), generated));
        }
        let mut files = BTreeSet::new();
        let mut reached = BTreeSet::new();
        build_files(docs, &index, k, &mut files, &mut reached);
        // The outermost kustomization's namespace wins: it is applied last.
        if let Some(ns) = docs[k].value.get("namespace").and_then(Value::as_str) {
            for f in &files {
                let depth = reached.len();
                match namespace_of.get(f) {
                    Some((d, _)) if *d >= depth => {}
                    _ => {
                        namespace_of.insert(f.clone(), (depth, ns.to_string()));
                    }
                }
            }
        }
        for (labels, selectors) in label_transforms(&docs[k]) {
            labelled.push((files.clone(), labels, selectors));
        }
        if let Some(ns) = docs[k].value.get("namespace").and_then(Value::as_str) {
            let specs = namespace_field_specs(docs, &index, &docs[k], &dir);
            if !specs.is_empty() {
                namespace_fields.push((files.clone(), ns.to_string(), specs));
            }
        }
        for (patch, target) in unseen_patches(&docs[k], &dir, &index) {
            let by = format!(
                "built with `{patch}` (a patch {} lists), which is not in the repository",
                file.display()
            );
            for i in index.documents_of(&files) {
                let doc = &mut docs[i];
                // A selector this cannot evaluate may select the object.
                let selected = target
                    .as_ref()
                    .is_none_or(|t| targets(t, doc) != Some(false));
                if doc.class == Class::Object && selected {
                    doc.set_completed_elsewhere(by.clone());
                }
            }
        }
        let own = kustomize_patches(docs, &index, k, &dir);
        if !own.is_empty() {
            patched.push((k, files.clone(), own));
        }
        built_by_kustomize.extend(files.iter().cloned());
        builds.push((k, files, reached));
    }
    for doc in docs.iter_mut() {
        let file = file_of(doc);
        if let Some((kustomization, field)) = patches.get(&file) {
            if doc.class == Class::Object && !built_by_kustomize.contains(&file) {
                doc.class = Class::NotKubernetes {
                    reason: format!(
                        "a kustomize patch (listed in `{field}` of {}): part of an object, merged into its target when kustomize builds",
                        kustomization.display()
                    ),
                };
                notes.push(
                    Diagnostic::note(
                        "load/kustomize-patch",
                        format!(
                            "`{}` is a kustomize patch (`{field}` of {}): it completes an object, it is not one; checked as part of the object kustomize builds",
                            doc.id(),
                            kustomization.display()
                        ),
                    )
                    .at(doc.start())
                    .with_help("nothing to fix; `kubectl kustomize` shows the merged object"),
                );
            }
            continue;
        }
        // A file that is also listed as a resource is applied as well: judged as usual.
        if let Some((kustomization, generated)) = generator_data
            .get(&file)
            .filter(|_| doc.class == Class::Object && !built_by_kustomize.contains(&file))
        {
            let reason = format!(
                "data: kustomize reads the file into {generated} ({}), it is not applied as an object",
                kustomization.display()
            );
            notes.push(
                Diagnostic::note(
                    "load/not-kubernetes",
                    format!("document skipped: not a Kubernetes object ({reason})"),
                )
                .at(doc.start())
                .with_help(
                    "nothing to fix; list it under `resources` if it is meant to be applied",
                ),
            );
            doc.class = Class::NotKubernetes { reason };
            continue;
        }
        if let Some((_, ns)) = namespace_of.get(&file) {
            set_namespace(doc, ns);
        }
        for (files, labels, selectors) in &labelled {
            if files.contains(&file) {
                add_labels(doc, labels, *selectors);
            }
        }
        for (files, ns, specs) in &namespace_fields {
            if doc.class == Class::Object && files.contains(&file) {
                let selected: Vec<&FieldSpec> = specs.iter().filter(|s| s.selects(doc)).collect();
                for spec in selected {
                    set_field(&mut doc.value, &spec.path, ns, spec.create, 0);
                }
            }
        }
    }

    // Flux Kustomizations: patches, variables and target namespaces of the files under their
    // path.
    let mut substituted: BTreeSet<PathBuf> = BTreeSet::new();
    let mut flux_applied: BTreeSet<PathBuf> = BTreeSet::new();
    if let Some(root) = root.and_then(normalise) {
        let flux: Vec<usize> = (0..docs.len())
            .filter(|i| docs[*i].is("kustomize.toolkit.fluxcd.io", "Kustomization"))
            .collect();
        for &k in &flux {
            let spec = docs[k].value.get("spec").cloned().unwrap_or(Value::Null);
            let files = flux_files(docs, &index, &root, &docs[k]);
            if files.is_empty() {
                continue;
            }
            built_by_kustomize.extend(files.iter().cloned());
            flux_applied.extend(files.iter().cloned());
            if spec.get("postBuild").is_some() {
                substituted.extend(files.iter().cloned());
            }
            let variables = flux_variables(docs, &docs[k], &spec);
            let target = spec
                .get("targetNamespace")
                .and_then(Value::as_str)
                .map(str::to_string);
            // Only the documents of those files (the index has them): a pass over every
            // document per Flux Kustomization would be quadratic in large repositories.
            for i in index.documents_of(&files) {
                let doc = &mut docs[i];
                if let Some(ns) = &target {
                    set_namespace(doc, ns);
                }
                if spec.get("postBuild").is_some()
                    && doc.annotation("kustomize.toolkit.fluxcd.io/substitute") != Some("disabled")
                {
                    substitute_document(doc, &variables);
                }
            }
        }
    }

    // An object named or namespaced by a `${VAR}` that no Flux Kustomization substitutes is a template
    // that a task or `envsubst` fills in (`name: ${APP}-app`, copied to start a new app):
    // its copies are completed by the build they land in (a cluster's Flux patches).
    for doc in docs.iter_mut() {
        let templated = [("name", doc.name()), ("namespace", doc.namespace())]
            .into_iter()
            .find_map(|(what, v)| {
                v.filter(|v| v.contains("${"))
                    .map(|v| (what, v.to_string()))
            });
        if let Some((what, value)) = templated {
            if doc.class == Class::Object && !substituted.contains(&file_of(doc)) {
                doc.set_completed_elsewhere(format!(
                    "a template: its {what} `{value}` is a variable that no Flux Kustomization of the repository substitutes, so a task or `envsubst` makes its copies and the build they land in completes them"
                ));
            }
        }
    }

    // Files that a script or document applies with `kubectl patch`: partial objects (only
    // where neither kustomize nor Flux applies them whole, and they are no kustomize patch).
    for (file, by) in kubectl_patch_files(&loaded.sources, &index, root) {
        if patches.contains_key(&file) || built_by_kustomize.contains(&file) {
            continue;
        }
        for &i in index.files.get(&file).into_iter().flatten() {
            if docs[i].class == Class::Object {
                docs[i].set_partial(by.clone());
            }
        }
    }

    // Files in a folder named `patches` that nothing applies (no kustomization or Flux
    // Kustomization, no kustomize patch list, no `kubectl patch` found): by the folder's
    // name, patches that a script or tool merges into their targets (`yq` in a bootstrap
    // script, kubeadm, Talos). A whole object there keeps every field it sets judged.
    for doc in docs.iter_mut() {
        let file = file_of(doc);
        if doc.class != Class::Object
            || doc.partial().is_some()
            || patches.contains_key(&file)
            || built_by_kustomize.contains(&file)
        {
            continue;
        }
        let folder = file
            .ancestors()
            .skip(1)
            .find(|a| a.file_name().is_some_and(|n| n == PATCH_FOLDER));
        if let Some(folder) = folder {
            doc.set_patch_folder(folder.display().to_string());
        }
    }

    // kustomize reads YAML 1.1 booleans (`on`, `Off`, `yes`) as strings.
    let mut corrected: BTreeSet<(String, u32, u32)> = BTreeSet::new();
    let mut lines = LineStarts::default();
    for doc in docs.iter_mut() {
        if doc.class != Class::Object || !built_by_kustomize.contains(&file_of(doc)) {
            continue;
        }
        for (pointer, text) in yaml11_booleans(doc, &mut lines) {
            let at = doc.value_location(&pointer);
            if let Some(slot) = pointer_mut(&mut doc.value, &pointer) {
                *slot = Value::String(text);
                corrected.insert((at.file, at.line, at.column));
            }
        }
    }
    for d in loaded.diagnostics.iter_mut() {
        if d.rule != "yaml/ambiguous-value" {
            continue;
        }
        let Some(at) = &d.location else { continue };
        if corrected.contains(&(at.file.clone(), at.line, at.column)) {
            d.severity = Severity::Note;
            d.message = format!(
                "{} stays a string: kustomize builds this file and reads YAML 1.2 rules, while `kubectl apply -f` on the file alone would read a boolean",
                d.message.split(" is read as").next().unwrap_or(&d.message)
            );
            d.help = Some("quote it so that every tool reads the same value".into());
        }
    }
    // Patches last, after variables and value corrections: what they fill in has no
    // place in a file to read again. kustomize's own patches first: Flux builds with them.
    fill_from_every_build(docs, &index, &patched, &builds, &flux_applied);
    // A Flux patch may give child Kustomizations patches of their own (defaults for the
    // HelmReleases they apply): fill until nothing changes, a few levels at most.
    if let Some(root) = root.and_then(normalise) {
        let flux: Vec<usize> = (0..docs.len())
            .filter(|i| docs[*i].is("kustomize.toolkit.fluxcd.io", "Kustomization"))
            .collect();
        for _ in 0..4 {
            let mut changed = false;
            for &k in &flux {
                changed |= apply_flux_patches(docs, &index, &root, k);
            }
            if !changed {
                break;
            }
        }
    }

    notes
}

/// Folders with more than one kustomization file: kustomize does not choose among
/// `kustomization.yaml`, `kustomization.yml` and `Kustomization`, it refuses to build the
/// folder. One error per folder, on the first of them (in that order).
fn multiple_kustomizations(index: &Index, docs: &[Document]) -> Vec<Diagnostic> {
    let mut by_dir: BTreeMap<&Path, Vec<(&'static str, usize)>> = BTreeMap::new();
    for (file, found) in &index.files {
        let Some(name) = file
            .file_name()
            .and_then(|n| FILE_NAMES.iter().find(|k| n == **k))
        else {
            continue;
        };
        if let Some(&first) = found.first() {
            by_dir
                .entry(file.parent().unwrap_or(Path::new("")))
                .or_default()
                .push((name, first));
        }
    }
    let mut out = Vec::new();
    for (dir, mut files) in by_dir.into_iter().filter(|(_, f)| f.len() > 1) {
        files.sort_by_key(|(name, _)| FILE_NAMES.iter().position(|k| k == name));
        let names: Vec<String> = files.iter().map(|(n, _)| format!("`{n}`")).collect();
        let folder = if dir.as_os_str().is_empty() {
            "the checked folder".to_string()
        } else {
            format!("`{}/`", dir.display())
        };
        out.push(
            Diagnostic::error(
                "kustomize/multiple-kustomizations",
                format!(
                    "{folder} holds {} kustomization files ({}): kustomize refuses to build a folder with more than one (\"Found multiple kustomization files\"), so `kubectl apply -k`, Argo CD and Flux fail on it",
                    files.len(),
                    names.join(", ")
                ),
            )
            .at(Location::file_only(docs[files[0].1].source.name.clone()))
            .with_help("keep one kustomization file in the folder and delete the others"),
        );
    }
    out
}

/// The folder name that says its files are patches to merge, not objects to apply.
const PATCH_FOLDER: &str = "patches";

/// Longest line (after joining `\` continuations) read for a `kubectl patch` command.
const MAX_COMMAND_BYTES: usize = 8192;

/// The files that `kubectl patch` applies as patches, in the text of every input (scripts,
/// Makefiles, task files, CI workflows, READMEs): `--patch-file FILE`, `-p @FILE` and
/// `-p "$(cat FILE)"`, each with the place that says so (`cmp/README.md:7`); and the files a
/// build step adds to a kustomization as patches (`kustomize edit add patch --path FILE`,
/// as operator scaffolds' Makefiles do after a `cd` into the kustomization's folder). Text
/// search only, nothing is run; a path is resolved lexically against the text's folder and
/// the repository's root (a bare file name that `kustomize edit` gives, relative to a folder
/// the text `cd`s into, also by the one loaded file of that name), and only a file loaded
/// from the inputs (so inside them) counts.
fn kubectl_patch_files(
    sources: &[Arc<crate::Source>],
    index: &Index,
    root: Option<&Path>,
) -> BTreeMap<PathBuf, String> {
    let root = root.and_then(normalise);
    let mut out: BTreeMap<PathBuf, String> = BTreeMap::new();
    for source in sources {
        let terraform =
            source.name.ends_with(".tf") && source.text.contains("patchesStrategicMerge");
        if !terraform
            && (!source.text.contains("patch")
                || !["kubectl", "kustomize", "KUSTOMIZE"]
                    .iter()
                    .any(|tool| source.text.contains(tool)))
        {
            continue;
        }
        let own = source
            .path
            .clone()
            .unwrap_or_else(|| PathBuf::from(&source.name));
        let own = normalise(&own).unwrap_or(own);
        let dir = own.parent().unwrap_or(Path::new("")).to_path_buf();
        let shown = root
            .as_deref()
            .and_then(|r| own.strip_prefix(r).ok())
            .unwrap_or(&own)
            .display()
            .to_string();
        if terraform {
            for (arg, line) in terraform_patch_files(&source.text) {
                if let Some(file) = resolve_script_path(&arg, &dir, root.as_deref(), index) {
                    out.entry(file).or_insert_with(|| {
                        format!("{shown}:{line} (`patchesStrategicMerge` of a kustomization Terraform writes)")
                    });
                }
            }
            continue;
        }
        let lines: Vec<&str> = source.text.lines().collect();
        let mut n = 0;
        while n < lines.len() {
            let start = n;
            // A command continued with `\` over a few lines.
            let mut command = String::new();
            loop {
                let line = lines[n];
                n += 1;
                if command.len() + line.len() > MAX_COMMAND_BYTES {
                    break;
                }
                match line.trim_end().strip_suffix('\\') {
                    Some(head) if n < lines.len() && n - start < 16 => {
                        command.push_str(head);
                        command.push(' ');
                    }
                    _ => {
                        command.push_str(line);
                        break;
                    }
                }
            }
            let by_kubectl = patch_file_args(&command).into_iter().filter_map(|arg| {
                resolve_script_path(&arg, &dir, root.as_deref(), index)
                    .map(|file| (file, "kubectl patch"))
            });
            let by_kustomize = kustomize_edit_patch_args(&command)
                .into_iter()
                .filter_map(|arg| {
                    resolve_script_path(&arg, &dir, root.as_deref(), index)
                        .or_else(|| unique_file_named(&arg, root.as_deref(), index))
                        .map(|file| (file, "kustomize edit add patch"))
                });
            for (file, tool) in by_kubectl.chain(by_kustomize).collect::<Vec<_>>() {
                out.entry(file)
                    .or_insert_with(|| format!("{shown}:{} (`{tool}`)", start + 1));
            }
        }
    }
    out
}

/// The files a Terraform configuration puts in the `patchesStrategicMerge` list of a
/// kustomization it writes (`yamlencode({... patchesStrategicMerge = [file("${path.module}/
/// kustomize/x.yaml")] ...})`), each with the line that names it (1-based). Only the list
/// after the key is read (up to its closing bracket, at most 8 KiB).
fn terraform_patch_files(text: &str) -> Vec<(String, usize)> {
    const MAX_LIST_BYTES: usize = 8192;
    let mut out = Vec::new();
    for (at, key) in text.match_indices("patchesStrategicMerge") {
        let rest = &text[at + key.len()..];
        let Some(open) = rest.find(['[', '(']) else {
            continue;
        };
        if !rest[..open].trim().starts_with('=') {
            continue;
        }
        let mut depth = 0usize;
        let mut end = rest.len();
        for (i, c) in rest[open..].char_indices() {
            if i >= MAX_LIST_BYTES {
                end = open + i;
                break;
            }
            match c {
                '[' | '(' => depth += 1,
                ']' | ')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let list_start = at + key.len() + open;
        let list = &rest[open..end];
        for (i, _) in list.match_indices("file(\"") {
            let arg = &list[i + 6..];
            let Some(close) = arg.find('"') else { continue };
            let line = text[..list_start + i].matches('\n').count() + 1;
            out.push((arg[..close].to_string(), line));
        }
    }
    out
}

/// The `--path` arguments of the `kustomize edit add patch` commands on one command line
/// (the binary often a Makefile variable: `$(KUSTOMIZE) edit add patch --path x.yaml`).
fn kustomize_edit_patch_args(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in command.split(['|', ';', '&']) {
        let words: Vec<&str> = part.split_whitespace().collect();
        let Some(at) = words
            .iter()
            .position(|w| w.to_ascii_lowercase().contains("kustomize"))
        else {
            continue;
        };
        let rest = &words[at + 1..];
        if rest.len() < 3 || rest[..3] != ["edit", "add", "patch"] {
            continue;
        }
        let mut i = 3;
        while i < rest.len() {
            let word = rest[i];
            i += 1;
            let value = match word.split_once('=') {
                Some(("--path", v)) => v,
                _ if word == "--path" => match rest.get(i) {
                    Some(v) => {
                        i += 1;
                        v
                    }
                    None => break,
                },
                _ => continue,
            };
            out.push(value.trim_matches(['"', '\'', '`']).to_string());
        }
    }
    out
}

/// The one loaded file, inside `root`, whose name is `name` (a bare file name, no folder):
/// what a command run after a `cd` names. `None` when no file or several have that name.
fn unique_file_named(name: &str, root: Option<&Path>, index: &Index) -> Option<PathBuf> {
    if name.is_empty() || name.contains(['/', '\\', '$']) {
        return None;
    }
    let root = root?;
    let mut found = index
        .files
        .keys()
        .filter(|p| p.starts_with(root) && p.file_name().is_some_and(|f| f == name));
    let first = found.next()?;
    found.next().is_none().then(|| first.clone())
}

/// The file arguments of the `kubectl patch` commands on one command line.
fn patch_file_args(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    // Each command of a pipeline or list on its own.
    for part in command.split(['|', ';', '&']) {
        let words: Vec<&str> = part.split_whitespace().collect();
        let Some(at) = words
            .iter()
            .position(|w| w.trim_matches(['"', '\'', '`']) == "kubectl")
        else {
            continue;
        };
        let words = &words[at + 1..];
        if !words.contains(&"patch") {
            continue;
        }
        let unquote = |w: &str| w.trim_matches(['"', '\'', '`', '(', ')']).to_string();
        let flags = ["--patch-file", "-p", "--patch"];
        for (flag, value, next) in crate::command_line::option_values(words, &flags) {
            let value = unquote(value);
            if flag == "--patch-file" {
                out.push(value);
            } else if let Some(file) = value.strip_prefix('@') {
                out.push(file.to_string());
            } else if matches!(value.as_str(), "$(cat" | "$(<") {
                // `-p "$(cat FILE)"`: the file is the next word.
                if let Some(file) = words.get(next) {
                    out.push(unquote(file));
                }
            } else if let Some(file) = value.strip_prefix("$(<").or(value.strip_prefix("<")) {
                out.push(file.to_string());
            }
        }
    }
    out
}

/// The loaded file a path written in a script names: relative to the script's folder or to
/// the repository's root; a leading variable (`$DIR/`, `$(dirname "$0")/`) is taken as the
/// script's folder. Absolute paths, `~`, other variables and paths that leave the root
/// name nothing.
fn resolve_script_path(
    arg: &str,
    dir: &Path,
    root: Option<&Path>,
    index: &Index,
) -> Option<PathBuf> {
    let mut path = arg;
    let mut from_script_dir_only = false;
    if path.starts_with('$') {
        path = path.split_once('/')?.1;
        from_script_dir_only = true;
    }
    if path.is_empty() || path.contains('$') || path.starts_with(['/', '~', '\\']) {
        return None;
    }
    let mut bases = vec![dir];
    if let (Some(root), false) = (root, from_script_dir_only) {
        bases.push(root);
    }
    bases
        .into_iter()
        .filter_map(|base| normalise(&base.join(path)))
        .filter(|candidate| root.is_none_or(|r| candidate.starts_with(r)))
        .find(|candidate| index.files.contains_key(candidate))
}

/// The files a Flux Kustomization applies: those under its `path` and what their
/// kustomization builds.
fn flux_files(
    docs: &[Document],
    index: &Index,
    root: &Path,
    kustomization: &Document,
) -> BTreeSet<PathBuf> {
    let Some(dir) = flux_dir(index, root, kustomization) else {
        return BTreeSet::new();
    };
    let mut files: BTreeSet<PathBuf> = index.under(&dir).cloned().collect();
    if let Some(kz) = index.kustomization_in(&dir) {
        let mut reached = BTreeSet::new();
        build_files(docs, index, kz, &mut files, &mut reached);
    }
    files
}

/// The folder a Flux Kustomization's `path` names. The path is relative to its source's
/// root, which is the repository's root or, for a source built from a subfolder (an
/// OCIRepository pushed from `kubernetes/`), one of the folders that hold the Kustomization's
/// own file: the first of those where the path leads to loaded files.
fn flux_dir(index: &Index, root: &Path, kustomization: &Document) -> Option<PathBuf> {
    let path = kustomization.value.pointer("/spec/path")?.as_str()?;
    let path = path.trim_start_matches('/');
    let file = file_of(kustomization);
    let mut bases: Vec<&Path> = vec![root];
    let mut folders: Vec<&Path> = file
        .parent()
        .into_iter()
        .flat_map(Path::ancestors)
        .filter(|a| a.starts_with(root) && *a != root)
        .collect();
    folders.reverse();
    bases.extend(folders);
    bases
        .into_iter()
        .filter_map(|base| normalise(&base.join(path)))
        .find(|dir| index.under(dir).next().is_some())
}

/// Fill in what the strategic-merge `spec.patches` of Flux Kustomization `k` add to the
/// objects it applies (a common way to give every child Kustomization or HelmRelease its
/// `interval`, `prune` or `postBuild`). Only absent fields are filled: a value the file sets
/// is never replaced, so a patch can hide no fault of the file. JSON6902 patches (lists of
/// operations) and targets this cannot evaluate are left alone. Returns whether anything
/// was filled.
fn apply_flux_patches(docs: &mut [Document], index: &Index, root: &Path, k: usize) -> bool {
    let spec = docs[k].value.get("spec").cloned().unwrap_or(Value::Null);
    let Some(entries) = spec.get("patches").and_then(Value::as_array) else {
        return false;
    };
    let mut patches: Vec<(Value, Value, Arc<Document>, String)> = Vec::new();
    for (n, entry) in entries.iter().enumerate() {
        let Some(text) = entry.get("patch").and_then(Value::as_str) else {
            continue;
        };
        let (parsed, _) = crate::parse_str("patch", text);
        let Some(parsed) = parsed.into_iter().next() else {
            continue;
        };
        let patch = parsed.value.clone();
        if !patch.is_object() {
            continue;
        }
        let target = match entry.get("target") {
            Some(t) if t.is_object() => t.clone(),
            // Without a target, the patch names its own object.
            _ => own_target(&patch),
        };
        patches.push((
            target,
            patch,
            Arc::new(parsed),
            format!("/spec/patches/{n}/patch"),
        ));
    }
    if patches.is_empty() {
        return false;
    }
    let files = flux_files(docs, index, root, &docs[k]);
    // What the patches fill in is located at their text in the Kustomization.
    let container = Arc::new(docs[k].clone());
    let mut changed = false;
    for i in index.documents_of(&files) {
        let doc = &mut docs[i];
        if i == k || doc.class != Class::Object {
            continue;
        }
        for (target, patch, origin, scalar_at) in &patches {
            if targets(target, doc) == Some(true) {
                let mut patch = patch.clone();
                if let Some(meta) = patch.get_mut("metadata").and_then(Value::as_object_mut) {
                    // The patch's name and namespace only select; they are not set.
                    meta.remove("name");
                    meta.remove("namespace");
                }
                let mut filled = Vec::new();
                fill_absent_at(&mut doc.value, &patch, &mut String::new(), &mut filled);
                changed |= !filled.is_empty();
                for at in filled {
                    let embedded = Some((container.clone(), scalar_at.clone()));
                    doc.add_graft(at.clone(), origin.clone(), at, embedded);
                }
            }
        }
    }
    changed
}

/// Whether a kustomize/Flux patch `target` selects `doc`; `None` when it uses a selector
/// this does not evaluate (so the patch is not applied).
fn targets(target: &Value, doc: &Document) -> Option<bool> {
    let field = |key: &str| target.get(key).and_then(Value::as_str);
    let matches = |pattern: Option<&str>, value: Option<&str>| -> Option<bool> {
        let Some(pattern) = pattern else {
            return Some(true);
        };
        let value = value.unwrap_or("");
        // kustomize matches names and namespaces as anchored regular expressions.
        let re = regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
            .size_limit(1 << 20)
            .build()
            .ok()?;
        Some(re.is_match(value))
    };
    let mut ok = matches(field("kind"), doc.kind())?
        && matches(field("group"), Some(doc.group()))?
        && matches(field("version"), Some(doc.version()))?
        && matches(field("name"), doc.name())?
        && matches(field("namespace"), doc.namespace())?;
    for (key, labels) in [
        ("labelSelector", doc.value.pointer("/metadata/labels")),
        (
            "annotationSelector",
            doc.value.pointer("/metadata/annotations"),
        ),
    ] {
        let Some(selector) = field(key) else { continue };
        ok &= selector_matches(selector, labels)?;
    }
    Some(ok)
}

/// Whether a Kubernetes label selector string (`app=web,tier!=db`, `app in (a, b)`,
/// `env notin (dev)`, `app`, `!legacy`) selects an object with these labels; `None` when a
/// term is not one of those forms.
fn selector_matches(selector: &str, labels: Option<&Value>) -> Option<bool> {
    let have = |name: &str| {
        labels
            .and_then(|l| l.get(name.trim()))
            .and_then(Value::as_str)
    };
    // Terms are separated by commas outside the parentheses of a set.
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in selector.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.checked_sub(1)?,
            ',' if depth == 0 => {
                terms.push(&selector[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&selector[start..]);
    let mut ok = true;
    for term in terms.into_iter().map(str::trim).filter(|t| !t.is_empty()) {
        let set_term = |op: &str| -> Option<(&str, Vec<&str>)> {
            let (name, rest) = term.split_once(op)?;
            let values = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
            let name = name.trim();
            let is_name = !name.is_empty() && !name.contains(char::is_whitespace);
            is_name.then(|| (name, values.split(',').map(str::trim).collect()))
        };
        let matched = if let Some((name, values)) = set_term(" notin ") {
            have(name).is_none_or(|v| !values.contains(&v))
        } else if let Some((name, values)) = set_term(" in ") {
            have(name).is_some_and(|v| values.contains(&v))
        } else if let Some((name, want)) = term.split_once("!=") {
            have(name) != Some(want.trim())
        } else if let Some((name, want)) = term.split_once('=') {
            have(name) == Some(want.trim_start_matches('=').trim())
        } else if let Some(name) = term.strip_prefix('!') {
            have(name).is_none()
        } else if term.contains(char::is_whitespace) {
            return None;
        } else {
            have(term).is_some()
        };
        ok &= matched;
    }
    Some(ok)
}

/// Copy into `value` (the node at pointer `at`) the fields of `patch` that it lacks (maps
/// merged key by key), collecting the pointers of what it filled in.
fn fill_absent_at(value: &mut Value, patch: &Value, at: &mut String, filled: &mut Vec<String>) {
    let (Some(into), Some(from)) = (value.as_object_mut(), patch.as_object()) else {
        return;
    };
    for (key, add) in from {
        let len = at.len();
        at.push('/');
        at.push_str(&key.replace('~', "~0").replace('/', "~1"));
        match into.get_mut(key) {
            None => {
                // `$patch` directives and nulls (deletions) add nothing.
                if !key.starts_with('$') && !add.is_null() {
                    into.insert(key.clone(), add.clone());
                    filled.push(at.clone());
                }
            }
            Some(existing) if existing.is_object() && add.is_object() => {
                fill_absent_at(existing, add, at, filled);
            }
            Some(_) => {}
        }
        at.truncate(len);
    }
}

/// The `${VAR}` values a Flux Kustomization provides: `substituteFrom` ConfigMaps and
/// Secrets found in the repository, then `substitute` (which wins).
fn flux_variables(
    docs: &[Document],
    kustomization: &Document,
    spec: &Value,
) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    let namespace = kustomization.namespace();
    for from in spec
        .pointer("/postBuild/substituteFrom")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = from.get("kind").and_then(Value::as_str).unwrap_or("");
        let name = from.get("name").and_then(Value::as_str);
        let Some(source) = docs
            .iter()
            .filter(|d| d.class == Class::Object && d.kind() == Some(kind) && d.name() == name)
            .min_by_key(|d| d.namespace() != namespace)
        else {
            continue;
        };
        let mut put = |k: &String, v: Option<String>| {
            if let Some(v) = v {
                vars.insert(k.clone(), v);
            }
        };
        for (k, v) in source
            .value
            .get("data")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let text = v.as_str().map(str::to_string);
            if kind == "Secret" {
                // Encrypted (SOPS) or undecodable values stay unknown.
                let decoded = text
                    .and_then(|t| {
                        base64::engine::general_purpose::STANDARD
                            .decode(t.trim())
                            .ok()
                    })
                    .and_then(|b| String::from_utf8(b).ok());
                put(k, decoded.filter(|d| !d.starts_with("ENC[")));
            } else {
                put(k, text);
            }
        }
        for (k, v) in source
            .value
            .get("stringData")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            put(
                k,
                v.as_str()
                    .filter(|t| !t.starts_with("ENC["))
                    .map(str::to_string),
            );
        }
    }
    for (k, v) in spec
        .pointer("/postBuild/substitute")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        vars.insert(k.clone(), text);
    }
    vars
}

/// `${NAME}`, `${NAME:=default}`, `${NAME:-default}` (and without the colon), `$${...}` for a
/// literal `${...}`, as Flux's envsubst reads them. Returns the text and whether every
/// variable was known.
pub fn substitute(text: &str, vars: &BTreeMap<String, String>) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut known = true;
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        if let Some(literal) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = literal;
            continue;
        }
        if !after.starts_with("${") {
            out.push('$');
            rest = &after[1..];
            continue;
        }
        let Some(end) = after.find('}') else {
            out.push_str(after);
            rest = "";
            break;
        };
        let inner = &after[2..end];
        let name_end = inner
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(inner.len());
        let name = &inner[..name_end];
        let operator = &inner[name_end..];
        let valid_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !valid_name {
            out.push_str(&after[..=end]);
            rest = &after[end + 1..];
            continue;
        }
        let default = ["-", ":-", "=", ":="]
            .iter()
            .find_map(|op| operator.strip_prefix(op));
        match (vars.get(name), default) {
            (Some(v), _) => out.push_str(v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                known = false;
                out.push_str(&after[..=end]);
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    (out, known)
}

/// Substitute every string value of a document; a plain scalar that was exactly one
/// variable is read again as YAML (`replicas: ${REPLICAS}` becomes a number).
fn substitute_document(doc: &mut Document, vars: &BTreeMap<String, String>) {
    let mut changes: Vec<(String, Value)> = Vec::new();
    let mut stack: Vec<(String, &Value)> = vec![(String::new(), &doc.value)];
    while let Some((pointer, value)) = stack.pop() {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    stack.push((
                        format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1")),
                        v,
                    ));
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    stack.push((format!("{pointer}/{i}"), v));
                }
            }
            Value::String(s) if s.contains("${") => {
                let (text, known) = substitute(s, vars);
                if text == *s {
                    continue;
                }
                let whole = s.trim().starts_with("${")
                    && s.trim().ends_with('}')
                    && s.trim().matches("${").count() == 1;
                let new = if known && whole && !quoted(doc, &pointer) {
                    plain_scalar(&text)
                } else {
                    Value::String(text)
                };
                changes.push((pointer, new));
            }
            _ => {}
        }
    }
    for (pointer, new) in changes {
        if let Some(slot) = pointer_mut(&mut doc.value, &pointer) {
            *slot = new;
        }
    }
}

/// Whether the scalar at `pointer` is quoted in the source.
fn quoted(doc: &Document, pointer: &str) -> bool {
    let at = doc.value_location(pointer);
    doc.source
        .text
        .lines()
        .nth(at.line.saturating_sub(1) as usize)
        .and_then(|l| l.chars().nth(at.column.saturating_sub(1) as usize))
        .is_some_and(|c| c == '"' || c == '\'')
}

/// A plain scalar as YAML 1.2 reads it (what the Flux controller parses after substituting).
fn plain_scalar(text: &str) -> Value {
    match text {
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    if text.contains(['.', 'e', 'E'])
        && text
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '+' || c == '.')
    {
        if let Ok(f) = text.parse::<f64>() {
            if f.is_finite() {
                return Value::from(f);
            }
        }
    }
    Value::String(text.to_string())
}

/// Where each line of a source starts, computed once per source on first use: a large file
/// of many documents (a release bundle of CRDs) has thousands of booleans, and looking each
/// one's line up from the start of the text would be quadratic in the file's size.
#[derive(Default)]
struct LineStarts {
    by_source: HashMap<usize, Vec<usize>>,
}

impl LineStarts {
    /// The text of line `line` (1-based) of `source`, without its line break.
    fn line<'t>(&mut self, source: &'t Arc<Source>, line: u32) -> Option<&'t str> {
        let text = source.text.as_str();
        let starts = self
            .by_source
            .entry(Arc::as_ptr(source) as usize)
            .or_insert_with(|| {
                std::iter::once(0)
                    .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                    .collect()
            });
        let start = *starts.get(line.checked_sub(1)? as usize)?;
        let rest = &text[start..];
        let line = rest.split('\n').next().unwrap_or("");
        Some(line.strip_suffix('\r').unwrap_or(line))
    }
}

/// Booleans written the YAML 1.1 way (`on`, `Off`, `yes`, `N`): (pointer, source text).
fn yaml11_booleans(doc: &Document, lines: &mut LineStarts) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack: Vec<(String, &Value)> = vec![(String::new(), &doc.value)];
    while let Some((pointer, value)) = stack.pop() {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    stack.push((
                        format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1")),
                        v,
                    ));
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    stack.push((format!("{pointer}/{i}"), v));
                }
            }
            Value::Bool(_) => {
                let at = doc.value_location(&pointer);
                let token: String = lines
                    .line(&doc.source, at.line)
                    .map(|l| {
                        l.chars()
                            .skip(at.column.saturating_sub(1) as usize)
                            .take_while(|c| c.is_ascii_alphabetic())
                            .collect()
                    })
                    .unwrap_or_default();
                if !token.is_empty()
                    && !token.eq_ignore_ascii_case("true")
                    && !token.eq_ignore_ascii_case("false")
                {
                    out.push((pointer, token));
                }
            }
            _ => {}
        }
    }
    out
}

fn pointer_mut<'v>(value: &'v mut Value, pointer: &str) -> Option<&'v mut Value> {
    if pointer.is_empty() {
        return Some(value);
    }
    value.pointer_mut(pointer)
}

/// Whether the value at `pointer` (or, when absent, its nearest parent) is a string that
/// still holds a `${VAR}` nobody defined, a placeholder an Argo CD plugin fills in at sync
/// (`argocd.<secret:private-domain>`, `<path:kv/data/app#host>`) or a `__NAME__` token a
/// script substitutes (`port: __PORT__`, filled by `sed`): its real value is unknown until
/// then, so no schema can judge it.
pub fn depends_on_variable(doc: &Document, pointer: &str) -> bool {
    let mut p = pointer;
    loop {
        if let Some(v) = doc.value.pointer(p) {
            return v.as_str().is_some_and(|s| {
                s.contains("${") || has_plugin_placeholder(s) || has_script_token(s)
            });
        }
        match p.rfind('/') {
            Some(i) => p = &p[..i],
            None => return false,
        }
    }
}

/// A `<name:argument>` or `<name>` token of identifier characters: the placeholder syntax of
/// Argo CD plugins that replace values at sync (argocd-vault-plugin and its kin).
fn has_plugin_placeholder(s: &str) -> bool {
    homelab_k8s::placeholders::has_delimited_token(s, "<", ">", true, |c| {
        c.is_ascii_alphanumeric() || "_-.:/#".contains(c)
    })
}

/// A `__NAME__` token of capitals, digits and `_` (`__HOST_IP__`, `__PORT__`): the marker
/// a script's `sed` replaces.
fn has_script_token(s: &str) -> bool {
    homelab_k8s::placeholders::has_delimited_token(s, "__", "__", true, |c| {
        c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_tokens_are_unknown_values() {
        assert!(has_script_token("__PORT__"));
        assert!(has_script_token("https://__HOST_IP__:8443"));
        assert!(!has_script_token("__init__"));
        assert!(!has_script_token("a__b"));
        assert!(!has_script_token("8080"));
    }

    #[test]
    fn plugin_placeholders_are_unknown_values() {
        assert!(has_plugin_placeholder("argocd.<secret:private-domain>"));
        assert!(has_plugin_placeholder("<path:kv/data/app#host>"));
        assert!(has_plugin_placeholder("<domain>"));
        assert!(!has_plugin_placeholder("a < b and c > d"));
        assert!(!has_plugin_placeholder("plain.example.org"));
    }

    #[test]
    fn label_selectors_are_read_as_kubernetes_reads_them() {
        let labels = serde_json::json!({"app": "web", "tier": "front", "default": "false"});
        let labels = Some(&labels);
        for (selector, want) in [
            ("app=web", Some(true)),
            ("app==web,tier=front", Some(true)),
            ("app!=web", Some(false)),
            ("missing!=x", Some(true)),
            ("default notin (false)", Some(false)),
            ("default notin (false, no-deps)", Some(false)),
            ("other notin (false)", Some(true)),
            ("tier in (front, back)", Some(true)),
            ("tier in (back)", Some(false)),
            ("missing in (x)", Some(false)),
            ("app", Some(true)),
            ("!app", Some(false)),
            ("!missing", Some(true)),
            ("app=web, tier in (front), !missing", Some(true)),
            ("app=web, tier in (back)", Some(false)),
            ("app in web", None),
            ("tier in (front", None),
        ] {
            assert_eq!(selector_matches(selector, labels), want, "{selector}");
        }
    }

    #[test]
    fn kubectl_patch_file_arguments_in_their_spellings() {
        let args = |c: &str| patch_file_args(c);
        assert_eq!(
            args("kubectl -n argocd patch deploy/x --patch-file manifests/p.yaml"),
            ["manifests/p.yaml"]
        );
        assert_eq!(
            args("kubectl patch deploy x --patch-file=p.yaml"),
            ["p.yaml"]
        );
        assert_eq!(args("kubectl patch deploy x -p @p.yaml"), ["p.yaml"]);
        assert_eq!(
            args("kubectl patch deploy x --type merge -p \"$(cat \"$DIR/p.yaml\")\""),
            ["$DIR/p.yaml"]
        );
        assert_eq!(
            args("kubectl patch deploy x --patch=\"$(<p.yaml)\""),
            ["p.yaml"]
        );
        // An inline patch names no file; other commands are not patches.
        assert!(args("kubectl patch deploy x -p '{\"spec\":{\"replicas\":2}}'").is_empty());
        assert!(args("kubectl apply -f p.yaml && kubectl logs -p pod").is_empty());
        assert!(args("echo patch --patch-file p.yaml").is_empty());
        let edits = |c: &str| kustomize_edit_patch_args(c);
        assert_eq!(
            edits(
                "cd config/default ; $(KUSTOMIZE) edit add patch --path manager_pull_secret.yaml ;"
            ),
            ["manager_pull_secret.yaml"]
        );
        assert_eq!(
            edits("kustomize edit add patch --kind Deployment --path=\"p.yaml\""),
            ["p.yaml"]
        );
        assert!(edits("kustomize edit add resource p.yaml").is_empty());
        assert!(edits("kustomize edit add patch --patch '{}'").is_empty());
        assert_eq!(
            args("kubectl apply -f a.yaml; kubectl patch svc s --patch-file b.yaml | cat"),
            ["b.yaml"]
        );
    }

    #[test]
    fn terraform_patches_strategic_merge_files() {
        let tf = r#"  provisioner "file" {
    content = yamlencode({
      resources = ["https://example.com/a.yaml"]
      patchesStrategicMerge = concat(
        [
          file("${path.module}/kustomize/kured.yaml"),
          file("${path.module}/kustomize/system-upgrade-controller.yaml"),
        ],
        lookup(local.patches, var.cni, [])
      )
    })
  }
  other = file("${path.module}/not-a-patch.yaml")
"#;
        assert_eq!(
            super::terraform_patch_files(tf),
            [
                ("${path.module}/kustomize/kured.yaml".to_string(), 6),
                (
                    "${path.module}/kustomize/system-upgrade-controller.yaml".to_string(),
                    7
                )
            ]
        );
        // An unclosed list is read to its bound, never past the text.
        assert_eq!(
            super::terraform_patch_files("patchesStrategicMerge = [file(\"a.yaml\")"),
            [("a.yaml".to_string(), 1)]
        );
        assert!(super::terraform_patch_files("patchesStrategicMerge is a key").is_empty());
    }

    #[test]
    fn label_selectors_have_equality_and_set_terms() {
        let labels = serde_json::json!({"app": "radarr", "tier": "media"});
        let m = |sel: &str| super::selector_matches(sel, Some(&labels));
        assert_eq!(m("app in (prowlarr, radarr, sonarr)"), Some(true));
        assert_eq!(m("app in (prowlarr,sonarr)"), Some(false));
        assert_eq!(m("app notin (sonarr), tier=media"), Some(true));
        assert_eq!(m("app notin (radarr)"), Some(false));
        assert_eq!(m("missing notin (x)"), Some(true));
        assert_eq!(m("app in (radarr),tier==media"), Some(true));
        assert_eq!(m("app,!missing"), Some(true));
        assert_eq!(m("!app"), Some(false));
        assert_eq!(m("missing"), Some(false));
        assert_eq!(m("app!=radarr"), Some(false));
        assert_eq!(m("app=sonarr"), Some(false));
        // Unbalanced or unknown forms are not evaluated.
        assert_eq!(m("app in (radarr"), None);
        assert_eq!(m("app) in (x"), None);
        assert_eq!(m("app exists"), None);
    }

    #[test]
    fn script_paths_stay_in_the_repository() {
        let root = Path::new("/repo");
        let (docs, _) = crate::parse_str("/repo/p/web.yaml", "kind: Deployment\n");
        let mut docs = docs;
        for d in &mut docs {
            Arc::get_mut(&mut d.source).unwrap().path = Some(PathBuf::from("/repo/p/web.yaml"));
        }
        let index = Index::of(&docs);
        let dir = Path::new("/repo/scripts");
        let found = |arg: &str| resolve_script_path(arg, dir, Some(root), &index);
        let web = Some(PathBuf::from("/repo/p/web.yaml"));
        assert_eq!(found("../p/web.yaml"), web);
        assert_eq!(found("p/web.yaml"), web, "from the root");
        assert_eq!(found("$DIR/../p/web.yaml"), web);
        assert_eq!(found("../../p/web.yaml"), None, "above the root");
        assert_eq!(found("../../../../p/web.yaml"), None, "above /");
        assert_eq!(found("/repo/p/web.yaml"), None, "absolute");
        assert_eq!(found("~/p/web.yaml"), None);
        assert_eq!(found("${A}/${B}/web.yaml"), None);
        assert_eq!(found("p/other.yaml"), None, "not loaded");
    }

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn files_under_a_folder_are_exactly_those_below_it() {
        let names = [
            "a/b.yaml",
            "a/b/c.yaml",
            "a/b/d/e.yaml",
            "a/b-x/f.yaml",
            "a/b0/g.yaml",
            "a/ba.yaml",
            "b/h.yaml",
            "a.yaml",
        ];
        let index = Index {
            files: names
                .iter()
                .enumerate()
                .map(|(i, n)| (PathBuf::from(n), vec![i]))
                .collect(),
        };
        let under = |dir: &str| -> Vec<String> {
            let dir = PathBuf::from(dir);
            let mut found: Vec<String> = index
                .under(&dir)
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            found.sort();
            found
        };
        assert_eq!(under("a/b"), ["a/b/c.yaml", "a/b/d/e.yaml"]);
        assert_eq!(under("a/b/d"), ["a/b/d/e.yaml"]);
        assert_eq!(under("b"), ["b/h.yaml"]);
        assert_eq!(under("").len(), names.len());
        assert!(under("a/c").is_empty());
    }

    #[test]
    fn flux_substitution_forms() {
        let v = vars(&[("DOMAIN", "example.org"), ("N", "3")]);
        assert_eq!(
            substitute("app.${DOMAIN}", &v),
            ("app.example.org".into(), true)
        );
        assert_eq!(substitute("${MISSING:=on}", &v), ("on".into(), true));
        assert_eq!(substitute("${MISSING:-x}-${N}", &v), ("x-3".into(), true));
        assert_eq!(substitute("${MISSING}", &v), ("${MISSING}".into(), false));
        assert_eq!(substitute("$${DOMAIN}", &v), ("${DOMAIN}".into(), true));
        assert_eq!(substitute("cost $5 ${", &v), ("cost $5 ${".into(), true));
        assert_eq!(substitute("${1BAD}", &v), ("${1BAD}".into(), true));
    }

    #[test]
    fn substituted_plain_scalars_are_read_again() {
        assert_eq!(plain_scalar("3"), Value::from(3));
        assert_eq!(plain_scalar("true"), Value::Bool(true));
        assert_eq!(plain_scalar("on"), Value::String("on".into()));
        assert_eq!(plain_scalar("1.5"), Value::from(1.5));
        assert_eq!(
            plain_scalar("example.org"),
            Value::String("example.org".into())
        );
    }
}
