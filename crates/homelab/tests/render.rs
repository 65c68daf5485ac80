//! `homelab render`: drift check, three-way merge of hand edits, conflicts, --force backups,
//! removal of files the config no longer renders.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;

fn homelab() -> Command {
    Command::cargo_bin("homelab").expect("binary")
}

fn init(dir: &Path) {
    homelab().arg("init").arg(dir).assert().success();
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn edit_config(dir: &Path, from: &str, to: &str) {
    let path = dir.join("platform.toml");
    let text = read(&path);
    assert!(text.contains(from), "{from} not in platform.toml");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
}

#[test]
fn render_check_reports_only_what_a_render_would_change() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("repo");
    init(&dir);
    let check = || homelab().arg("render").arg(&dir).arg("--check").assert();
    check().success();
    // A hand edit that a render keeps is not drift.
    let f = dir.join("infrastructure/kyverno/values.yaml");
    std::fs::write(&f, read(&f) + "# my note\n").expect("write");
    check().success();
    // Nor is a placeholder replaced by a real SealedSecret.
    let sealed = dir.join("secrets/homelab/litellm-secrets.yaml");
    std::fs::write(
        &sealed,
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: litellm-secrets\n  namespace: ai-services\nspec:\n  encryptedData:\n    LITELLM_MASTER_KEY: AgBy3i4OJSWK+PiTySYZZA==\n    LITELLM_SALT_KEY: AgCx9Q2PmZ0b1cE3fL7wLw==\n  template:\n    metadata:\n      name: litellm-secrets\n      namespace: ai-services\n    type: Opaque\n",
    )
    .expect("write");
    check().success();
    // A config change that is not rendered yet is drift; --check writes nothing.
    edit_config(&dir, "storage_size = \"50Gi\"", "storage_size = \"80Gi\"");
    check()
        .code(1)
        .stdout(predicate::str::contains(
            "apps/gitlab/values-homelab.yaml: differs from what platform.toml renders",
        ))
        .stdout(predicate::str::contains("kyverno").not())
        .stdout(predicate::str::contains("litellm-secrets").not());
    assert!(read(&f).ends_with("# my note\n"), "--check writes nothing");
    assert!(read(&dir.join("apps/gitlab/values-homelab.yaml")).contains("size: 50Gi"));
    homelab().arg("render").arg(&dir).assert().success();
    check().success();
    assert!(
        read(&sealed).contains("AgBy3i4OJSWK"),
        "the sealed secret is kept"
    );
}

#[test]
fn render_twice_is_byte_identical() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    init(&a);
    init(&b);
    homelab()
        .arg("render")
        .arg(&a)
        .assert()
        .success()
        .stdout(predicate::str::contains("0 created, 0 updated"));
    for entry in [
        "README.md",
        "argocd/projects/homelab.yaml",
        ".homelab/render.lock",
        "apps/ai-services/ollama/ollama.yaml",
    ] {
        assert_eq!(read(&a.join(entry)), read(&b.join(entry)), "{entry}");
    }
}

#[test]
fn a_hand_edit_survives_a_config_change() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("repo");
    init(&dir);
    // The user adds a line at the top of the GitLab values ...
    let f = dir.join("apps/gitlab/values-homelab.yaml");
    let edited = read(&f).replacen("---\n", "---\n# pinned by ops: see ticket 42\n", 1);
    std::fs::write(&f, &edited).expect("write");
    // ... and the config changes a value further down the same file.
    edit_config(&dir, "storage_size = \"50Gi\"", "storage_size = \"80Gi\"");
    homelab()
        .arg("render")
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("merged"))
        .stdout(predicate::str::contains("apps/gitlab/values-homelab.yaml"));
    let merged = read(&f);
    assert!(
        merged.contains("# pinned by ops: see ticket 42"),
        "hand edit lost:\n{merged}"
    );
    assert!(
        merged.contains("size: 80Gi"),
        "config change lost:\n{merged}"
    );
    assert!(!merged.contains("size: 50Gi"));
    // Now the tree is what the config renders plus the edit: render again changes nothing.
    homelab()
        .arg("render")
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("0 merged"));
}

