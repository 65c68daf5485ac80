//! The Helm charts a repository installs, with the values it gives them, whatever declares
//! the installation: an Argo CD Application, a kustomize `helmCharts` entry, a Flux
//! HelmRelease, a k3s HelmChart, a helmfile release or an umbrella chart's dependency. Rules
//! use them to learn what the charts create (StorageClasses, for one) without rendering.

use crate::repo::{join, parent};
use crate::Repo;
use homelab_manifest::{kustomizations, Class, Document, ResourceExt};
use serde_json::{Map, Value};

/// One installation of a chart.
pub struct ChartInstall<'a> {
    /// The chart's name (`longhorn`), without repository, path or version.
    pub chart: String,
    /// The document that declares the installation.
    pub declared_by: &'a Document,
    /// The values given to the chart (files and inline values merged, later wins).
    pub values: Value,
    /// The namespace the chart is installed into, when declared.
    pub namespace: Option<String>,
}

impl ChartInstall<'_> {
    /// Where the installation is declared, for messages: `path/to/file.yaml`.
    pub fn origin(&self, repo: &Repo) -> String {
        repo.relative_path(self.declared_by)
    }
}

/// The last segment of a chart reference (`oci://ghcr.io/x/longhorn`, `longhorn/longhorn`,
/// `./charts/longhorn`, `longhorn-1.7.2.tgz`), lower-case.
fn chart_name(reference: &str) -> String {
    let last = reference
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(reference);
    let last = last.split(':').next().unwrap_or(last);
    let last = last.trim_end_matches(".tgz");
    // `longhorn-1.7.2` (a packaged chart): drop a trailing version.
    let name = match last.rsplit_once('-') {
        Some((name, version)) if version.starts_with(|c: char| c.is_ascii_digit()) => name,
        _ => last,
    };
    name.to_ascii_lowercase()
}

/// `into` with `from` merged over it (maps deeply, everything else replaced).
fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// A values text (YAML) as a value; anything but a map is no values.
fn parse_values(text: &str) -> Value {
    let (docs, _) = homelab_manifest::parse_str("values", text);
    docs.into_iter()
        .map(|d| d.value)
        .find(Value::is_object)
        .unwrap_or(Value::Null)
}

/// The values of the repository file at `path` (all its map documents merged).
fn values_file(repo: &Repo, path: &str) -> Value {
    let mut out = Value::Object(Map::new());
    for doc in repo.documents_at(path) {
        if doc.value.is_object() {
            merge(&mut out, &doc.value);
        }
    }
    out
}

fn is_kustomization(repo: &Repo, doc: &Document) -> bool {
    let path = repo.relative_path(doc);
    let file = path.rsplit('/').next().unwrap_or(&path);
    kustomizations::FILE_NAMES.contains(&file)
        || (doc.kind() == Some("Kustomization") && doc.group() == "kustomize.config.k8s.io")
}

/// Every chart installation the repository declares.
pub fn installs<'a>(repo: &Repo<'a>) -> Vec<ChartInstall<'a>> {
    let mut out = Vec::new();
    for doc in repo.documents {
        if matches!(doc.class, Class::Template | Class::Empty) {
            continue;
        }
        let path = repo.relative_path(doc);
        let dir = parent(&path).to_string();
        if doc.is("argoproj.io", "Application") {
            argo_application(repo, doc, &mut out);
        } else if doc.is("helm.toolkit.fluxcd.io", "HelmRelease") {
            flux_helm_release(repo, doc, &mut out);
        } else if doc.is("helm.cattle.io", "HelmChart") {
            if let Some(chart) = doc.value.pointer("/spec/chart").and_then(Value::as_str) {
                let mut values = Value::Object(Map::new());
                if let Some(text) = doc
                    .value
                    .pointer("/spec/valuesContent")
                    .and_then(Value::as_str)
                {
                    merge(&mut values, &parse_values(text));
                }
                let namespace = doc
                    .value
                    .pointer("/spec/targetNamespace")
                    .and_then(Value::as_str)
                    .or(doc.namespace())
                    .map(str::to_string);
                out.push(ChartInstall {
                    chart: chart_name(chart),
                    declared_by: doc,
                    values,
                    namespace,
                });
            }
        } else if is_kustomization(repo, doc) {
            kustomize_helm_charts(repo, doc, &dir, &mut out);
        } else if path.ends_with("Chart.yaml") {
            umbrella_dependencies(repo, doc, &dir, &mut out);
        } else if path
            .rsplit('/')
            .next()
            .is_some_and(|f| f.starts_with("helmfile"))
        {
            helmfile_releases(repo, doc, &dir, &mut out);
        }
    }
    out
}

