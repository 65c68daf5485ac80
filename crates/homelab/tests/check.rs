//! `homelab check` options on broken copies of the rendered repository: inline suppressions,
//! `--select`/`--ignore` and `.homelab.toml`, every `--format` written with `--output`, stdin,
//! and no secret value in any output format.

mod check_common;

use check_common::{homelab, Copy};

const STORAGECLASSES: &str = "infrastructure/longhorn/storage/storageclasses.yaml";
const OLLAMA: &str = "apps/ai-services/ollama/ollama.yaml";
const ARC_VALUES: &str = "apps/arc/controller-values.yaml";

/// A GitHub personal access token shape (`ghp_` + 36 alphanumerics); not a real token.
const PLANTED_TOKEN: &str = "ghp_Zq8vR2mT4kL9xW3nB7cY1pH6sD0fJ5gA2eUo";

/// The default StorageClass on btrfs (an error) and the Ollama Service as a LoadBalancer
/// (a warning): two faults of two rule families.
fn two_faults() -> Copy {
    let repo = Copy::new();
    let text = repo.read(STORAGECLASSES);
    repo.write(
        STORAGECLASSES,
        &text.replacen("fsType: \"ext4\"", "fsType: \"btrfs\"", 1),
    );
    let text = repo.read(OLLAMA);
    let service = text.find("kind: Service\n").expect("service");
    repo.write(
        OLLAMA,
        &format!(
            "{}{}",
            &text[..service],
            text[service..].replacen("type: ClusterIP", "type: LoadBalancer", 1)
        ),
    );
    repo
}

fn rules(out: &check_common::Output) -> Vec<String> {
    let mut r: Vec<String> = out.findings.iter().map(|f| f.rule.clone()).collect();
    r.dedup();
    r.sort();
    r.dedup();
    r
}

#[test]
fn inline_suppression_silences_the_line_and_is_listed() {
    let repo = Copy::new();
    let text = repo.read(STORAGECLASSES);
    repo.write(
        STORAGECLASSES,
        &text.replacen(
            "fsType: \"ext4\"",
            "fsType: \"btrfs\"  # homelab: ignore[storage/longhorn-btrfs] lab node, data is disposable",
            1,
        ),
    );
    let out = repo.check(&[]);
    assert!(out.findings.is_empty(), "{}", out.describe());
    assert_eq!(out.code, 0);
    let line = repo.line_of(STORAGECLASSES, "fsType: \"btrfs\"", None);
    let suppressed = out.suppressed();
    assert_eq!(suppressed.len(), 1, "{suppressed:?}");
    let (rule, file, at, reason) = &suppressed[0];
    assert_eq!(rule, "storage/longhorn-btrfs");
    assert!(file.ends_with(STORAGECLASSES), "{file}");
    assert_eq!(*at, line);
    assert_eq!(reason, "lab node, data is disposable");
    assert_eq!(out.json["summary"]["suppressed"], 1);
}

#[test]
fn suppression_on_the_line_above_and_by_prefix() {
    let repo = Copy::new();
    let text = repo.read(STORAGECLASSES);
    repo.write(
        STORAGECLASSES,
        &text.replacen(
            "  fsType: \"ext4\"",
            "  # homelab: ignore[storage] evaluating btrfs for a week\n  fsType: \"btrfs\"",
            1,
        ),
    );
    let out = repo.check(&[]);
    assert!(out.findings.is_empty(), "{}", out.describe());
    assert_eq!(out.suppressed().len(), 1);
}

#[test]
fn suppression_without_reason_is_not_applied() {
    let repo = Copy::new();
    let text = repo.read(STORAGECLASSES);
    repo.write(
        STORAGECLASSES,
        &text.replacen(
            "fsType: \"ext4\"",
            "fsType: \"btrfs\"  # homelab: ignore[storage/longhorn-btrfs]",
            1,
        ),
    );
    let out = repo.check(&[]);
    let line = repo.line_of(STORAGECLASSES, "fsType: \"btrfs\"", None);
    assert_eq!(
        rules(&out),
        ["check/suppression-without-reason", "storage/longhorn-btrfs"],
        "{}",
        out.describe()
    );
    assert!(out.findings.iter().all(|f| f.line == line));
    assert!(out.suppressed().is_empty());
}

