//! `homelab init`: writes the whole repository, refuses to clobber, refuses bad configs.

use assert_cmd::Command;
use predicates::prelude::*;

fn homelab() -> Command {
    Command::cargo_bin("homelab").expect("binary")
}

fn files_under(root: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(
                    path.strip_prefix(root)
                        .expect("prefix")
                        .to_string_lossy()
                        .replace('\\', "/"),
                );
            }
        }
    }
    out.sort();
    out
}

#[test]
fn init_writes_the_whole_tree_and_prints_the_budgets() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("x");
    homelab()
        .arg("init")
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("created"))
        .stdout(predicate::str::contains("homelab"))
        .stdout(predicate::str::contains("akula-prime"))
        .stdout(predicate::str::contains("GiB"))
        .stdout(predicate::str::contains("wave -2"))
        .stdout(predicate::str::contains("wave  3"))
        // The placeholder secrets are the expected next step, not findings of the render.
        .stdout(predicate::str::contains("Check: 0 errors, 0 warnings"))
        .stdout(predicate::str::contains(
            "5 placeholder SealedSecret(s) to seal",
        ))
        .stdout(predicate::str::contains(
            "homelab secrets init --fetch-cert .",
        ));
    let files = files_under(&dir);
    for must in [
        "platform.toml",
        ".homelab/render.lock",
        "argocd/bootstrap/root-app.yaml",
        "argocd/projects/homelab.yaml",
        "argocd/applications/apps/gitlab.yaml",
        "helmfile.yaml",
        "infrastructure/longhorn/storage/storageclasses.yaml",
        "policies/kyverno/exceptions/system-namespace-exception.yaml",
        "scripts/setup-btrfs-longhorn.sh",
        ".github/workflows/validate.yml",
        "README.md",
    ] {
        assert!(
            files.iter().any(|f| f == must),
            "{must} missing from {files:#?}"
        );
    }
    assert!(files.len() > 100, "{} files", files.len());
    let toml = std::fs::read_to_string(dir.join("platform.toml")).expect("platform.toml");
    assert_eq!(toml, homelab_platform::DEFAULT_CONFIG);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("scripts/setup-btrfs-longhorn.sh"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "scripts are executable");
    }
}

#[test]
fn init_refuses_a_non_empty_foreign_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("notes.txt"), "mine").expect("write");
    homelab()
        .arg("init")
        .arg(tmp.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not empty"));
    assert_eq!(files_under(tmp.path()), vec!["notes.txt"]);
    // --force renders around the user's file and keeps it.
    homelab()
        .arg("init")
        .arg(tmp.path())
        .arg("--force")
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("notes.txt")).expect("read"),
        "mine"
    );
}

#[test]
fn init_with_a_bad_config_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = tmp.path().join("bad.toml");
    std::fs::write(
        &cfg,
        homelab_platform::DEFAULT_CONFIG.replacen("vram_gb = 16", "vram_gb = \"x\"", 1),
    )
    .expect("write");
    let dir = tmp.path().join("repo");
    homelab()
        .arg("init")
        .arg(&dir)
        .arg("--config")
        .arg(&cfg)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("key 'nodes[1].gpu.vram_gb'"))
        .stderr(predicate::str::contains("bad.toml:"));
    assert!(!dir.exists(), "nothing may be written");
}

#[test]
fn init_with_a_custom_config_uses_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let cfg = tmp.path().join("mine.toml");
    let text = homelab_platform::DEFAULT_CONFIG.replacen(
        "domain = \"homelab.lan\"",
        "domain = \"lab.example\"",
        1,
    );
    std::fs::write(&cfg, &text).expect("write");
    let dir = tmp.path().join("repo");
    homelab()
        .arg("init")
        .arg(&dir)
        .arg("--config")
        .arg(&cfg)
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(dir.join("platform.toml")).expect("read"),
        text
    );
    let gitlab =
        std::fs::read_to_string(dir.join("apps/gitlab/values-homelab.yaml")).expect("read");
    assert!(gitlab.contains("domain: lab.example"));
}

#[test]
fn init_refuses_an_existing_homelab_repository() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("repo");
    homelab().arg("init").arg(&dir).assert().success();
    homelab()
        .arg("init")
        .arg(&dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already a homelab repository"));
}
