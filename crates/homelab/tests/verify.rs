//! `homelab verify`: snapshot mode end to end (formats, exit codes, usage errors, config,
//! secrets never printed) and live mode against a stand-in `kubectl`.

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::PathBuf;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../homelab-verify/tests/fixtures/healthy.yaml")
}

fn healthy() -> String {
    std::fs::read_to_string(fixture()).expect("fixture")
}

fn homelab() -> Command {
    let mut cmd = Command::cargo_bin("homelab").expect("binary built");
    cmd.env("NO_COLOR", "1");
    cmd
}

const SECRET_VALUES: &[&str] = &[
    "U0VBTElOR0tFWUNFUlQtRE8tTk9ULVBSSU5U",
    "U0VBTElOR0tFWVBSSVZBVEUtRE8tTk9ULVBSSU5U",
    "QVBQSUQtRE8tTk9ULVBSSU5U",
    "UFJJVkFURUtFWS1ETy1OT1QtUFJJTlQ=",
];

#[test]
fn healthy_snapshot_is_a_checked_list_and_exits_0() {
    let out = homelab()
        .args(["verify", "--snapshot"])
        .arg(fixture())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("[x] Longhorn installed with 2-replica default"));
    assert!(stdout.contains("[?] btrfs subvolume at /var/lib/longhorn"));
    assert!(stdout.contains("18 met, 0 not met, 7 not checkable, 0 skipped"));
}

#[test]
fn fault_from_stdin_exits_1_with_evidence() {
    let text = healthy().replacen("retain: 7", "retain: 2", 1);
    let out = homelab()
        .args(["verify", "--snapshot", "-"])
        .write_stdin(text)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("[ ] Recurring Longhorn snapshots configured"));
    assert!(stdout.contains("retain 2, expected a daily cron and retain >= 7"));
    assert!(stdout.contains("17 met, 1 not met"));
}

#[test]
fn json_is_stable_and_parseable() {
    let out = homelab()
        .args(["verify", "--format", "json", "--snapshot"])
        .arg(fixture())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let criteria = v["criteria"].as_array().unwrap();
    assert_eq!(criteria.len(), 25);
    for c in criteria {
        assert!(c["id"].is_string() && c["title"].is_string() && c["evidence"].is_array());
        let status = c["status"].as_str().unwrap();
        assert!(["met", "not met", "not checkable", "skipped"].contains(&status));
    }
    assert_eq!(v["summary"]["met"], 18);
    assert_eq!(v["summary"]["not_met"], 0);
    assert_eq!(v["summary"]["total"], 25);
}

#[test]
fn html_written_atomically_to_output() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("verify.html");
    let out = homelab()
        .args(["verify", "--format", "html", "--snapshot"])
        .arg(fixture())
        .arg("--output")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let html = std::fs::read_to_string(&path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("id=\"argocd-apps-synced-healthy\""));
    assert!(!html.contains("<script"));
    // Only the report is left in the folder (no temporary file).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn secret_values_are_never_printed() {
    for format in ["text", "json", "html"] {
        let out = homelab()
            .args(["verify", "-v", "--format", format, "--snapshot"])
            .arg(fixture())
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        for value in SECRET_VALUES {
            assert!(!all.contains(value), "{format} printed a secret value");
        }
    }
}

#[test]
fn usage_errors_exit_2() {
    let none = homelab().arg("verify").output().unwrap();
    assert_eq!(none.status.code(), Some(2));
    let both = homelab()
        .args(["verify", "--snapshot", "a.yaml", "--kubeconfig", "b"])
        .output()
        .unwrap();
    assert_eq!(both.status.code(), Some(2));
    let format = homelab()
        .args(["verify", "--format", "sarif", "--snapshot"])
        .arg(fixture())
        .output()
        .unwrap();
    assert_eq!(format.status.code(), Some(2));
}

#[test]
fn broken_snapshot_names_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.yaml");
    std::fs::write(&path, "apiVersion: v1\nkind: List\nitems: [\n").unwrap();
    let out = homelab()
        .args(["verify", "--snapshot"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("snap.yaml:4:1: error[yaml/syntax]"),
        "{stderr}"
    );
}

