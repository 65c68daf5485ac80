//! Loading one `Test` document: every file it names, relative to the test file, read
//! the way `kyverno test` reads them (policies with their admission policy bindings,
//! resources with a default namespace, Values/UserInfo/Context files, exceptions,
//! target/parameter/cluster resources, JSON payloads, HTTP and global context mocks).
//!
//! A test file is untrusted (it comes with the repository, possibly a pull request's): absolute
//! paths and URLs are refused; a relative path (`../policy.yaml` is common) must stay inside
//! the git repository that holds the test, after symbolic links are resolved; and only regular
//! files of bounded size are read, so a reference to `/dev/zero`, a FIFO or `/proc/kmsg` can
//! neither stall nor exhaust the runner.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::context::UserInfo;
use crate::engine;
use crate::mocks::{resolve_global_entry, HttpMock, Mocks};
use crate::values_file::ValuesFile;

use super::{default_namespace_with, get, strs};

/// Everything a test document loads.
pub struct Loaded {
    pub policies: Vec<Value>,
    pub exceptions: Vec<Value>,
    pub resources: Vec<Value>,
    /// Resources a mutate-existing policy may change (`targetResources`).
    pub targets: Vec<Value>,
    /// Non-Kubernetes JSON payloads (`jsonPayloads`): (name as written, document).
    pub payloads: Vec<(String, Value)>,
    /// Authorization check requests (`httpPayloads`, `envoyPayloads`).
    pub authz_payloads: Vec<(String, Value, crate::cel_kinds::authz::Mode)>,
    pub values: ValuesFile,
    /// Namespace labels for ClusterPolicy `namespaceSelector`s.
    pub namespace_labels: HashMap<String, Map<String, Value>>,
    /// Namespace objects CEL policies see as `namespaceObject` (from the Values file).
    pub namespaces: HashMap<String, Value>,
    pub user: UserInfo,
    pub mocks: Mocks,
    /// The Values file's `subresources`: (the subresource's apiVersion and kind, what a
    /// request for it names).
    pub subresources: Vec<(String, String, crate::context::Subresource)>,
    /// Problems loading the files (each says which file).
    pub errors: Vec<String>,
}

/// Refuses references that are not relative paths inside the test's tree.
fn resolve(base: &Path, rel: &str) -> Result<PathBuf, String> {
    if rel.contains("://") {
        return Err(format!(
            "{rel}: remote files are not fetched (offline); copy it next to the test"
        ));
    }
    let p = Path::new(rel);
    if p.is_absolute() {
        return Err(format!(
            "{rel}: absolute paths are not followed; use a path relative to the test file"
        ));
    }
    let joined = base.join(p);
    if let (Some(root), Ok(real)) = (repository_root(base), std::fs::canonicalize(&joined)) {
        if !real.starts_with(&root) {
            return Err(format!(
                "{rel}: leads outside the repository ({}); a test may only name files inside it",
                root.display()
            ));
        }
    }
    Ok(joined)
}

/// The largest file a test may name.
const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// The git work tree that holds `dir` (the nearest ancestor with `.git`), if any.
fn repository_root(dir: &Path) -> Option<PathBuf> {
    let dir = std::fs::canonicalize(dir).ok()?;
    dir.ancestors()
        .find(|a| std::fs::symlink_metadata(a.join(".git")).is_ok())
        .map(Path::to_path_buf)
}

/// A regular file's text (never a FIFO, device or oversized file).
pub(crate) fn read_text(path: &Path) -> Result<String, String> {
    homelab_fs::read_regular(path, MAX_FILE_BYTES, true)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))
}

fn collect_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > 16 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        // A link inside a named folder is not followed (it could lead anywhere).
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            collect_files(&p, depth + 1, out);
        } else if !meta.is_file() {
            continue;
        } else if p
            .extension()
            .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            out.push(p);
        }
    }
}

