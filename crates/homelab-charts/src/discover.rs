//! Every Helm source a repository declares, with what ArgoCD, helmfile or kustomize would pass
//! to `helm template`: ArgoCD Applications (single and multi-source, `$ref` value files, inline
//! `valuesObject`/`values`, `parameters`, `fileParameters`), `helmfile.yaml` releases,
//! kustomize `helmCharts`, and the repository's own charts (`Chart.yaml` folders) that nothing
//! else renders. Value files of the repository are read here, confined to it.

use crate::paths::{self, Refused};
use crate::store::RemoteChart;
use crate::values::{self, Layer, Locator};
use homelab_diagnostics::{Diagnostic, Location};
use homelab_manifest::{kustomizations, Class, Document};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// The chart of a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartRef {
    /// A chart in a chart repository (HTTP or OCI).
    Remote(RemoteChart),
    /// A chart folder of this repository (relative to its root).
    Local(String),
}

/// Values of a source, in order.
#[derive(Debug, Clone)]
pub enum ValuesSpec {
    /// Read and located.
    Layer(Layer),
    /// A values file inside the chart (single-source Applications of a packaged chart).
    ChartFile { name: String, at: Location },
    /// Values that cannot be had offline or are refused: the source is not rendered.
    Unavailable {
        what: String,
        why: String,
        at: Location,
    },
}

/// One Helm release as its declaration describes it.
#[derive(Debug, Clone)]
pub struct HelmSource {
    /// `Application longhorn`, `helmfile release longhorn`, `kustomize helmCharts traefik`,
    /// `chart charts/myapp`.
    pub declared_by: String,
    /// Where findings about this source (and those that cannot be placed better) are reported.
    pub at: Location,
    pub chart: ChartRef,
    pub release: String,
    pub namespace: String,
    pub values: Vec<ValuesSpec>,
    pub include_crds: bool,
    pub skip_schema_validation: bool,
    pub skip_tests: bool,
    pub kube_version: Option<String>,
    pub api_versions: Vec<String>,
    /// Value files that do not exist are skipped instead of failing (ArgoCD's
    /// `ignoreMissingValueFiles`).
    pub ignore_missing_value_files: bool,
}

