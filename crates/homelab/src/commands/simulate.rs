//! `homelab simulate [DIR]`: will the platform converge? A static rollout of the repository
//! (plain and chart-rendered objects) on the nodes of its platform.toml, wave by wave.

use super::{Global, EXIT_FINDINGS, EXIT_OK};
use crate::pipeline::{simulate_input, simulate_reports};
use anyhow::{bail, Context};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Models ArgoCD sync waves (Applications carry their objects), \
namespaces and CRDs before what needs them, Pod Security labels, the repository's Kyverno \
Enforce policies, scheduling on platform.toml's nodes (requests, taints and tolerations, \
nodeSelector, node affinity, DaemonSets, nvidia.com/gpu only where a device plugin runs), \
PVCs under WaitForFirstConsumer, and SealedSecrets the controller cannot unseal. Helm sources \
are rendered from --charts or the repository's .homelab/charts/ cache. What cannot be known \
offline is listed as an assumption.

Exit status: 0 converges, 1 a wave stalls, 2 usage or internal error.

Examples:
  homelab simulate gitops-homelab --charts ../charts
  homelab simulate . --format mermaid > rollout.mmd
  homelab simulate . --emit-snapshot converged.yaml
  homelab verify --snapshot converged.yaml --config platform.toml"
)]
pub struct Args {
    /// The repository folder (default: the current folder).
    pub dir: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'o', default_value = "text", value_parser = ["text", "json", "mermaid", "dot"])]
    pub format: String,
    /// Render Helm sources with charts from this local chart repository (a folder with
    /// index.yaml); repeatable. The repository's .homelab/charts/ cache is used too.
    #[arg(long, value_name = "DIR")]
    pub charts: Vec<PathBuf>,
    /// The helm binary to render with (default: helm on PATH).
    #[arg(long, value_name = "PATH")]
    pub helm: Option<PathBuf>,
    /// Also write the predicted converged cluster to FILE, in the shape
    /// `kubectl get -A -o yaml` prints (objects with their status, Pods, Nodes), for
    /// `homelab verify --snapshot FILE`. Written atomically.
    #[arg(long, value_name = "FILE")]
    pub emit_snapshot: Option<PathBuf>,
}

pub fn run(args: Args, _global: &Global) -> anyhow::Result<u8> {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from("."));
    if !dir.is_dir() {
        bail!(
            "{}: not a folder (give the repository folder)",
            dir.display()
        );
    }
    let loaded = simulate_input::load(&dir, &args.charts, args.helm.as_deref())?;
    let input = loaded.input();
    let simulation = homelab_simulate::simulate(&input);
    if let Some(path) = &args.emit_snapshot {
        let mut snapshot = homelab_simulate::snapshot(&input, &simulation);
        if let Some(items) = snapshot.get_mut("items").and_then(|i| i.as_array_mut()) {
            let reports = simulate_reports::policy_reports(items);
            items.extend(reports);
        }
        let yaml = homelab_manifest::yaml::to_string(&snapshot);
        homelab_fs::write_atomic(path, yaml.as_bytes(), homelab_fs::Perms::KeepOr(0o644))
            .with_context(|| format!("{}: writing the snapshot", path.display()))?;
    }
    let text = match args.format.as_str() {
        "json" => format!("{:#}\n", simulation.to_json()),
        "mermaid" => simulation.to_mermaid(),
        "dot" => simulation.to_dot(),
        _ => simulation.to_text(),
    };
    print!("{}", homelab_report::escape::terminal_lines(&text));
    let converges = simulation.converges();
    // The process ends right after: freeing the hundreds of thousands of small values of the
    // rendered charts one by one would cost more than the simulation itself.
    std::mem::forget(simulation);
    std::mem::forget(input);
    std::mem::forget(loaded);
    Ok(if converges { EXIT_OK } else { EXIT_FINDINGS })
}

/// The simulation as the HTML report's "Simulated rollout" section.
pub fn rollout(simulation: &homelab_simulate::Simulation) -> homelab_report::Rollout {
    homelab_report::Rollout {
        converges: simulation.converges(),
        waves: simulation
            .waves
            .iter()
            .map(|w| homelab_report::RolloutWave {
                wave: w.wave,
                healthy: w.healthy.len(),
                stalls: w
                    .stalls
                    .iter()
                    .map(|s| {
                        (
                            s.object.clone(),
                            s.class.to_string(),
                            s.cause.clone(),
                            s.at.to_string(),
                        )
                    })
                    .collect(),
                applications: simulation
                    .applications
                    .iter()
                    .filter(|a| a.parent.is_some() && a.wave == w.wave)
                    .map(|a| {
                        if a.created {
                            format!("{}: {}, {}", a.name, a.sync, a.health)
                        } else {
                            format!("{}: never created ({}, {})", a.name, a.sync, a.health)
                        }
                    })
                    .collect(),
            })
            .collect(),
        warnings: simulation.warnings.clone(),
        assumptions: simulation.assumptions.clone(),
    }
}
