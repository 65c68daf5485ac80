//! The executor: carries out a [`Plan`]'s steps in order, the only code here that changes the
//! host. Each step is safe to interrupt: fstab and every installed file are replaced
//! atomically, the subvolume and mount steps are idempotent, so a rerun finishes the job.
//! `HOMELAB_HOST_FAIL_AT=after:<step-id>` (or `before-rename:<file>`) injects a failure for the
//! crash tests.

use crate::config::{HostConfig, TIMER_NAME};
use crate::fsutil::{self, injected_failure};
use crate::mountinfo;
use crate::plan::{Plan, Step, StepKind};
use crate::probe;
use anyhow::{bail, Context};
use std::path::Path;
use std::process::Command;

/// What one step did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Done {
    pub id: &'static str,
    pub action: String,
    pub result: String,
}

/// Run `cmd`, failing with its stderr.
fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let shown = format!("{cmd:?}").replace('"', "");
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {shown}"))?;
    if !out.status.success() {
        bail!(
            "{shown} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Unmounts (and removes) a temporary mount directory when dropped, also on error paths.
struct TempMount {
    dir: Option<tempfile::TempDir>,
    mounted: bool,
}

impl Drop for TempMount {
    fn drop(&mut self) {
        if self.mounted {
            if let Some(d) = &self.dir {
                let _ = Command::new("umount").arg(d.path()).status();
            }
        }
    }
}

fn ensure_subvolume(cfg: &HostConfig, device: &Path) -> anyhow::Result<String> {
    let dir = tempfile::Builder::new()
        .prefix("homelab-btrfs-top-")
        .tempdir()
        .context("creating a temporary mount directory")?;
    let mut guard = TempMount {
        dir: Some(dir),
        mounted: false,
    };
    let top = guard
        .dir
        .as_ref()
        .map(|d| d.path().to_path_buf())
        .unwrap_or_default();
    run(Command::new("mount")
        .args(["-t", "btrfs", "-o", "subvolid=5"])
        .arg(device)
        .arg(&top))?;
    guard.mounted = true;
    let target = top.join(&cfg.subvolume);
    let result = if probe::is_subvolume(&target) {
        format!("subvolume {} already exists", cfg.subvolume)
    } else if target.exists() {
        bail!(
            "{} exists in the top level of {} but is not a subvolume; move it away first",
            cfg.subvolume,
            device.display()
        );
    } else {
        run(Command::new("btrfs")
            .args(["subvolume", "create"])
            .arg(&target))?;
        format!("created subvolume {}", cfg.subvolume)
    };
    run(Command::new("umount").arg(&top))?;
    guard.mounted = false;
    Ok(result)
}

/// Options from `options` that mountinfo does not show in effect at the mountpoint.
fn missing_in_effect(cfg: &HostConfig) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(&cfg.mountinfo)
        .with_context(|| format!("{}", cfg.mountinfo.display()))?;
    let mounts = mountinfo::parse(&text)?;
    let Some(m) = mountinfo::at_mountpoint(&mounts, &cfg.mountpoint) else {
        bail!("{} is not mounted after mount", cfg.mountpoint.display());
    };
    Ok(cfg.mount_options()[1..]
        .iter()
        .filter(|o| !m.has_option(o))
        .cloned()
        .collect())
}

fn remount(cfg: &HostConfig) -> anyhow::Result<String> {
    let opts = format!("remount,{}", cfg.mount_options()[1..].join(","));
    run(Command::new("mount")
        .args(["-o", &opts])
        .arg(&cfg.mountpoint))?;
    let missing = missing_in_effect(cfg)?;
    if missing.is_empty() {
        Ok("remounted; every option in effect".into())
    } else {
        bail!(
            "remounted, but mountinfo still lacks {}: another mount of this filesystem may pin them; see `homelab host check`",
            missing.join(", ")
        )
    }
}

fn execute_step(cfg: &HostConfig, step: &Step) -> anyhow::Result<String> {
    match &step.kind {
        StepKind::CreateMountpoint => {
            std::fs::create_dir_all(&cfg.mountpoint)
                .with_context(|| format!("creating {}", cfg.mountpoint.display()))?;
            Ok(format!("created {}", cfg.mountpoint.display()))
        }
        StepKind::EnsureSubvolume { device } => ensure_subvolume(cfg, device),
        StepKind::Mount { device } => {
            run(Command::new("mount")
                .args(["-t", "btrfs", "-o", &cfg.mount_options().join(",")])
                .arg(device)
                .arg(&cfg.mountpoint))?;
            // Filesystem-wide options (compress, space_cache, discard) come from the first mount
            // of a btrfs filesystem; if it was already mounted elsewhere, remount to apply ours.
            if missing_in_effect(cfg)?.is_empty() {
                Ok("mounted; every option in effect".into())
            } else {
                remount(cfg).map(|r| format!("mounted, then {r}"))
            }
        }
        StepKind::Remount => remount(cfg),
        StepKind::WriteFstab {
            expected_before,
            new_text,
        } => {
            let now = match std::fs::read(&cfg.fstab) {
                Ok(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => bail!("{}: {e}", cfg.fstab.display()),
            };
            if &now != expected_before {
                bail!(
                    "{} changed since it was read; nothing written, run apply again",
                    cfg.fstab.display()
                );
            }
            let backup = if now.is_some() {
                let b = fsutil::backup(&cfg.fstab)?;
                injected_failure("after:fstab-backup")?;
                format!("backup {}", b.display())
            } else {
                "no previous file".into()
            };
            fsutil::write_atomic(&cfg.fstab, new_text.as_bytes(), 0o644)?;
            Ok(format!("wrote {} ({backup})", cfg.fstab.display()))
        }
        StepKind::InstallFile {
            path,
            content,
            mode,
        } => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            fsutil::write_atomic(path, content.as_bytes(), *mode)?;
            Ok(format!("wrote {}", path.display()))
        }
        StepKind::SystemdEnable => {
            run(Command::new("systemctl").arg("daemon-reload"))?;
            run(Command::new("systemctl").args(["enable", "--now", TIMER_NAME]))?;
            Ok(format!("{TIMER_NAME} enabled and started"))
        }
        StepKind::FirstSnapshot => {
            let out = run(&mut Command::new(&cfg.script))?;
            Ok(out)
        }
    }
}

/// The executor's failure: which steps completed, which step failed and why.
#[derive(Debug)]
pub struct Failed {
    pub done: Vec<Done>,
    pub step: &'static str,
    pub error: anyhow::Error,
}

/// Run every step of `plan` in order. The plan must have no refusals.
pub fn execute(cfg: &HostConfig, plan: &Plan) -> Result<Vec<Done>, Failed> {
    let mut done = Vec::new();
    for step in &plan.steps {
        let r = execute_step(cfg, step).and_then(|result| {
            injected_failure(&format!("after:{}", step.id))?;
            Ok(result)
        });
        match r {
            Ok(result) => done.push(Done {
                id: step.id,
                action: step.action.clone(),
                result,
            }),
            Err(error) => {
                return Err(Failed {
                    done,
                    step: step.id,
                    error,
                })
            }
        }
    }
    Ok(done)
}
