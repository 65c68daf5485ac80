//! `homelab init [DIR] [--config FILE]`: write `platform.toml` and render the repository.

use super::{render::print_summary, Global, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE};
use anyhow::Context;
use homelab_platform::{config, model, plan, render, sync};
use std::path::PathBuf;

/// Write platform.toml (the embedded default, or --config) and render the GitOps repository.
///
/// Examples:
///   homelab init                          # ./gitops-homelab from the embedded default
///   homelab init /srv/gitops --config my-platform.toml
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to create (must be empty or absent, unless --force).
    #[arg(default_value = "./gitops-homelab")]
    pub dir: PathBuf,
    /// Start from this platform.toml instead of the embedded default (validated first).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Render into a non-empty directory; files that differ are backed up under .homelab/backup/.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<u8> {
    let (text, name) = match &args.config {
        Some(path) => (
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
            path.display().to_string(),
        ),
        None => (
            config::DEFAULT_CONFIG.to_string(),
            "platform.toml (embedded default)".to_string(),
        ),
    };
    let cfg = match config::parse(&text, &name) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{}", crate::term::safe_lines(&errors.to_string()));
            eprintln!("nothing was written");
            return Ok(EXIT_USAGE);
        }
    };
    let dir = &args.dir;
    if !args.force && !sync::is_empty_dir(dir) {
        if sync::is_homelab_repo(dir) {
            eprintln!(
                "{} is already a homelab repository: edit its platform.toml and run `homelab render {}` (or init --force)",
                dir.display(),
                dir.display()
            );
        } else {
            eprintln!(
                "{} is not empty and is not a homelab repository; choose another directory or pass --force (differing files are backed up)",
                dir.display()
            );
        }
        return Ok(EXIT_USAGE);
    }
    let rendered = render::render(&cfg).context("rendering the repository")?;
    let stamp = sync::timestamp_now();
    let tree = sync::open(dir)?;
    super::render::report_recovery(dir, &sync::recover(&tree)?);
    let toml = tree.rel("platform.toml")?;
    if args.force {
        if let Some(old) = sync::read_text(&tree, &toml)? {
            if old != text {
                sync::write_file(
                    &tree,
                    &format!("{}/{stamp}/platform.toml", sync::BACKUP_DIR),
                    old.as_bytes(),
                )?;
            }
        }
    }
    let plan_ = sync::plan_sync(&tree, &rendered, &text, args.force, &stamp)?;
    sync::write_file(&tree, "platform.toml", text.as_bytes())?;
    sync::apply(&tree, &plan_)?;
    print_summary(dir, &plan_, global, false);

    let platform = model::derive(&cfg);
    println!("\nRollout (sync waves):");
    print!("{}", plan::summary(&platform));
    println!("\nNode budgets (requests of running replicas):");
    print!("{}", plan::budget_table(&platform));
    // init ends by checking what it wrote (PRODUCT.md §1), so a config that renders into
    // something the guardrails reject is caught at once.
    let outcome = crate::pipeline::check(&crate::pipeline::CheckOptions {
        paths: vec![dir.clone()],
        ..Default::default()
    })?;
    let findings: Vec<_> = outcome
        .report
        .diagnostics
        .iter()
        .filter(|d| d.severity != homelab_diagnostics::Severity::Note)
        .cloned()
        .collect();
    println!(
        "
Check: {}",
        homelab_report::Summary::of(&outcome.report).line()
    );
    if !findings.is_empty() {
        let report = homelab_report::Report {
            diagnostics: findings,
            ..outcome.report.clone()
        };
        print!(
            "{}",
            homelab_report::render(
                homelab_report::Format::Text,
                &report,
                &outcome.sources,
                homelab_report::RenderOptions::default()
            )
        );
    }
    println!(
        "\nnext: cd {} && homelab plan && homelab check .",
        dir.display()
    );
    let has_findings = outcome
        .report
        .diagnostics
        .iter()
        .any(|d| d.severity != homelab_diagnostics::Severity::Note);
    if has_findings {
        return Ok(EXIT_FINDINGS);
    }
    Ok(if plan_.has_conflicts() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}