fn argo_application<'a>(repo: &Repo<'a>, doc: &'a Document, out: &mut Vec<ChartInstall<'a>>) {
    let sources = crate::argo::sources(doc);
    // `$ref` names of the sources that are this repository (for `$ref/path` value files).
    let refs: Vec<&str> = sources
        .iter()
        .filter(|s| !crate::argo::is_foreign(repo, s))
        .filter_map(|s| s.str("ref"))
        .collect();
    for source in &sources {
        let Some(chart) = source.str("chart") else {
            continue;
        };
        let mut values = Value::Object(Map::new());
        for file in source
            .value
            .pointer("/helm/valueFiles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if let Some((reference, rest)) = file.strip_prefix('$').and_then(|f| f.split_once('/'))
            {
                if refs.contains(&reference) {
                    merge(&mut values, &values_file(repo, rest));
                }
            }
        }
        if let Some(text) = source.value.pointer("/helm/values").and_then(Value::as_str) {
            merge(&mut values, &parse_values(text));
        }
        if let Some(object) = source.value.pointer("/helm/valuesObject") {
            merge(&mut values, object);
        }
        out.push(ChartInstall {
            chart: chart_name(chart),
            declared_by: doc,
            values,
            namespace: doc
                .value
                .pointer("/spec/destination/namespace")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
}

fn flux_helm_release<'a>(repo: &Repo<'a>, doc: &'a Document, out: &mut Vec<ChartInstall<'a>>) {
    let namespace = doc.namespace();
    let chart = if let Some(chart) = doc
        .value
        .pointer("/spec/chart/spec/chart")
        .and_then(Value::as_str)
    {
        Some(chart_name(chart))
    } else if let Some(name) = doc
        .value
        .pointer("/spec/chartRef/name")
        .and_then(Value::as_str)
    {
        // An OCIRepository (or HelmChart) source: the chart is the last segment of its URL.
        let source_namespace = doc
            .value
            .pointer("/spec/chartRef/namespace")
            .and_then(Value::as_str)
            .or(namespace);
        let url = repo
            .objects()
            .filter(|o| o.group() == "source.toolkit.fluxcd.io" && o.name() == Some(name))
            .filter(|o| {
                source_namespace.is_none()
                    || o.namespace().is_none()
                    || o.namespace() == source_namespace
            })
            .find_map(|o| {
                o.value
                    .pointer("/spec/url")
                    .or_else(|| o.value.pointer("/spec/chart"))
                    .and_then(Value::as_str)
            });
        url.map(chart_name)
    } else {
        None
    };
    let Some(chart) = chart else {
        return;
    };
    let mut values = Value::Object(Map::new());
    for from in doc
        .value
        .pointer("/spec/valuesFrom")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if from.get("kind").and_then(Value::as_str) != Some("ConfigMap") {
            continue;
        }
        let name = from.get("name").and_then(Value::as_str);
        let key = from
            .get("valuesKey")
            .and_then(Value::as_str)
            .unwrap_or("values.yaml");
        let text = repo
            .of_kind("ConfigMap")
            .filter(|c| c.name() == name)
            .find_map(|c| {
                c.value
                    .pointer("/data")
                    .and_then(|d| d.get(key))
                    .and_then(Value::as_str)
            });
        if let Some(text) = text {
            merge(&mut values, &parse_values(text));
        } else if let Some(file) = name.and_then(|name| generated_file(repo, doc, name, key)) {
            merge(&mut values, &values_file(repo, &file));
        }
    }
    if let Some(inline) = doc.value.pointer("/spec/values") {
        merge(&mut values, inline);
    }
    out.push(ChartInstall {
        chart,
        declared_by: doc,
        values,
        namespace: doc
            .value
            .pointer("/spec/targetNamespace")
            .and_then(Value::as_str)
            .or(namespace)
            .map(str::to_string),
    });
}

/// The repository file that holds key `key` of the ConfigMap `name` that a kustomize
/// `configMapGenerator` makes beside `doc` (in the kustomization of its folder or of a folder
/// above): `files: [values.yaml=./helm-values.yaml]`, or `files: [./values.yaml]` whose key
/// is the file's name.
fn generated_file(repo: &Repo, doc: &Document, name: &str, key: &str) -> Option<String> {
    let path = repo.relative_path(doc);
    let mut dir = parent(&path);
    loop {
        if let Some(kustomization) = repo.kustomization(dir) {
            for entry in kustomization
                .value
                .get("configMapGenerator")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|e| e.get("name").and_then(Value::as_str) == Some(name))
            {
                for file in entry
                    .get("files")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    let (file_key, file) = match file.split_once('=') {
                        Some((k, f)) => (k.trim(), f.trim()),
                        None => (file.rsplit('/').next().unwrap_or(file), file),
                    };
                    if file_key == key {
                        return join(dir, file);
                    }
                }
            }
        }
        if dir.is_empty() {
            return None;
        }
        dir = parent(dir);
    }
}

