//! Offline answers to everything Kyverno would ask a cluster, a registry or a web service,
//! the way `kyverno test` mocks them.
//!
//! A test names its mock data in several places, and Kyverno's CLI serves each kind of
//! question from a different one:
//! - **resource lookups** (CEL `resource.Get/List`, `apiCall.urlPath`, `configMap` context
//!   entries): when the test declares `clusterResources`, Kyverno builds a fake cluster
//!   from every object the test loads (resources, target and parameter resources, the
//!   cluster resources and their CRDs) and answers from it; otherwise CEL lookups read the
//!   `context` file's `spec.resources` only, and the JMESPath loaders (`apiCall`,
//!   `configMap`) are disabled (their values must come from the Values file);
//! - **image data** (CEL `image.GetMetadata`): the `context` file's `spec.images`;
//! - **global context** (`globalReference` entries, CEL `globalContext.Get`): the test's
//!   `globalContextEntries` (`data` or `resources`, then `fieldPath` and `projections`);
//! - **HTTP** (CEL `http.Get/Post`, `apiCall.service`, and `apiCall.urlPath` before the
//!   cluster): the test's `apiCallResponses`, keyed by method and URL.
//!
//! Nothing here reaches the network: a question with no mock gets an error that says so.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::cel_kinds::plural_for_kind;

/// A kind the fake cluster knows from a CustomResourceDefinition.
#[derive(Debug, Clone, PartialEq)]
struct CrdKind {
    group: String,
    kind: String,
    plural: String,
    namespaced: bool,
}

/// One `apiCallResponses` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpMock {
    /// `GET`/`POST`, or empty for any method.
    pub method: String,
    /// An absolute URL (`url`) or an API path (`urlPath`).
    pub url: String,
    pub status: u16,
    pub body: Value,
}

/// Mock data of one test.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mocks {
    /// The test declares `clusterResources`: lookups are answered by a fake cluster of
    /// every loaded object, and the `apiCall`/`configMap` context loaders are enabled.
    pub cluster: bool,
    objects: Vec<Value>,
    crds: Vec<CrdKind>,
    images: Vec<Value>,
    /// Global context entries by name: the resolved data, or why it could not be resolved.
    global: BTreeMap<String, Result<Value, String>>,
    http: Vec<HttpMock>,
    /// ValidatingAdmissionPolicyBindings and MutatingAdmissionPolicyBindings.
    bindings: Vec<Value>,
    /// Parameter resources of admission policies (`paramResources`).
    params: Vec<Value>,
    /// What Kyverno's own (JMESPath) engine finds in its client: every object the test
    /// loads. Mutate-existing rules look their targets up here.
    client: Vec<Value>,
}

fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// `group/version` split into (group, version).
fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

