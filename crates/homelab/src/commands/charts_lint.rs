//! `homelab charts lint` and `homelab charts readme`: the repository's own charts.
//!
//! Lint does what `ct lint` and `helm lint` do, offline: Chart.yaml fields, the version bump
//! against the default branch (git), a render with the default values and with every
//! `ci/*-values.yaml` (template errors at their template line, values against
//! `values.schema.json`, values keys that do nothing), strict schema validation of what the
//! chart renders, and the README in sync.

use super::{Global, EXIT_FINDINGS, EXIT_OK};
use anyhow::bail;
use homelab_charts::archive::{self, Bounds};
use homelab_charts::chart::Chart;
use homelab_charts::discover::{ChartRef, HelmSource, ValuesSpec};
use homelab_charts::values::{Layer, Locator};
use homelab_charts::{lint, paths, readme};
use homelab_diagnostics::{Diagnostic, Location, Severity};
use homelab_report::{Format, RenderOptions, Report};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit status: 0 clean, 1 findings, 2 usage error (e.g. helm missing).

Examples:
  homelab charts lint                  # every chart folder of the current repository
  homelab charts lint . --charts ../charts   # dependencies from a local chart repository"
)]
pub struct LintArgs {
    /// The repository folder (default: the current folder).
    pub dir: Option<PathBuf>,
    /// Local chart repository folder(s) for dependencies that are not vendored.
    #[arg(long, value_name = "DIR")]
    pub charts: Vec<PathBuf>,
    /// The helm binary (default: helm on PATH).
    #[arg(long, value_name = "PATH")]
    pub helm: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', default_value = "text", value_parser = ["text", "json", "sarif", "junit"])]
    pub format: String,
}

#[derive(Debug, clap::Args)]
pub struct ReadmeArgs {
    /// The repository folder (default: the current folder).
    pub dir: Option<PathBuf>,
    /// Only report READMEs that are out of date (exit 1), write nothing.
    #[arg(long)]
    pub check: bool,
}

/// The repository's chart folders (relative to the root).
fn chart_dirs(root: &Path) -> Vec<String> {
    let loaded = homelab_manifest::load(
        &[root.to_path_buf()],
        &homelab_manifest::LoadOptions::default(),
    );
    homelab_charts::discover::repo_chart_dirs(&loaded.documents, root)
}

fn read_chart(root: &Path, dir: &str) -> Result<Chart, String> {
    let path =
        paths::confine(root, if dir.is_empty() { "." } else { dir }).map_err(|e| e.describe())?;
    let (files, problems) = archive::read_folder(&path, root, &Bounds::default())?;
    if let Some(p) = problems.first() {
        return Err(format!("`{}` {}", p.path, p.reason));
    }
    Chart::from_files(files, &Bounds::default())
}

pub fn run_lint(args: LintArgs, global: &Global) -> anyhow::Result<u8> {
    let root = super::charts::repo_root(&args.dir)?;
    let format: Format = args.format.parse().map_err(anyhow::Error::msg)?;
    let dirs = chart_dirs(&root);
    if dirs.is_empty() {
        println!(
            "no charts (folders with a Chart.yaml) in {}",
            root.display()
        );
        return Ok(EXIT_OK);
    }
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    let mut sources: Vec<HelmSource> = Vec::new();
    for dir in &dirs {
        let display = paths::display_name(&root, dir);
        let chart = match read_chart(&root, dir) {
            Ok(c) => c,
            Err(e) => {
                diagnostics.push(
                    Diagnostic::error(
                        "chart-lint/chart-yaml",
                        format!("chart folder `{dir}`: {e}"),
                    )
                    .at(Location::file_only(format!(
                        "{}/Chart.yaml",
                        display.trim_end_matches('/')
                    ))),
                );
                continue;
            }
        };
        diagnostics.extend(lint::lint_metadata(&chart, dir, &display));
        diagnostics.extend(lint::lint_version_bump(&root, &chart, dir, &display));
        diagnostics.extend(lint::lint_readme(&chart, &display));
        sources.extend(lint_sources(&root, dir, &display, &chart));
    }
    let config = crate::pipeline::CheckConfig::discover(Some(&root))?;
    let helm = match &args.helm {
        Some(h) => Some(h.clone()),
        None => match homelab_charts::helm::locate(None) {
            Ok(h) => Some(h),
            Err(e) => bail!(
                "{e}: `charts lint` renders the charts with helm (install it, or pass --helm PATH)"
            ),
        },
    };
    let rendered = homelab_charts::render_sources(
        sources,
        &[],
        Some(&root),
        &homelab_charts::Options {
            chart_dirs: args.charts.clone(),
            helm,
            enabled: true,
            kube_version: config.kubernetes_version.clone(),
            api_versions: Vec::new(),
            cache_dir: homelab_charts::cache::default_dir(),
            limits: homelab_charts::Limits::default(),
        },
    );
    let validator = homelab_schema::Validator::new(homelab_schema::ValidatorOptions {
        kubernetes_version: config.kubernetes_version.clone(),
        // A rendered chart is applied by the API server, which reads `null` as left out.
        null_is_absent: true,
        ..Default::default()
    })?;
    validator.add_crds_from(&rendered.documents, None);
    let schema = validator.validate_all(&rendered.documents);
    diagnostics.extend(rendered.provenance.attribute(schema, &rendered.documents));
    diagnostics.extend(rendered.diagnostics);
    homelab_diagnostics::sort(&mut diagnostics);
    let has_findings = diagnostics.iter().any(|d| d.severity != Severity::Note);
    if format == Format::Text && global.verbose == 0 {
        diagnostics.retain(|d| d.severity != Severity::Note);
    }
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for d in &diagnostics {
        if let Some(l) = &d.location {
            if let Ok(text) = std::fs::read_to_string(&l.file) {
                files.insert(l.file.clone(), text);
            }
        }
    }
    let report = Report {
        version: env!("CARGO_PKG_VERSION").to_string(),
        title: "homelab charts lint".into(),
        root: Some(root.to_string_lossy().into_owned()),
        objects: rendered.documents.len(),
        files: dirs
            .iter()
            .map(|d| {
                format!(
                    "{}/Chart.yaml",
                    paths::display_name(&root, d).trim_end_matches('/')
                )
            })
            .collect(),
        diagnostics,
        rules: Vec::new(),
        suppressions: Vec::new(),
        waves: Vec::new(),
        rollout: None,
    };
    let files: std::collections::HashMap<String, String> = files.into_iter().collect();
    print!(
        "{}",
        homelab_report::render(format, &report, &files, RenderOptions { color: false })
    );
    Ok(if has_findings { EXIT_FINDINGS } else { EXIT_OK })
}

