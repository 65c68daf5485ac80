//! Policy test inputs: resources a policy test suite feeds to its engine, often the "bad"
//! cases meant to fail. Nothing deploys them, so checking them would only drown the real
//! findings. They are left out of the check with one note per folder or suite, and `homelab
//! policy test` (or the suite's own tool) is what runs them.
//!
//! Two ways a file is known to be a test input:
//! - it sits in a test folder by convention: `.kyverno-test`, `.chainsaw-test`,
//!   `.chainsaw-test-<variant>`, `.chainsaw/` (and chainsaw's `.chainsaw.yaml`);
//! - a test suite in the repository names it as an input: a Kyverno CLI test's `resources`,
//!   or a Gatekeeper `gator verify` Suite's `cases[].object` and `cases[].inventory`. A
//!   suite's policies (`policies`, `template`, `constraint`) are not inputs: they are what a
//!   cluster runs, and stay checked.
//!
//! A file a kustomization includes is deployed, so it stays checked even when a suite also
//! reads it. Names in a suite are only matched against files already loaded (lexically, no
//! file is opened), so a suite naming `../../etc/passwd` touches nothing.

use homelab_diagnostics::{Diagnostic, Location};
use homelab_manifest::engines::{file_of, normalise};
use homelab_manifest::kustomizations::{included, is_kustomization_file, is_remote};
use homelab_manifest::{Document, Loaded};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Leaves out the test inputs of `loaded` and returns one note per fixture folder and per
/// suite whose inputs were left out.
pub fn drop(loaded: &mut Loaded) -> Vec<Diagnostic> {
    let named = named_by_suites(&loaded.documents);
    let input_of = |name: &str, path: Option<&Path>| -> Option<String> {
        if let Some(dir) = fixture_dir(name) {
            return Some(dir);
        }
        let path = normalise(path.unwrap_or(Path::new(name)))?;
        named.get(&path).cloned()
    };
    // Source name -> the fixture folder or suite that makes it a test input.
    let inputs: BTreeMap<String, String> = loaded
        .sources
        .iter()
        .filter_map(|s| Some((s.name.clone(), input_of(&s.name, s.path.as_deref())?)))
        .collect();
    let is_input = |name: &str| inputs.contains_key(name) || fixture_dir(name).is_some();
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
            if fixture_dir(&by).as_deref() == Some(by.as_str()) {
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

/// The folder of `name` that is a test folder by convention, if any.
fn fixture_dir(name: &str) -> Option<String> {
    let is_fixture =
        |part: &str| part.starts_with(".kyverno-test") || part.starts_with(".chainsaw");
    let parts: Vec<&str> = name.split(['/', '\\']).collect();
    let i = parts.iter().position(|p| is_fixture(p))?;
    Some(parts[..=i].join("/"))
}

/// The files test suites name as inputs, each with the suite that names it, leaving out the
/// files a kustomization includes.
fn named_by_suites(documents: &[Document]) -> BTreeMap<PathBuf, String> {
    let mut deployed = BTreeSet::new();
    let mut named = BTreeMap::new();
    for doc in documents {
        let file = file_of(doc);
        let dir = file.parent().unwrap_or(Path::new(""));
        if doc.doc_index == 0 && is_kustomization_file(&file) {
            for (_, entry) in included(&doc.value) {
                if !is_remote(entry) {
                    deployed.extend(normalise(&dir.join(entry)));
                }
            }
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