/// The YAML/JSON documents of a file or folder.
pub fn read_docs(base: &Path, rel: &str, errors: &mut Vec<String>) -> Vec<Value> {
    let p = match resolve(base, rel) {
        Ok(p) => p,
        Err(e) => {
            errors.push(e);
            return Vec::new();
        }
    };
    let mut files = Vec::new();
    if p.is_dir() {
        collect_files(&p, 0, &mut files);
    } else {
        files.push(p.clone());
    }
    let mut out = Vec::new();
    for f in files {
        match read_text(&f) {
            Ok(t) => match crate::yaml::parse_all(&f.display().to_string(), &t) {
                Ok(docs) => out.extend(flatten_lists(docs)),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(e),
        }
    }
    out
}

/// `kind: List` documents stand for their items.
fn flatten_lists(docs: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::new();
    for d in docs {
        match (d.get("kind").and_then(Value::as_str), d.get("items")) {
            (Some("List"), Some(Value::Array(items))) => out.extend(items.iter().cloned()),
            _ => out.push(d),
        }
    }
    out
}

/// One document from a file named by `key` (a Values, UserInfo or Context file).
fn read_one(test: &Value, key: &str, base: &Path, errors: &mut Vec<String>) -> Option<Value> {
    let rel = get(test, key)?.as_str()?;
    read_docs(base, rel, errors).into_iter().next()
}

fn is_binding(d: &Value) -> bool {
    matches!(
        d.get("kind").and_then(Value::as_str),
        Some("ValidatingAdmissionPolicyBinding" | "MutatingAdmissionPolicyBinding")
    )
}

fn is_object(d: &Value) -> bool {
    d.get("kind").and_then(Value::as_str).is_some()
}

/// Removes repeated objects (same apiVersion, kind, namespace and name), keeping the
/// first, as `kyverno test` does.
fn dedupe(objects: Vec<Value>) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    objects
        .into_iter()
        .filter(|o| {
            let key = (
                o.get("apiVersion").cloned(),
                o.get("kind").cloned(),
                o.pointer("/metadata/namespace").cloned(),
                o.pointer("/metadata/name").cloned(),
                o.pointer("/metadata/generateName").cloned(),
            );
            o.pointer("/metadata/name").is_none() || seen.insert(key)
        })
        .collect()
}

