//! The check pipeline's own behaviour: secrets in non-YAML files, configuration files,
//! suppressions that need a reason, notes hidden on the terminal, exit codes.

use assert_cmd::Command;
use std::fs;
use std::path::Path;

fn homelab() -> Command {
    Command::cargo_bin("homelab").expect("binary built")
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn json(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let out = homelab()
        .arg("check")
        .arg(dir)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn rules(report: &serde_json::Value) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] != "note")
        .map(|d| d["rule"].as_str().unwrap().to_string())
        .collect()
}

const TOKEN: &str = "ghp_Zq8vN2xLp4Rt7WmK9sYbAbCdEfGhIjKlMnOp";

#[test]
fn a_token_in_a_shell_script_is_found_and_never_printed() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "scripts/register.sh",
        &format!("#!/bin/sh\nexport GITHUB_TOKEN={TOKEN}\n"),
    );
    let report = json(tmp.path(), &[]);
    assert_eq!(rules(&report), vec!["secrets/leaked-credential"]);
    let d = &report["diagnostics"][0];
    assert_eq!(d["location"]["line"], 2);
    assert!(d["location"]["file"]
        .as_str()
        .unwrap()
        .ends_with("scripts/register.sh"));
    for format in ["text", "json", "sarif", "junit", "html"] {
        let out = homelab()
            .arg("check")
            .arg(tmp.path())
            .args(["--format", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains(TOKEN),
            "{format} printed the token"
        );
    }
}

#[test]
fn suppression_needs_a_reason_and_is_listed() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "a.sh",
        &format!(
            "# homelab: ignore[secrets/leaked-credential] test fixture key, revoked\nT={TOKEN}\n"
        ),
    );
    write(
        tmp.path(),
        "b.sh",
        &format!("T={TOKEN} # homelab: ignore[secrets]\n"),
    );
    let report = json(tmp.path(), &[]);
    let mut got = rules(&report);
    got.sort();
    assert_eq!(
        got,
        vec![
            "check/suppression-without-reason",
            "secrets/leaked-credential"
        ]
    );
    let suppressed = report["suppressed"].as_array().unwrap();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["reason"], "test fixture key, revoked");
}

#[test]
fn homelab_toml_ignores_rules_and_cli_selects() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: default\nspec:\n  containers:\n    - name: c\n      image: nginx:latest\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: default\nstringData:\n  password: hunter2hunter2\n",
    );
    let all = rules(&json(tmp.path(), &[]));
    assert!(all.contains(&"image/latest-tag".to_string()), "{all:?}");
    assert!(all.contains(&"secrets/plain-secret".to_string()), "{all:?}");
    // Not rendered from platform.toml: the guide's posture (resources everywhere) is not
    // required of a repository whose containers set none.
    assert!(!all.contains(&"resources/missing".to_string()), "{all:?}");
    let selected = rules(&json(tmp.path(), &["--select", "image"]));
    assert_eq!(selected, vec!["image/latest-tag"]);
    write(
        tmp.path(),
        ".homelab.toml",
        "[check]\nignore = [\"image/latest-tag\"]\n",
    );
    let configured = rules(&json(tmp.path(), &[]));
    assert!(
        !configured.contains(&"image/latest-tag".to_string()),
        "{configured:?}"
    );
    assert!(configured.contains(&"secrets/plain-secret".to_string()));
    write(
        tmp.path(),
        ".homelab.toml",
        "[check]\nexpectations = \"guide\"\n",
    );
    let guide = rules(&json(tmp.path(), &[]));
    assert!(
        guide.contains(&"resources/missing".to_string()),
        "{guide:?}"
    );
    write(
        tmp.path(),
        ".homelab.toml",
        "[check]\nexpectations = \"strict\"\n",
    );
    let out = homelab().arg("check").arg(tmp.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expectations"));
}

#[test]
fn clean_input_exits_zero_and_hides_notes_on_text() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "values.yaml", "replicaCount: 1\n");
    let out = homelab().arg("check").arg(tmp.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("not-kubernetes"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("notes hidden"));
    let verbose = homelab()
        .args(["-v", "check"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&verbose.stdout).contains("load/not-kubernetes"));
}

#[test]
fn a_bad_platform_toml_is_a_usage_error_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "platform.toml", "[cluster]\nnmae = \"x\"\n");
    let out = homelab().arg("check").arg(tmp.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("platform.toml:2"), "{stderr}");
}

#[test]
fn rules_lists_and_explains_platform_and_stage_rules() {
    let out = homelab().arg("rules").output().unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.contains("image/latest-tag") && list.contains("schema/removed-api"),
        "{list}"
    );
    let doc = homelab()
        .args(["rules", "--explain", "network/dns-egress"])
        .output()
        .unwrap();
    let doc = String::from_utf8_lossy(&doc.stdout);
    for section in ["## What it checks", "## Why", "## Example", "## Fix"] {
        assert!(doc.contains(section), "{doc}");
    }
    let family = homelab()
        .args(["rules", "--explain", "schema/type"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&family.stdout).contains("strict schema validation"));
    homelab()
        .args(["rules", "--explain", "no/such-rule"])
        .assert()
        .code(2);
    let json = homelab()
        .args(["rules", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(v.as_array().unwrap().len() >= 22 + 7);
}
