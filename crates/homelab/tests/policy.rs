//! CLI tests of `homelab policy apply` and `homelab policy test` with our own fixtures
//! (the guide's pod-security-baseline policy and its exception).

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::PathBuf;

fn guide() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../homelab-policy/tests/fixtures/guide")
}

fn homelab() -> Command {
    Command::cargo_bin("homelab").expect("binary")
}

#[test]
fn apply_counts_and_exit_code() {
    let g = guide();
    homelab()
        .args(["policy", "apply"])
        .arg(g.join("policy.yaml"))
        .arg("--resource")
        .arg(g.join("resources.yaml"))
        .arg("--exception")
        .arg(g.join("exception.yaml"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "pass: 10, fail: 3, warn: 0, error: 0, skip: 2",
        ));
}

#[test]
fn apply_folder_json_report() {
    let g = guide();
    let out = homelab()
        .args(["policy", "apply"])
        .arg(g.join("policy.yaml"))
        .arg("-r")
        .arg(&g)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["apiVersion"], "wgpolicyk8s.io/v1alpha2");
    assert_eq!(v["kind"], "ClusterPolicyReport");
    // without the exception file the kube-system pod is not excepted: 5 failures
    assert_eq!(v["summary"]["fail"], 5);
    let r = &v["results"][0];
    assert!(
        r["resources"][0]["kind"].is_string() && r["rule"].is_string() && r["result"].is_string()
    );
}

#[test]
fn apply_yaml_report_reads_back_as_the_json_report() {
    let g = guide();
    let run = |format: &str| {
        homelab()
            .args(["policy", "apply"])
            .arg(g.join("policy.yaml"))
            .arg("-r")
            .arg(&g)
            .args(["--format", format])
            .output()
            .expect("runs")
    };
    let (json_out, yaml_out) = (run("json"), run("yaml"));
    assert_eq!(yaml_out.status.code(), Some(1));
    let text = String::from_utf8(yaml_out.stdout).expect("utf-8");
    assert!(text.starts_with("apiVersion: wgpolicyk8s.io/v1alpha2\nkind: ClusterPolicyReport\n"));
    let (docs, diagnostics) = homelab_manifest::parse_str("report.yaml", &text);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    let from_json: serde_json::Value = serde_json::from_slice(&json_out.stdout).expect("json");
    assert_eq!(docs[0].value, from_json);
}

#[test]
fn apply_table() {
    let g = guide();
    homelab()
        .args(["policy", "apply"])
        .arg(g.join("policy.yaml"))
        .arg("--resource")
        .arg(g.join("resources.yaml"))
        .arg("--table")
        .assert()
        .stdout(
            predicate::str::contains("RESULT").and(predicate::str::contains("Pod/apps/latest-pod")),
        );
}