/// What discovery found.
#[derive(Debug, Default)]
pub struct Discovered {
    pub sources: Vec<HelmSource>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Finds every Helm source among the loaded documents. `root` is the repository folder
/// (value files are read from it); without one, only inline values can be used.
pub fn discover(documents: &[Document], root: Option<&Path>) -> Discovered {
    let mut found = Discovered::default();
    for doc in documents {
        if !matches!(doc.class, Class::Object) {
            continue;
        }
        if doc.kind() == Some("Application") && doc.group() == "argoproj.io" {
            application(doc, root, &mut found);
        }
    }
    for doc in documents {
        let file = file_name(&doc.source.name);
        if matches!(file, "helmfile.yaml" | "helmfile.yml") && doc.value.get("releases").is_some() {
            helmfile(doc, root, &mut found);
        }
        if kustomizations::FILE_NAMES.contains(&file) && doc.value.get("helmCharts").is_some() {
            kustomization(doc, root, &mut found);
        }
    }
    if let Some(root) = root {
        repo_charts(documents, root, &mut found);
    }
    found
}

fn file_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

fn dir_of(relative: &str) -> &str {
    relative.rsplit_once('/').map_or("", |(d, _)| d)
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

/// The strings of a list value; anything else (absent, not a list, non-string items) adds none.
fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

fn bool_at(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A values file of the repository as a layer, or why it cannot be one.
fn repo_values_file(
    root: Option<&Path>,
    relative: &str,
    at: &Location,
    ignore_missing: bool,
) -> Option<ValuesSpec> {
    let Some(root) = root else {
        return Some(ValuesSpec::Unavailable {
            what: format!("values file `{relative}`"),
            why: "only a repository folder can supply value files (check the folder, not single files)".into(),
            at: at.clone(),
        });
    };
    match paths::read_confined(root, relative) {
        Ok(text) => {
            let name = paths::display_name(root, relative);
            let (docs, _) = homelab_manifest::parse_str(&name, &text);
            let doc = docs
                .into_iter()
                .find(|d| !d.value.is_null())
                .unwrap_or_else(|| homelab_manifest::parse_str(&name, "{}").0.remove(0));
            let value = match &doc.value {
                Value::Object(_) => doc.value.clone(),
                _ => Value::Object(Map::new()),
            };
            Some(ValuesSpec::Layer(Layer {
                label: relative.to_string(),
                value,
                locator: Locator::Document {
                    doc: Box::new(doc),
                    prefix: String::new(),
                },
            }))
        }
        Err(Refused::Missing) if ignore_missing => None,
        Err(why) => Some(ValuesSpec::Unavailable {
            what: format!("values file `{relative}`"),
            why: why.describe(),
            at: at.clone(),
        }),
    }
}

/// ArgoCD's `helm.parameters` (and `fileParameters`) as one layer, each key located at its
/// parameter.
fn parameters_layer(
    doc: &Document,
    helm_pointer: &str,
    helm: &Value,
    root: Option<&Path>,
    base_dir: Option<&str>,
    specs: &mut Vec<ValuesSpec>,
) {
    let mut value = Value::Object(Map::new());
    let mut at = BTreeMap::new();
    for (i, p) in helm
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let (Some(name), Some(text)) = (str_at(p, "name"), p.get("value").and_then(scalar_text))
        else {
            continue;
        };
        let force = bool_at(p, "forceString").unwrap_or(false);
        let path = values::split_set_key(name);
        let leaf = if !force && text.starts_with('{') && text.ends_with('}') {
            Value::Array(
                text[1..text.len() - 1]
                    .split(',')
                    .map(|s| values::set_value(s.trim(), false))
                    .collect(),
            )
        } else {
            values::set_value(&text, force)
        };
        values::set_path(&mut value, &path, leaf);
        at.insert(
            values::pointer_of(&path),
            doc.location(&format!("{helm_pointer}/parameters/{i}")),
        );
    }
    for (i, p) in helm
        .get("fileParameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let (Some(name), Some(file)) = (str_at(p, "name"), str_at(p, "path")) else {
            continue;
        };
        let here = doc.location(&format!("{helm_pointer}/fileParameters/{i}/path"));
        let relative = match base_dir {
            Some(dir) if !file.starts_with('$') => paths::join_relative(dir, file),
            _ => file
                .split_once('/')
                .and_then(|(_, rest)| paths::join_relative("", rest)),
        };
        let content = match (root, relative) {
            (Some(root), Some(rel)) => paths::read_confined(root, &rel).map_err(|e| e.describe()),
            _ => Err(Refused::Outside.describe()),
        };
        match content {
            Ok(text) => {
                let path = values::split_set_key(name);
                values::set_path(&mut value, &path, Value::String(text));
                at.insert(values::pointer_of(&path), here);
            }
            Err(why) => specs.push(ValuesSpec::Unavailable {
                what: format!("file parameter `{file}`"),
                why,
                at: here,
            }),
        }
    }
    if !at.is_empty() {
        specs.push(ValuesSpec::Layer(Layer {
            label: format!("parameters of {}", doc.name().unwrap_or("?")),
            value,
            locator: Locator::Fixed {
                at,
                fallback: doc.location(helm_pointer),
            },
        }));
    }
}

/// ArgoCD's inline `values` (a YAML string) and `valuesObject` (a map; it wins over `values`).
fn inline_values(doc: &Document, helm_pointer: &str, helm: &Value, specs: &mut Vec<ValuesSpec>) {
    let app = doc.name().unwrap_or("?");
    if let Some(object) = helm.get("valuesObject").filter(|v| v.is_object()) {
        specs.push(ValuesSpec::Layer(Layer {
            label: format!("valuesObject of Application {app}"),
            value: object.clone(),
            locator: Locator::Document {
                doc: Box::new(doc.clone()),
                prefix: format!("{helm_pointer}/valuesObject"),
            },
        }));
        return;
    }
    match helm.get("values") {
        Some(Value::String(text)) if !text.trim().is_empty() => {
            let key = doc.location(&format!("{helm_pointer}/values"));
            let (line, column) = block_start(
                &doc.source.text,
                &doc.value_location(&format!("{helm_pointer}/values")),
                text,
            );
            let (docs, diags) = homelab_manifest::parse_str(&doc.source.name, text);
            if diags
                .iter()
                .any(|d| d.severity == homelab_diagnostics::Severity::Error)
            {
                specs.push(ValuesSpec::Unavailable {
                    what: format!("inline values of Application {app}"),
                    why: "they are not valid YAML".into(),
                    at: key,
                });
                return;
            }
            let Some(inner) = docs.into_iter().find(|d| d.value.is_object()) else {
                return;
            };
            specs.push(ValuesSpec::Layer(Layer {
                label: format!("values of Application {app}"),
                value: inner.value.clone(),
                locator: Locator::Embedded {
                    doc: Box::new(inner),
                    file: doc.source.name.clone(),
                    line,
                    column,
                },
            }));
        }
        Some(Value::Object(_)) => {
            // Older ArgoCD accepted a map under `values` too.
            specs.push(ValuesSpec::Layer(Layer {
                label: format!("values of Application {app}"),
                value: helm["values"].clone(),
                locator: Locator::Document {
                    doc: Box::new(doc.clone()),
                    prefix: format!("{helm_pointer}/values"),
                },
            }));
        }
        _ => {}
    }
}

/// Where the text of a block scalar starts: the line after the `|` indicator, at the block's
/// indentation. A quoted or plain string starts where its value does.
fn block_start(text: &str, value_at: &Location, content: &str) -> (u32, u32) {
    let line_text = text
        .lines()
        .nth(value_at.line.saturating_sub(1) as usize)
        .unwrap_or("");
    let rest: String = line_text
        .chars()
        .skip(value_at.column.saturating_sub(1) as usize)
        .collect();
    if rest.starts_with('|') || rest.starts_with('>') {
        // Leading blank lines are part of a literal block, so the content's first line is the
        // line after the indicator; its indentation is that of the first non-blank line.
        let blank = content.lines().take_while(|l| l.trim().is_empty()).count();
        let indent = text
            .lines()
            .nth(value_at.line as usize + blank)
            .map(|l| l.len() - l.trim_start().len())
            .unwrap_or(0);
        (value_at.line + 1, indent as u32 + 1)
    } else {
        (value_at.line, value_at.column)
    }
}

fn application(doc: &Document, root: Option<&Path>, found: &mut Discovered) {
    let app = doc.name().unwrap_or("?").to_string();
    let mut list: Vec<(String, &Value)> = Vec::new();
    if let Some(s) = doc.value.pointer("/spec/source").filter(|v| v.is_object()) {
        list.push(("/spec/source".into(), s));
    }
    for (i, s) in doc
        .value
        .pointer("/spec/sources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        list.push((format!("/spec/sources/{i}"), s));
    }
    let refs: Vec<&str> = list.iter().filter_map(|(_, s)| str_at(s, "ref")).collect();
    let namespace = doc
        .value
        .pointer("/spec/destination/namespace")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or("default")
        .to_string();
    let root_relative_app = root.map(|r| paths::relative_to(r, &doc.source.name));
    for (pointer, source) in &list {
        let helm = source
            .get("helm")
            .cloned()
            .unwrap_or(Value::Object(Map::new()));
        let helm_pointer = format!("{pointer}/helm");
        let (chart, at, chart_dir) = if let Some(name) = str_at(source, "chart") {
            let Some(repository) = str_at(source, "repoURL") else {
                continue;
            };
            let version = source
                .get("targetRevision")
                .and_then(scalar_text)
                .unwrap_or_else(|| "*".into());
            (
                ChartRef::Remote(RemoteChart {
                    repository: repository.trim().to_string(),
                    name: name.trim().to_string(),
                    version,
                }),
                doc.location(&format!("{pointer}/chart")),
                None,
            )
        } else if let Some(path) = str_at(source, "path") {
            // A path source is a Helm source when the folder holds a Chart.yaml (as ArgoCD
            // detects it). Only this repository's folders can be seen.
            let Some(root) = root else { continue };
            let Some(dir) = paths::join_relative("", path) else {
                continue;
            };
            if paths::confine(root, &format!("{dir}/Chart.yaml")).is_err() {
                continue;
            }
            (
                ChartRef::Local(dir.clone()),
                doc.location(&format!("{pointer}/path")),
                Some(dir),
            )
        } else {
            continue;
        };
        let ignore_missing = bool_at(&helm, "ignoreMissingValueFiles").unwrap_or(false);
        let mut specs = Vec::new();
        for (i, file) in helm
            .get("valueFiles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(file) = file.as_str() else { continue };
            let here = doc.location(&format!("{helm_pointer}/valueFiles/{i}"));
            if file.starts_with("http://") || file.starts_with("https://") {
                specs.push(ValuesSpec::Unavailable {
                    what: format!("values file `{file}`"),
                    why: "is a URL; homelab never fetches values (download it into the repository and reference it with `$values/...`)".into(),
                    at: here,
                });
                continue;
            }
            if let Some(rest) = file.strip_prefix('$') {
                let (reference, path) = rest.split_once('/').unwrap_or((rest, ""));
                if !refs.contains(&reference) {
                    // `argocd/values-path` reports the unknown reference.
                    specs.push(ValuesSpec::Unavailable {
                        what: format!("values file `{file}`"),
                        why: format!("no source has `ref: {reference}`"),
                        at: here,
                    });
                    continue;
                }
                match paths::join_relative("", path) {
                    Some(relative) => {
                        specs.extend(repo_values_file(root, &relative, &here, ignore_missing))
                    }
                    None => specs.push(ValuesSpec::Unavailable {
                        what: format!("values file `{file}`"),
                        why: Refused::Outside.describe(),
                        at: here,
                    }),
                }
                continue;
            }
            match &chart_dir {
                // Relative to the chart folder of this repository.
                Some(dir) => match paths::join_relative(dir, file) {
                    Some(relative) => {
                        specs.extend(repo_values_file(root, &relative, &here, ignore_missing))
                    }
                    None => specs.push(ValuesSpec::Unavailable {
                        what: format!("values file `{file}`"),
                        why: Refused::Outside.describe(),
                        at: here,
                    }),
                },
                // Inside the packaged chart.
                None => specs.push(ValuesSpec::ChartFile {
                    name: file.trim_start_matches("./").to_string(),
                    at: here,
                }),
            }
        }
        inline_values(doc, &helm_pointer, &helm, &mut specs);
        parameters_layer(
            doc,
            &helm_pointer,
            &helm,
            root,
            chart_dir.as_deref(),
            &mut specs,
        );
        let _ = &root_relative_app;
        found.sources.push(HelmSource {
            declared_by: format!("Application {app}"),
            at,
            chart,
            release: str_at(&helm, "releaseName").unwrap_or(&app).to_string(),
            namespace: str_at(&helm, "namespace").unwrap_or(&namespace).to_string(),
            values: specs,
            include_crds: !bool_at(&helm, "skipCrds").unwrap_or(false),
            skip_schema_validation: bool_at(&helm, "skipSchemaValidation").unwrap_or(false),
            skip_tests: bool_at(&helm, "skipTests").unwrap_or(false),
            kube_version: str_at(&helm, "kubeVersion").map(str::to_string),
            api_versions: strings(helm.get("apiVersions")),
            ignore_missing_value_files: ignore_missing,
        });
    }
}

fn helmfile(doc: &Document, root: Option<&Path>, found: &mut Discovered) {
    let relative = root
        .map(|r| paths::relative_to(r, &doc.source.name))
        .unwrap_or_default();
    let base = dir_of(&relative).to_string();
    let mut repositories: BTreeMap<String, (String, bool)> = BTreeMap::new();
    for r in doc
        .value
        .get("repositories")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(name), Some(url)) = (str_at(r, "name"), str_at(r, "url")) {
            repositories.insert(
                name.to_string(),
                (url.to_string(), bool_at(r, "oci").unwrap_or(false)),
            );
        }
    }
    for (i, release) in doc.value["releases"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let pointer = format!("/releases/{i}");
        let Some(name) = str_at(release, "name") else {
            continue;
        };
        let Some(chart) = str_at(release, "chart") else {
            continue;
        };
        if release.get("installed").and_then(Value::as_bool) == Some(false) {
            continue;
        }
        let at = doc.location(&format!("{pointer}/chart"));
        if [name, chart].iter().any(|s| s.contains("{{")) {
            found.diagnostics.push(
                Diagnostic::note(
                    "charts/not-rendered",
                    format!("helmfile release `{name}` uses Go templates: not rendered"),
                )
                .at(at)
                .with_help("render it with `helmfile template | homelab check -`"),
            );
            continue;
        }
        let version = release
            .get("version")
            .and_then(scalar_text)
            .unwrap_or_else(|| "*".into());
        let chart_ref = if let Some(url) = chart.strip_prefix("oci://") {
            let (repository, chart_name) = url.rsplit_once('/').unwrap_or(("", url));
            ChartRef::Remote(RemoteChart {
                repository: format!("oci://{repository}"),
                name: chart_name.to_string(),
                version,
            })
        } else if chart.starts_with("./") || chart.starts_with("../") || chart.starts_with('/') {
            match paths::join_relative(&base, chart) {
                Some(dir) => ChartRef::Local(dir),
                None => {
                    found.diagnostics.push(
                        Diagnostic::error(
                            "charts/outside-repository",
                            format!(
                                "helmfile release `{name}`: chart `{chart}` {}",
                                Refused::Outside.describe()
                            ),
                        )
                        .at(at),
                    );
                    continue;
                }
            }
        } else if let Some((repo, chart_name)) = chart.split_once('/') {
            match repositories.get(repo) {
                Some((url, oci)) => ChartRef::Remote(RemoteChart {
                    repository: if *oci && !url.starts_with("oci://") {
                        format!("oci://{url}")
                    } else {
                        url.clone()
                    },
                    name: chart_name.to_string(),
                    version,
                }),
                None => {
                    // A local folder without `./` (helmfile accepts `charts/x`).
                    ChartRef::Local(paths::join_relative(&base, chart).unwrap_or_default())
                }
            }
        } else {
            ChartRef::Local(paths::join_relative(&base, chart).unwrap_or_default())
        };
        let mut specs = Vec::new();
        for (j, entry) in release
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let here = doc.location(&format!("{pointer}/values/{j}"));
            match entry {
                Value::String(file) if file.ends_with(".gotmpl") || file.contains("{{") => {
                    specs.push(ValuesSpec::Unavailable {
                        what: format!("values file `{file}`"),
                        why: "is a helmfile template; render it with `helmfile template | homelab check -`".into(),
                        at: here,
                    });
                }
                Value::String(file) => match paths::join_relative(&base, file) {
                    Some(rel) => specs.extend(repo_values_file(root, &rel, &here, false)),
                    None => specs.push(ValuesSpec::Unavailable {
                        what: format!("values file `{file}`"),
                        why: Refused::Outside.describe(),
                        at: here,
                    }),
                },
                Value::Object(_) => specs.push(ValuesSpec::Layer(Layer {
                    label: format!("inline values of helmfile release {name}"),
                    value: entry.clone(),
                    locator: Locator::Document {
                        doc: Box::new(doc.clone()),
                        prefix: format!("{pointer}/values/{j}"),
                    },
                })),
                _ => {}
            }
        }
        let mut set = Value::Object(Map::new());
        let mut set_at = BTreeMap::new();
        for (key, force) in [("set", false), ("setString", true)] {
            for (j, s) in release
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let Some(param) = str_at(s, "name") else {
                    continue;
                };
                let leaf = match s.get("value") {
                    Some(v) if force => Value::String(scalar_text(v).unwrap_or_default()),
                    Some(Value::String(t)) => values::set_value(t, false),
                    Some(v) => v.clone(),
                    None => match s.get("values") {
                        Some(v) => v.clone(),
                        None => continue,
                    },
                };
                let path = values::split_set_key(param);
                values::set_path(&mut set, &path, leaf);
                set_at.insert(
                    values::pointer_of(&path),
                    doc.location(&format!("{pointer}/{key}/{j}")),
                );
            }
        }
        if !set_at.is_empty() {
            specs.push(ValuesSpec::Layer(Layer {
                label: format!("set of helmfile release {name}"),
                value: set,
                locator: Locator::Fixed {
                    at: set_at,
                    fallback: at.clone(),
                },
            }));
        }
        found.sources.push(HelmSource {
            declared_by: format!("helmfile release {name}"),
            at,
            chart: chart_ref,
            release: name.to_string(),
            namespace: str_at(release, "namespace")
                .unwrap_or("default")
                .to_string(),
            values: specs,
            include_crds: !bool_at(release, "skipCRDs").unwrap_or(false),
            skip_schema_validation: bool_at(release, "skipSchemaValidation").unwrap_or(false),
            skip_tests: false,
            kube_version: None,
            api_versions: strings(
                release
                    .get("apiVersions")
                    .or_else(|| doc.value.get("apiVersions")),
            ),
            ignore_missing_value_files: false,
        });
    }
}

