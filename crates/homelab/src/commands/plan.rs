//! `homelab plan [DIR] [--format text|json|dot|mermaid]`: the rollout plan.

use super::{Global, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE};
use anyhow::Context;
use homelab_platform::{config, model, plan};
use std::path::PathBuf;

/// Show the rollout plan: sync waves in order with their Applications, namespaces, node
/// placement, storage classes, and requested CPU/memory per node against capacity. Given a
/// repository folder, the simulated rollout of its objects (`homelab simulate`) is shown
/// beside it (`--static` leaves it out).
///
/// Examples:
///   homelab plan                      # ./platform.toml, or the embedded default
///   homelab plan gitops-homelab --format json
///   homelab plan --format mermaid > rollout.mmd
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Repository directory holding platform.toml (default: ./platform.toml if present,
    /// else the embedded default).
    pub dir: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Show only the static plan: do not simulate the repository's rollout beside it
    /// (the simulation runs when DIR is given; charts come from its .homelab/charts cache).
    #[arg(long = "static")]
    pub static_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Dot,
    Mermaid,
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<u8> {
    let (text, name) = match &args.dir {
        Some(dir) => {
            let path = dir.join("platform.toml");
            let text = super::render::read_config_file(&path, false)
                .context("create it with `homelab init`")?;
            (text, path.display().to_string())
        }
        None if std::fs::symlink_metadata("platform.toml").is_ok() => (
            super::render::read_config_file(std::path::Path::new("platform.toml"), false)?,
            "platform.toml".to_string(),
        ),
        None => (
            config::DEFAULT_CONFIG.to_string(),
            "platform.toml (embedded default)".to_string(),
        ),
    };
    if global.verbose > 0 {
        eprintln!("plan of {name}");
    }
    let cfg = match config::parse_with(&text, &name, false) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{}", crate::term::safe_lines(&errors.to_string()));
            return Ok(EXIT_USAGE);
        }
    };
    let platform = model::derive(&cfg);
    // Beside the static plan, what the repository's objects predict (text and JSON).
    let simulation = match (&args.dir, args.static_only, args.format) {
        (Some(dir), false, Format::Text | Format::Json) => {
            match crate::pipeline::simulate_input::load(dir, &[], None) {
                Ok(loaded) => Some(homelab_simulate::simulate(&loaded.input())),
                Err(e) => {
                    // The static plan stands on its own; say why the simulation is missing.
                    eprintln!(
                        "{}",
                        crate::term::safe_lines(&format!(
                            "note: the rollout is not simulated: {e:#}"
                        ))
                    );
                    None
                }
            }
        }
        _ => None,
    };
    let out = match args.format {
        Format::Text => {
            let mut text = plan::to_text(&cfg, &platform);
            if let Some(sim) = &simulation {
                text.push_str(
                    "\nSimulated rollout of the repository's objects (homelab simulate):\n",
                );
                text.push_str(&homelab_report::escape::terminal_lines(&sim.to_text()));
            }
            text
        }
        Format::Json => {
            let text = plan::to_json(&cfg, &platform);
            match (
                &simulation,
                serde_json::from_str::<serde_json::Value>(&text),
            ) {
                (Some(sim), Ok(serde_json::Value::Object(mut map))) => {
                    map.insert("simulation".to_string(), sim.to_json());
                    format!("{:#}\n", serde_json::Value::Object(map))
                }
                _ => text,
            }
        }
        Format::Dot => plan::to_dot(&platform),
        Format::Mermaid => plan::to_mermaid(&platform),
    };
    print!("{out}");
    if plan::over_committed(&platform) {
        if args.format != Format::Text {
            eprintln!("error: at least one node is over-committed (see `homelab plan`)");
        }
        return Ok(EXIT_FINDINGS);
    }
    Ok(EXIT_OK)
}