impl Mocks {
    /// Adds objects lookups can find (CustomResourceDefinitions also teach the fake
    /// cluster their kinds' plural names and scopes).
    pub fn add_objects(&mut self, objects: impl IntoIterator<Item = Value>) {
        for o in objects {
            if o.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition") {
                self.add_crd(&o);
            }
            self.objects.push(o);
        }
    }

    fn add_crd(&mut self, crd: &Value) {
        let kind = s(crd, "/spec/names/kind");
        let plural = s(crd, "/spec/names/plural");
        if kind.is_empty() {
            return;
        }
        let plural = if plural.is_empty() {
            plural_for_kind(kind)
        } else {
            plural.to_string()
        };
        self.crds.push(CrdKind {
            group: s(crd, "/spec/group").to_string(),
            kind: kind.to_string(),
            plural,
            namespaced: s(crd, "/spec/scope") != "Cluster",
        });
    }

    /// Image data (`spec.images` of a Context file: `{image, ...}` entries).
    pub fn add_images(&mut self, images: impl IntoIterator<Item = Value>) {
        self.images.extend(images);
    }

    /// A mocked global context entry (already resolved, or the error resolving it gave).
    pub fn add_global(&mut self, name: &str, data: Result<Value, String>) {
        self.global.insert(name.to_string(), data);
    }

    pub fn add_http(&mut self, mock: HttpMock) {
        self.http.push(mock);
    }

    /// Admission policy bindings (kept with the cluster's state: a binding is what
    /// applies a ValidatingAdmissionPolicy or MutatingAdmissionPolicy).
    pub fn add_binding(&mut self, binding: Value) {
        self.bindings.push(binding);
    }

    pub fn bindings(&self) -> &[Value] {
        &self.bindings
    }

    /// Parameter resources of admission policies.
    pub fn add_params(&mut self, params: impl IntoIterator<Item = Value>) {
        self.params.extend(params);
    }

    pub fn params(&self) -> &[Value] {
        &self.params
    }

    /// Objects Kyverno's engine client holds (the test's resources, targets, parameter
    /// and cluster resources).
    pub fn add_client_objects(&mut self, objects: impl IntoIterator<Item = Value>) {
        self.client.extend(objects);
    }

    pub fn client_objects(&self) -> &[Value] {
        &self.client
    }

    /// Whether any global context entry is mocked (the loader is enabled then).
    pub fn has_global(&self) -> bool {
        !self.global.is_empty()
    }

    /// Whether any HTTP answer is mocked.
    pub fn has_http(&self) -> bool {
        !self.http.is_empty()
    }

    /// The plural resource name of `kind` in `api_version`'s group.
    pub fn plural(&self, api_version: &str, kind: &str) -> String {
        let (group, _) = split_api_version(api_version);
        self.crds
            .iter()
            .find(|c| c.group == group && c.kind == kind)
            .map(|c| c.plural.clone())
            .unwrap_or_else(|| plural_for_kind(kind))
    }

    /// Whether `kind` of `api_version` is namespaced, when the fake cluster knows it from
    /// a CRD.
    pub fn crd_namespaced(&self, api_version: &str, kind: &str) -> Option<bool> {
        let (group, _) = split_api_version(api_version);
        self.crds
            .iter()
            .find(|c| c.group == group && c.kind == kind)
            .map(|c| c.namespaced)
    }

    /// The kind served as `resource` in `group`, if any object or CRD tells.
    fn kind_of(&self, group: &str, resource: &str) -> Option<String> {
        if let Some(c) = self
            .crds
            .iter()
            .find(|c| c.group == group && c.plural == resource)
        {
            return Some(c.kind.clone());
        }
        self.objects
            .iter()
            .find(|o| {
                let api = s(o, "/apiVersion");
                split_api_version(api).0 == group && self.plural(api, s(o, "/kind")) == resource
            })
            .map(|o| s(o, "/kind").to_string())
    }

    fn of_resource<'a>(
        &'a self,
        api_version: &'a str,
        resource: &'a str,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects.iter().filter(move |o| {
            let api = s(o, "/apiVersion");
            api == api_version && self.plural(api, s(o, "/kind")) == resource
        })
    }

    /// Kubernetes' "not found" message for `resource` (`resource.group "name" not found`).
    fn not_found(api_version: &str, resource: &str, name: &str) -> String {
        let (group, _) = split_api_version(api_version);
        if group.is_empty() {
            format!("{resource} \"{name}\" not found")
        } else {
            format!("{resource}.{group} \"{name}\" not found")
        }
    }

    /// `resource.Get(apiVersion, resource, namespace, name)`.
    pub fn get(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, String> {
        // `pods/status`-style subresources read the object itself.
        let resource = resource.split('/').next().unwrap_or(resource);
        self.of_resource(api_version, resource)
            .find(|o| s(o, "/metadata/namespace") == namespace && s(o, "/metadata/name") == name)
            .cloned()
            .ok_or_else(|| Self::not_found(api_version, resource, name))
    }

    /// `resource.List(apiVersion, resource, namespace[, labels])`: a list object with the
    /// matching `items`. The fake cluster lists every namespace for `""`; without a
    /// cluster, the context file's objects are listed by exact namespace (as Kyverno's
    /// fake context does), and an unknown resource type is an error.
    pub fn list(
        &self,
        api_version: &str,
        resource: &str,
        namespace: &str,
        labels: Option<&Map<String, Value>>,
    ) -> Result<Value, String> {
        let typed: Vec<&Value> = self.of_resource(api_version, resource).collect();
        if !self.cluster && typed.is_empty() {
            let (group, _) = split_api_version(api_version);
            let gr = if group.is_empty() {
                resource.to_string()
            } else {
                format!("{resource}.{group}")
            };
            return Err(format!("{gr} resource not found"));
        }
        let items: Vec<Value> = typed
            .into_iter()
            .filter(|o| {
                let ns = s(o, "/metadata/namespace");
                if self.cluster {
                    namespace.is_empty() || ns == namespace
                } else {
                    ns == namespace
                }
            })
            .filter(|o| {
                // Kyverno's fake context ignores label selectors; the cluster applies them.
                !self.cluster
                    || labels.is_none_or(|want| {
                        want.iter().all(|(k, v)| {
                            o.pointer("/metadata/labels")
                                .and_then(|l| l.get(k))
                                .is_some_and(|x| x == v)
                        })
                    })
            })
            .cloned()
            .collect();
        let (group, _) = split_api_version(api_version);
        let kind = self
            .kind_of(group, resource)
            .map(|k| format!("{k}List"))
            .unwrap_or_else(|| "List".to_string());
        Ok(json!({"apiVersion": api_version, "kind": kind, "metadata": {}, "items": items}))
    }

    /// A ConfigMap of the fake cluster.
    pub fn config_map(&self, namespace: &str, name: &str) -> Result<Value, String> {
        self.get("v1", "configmaps", namespace, name)
    }

    /// The answer to a Kubernetes API path (`apiCall.urlPath`, GET) from the fake cluster:
    /// `/api/v1/...` or `/apis/<group>/<version>/...`, then `[namespaces/<ns>/]<resource>[/<name>]`
    /// (a `?labelSelector=k=v,...` query filters lists).
    pub fn api_path(&self, path: &str) -> Result<Value, String> {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let (api_version, rest) = match parts.as_slice() {
            ["api", v, rest @ ..] => (v.to_string(), rest),
            ["apis", g, v, rest @ ..] => (format!("{g}/{v}"), rest),
            _ => {
                return Err(format!(
                    "the server could not find the requested resource ({path})"
                ))
            }
        };
        let (namespace, rest) = match rest {
            ["namespaces", ns, rest @ ..] if !rest.is_empty() => (*ns, rest),
            _ => ("", rest),
        };
        let mut labels = Map::new();
        for pair in query.split('&') {
            if let Some(sel) = pair.strip_prefix("labelSelector=") {
                for req in sel.split(',') {
                    if let Some((k, v)) = req.split_once('=') {
                        labels.insert(k.to_string(), Value::String(v.to_string()));
                    }
                }
            }
        }
        match rest {
            [resource] => {
                if *resource == "namespaces" && namespace.is_empty() {
                    return self.list(&api_version, "namespaces", "", Some(&labels));
                }
                self.list(&api_version, resource, namespace, Some(&labels))
            }
            [resource, name] => self.get(&api_version, resource, namespace, name),
            [resource, name, _sub] => self.get(&api_version, resource, namespace, name),
            [] if !namespace.is_empty() => self.get(&api_version, "namespaces", "", namespace),
            _ => Err(format!(
                "the server could not find the requested resource ({path})"
            )),
        }
    }

    /// Image data for `reference` from the context file.
    pub fn image(&self, reference: &str) -> Result<Value, String> {
        self.images
            .iter()
            .find(|i| s(i, "/image") == reference)
            .cloned()
            .ok_or_else(|| format!("image data for {reference} not found in the context"))
    }

    /// A global context entry, optionally one projection of it. `Ok(None)` when the entry
    /// is not mocked (Kyverno returns null then).
    pub fn global(&self, name: &str, projection: &str) -> Result<Option<Value>, String> {
        let Some(entry) = self.global.get(name) else {
            return Ok(None);
        };
        let data = entry.clone()?;
        if projection.is_empty() {
            return Ok(Some(data));
        }
        match &data {
            Value::Object(m) => m.get(projection).cloned().map(Some).ok_or_else(|| {
                format!("projection {projection:?} not found in global context entry {name:?}")
            }),
            _ => Err(format!(
                "projection {projection:?} not found in global context entry {name:?}: stored value is not an object"
            )),
        }
    }

    /// The mocked answer to `method url`: an entry for that method, else one for any
    /// method.
    pub fn http(&self, method: &str, url: &str) -> Option<&HttpMock> {
        self.http
            .iter()
            .find(|m| m.url == url && m.method.eq_ignore_ascii_case(method))
            .or_else(|| {
                self.http
                    .iter()
                    .find(|m| m.url == url && m.method.is_empty())
            })
    }
}