fn kustomization(doc: &Document, root: Option<&Path>, found: &mut Discovered) {
    let relative = root
        .map(|r| paths::relative_to(r, &doc.source.name))
        .unwrap_or_default();
    let base = dir_of(&relative).to_string();
    let chart_home = doc
        .value
        .pointer("/helmGlobals/chartHome")
        .and_then(Value::as_str)
        .unwrap_or("charts")
        .to_string();
    let kustomize_namespace = str_at(&doc.value, "namespace");
    for (i, entry) in doc.value["helmCharts"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let pointer = format!("/helmCharts/{i}");
        let Some(name) = str_at(entry, "name") else {
            continue;
        };
        let at = doc.location(&format!("{pointer}/name"));
        let chart = match str_at(entry, "repo") {
            Some(repo) => ChartRef::Remote(RemoteChart {
                repository: repo.to_string(),
                name: name.to_string(),
                version: entry
                    .get("version")
                    .and_then(scalar_text)
                    .unwrap_or_else(|| "*".into()),
            }),
            None => match paths::join_relative(&base, &format!("{chart_home}/{name}")) {
                Some(dir) => ChartRef::Local(dir),
                None => continue,
            },
        };
        let mut specs = Vec::new();
        let files = entry
            .get("valuesFile")
            .and_then(Value::as_str)
            .map(|f| (f.to_string(), format!("{pointer}/valuesFile")))
            .into_iter()
            .chain(
                entry
                    .get("additionalValuesFiles")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .filter_map(|(j, f)| {
                        Some((
                            f.as_str()?.to_string(),
                            format!("{pointer}/additionalValuesFiles/{j}"),
                        ))
                    }),
            );
        for (file, file_pointer) in files {
            let here = doc.location(&file_pointer);
            match paths::join_relative(&base, &file) {
                Some(rel) => specs.extend(repo_values_file(root, &rel, &here, false)),
                None => specs.push(ValuesSpec::Unavailable {
                    what: format!("values file `{file}`"),
                    why: Refused::Outside.describe(),
                    at: here,
                }),
            }
        }
        if let Some(inline) = entry.get("valuesInline").filter(|v| v.is_object()) {
            let merge = str_at(entry, "valuesMerge").unwrap_or("override");
            let layer = Layer {
                label: format!("valuesInline of kustomize helmCharts {name}"),
                value: inline.clone(),
                locator: Locator::Document {
                    doc: Box::new(doc.clone()),
                    prefix: format!("{pointer}/valuesInline"),
                },
            };
            if merge == "replace" {
                specs.retain(|s| !matches!(s, ValuesSpec::Layer(_)));
            }
            specs.push(ValuesSpec::Layer(layer));
        }
        found.sources.push(HelmSource {
            declared_by: format!("kustomize helmCharts {name}"),
            at,
            chart,
            release: str_at(entry, "releaseName").unwrap_or(name).to_string(),
            namespace: str_at(entry, "namespace")
                .or(kustomize_namespace)
                .unwrap_or("default")
                .to_string(),
            values: specs,
            // kustomize leaves CRDs out unless asked.
            include_crds: bool_at(entry, "includeCRDs").unwrap_or(false),
            skip_schema_validation: false,
            skip_tests: bool_at(entry, "skipTests").unwrap_or(false),
            kube_version: str_at(entry, "kubeVersion").map(str::to_string),
            api_versions: strings(entry.get("apiVersions")),
            ignore_missing_value_files: false,
        });
    }
}

