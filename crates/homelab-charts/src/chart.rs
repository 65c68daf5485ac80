//! One chart as the checks need it: `Chart.yaml`, the default values (`values.yaml`), the
//! values schema (`values.schema.json`), the template texts, and its subcharts (folders or
//! packaged `.tgz` under `charts/`), read from the files of [`crate::archive`].

use crate::archive::{self, Bounds, Files};
use serde_json::Value;

/// A dependency of `Chart.yaml`.
#[derive(Debug, Clone, Default)]
pub struct Dependency {
    pub name: String,
    pub alias: Option<String>,
    pub condition: Option<String>,
}

impl Dependency {
    /// The key of this subchart in the parent's values (`alias`, else `name`).
    pub fn key(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.name)
    }
}

/// A chart, read.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    pub name: String,
    pub version: String,
    pub metadata: Value,
    /// `values.yaml` (an empty map when absent).
    pub defaults: Value,
    /// The text of `values.yaml` (for README generation and positions).
    pub defaults_text: String,
    pub schema: Option<Value>,
    /// `templates/**` (path in the chart, text), helpers included.
    pub templates: Vec<(String, String)>,
    pub dependencies: Vec<Dependency>,
    /// Subcharts by their values key (`alias` or name).
    pub subcharts: Vec<(String, Chart)>,
    /// Every file of the chart (for `.Files` value files and for writing a folder chart).
    pub files: Files,
}

/// YAML text to a value (`null` for empty text). Helm reads YAML the way Kubernetes does,
/// which is how `homelab_manifest` reads it too.
pub fn parse_yaml(name: &str, text: &str) -> Result<Value, String> {
    let (docs, diagnostics) = homelab_manifest::parse_str(name, text);
    if let Some(d) = diagnostics
        .iter()
        .find(|d| d.severity == homelab_diagnostics::Severity::Error)
    {
        let at = d
            .location
            .as_ref()
            .map(|l| format!(" at {l}"))
            .unwrap_or_default();
        return Err(format!("{}{at}", d.message));
    }
    Ok(docs
        .into_iter()
        .map(|d| d.value)
        .find(|v| !v.is_null())
        .unwrap_or(Value::Null))
}

impl Chart {
    /// Reads a chart from its files (`Chart.yaml` at the top).
    pub fn from_files(files: Files, bounds: &Bounds) -> Result<Chart, String> {
        Self::from_files_at(files, bounds, 0)
    }

    fn from_files_at(files: Files, bounds: &Bounds, depth: usize) -> Result<Chart, String> {
        let text = |path: &str| {
            files
                .get(path)
                .map(|b| String::from_utf8_lossy(b).into_owned())
        };
        let metadata_text = text("Chart.yaml").ok_or("the chart has no Chart.yaml")?;
        let metadata = parse_yaml("Chart.yaml", &metadata_text)
            .map_err(|e| format!("Chart.yaml does not parse: {e}"))?;
        let field = |k: &str| match metadata.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let name = field("name");
        let version = field("version");
        let defaults_text = text("values.yaml").unwrap_or_default();
        let defaults = match parse_yaml("values.yaml", &defaults_text)
            .map_err(|e| format!("values.yaml does not parse: {e}"))?
        {
            Value::Null => Value::Object(Default::default()),
            v => v,
        };
        let schema = match text("values.schema.json") {
            Some(t) => Some(
                serde_json::from_str(&t)
                    .map_err(|e| format!("values.schema.json is not JSON: {e}"))?,
            ),
            None => None,
        };
        let templates = files
            .iter()
            .filter(|(p, _)| p.starts_with("templates/"))
            .map(|(p, b)| (p.clone(), String::from_utf8_lossy(b).into_owned()))
            .collect();
        let dependencies = metadata
            .get("dependencies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|d| {
                Some(Dependency {
                    name: d.get("name")?.as_str()?.to_string(),
                    alias: d.get("alias").and_then(Value::as_str).map(str::to_string),
                    condition: d
                        .get("condition")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                })
            })
            .collect::<Vec<_>>();
        let subcharts = if depth >= bounds.depth {
            Vec::new()
        } else {
            read_subcharts(&files, &dependencies, bounds, depth)
        };
        Ok(Chart {
            name,
            version,
            metadata,
            defaults,
            defaults_text,
            schema,
            templates,
            dependencies,
            subcharts,
            files,
        })
    }

    /// The subchart whose values live under `key`.
    pub fn subchart(&self, key: &str) -> Option<&Chart> {
        self.subcharts
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, c)| c)
    }

    /// `name version` for messages.
    pub fn label(&self) -> String {
        format!("{} {}", self.name, self.version)
    }
}

