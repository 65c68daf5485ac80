//! Rendering every Helm source of a repository the way ArgoCD does (`helm template` with the
//! release name, the destination namespace, the value files in order, then inline values and
//! parameters, `--kube-version` and `--api-versions` of the platform's cluster, CRDs included),
//! from the offline chart store, through the render cache, into documents for the check
//! pipeline; with the findings that belong to the sources themselves (chart not cached, values
//! that break the chart's schema or that the chart never reads, templates that fail).

use crate::archive::{self, Bounds};
use crate::cache::{Entry, RenderCache};
use crate::chart::Chart;
use crate::chart_facts::{ChartFacts, Summary};
use crate::discover::{self, ChartRef, HelmSource, ValuesSpec};
use crate::helm::{Helm, Limits, RunError};
use crate::provenance::{Provenance, Record};
use crate::store::{Lookup, RemoteChart, Store};
use crate::values::{Layer, Locator};
use crate::{digest, paths, scope, unused};
use homelab_diagnostics::{Diagnostic, Location, Severity};
use homelab_manifest::{Class, Document, LoadOptions, Source};
use rayon::prelude::*;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// How to render.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Local chart repository folders (`--charts DIR`).
    pub chart_dirs: Vec<PathBuf>,
    /// The helm binary (`--helm`); default: `HOMELAB_HELM`, else `helm` on PATH.
    pub helm: Option<PathBuf>,
    /// Render even when no chart store is configured (the user asked for it).
    pub enabled: bool,
    /// The cluster's Kubernetes version (`1.29`, `v1.29.3`); default: helm's.
    pub kube_version: Option<String>,
    /// API versions the cluster serves beyond Kubernetes' own (`helm.cattle.io/v1` on k3s).
    pub api_versions: Vec<String>,
    /// The render cache folder; `None` renders every time.
    pub cache_dir: Option<PathBuf>,
    pub limits: Limits,
}

/// What happened to one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Rendered (or taken from the render cache).
    Rendered { objects: usize, cached: bool },
    /// The same chart, values and release as an earlier source: checked once.
    Duplicate { of: String },
    /// Not rendered (the chart is not cached, values are unavailable, helm failed).
    NotRendered { why: String },
}

/// One source and its outcome (for `homelab charts list` and the report).
#[derive(Debug, Clone)]
pub struct Release {
    pub declared_by: String,
    pub at: Location,
    /// `longhorn 1.12.1`; for a chart that was not found, as the source pins it.
    pub chart: String,
    pub release: String,
    pub namespace: String,
    pub status: Status,
    /// Ids of the objects it produced.
    pub objects: Vec<String>,
}

/// Everything rendering produced.
#[derive(Debug, Default)]
pub struct Rendered {
    pub documents: Vec<Document>,
    pub diagnostics: Vec<Diagnostic>,
    pub provenance: Provenance,
    pub releases: Vec<Release>,
    /// helm runs made (cache misses).
    pub helm_runs: usize,
    /// Wall time spent in those helm runs (summed over parallel runs).
    pub helm_time: std::time::Duration,
    /// Charts read (inflated and parsed): none when the render cache knows them all.
    pub charts_read: usize,
}

/// A chart ready to render.
struct ResolvedChart {
    /// Name, version, capabilities: from the chart facts of the cache, or from the chart.
    summary: Summary,
    /// The chart itself, read on first need (a warm run needs it only for a values file
    /// inside the chart); `None` when it cannot be read.
    chart: OnceLock<Option<Chart>>,
    digest: String,
    /// What helm reads: the archive bytes or the chart's files (a repository folder).
    input: ChartInput,
    /// The chart folder in the repository, as findings name files (for template errors).
    repo_dir: Option<String>,
}

enum ChartInput {
    Archive(Vec<u8>),
    Folder(archive::Files),
}

impl ResolvedChart {
    fn read(chart: Chart, digest: String, input: ChartInput, repo_dir: Option<String>) -> Self {
        ResolvedChart {
            summary: Summary::of(&chart),
            chart: OnceLock::from(Some(chart)),
            digest,
            input,
            repo_dir,
        }
    }

    /// The chart, read now if it was not yet.
    fn chart(&self) -> Option<&Chart> {
        self.chart
            .get_or_init(|| {
                let bounds = Bounds::default();
                let files = match &self.input {
                    ChartInput::Archive(bytes) => archive::read_tgz(bytes, &bounds).ok()?,
                    ChartInput::Folder(files) => files.clone(),
                };
                Chart::from_files(files, &bounds).ok()
            })
            .as_ref()
    }
}

/// A kept render (or helm's error), and whether it came from the render cache.
type Fetched = (Result<String, String>, bool);

/// A source with its chart and values, ready for helm.
struct Parsed {
    cached: bool,
    result: Result<(Vec<Document>, Vec<String>), String>,
}

struct Job<'a> {
    index: usize,
    source: &'a HelmSource,
    chart: Arc<ResolvedChart>,
    layers: Vec<Layer>,
}

/// Renders every Helm source among `documents`.
pub fn render(documents: &[Document], root: Option<&Path>, options: &Options) -> Rendered {
    let discovered = discover::discover(documents, root);
    let mut out = render_sources(discovered.sources, documents, root, options);
    let mut diagnostics = discovered.diagnostics;
    diagnostics.append(&mut out.diagnostics);
    out.diagnostics = diagnostics;
    out
}