fn kustomize_helm_charts<'a>(
    repo: &Repo<'a>,
    doc: &'a Document,
    dir: &str,
    out: &mut Vec<ChartInstall<'a>>,
) {
    let Some(charts) = doc.value.get("helmCharts").and_then(Value::as_array) else {
        return;
    };
    for entry in charts.iter() {
        let Some(name) = entry.get("name").and_then(Value::as_str) else {
            continue;
        };
        let mut values = Value::Object(Map::new());
        let files = entry
            .get("valuesFile")
            .into_iter()
            .chain(
                entry
                    .get("additionalValuesFiles")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            )
            .filter_map(Value::as_str);
        for file in files {
            if let Some(path) = join(dir, file) {
                merge(&mut values, &values_file(repo, &path));
            }
        }
        if let Some(inline) = entry.get("valuesInline") {
            merge(&mut values, inline);
        }
        out.push(ChartInstall {
            chart: chart_name(name),
            declared_by: doc,
            values,
            namespace: entry
                .get("namespace")
                .or_else(|| doc.value.get("namespace"))
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
}

fn umbrella_dependencies<'a>(
    repo: &Repo<'a>,
    doc: &'a Document,
    dir: &str,
    out: &mut Vec<ChartInstall<'a>>,
) {
    let Some(dependencies) = doc.value.get("dependencies").and_then(Value::as_array) else {
        return;
    };
    let values = join(dir, "values.yaml")
        .map(|p| values_file(repo, &p))
        .unwrap_or(Value::Null);
    for dependency in dependencies.iter() {
        let Some(name) = dependency.get("name").and_then(Value::as_str) else {
            continue;
        };
        let key = dependency
            .get("alias")
            .and_then(Value::as_str)
            .unwrap_or(name);
        out.push(ChartInstall {
            chart: chart_name(name),
            declared_by: doc,
            values: values.get(key).cloned().unwrap_or(Value::Null),
            namespace: None,
        });
    }
}

fn helmfile_releases<'a>(
    repo: &Repo<'a>,
    doc: &'a Document,
    dir: &str,
    out: &mut Vec<ChartInstall<'a>>,
) {
    let Some(releases) = doc.value.get("releases").and_then(Value::as_array) else {
        return;
    };
    for release in releases.iter() {
        let Some(chart) = release.get("chart").and_then(Value::as_str) else {
            continue;
        };
        let mut values = Value::Object(Map::new());
        for entry in release
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match entry {
                Value::String(file) => {
                    if let Some(path) = join(dir, file) {
                        merge(&mut values, &values_file(repo, &path));
                    }
                }
                Value::Object(_) => merge(&mut values, entry),
                _ => {}
            }
        }
        out.push(ChartInstall {
            chart: chart_name(chart),
            declared_by: doc,
            values,
            namespace: release
                .get("namespace")
                .and_then(Value::as_str)
                .map(str::to_string),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_names_from_every_kind_of_reference() {
        assert_eq!(chart_name("longhorn"), "longhorn");
        assert_eq!(chart_name("longhorn/longhorn"), "longhorn");
        assert_eq!(
            chart_name("oci://ghcr.io/home-operations/charts-mirror/longhorn"),
            "longhorn"
        );
        assert_eq!(
            chart_name("./charts/nfs-subdir-external-provisioner/"),
            "nfs-subdir-external-provisioner"
        );
        assert_eq!(chart_name("https://x.io/longhorn-1.7.2.tgz"), "longhorn");
        assert_eq!(
            chart_name("oci://r.io/csi-driver-nfs:4.9.0"),
            "csi-driver-nfs"
        );
    }

    #[test]
    fn values_merge_deeply_later_wins() {
        let mut a = serde_json::json!({"persistence": {"defaultClass": true, "x": 1}});
        merge(&mut a, &serde_json::json!({"persistence": {"x": 2}}));
        assert_eq!(
            a,
            serde_json::json!({"persistence": {"defaultClass": true, "x": 2}})
        );
    }
}
