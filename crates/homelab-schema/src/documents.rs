//! The [`Validator`] over loaded [`Document`]s: skips what is not an object, places every
//! finding at `file:line:column` and validates many documents in parallel.

use crate::{crd, Checked, CrdSchema, Finding, Validator, Validity};
use homelab_diagnostics::{Diagnostic, Location, Severity};
use homelab_manifest::{Class, Document, LoadOptions};
use rayon::prelude::*;
use std::path::PathBuf;

/// Reads CRD manifests (and hand-written schema files) from files or folders (`--crd`).
pub fn load_crd_paths(paths: &[PathBuf]) -> Result<Vec<CrdSchema>, String> {
    for p in paths {
        if p.as_os_str() != "-" && !p.exists() {
            return Err(format!("--crd {}: no such file or folder", p.display()));
        }
    }
    let loaded = homelab_manifest::load(paths, &LoadOptions::default());
    if let Some(err) = loaded
        .diagnostics
        .iter()
        .find(|d| d.severity == Severity::Error)
    {
        let at = err
            .location
            .as_ref()
            .map(|l| format!("{l}: "))
            .unwrap_or_default();
        return Err(format!("--crd: {at}{}", err.message));
    }
    let mut out = Vec::new();
    for doc in &loaded.documents {
        if crd::is_crd(&doc.value) {
            out.extend(crd::from_crd(&doc.value, &doc.source.name));
        } else if let Some(s) = crd::from_platform_file(&doc.value, &doc.source.name) {
            out.push(s);
        }
    }
    Ok(out)
}

impl Validator {
    /// Registers the CRDs among `docs` (CustomResourceDefinition objects). A CRD kept with a
    /// project's tests (in a `test`, `tests` or `e2e` folder: often a copy trimmed to what
    /// the tests use, which envtest installs) does not replace a schema already known for
    /// its kind (the embedded catalog's, or the repository's own CRD elsewhere); it only
    /// defines kinds nothing else does. Folders are taken inside `root` (the checked
    /// repository), never above it.
    pub fn add_crds_from(&self, docs: &[Document], root: Option<&std::path::Path>) {
        let in_tests = |d: &Document| {
            let inside = root.and_then(|r| d.source.path.as_deref()?.strip_prefix(r).ok());
            inside.is_some_and(|p| in_test_folder(&p.to_string_lossy()))
        };
        let (kept_for_tests, crds): (Vec<&Document>, Vec<&Document>) = docs
            .iter()
            .filter(|d| d.class == Class::Object && crate::crd::is_crd(&d.value))
            .partition(|d| in_tests(d));
        self.add_crds_from_values(crds.iter().map(|d| (&d.value, d.source.name.as_str())));
        let unknown: Vec<_> = kept_for_tests
            .iter()
            .flat_map(|d| crate::crd::from_crd(&d.value, &d.source.name))
            .filter(|s| !self.has_schema(&s.api_version, &s.kind))
            .collect();
        self.add_crd_schemas(unknown);
    }

    /// Status and findings of one document; `None` for documents that are not Kubernetes
    /// objects (the loader already noted them).
    pub fn check(&self, doc: &Document) -> Option<Checked> {
        if doc.class != Class::Object {
            return None;
        }
        let (Some(api_version), Some(kind)) = (doc.api_version(), doc.kind()) else {
            return Some(Checked {
                status: Validity::Error,
                findings: vec![Finding {
                    rule: "schema/missing-kind",
                    severity: Severity::Error,
                    message: "object has no apiVersion or kind".into(),
                    help: Some("add `apiVersion` and `kind`".into()),
                    pointer: String::new(),
                    missing: None,
                }],
            });
        };
        Some(self.check_value(api_version, kind, &doc.value))
    }

    /// Findings of one document as diagnostics placed in its file.
    pub fn validate(&self, doc: &Document) -> Vec<Diagnostic> {
        match self.check(doc) {
            Some(checked) => to_diagnostics(doc, &checked),
            None => Vec::new(),
        }
    }

    /// [`Validator::check`] for many documents, in parallel; results in input order.
    pub fn check_all(&self, docs: &[Document]) -> Vec<Option<Checked>> {
        docs.par_iter().map(|d| self.check(d)).collect()
    }

    /// [`Validator::check_all`] on a pool of `threads` workers (0 = one per CPU).
    pub fn check_all_with_threads(
        &self,
        docs: &[Document],
        threads: usize,
    ) -> Result<Vec<Option<Checked>>, String> {
        if threads == 0 {
            return Ok(self.check_all(docs));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| format!("cannot start {threads} workers: {e}"))?;
        Ok(pool.install(|| self.check_all(docs)))
    }

    /// [`Validator::validate`] for many documents, in parallel; diagnostics in input order.
    pub fn validate_all(&self, docs: &[Document]) -> Vec<Diagnostic> {
        docs.par_iter()
            .map(|d| self.validate(d))
            .collect::<Vec<_>>()
            .into_iter()
            .flatten()
            .collect()
    }
}

/// Places each finding of `checked` at its key's position in `doc`.
pub fn to_diagnostics(doc: &Document, checked: &Checked) -> Vec<Diagnostic> {
    let object = doc.id();
    checked
        .findings
        .iter()
        .map(|f| {
            let location: Location = doc.location(&f.pointer);
            let mut d = Diagnostic::new(f.rule, f.severity, f.message.clone())
                .at(location)
                .with_object(object.clone());
            if let Some(m) = &f.missing {
                d = d.with_path(m.clone());
            } else if !f.pointer.is_empty() {
                d = d.with_path(f.pointer.clone());
            }
            if let Some(h) = &f.help {
                d = d.with_help(h.clone());
            }
            d
        })
        .collect()
}

/// Whether a file lies in a folder of a project's tests (`test/`, `tests/`, `e2e/`).
fn in_test_folder(name: &str) -> bool {
    let mut folders: Vec<&str> = name.split(['/', '\\']).collect();
    folders.pop();
    folders
        .iter()
        .any(|f| matches!(*f, "test" | "tests" | "e2e"))
}
