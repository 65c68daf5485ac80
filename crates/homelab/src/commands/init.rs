//! `homelab init [DIR] [--config FILE]`: write `platform.toml` and render the repository.

use super::{render::print_summary, Global, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE};
use anyhow::Context;
use homelab_platform::{config, model, plan, render, sync};
use std::path::PathBuf;

/// The rule that reports placeholder secrets (`homelab-rules`).
const PLACEHOLDER_RULE: &str = "secrets/unsealed-placeholder";

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
    // Placeholder secrets are expected in a fresh render: they can only be sealed once the
    // cluster's controller runs (a bootstrap step). `homelab check` reports them as errors,
    // so that nothing is bootstrapped with one left; init lists them apart, as the next step,
    // and judges the render on everything else.
    let (placeholders, findings): (Vec<_>, Vec<_>) = outcome
        .report
        .diagnostics
        .iter()
        .filter(|d| d.severity != homelab_diagnostics::Severity::Note)
        .cloned()
        .partition(|d| d.rule == PLACEHOLDER_RULE);
    let others = homelab_report::Report {
        diagnostics: findings.clone(),
        ..outcome.report.clone()
    };
    println!("\nCheck: {}", homelab_report::Summary::of(&others).line());
    if !findings.is_empty() {
        print!(
            "{}",
            homelab_report::render(
                homelab_report::Format::Text,
                &others,
                &outcome.sources,
                homelab_report::RenderOptions::default()
            )
        );
    }
    if !placeholders.is_empty() {
        let names: Vec<String> = placeholders
            .iter()
            .filter_map(|d| d.object.as_deref())
            .map(|o| o.rsplit(' ').next().unwrap_or(o).to_string())
            .collect();
        println!(
            "Secrets: {} placeholder SealedSecret(s) to seal ({}); `homelab check` reports them \
             as errors ({PLACEHOLDER_RULE}) until they are sealed.",
            placeholders.len(),
            names.join(", ")
        );
    }
    if let Some(note) = outcome
        .report
        .diagnostics
        .iter()
        .find(|d| d.rule == crate::pipeline::SOPS_PLACEHOLDER_RECIPIENT)
    {
        println!(
            "SOPS: {}; {}.",
            note.message,
            note.help.as_deref().unwrap_or_default()
        );
    }
    println!(
        "\nnext: cd {dir} && homelab plan, then follow README.md \"Bootstrap\" (task bootstrap-hosts, ...); \
         once the sealed-secrets controller runs: homelab secrets init --fetch-cert .",
        dir = dir.display()
    );
    if !findings.is_empty() {
        return Ok(EXIT_FINDINGS);
    }
    Ok(if plan_.has_conflicts() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}