#[test]
fn a_suppression_of_another_rule_does_not_silence() {
    let repo = Copy::new();
    let text = repo.read(STORAGECLASSES);
    repo.write(
        STORAGECLASSES,
        &text.replacen(
            "fsType: \"ext4\"",
            "fsType: \"btrfs\"  # homelab: ignore[image/latest-tag] wrong rule",
            1,
        ),
    );
    let out = repo.check(&[]);
    assert_eq!(
        rules(&out),
        ["storage/longhorn-btrfs"],
        "{}",
        out.describe()
    );
}

#[test]
fn select_and_ignore_filter_rules() {
    let repo = two_faults();
    let all = repo.check(&[]);
    assert_eq!(
        rules(&all),
        ["network/exposed-service", "storage/longhorn-btrfs"],
        "{}",
        all.describe()
    );
    let out = repo.check(&["--select", "storage"]);
    assert_eq!(
        rules(&out),
        ["storage/longhorn-btrfs"],
        "{}",
        out.describe()
    );
    let out = repo.check(&["--select", "network/exposed-service"]);
    assert_eq!(
        rules(&out),
        ["network/exposed-service"],
        "{}",
        out.describe()
    );
    let out = repo.check(&["--ignore", "storage/longhorn-btrfs"]);
    assert_eq!(
        rules(&out),
        ["network/exposed-service"],
        "{}",
        out.describe()
    );
    let out = repo.check(&["--ignore", "network,storage"]);
    assert!(out.findings.is_empty(), "{}", out.describe());
    assert_eq!(out.code, 0);
    let out = repo.check(&["--select", "storage", "--ignore", "storage/longhorn-btrfs"]);
    assert!(out.findings.is_empty(), "{}", out.describe());
}

#[test]
fn homelab_toml_ignores_rules() {
    let repo = two_faults();
    repo.write(
        ".homelab.toml",
        "[check]\nignore = [\"network/exposed-service\"]\n",
    );
    let out = repo.check(&[]);
    assert_eq!(
        rules(&out),
        ["storage/longhorn-btrfs"],
        "{}",
        out.describe()
    );
}

#[test]
fn every_format_is_written_to_its_output_file() {
    let repo = two_faults();
    let out_dir = tempfile::tempdir().expect("tempdir");
    let btrfs_line = repo.line_of(STORAGECLASSES, "fsType: \"btrfs\"", None);
    for format in ["text", "json", "sarif", "junit", "html"] {
        let file = out_dir.path().join(format!("report.{format}"));
        let run = homelab()
            .arg("check")
            .arg(&repo.root)
            .args(["--format", format, "--output"])
            .arg(&file)
            .output()
            .expect("run");
        assert_eq!(run.status.code(), Some(1), "{format}: findings exit 1");
        assert!(
            run.stdout.is_empty(),
            "{format}: report goes to the file only"
        );
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            stderr.contains("1 error"),
            "{format}: summary on stderr: {stderr}"
        );
        let text = std::fs::read_to_string(&file).expect("report written");
        assert!(
            text.contains("storage/longhorn-btrfs") && text.contains("network/exposed-service"),
            "{format} report lacks a rule"
        );
        match format {
            "json" => {
                let v: serde_json::Value = serde_json::from_str(&text).expect("json");
                assert_eq!(v["summary"]["errors"], 1);
                assert_eq!(v["summary"]["warnings"], 1);
            }
            "sarif" => {
                let v: serde_json::Value = serde_json::from_str(&text).expect("sarif is json");
                assert_eq!(v["version"], "2.1.0");
                let run = &v["runs"][0];
                let rule_ids: Vec<&str> = run["tool"]["driver"]["rules"]
                    .as_array()
                    .expect("rule metadata")
                    .iter()
                    .filter_map(|r| r["id"].as_str())
                    .collect();
                assert!(rule_ids.contains(&"storage/longhorn-btrfs"));
                let result = run["results"]
                    .as_array()
                    .expect("results")
                    .iter()
                    .find(|r| r["ruleId"] == "storage/longhorn-btrfs")
                    .expect("btrfs result");
                let loc = &result["locations"][0]["physicalLocation"];
                assert!(loc["artifactLocation"]["uri"]
                    .as_str()
                    .is_some_and(|u| u.ends_with(STORAGECLASSES)));
                assert_eq!(loc["region"]["startLine"], btrfs_line);
            }
            "junit" => {
                assert!(text.starts_with("<?xml"), "junit: XML declaration");
                assert!(text.contains("<testsuites") && text.contains("</testsuites>"));
                assert!(text.contains("<failure"), "junit: the error is a failure");
            }
            "html" => {
                assert!(text.contains("<html") && text.contains("</html>"));
                // Self-contained: nothing loaded from the network.
                for remote in ["src=\"http", "href=\"http", "url(http", "@import"] {
                    assert!(!text.contains(remote), "html loads {remote}");
                }
            }
            _ => {
                assert!(text.contains(&format!("{STORAGECLASSES}:{btrfs_line}")));
            }
        }
    }
}

