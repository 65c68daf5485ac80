//! `homelab render [DIR] [--check] [--force]`: re-render from DIR/platform.toml, keeping
//! hand edits (three-way merge), or report drift.

use super::{Global, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE};
use anyhow::Context;
use homelab_fs::Tree;
use homelab_platform::sync::{self, Action, Drift, SyncPlan};
use homelab_platform::{config, render};
use std::path::{Path, PathBuf};

/// Re-render DIR from its platform.toml. Hand edits are merged; conflicts are marked and exit 1.
///
/// Examples:
///   homelab render                 # the repository in the current directory
///   homelab render --check         # CI: exit 1 when a render would change a file
///   homelab render --force         # overwrite hand edits (backed up under .homelab/backup/)
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Repository directory (holds platform.toml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Write nothing; exit 1 when re-rendering would change a file (hand edits that a render
    /// keeps, such as a sealed secret in place of a placeholder, are not drift).
    #[arg(long, conflicts_with = "force")]
    pub check: bool,
    /// Overwrite files edited by hand (the old content is kept under .homelab/backup/).
    #[arg(long)]
    pub force: bool,
}

/// The largest `platform.toml` read.
const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Read a platform.toml as text. One found in a repository (`follow_links: false`) is read
/// only if it is a regular file, never through a link: `host` and `render` run as root, and a
/// link to a host file would have its lines quoted in parse errors. One the user named
/// explicitly (`--config FILE`) may be a link.
pub fn read_config_file(path: &Path, follow_links: bool) -> anyhow::Result<String> {
    let bytes = homelab_fs::read_regular(path, MAX_CONFIG_BYTES, follow_links)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", path.display()))
}

/// Open the repository folder; a missing one is a usage error (exit 2).
pub fn open_repo(dir: &Path) -> anyhow::Result<Result<Tree, u8>> {
    match Tree::open(dir) {
        Ok(tree) => Ok(Ok(tree)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!(
                "{}: no such folder; create the repository with `homelab init {}`",
                dir.display(),
                dir.display()
            );
            Ok(Err(EXIT_USAGE))
        }
        Err(e) => Err(e).with_context(|| format!("opening {}", dir.display())),
    }
}

/// Read and validate platform.toml of the repository (a regular file, never through a
/// link); errors are printed and mapped to an exit code.
pub fn load(tree: &Tree) -> anyhow::Result<Result<(config::Config, String), u8>> {
    let path = tree.display("platform.toml");
    let text = match sync::read_text(tree, &tree.rel("platform.toml")?)? {
        Some(t) => t,
        None => {
            eprintln!(
                "{}: not found; create the repository with `homelab init {}`",
                path.display(),
                tree.path().display()
            );
            return Ok(Err(EXIT_USAGE));
        }
    };
    match config::parse(&text, &path.display().to_string()) {
        Ok(c) => Ok(Ok((c, text))),
        Err(errors) => {
            eprintln!("{}", crate::term::safe_lines(&errors.to_string()));
            eprintln!("nothing was written");
            Ok(Err(EXIT_USAGE))
        }
    }
}

pub fn run(args: Args, global: &Global) -> anyhow::Result<u8> {
    let tree = match open_repo(&args.dir)? {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    let (cfg, text) = match load(&tree)? {
        Ok(v) => v,
        Err(code) => return Ok(code),
    };
    let rendered = render::render(&cfg).context("rendering the repository")?;
    if args.check {
        if sync::interrupted(&tree)? {
            println!(
                "{}: a render was interrupted; run `homelab render {}` to complete it",
                tree.display(sync::JOURNAL_PATH).display(),
                args.dir.display()
            );
            return Ok(EXIT_FINDINGS);
        }
        let drift = sync::check(&tree, &rendered, &text)?;
        // The repository's own charts keep a generated README (`homelab charts readme`).
        let (_, stale_readmes) = super::charts_lint::sync_readmes(&args.dir, true)?;
        for p in &stale_readmes {
            println!(
                "{}: out of date with its chart",
                crate::term::safe(&args.dir.join(p).display().to_string())
            );
        }
        if drift.is_empty() && stale_readmes.is_empty() {
            if global.verbose > 0 {
                println!(
                    "{} files match what platform.toml renders (hand edits that a render keeps are not drift)",
                    rendered.len()
                );
            }
            return Ok(EXIT_OK);
        }
        for d in &drift {
            let what = match d {
                Drift::Missing(_) => "missing",
                Drift::Modified(_) => "differs from what platform.toml renders",
                Drift::Conflicting(_) => "differs, and re-rendering would conflict with your edits",
                Drift::Stale(_) => "no longer rendered",
                Drift::Unresolved(_) => "has unresolved conflict markers",
            };
            println!(
                "{}: {what}",
                crate::term::safe(&args.dir.join(d.path()).display().to_string())
            );
        }
        println!(
            "{} file(s) would change; run `homelab render {}`",
            drift.len() + stale_readmes.len(),
            args.dir.display()
        );
        return Ok(EXIT_FINDINGS);
    }
    report_recovery(&args.dir, &sync::recover(&tree)?);
    let plan = sync::plan_sync(&tree, &rendered, &text, args.force, &sync::timestamp_now())?;
    sync::apply(&tree, &plan)?;
    print_summary(&args.dir, &plan, global, true);
    let (readmes, _) = super::charts_lint::sync_readmes(&args.dir, false)?;
    for p in &readmes {
        println!("  {:<12} {}", "chart README", crate::term::safe(p));
    }
    Ok(if plan.has_conflicts() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// Say what completing an interrupted render did.
pub fn report_recovery(dir: &Path, recovery: &sync::Recovery) {
    if recovery.completed {
        println!("{}: completed a render that was interrupted", dir.display());
    }
    for path in &recovery.left_changed {
        let path = crate::term::safe(path);
        println!("  kept         {path} (changed after the interrupted render began)");
    }
    for path in &recovery.removed_temp_files {
        let path = crate::term::safe(path);
        println!("  cleaned      {path} (temporary file of an interrupted write)");
    }
}

/// Print what a sync did: counts, then the names of everything but unchanged files.
pub fn print_summary(dir: &Path, plan: &SyncPlan, global: &Global, list_created: bool) {
    let count = |f: fn(&Action) -> bool| plan.names(f).len();
    let created = count(|a| matches!(a, Action::Create(_)));
    let updated = count(|a| matches!(a, Action::Update(_)));
    let merged = count(|a| matches!(a, Action::Merge(_)));
    let conflicts = count(|a| matches!(a, Action::Conflict(_) | Action::UnresolvedConflict));
    let overwritten = count(|a| matches!(a, Action::Overwrite { .. }));
    let kept = count(|a| matches!(a, Action::KeepEdited | Action::KeepStale));
    let removed = count(|a| matches!(a, Action::Remove));
    let unchanged = count(|a| matches!(a, Action::Unchanged));
    println!(
        "{}: {created} created, {updated} updated, {merged} merged, {conflicts} conflict(s), {overwritten} overwritten, {kept} kept, {removed} removed, {unchanged} unchanged",
        dir.display()
    );
    for (path, action) in &plan.actions {
        let label = match action {
            Action::Create(_) if list_created || global.verbose > 0 => "created",
            Action::Update(_) => "updated",
            Action::Merge(_) => "merged (your edits kept)",
            Action::Conflict(_) => "CONFLICT (markers written; resolve, then render again)",
            Action::UnresolvedConflict => "CONFLICT (unresolved markers from an earlier render)",
            Action::Overwrite { backup, .. } => {
                let (path, backup) = (crate::term::safe(path), crate::term::safe(backup));
                println!("  overwritten  {path} (backup: {backup})");
                continue;
            }
            Action::KeepStale => "kept (no longer rendered, but edited by hand)",
            Action::KeepEdited if global.verbose > 0 => "kept (your edits; rendering unchanged)",
            Action::Remove => "removed (no longer rendered)",
            _ => continue,
        };
        // Paths may come from the (committed, untrusted) lock.
        println!("  {label:<12} {}", crate::term::safe(path));
    }
}