/// Renders `sources` (found by [`discover::discover`] or made by a caller such as
/// `charts lint`); `documents` are the repository's plain objects (their CRDs tell helm which
/// APIs the cluster serves).
pub fn render_sources(
    sources: Vec<HelmSource>,
    documents: &[Document],
    root: Option<&Path>,
    options: &Options,
) -> Rendered {
    let mut out = Rendered::default();
    if sources.is_empty() {
        return out;
    }
    let store = match Store::open(&options.chart_dirs, root) {
        Ok(s) => s,
        Err(e) => {
            out.diagnostics.push(
                Diagnostic::error("charts/store", format!("the chart store cannot be opened: {e}"))
                    .with_help("fix the --charts folder (it needs an index.yaml) or the repository's .homelab/charts/lock.yaml"),
            );
            return out;
        }
    };
    if !store.is_configured() && !options.enabled {
        let mut names: Vec<String> = sources.iter().map(|s| s.declared_by.clone()).collect();
        names.truncate(5);
        out.diagnostics.push(
            Diagnostic::note(
                "charts/not-rendered",
                format!(
                    "{} Helm source(s) found ({}{}): their objects are not checked",
                    sources.len(),
                    names.join(", "),
                    if sources.len() > 5 { ", ..." } else { "" }
                ),
            )
            .at(sources[0].at.clone())
            .with_help("run `homelab charts pull` (downloads the pinned charts into .homelab/charts/) or pass `--charts DIR` (a local chart repository) to render them with helm and check what they create"),
        );
        return out;
    }
    let helm = match Helm::new(
        options.helm.as_deref(),
        options.limits,
        options.cache_dir.as_deref(),
    ) {
        Ok(h) => h,
        Err(e) => {
            out.diagnostics.push(
                Diagnostic::error(
                    "charts/helm-missing",
                    format!("{e}: {} Helm source(s) cannot be rendered, so what they create is not checked", sources.len()),
                )
                .with_help("install helm 3.16 or newer (https://helm.sh/docs/intro/install/), or pass --helm PATH"),
            );
            return out;
        }
    };
    let cache = options.cache_dir.clone().map(RenderCache::new);

    // Charts: each distinct chart read once.
    let bounds = Bounds::default();
    let mut wanted: Vec<ChartRef> = sources.iter().map(|s| s.chart.clone()).collect();
    wanted.sort_by_key(|c| format!("{c:?}"));
    wanted.dedup();
    let facts = cache.as_ref().and_then(ChartFacts::new);
    let resolved: HashMap<String, Result<Arc<ResolvedChart>, Diagnosis>> = wanted
        .par_iter()
        .map(|c| {
            (
                format!("{c:?}"),
                resolve_chart(c, &store, root, &bounds, facts.as_ref()),
            )
        })
        .collect();

    let mut jobs: Vec<Job> = Vec::new();
    for (index, source) in sources.iter().enumerate() {
        let chart_label = match &source.chart {
            ChartRef::Remote(r) => format!("{} {}", r.name, r.version),
            ChartRef::Local(d) => format!("chart folder {d}"),
        };
        let mut release = Release {
            declared_by: source.declared_by.clone(),
            at: source.at.clone(),
            chart: chart_label,
            release: source.release.clone(),
            namespace: source.namespace.clone(),
            status: Status::NotRendered { why: String::new() },
            objects: Vec::new(),
        };
        let chart = match &resolved[&format!("{:?}", source.chart)] {
            Ok(c) => c.clone(),
            Err(diagnosis) => {
                out.diagnostics.push(diagnosis.at_source(source));
                release.status = Status::NotRendered {
                    why: diagnosis.short.clone(),
                };
                out.releases.push(release);
                continue;
            }
        };
        release.chart = chart.summary.label();
        match layers_of(source, &chart) {
            Ok(layers) => jobs.push(Job {
                index,
                source,
                chart,
                layers,
            }),
            Err(problems) => {
                let why = problems
                    .iter()
                    .map(|d| d.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ");
                out.diagnostics.extend(problems);
                release.status = Status::NotRendered { why };
            }
        }
        out.releases.push(release);
    }

    // Values that do nothing, per layer (a layer shared by two sources is reported once),
    // from the chart facts of the cache or from the chart.
    let layers: Vec<(&Job, &Layer)> = jobs
        .iter()
        .flat_map(|job| job.layers.iter().map(move |layer| (job, layer)))
        .filter(|(_, layer)| !matches!(&layer.locator, Locator::Fixed { at, .. } if at.is_empty()))
        .collect();
    let unused_by_layer: Vec<Vec<unused::Unused>> = layers
        .par_iter()
        .map(|(job, layer)| unused_values(job, layer, facts.as_ref()))
        .collect();
    for ((job, layer), found) in layers.iter().zip(unused_by_layer) {
        for u in found {
            let hint = match &u.hint {
                Some(h) => format!("did you mean `{h}` (at the same level)? "),
                None => String::new(),
            };
            out.diagnostics.push(
                Diagnostic::warning(
                    "charts/unused-value",
                    format!(
                        "values key `{}` does nothing: chart {} does not read it (it is not in the chart's values.yaml or values.schema.json, and no template names it)",
                        u.key,
                        job.chart.summary.label()
                    ),
                )
                .at(layer.location(&u.pointer))
                .with_path(u.pointer.clone())
                .with_help(format!(
                    "{hint}remove the key, or move it where the chart reads it (`helm show values {}` lists them); used by {}",
                    job.chart.summary.name, job.source.declared_by
                )),
            );
        }
    }

    // Render: every distinct release once; then again where the chart asks the cluster which
    // APIs it serves and the charts' own CRDs add some.
    let mut base_apis: Vec<String> = options.api_versions.clone();
    base_apis.extend(scope::crd_api_versions(documents));
    base_apis.sort();
    base_apis.dedup();
    let kube_version = options.kube_version.as_deref().map(kube_version_flag);
    let mut keyed: Vec<(String, &Job)> = jobs
        .iter()
        .map(|j| (render_key(&helm, j, kube_version.as_deref(), &base_apis), j))
        .collect();
    let mut first_of_key: HashMap<String, usize> = HashMap::new();
    let mut unique: Vec<(String, &Job)> = Vec::new();
    for (key, job) in keyed.drain(..) {
        match first_of_key.get(&key) {
            Some(&first) => {
                let of = sources[first].declared_by.clone();
                if let Some(r) = out.releases.get_mut(job.index) {
                    r.status = Status::Duplicate { of };
                }
            }
            None => {
                first_of_key.insert(key.clone(), job.index);
                unique.push((key, job));
            }
        }
    }
    // Each render is kept (and cached) as one JSON `List` of its objects with the template of
    // each and the API versions its CRDs serve: reading it back is several times faster than
    // helm's YAML, cold and warm runs see exactly the same documents, and the second pass
    // below needs no parse. (The cache key's version tag changes with this format.)
    let helm_time = std::sync::Mutex::new(std::time::Duration::ZERO);
    let run = |key: &str, job: &Job, apis: &[String]| -> Fetched {
        if let Some(cache) = &cache {
            match cache.get(key) {
                // An entry of another format is a miss.
                Some(Entry::Output(text)) if split_kept(&text).is_some() => {
                    return (Ok(text), true)
                }
                Some(Entry::Failed(text)) => return (Err(text), true),
                _ => {}
            }
        }
        let started = std::time::Instant::now();
        let result = run_helm(&helm, job, kube_version.as_deref(), apis).map(|text| to_list(&text));
        if let Ok(mut t) = helm_time.lock() {
            *t += started.elapsed();
        }
        if let Some(cache) = &cache {
            match &result {
                Ok(text) => cache.put(key, &Entry::Output(text.clone())),
                // Time and size limits depend on the machine: not cached.
                Err(RunError::Failed(text)) => cache.put(key, &Entry::Failed(text.clone())),
                Err(_) => {}
            }
        }
        (result.map_err(|e| e.to_string()), false)
    };
    // The first render of a chart that looks at `.Capabilities.APIVersions` matters only for
    // the API versions its CRDs serve (kept among the chart facts) unless it turns out final.
    let first: Vec<(Option<Fetched>, Vec<String>)> = unique
        .par_iter()
        .map(|(key, job)| {
            let asks = job.chart.summary.uses_capabilities;
            if asks {
                if let Some(crd_apis) = facts.as_ref().and_then(|f| f.crd_apis(key)) {
                    return (None, crd_apis);
                }
            }
            let fetched = run(key, job, &base_apis);
            let crd_apis = match &fetched.0 {
                Ok(text) => {
                    let crd_apis = split_kept(text).map(|k| k.crd_apis).unwrap_or_default();
                    if let (true, Some(facts)) = (asks, &facts) {
                        facts.put_crd_apis(key, &crd_apis);
                    }
                    crd_apis
                }
                Err(_) => Vec::new(),
            };
            (Some(fetched), crd_apis)
        })
        .collect();

    // Second pass for charts that look at `.Capabilities.APIVersions`: the charts' own CRDs
    // are served by the converged cluster too.
    let mut apis = base_apis.clone();
    for (_, crd_apis) in &first {
        apis.extend(crd_apis.iter().cloned());
    }
    apis.sort();
    apis.dedup();
    let mut kept: Vec<Option<Fetched>> = first.into_iter().map(|(f, _)| f).collect();
    if apis != base_apis {
        let again: Vec<usize> = unique
            .iter()
            .enumerate()
            .filter(|(_, (_, job))| job.chart.summary.uses_capabilities)
            .map(|(i, _)| i)
            .collect();
        let rerun: Vec<(usize, Fetched)> = again
            .par_iter()
            .map(|&i| {
                let job = unique[i].1;
                let key = render_key(&helm, job, kube_version.as_deref(), &apis);
                (i, run(&key, job, &apis))
            })
            .collect();
        for (i, result) in rerun {
            kept[i] = Some(result);
        }
    }
    // First renders that are final after all (no chart brought CRDs of its own).
    let kept: Vec<Fetched> = kept
        .into_par_iter()
        .zip(unique.par_iter())
        .map(|(fetched, (key, job))| fetched.unwrap_or_else(|| run(key, job, &base_apis)))
        .collect();
    // Only the final render of each release is read back, in parallel (the largest first, so
    // that the big ones do not end up on one core).
    let mut kept: Vec<(usize, Fetched)> = kept.into_iter().enumerate().collect();
    kept.sort_by_key(|(_, (result, _))| {
        std::cmp::Reverse(result.as_ref().map(String::len).unwrap_or_default())
    });
    let mut parsed: Vec<(usize, Parsed)> = kept
        .into_par_iter()
        .with_max_len(1)
        .map(|(i, (result, cached))| {
            let job = unique[i].1;
            let name = format!("helm-render:{}:{}", job.index, job.source.release);
            (
                i,
                Parsed {
                    cached,
                    result: result.map(|text| documents_of(&name, text)),
                },
            )
        })
        .collect();
    parsed.sort_by_key(|(i, _)| *i);
    let results: Vec<Parsed> = parsed.into_iter().map(|(_, p)| p).collect();
    out.helm_runs = results.iter().filter(|p| !p.cached).count();
    out.helm_time = helm_time.into_inner().unwrap_or_default();

    // Documents, findings, provenance.
    let mut rendered_docs: Vec<(usize, Vec<Document>)> = Vec::new();
    for ((_, job), parsed) in unique.iter().zip(results) {
        match parsed.result {
            Ok((docs, templates)) => {
                let docs: Vec<Document> = docs.into_iter().filter(|d| !is_test_hook(d)).collect();
                let name = format!("helm-render:{}:{}", job.index, job.source.release);
                out.provenance.insert(
                    name,
                    Record {
                        declared_by: job.source.declared_by.clone(),
                        at: job.source.at.clone(),
                        chart: job.chart.summary.label(),
                        namespace: job.source.namespace.clone(),
                        layers: job.layers.clone(),
                        templates,
                    },
                );
                if let Some(r) = out.releases.get_mut(job.index) {
                    r.status = Status::Rendered {
                        objects: docs.len(),
                        cached: parsed.cached,
                    };
                    r.objects = docs.iter().map(Document::id).collect();
                }
                rendered_docs.push((job.index, docs));
            }
            Err(text) => {
                out.diagnostics.extend(render_failure(&text, job));
                if let Some(r) = out.releases.get_mut(job.index) {
                    r.status = Status::NotRendered {
                        why: text.lines().next().unwrap_or("").to_string(),
                    };
                }
            }
        }
    }
    out.charts_read = resolved
        .values()
        .filter(|r| r.as_ref().is_ok_and(|c| c.chart.get().is_some()))
        .count();
    rendered_docs.sort_by_key(|(i, _)| *i);
    let all: Vec<Document> = rendered_docs.into_iter().flat_map(|(_, d)| d).collect();
    let cluster = scope::cluster_kinds(documents.iter().chain(all.iter()));
    out.documents = all
        .into_iter()
        .map(|mut d| {
            set_namespace(&mut d, &cluster, &out.provenance);
            d
        })
        .collect();
    // A values file shared by several sources gives the same finding once.
    let mut seen = HashSet::new();
    out.diagnostics
        .retain(|d| seen.insert((d.rule.clone(), d.location.clone(), d.message.clone())));
    out
}

/// `1.29` -> `v1.29.0` (helm wants a full version).
fn kube_version_flag(v: &str) -> String {
    let v = v.trim().trim_start_matches('v');
    let parts = v.split('.').count();
    if parts == 2 {
        format!("v{v}.0")
    } else {
        format!("v{v}")
    }
}

/// Why a chart could not be had, to be reported at each source that wants it.
#[derive(Debug, Clone)]
struct Diagnosis {
    rule: &'static str,
    severity: Severity,
    message: String,
    help: String,
    short: String,
}

impl Diagnosis {
    fn at_source(&self, source: &HelmSource) -> Diagnostic {
        Diagnostic::new(
            self.rule,
            self.severity,
            format!(
                "{} ({}): {}",
                self.message, source.declared_by, "its objects are not checked"
            ),
        )
        .at(source.at.clone())
        .with_help(self.help.clone())
    }
}

/// Finds and verifies a chart. An archive whose facts are in the cache (keyed by its sha256)
/// is not read further; a chart folder is always read (its digest needs its files).
fn resolve_chart(
    chart: &ChartRef,
    store: &Store,
    root: Option<&Path>,
    bounds: &Bounds,
    facts: Option<&ChartFacts>,
) -> Result<Arc<ResolvedChart>, Diagnosis> {
    match chart {
        ChartRef::Remote(remote) => {
            let archive = match store.find(remote) {
                Lookup::Found(a) => a,
                Lookup::Missing { available } => {
                    let there = if available.is_empty() {
                        "no version of it is there".to_string()
                    } else {
                        format!("versions there: {}", available.join(", "))
                    };
                    return Err(Diagnosis {
                        rule: "charts/not-cached",
                        severity: Severity::Warning,
                        message: format!(
                            "chart {} is not in the chart cache ({}; {there})",
                            remote.label(),
                            store.searched()
                        ),
                        help: "run `homelab charts pull` to fetch the pinned charts into .homelab/charts/, add the chart to the --charts folder, or pin a version that is there".into(),
                        short: "not in the chart cache".into(),
                    });
                }
                Lookup::Bad(e) => {
                    return Err(Diagnosis {
                        rule: "charts/bad-archive",
                        severity: Severity::Error,
                        message: format!("chart {}: {e}", remote.label()),
                        help: "fetch the chart again (`homelab charts pull`) or fix the chart repository folder".into(),
                        short: e,
                    })
                }
            };
            if let Some(summary) = facts.and_then(|f| f.summary(&archive.digest)) {
                return Ok(Arc::new(ResolvedChart {
                    summary,
                    chart: OnceLock::new(),
                    digest: archive.digest,
                    input: ChartInput::Archive(archive.bytes),
                    repo_dir: None,
                }));
            }
            let files = archive::read_tgz(&archive.bytes, bounds).map_err(|e| Diagnosis {
                rule: "charts/bad-archive",
                severity: Severity::Error,
                message: format!("chart {} ({}): {e}", remote.label(), archive.path.display()),
                help: "fetch the chart again (`homelab charts pull`)".into(),
                short: e.clone(),
            })?;
            let chart = Chart::from_files(files, bounds).map_err(|e| Diagnosis {
                rule: "charts/bad-archive",
                severity: Severity::Error,
                message: format!("chart {} ({}): {e}", remote.label(), archive.path.display()),
                help: "fetch the chart again (`homelab charts pull`)".into(),
                short: e.clone(),
            })?;
            let resolved = ResolvedChart::read(
                chart,
                archive.digest,
                ChartInput::Archive(archive.bytes),
                None,
            );
            if let Some(facts) = facts {
                facts.put_summary(&resolved.digest, &resolved.summary);
            }
            Ok(Arc::new(resolved))
        }
        ChartRef::Local(dir) => {
            let bad = |message: String, short: String| {
                Diagnosis {
                rule: "charts/bad-chart",
                severity: Severity::Error,
                message,
                help: "fix the chart folder (it needs a Chart.yaml; links must stay inside the repository)".into(),
                short,
            }
            };
            let Some(root) = root else {
                return Err(bad(
                    format!("chart folder `{dir}` needs the repository folder"),
                    "no repository folder".into(),
                ));
            };
            let path = match paths::confine(root, if dir.is_empty() { "." } else { dir }) {
                Ok(p) if p.is_dir() => p,
                Ok(_) | Err(paths::Refused::Missing) => {
                    return Err(bad(
                        format!("chart folder `{dir}` does not exist"),
                        "missing chart folder".into(),
                    ))
                }
                Err(e) => {
                    return Err(bad(
                        format!("chart folder `{dir}` {}", e.describe()),
                        e.describe(),
                    ))
                }
            };
            let (mut files, problems) = archive::read_folder(&path, root, bounds)
                .map_err(|e| bad(format!("chart folder `{dir}`: {e}"), e.clone()))?;
            if let Some(p) = problems.first() {
                return Err(bad(
                    format!(
                        "chart folder `{dir}`: `{}` {}; homelab does not render it",
                        p.path, p.reason
                    ),
                    format!("`{}` {}", p.path, p.reason),
                ));
            }
            // Dependencies that are not vendored under charts/ come from the chart store, as
            // `helm dependency build` would fetch them.
            let chart = Chart::from_files(files.clone(), bounds)
                .map_err(|e| bad(format!("chart folder `{dir}`: {e}"), e.clone()))?;
            let mut missing = Vec::new();
            for dep in chart
                .metadata
                .get("dependencies")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = dep.get("name").and_then(Value::as_str).unwrap_or("");
                let version = dep.get("version").and_then(Value::as_str).unwrap_or("*");
                let repository = dep.get("repository").and_then(Value::as_str).unwrap_or("");
                let vendored = chart.subcharts.iter().any(|(_, c)| c.name == name);
                if vendored || name.is_empty() {
                    continue;
                }
                if let Some(rel) = repository.strip_prefix("file://") {
                    let Some(dep_dir) = paths::join_relative(dir, rel) else {
                        missing.push(format!("{name} ({repository}: outside the repository)"));
                        continue;
                    };
                    match paths::confine(root, &dep_dir)
                        .map_err(|e| e.describe())
                        .and_then(|p| archive::read_folder(&p, root, bounds))
                    {
                        Ok((dep_files, _)) => {
                            for (p, b) in dep_files {
                                files.insert(format!("charts/{name}/{p}"), b);
                            }
                        }
                        Err(e) => missing.push(format!("{name} ({repository}: {e})")),
                    }
                    continue;
                }
                let remote = RemoteChart {
                    repository: repository.trim_start_matches('@').to_string(),
                    name: name.to_string(),
                    version: version.to_string(),
                };
                match store.find(&remote) {
                    Lookup::Found(a) => {
                        files.insert(format!("charts/{name}-{}.tgz", a.version), a.bytes);
                    }
                    Lookup::Missing { .. } => missing.push(remote.label()),
                    Lookup::Bad(e) => missing.push(format!("{} ({e})", remote.label())),
                }
            }
            if !missing.is_empty() {
                return Err(Diagnosis {
                    rule: "charts/not-cached",
                    severity: Severity::Warning,
                    message: format!(
                        "chart folder `{dir}` depends on {} that {} not vendored under charts/ nor in the chart cache ({})",
                        missing.join(", "),
                        if missing.len() == 1 { "is" } else { "are" },
                        store.searched()
                    ),
                    help: "run `homelab charts pull` (or `helm dependency build`), or add the dependency to the --charts folder".into(),
                    short: "dependencies not cached".into(),
                });
            }
            let chart = Chart::from_files(files.clone(), bounds)
                .map_err(|e| bad(format!("chart folder `{dir}`: {e}"), e.clone()))?;
            let digest =
                digest::sha256_parts(files.iter().flat_map(|(p, b)| [p.as_bytes(), b.as_slice()]));
            Ok(Arc::new(ResolvedChart::read(
                chart,
                digest,
                ChartInput::Folder(files),
                Some(paths::display_name(root, dir)),
            )))
        }
    }
}

