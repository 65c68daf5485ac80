//! `homelab host plan|apply|check`: the btrfs storage foundation for Longhorn (PRODUCT.md §5).
//! Argument parsing, config merging and output only; the work is in `homelab-host`.

use super::{Global, EXIT_FINDINGS, EXIT_OK};
use anyhow::{bail, Context};
use homelab_host::check::{self, CheckOptions, Verdict};
use homelab_host::plan::{self, Plan, PlanOptions};
use homelab_host::{apply, config, probe, HostConfig};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Print a line to stdout; a closed pipe (`homelab host plan | head`) ends output quietly
/// instead of panicking like `println!`.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Print every step `apply` would take and why; changes nothing.
    Plan(Common),
    /// Create the subvolume, write fstab, mount, install the snapshot timer (root).
    Apply(Common),
    /// Verify the host storage criteria with evidence; exit 1 if any fails.
    Check(Common),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct Common {
    /// platform.toml to read `[storage]` from (default: ./platform.toml when present).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Block device, `UUID=...` or `LABEL=...` holding the btrfs filesystem.
    #[arg(long)]
    pub device: Option<String>,
    /// Where Longhorn's data path is mounted.
    #[arg(long, value_name = "DIR")]
    pub mountpoint: Option<PathBuf>,
    /// btrfs subvolume below the top level.
    #[arg(long)]
    pub subvolume: Option<String>,
    /// btrfs compress= value: zstd:1 for NVMe, zstd:3 for SATA SSD.
    #[arg(long)]
    pub compression: Option<String>,
    /// fstab to read and edit.
    #[arg(long, value_name = "FILE")]
    pub fstab: Option<PathBuf>,
    /// Directory for the systemd service and timer.
    #[arg(long, value_name = "DIR")]
    pub systemd_dir: Option<PathBuf>,
    /// mountinfo to read.
    #[arg(long, value_name = "FILE")]
    pub mountinfo: Option<PathBuf>,
    /// Where to install the snapshot script.
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// Snapshots to keep.
    #[arg(long, value_name = "N")]
    pub retention: Option<u32>,
    /// Directory for the read-only snapshots (on the same btrfs filesystem).
    #[arg(long, value_name = "DIR")]
    pub snapshot_dir: Option<PathBuf>,
    /// systemd OnCalendar= schedule for snapshots.
    #[arg(long)]
    pub schedule: Option<String>,
    /// Do not mount or remount (write fstab and units only).
    #[arg(long)]
    pub no_mount: bool,
    /// apply: only print the plan, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Replace a differing fstab entry for the mountpoint (a dated backup is kept), or mount
    /// over a non-empty mountpoint directory.
    #[arg(long)]
    pub force: bool,
    /// A Longhorn replica planned on this node, NAME=SIZE (e.g. gitlab=50Gi); repeatable.
    /// check compares their total with the free space.
    #[arg(long = "replica", value_name = "NAME=SIZE")]
    pub replicas: Vec<String>,
    /// check: skip these check ids or id prefixes (comma-separated, e.g.
    /// iscsid,nfs4-client,multipath,module,gpu).
    #[arg(long, value_delimiter = ',')]
    pub skip: Vec<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// Merge defaults, `[storage]` from platform.toml and flags (flags win).
fn load_config(c: &Common) -> anyhow::Result<HostConfig> {
    let path = match &c.config {
        Some(p) => Some((p.clone(), true)),
        None => Some(PathBuf::from("platform.toml"))
            .filter(|p| std::fs::symlink_metadata(p).is_ok())
            .map(|p| (p, false)),
    };
    let mut cfg = match &path {
        Some((p, explicit)) => {
            let text = super::render::read_config_file(p, *explicit)
                .context("cannot read the configuration (pass --config FILE)")?;
            config::from_toml(&text, p)?
        }
        None => HostConfig::default(),
    };
    let derived_snapshots = cfg.snapshot_dir == cfg.mountpoint.join(".snapshots");
    if let Some(v) = &c.device {
        cfg.device = Some(v.clone());
    }
    if let Some(v) = &c.mountpoint {
        cfg.mountpoint = v.clone();
    }
    if let Some(v) = &c.subvolume {
        cfg.subvolume = v.clone();
    }
    if let Some(v) = &c.compression {
        cfg.compression = v.clone();
    }
    if let Some(v) = &c.fstab {
        cfg.fstab = v.clone();
    }
    if let Some(v) = &c.systemd_dir {
        cfg.systemd_dir = v.clone();
    }
    if let Some(v) = &c.mountinfo {
        cfg.mountinfo = v.clone();
    }
    if let Some(v) = &c.script {
        cfg.script = v.clone();
    }
    if let Some(v) = c.retention {
        cfg.retention = v;
    }
    if let Some(v) = &c.schedule {
        cfg.schedule = v.clone();
    }
    for r in &c.replicas {
        let Some((name, size)) = r.split_once('=') else {
            bail!("--replica {r:?}: expected NAME=SIZE, e.g. gitlab=50Gi");
        };
        let bytes =
            config::parse_size(size).map_err(|e| anyhow::anyhow!("--replica {r:?}: {e}"))?;
        cfg.replicas.push(config::PlannedReplica {
            name: name.to_string(),
            bytes,
        });
    }
    match &c.snapshot_dir {
        Some(v) => cfg.snapshot_dir = v.clone(),
        None if derived_snapshots => cfg.snapshot_dir = cfg.mountpoint.join(".snapshots"),
        None => {}
    }
    Ok(cfg)
}

pub fn run(args: Args, _global: &Global) -> anyhow::Result<u8> {
    match args.action {
        Action::Plan(c) => run_plan(&c, false),
        Action::Apply(c) if c.dry_run => run_plan(&c, true),
        Action::Apply(c) => run_apply(&c),
        Action::Check(c) => run_check(&c),
    }
}

fn plan_for(c: &Common, for_apply: bool) -> anyhow::Result<(HostConfig, Plan)> {
    let cfg = load_config(c)?;
    let st = probe::probe(&cfg)?;
    let p = plan::plan(
        &cfg,
        &st,
        PlanOptions {
            for_apply,
            force: c.force,
            no_mount: c.no_mount,
        },
    );
    Ok((cfg, p))
}

fn print_refusals(p: &Plan) {
    for r in &p.refusals {
        out!("refused ({}): {}", r.code, r.message);
        if let Some(d) = &r.detail {
            for l in d.lines() {
                out!("    {l}");
            }
        }
    }
}

fn print_tail(p: &Plan) {
    for m in &p.manual {
        out!("run by hand: {m}");
    }
    for n in &p.notes {
        out!("note: {n}");
    }
}

fn plan_json(command: &str, cfg: &HostConfig, p: &Plan) -> serde_json::Value {
    json!({
        "command": command,
        "mountpoint": cfg.mountpoint,
        "fstab_line": p.fstab_line,
        "refusals": p.refusals,
        "steps": p.steps,
        "manual": p.manual,
        "notes": p.notes,
    })
}

fn run_plan(c: &Common, for_apply: bool) -> anyhow::Result<u8> {
    let (cfg, p) = plan_for(c, for_apply)?;
    let code = if p.refusals.is_empty() {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    };
    if c.format == Format::Json {
        out!(
            "{}",
            serde_json::to_string_pretty(&plan_json("plan", &cfg, &p))?
        );
        return Ok(code);
    }
    print_refusals(&p);
    if p.refusals.is_empty() {
        if p.steps.is_empty() {
            out!(
                "{}: nothing to do, the host already matches",
                cfg.mountpoint.display()
            );
        } else {
            out!(
                "{}: apply would take {} step(s):",
                cfg.mountpoint.display(),
                p.steps.len()
            );
        }
        for (i, s) in p.steps.iter().enumerate() {
            out!("  {}. [{}] {}", i + 1, s.id, s.action);
            out!("     why: {}", s.why);
        }
    } else {
        out!("apply would change nothing until the above is fixed");
    }
    print_tail(&p);
    Ok(code)
}

fn run_apply(c: &Common) -> anyhow::Result<u8> {
    let (cfg, p) = plan_for(c, true)?;
    if !p.refusals.is_empty() {
        if c.format == Format::Json {
            let mut v = plan_json("apply", &cfg, &p);
            v["changed"] = json!(false);
            out!("{}", serde_json::to_string_pretty(&v)?);
        } else {
            print_refusals(&p);
            out!("nothing was changed");
        }
        return Ok(EXIT_FINDINGS);
    }
    let outcome = apply::execute(&cfg, &p);
    let done = match &outcome {
        Ok(d) => d.clone(),
        Err(f) => f.done.clone(),
    };
    // Re-plan: after a successful apply nothing may remain (the idempotency promise).
    let remaining = match &outcome {
        Ok(_) => Some(plan_for(c, true)?.1.steps),
        Err(_) => None,
    };
    if c.format == Format::Json {
        let v = json!({
            "command": "apply",
            "changed": !done.is_empty(),
            "done": done,
            "failed": outcome.as_ref().err().map(|f| json!({"step": f.step, "error": format!("{:#}", f.error)})),
            "remaining": remaining.as_ref().map(|r| r.iter().map(|s| s.id).collect::<Vec<_>>()),
            "manual": p.manual,
            "notes": p.notes,
        });
        out!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        if done.is_empty() && outcome.is_ok() {
            out!(
                "{}: nothing to do, the host already matches; nothing changed",
                cfg.mountpoint.display()
            );
        }
        for d in &done {
            out!("done [{}] {}: {}", d.id, d.action, d.result);
        }
        if let Some(r) = remaining.as_ref().filter(|r| !r.is_empty()) {
            out!(
                "warning: a fresh plan still lists {} step(s): {}",
                r.len(),
                r.iter().map(|s| s.id).collect::<Vec<_>>().join(", ")
            );
        }
        print_tail(&p);
    }
    match outcome {
        Ok(_) => Ok(if remaining.is_some_and(|r| r.is_empty()) { EXIT_OK } else { EXIT_FINDINGS }),
        Err(f) => bail!(
            "step [{}] failed after {} completed step(s): {:#}\nfstab and every written file were replaced atomically; fix the cause and rerun `homelab host apply`",
            f.step,
            f.done.len(),
            f.error
        ),
    }
}

fn run_check(c: &Common) -> anyhow::Result<u8> {
    let cfg = load_config(c)?;
    let st = probe::probe(&cfg)?;
    let items = check::check(
        &cfg,
        &st,
        &CheckOptions {
            skip: c.skip.clone(),
        },
    );
    let failed = items.iter().filter(|i| i.verdict == Verdict::Fail).count();
    if c.format == Format::Json {
        let v = json!({
            "command": "check",
            "mountpoint": cfg.mountpoint,
            "ok": failed == 0,
            "failed": failed,
            "items": items,
        });
        out!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for i in &items {
            out!(
                "{:<13} {:<24} {}",
                i.verdict.as_str().to_uppercase(),
                i.id,
                i.evidence
            );
        }
        let passed = items.iter().filter(|i| i.verdict == Verdict::Pass).count();
        out!(
            "{}: {passed} passed, {failed} failed",
            display(&cfg.mountpoint)
        );
    }
    Ok(if failed == 0 { EXIT_OK } else { EXIT_FINDINGS })
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
