//! `homelab rules` (not built yet).

use super::Global;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Arguments (this command is not built yet).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub rest: Vec<String>,
}

pub fn run(_args: Args, _global: &Global) -> anyhow::Result<u8> {
    super::not_built_yet("rules")
}
