//! `homelab completions SHELL`: shell completion scripts generated from the command tree.

use super::Global;
use clap::CommandFactory;

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  homelab completions bash > /etc/bash_completion.d/homelab\n  homelab completions zsh > \"${fpath[1]}/_homelab\""
)]
pub struct Args {
    /// The shell to generate completions for.
    pub shell: clap_complete::Shell,
}

pub fn run(args: Args, _global: &Global) -> anyhow::Result<u8> {
    let mut command = crate::Cli::command();
    clap_complete::generate(args.shell, &mut command, "homelab", &mut std::io::stdout());
    Ok(super::EXIT_OK)
}