pub fn load(test: &Value, base: &Path) -> Loaded {
    let mut errors = Vec::new();
    let mut mocks = Mocks::default();
    let mut policies = Vec::new();
    let mut exceptions = Vec::new();
    for p in strs(get(test, "policies")) {
        for d in read_docs(base, &p, &mut errors) {
            if engine::is_exception(&d) {
                exceptions.push(d);
            } else if is_binding(&d) {
                mocks.add_binding(d);
            } else if engine::is_policy(&d) {
                policies.push(d);
            }
        }
    }
    for p in strs(get(test, "exceptions")) {
        exceptions.extend(
            read_docs(base, &p, &mut errors)
                .into_iter()
                .filter(engine::is_exception),
        );
    }
    // Cluster resources first: their CRDs tell which custom kinds are cluster-scoped.
    let mut cluster_objects = Vec::new();
    let cluster_files = strs(get(test, "clusterResources"));
    for p in &cluster_files {
        for d in read_docs(base, p, &mut errors) {
            if d.get("kind").and_then(Value::as_str) == Some("ClusterResource") {
                for crd in strs(d.pointer("/spec/crds")) {
                    cluster_objects.extend(read_docs(base, &crd, &mut errors));
                }
                if let Some(Value::Array(rs)) = d.pointer("/spec/resources") {
                    cluster_objects.extend(rs.iter().cloned());
                }
            } else if is_object(&d) {
                cluster_objects.push(d);
            }
        }
    }
    mocks.cluster = !cluster_files.is_empty();
    mocks.add_objects(
        cluster_objects
            .iter()
            .filter(|o| o.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition"))
            .cloned(),
    );
    let namespaced = |d: Value| default_namespace_with(d, &mocks);
    let load_objects = |key: &str, errors: &mut Vec<String>| -> Vec<Value> {
        let mut out = Vec::new();
        for p in strs(get(test, key)) {
            for d in read_docs(base, &p, errors) {
                if is_object(&d) && !engine::is_policy(&d) {
                    out.push(d);
                }
            }
        }
        out
    };
    let resources: Vec<Value> = dedupe(
        load_objects("resources", &mut errors)
            .into_iter()
            .map(namespaced)
            .collect(),
    );
    let targets: Vec<Value> = load_objects("targetResources", &mut errors)
        .into_iter()
        .map(namespaced)
        .collect();
    let params: Vec<Value> = load_objects("paramResources", &mut errors)
        .into_iter()
        .map(namespaced)
        .collect();
    let cluster_objects: Vec<Value> = cluster_objects.into_iter().map(namespaced).collect();

    let mut payloads = Vec::new();
    let mut payload_files = strs(get(test, "jsonPayloads"));
    payload_files.extend(strs(get(test, "jsonPayload")));
    for p in payload_files {
        match resolve(base, &p).and_then(|f| read_text(&f)) {
            Ok(text) => match crate::yaml::parse_all(&p, &text) {
                Ok(docs) => {
                    for d in docs {
                        if d.is_object() {
                            payloads.push((p.clone(), d));
                        } else {
                            errors.push(format!(
                                "{p}: a JSON payload must be a top-level object (map)"
                            ));
                        }
                    }
                }
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(e),
        }
    }

    let mut authz_payloads = Vec::new();
    for (key, mode) in [
        ("httpPayloads", crate::cel_kinds::authz::Mode::Http),
        ("envoyPayloads", crate::cel_kinds::authz::Mode::Envoy),
    ] {
        for p in strs(get(test, key)) {
            for d in read_docs(base, &p, &mut errors) {
                authz_payloads.push((p.clone(), d, mode));
            }
        }
    }

    // Values: a file (`variables`) or inline (`values`).
    let mut values_doc = read_one(test, "variables", base, &mut errors).unwrap_or(Value::Null);
    if let Some(v @ Value::Object(_)) = get(test, "values") {
        values_doc = v.clone();
    }
    let mut values = ValuesFile::default();
    let mut subresources = Vec::new();
    let mut namespace_labels = HashMap::new();
    let mut namespaces = HashMap::new();
    if values_doc.is_object() {
        if let Some(Value::Object(g)) = get(&values_doc, "globalValues") {
            values.global = g.clone();
        }
        if let Some(Value::Array(p)) = get(&values_doc, "policies") {
            values.policies = p.clone();
        }
        if let Some(Value::Array(subs)) = get(&values_doc, "subresources") {
            for sr in subs {
                let field = |obj: &str, k: &str| {
                    get(sr, obj)
                        .and_then(|o| get(o, k))
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string()
                };
                let api = |obj: &str| {
                    let (g, v) = (field(obj, "group"), field(obj, "version"));
                    if g.is_empty() {
                        v
                    } else {
                        format!("{g}/{v}")
                    }
                };
                let sub_name = field("subresource", "name");
                subresources.push((
                    api("subresource"),
                    field("subresource", "kind"),
                    crate::context::Subresource {
                        group: field("parentResource", "group"),
                        version: field("parentResource", "version"),
                        kind: field("parentResource", "kind"),
                        resource: field("parentResource", "name"),
                        name: sub_name
                            .split_once('/')
                            .map(|(_, s)| s.to_string())
                            .unwrap_or_default(),
                    },
                ));
            }
        }
        if let Some(Value::Array(ns)) = get(&values_doc, "namespaceSelector") {
            for n in ns {
                if let Some(name) = get(n, "name").and_then(Value::as_str) {
                    let labels = match get(n, "labels") {
                        Some(Value::Object(l)) => l.clone(),
                        _ => Map::new(),
                    };
                    namespaces.entry(name.to_string()).or_insert_with(|| {
                        json!({"apiVersion": "v1", "kind": "Namespace",
                               "metadata": {"name": name, "labels": labels}})
                    });
                    namespace_labels.insert(name.to_string(), labels);
                }
            }
        }
        if let Some(Value::Array(ns)) = get(&values_doc, "namespaces") {
            for n in ns {
                if let Some(name) = n.pointer("/metadata/name").and_then(Value::as_str) {
                    let labels = n
                        .pointer("/metadata/labels")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default();
                    namespace_labels.insert(name.to_string(), labels);
                    let mut obj = n.clone();
                    if obj.get("apiVersion").is_none() {
                        obj["apiVersion"] = json!("v1");
                    }
                    if obj.get("kind").is_none() {
                        obj["kind"] = json!("Namespace");
                    }
                    namespaces.insert(name.to_string(), obj);
                }
            }
        }
    }
    // With a fake cluster, ClusterPolicy namespace selectors read its Namespaces.
    if mocks.cluster {
        for o in resources.iter().chain(&cluster_objects) {
            if o.get("kind").and_then(Value::as_str) == Some("Namespace") {
                if let Some(name) = o.pointer("/metadata/name").and_then(Value::as_str) {
                    if let Some(Value::Object(l)) = o.pointer("/metadata/labels") {
                        namespace_labels
                            .entry(name.to_string())
                            .or_insert_with(|| l.clone());
                    }
                }
            }
        }
    }

    let mut user = UserInfo::default();
    if let Some(d) = read_one(test, "userinfo", base, &mut errors) {
        user.roles = strs(get(&d, "roles"));
        user.cluster_roles = strs(get(&d, "clusterRoles"));
        if let Some(ui) = get(&d, "userInfo") {
            user.username = get(ui, "username")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            user.uid = get(ui, "uid")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            user.groups = strs(get(ui, "groups"));
        }
    }

    mocks.add_client_objects(
        resources
            .iter()
            .chain(&targets)
            .chain(&params)
            .chain(&cluster_objects)
            .cloned(),
    );
    // What lookups can find: the fake cluster's objects, or the context file's.
    let context = read_one(test, "context", base, &mut errors);
    if mocks.cluster {
        mocks.add_objects(resources.iter().cloned());
        mocks.add_objects(targets.iter().cloned());
        mocks.add_objects(params.iter().cloned());
        mocks.add_objects(
            cluster_objects
                .iter()
                .filter(|o| {
                    o.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition")
                })
                .cloned(),
        );
    } else {
        if let Some(Value::Array(rs)) = context.as_ref().and_then(|c| c.pointer("/spec/resources"))
        {
            mocks.add_objects(rs.iter().cloned());
        }
        mocks.add_objects(targets.iter().cloned());
    }
    if let Some(Value::Array(images)) = context.as_ref().and_then(|c| c.pointer("/spec/images")) {
        mocks.add_images(images.iter().cloned());
    }
    mocks.add_params(params);

    if let Some(Value::Array(entries)) = get(test, "apiCallResponses") {
        for e in entries {
            let url = get(e, "url")
                .or_else(|| get(e, "urlPath"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_string();
            if url.is_empty() {
                errors.push("apiCallResponses: an entry needs url or urlPath".into());
                continue;
            }
            let response = get(e, "response").cloned().unwrap_or(Value::Null);
            mocks.add_http(HttpMock {
                method: get(e, "method")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .trim()
                    .to_ascii_uppercase(),
                url,
                status: get(&response, "statusCode")
                    .and_then(Value::as_u64)
                    .and_then(|c| u16::try_from(c).ok())
                    .filter(|c| *c != 0)
                    .unwrap_or(200),
                body: get(&response, "body").cloned().unwrap_or(Value::Null),
            });
        }
    }
    if let Some(Value::Array(entries)) = get(test, "globalContextEntries") {
        for e in entries {
            let name = get(e, "name").and_then(Value::as_str).unwrap_or("").trim();
            if name.is_empty() {
                errors.push("globalContextEntries: name is required".into());
                continue;
            }
            let mut resources = match get(e, "resources") {
                Some(Value::Array(rs)) => Some(rs.clone()),
                _ => None,
            };
            if let Some(files) = get(e, "resourceFiles") {
                let mut list = Vec::new();
                for f in strs(Some(files)) {
                    list.extend(read_docs(base, &f, &mut errors));
                }
                resources = Some(list);
            }
            mocks.add_global(name, resolve_global_entry(e, resources));
        }
    }

    Loaded {
        policies,
        exceptions,
        resources,
        targets,
        payloads,
        authz_payloads,
        values,
        namespace_labels,
        namespaces,
        user,
        mocks,
        subresources,
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_stay_inside_the_repository_and_read_regular_files_only() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside.yaml");
        std::fs::write(&outside, "kind: Secret\n").unwrap();
        let repo = tmp.path().join("repo");
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("policies/.kyverno-test")).unwrap();
        std::fs::write(repo.join("policies/policy.yaml"), "kind: ClusterPolicy\n").unwrap();
        std::os::unix::fs::symlink(&outside, repo.join("policies/linked.yaml")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", repo.join("policies/zero.yaml")).unwrap();
        let base = repo.join("policies/.kyverno-test");
        assert!(
            resolve(&base, "../policy.yaml").is_ok(),
            "`..` inside the repository is fine"
        );
        for rel in [
            "../../../outside.yaml",
            "../linked.yaml",
            "../zero.yaml",
            "/etc/passwd",
        ] {
            let err = resolve(&base, rel).unwrap_err();
            assert!(err.contains(rel), "{err}");
        }
        let mut errors = Vec::new();
        assert!(read_docs(&base, "../../../outside.yaml", &mut errors).is_empty());
        assert!(errors[0].contains("outside the repository"), "{errors:?}");
        assert!(read_text(Path::new("/dev/zero"))
            .unwrap_err()
            .contains("not a regular file"));
    }
}
