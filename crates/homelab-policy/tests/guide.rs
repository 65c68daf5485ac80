//! The guide's `pod-security-baseline` ClusterPolicy and `system-namespace-exception`
//! PolicyException (fixtures written from the guide) give Kyverno's results.

use homelab_policy::context::EvalContext;
use homelab_policy::engine::{self, Request};
use homelab_policy::response::Status;
use homelab_policy::values_file::ValuesFile;
use serde_json::Value;
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<Value> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/guide")
        .join(name);
    let text = std::fs::read_to_string(&p).expect("fixture");
    homelab_policy::yaml::parse_all(name, &text).expect("yaml")
}

fn results(resource_name: &str) -> Vec<(String, Status)> {
    let policy = fixture("policy.yaml").remove(0);
    let exceptions = fixture("exception.yaml");
    let resource = fixture("resources.yaml")
        .into_iter()
        .find(|r| r["metadata"]["name"] == resource_name)
        .expect("resource");
    let ctx = EvalContext::default();
    let values = ValuesFile::default();
    let req = Request {
        ctx: &ctx,
        exceptions: &exceptions,
        values: &values,
    };
    let resp = engine::evaluate(&policy, &resource, &req).expect("response");
    resp.rules.into_iter().map(|r| (r.rule, r.status)).collect()
}

fn status(rs: &[(String, Status)], rule: &str) -> Status {
    rs.iter()
        .find(|(r, _)| r == rule)
        .map(|(_, s)| *s)
        .unwrap_or_else(|| panic!("no result for {rule}: {rs:?}"))
}

#[test]
fn compliant_deployment_passes_via_autogen() {
    let rs = results("compliant-web");
    assert_eq!(rs.len(), 3, "{rs:?}");
    for r in [
        "autogen-require-run-as-non-root",
        "autogen-disallow-privileged",
        "autogen-disallow-latest-tag",
    ] {
        assert_eq!(status(&rs, r), Status::Pass);
    }
}

#[test]
fn root_container_fails_non_root_rule() {
    let rs = results("root-pod");
    assert_eq!(status(&rs, "require-run-as-non-root"), Status::Fail);
    assert_eq!(status(&rs, "disallow-privileged"), Status::Pass);
    assert_eq!(status(&rs, "disallow-latest-tag"), Status::Pass);
}

#[test]
fn privileged_container_fails() {
    let rs = results("privileged-pod");
    assert_eq!(status(&rs, "disallow-privileged"), Status::Fail);
    assert_eq!(status(&rs, "require-run-as-non-root"), Status::Pass);
}

#[test]
fn latest_image_fails() {
    let rs = results("latest-pod");
    assert_eq!(status(&rs, "disallow-latest-tag"), Status::Fail);
    assert_eq!(status(&rs, "disallow-privileged"), Status::Pass);
}

#[test]
fn kube_system_pod_is_excepted() {
    let rs = results("system-pod");
    assert_eq!(status(&rs, "disallow-privileged"), Status::Skip);
    assert_eq!(status(&rs, "require-run-as-non-root"), Status::Skip);
    // the exception does not name the latest-tag rule: it is still checked (and passes)
    assert_eq!(status(&rs, "disallow-latest-tag"), Status::Pass);
}

#[test]
fn test_file_runner_agrees() {
    let p =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/guide/kyverno-test.yaml");
    let rows = homelab_policy::testrunner::run_file(&p).expect("runs");
    assert_eq!(rows.len(), 15, "{rows:?}");
    let bad: Vec<_> = rows.iter().filter(|r| !r.ok).collect();
    assert!(bad.is_empty(), "{bad:?}");
}
