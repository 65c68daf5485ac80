//! Every rule against its fixtures: `fixtures/<rule ID>/good` gives no finding of that rule,
//! `fixtures/<rule ID>/bad` gives exactly the findings pinned in the snapshot (rule,
//! file:line:column, message). `-` in an ID is `_` in the folder name, as in `src/rules`.
//! Those two hold a rendered platform to the guide's expectations ([`Settings::guide`]).
//! `fixtures/<rule ID>/repo-good` and `repo-bad`, where present, are other people's
//! repositories (no `platform.toml`): judged only by what they declare
//! ([`Settings::default`]), `repo-good` gives no finding and `repo-bad` the pinned ones.

use homelab_manifest::{load, LoadOptions};
use homelab_rules::{Repo, Rule, Settings};
use std::path::{Path, PathBuf};

fn run(rule: &'static dyn Rule, dir: &Path, settings: &Settings) -> Vec<String> {
    let loaded = load(&[dir.to_path_buf()], &LoadOptions::default());
    let errors: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == homelab_diagnostics::Severity::Error)
        .collect();
    assert!(
        errors.is_empty(),
        "fixture {} does not load: {errors:?}",
        dir.display()
    );
    let repo = Repo::new(&loaded.documents, &loaded.sources, Some(dir.to_path_buf()));
    homelab_rules::run(&[rule], &repo, settings)
        .into_iter()
        .map(|d| {
            let loc = d.location.map(|l| l.to_string()).unwrap_or_default();
            let loc = loc.replace('\\', "/");
            let loc = loc.split("fixtures/").last().unwrap_or(&loc).to_string();
            format!("{} {} {}", loc, d.rule, d.message)
        })
        .collect()
}

fn fixture(id: &str, which: &str) -> PathBuf {
    // Relative to the crate (the test's working directory), so positions are machine-independent.
    Path::new("tests/fixtures")
        .join(id.replace('-', "_"))
        .join(which)
}

#[test]
fn every_rule_has_fixtures_and_behaves() {
    for rule in homelab_rules::all() {
        let good = fixture(rule.id(), "good");
        let bad = fixture(rule.id(), "bad");
        assert!(
            good.is_dir() && bad.is_dir(),
            "rule {} has no fixtures in {}",
            rule.id(),
            good.display()
        );
        let clean = run(rule, &good, &Settings::guide());
        assert!(
            clean.is_empty(),
            "rule {} fires on its good fixture:\n{}",
            rule.id(),
            clean.join("\n")
        );
        let findings = run(rule, &bad, &Settings::guide());
        assert!(
            !findings.is_empty(),
            "rule {} finds nothing in its bad fixture",
            rule.id()
        );
        insta::assert_snapshot!(rule.id().replace(['/', '-'], "_"), findings.join("\n"));
        let repo_good = fixture(rule.id(), "repo-good");
        if repo_good.is_dir() {
            let clean = run(rule, &repo_good, &Settings::default());
            assert!(
                clean.is_empty(),
                "rule {} fires on {}:\n{}",
                rule.id(),
                repo_good.display(),
                clean.join("\n")
            );
        }
        let repo_bad = fixture(rule.id(), "repo-bad");
        if repo_bad.is_dir() {
            let findings = run(rule, &repo_bad, &Settings::default());
            assert!(
                !findings.is_empty(),
                "rule {} finds nothing in {}",
                rule.id(),
                repo_bad.display()
            );
            insta::assert_snapshot!(
                format!("{}_repo", rule.id().replace(['/', '-'], "_")),
                findings.join("\n")
            );
        }
    }
}