#[test]
fn test_command_passes_and_prints_json_rows() {
    let out = homelab()
        .args(["policy", "test"])
        .arg(guide())
        .args(["--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json array");
    assert_eq!(rows.len(), 15);
    for r in &rows {
        for k in [
            "policy", "rule", "resource", "expected", "actual", "ok", "test",
        ] {
            assert!(r.get(k).is_some(), "missing {k} in {r}");
        }
        assert_eq!(r["ok"], true);
        assert_eq!(r["resource"].as_str().unwrap().split('/').count(), 3);
    }
}

#[test]
fn test_command_fails_on_a_wrong_expectation() {
    let dir = tempfile::tempdir().expect("tmp");
    for f in ["policy.yaml", "exception.yaml", "resources.yaml"] {
        std::fs::copy(guide().join(f), dir.path().join(f)).expect("copy");
    }
    let t = std::fs::read_to_string(guide().join("kyverno-test.yaml")).expect("read");
    // claim the latest-tag pod passes: it does not
    let t = t.replacen(
        "resources: [latest-pod]\n    result: fail",
        "resources: [latest-pod]\n    result: pass",
        1,
    );
    std::fs::write(dir.path().join("kyverno-test.yaml"), t).expect("write");
    homelab()
        .args(["policy", "test"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Want pass, got fail"));
}

#[test]
fn help_has_examples() {
    homelab()
        .args(["policy", "apply", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"));
    homelab()
        .args(["policy", "test", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"));
}

#[test]
fn missing_folder_is_a_usage_error() {
    homelab()
        .args(["policy", "test", "/nonexistent/folder"])
        .assert()
        .code(2);
}

/// A pull request's Kyverno test file cannot make `policy test` read a device or a FIFO (the
/// run ends), nor print a file outside the repository (refusals: `testrunner::load` tests).
#[test]
fn a_test_file_cannot_reach_outside_its_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(
        outside.join("secret.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: HOST-FILE-CONTENT\n",
    )
    .unwrap();
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    std::fs::create_dir_all(repo.join("policies")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", repo.join("policies/zero.yaml")).unwrap();
    std::os::unix::fs::symlink(
        outside.join("secret.yaml"),
        repo.join("policies/linked.yaml"),
    )
    .unwrap();
    assert!(std::process::Command::new("mkfifo")
        .arg(repo.join("policies/fifo.yaml"))
        .status()
        .unwrap()
        .success());
    std::fs::write(
        repo.join("policies/kyverno-test.yaml"),
        "apiVersion: cli.kyverno.io/v1alpha1\nkind: Test\nmetadata:\n  name: hostile\npolicies:\n- ../../outside/secret.yaml\n- zero.yaml\n- linked.yaml\nresources:\n- fifo.yaml\n- ../../outside\nresults:\n- policy: anything\n  rule: anything\n  resources: [anything]\n  result: pass\n",
    )
    .unwrap();
    let out = homelab()
        .args(["policy", "test"])
        .arg(&repo)
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    let all = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
    assert!(out.status.code().is_some(), "{all}");
    assert!(!all.contains("HOST-FILE-CONTENT"), "{all}");
}

#[test]
fn apply_leaves_out_files_that_are_not_manifests_and_goes_on() {
    let g = guide();
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::copy(g.join("resources.yaml"), dir.path().join("resources.yaml")).expect("copy");
    // a Jinja template and a Talos machine config next to the manifests
    std::fs::write(
        dir.path().join("values.yaml"),
        "cluster:\n  name: {% if prod %}prod{% endif %}\n  nodes: [\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("talos.yaml"),
        "version: v1alpha1\nmachine:\n  type: controlplane\n",
    )
    .expect("write");
    homelab()
        .args(["policy", "apply"])
        .arg(g.join("policy.yaml"))
        .arg("--resource")
        .arg(dir.path())
        .arg("--exception")
        .arg(g.join("exception.yaml"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "pass: 10, fail: 3, warn: 0, error: 0, skip: 2",
        ))
        .stderr(predicate::str::contains("values.yaml").and(predicate::str::contains("left out")))
        .stderr(predicate::str::contains("talos.yaml"));
}

#[test]
fn apply_missing_resource_path_is_a_usage_error() {
    let g = guide();
    homelab()
        .args(["policy", "apply"])
        .arg(g.join("policy.yaml"))
        .args(["--resource", "/nonexistent/dir"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no such file or folder"));
}

#[test]
fn test_command_detailed_results_carry_the_rule_message() {
    let out = homelab()
        .args(["policy", "test"])
        .arg(guide())
        .args(["--format", "json", "--detailed-results"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json array");
    assert!(rows.iter().all(|r| r.get("message").is_some()));
    // a failing rule reports why it failed
    assert!(rows
        .iter()
        .any(|r| r["actual"] == "fail" && !r["message"].as_str().unwrap_or_default().is_empty()));
    // without the flag the rows stay as they were
    let out = homelab()
        .args(["policy", "test"])
        .arg(guide())
        .args(["--format", "json"])
        .output()
        .expect("runs");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json array");
    assert!(rows.iter().all(|r| r.get("message").is_none()));
}
