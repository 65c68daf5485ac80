//! `homelab check [PATH...]`: every guardrail in one offline pass.

use super::{Global, EXIT_FINDINGS, EXIT_OK};
use crate::pipeline::{self, CheckOptions};
use homelab_report::{Format, RenderOptions};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Stages: YAML (syntax, duplicate keys, ambiguous values), schemas (strict, \
Kubernetes + CRDs), the repository's own Kyverno policies, platform rules (`homelab rules`), \
secrets. Configuration: [check] select/ignore in platform.toml or .homelab.toml; inline \
`# homelab: ignore[RULE] reason` on or above a line.

Exit status: 0 no errors or warnings, 1 findings, 2 usage or internal error.

Examples:
  homelab check                          # the current directory
  homelab check gitops-homelab --format sarif --output homelab.sarif
  homelab check . --ignore resources/missing --select network
  homelab check . --charts ../charts      # render Helm sources from a local chart repository
  homelab check . --kustomize             # judge what `kubectl kustomize` builds from each root
  kubectl kustomize apps/x | homelab check -"
)]
pub struct Args {
    /// Files, folders (recursive, .gitignore-aware) or `-` for stdin. Default: `.`
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', default_value = "text", value_parser = ["text", "json", "sarif", "junit", "html"])]
    pub format: String,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only these rules (ids or prefixes like `network`); repeatable, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub select: Vec<String>,
    /// Skip these rules (ids or prefixes); repeatable, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "RULE")]
    pub ignore: Vec<String>,
    /// Kubernetes version of the schemas (default: platform.toml's, else the newest embedded).
    #[arg(long, value_name = "V")]
    pub kubernetes_version: Option<String>,
    /// CRD manifests (files or folders) to validate custom resources with.
    #[arg(long, value_name = "FILE|DIR")]
    pub crd: Vec<PathBuf>,
    /// kubeconform-style schema locations (local paths or templates; http(s) only when given).
    #[arg(long, value_name = "LOCATION")]
    pub schema_location: Vec<String>,
    /// A kind without a schema is a note instead of an error (by default only custom kinds
    /// are: a Kubernetes group's unknown kind or version is an error).
    #[arg(long)]
    pub ignore_missing_schemas: bool,
    /// A custom kind whose CRD is neither in the input nor in the embedded catalog is an
    /// error instead of a "not judged" note.
    #[arg(long)]
    pub strict: bool,
    /// Render Helm sources with charts from this local chart repository (a folder with
    /// index.yaml); repeatable. The repository's .homelab/charts/ cache is used too.
    #[arg(long, value_name = "DIR")]
    pub charts: Vec<PathBuf>,
    /// The helm binary to render with (default: helm on PATH); turns chart rendering on.
    #[arg(long, value_name = "PATH")]
    pub helm: Option<PathBuf>,
    /// Build every kustomization root with `kubectl kustomize` (no network, no plugins, no
    /// helm, nothing outside the repository) and judge what it builds; findings point back at
    /// the patch or file line. Off by default: it runs a program on the repository.
    #[arg(long)]
    pub kustomize: bool,
    /// The kubectl to build with (default: kubectl on PATH); turns --kustomize on.
    #[arg(long, value_name = "PATH")]
    pub kubectl: Option<PathBuf>,
    /// Never colour the output (also: NO_COLOR).
    #[arg(long)]
    pub no_color: bool,
    /// Verify the MAC of SOPS files with the age identities in FILE (the structure of SOPS
    /// files is checked without it). Identities in SOPS_AGE_KEY/SOPS_AGE_KEY_FILE are never
    /// used by check: it runs on untrusted pull requests. Also: HOMELAB_SOPS_AGE_KEY_FILE.
    #[arg(long, value_name = "FILE")]
    pub sops_age_key_file: Option<PathBuf>,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<u8> {
    let format: Format = args.format.parse().map_err(anyhow::Error::msg)?;
    let progress = crate::progress::Spinner::start("checking");
    // The HTML report of one repository folder shows its simulated rollout too.
    let simulate_dir = (format == Format::Html && args.paths.len() == 1 && args.paths[0].is_dir())
        .then(|| {
            (
                args.paths[0].clone(),
                args.charts.clone(),
                args.helm.clone(),
            )
        });
    let outcome = pipeline::check(&CheckOptions {
        paths: args.paths,
        kubernetes_version: args.kubernetes_version,
        select: args.select,
        ignore: args.ignore,
        crd_paths: args.crd,
        schema_locations: args.schema_location,
        ignore_missing_schemas: args.ignore_missing_schemas,
        strict: args.strict,
        chart_dirs: args.charts,
        helm: args.helm,
        kustomize: args.kustomize,
        kubectl: args.kubectl,
        sops_age_key_file: args
            .sops_age_key_file
            .or_else(|| std::env::var_os("HOMELAB_SOPS_AGE_KEY_FILE").map(PathBuf::from)),
    })?;
    progress.finish();
    let mut report = outcome.report;
    if let Some((dir, charts, helm)) = simulate_dir {
        match pipeline::simulate_input::load(&dir, &charts, helm.as_deref()) {
            Ok(loaded) => {
                let simulation = homelab_simulate::simulate(&loaded.input());
                report.rollout = Some(super::simulate::rollout(&simulation));
            }
            Err(e) => eprintln!("note: the rollout is not simulated in the report: {e:#}"),
        }
    }
    let has_findings = report
        .diagnostics
        .iter()
        .any(|d| d.severity != homelab_diagnostics::Severity::Note);
    // Notes (files skipped as not Kubernetes, ...) are noise on a terminal; -v shows them.
    if format == Format::Text && global.verbose == 0 {
        let before = report.diagnostics.len();
        report
            .diagnostics
            .retain(|d| d.severity != homelab_diagnostics::Severity::Note);
        let hidden = before - report.diagnostics.len();
        if hidden > 0 {
            eprintln!("({hidden} notes hidden, such as files skipped as not Kubernetes objects; -v shows them)");
        }
    }
    let color = format == Format::Text
        && args.output.is_none()
        && !args.no_color
        && std::env::var_os("NO_COLOR").is_none()
        && std::io::stdout().is_terminal();
    let rendered =
        homelab_report::render(format, &report, &outcome.sources, RenderOptions { color });
    match &args.output {
        Some(path) => {
            homelab_fs::write_atomic(path, rendered.as_bytes(), homelab_fs::Perms::KeepOr(0o644))
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
            eprintln!("{}", homelab_report::Summary::of(&report).line());
        }
        None => print!("{rendered}"),
    }
    Ok(if has_findings { EXIT_FINDINGS } else { EXIT_OK })
}
