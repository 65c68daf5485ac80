//! The embedded CRD catalog (generated from upstream CRDs, `cargo xtask crds`) against examples
//! modelled on each project's documentation (`tests/crd-examples/valid/`, every object must be
//! valid) and against broken variants (`tests/crd-examples/invalid/`, one object per file, whose
//! `# expect: <rule> <json-pointer>` header lines list exactly the errors it must produce).
//! Every upstream source of the catalog (an ecosystem group: Flux's controllers, cert-manager,
//! Gateway API, ...) has at least one of each.
//!
//! The guide's own manifests (`valid/guide-*.yaml`) are among the valid examples.

use homelab_diagnostics::Severity;
use homelab_manifest::Document;
use homelab_schema::{Checked, Validator, ValidatorOptions, Validity};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn validator() -> &'static Validator {
    static V: OnceLock<Validator> = OnceLock::new();
    V.get_or_init(|| Validator::new(ValidatorOptions::default()).expect("default validator"))
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Sorted `.yaml` files of a folder.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

fn fixtures(kind: &str) -> Vec<PathBuf> {
    yaml_files(&crate_dir().join("tests/crd-examples").join(kind))
}

fn load(path: &Path) -> (String, Vec<Document>) {
    let text = std::fs::read_to_string(path).expect("fixture readable");
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let (docs, diagnostics) = homelab_manifest::parse_str(&name, &text);
    let errors: Vec<_> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert!(errors.is_empty(), "{name} does not load: {errors:?}");
    assert!(!docs.is_empty(), "{name} has no documents");
    (text, docs)
}

fn check(doc: &Document) -> Checked {
    let api_version = doc.api_version().expect("apiVersion");
    let kind = doc.kind().expect("kind");
    validator().check_value(api_version, kind, &doc.value)
}

fn errors(checked: &Checked) -> BTreeSet<(String, String)> {
    checked
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| (f.rule.to_string(), f.pointer.clone()))
        .collect()
}