/// The keys of a values layer that the chart never reads.
fn unused_values(job: &Job, layer: &Layer, facts: Option<&ChartFacts>) -> Vec<unused::Unused> {
    let values = layer.value.to_string();
    if let Some(known) = facts.and_then(|f| f.unused(&job.chart.digest, &values)) {
        return known;
    }
    // A chart that cannot be read was reported when it was resolved.
    let Some(chart) = job.chart.chart() else {
        return Vec::new();
    };
    let found = unused::unused(chart, &layer.value);
    if let Some(facts) = facts {
        facts.put_unused(&job.chart.digest, &values, &found);
    }
    found
}

/// The values layers of a source, or the findings that keep it from rendering.
fn layers_of(source: &HelmSource, resolved: &ResolvedChart) -> Result<Vec<Layer>, Vec<Diagnostic>> {
    let mut layers = Vec::new();
    let mut problems = Vec::new();
    let label = resolved.summary.label();
    for spec in &source.values {
        match spec {
            ValuesSpec::Layer(l) => layers.push(l.clone()),
            ValuesSpec::ChartFile { name, at } => match resolved.chart().and_then(|c| c.files.get(name)) {
                Some(bytes) => {
                    let text = String::from_utf8_lossy(bytes);
                    match crate::chart::parse_yaml(name, &text) {
                        Ok(value) => layers.push(Layer {
                            label: format!("{name} of chart {}", label),
                            value: if value.is_object() { value } else { Value::Object(Default::default()) },
                            locator: Locator::Fixed {
                                at: BTreeMap::new(),
                                fallback: at.clone(),
                            },
                        }),
                        Err(e) => problems.push(
                            Diagnostic::error("charts/values-file", format!("values file `{name}` of chart {} does not parse: {e}", label))
                                .at(at.clone()),
                        ),
                    }
                }
                None if source.ignore_missing_value_files => {}
                None => problems.push(
                    Diagnostic::error(
                        "charts/values-file",
                        format!("values file `{name}` is not in chart {} ({}): ArgoCD fails to render it", label, source.declared_by),
                    )
                    .at(at.clone())
                    .with_help("name a file the chart has, reference a file of this repository with `$values/...`, or set ignoreMissingValueFiles"),
                ),
            },
            ValuesSpec::Unavailable { what, why, at } => {
                // A missing `$values` file is `argocd/values-path`'s finding.
                let missing_ref = why == &paths::Refused::Missing.describe() || why.starts_with("no source has `ref:");
                let message = format!("{what} {why}: {} is not rendered", source.declared_by);
                problems.push(if missing_ref {
                    Diagnostic::note("charts/not-rendered", message).at(at.clone())
                } else {
                    Diagnostic::error("charts/values-file", message)
                        .at(at.clone())
                        .with_help("reference a values file inside this repository (`$values/path/in/repo.yaml`)")
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(layers)
    } else {
        Err(problems)
    }
}

fn render_key(helm: &Helm, job: &Job, kube_version: Option<&str>, apis: &[String]) -> String {
    let source = job.source;
    let layers: Vec<String> = job.layers.iter().map(|l| l.value.to_string()).collect();
    let flags = format!(
        "{}{}{}",
        source.include_crds as u8, source.skip_tests as u8, source.skip_schema_validation as u8
    );
    let kube = source
        .kube_version
        .as_deref()
        .map(kube_version_flag)
        .or(kube_version.map(str::to_string))
        .unwrap_or_default();
    let mut all_apis: Vec<&str> = apis.iter().map(String::as_str).collect();
    all_apis.extend(source.api_versions.iter().map(String::as_str));
    let apis_text = all_apis.join(",");
    let mut parts: Vec<&[u8]> = vec![
        b"homelab-render-v3",
        helm.version.as_bytes(),
        job.chart.digest.as_bytes(),
        source.release.as_bytes(),
        source.namespace.as_bytes(),
        kube.as_bytes(),
        apis_text.as_bytes(),
        flags.as_bytes(),
    ];
    parts.extend(layers.iter().map(|l| l.as_bytes()));
    digest::sha256_parts(parts)
}

/// Runs `helm template` for a job in a private folder: the chart and the values are copied
/// there, so helm reads nothing of the repository or the machine.
fn run_helm(
    helm: &Helm,
    job: &Job,
    kube_version: Option<&str>,
    apis: &[String],
) -> Result<String, RunError> {
    let home = tempfile::tempdir()
        .map_err(|e| RunError::Spawn(format!("cannot create a temporary folder: {e}")))?;
    let chart_path = match &job.chart.input {
        ChartInput::Archive(bytes) => {
            let p = home.path().join("chart.tgz");
            std::fs::write(&p, bytes).map_err(|e| RunError::Spawn(e.to_string()))?;
            p
        }
        ChartInput::Folder(files) => {
            let name = if job.chart.summary.name.is_empty() {
                "chart"
            } else {
                &job.chart.summary.name
            };
            let p = home.path().join("charts").join(safe_name(name));
            archive::write_folder(files, &p).map_err(|e| RunError::Spawn(e.to_string()))?;
            p
        }
    };
    let source = job.source;
    let mut args: Vec<std::ffi::OsString> = vec![
        "template".into(),
        source.release.clone().into(),
        chart_path.into_os_string(),
        "--namespace".into(),
        source.namespace.clone().into(),
    ];
    let kube = source
        .kube_version
        .as_deref()
        .map(kube_version_flag)
        .or(kube_version.map(str::to_string));
    if let Some(k) = kube {
        args.push(format!("--kube-version={k}").into());
    }
    for api in apis.iter().chain(&source.api_versions) {
        args.push(format!("--api-versions={api}").into());
    }
    if source.include_crds {
        args.push("--include-crds".into());
    }
    if source.skip_tests {
        args.push("--skip-tests".into());
    }
    if source.skip_schema_validation {
        args.push("--skip-schema-validation".into());
    }
    for (i, layer) in job.layers.iter().enumerate() {
        let p = home.path().join(format!("values-{i}.json"));
        std::fs::write(&p, layer.value.to_string()).map_err(|e| RunError::Spawn(e.to_string()))?;
        args.push("--values".into());
        args.push(p.into_os_string());
    }
    let work = home.path().join("home");
    std::fs::create_dir_all(&work).map_err(|e| RunError::Spawn(e.to_string()))?;
    helm.run(&args, &work, false)
}

fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}

/// Helm test hooks are run by `helm test`, never applied by ArgoCD.
fn is_test_hook(doc: &Document) -> bool {
    doc.value
        .pointer("/metadata/annotations/helm.sh~1hook")
        .and_then(Value::as_str)
        .is_some_and(|h| h.split(',').any(|h| h.trim().starts_with("test")))
}

/// A render as it is kept: one line with the template of each object (JSON), one line with
/// the API versions that its CRDs serve (JSON), then one JSON `List` of the objects.
fn to_list(helm_output: &str) -> String {
    let source_lines: Vec<(u32, &str)> = helm_output
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            l.strip_prefix("# Source: ")
                .map(|t| (i as u32 + 1, t.trim()))
        })
        .collect();
    let source = Arc::new(Source {
        name: "helm".into(),
        path: None,
        text: helm_output.to_string(),
    });
    let (docs, _) = homelab_manifest::parse_source(source, &LoadOptions::default());
    let docs: Vec<Document> = docs
        .into_iter()
        .filter(|d| matches!(d.class, Class::Object))
        .collect();
    let crd_apis = scope::crd_api_versions(&docs);
    let mut templates = Vec::new();
    let mut items = Vec::new();
    for doc in docs {
        let line = doc.start().line;
        let template = source_lines
            .iter()
            .take_while(|(l, _)| *l <= line)
            .last()
            .map(|(_, t)| t.to_string())
            .unwrap_or_default();
        templates.push(Value::String(template));
        items.push(doc.value);
    }
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
    // Pretty: one field per line, so that findings on different fields of an object keep
    // different positions (folding and suppressions compare lines).
    format!(
        "{}\n{}\n{}",
        Value::Array(templates),
        Value::from(crd_apis),
        serde_json::to_string_pretty(&list).unwrap_or_default()
    )
}

/// The parts of a kept render.
struct KeptParts<'t> {
    templates: &'t str,
    crd_apis: Vec<String>,
    list: &'t str,
}