/// The repository's own charts (`Chart.yaml` folders) that no other source renders, with
/// their default values, the way `helm template ./charts/x` and `ct lint` see them.
fn repo_charts(documents: &[Document], root: &Path, found: &mut Discovered) {
    for dir in repo_chart_dirs(documents, root) {
        let used = found
            .sources
            .iter()
            .any(|s| s.chart == ChartRef::Local(dir.clone()));
        if used {
            continue;
        }
        let chart_yaml = if dir.is_empty() {
            "Chart.yaml".to_string()
        } else {
            format!("{dir}/Chart.yaml")
        };
        let name = documents
            .iter()
            .find(|d| paths::relative_to(root, &d.source.name) == chart_yaml)
            .and_then(|d| {
                d.value
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| file_name(&dir).to_string());
        found.sources.push(HelmSource {
            declared_by: format!("chart {}", if dir.is_empty() { "." } else { &dir }),
            at: Location::new(paths::display_name(root, &chart_yaml), 1, 1),
            chart: ChartRef::Local(dir),
            release: name,
            namespace: "default".into(),
            values: Vec::new(),
            include_crds: true,
            skip_schema_validation: false,
            skip_tests: false,
            kube_version: None,
            api_versions: Vec::new(),
            ignore_missing_value_files: false,
        });
    }
}

/// The chart folders of the repository (relative to the root): folders with a `Chart.yaml`,
/// except subcharts (`x/charts/y`), which their parent renders.
pub fn repo_chart_dirs(documents: &[Document], root: &Path) -> Vec<String> {
    let mut dirs: Vec<String> = Vec::new();
    for doc in documents {
        if file_name(&doc.source.name) != "Chart.yaml" || doc.doc_index != 0 {
            continue;
        }
        let relative = paths::relative_to(root, &doc.source.name);
        let dir = dir_of(&relative).to_string();
        dirs.push(dir);
    }
    dirs.sort();
    dirs.dedup();
    // A subchart folder (`x/charts/y`) is rendered by its parent.
    let all = dirs.clone();
    dirs.retain(|d| {
        !all.iter().any(|p| {
            p != d
                && d.starts_with(&if p.is_empty() {
                    "charts/".to_string()
                } else {
                    format!("{p}/charts/")
                })
        })
    });
    // The chart cache and render state are not the repository's charts.
    dirs.retain(|d| !d.starts_with(".homelab/") && d != ".homelab");
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(root: &Path) -> Vec<Document> {
        homelab_manifest::load(
            &[root.to_path_buf()],
            &homelab_manifest::LoadOptions::default(),
        )
        .documents
    }

    fn write(root: &Path, path: &str, text: &str) {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn multi_source_applications_with_values_refs_and_inline_values() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "values/app.yaml", "replicas: 2\n");
        write(
            root,
            "apps/app.yaml",
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: web\nspec:\n  destination:\n    namespace: web\n  sources:\n    - repoURL: https://charts.example\n      chart: web\n      targetRevision: 1.2.3\n      helm:\n        releaseName: site\n        valueFiles:\n          - $values/values/app.yaml\n          - $values/../outside.yaml\n        valuesObject:\n          image:\n            tag: v2\n        parameters:\n          - name: service.port\n            value: \"8080\"\n    - repoURL: https://git.example/repo\n      ref: values\n",
        );
        let found = discover(&load(root), Some(root));
        assert_eq!(found.sources.len(), 1);
        let s = &found.sources[0];
        assert_eq!(s.release, "site");
        assert_eq!(s.namespace, "web");
        assert_eq!(
            s.chart,
            ChartRef::Remote(RemoteChart {
                repository: "https://charts.example".into(),
                name: "web".into(),
                version: "1.2.3".into()
            })
        );
        assert_eq!(s.at.line, 10);
        let kinds: Vec<String> = s
            .values
            .iter()
            .map(|v| match v {
                ValuesSpec::Layer(l) => l.label.clone(),
                ValuesSpec::Unavailable { why, .. } => format!("unavailable: {why}"),
                ValuesSpec::ChartFile { name, .. } => name.clone(),
            })
            .collect();
        assert_eq!(kinds[0], "values/app.yaml");
        assert!(kinds[1].starts_with("unavailable: resolves outside"));
        assert_eq!(kinds[2], "valuesObject of Application web");
        assert_eq!(kinds[3], "parameters of web");
        let ValuesSpec::Layer(params) = &s.values[3] else {
            panic!()
        };
        assert_eq!(params.value["service"]["port"], 8080);
        assert_eq!(params.location("/service/port").line, 21);
        let ValuesSpec::Layer(object) = &s.values[2] else {
            panic!()
        };
        assert_eq!(object.location("/image/tag").line, 19);
    }

    #[test]
    fn inline_values_strings_are_located_in_the_application() {
        let (docs, _) = homelab_manifest::parse_str(
            "app.yaml",
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: a\nspec:\n  source:\n    repoURL: https://charts.example\n    chart: a\n    targetRevision: 1.0.0\n    helm:\n      values: |\n        replicas: 3\n        image:\n          tag: x\n",
        );
        let found = discover(&docs, None);
        let ValuesSpec::Layer(layer) = &found.sources[0].values[0] else {
            panic!()
        };
        assert_eq!(layer.value["replicas"], 3);
        assert_eq!(layer.location("/image/tag").to_string(), "app.yaml:14:11");
    }

    #[test]
    fn helmfile_releases_and_kustomize_helm_charts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "vals/a.yaml", "x: 1\n");
        write(
            root,
            "helmfile.yaml",
            "repositories:\n  - name: ex\n    url: https://charts.example\n  - name: reg\n    url: ghcr.io/org/charts\n    oci: true\nreleases:\n  - name: a\n    namespace: ns\n    chart: ex/a\n    version: 1.0.0\n    values:\n      - vals/a.yaml\n      - y: 2\n    set:\n      - name: z\n        value: \"3\"\n  - name: b\n    chart: reg/b\n    version: 2.0.0\n  - name: off\n    chart: ex/off\n    installed: false\n  - name: local\n    chart: ./charts/mine\n",
        );
        write(
            root,
            "kust/kustomization.yaml",
            "namespace: k\nhelmCharts:\n  - name: c\n    repo: https://charts.example\n    version: 3.0.0\n    valuesInline:\n      w: 1\n",
        );
        write(
            root,
            "charts/mine/Chart.yaml",
            "apiVersion: v2\nname: mine\nversion: 0.1.0\n",
        );
        write(
            root,
            "charts/other/Chart.yaml",
            "apiVersion: v2\nname: other\nversion: 0.1.0\n",
        );
        let found = discover(&load(root), Some(root));
        let by = |d: &str| {
            found
                .sources
                .iter()
                .find(|s| s.declared_by == d)
                .unwrap_or_else(|| panic!("{d}"))
        };
        let a = by("helmfile release a");
        assert_eq!(a.namespace, "ns");
        assert_eq!(a.values.len(), 3);
        let ValuesSpec::Layer(set) = &a.values[2] else {
            panic!()
        };
        assert_eq!(set.value["z"], 3);
        match &by("helmfile release b").chart {
            ChartRef::Remote(r) => assert_eq!(r.repository, "oci://ghcr.io/org/charts"),
            other => panic!("{other:?}"),
        }
        assert!(found
            .sources
            .iter()
            .all(|s| s.declared_by != "helmfile release off"));
        assert_eq!(
            by("helmfile release local").chart,
            ChartRef::Local("charts/mine".into())
        );
        let c = by("kustomize helmCharts c");
        assert_eq!(c.namespace, "k");
        assert!(!c.include_crds);
        // charts/mine is rendered by helmfile; charts/other only by itself.
        assert!(found
            .sources
            .iter()
            .all(|s| s.declared_by != "chart charts/mine"));
        assert_eq!(by("chart charts/other").release, "other");
    }
}