/// Subcharts under `charts/`: folders with a `Chart.yaml`, and packaged `.tgz` files. Each is
/// keyed by the alias of the dependency that names it (a dependency may be aliased twice).
fn read_subcharts(
    files: &Files,
    dependencies: &[Dependency],
    bounds: &Bounds,
    depth: usize,
) -> Vec<(String, Chart)> {
    let mut found: Vec<Chart> = Vec::new();
    let mut folders: Vec<&str> = files
        .keys()
        .filter_map(|p| {
            let rest = p.strip_prefix("charts/")?;
            let (folder, file) = rest.split_once('/')?;
            (file == "Chart.yaml").then_some(folder)
        })
        .collect();
    folders.dedup();
    for folder in folders {
        let prefix = format!("charts/{folder}/");
        let sub: Files = files
            .iter()
            .filter_map(|(p, b)| Some((p.strip_prefix(&prefix)?.to_string(), b.clone())))
            .collect();
        if let Ok(chart) = Chart::from_files_at(sub, bounds, depth + 1) {
            found.push(chart);
        }
    }
    for (path, bytes) in files {
        let Some(rest) = path.strip_prefix("charts/") else {
            continue;
        };
        if rest.contains('/') || !rest.ends_with(".tgz") {
            continue;
        }
        if let Ok(sub) = archive::read_tgz(bytes, bounds) {
            if let Ok(chart) = Chart::from_files_at(sub, bounds, depth + 1) {
                found.push(chart);
            }
        }
    }
    let mut keyed = Vec::new();
    for dependency in dependencies {
        if let Some(chart) = found.iter().find(|c| c.name == dependency.name) {
            keyed.push((dependency.key().to_string(), chart.clone()));
        }
    }
    // Subcharts present without a dependency entry are still rendered by Helm (Chart.yaml
    // `dependencies` only adds conditions, aliases and versions).
    for chart in found {
        if !dependencies.iter().any(|d| d.name == chart.name) {
            keyed.push((chart.name.clone(), chart));
        }
    }
    keyed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(entries: &[(&str, &str)]) -> Files {
        entries
            .iter()
            .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn reads_metadata_defaults_schema_and_subcharts() {
        let sub = archive::write_tgz(
            &files(&[
                ("Chart.yaml", "name: db\nversion: 2.0.0\n"),
                ("values.yaml", "port: 5432\n"),
            ]),
            "db",
        )
        .unwrap();
        let mut all = files(&[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: app\nversion: 1.2.3\ndependencies:\n  - name: db\n    alias: database\n    condition: database.enabled\n  - name: cache\n",
            ),
            ("values.yaml", "replicas: 1\n"),
            ("values.schema.json", "{\"type\": \"object\"}"),
            ("templates/cm.yaml", "kind: ConfigMap"),
            ("charts/cache/Chart.yaml", "name: cache\nversion: 0.1.0\n"),
        ]);
        all.insert("charts/db-2.0.0.tgz".into(), sub);
        let chart = Chart::from_files(all, &Bounds::default()).unwrap();
        assert_eq!(chart.label(), "app 1.2.3");
        assert_eq!(chart.defaults["replicas"], 1);
        assert!(chart.schema.is_some());
        assert_eq!(chart.templates.len(), 1);
        assert_eq!(chart.subchart("database").unwrap().defaults["port"], 5432);
        assert_eq!(chart.subchart("cache").unwrap().version, "0.1.0");
        assert!(chart.subchart("db").is_none());
    }

    #[test]
    fn a_chart_without_chart_yaml_is_an_error() {
        let err =
            Chart::from_files(files(&[("values.yaml", "a: 1")]), &Bounds::default()).unwrap_err();
        assert!(err.contains("Chart.yaml"));
    }
}