/// A kept render split into its parts; `None` for text of another format.
fn split_kept(text: &str) -> Option<KeptParts<'_>> {
    let (templates, rest) = text.split_once('\n')?;
    let (crd_apis, list) = rest.split_once('\n')?;
    if !templates.starts_with('[') || !list.starts_with('{') {
        return None;
    }
    Some(KeptParts {
        templates,
        crd_apis: serde_json::from_str(crd_apis).ok()?,
        list,
    })
}

/// The documents of a kept render, and the template of each (by item index).
fn documents_of(name: &str, text: String) -> (Vec<Document>, Vec<String>) {
    let Some(parts) = split_kept(&text) else {
        return (Vec::new(), Vec::new());
    };
    let templates: Vec<String> = serde_json::from_str(parts.templates).unwrap_or_default();
    let list_start = text.len() - parts.list.len();
    let mut text = text;
    text.drain(..list_start);
    let source = Arc::new(Source {
        name: name.to_string(),
        path: None,
        text,
    });
    let (docs, _) = homelab_manifest::parse_source(source, &LoadOptions::default());
    let docs = docs
        .into_iter()
        .filter(|d| matches!(d.class, Class::Object) && d.item_index.is_some())
        .collect();
    (docs, templates)
}

fn set_namespace(doc: &mut Document, cluster: &HashSet<String>, provenance: &Provenance) {
    if doc.namespace().is_some() || doc.kind().is_some_and(|k| cluster.contains(k)) {
        return;
    }
    let Some(record) = provenance.record(&doc.source.name) else {
        return;
    };
    if let Some(metadata) = doc.value.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("namespace".into(), Value::String(record.namespace.clone()));
    }
}

