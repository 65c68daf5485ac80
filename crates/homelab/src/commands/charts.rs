//! `homelab charts`: the Helm side of a repository.
//!
//! `pull` fills the repository's chart cache (`.homelab/charts/`, with a lock of digests) from
//! the chart repositories its sources pin (network, explicit) or from a local chart repository
//! folder; `list` shows every Helm source and what became of it; `template` prints the
//! rendered objects; `lint` checks the repository's own charts; `readme` writes their
//! helm-docs-style README.md.

use super::{Global, EXIT_FINDINGS, EXIT_OK};
use crate::pipeline::charts_stage;
use crate::term::safe;
use anyhow::{bail, Context};
use homelab_charts::pull::{self, Outcome};
use homelab_charts::Status;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Fetch the pinned chart archives into DIR/.homelab/charts/ and lock their digests.
    #[command(
        after_help = "Downloads with helm (network) unless --charts gives a local chart \
repository to copy from. Only https, http and oci repositories are used. Archives already in \
the cache with their locked digest are kept.

Examples:
  homelab charts pull                       # the current repository, from the network
  homelab charts pull gitops --charts ../charts   # offline, from a local chart repository"
    )]
    Pull(PullArgs),
    /// List every Helm source (Applications, helmfile, kustomize, charts/) and its render.
    List(RenderArgs),
    /// Print the objects every Helm source renders to (YAML), as check sees them.
    Template(TemplateArgs),
    /// Lint the repository's own charts (Chart.yaml, version bump, templates, schema, README).
    Lint(crate::commands::charts_lint::LintArgs),
    /// Write (or with --check, verify) the helm-docs-style README.md of the repository's charts.
    Readme(crate::commands::charts_lint::ReadmeArgs),
}

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// The repository folder (default: the current folder).
    pub dir: Option<PathBuf>,
    /// Copy from this local chart repository (a folder with index.yaml) instead of
    /// downloading; repeatable.
    #[arg(long, value_name = "DIR")]
    pub charts: Vec<PathBuf>,
    /// The helm binary (default: helm on PATH).
    #[arg(long, value_name = "PATH")]
    pub helm: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The repository folder (default: the current folder).
    pub dir: Option<PathBuf>,
    /// Local chart repository folder(s) with index.yaml.
    #[arg(long, value_name = "DIR")]
    pub charts: Vec<PathBuf>,
    /// The helm binary (default: helm on PATH).
    #[arg(long, value_name = "PATH")]
    pub helm: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct TemplateArgs {
    #[command(flatten)]
    pub render: RenderArgs,
    /// Only the sources whose declaration contains this text (`longhorn`, `helmfile`).
    #[arg(long, value_name = "TEXT")]
    pub source: Option<String>,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<u8> {
    match args.command {
        Command::Pull(a) => run_pull(a),
        Command::List(a) => run_list(a),
        Command::Template(a) => run_template(a),
        Command::Lint(a) => crate::commands::charts_lint::run_lint(a, global),
        Command::Readme(a) => crate::commands::charts_lint::run_readme(a),
    }
}

fn folder(dir: &Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let dir = dir.clone().unwrap_or_else(|| PathBuf::from("."));
    if !dir.is_dir() {
        bail!(
            "{}: not a folder (give the repository folder)",
            dir.display()
        );
    }
    Ok(dir)
}

fn run_pull(args: PullArgs) -> anyhow::Result<u8> {
    let root = folder(&args.dir)?;
    let loaded = homelab_manifest::load(
        std::slice::from_ref(&root),
        &homelab_manifest::LoadOptions {
            include_hidden: true,
            ..Default::default()
        },
    );
    let wanted = pull::wanted(&loaded.documents, &root);
    if wanted.is_empty() {
        println!("no remote Helm charts in {}", root.display());
        return Ok(EXIT_OK);
    }
    let helm = if args.charts.is_empty() {
        let helm = homelab_charts::Helm::new(
            args.helm.as_deref(),
            homelab_charts::Limits {
                timeout: std::time::Duration::from_secs(300),
                ..Default::default()
            },
            None,
        )
        .map_err(anyhow::Error::msg)
        .context("helm downloads the charts (or give --charts DIR to copy from a local chart repository)")?;
        Some(helm)
    } else {
        None
    };
    let progress = crate::progress::Spinner::start("pulling charts");
    let results = pull::pull(
        &root,
        &wanted,
        &pull::Source {
            local: &args.charts,
            helm: helm.as_ref(),
        },
    )
    .map_err(anyhow::Error::msg)?;
    progress.finish();
    let mut failed = 0;
    for r in &results {
        let chart = format!(
            "{} {} ({})",
            r.chart.name, r.chart.version, r.chart.repository
        );
        let chart = safe(&chart);
        match &r.outcome {
            Outcome::UpToDate { version } => {
                println!("  up to date  {chart} -> {}", safe(version))
            }
            Outcome::Pulled { version, from } => {
                println!(
                    "  pulled      {chart} -> {} from {}",
                    safe(version),
                    safe(from)
                )
            }
            Outcome::Failed(e) => {
                failed += 1;
                println!("  FAILED      {chart}: {}", safe(&e.to_string()));
            }
        }
    }
    println!(
        "{} chart(s) in {}/.homelab/charts/ ({failed} failed); digests in .homelab/charts/lock.yaml",
        results.len() - failed,
        root.display()
    );
    Ok(if failed > 0 { EXIT_FINDINGS } else { EXIT_OK })
}

fn run_list(args: RenderArgs) -> anyhow::Result<u8> {
    let root = folder(&args.dir)?;
    let f = charts_stage::render_folder(&root, &args.charts, args.helm.as_deref(), true)?;
    if f.rendered.releases.is_empty() {
        println!("no Helm sources in {}", root.display());
    }
    let mut problems = 0;
    for r in &f.rendered.releases {
        let status = match &r.status {
            Status::Rendered { objects, cached } => {
                format!(
                    "{objects} objects{}",
                    if *cached { " (cached)" } else { "" }
                )
            }
            Status::Duplicate { of } => format!("same render as {of}"),
            Status::NotRendered { why } => {
                problems += 1;
                format!("NOT RENDERED: {why}")
            }
        };
        println!(
            "{:<40} {:<32} {}/{}  {}\n    at {}",
            safe(&r.declared_by.to_string()),
            safe(&r.chart.to_string()),
            safe(&r.namespace.to_string()),
            safe(&r.release.to_string()),
            safe(&status),
            safe(&r.at.to_string())
        );
    }
    println!(
        "{} release(s); {} helm run(s), {:.2} s in helm template (the rest from the render cache)",
        f.rendered.releases.len(),
        f.rendered.helm_runs,
        f.rendered.helm_time.as_secs_f64()
    );
    let errors: Vec<_> = f
        .rendered
        .diagnostics
        .iter()
        .filter(|d| d.severity != homelab_diagnostics::Severity::Note)
        .collect();
    for d in &errors {
        let at = d
            .location
            .as_ref()
            .map(|l| format!("{l}: "))
            .unwrap_or_default();
        eprintln!(
            "{}{}[{}]: {}",
            safe(&at),
            d.severity,
            safe(&d.rule),
            safe(&d.message)
        );
    }
    Ok(if problems > 0 || !errors.is_empty() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

fn run_template(args: TemplateArgs) -> anyhow::Result<u8> {
    let root = folder(&args.render.dir)?;
    let f = charts_stage::render_folder(
        &root,
        &args.render.charts,
        args.render.helm.as_deref(),
        true,
    )?;
    let mut out = String::new();
    for doc in &f.rendered.documents {
        let Some((record, template)) = f.rendered.provenance.origin(doc) else {
            continue;
        };
        if let Some(filter) = &args.source {
            if !record.declared_by.contains(filter.as_str())
                && !record.chart.contains(filter.as_str())
            {
                continue;
            }
        }
        out.push_str(&format!(
            "---\n# Source: {} (chart {}, {})\n",
            template.unwrap_or("?"),
            record.chart,
            record.declared_by
        ));
        out.push_str(&homelab_manifest::yaml::to_string(&doc.value));
    }
    print!("{out}");
    let failed = f
        .rendered
        .releases
        .iter()
        .any(|r| matches!(r.status, Status::NotRendered { .. }));
    for d in f
        .rendered
        .diagnostics
        .iter()
        .filter(|d| d.severity == homelab_diagnostics::Severity::Error)
    {
        eprintln!("{}: {}", safe(&d.rule), safe(&d.message));
    }
    Ok(if failed { EXIT_FINDINGS } else { EXIT_OK })
}

/// Used by `charts lint` too.
pub fn repo_root(dir: &Option<PathBuf>) -> anyhow::Result<PathBuf> {
    folder(dir)
}
