//! The `homelab` binary: argument parsing and wiring only. Each subcommand lives in
//! `commands/<name>.rs` with its own `Args` and `run`; the work happens in the library crates.

mod commands;
mod pipeline;
mod progress;
mod stage_rules;
mod term;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

// Checking a repository, validating and applying policies allocate and free many small,
// short-lived values (JSON, CEL and JMESPath trees) on several threads at once; mimalloc
// serves them with far less CPU than the system allocator at the same peak memory (the
// policy section of bench/BENCHMARKS.md has the figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Build and guard a self-hosted AI Kubernetes platform on k3s.
///
/// Renders the guide's GitOps repository from one platform.toml, checks any GitOps repository
/// offline (schemas, Kyverno policies, platform rules, leaked secrets), seals secrets, prepares
/// the btrfs host storage for Longhorn and verifies a live cluster.
#[derive(Debug, Parser)]
#[command(
    name = "homelab",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// More output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write platform.toml and render the GitOps repository into DIR.
    Init(commands::init::Args),
    /// Re-render DIR from its platform.toml, keeping hand edits.
    Render(commands::render::Args),
    /// Show the rollout plan: sync waves, placement, storage and per-node budgets.
    Plan(commands::plan::Args),
    /// Run every guardrail over files, folders or stdin.
    Check(commands::check::Args),
    /// Predict the rollout: will every sync wave become Healthy, and if not, why.
    Simulate(commands::simulate::Args),
    /// Schema validation alone, with kubeconform's flags.
    Validate(commands::validate::Args),
    /// Helm charts: pull them into the repository's cache, list and render the Helm sources,
    /// lint the repository's own charts.
    Charts(commands::charts::Args),
    /// Kyverno policies: apply them to resources, or run kyverno-test.yaml suites.
    Policy(commands::policy::Args),
    /// List the built-in rules, or explain one.
    Rules(commands::rules::Args),
    /// Seal a Secret into a SealedSecret (kubeseal-compatible).
    Seal(commands::seal::Args),
    /// Decrypt SealedSecrets with backed-up controller keys (recovery).
    Unseal(commands::unseal::Args),
    /// Secret management helpers.
    Secrets(commands::secrets::Args),
    /// SOPS files with age keys (sops 3.x format): encrypt, decrypt, set, updatekeys.
    Sops(commands::sops::Args),
    /// btrfs host storage for Longhorn: plan, apply, check.
    Host(commands::host::Args),
    /// Check the guide's success criteria against a cluster or a snapshot.
    Verify(commands::verify::Args),
    /// Print shell completions.
    Completions(commands::completions::Args),
}

/// Die quietly on a closed pipe (`homelab rules | head`) like every Unix filter, instead of
/// Rust's default of ignoring SIGPIPE and panicking in `println!`.
#[cfg(unix)]
#[allow(unsafe_code)]
fn restore_default_sigpipe() {
    // SAFETY: called once at start-up, before any thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_default_sigpipe() {}

fn main() -> ExitCode {
    restore_default_sigpipe();
    let cli = Cli::parse();
    let global = commands::Global {
        verbose: cli.verbose,
    };
    let result = match cli.command {
        Command::Init(args) => commands::init::run(args, &global),
        Command::Render(args) => commands::render::run(args, &global),
        Command::Plan(args) => commands::plan::run(args, &global),
        Command::Check(args) => commands::check::run(args, &global),
        Command::Simulate(args) => commands::simulate::run(args, &global),
        Command::Validate(args) => commands::validate::run(args, &global),
        Command::Charts(args) => commands::charts::run(args, &global),
        Command::Policy(args) => commands::policy::run(args, &global),
        Command::Rules(args) => commands::rules::run(args, &global),
        Command::Seal(args) => commands::seal::run(args, &global),
        Command::Unseal(args) => commands::unseal::run(args, &global),
        Command::Secrets(args) => commands::secrets::run(args, &global),
        Command::Sops(args) => commands::sops::run(args, &global),
        Command::Host(args) => commands::host::run(args, &global),
        Command::Verify(args) => commands::verify::run(args, &global),
        Command::Completions(args) => commands::completions::run(args, &global),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // Errors quote file names and content of the repository: never raw to a terminal.
            let message = format!("{err:#}");
            eprintln!("error: {}", term::error_text(&message));
            ExitCode::from(commands::EXIT_USAGE)
        }
    }
}