/// Findings for a render that failed: values against the chart's schema at their lines,
/// template errors at the template (for this repository's charts) or at the source.
fn render_failure(text: &str, job: &Job) -> Vec<Diagnostic> {
    let source = job.source;
    let chart = job.chart.summary.label();
    let mut out = Vec::new();
    if text.contains("don't meet the specifications of the schema") {
        for line in text.lines().map(str::trim).filter(|l| l.starts_with("- ")) {
            let item = &line[2..];
            let (pointer, message) = schema_error_pointer(item);
            let mut pointers = vec![pointer.clone()];
            // `additional properties 'a', 'b' not allowed` names the keys.
            if message.contains("additional propert") {
                pointers = quoted_names(&message)
                    .into_iter()
                    .map(|k| format!("{pointer}/{}", crate::values::escape(&k)))
                    .collect();
                if pointers.is_empty() {
                    pointers.push(pointer.clone());
                }
            }
            for p in pointers {
                let at = job
                    .layers
                    .iter()
                    .rev()
                    .find(|l| {
                        l.value.pointer(&p).is_some()
                            && !matches!(&l.locator, Locator::Fixed { at, .. } if at.is_empty())
                    })
                    .map(|l| l.location(&p));
                let key = p.trim_start_matches('/').replace('/', ".");
                let (location, whose) = match at {
                    Some(loc) => (loc, "this value"),
                    None => (source.at.clone(), "the values"),
                };
                out.push(
                    Diagnostic::error(
                        "charts/values-schema",
                        format!(
                            "{whose} break{} the values schema of chart {chart} at `{}`: {message}",
                            if whose == "this value" { "s" } else { "" },
                            if key.is_empty() { "(root)" } else { &key },
                        ),
                    )
                    .at(location)
                    .with_path(p.clone())
                    .with_help(format!(
                        "fix the value to match the chart's values.schema.json; ArgoCD cannot render {} until then",
                        source.declared_by
                    )),
                );
            }
        }
        if !out.is_empty() {
            return out;
        }
    }
    // `template: app/templates/x.yaml:12:3: executing ...` or `YAML parse error on app/templates/x.yaml`.
    let location = template_location(text, job).unwrap_or_else(|| source.at.clone());
    let first = text.lines().next().unwrap_or(text);
    out.push(
        Diagnostic::error(
            "charts/render-failed",
            format!("helm cannot render chart {chart} for {}: {}", source.declared_by, truncate(first, 400)),
        )
        .at(location)
        .with_help("fix the values (or the template, for a chart of this repository); ArgoCD fails the same way"),
    );
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(n).collect::<String>())
    }
}

