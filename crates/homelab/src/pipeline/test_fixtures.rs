//! Policy test inputs: resources a policy test suite feeds to its engine, often the "bad"
//! cases meant to fail. Nothing deploys them, so checking them would only drown the real
//! findings. They are left out of the check with one note per folder or suite, and `homelab
//! policy test` (or the suite's own tool) is what runs them.
//!
//! Three ways a file is known to be a test input:
//! - it sits in a test folder by convention: `.kyverno-test`, `.chainsaw-test`,
//!   `.chainsaw-test-<variant>`, `.chainsaw/` (and chainsaw's `.chainsaw.yaml`), or a
//!   `testdata` folder (Go's convention, which its tool never builds: the inputs of a
//!   program's tests, such as manifests a linter must reject);
//! - it is a semgrep rule test target: `semgrep --test` reads the `# ruleid: <rule>` comment
//!   above each object the rule must flag (and `# ok: <rule>` above those it must not);
//! - a test suite in the repository names it as an input: a Kyverno CLI test's `resources`,
//!   or a Gatekeeper `gator verify` Suite's `cases[].object` and `cases[].inventory`. A
//!   suite's policies (`policies`, `template`, `constraint`) are not inputs: they are what a
//!   cluster runs, and stay checked.
//!
//! The tests of a project's own code are left out the same way: a Maven/Gradle `src/test`
//! folder (test code and its resources, valid and invalid inputs alike). So are the Go
//! modules vendored into the repository (`vendor/` beside its `modules.txt`): another
//! project's files, published with it, never deployed from here.
//!
//! A file a kustomization includes is deployed, so it stays checked even when a suite also
//! reads it or it lies in a `testdata` folder (a kustomization inside a test folder deploys
//! nothing). Names in a suite are only matched against files already loaded (lexically, no
//! file is opened), so a suite naming `../../etc/passwd` touches nothing.