#[test]
fn config_switches_components_off_and_names_expected_apps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("platform.toml");
    let config = homelab_platform::DEFAULT_CONFIG
        .replacen(
            "[components.gitlab]\nenabled = true",
            "[components.gitlab]\nenabled = false",
            1,
        )
        .replacen(
            "[components.gitlab_runner]\nenabled = true",
            "[components.gitlab_runner]\nenabled = false",
            1,
        );
    assert_ne!(config, homelab_platform::DEFAULT_CONFIG);
    std::fs::write(&path, config).unwrap();
    let out = homelab()
        .args(["verify", "--format", "json", "--snapshot"])
        .arg(fixture())
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    // The fixture does not hold every Application the default platform renders.
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let find = |id: &str| {
        v["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(find("gitlab-running")["status"], "skipped");
    assert_eq!(find("gitlab-runner")["status"], "skipped");
    let apps = find("argocd-apps-synced-healthy");
    assert_eq!(apps["status"], "not met");
    assert!(apps["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == "Application namespaces (rendered from platform.toml) not found"));
}

#[test]
fn bad_config_exits_2_with_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("platform.toml");
    std::fs::write(&path, "[cluster]\nname = 3\n").unwrap();
    let out = homelab()
        .args(["verify", "--snapshot"])
        .arg(fixture())
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("platform.toml"));
}

#[test]
fn missing_kubeconfig_exits_2() {
    let out = homelab()
        .args(["verify", "--kubeconfig", "/nonexistent/kubeconfig"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("kubeconfig /nonexistent/kubeconfig not found"));
}

/// Live mode reads the cluster through `kubectl`; a stand-in script on PATH answers like a
/// cluster where the snapshot's objects exist and one CRD is not installed.
#[cfg(unix)]
#[test]
fn live_mode_reads_through_kubectl() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let script = format!(
        "#!/bin/sh\necho \"$@\" >> '{log}'\ncase \"$*\" in\n  *' get namespaces '*) cat '{fixture}' ;;\n  *recurringjobs*) echo 'error: the server doesn'\"'\"'t have a resource type \"recurringjobs\"' >&2; exit 1 ;;\n  *) printf 'apiVersion: v1\\nkind: List\\nitems: []\\n' ;;\nesac\n",
        log = log.display(),
        fixture = fixture().display()
    );
    let kubectl = dir.path().join("kubectl");
    std::fs::write(&kubectl, script).unwrap();
    std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755)).unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, "apiVersion: v1\nkind: Config\n").unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = homelab()
        .env("PATH", &path)
        .args(["verify", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(
        calls
            .lines()
            .all(|l| l.contains(" get ") && l.ends_with("-o yaml")),
        "{calls}"
    );
    assert!(calls.contains("secrets -A -l sealedsecrets.bitnami.com/sealed-secrets-key"));
    assert!(calls.contains("secret github-app-secret -n arc-runners"));
    assert!(
        !calls.lines().any(|l| l.contains("secrets -A -o")),
        "all Secrets fetched: {calls}"
    );

    // Any other kubectl failure is an error naming the command.
    std::fs::write(
        &kubectl,
        "#!/bin/sh\necho 'Unable to connect to the server' >&2\nexit 1\n",
    )
    .unwrap();
    let out = homelab()
        .env("PATH", &path)
        .args(["verify", "--kubeconfig"])
        .arg(&kubeconfig)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unable to connect to the server"));
}

/// The repository `homelab init` renders meets the criteria that its manifests alone decide
/// (classes, recurring job, multi-source, waves, PSS labels): renderer and verifier agree.
#[test]
fn rendered_repository_meets_its_static_criteria() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let init = homelab().arg("init").arg(&repo).output().unwrap();
    assert!(
        repo.join("platform.toml").is_file(),
        "init failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let mut snapshot = String::new();
    let mut stack = vec![repo.clone()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.is_dir() && !name.starts_with('.') {
                stack.push(p);
            } else if name.ends_with(".yaml") && !name.starts_with('.') {
                snapshot.push_str("---\n");
                snapshot.push_str(&std::fs::read_to_string(&p).unwrap());
                snapshot.push('\n');
            }
        }
    }
    let snap = dir.path().join("snapshot.yaml");
    std::fs::write(&snap, snapshot).unwrap();
    let out = homelab()
        .args(["verify", "--format", "json", "--snapshot"])
        .arg(&snap)
        .arg("--config")
        .arg(repo.join("platform.toml"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    for id in [
        "longhorn-storage-classes",
        "longhorn-recurring-snapshots",
        "argocd-multi-source",
        "argocd-sync-waves",
        "pod-security-standards",
    ] {
        let c = v["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap();
        assert_eq!(c["status"], "met", "{c}");
    }
}

#[test]
fn an_unusable_snapshot_is_a_usage_error_not_a_verdict() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        ("empty.yaml", ""),
        ("scalar.yaml", "42\n"),
        ("separators.yaml", "---\n---\n"),
        ("empty-list.yaml", "apiVersion: v1\nkind: List\nitems: []\n"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        homelab()
            .args(["verify", "--snapshot"])
            .arg(&path)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains("unusable"));
    }
    homelab()
        .args(["verify", "--snapshot"])
        .arg(dir.path().join("missing.yaml"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such file"));
    let (a, b) = (dir.path().join("a.yaml"), dir.path().join("b.yaml"));
    std::os::unix::fs::symlink(&b, &a).unwrap();
    std::os::unix::fs::symlink(&a, &b).unwrap();
    homelab()
        .args(["verify", "--snapshot"])
        .arg(&a)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("symbolic link loop"))
        .stderr(predicate::str::contains("check that the file exists").not());
}