/// `at '/image/tag': got number, want string` (helm 4) or `image.tag: Invalid type...` (helm 3).
fn schema_error_pointer(item: &str) -> (String, String) {
    if let Some(rest) = item.strip_prefix("at '") {
        if let Some((pointer, message)) = rest.split_once("': ") {
            return (pointer.to_string(), message.to_string());
        }
        if let Some((pointer, message)) = rest.split_once('\'') {
            return (
                pointer.to_string(),
                message.trim_start_matches(':').trim().to_string(),
            );
        }
    }
    if let Some((path, message)) = item.split_once(": ") {
        if path == "(root)" {
            return (String::new(), message.to_string());
        }
        if !path.contains(' ') {
            let pointer: String = path
                .split('.')
                .map(|p| format!("/{}", crate::values::escape(p)))
                .collect();
            return (pointer, message.to_string());
        }
    }
    (String::new(), item.to_string())
}

fn quoted_names(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = message;
    while let Some(start) = rest.find('\'') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('\'') else { break };
        out.push(after[..end].to_string());
        rest = &after[end + 1..];
    }
    out
}

fn template_location(text: &str, job: &Job) -> Option<Location> {
    let dir = job.chart.repo_dir.as_deref()?;
    let ChartInput::Folder(files) = &job.chart.input else {
        return None;
    };
    let name = &job.chart.summary.name;
    // The path helm prints starts with the chart's name.
    let start = text.find(&format!("{name}/"))?;
    let rest = &text[start + name.len() + 1..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"')
        .unwrap_or(rest.len());
    let mut fields = rest[..end].trim_end_matches(':').split(':');
    let file = fields.next()?;
    // Only a file of this repository's chart folder (not one from a cached dependency).
    if !files.contains_key(file) {
        return None;
    }
    let line: u32 = fields.next().and_then(|l| l.parse().ok()).unwrap_or(0);
    let column: u32 = fields.next().and_then(|c| c.parse().ok()).unwrap_or(0);
    Some(Location::new(
        format!("{}/{file}", dir.trim_end_matches('/')),
        line,
        if line == 0 { 0 } else { column.max(1) },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chart repository folder with chart `app` 1.0.0 made of `values` and one template,
    /// and a helm that prints a ConfigMap for any `template` (it need not be the real one:
    /// what is checked is what is read and cached around it).
    fn store_and_helm(dir: &Path, values: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let files: archive::Files = [
            ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 1.0.0\n"),
            ("values.yaml", values),
            (
                "templates/cm.yaml",
                "kind: ConfigMap\ndata:\n  a: {{ .Values.a }}\n",
            ),
        ]
        .iter()
        .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
        .collect();
        let tgz = archive::write_tgz(&files, "app").unwrap();
        let store = dir.join("charts");
        std::fs::create_dir_all(&store).unwrap();
        std::fs::write(store.join("app-1.0.0.tgz"), &tgz).unwrap();
        std::fs::write(
            store.join("index.yaml"),
            format!(
                "apiVersion: v1\nentries:\n  app:\n    - name: app\n      version: 1.0.0\n      digest: {}\n      urls: [app-1.0.0.tgz]\n",
                digest::sha256_hex(&tgz)
            ),
        )
        .unwrap();
        let helm = dir.join("helm");
        std::fs::write(
            &helm,
            "#!/bin/sh\ncase \"$1\" in\n  version) echo v3.16.0;;\n  template) printf -- '---\\n# Source: app/templates/cm.yaml\\napiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: app\\ndata:\\n  a: \"1\"\\n';;\nesac\n",
        )
        .unwrap();
        std::fs::set_permissions(&helm, std::fs::Permissions::from_mode(0o755)).unwrap();
        helm
    }

    const APPLICATION: &str = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: app\n  namespace: argocd\nspec:\n  project: default\n  source:\n    repoURL: https://charts.example.test\n    chart: app\n    targetRevision: 1.0.0\n    helm:\n      valuesObject:\n        a: 2\n        replicaz: 3\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: app\n";

    fn findings(rendered: &Rendered) -> Vec<String> {
        rendered
            .diagnostics
            .iter()
            .map(|d| format!("{} {:?} {} {:?}", d.rule, d.location, d.message, d.help))
            .collect()
    }

    /// Options that render the charts of `dir/charts` with `helm`, caching in `dir/cache`.
    fn cached(dir: &Path, helm: PathBuf) -> Options {
        Options {
            chart_dirs: vec![dir.join("charts")],
            helm: Some(helm),
            enabled: true,
            cache_dir: Some(dir.join("cache")),
            ..Options::default()
        }
    }

    #[test]
    fn a_warm_render_reads_no_chart_and_finds_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let helm = store_and_helm(dir.path(), "a: 1\n");
        let (documents, _) = homelab_manifest::parse_str("apps/app.yaml", APPLICATION);
        let options = cached(dir.path(), helm.clone());
        let cold = render(&documents, None, &options);
        assert_eq!((cold.charts_read, cold.helm_runs), (1, 1));
        let unused: Vec<&Diagnostic> = cold
            .diagnostics
            .iter()
            .filter(|d| d.rule == "charts/unused-value")
            .collect();
        assert_eq!(unused.len(), 1, "{:?}", findings(&cold));
        assert!(
            unused[0].message.contains("`replicaz`"),
            "{}",
            unused[0].message
        );
        assert_eq!(cold.releases[0].chart, "app 1.0.0");

        let warm = render(&documents, None, &options);
        assert_eq!((warm.charts_read, warm.helm_runs), (0, 0));
        assert_eq!(findings(&warm), findings(&cold));
        assert_eq!(warm.releases[0].chart, "app 1.0.0");
        assert_eq!(warm.documents.len(), 1);

        // Without a cache every run reads the chart and finds the same.
        let uncached = Options {
            cache_dir: None,
            ..options.clone()
        };
        let plain = render(&documents, None, &uncached);
        assert_eq!(plain.charts_read, 1);
        assert_eq!(findings(&plain), findings(&cold));

        // The same chart and version whose defaults now have the key: another archive, so
        // the chart is read again and the key is no longer reported.
        store_and_helm(dir.path(), "a: 1\nreplicaz: 1\n");
        let changed = render(&documents, None, &options);
        assert_eq!(changed.charts_read, 1);
        assert!(
            !changed
                .diagnostics
                .iter()
                .any(|d| d.rule == "charts/unused-value"),
            "{:?}",
            findings(&changed)
        );
        let again = render(&documents, None, &options);
        assert_eq!(again.charts_read, 0);
        assert_eq!(findings(&again), findings(&changed));
    }

    #[test]
    fn damaged_chart_facts_are_misses_with_the_same_findings() {
        let dir = tempfile::tempdir().unwrap();
        let helm = store_and_helm(dir.path(), "a: 1\n");
        let (documents, _) = homelab_manifest::parse_str("apps/app.yaml", APPLICATION);
        let cache_dir = dir.path().join("cache");
        let options = cached(dir.path(), helm);
        let cold = render(&documents, None, &options);
        let cache = RenderCache::new(cache_dir.clone());
        let renders = cache_dir.join("renders");
        // The entries that are not renders (a render starts with its templates list).
        let mut facts = Vec::new();
        for shard in std::fs::read_dir(&renders).unwrap().flatten() {
            for entry in std::fs::read_dir(shard.path()).unwrap().flatten() {
                let key = entry.file_name().to_string_lossy().into_owned();
                if let Some(Entry::Output(text)) = cache.get(&key) {
                    if !text.starts_with('[') || text.starts_with("[{") || text == "[]" {
                        facts.push((entry.path(), key));
                    }
                }
            }
        }
        assert_eq!(facts.len(), 2, "a summary and one values layer");
        // Entries of the wrong shape for both kinds of fact (a well-formed one is trusted,
        // like a render: the cache folder is the user's own).
        for bad in [
            "{}",
            "null",
            "not json",
            "{\"name\": \"other\"}",
            "[{\"key\": 1}]",
        ] {
            for (_, key) in &facts {
                cache.put(key, &Entry::Output(bad.into()));
            }
            let again = render(&documents, None, &options);
            assert_eq!(findings(&again), findings(&cold), "{bad}");
        }
        for (path, _) in &facts {
            std::fs::write(path, b"ok 2 00000000\n{}").unwrap();
        }
        let again = render(&documents, None, &options);
        assert_eq!(again.charts_read, 1);
        assert_eq!(findings(&again), findings(&cold));
    }

    /// Chart `app` whose template asks for API versions, and a helm that prints a ConfigMap
    /// named after whether `example.com/v1` was passed, plus (with `crd`) a CRD that serves it.
    fn asking_store_and_helm(dir: &Path, crd: bool) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let helm = store_and_helm(dir, "a: 1\n");
        let files: archive::Files = [
            ("Chart.yaml", "apiVersion: v2\nname: app\nversion: 1.0.0\n"),
            ("values.yaml", "a: 1\n"),
            (
                "templates/cm.yaml",
                "{{ if .Capabilities.APIVersions.Has \"example.com/v1\" }}kind: ConfigMap{{ end }}\n",
            ),
        ]
        .iter()
        .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
        .collect();
        let tgz = archive::write_tgz(&files, "app").unwrap();
        let store = dir.join("charts");
        std::fs::write(store.join("app-1.0.0.tgz"), &tgz).unwrap();
        std::fs::write(
            store.join("index.yaml"),
            format!(
                "apiVersion: v1\nentries:\n  app:\n    - name: app\n      version: 1.0.0\n      digest: {}\n      urls: [app-1.0.0.tgz]\n",
                digest::sha256_hex(&tgz)
            ),
        )
        .unwrap();
        let crd = if crd {
            "printf -- '---\\napiVersion: apiextensions.k8s.io/v1\\nkind: CustomResourceDefinition\\nmetadata:\\n  name: things.example.com\\nspec:\\n  group: example.com\\n  names:\\n    kind: Thing\\n    plural: things\\n  scope: Namespaced\\n  versions:\\n    - name: v1\\n      served: true\\n      storage: true\\n'\n"
        } else {
            ""
        };
        std::fs::write(
            &helm,
            format!(
                "#!/bin/sh\nif [ \"$1\" = version ]; then echo v3.16.0; exit 0; fi\nname=first\nfor a in \"$@\"; do [ \"$a\" = --api-versions=example.com/v1 ] && name=second; done\n{crd}printf -- '---\\napiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: %s\\n' \"$name\"\n"
            ),
        )
        .unwrap();
        std::fs::set_permissions(&helm, std::fs::Permissions::from_mode(0o755)).unwrap();
        helm
    }

    /// Names of the ConfigMaps rendered.
    fn config_maps(rendered: &Rendered) -> Vec<String> {
        rendered
            .documents
            .iter()
            .filter(|d| d.kind() == Some("ConfigMap"))
            .filter_map(|d| d.name().map(str::to_string))
            .collect()
    }

    #[test]
    fn a_warm_render_does_not_read_the_first_render_of_a_chart_that_asks_for_apis() {
        for crd in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let helm = asking_store_and_helm(dir.path(), crd);
            let (documents, _) = homelab_manifest::parse_str("apps/app.yaml", APPLICATION);
            let cache_dir = dir.path().join("cache");
            let options = cached(dir.path(), helm);
            let cold = render(&documents, None, &options);
            // With the chart's CRD the second render (with its API) is final; without, the first.
            let expected = if crd { "second" } else { "first" };
            assert_eq!(config_maps(&cold), vec![expected.to_string()], "crd: {crd}");
            assert_eq!(cold.helm_runs, 1);
            let warm = render(&documents, None, &options);
            // No helm run at all (`helm_time` sums every run, first renders included).
            assert_eq!(
                (warm.helm_time, warm.charts_read),
                (std::time::Duration::ZERO, 0),
                "crd: {crd}"
            );
            assert_eq!(config_maps(&warm), config_maps(&cold));
            assert_eq!(findings(&warm), findings(&cold));
            if crd {
                // The first render is not read on a warm run: damaging it changes nothing.
                for path in walk(&cache_dir.join("renders")) {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    if text.contains("\"first\"") {
                        std::fs::write(&path, "garbage").unwrap();
                    }
                }
                let again = render(&documents, None, &options);
                assert_eq!(again.helm_time, std::time::Duration::ZERO);
                assert_eq!(config_maps(&again), config_maps(&cold));
            }
        }
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }

    #[test]
    fn kube_versions_are_complete() {
        assert_eq!(kube_version_flag("1.29"), "v1.29.0");
        assert_eq!(kube_version_flag("v1.30.2"), "v1.30.2");
    }

    #[test]
    fn schema_errors_name_their_keys() {
        assert_eq!(
            schema_error_pointer("at '/replicaCount': got string, want integer"),
            (
                "/replicaCount".to_string(),
                "got string, want integer".to_string()
            )
        );
        assert_eq!(
            schema_error_pointer("image.tag: Invalid type. Expected: string, given: integer").0,
            "/image/tag"
        );
        assert_eq!(
            quoted_names("additional properties 'a', 'b' not allowed"),
            vec!["a", "b"]
        );
    }
}