#[test]
fn every_valid_example_is_valid() {
    let mut checked = 0;
    for path in fixtures("valid") {
        let (_, docs) = load(&path);
        for doc in &docs {
            let result = check(doc);
            let errors: Vec<_> = result
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .map(|f| format!("{} {}: {}", f.rule, f.pointer, f.message))
                .collect();
            assert!(
                result.status == Validity::Valid && errors.is_empty(),
                "{} {}: expected valid, got {:?} {errors:#?}",
                path.display(),
                doc.id(),
                result.status
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} valid example objects");
}

#[test]
fn every_invalid_example_reports_exactly_the_expected_errors() {
    let files = fixtures("invalid");
    assert!(!files.is_empty());
    for path in files {
        let (text, docs) = load(&path);
        assert_eq!(
            docs.len(),
            1,
            "{}: one object per invalid example",
            path.display()
        );
        let expected: BTreeSet<(String, String)> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .map(|l| {
                let (rule, pointer) = l.trim().split_once(' ').expect("`# expect: rule pointer`");
                (rule.to_string(), pointer.to_string())
            })
            .collect();
        assert!(
            !expected.is_empty(),
            "{}: no `# expect:` lines",
            path.display()
        );
        let result = check(&docs[0]);
        assert_eq!(result.status, Validity::Invalid, "{}", path.display());
        assert_eq!(
            errors(&result),
            expected,
            "{}: {:#?}",
            path.display(),
            result.findings
        );
    }
}

/// An unknown field is placed on the line where the misspelt key is written.
#[test]
fn unknown_fields_point_at_their_line() {
    let mut seen = 0;
    for path in fixtures("invalid") {
        let (text, docs) = load(&path);
        let result = check(&docs[0]);
        for f in result
            .findings
            .iter()
            .filter(|f| f.rule == "schema/unknown-field")
        {
            let (parent, key) = f.pointer.rsplit_once('/').unwrap();
            // The first `key:` line at or after the parent object's own line.
            let from = docs[0].location(parent).line.max(1) as usize - 1;
            let expected_line = text
                .lines()
                .enumerate()
                .skip(from)
                .find(|(_, l)| {
                    !l.starts_with('#')
                        && l.trim_start()
                            .trim_start_matches("- ")
                            .starts_with(&format!("{key}:"))
                })
                .unwrap_or_else(|| panic!("{}: `{key}:` not in the text", path.display()))
                .0
                + 1;
            let at = docs[0].location(&f.pointer);
            assert_eq!(
                at.line as usize,
                expected_line,
                "{} {}",
                path.display(),
                f.pointer
            );
            seen += 1;
        }
    }
    assert!(seen >= 10, "only {seen} unknown-field findings checked");
}

/// One valid and one invalid example per upstream source of the catalog.
#[test]
fn every_catalog_source_has_valid_and_invalid_examples() {
    let catalog = homelab_schema::catalog::get().expect("catalog");
    let source_of = |api_version: &str, kind: &str| -> Option<String> {
        let group = api_version.split_once('/')?.0;
        catalog
            .entry(group, kind)
            .map(|e| e.source(catalog).name.clone())
    };
    let mut valid: BTreeMap<String, usize> = BTreeMap::new();
    let mut invalid: BTreeMap<String, usize> = BTreeMap::new();
    for (dir, counts) in [("valid", &mut valid), ("invalid", &mut invalid)] {
        for path in fixtures(dir) {
            for doc in load(&path).1 {
                if let Some(source) = source_of(doc.api_version().unwrap(), doc.kind().unwrap()) {
                    *counts.entry(source).or_default() += 1;
                }
            }
        }
    }
    let used: BTreeSet<&str> = catalog
        .entries
        .iter()
        .map(|e| e.source(catalog).name.as_str())
        .collect();
    assert!(used.len() >= 25, "{used:?}");
    for source in used {
        assert!(valid.contains_key(source), "no valid example for {source}");
        assert!(
            invalid.contains_key(source),
            "no invalid example for {source}"
        );
    }
}

#[test]
fn guide_manifests_are_valid() {
    let names = [
        "guide-gitlab-application.yaml",
        "guide-pod-security-baseline.yaml",
        "guide-system-namespace-exception.yaml",
    ];
    for name in names {
        let (_, docs) = load(&crate_dir().join("tests/crd-examples/valid").join(name));
        for doc in &docs {
            let result = check(doc);
            assert_eq!(
                result.status,
                Validity::Valid,
                "{name}: {:#?}",
                result.findings
            );
        }
    }
}

/// Over-strictness guard: the Kyverno policy library (when `../shared` is present) must pass the
/// hand-encoded ClusterPolicy/Policy schemas, apart from policies that break the upstream CRD.
#[test]
fn kyverno_policy_library_passes() {
    let root = crate_dir().join("../../../shared/corpus/kyverno-policies");
    if !root.is_dir() {
        eprintln!("skipped: {} is absent", root.display());
        return;
    }
    let mut stack = vec![root];
    let (mut valid, mut invalid) = (0usize, Vec::new());
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable corpus").flatten() {
            let path = entry.path();
            if path.is_dir() {
                // `.chainsaw-test/` and `.kyverno-test/` hold partial objects used as test
                // assertions (e.g. only `status`), not policies.
                if !entry.file_name().to_string_lossy().starts_with('.') {
                    stack.push(path);
                }
                continue;
            }
            if !path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            if !text.contains("kind: ClusterPolicy") && !text.contains("kind: Policy") {
                continue;
            }
            let (docs, _) = homelab_manifest::parse_str(&path.to_string_lossy(), &text);
            for doc in &docs {
                let (Some(api), Some(kind)) = (doc.api_version(), doc.kind()) else {
                    continue;
                };
                if !matches!(api, "kyverno.io/v1" | "kyverno.io/v2beta1")
                    || !matches!(kind, "ClusterPolicy" | "Policy")
                {
                    continue;
                }
                let result = check(doc);
                if result.status == Validity::Valid {
                    valid += 1;
                } else {
                    invalid.push(format!("{} {:?}", path.display(), errors(&result)));
                }
            }
        }
    }
    eprintln!(
        "kyverno policy library: {valid} valid, {} invalid",
        invalid.len()
    );
    for line in &invalid {
        eprintln!("  {line}");
    }
    assert!(valid >= 300, "only {valid} valid policies");
    assert!(
        invalid.len() * 100 <= valid,
        "more than 1% invalid: {invalid:#?}"
    );
}
