//! `homelab plan`: waves -2..3 in order, placement, storage classes, per-node budgets.

use assert_cmd::Command;
use predicates::prelude::*;

fn homelab() -> Command {
    Command::cargo_bin("homelab").expect("binary")
}

#[test]
fn default_plan_shows_waves_in_order_and_node_budgets() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = homelab()
        .arg("plan")
        .current_dir(tmp.path())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).expect("utf8");
    let mut last = None;
    for w in [
        "wave -2", "wave -1", "wave  0", "wave  1", "wave  2", "wave  3",
    ] {
        let pos = text
            .find(w)
            .unwrap_or_else(|| panic!("{w} missing:\n{text}"));
        if let Some(prev) = last {
            assert!(pos > prev, "{w} out of order");
        }
        last = Some(pos);
    }
    for needle in [
        "longhorn-homelab (default): 2 replica(s)",
        "longhorn-gpu-local: 1 replica(s), strict-local",
        "Node budgets",
        "homelab",
        "akula-prime",
        "/28 (",
        "/120 GiB",
        "1/1",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    assert!(
        text.contains("ollama") && text.contains("on akula-prime"),
        "{text}"
    );
}

#[test]
fn json_plan_is_machine_readable() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = homelab()
        .args(["plan", "--format", "json"])
        .current_dir(tmp.path())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    let waves: Vec<i64> = v["waves"]
        .as_array()
        .expect("waves")
        .iter()
        .map(|w| w["wave"].as_i64().expect("wave"))
        .collect();
    assert_eq!(waves, vec![-2, -1, 0, 1, 2, 3]);
    assert_eq!(v["over_committed"], false);
    let budgets = v["budgets"].as_array().expect("budgets");
    assert_eq!(budgets.len(), 2);
    assert_eq!(budgets[0]["node"], "homelab");
    assert_eq!(budgets[0]["cpu_capacity_m"], 28000);
    assert_eq!(budgets[1]["gpu_requested"], 1);
}

#[test]
fn dot_and_mermaid_chain_the_waves() {
    let tmp = tempfile::tempdir().expect("tempdir");
    homelab()
        .args(["plan", "--format", "dot"])
        .current_dir(tmp.path())
        .assert()
        .success()
        .stdout(predicate::str::starts_with("digraph rollout"))
        .stdout(predicate::str::contains("wave_m2 -> wave_m1"));
    homelab()
        .args(["plan", "--format", "mermaid"])
        .current_dir(tmp.path())
        .assert()
        .success()
        .stdout(predicate::str::starts_with("flowchart LR"))
        .stdout(predicate::str::contains("wave_2 --> wave_3"));
}

#[test]
fn over_commitment_is_an_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let text = homelab_platform::DEFAULT_CONFIG.replacen("memory_gb = 64", "memory_gb = 4", 1);
    std::fs::write(tmp.path().join("platform.toml"), text).expect("write");
    homelab()
        .arg("plan")
        .arg(tmp.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("OVER-COMMITTED"))
        .stdout(predicate::str::contains("akula-prime"));
}