/// What ct renders for a chart: the default values, and each `ci/*-values.yaml`.
fn lint_sources(root: &Path, dir: &str, display: &str, chart: &Chart) -> Vec<HelmSource> {
    let base = HelmSource {
        declared_by: format!("chart {}", if dir.is_empty() { "." } else { dir }),
        at: Location::new(
            format!("{}/Chart.yaml", display.trim_end_matches('/')),
            1,
            1,
        ),
        chart: ChartRef::Local(dir.to_string()),
        release: chart.name.clone(),
        namespace: "default".into(),
        values: Vec::new(),
        include_crds: true,
        skip_schema_validation: false,
        skip_tests: false,
        kube_version: None,
        api_versions: Vec::new(),
        ignore_missing_value_files: false,
    };
    let mut out = vec![base.clone()];
    let mut ci: Vec<&String> = chart
        .files
        .keys()
        .filter(|p| {
            p.starts_with("ci/") && (p.ends_with("-values.yaml") || p.ends_with("-values.yml"))
        })
        .collect();
    ci.sort();
    for file in ci {
        let relative = if dir.is_empty() {
            file.clone()
        } else {
            format!("{dir}/{file}")
        };
        let Ok(text) = paths::read_confined(root, &relative) else {
            continue;
        };
        let name = paths::display_name(root, &relative);
        let (docs, _) = homelab_manifest::parse_str(&name, &text);
        let Some(doc) = docs.into_iter().find(|d| d.value.is_object()) else {
            continue;
        };
        let mut source = base.clone();
        source.declared_by = format!(
            "chart {} with {file}",
            if dir.is_empty() { "." } else { dir }
        );
        source.values = vec![ValuesSpec::Layer(Layer {
            label: relative.clone(),
            value: doc.value.clone(),
            locator: Locator::Document {
                doc: Box::new(doc),
                prefix: String::new(),
            },
        })];
        out.push(source);
    }
    out
}

/// Regenerates the README.md of every chart folder whose README is missing or generated.
/// Returns (written, out of date) paths; with `check` nothing is written.
pub fn sync_readmes(root: &Path, check: bool) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let mut written = Vec::new();
    let mut stale = Vec::new();
    for dir in chart_dirs(root) {
        let Ok(chart) = read_chart(root, &dir) else {
            continue;
        };
        let existing = chart
            .files
            .get("README.md")
            .map(|b| String::from_utf8_lossy(b).into_owned());
        if !readme::is_generated(existing.as_deref()) {
            continue;
        }
        let text = readme::generate(&chart);
        if existing.as_deref() == Some(text.as_str()) {
            continue;
        }
        let relative = if dir.is_empty() {
            "README.md".to_string()
        } else {
            format!("{dir}/README.md")
        };
        if check {
            stale.push(relative);
            continue;
        }
        // Written through the tree: a link on the way is never followed.
        let tree = homelab_fs::Tree::open(root)?;
        let rel = tree.rel(&relative)?;
        tree.write(&rel, text.as_bytes(), 0o644)?;
        written.push(relative);
    }
    Ok((written, stale))
}

pub fn run_readme(args: ReadmeArgs) -> anyhow::Result<u8> {
    let root = super::charts::repo_root(&args.dir)?;
    let (written, stale) = sync_readmes(&root, args.check)?;
    for p in &written {
        println!("  written  {}", crate::term::safe(p));
    }
    for p in &stale {
        println!("  out of date  {}", crate::term::safe(p));
    }
    if args.check && !stale.is_empty() {
        println!(
            "{} chart README(s) out of date; run `homelab charts readme`",
            stale.len()
        );
        return Ok(EXIT_FINDINGS);
    }
    if !args.check {
        println!("{} chart README(s) written", written.len());
    }
    Ok(EXIT_OK)
}