#[test]
fn a_conflicting_edit_is_marked_reported_and_nothing_is_lost() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("repo");
    init(&dir);
    let f = dir.join("apps/gitlab/values-homelab.yaml");
    std::fs::write(
        &f,
        read(&f).replacen("      size: 50Gi", "      size: 60Gi # mine", 1),
    )
    .expect("write");
    edit_config(&dir, "storage_size = \"50Gi\"", "storage_size = \"80Gi\"");
    homelab()
        .arg("render")
        .arg(&dir)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("CONFLICT"))
        .stdout(predicate::str::contains("apps/gitlab/values-homelab.yaml"));
    let text = read(&f);
    assert!(text.contains("<<<<<<< ours"), "{text}");
    assert!(text.contains("size: 60Gi # mine"), "user's line lost");
    assert!(text.contains("size: 80Gi"), "rendered line missing");
    // Rendering again still reports the unresolved conflict, and keeps the file.
    homelab().arg("render").arg(&dir).assert().code(1);
    assert_eq!(read(&f), text);
}

#[test]
fn force_overwrites_and_keeps_a_backup() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("repo");
    init(&dir);
    let f = dir.join("helmfile.yaml");
    let original = read(&f);
    std::fs::write(&f, "# replaced by hand\n").expect("write");
    homelab()
        .arg("render")
        .arg(&dir)
        .arg("--force")
        .assert()
        .success()
        .stdout(predicate::str::contains("overwritten"));
    assert_eq!(read(&f), original);
    let backups = dir.join(".homelab/backup");
    let stamp = std::fs::read_dir(&backups)
        .expect("backup dir")
        .next()
        .expect("one backup")
        .expect("entry")
        .path();
    assert_eq!(read(&stamp.join("helmfile.yaml")), "# replaced by hand\n");
}

#[test]
fn switched_off_components_are_removed_unless_edited() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("repo");
    init(&dir);
    let edited = dir.join("apps/ai-services/searxng/searxng.yaml");
    std::fs::write(&edited, read(&edited) + "# tuned\n").expect("write");
    edit_config(
        &dir,
        "[components.n8n]\nenabled = true",
        "[components.n8n]\nenabled = false",
    );
    edit_config(
        &dir,
        "[components.searxng]\nenabled = true",
        "[components.searxng]\nenabled = false",
    );
    homelab()
        .arg("render")
        .arg(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("removed"))
        .stdout(predicate::str::contains(
            "kept (no longer rendered, but edited by hand)",
        ));
    assert!(!dir.join("apps/ai-services/n8n/n8n.yaml").exists());
    assert!(!dir.join("argocd/applications/apps/n8n.yaml").exists());
    assert!(read(&edited).ends_with("# tuned\n"), "edited file kept");
    // The edited file a render keeps is not drift.
    homelab()
        .arg("render")
        .arg(&dir)
        .arg("--check")
        .assert()
        .success();
}

#[test]
fn render_with_a_bad_config_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("repo");
    init(&dir);
    let lock = read(&dir.join(".homelab/render.lock"));
    edit_config(&dir, "cores = 28", "cores = \"many\"");
    edit_config(&dir, "storage_size = \"50Gi\"", "storage_size = \"80Gi\"");
    homelab()
        .arg("render")
        .arg(&dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("key 'nodes[0].cores'"))
        .stderr(predicate::str::contains("platform.toml:"));
    assert_eq!(read(&dir.join(".homelab/render.lock")), lock);
    assert!(read(&dir.join("apps/gitlab/values-homelab.yaml")).contains("size: 50Gi"));
}

/// The rendered tree against the product's own guardrails (built by other modules).
fn rendered_repo() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    homelab()
        .arg("init")
        .arg(tmp.path().join("repo"))
        .assert()
        .success();
    tmp
}

#[test]
fn rendered_policies_pass_against_rendered_workloads() {
    let tmp = rendered_repo();
    let dir = tmp.path().join("repo");
    let out = homelab()
        .args([
            "policy",
            "apply",
            "policies/kyverno",
            "--resource",
            "apps",
            "--table",
        ])
        .current_dir(&dir)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    let summary = text
        .lines()
        .rev()
        .find(|l| l.starts_with("pass:"))
        .unwrap_or_else(|| panic!("no summary:\n{text}"));
    assert!(
        summary.contains("fail: 0") && summary.contains("error: 0"),
        "{summary}"
    );
    let passed: u32 = summary
        .trim_start_matches("pass:")
        .split(',')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(passed >= 40, "too few rule results: {summary}");
}

#[test]
fn rendered_manifests_validate_strictly() {
    let tmp = rendered_repo();
    let dir = tmp.path().join("repo");
    homelab()
        .args([
            "validate",
            "-strict",
            "-summary",
            "argocd",
            "infrastructure",
            "apps",
            "policies",
            "secrets",
        ])
        .current_dir(&dir)
        .assert()
        .success()
        .stdout(predicate::str::contains("Invalid: 0, Errors: 0"));
}