/// Mocks shared by every evaluation of a test. Two handles are equal when they share the
/// same data (so that comparing evaluation contexts stays cheap).
#[derive(Debug, Clone)]
pub struct Shared(pub Arc<Mocks>);

impl PartialEq for Shared {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::ops::Deref for Shared {
    type Target = Mocks;
    fn deref(&self) -> &Mocks {
        &self.0
    }
}

/// Resolves one `globalContextEntries` item of a test (`data` or `resources`, then
/// `fieldPath` and `projections`, both JMESPath), as Kyverno's CLI does.
pub fn resolve_global_entry(entry: &Value, resources: Option<Vec<Value>>) -> Result<Value, String> {
    let name = s(entry, "/name");
    let root = match (resources, entry.get("data")) {
        (Some(list), _) => Value::Array(list),
        (None, Some(d)) if !d.is_null() => d.clone(),
        _ => return Ok(Value::Null),
    };
    let root = match entry.get("fieldPath").and_then(Value::as_str) {
        Some(fp) if !fp.is_empty() => crate::jmes::search(fp, &root)
            .map_err(|e| format!("globalContextEntries {name:?} fieldPath: {e}"))?,
        _ => root,
    };
    let Some(Value::Array(projections)) = entry.get("projections") else {
        return Ok(root);
    };
    if projections.is_empty() {
        return Ok(root);
    }
    let mut out = Map::new();
    for p in projections {
        let pname = s(p, "/name");
        let path = s(p, "/path");
        let v = crate::jmes::search(path, &root).map_err(|e| {
            format!("globalContextEntries {name:?} projection {pname:?} path {path:?}: {e}")
        })?;
        out.insert(pname.to_string(), v);
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> Mocks {
        let mut m = Mocks {
            cluster: true,
            ..Mocks::default()
        };
        m.add_objects([
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                   "metadata": {"name": "computeclasses.cloud.google.com"},
                   "spec": {"group": "cloud.google.com", "scope": "Cluster",
                            "names": {"kind": "ComputeClass", "plural": "computeclasses"}}}),
            json!({"apiVersion": "cloud.google.com/v1", "kind": "ComputeClass", "metadata": {"name": "spot"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "a", "labels": {"t": "x"}}, "data": {"k": "v"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "b"}}),
        ]);
        m
    }