#[test]
fn secret_values_never_appear_in_any_format() {
    let repo = Copy::new();
    let mut text = repo.read(ARC_VALUES);
    text.push_str(&format!("githubToken: {PLANTED_TOKEN}\n"));
    repo.write(ARC_VALUES, &text);
    // A plain Secret with a password too.
    let password = "Tr0ub4dor-and-3-horses-Qx7";
    repo.write(
        "apps/ai-services/searxng/leak.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: leak\n  namespace: ai-services\nstringData:\n  password: {password}\n"
        ),
    );
    for format in ["text", "json", "sarif", "junit", "html"] {
        let run = homelab()
            .arg("check")
            .arg(&repo.root)
            .args(["--format", format, "--no-color"])
            .output()
            .expect("run");
        assert_eq!(run.status.code(), Some(1), "{format}");
        let stdout = String::from_utf8_lossy(&run.stdout);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            stdout.contains("secrets/leaked-credential"),
            "{format}: the token is reported"
        );
        for shown in [&stdout, &stderr] {
            for secret in [
                PLANTED_TOKEN,
                &PLANTED_TOKEN[4..],
                &PLANTED_TOKEN[10..30],
                password,
            ] {
                assert!(
                    !shown.contains(secret),
                    "{format} output shows a secret value"
                );
            }
        }
    }
}

#[test]
fn stdin_is_checked_with_dash() {
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: default\nspec:\n  containers:\n    - name: c\n      image: nginx:latest\n      resources:\n        requests: {cpu: 10m, memory: 16Mi}\n        limits: {cpu: 100m, memory: 64Mi}\n";
    let run = homelab()
        .args(["check", "-", "--format", "json", "--select", "image"])
        .write_stdin(manifest)
        .output()
        .expect("run");
    assert_eq!(run.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json");
    let d = v["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .find(|d| d["rule"] == "image/latest-tag")
        .expect("latest tag found");
    assert_eq!(d["location"]["file"], "-");
    assert_eq!(d["location"]["line"], 9);
}

#[test]
fn a_missing_path_is_named_and_fails() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let run = homelab()
        .arg("check")
        .arg(tmp.path().join("nope"))
        .output()
        .expect("run");
    let code = run.status.code();
    assert!(
        code == Some(2) || code == Some(1),
        "a missing path must not pass: {code:?}"
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(all.contains("nope"), "the message names the path: {all}");
}

#[test]
fn without_a_path_the_current_directory_is_checked() {
    let repo = two_faults();
    let run = homelab()
        .current_dir(&repo.root)
        .args(["check", "--format", "json"])
        .output()
        .expect("run");
    assert_eq!(run.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json");
    let btrfs = v["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .find(|d| d["rule"] == "storage/longhorn-btrfs")
        .expect("btrfs finding");
    let file = btrfs["location"]["file"].as_str().expect("file");
    // Relative to the current directory (platform.toml there is read too: the LAN, classes).
    assert_eq!(file.trim_start_matches("./"), STORAGECLASSES);
    assert_eq!(
        btrfs["location"]["line"],
        repo.line_of(STORAGECLASSES, "fsType: \"btrfs\"", None)
    );
}
