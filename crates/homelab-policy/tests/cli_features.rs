//! `kyverno test` features, one folder of our own per feature under
//! `tests/fixtures/cli/` (policy kinds, mocks, bindings, mutate-existing, generate,
//! checks, subresources, operations, authorization payloads).
//!
//! Every folder must pass as written; and with every expected result changed, every
//! row that carries a result must fail, so that no folder passes whatever the engine
//! computes.

use homelab_policy::testrunner::{run_file, Row};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cli")
}

fn folders() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("fixtures")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("kyverno-test.yaml").is_file())
        .collect();
    out.sort();
    out
}

fn rows(dir: &Path) -> Vec<Row> {
    run_file(&dir.join("kyverno-test.yaml")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

/// The test file with every `result:` changed to another status.
fn flipped(text: &str) -> String {
    text.lines()
        .map(|l| {
            let t = l.trim_start();
            match t.strip_prefix("result: ") {
                Some(r) => {
                    let other = if r.trim() == "pass" { "fail" } else { "pass" };
                    format!("{}result: {other}", &l[..l.len() - t.len()])
                }
                None => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_feature_folder_passes() {
    let all = folders();
    assert!(all.len() >= 20, "{} folders", all.len());
    for dir in all {
        let rows = rows(&dir);
        assert!(!rows.is_empty(), "{}: no rows", dir.display());
        let failed: Vec<&Row> = rows.iter().filter(|r| !r.ok).collect();
        assert!(failed.is_empty(), "{}: {failed:#?}", dir.display());
    }
}

#[test]
fn every_feature_folder_fails_with_wrong_expectations() {
    for dir in folders() {
        let tmp = tempfile::tempdir().expect("tmp");
        let copy = tmp.path().join("case");
        copy_dir(&dir, &copy);
        let file = copy.join("kyverno-test.yaml");
        let text = std::fs::read_to_string(&file).expect("read");
        if !text.contains("result:") {
            continue;
        }
        std::fs::write(&file, flipped(&text)).expect("write");
        let rows = rows(&copy);
        // rows without a result (a policy that excluded the resource) pass whatever
        // the expectation; every other row must now fail
        let wrongly_ok: Vec<&Row> = rows.iter().filter(|r| r.actual.is_some() && r.ok).collect();
        assert!(wrongly_ok.is_empty(), "{}: {wrongly_ok:#?}", dir.display());
        assert!(rows.iter().any(|r| !r.ok), "{}", dir.display());
    }
}

fn find<'a>(rows: &'a [Row], policy: &str, resource_suffix: &str) -> Vec<&'a Row> {
    rows.iter()
        .filter(|r| r.policy.ends_with(policy) && r.resource.ends_with(resource_suffix))
        .collect()
}

#[test]
fn variables_are_evaluated_only_when_read() {
    let rows = rows(&fixtures().join("vpol-lazy-variables"));
    // `variables.owner` fails for a pod without annotations, but `labelled || owner`
    // never reads it for a labelled pod
    let labelled = find(&rows, "require-team-or-owner", "/labelled");
    assert_eq!(labelled[0].actual.as_deref(), Some("pass"));
    // ... and reports the variable's own error when it is read
    let bare = find(&rows, "require-team-or-owner", "/bare");
    assert!(bare[0].message.contains("variable 'owner'"), "{bare:?}");
}

#[test]
fn lookups_read_mocks_never_the_network() {
    let rows = rows(&fixtures().join("vpol-cluster-resources"));
    let orphan = find(&rows, "team-replica-budget", "/orphan");
    assert!(
        orphan[0]
            .message
            .contains("teams.example.com \"red\" not found"),
        "{orphan:?}"
    );
    let rows = rows_of("vpol-http-globalcontext");
    assert!(rows.iter().all(|r| r.ok));
}

fn rows_of(name: &str) -> Vec<Row> {
    rows(&fixtures().join(name))
}

#[test]
fn generated_resources_are_compared_one_by_one() {
    let rows = rows_of("cpol-generate");
    // cloneList makes one resource per matching source (two of three), each a row
    assert_eq!(
        rows.iter().filter(|r| r.rule == "copy-shared").count(),
        2,
        "{rows:#?}"
    );
    let rows = rows_of("gpol-generate");
    assert_eq!(rows.len(), 3, "{rows:#?}");
}

#[test]
fn checks_blocks_assert_on_rule_results() {
    let rows = rows_of("checks-assertions");
    // the `assert` and `error` trees of the first check, the `assert` of the second
    assert_eq!(rows.len(), 3, "{rows:#?}");
    assert!(rows.iter().all(|r| r.ok));
}