    #[test]
    fn api_paths_read_the_fake_cluster() {
        let m = cluster();
        let cc = m
            .api_path("/apis/cloud.google.com/v1/computeclasses/spot")
            .unwrap();
        assert_eq!(cc["metadata"]["name"], "spot");
        assert!(m
            .api_path("/apis/cloud.google.com/v1/computeclasses/nope")
            .unwrap_err()
            .contains("computeclasses.cloud.google.com \"nope\" not found"));
        let all = m.api_path("/api/v1/configmaps").unwrap();
        assert_eq!(all["items"].as_array().unwrap().len(), 2);
        assert_eq!(all["kind"], "ConfigMapList");
        let one_ns = m.api_path("/api/v1/namespaces/a/configmaps").unwrap();
        assert_eq!(one_ns["items"].as_array().unwrap().len(), 1);
        let sel = m.api_path("/api/v1/configmaps?labelSelector=t=x").unwrap();
        assert_eq!(sel["items"].as_array().unwrap().len(), 1);
        assert_eq!(m.config_map("a", "cm").unwrap()["data"]["k"], "v");
    }

    #[test]
    fn without_a_cluster_lists_are_by_exact_namespace() {
        let mut m = Mocks::default();
        m.add_objects([json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "a"}})]);
        assert_eq!(
            m.list("v1", "configmaps", "", None).unwrap()["items"],
            json!([])
        );
        assert!(m.list("v1", "secrets", "a", None).is_err());
    }

    #[test]
    fn global_entries_and_http() {
        let entry = json!({"name": "deps", "data": {"items": [{"n": 1}, {"n": 2}]},
                           "fieldPath": "items", "projections": [{"name": "count", "path": "length(@)"}]});
        let mut m = Mocks::default();
        m.add_global("deps", resolve_global_entry(&entry, None));
        assert_eq!(m.global("deps", "count").unwrap(), Some(json!(2)));
        assert_eq!(m.global("nope", "").unwrap(), None);
        assert!(m.global("deps", "missing").is_err());
        m.add_http(HttpMock {
            method: String::new(),
            url: "https://x/y".into(),
            status: 200,
            body: json!({"ok": true}),
        });
        assert!(m.http("POST", "https://x/y").is_some());
        assert!(m.http("GET", "https://x/z").is_none());
    }
}