use homelab_diagnostics::{Diagnostic, Location};
use homelab_manifest::engines::{file_of, normalise};
use homelab_manifest::kustomizations::{included, is_kustomization_file, is_remote};
use homelab_manifest::{Document, Loaded, Source};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Leaves out the test inputs of `loaded` and returns one note per fixture folder and per
/// suite whose inputs were left out.
pub fn drop(loaded: &mut Loaded) -> Vec<Diagnostic> {
    let deployed = deployed(&loaded.documents);
    let named = named_by_suites(&loaded.documents, &deployed);
    let vendored = vendored_modules(&loaded.sources);
    let input_of = |source: &Source| -> Option<String> {
        let name = source.name.as_str();
        let path = normalise(source.path.as_deref().unwrap_or(Path::new(name)));
        if let Some(dir) = fixture_dir(name) {
            let kept = is_test_data(&dir) && path.as_ref().is_some_and(|p| deployed.contains(p));
            return (!kept).then_some(dir);
        }
        let path = path?;
        if let Some(suite) = named.get(&path) {
            return Some(suite.clone());
        }
        if !deployed.contains(&path) {
            if let Some(dir) = code_test_dir(name) {
                return Some(format!("{dir}{CODE_TESTS}"));
            }
            if let Some(dir) = vendored.iter().find(|d| {
                name.strip_prefix(d.as_str())
                    .is_some_and(|rest| rest.starts_with(['/', '\\']))
            }) {
                return Some(format!("{dir}{VENDORED}"));
            }
        }
        (!deployed.contains(&path) && is_semgrep_test_target(&source.text)).then(|| {
            let folder = Path::new(name).parent().unwrap_or(Path::new(""));
            let folder = folder.to_string_lossy();
            let folder = if folder.is_empty() { "." } else { &folder };
            format!("{folder}{SEMGREP}")
        })
    };
    // Source name -> the fixture folder or suite that makes it a test input.
    let inputs: BTreeMap<String, String> = loaded
        .sources
        .iter()
        .filter_map(|s| Some((s.name.clone(), input_of(s)?)))
        .collect();
    // A file without a source (read by no stage) is judged by its folder alone.
    let sourced: BTreeSet<String> = loaded.sources.iter().map(|s| s.name.clone()).collect();
    let is_input = |name: &str| {
        inputs.contains_key(name) || (!sourced.contains(name) && fixture_dir(name).is_some())
    };
    loaded.documents.retain(|d| !is_input(&d.source.name));
    loaded.sources.retain(|s| !is_input(&s.name));
    loaded
        .diagnostics
        .retain(|d| d.location.as_ref().is_none_or(|l| !is_input(&l.file)));
    let mut notes: BTreeMap<String, usize> = BTreeMap::new();
    for by in inputs.into_values() {
        *notes.entry(by).or_default() += 1;
    }
    notes
        .into_iter()
        .map(|(by, files)| {
            if let Some(folder) = by.strip_suffix(CODE_TESTS) {
                Diagnostic::note(
                    "load/test-fixtures",
                    format!(
                        "{files} file(s) in `{folder}` are the tests of the project's code and their inputs (the Maven/Gradle `src/test` layout), not deployed: not checked"
                    ),
                )
                .at(Location::file_only(folder))
                .with_help("a kustomization that deploys one keeps it checked")
            } else if let Some(folder) = by.strip_suffix(VENDORED) {
                Diagnostic::note(
                    "load/vendored",
                    format!(
                        "{files} file(s) in `{folder}` belong to the Go modules vendored there (its `modules.txt`), another project's files: not checked"
                    ),
                )
                .at(Location::file_only(folder))
                .with_help("a kustomization that deploys one keeps it checked")
            } else if let Some(folder) = by.strip_suffix(SEMGREP) {
                Diagnostic::note(
                    "load/test-fixtures",
                    format!(
                        "{files} file(s) in `{folder}` are semgrep rule test targets (annotated `# ruleid:`, objects meant to be flagged): not checked"
                    ),
                )
                .at(Location::file_only(folder))
                .with_help("run them with `semgrep --test`; a kustomization that deploys one keeps it checked")
            } else if is_test_data(&by) {
                Diagnostic::note(
                    "load/test-fixtures",
                    format!(
                        "`{by}` is a `testdata` folder: {files} file(s) of inputs to a program's tests, which no tool applies: not checked"
                    ),
                )
                .at(Location::file_only(by))
                .with_help("a kustomization outside the folder that deploys one of its files keeps that file checked")
            } else if fixture_dir(&by).as_deref() == Some(by.as_str()) {
                Diagnostic::note(
                    "load/test-fixtures",
                    format!(
                        "`{by}` holds policy test fixtures (resources meant to fail): not checked"
                    ),
                )
                .at(Location::file_only(by))
                .with_help("run them with `homelab policy test`")
            } else {
                Diagnostic::note(
                    "load/test-fixtures",
                    format!(
                        "{files} file(s) that the test suite `{by}` feeds to its policies as inputs: not checked"
                    ),
                )
                .at(Location::file_only(by))
                .with_help(
                    "they are test cases, not deployed; run the suite with its tool (`homelab policy test` for Kyverno, `gator verify` for Gatekeeper)",
                )
            }
        })
        .collect()
}

/// Marks a folder key of [`drop`]'s notes as one of semgrep test targets (a suffix no path
/// has).
const SEMGREP: &str = "\0semgrep";
/// Marks a folder key of [`drop`]'s notes as a folder of code test inputs.
const CODE_TESTS: &str = "\0code-tests";
/// Marks a folder key of [`drop`]'s notes as a folder of vendored Go modules.
const VENDORED: &str = "\0vendored";

/// The folder of `name` that holds the tests of a project's code and their inputs by the
/// Maven/Gradle convention: the `test` of a `src/test`.
fn code_test_dir(name: &str) -> Option<String> {
    let parts: Vec<&str> = name.split(['/', '\\']).collect();
    let folders = &parts[..parts.len().saturating_sub(1)];
    let i = (1..folders.len()).find(|&i| folders[i] == "test" && folders[i - 1] == "src")?;
    Some(parts[..=i].join("/"))
}

/// The `vendor` folders (source names) that hold Go modules: those beside a `modules.txt`
/// (what `go mod vendor` writes).
fn vendored_modules(sources: &[std::sync::Arc<Source>]) -> Vec<String> {
    sources
        .iter()
        .filter_map(|s| {
            let dir = s
                .name
                .strip_suffix("/modules.txt")
                .or_else(|| s.name.strip_suffix("\\modules.txt"))?;
            let last = dir.rsplit(['/', '\\']).next()?;
            (last == "vendor").then(|| dir.to_string())
        })
        .collect()
}

