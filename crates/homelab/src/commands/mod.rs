//! One module per subcommand. Each exposes `Args` (clap) and
//! `run(args, &Global) -> anyhow::Result<u8>` returning the process exit code.
//! An `Err` is printed by `main` and exits with [`EXIT_USAGE`].

pub mod charts;
pub mod charts_lint;
pub mod check;
pub mod completions;
pub mod host;
pub mod init;
pub mod plan;
pub mod policy;
pub mod render;
pub mod rules;
pub mod seal;
pub mod secrets;
pub mod secrets_init;
pub mod simulate;
pub mod sops;
pub mod unseal;
pub mod validate;
pub mod verify;

/// Exit code: clean.
pub const EXIT_OK: u8 = 0;
/// Exit code: findings (invalid objects, failed policies, drift, conflicts).
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: usage or internal error.
pub const EXIT_USAGE: u8 = 2;

/// Options shared by every subcommand.
#[derive(Debug, Clone, Default)]
pub struct Global {
    pub verbose: u8,
}
