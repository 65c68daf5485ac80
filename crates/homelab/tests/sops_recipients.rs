//! The age recipients of the rendered `.sops.yaml` come from platform.toml's `[sops]`; while
//! none is set, the placeholder is a note of `homelab check` and a line of `homelab init`.

use assert_cmd::Command;
use serde_json::Value;
use std::fs;
use std::path::Path;

/// An age public key (`age-keygen -y`); its private half is not needed here.
const RECIPIENT: &str = "age1l3nzv85220ygnk4xx3ekk39aytssuyrxtr95wsalykrysxkcf45qfkf5g2";
const NOTE: &str = "sops/placeholder-recipient";

fn homelab() -> Command {
    Command::cargo_bin("homelab").expect("binary")
}

fn notes(repo: &Path) -> Vec<Value> {
    let out = homelab()
        .arg("check")
        .arg(repo)
        .args([
            "--ignore",
            "secrets/unsealed-placeholder",
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["rule"] == NOTE)
        .cloned()
        .collect()
}

#[test]
fn the_placeholder_recipient_is_noted_until_platform_toml_names_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    let init = homelab().arg("init").arg(&repo).output().expect("init");
    let stdout = String::from_utf8_lossy(&init.stdout);
    assert!(
        stdout.contains("SOPS: ") && stdout.contains("age_recipients"),
        "{stdout}"
    );

    let found = notes(&repo);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["severity"], "note");
    assert!(found[0]["location"]["file"]
        .as_str()
        .is_some_and(|f| f.ends_with(".sops.yaml")));

    let toml = repo.join("platform.toml");
    let text = fs::read_to_string(&toml).expect("platform.toml");
    assert!(text.contains("age_recipients = []"));
    fs::write(
        &toml,
        text.replace(
            "age_recipients = []",
            &format!("age_recipients = [\"{RECIPIENT}\"]"),
        ),
    )
    .expect("write");
    homelab().arg("render").arg(&repo).assert().success();
    let sops = fs::read_to_string(repo.join(".sops.yaml")).expect(".sops.yaml");
    assert_eq!(
        sops.matches(&format!("age: {RECIPIENT}")).count(),
        2,
        "{sops}"
    );
    assert!(notes(&repo).is_empty());
}

#[test]
fn a_recipient_that_is_not_an_age_key_is_refused_where_it_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    homelab().arg("init").arg(&repo).assert().success();
    let toml = repo.join("platform.toml");
    let text = fs::read_to_string(&toml).expect("platform.toml");
    fs::write(
        &toml,
        text.replace("age_recipients = []", "age_recipients = [\"age1notakey\"]"),
    )
    .expect("write");
    let line = text
        .lines()
        .position(|l| l.starts_with("age_recipients"))
        .expect("line")
        + 1;
    let out = homelab().arg("render").arg(&repo).output().expect("render");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("platform.toml:{line}:")) && stderr.contains("age1notakey"),
        "{stderr}"
    );
}
