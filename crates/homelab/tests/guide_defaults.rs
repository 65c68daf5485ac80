//! One definition of the guide's defaults: "critical policies" (and the other shared facts)
//! mean the same in `check` and in `verify`, and `check` holds every one of them to Enforce.

use assert_cmd::Command;
use homelab_k8s::guide;
use serde_json::Value;
use std::fs;

#[test]
fn check_and_verify_share_the_guide_facts() {
    let settings = homelab_rules::Settings::guide();
    let expectations = homelab_verify::Expectations::default();
    assert_eq!(settings.critical_policies, expectations.critical_policies);
    assert_eq!(
        expectations.critical_policies,
        guide::CRITICAL_POLICIES.map(String::from)
    );
    for ns in &expectations.pss_exempt {
        assert!(settings.privileged_namespaces.contains(ns), "{ns}");
    }
    assert_eq!(
        settings.storage_nodes,
        Some(expectations.default_replicas as usize)
    );
    assert!(expectations
        .gpu_class
        .as_ref()
        .is_some_and(|c| settings.local_storage_classes.contains(c)));
}

/// Each critical policy of the rendered repository switched to Audit is a `check` finding
/// (before, only pod-security-baseline counted for check while verify wanted all three).
#[test]
fn check_reports_every_critical_policy_left_in_audit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("repo");
    Command::cargo_bin("homelab")
        .expect("binary")
        .arg("init")
        .arg(&repo)
        .assert()
        .success();
    for policy in guide::CRITICAL_POLICIES {
        let path = repo.join(format!("policies/kyverno/security/{policy}.yaml"));
        let text = fs::read_to_string(&path).expect("policy file");
        assert!(
            text.contains("validationFailureAction: Enforce"),
            "{policy}"
        );
        fs::write(
            &path,
            text.replace(
                "validationFailureAction: Enforce",
                "validationFailureAction: Audit",
            ),
        )
        .expect("write");
    }
    let out = Command::cargo_bin("homelab")
        .expect("binary")
        .arg("check")
        .arg(&repo)
        .args([
            "--ignore",
            "secrets/unsealed-placeholder",
            "--format",
            "json",
        ])
        .output()
        .expect("check");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    let mut flagged: Vec<String> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["rule"] == "kyverno/critical-audit")
        .filter_map(|d| d["location"]["file"].as_str())
        .map(|f| {
            f.rsplit('/')
                .next()
                .unwrap_or(f)
                .trim_end_matches(".yaml")
                .to_owned()
        })
        .collect();
    flagged.sort();
    flagged.dedup();
    let mut critical = guide::CRITICAL_POLICIES.map(String::from).to_vec();
    critical.sort();
    assert_eq!(
        flagged,
        critical,
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