/// Whether the text is a semgrep rule test target: a comment line that is a `ruleid:` (or
/// `todoruleid:`) annotation naming one or more rules. `# ok:` alone is not enough (an
/// ordinary comment can start with it).
fn is_semgrep_test_target(text: &str) -> bool {
    text.lines().any(|line| {
        let Some(comment) = line.trim_start().strip_prefix('#') else {
            return false;
        };
        let comment = comment.trim_start();
        let Some(ids) = comment
            .strip_prefix("ruleid:")
            .or_else(|| comment.strip_prefix("todoruleid:"))
        else {
            return false;
        };
        let ids = ids.trim();
        !ids.is_empty()
            && ids.split(',').all(|id| {
                let id = id.trim();
                !id.is_empty()
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            })
    })
}

/// The folder of `name` that is a test folder by convention, if any.
fn fixture_dir(name: &str) -> Option<String> {
    let is_fixture = |part: &str| {
        part.starts_with(".kyverno-test") || part.starts_with(".chainsaw") || part == TEST_DATA
    };
    let parts: Vec<&str> = name.split(['/', '\\']).collect();
    let i = parts.iter().position(|p| is_fixture(p))?;
    Some(parts[..=i].join("/"))
}

/// Go's name for a folder of test inputs.
const TEST_DATA: &str = "testdata";

/// Whether a fixture folder found by [`fixture_dir`] is a `testdata` folder.
fn is_test_data(dir: &str) -> bool {
    dir.rsplit(['/', '\\']).next() == Some(TEST_DATA)
}

/// The files a kustomization of the repository includes (deployed, so never test inputs).
/// A kustomization inside a test folder is a test input itself and deploys nothing.
fn deployed(documents: &[Document]) -> BTreeSet<PathBuf> {
    let mut deployed = BTreeSet::new();
    for doc in documents {
        let file = file_of(doc);
        let dir = file.parent().unwrap_or(Path::new(""));
        if doc.doc_index == 0
            && is_kustomization_file(&file)
            && fixture_dir(&doc.source.name).is_none()
        {
            for (_, entry) in included(&doc.value) {
                if !is_remote(entry) {
                    deployed.extend(normalise(&dir.join(entry)));
                }
            }
        }
    }
    deployed
}

/// The files test suites name as inputs, each with the suite that names it, leaving out the
/// files a kustomization includes.
fn named_by_suites(
    documents: &[Document],
    deployed: &BTreeSet<PathBuf>,
) -> BTreeMap<PathBuf, String> {
    let mut named = BTreeMap::new();
    for doc in documents {
        let file = file_of(doc);
        let dir = file.parent().unwrap_or(Path::new(""));
        if doc.doc_index == 0 && is_kustomization_file(&file) {
            continue;
        }
        for input in suite_inputs(&doc.value) {
            if let Some(path) = normalise(&dir.join(input)) {
                named.entry(path).or_insert_with(|| doc.source.name.clone());
            }
        }
    }
    named.retain(|path, _| !deployed.contains(path));
    named
}

/// The strings of a field that holds one name or a list of names.
fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The input files one test-suite document names (empty for any other document).
fn suite_inputs(value: &Value) -> Vec<&str> {
    let api_version = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = value.get("kind").and_then(Value::as_str);
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    if group == "test.gatekeeper.sh" && kind == Some("Suite") {
        return value
            .get("tests")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|test| test.get("cases").and_then(Value::as_array))
            .flatten()
            .flat_map(|case| {
                let mut inputs = strings(case.get("object"));
                inputs.extend(strings(case.get("inventory")));
                inputs
            })
            .collect();
    }
    let kyverno_test = match kind {
        Some("Test") => group == "cli.kyverno.io" || group == "kyverno.io",
        // The older format has no apiVersion/kind: a name, policies, resources and results.
        None => {
            value.get("policies").is_some()
                && value.get("resources").is_some()
                && value.get("results").is_some()
        }
        Some(_) => false,
    };
    if kyverno_test {
        return strings(value.get("resources"));
    }
    Vec::new()
}
