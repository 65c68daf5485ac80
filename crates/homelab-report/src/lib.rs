//! Diagnostics to text, JSON, SARIF 2.1.0, JUnit XML and self-contained HTML.
//!
//! This crate is the only output layer. Every command that reports findings (`check`,
//! `policy`, ...) builds one [`Report`] and calls [`render`]; `validate` builds a
//! [`validation::Validation`] (kubeconform's shapes) and `verify` a list of
//! [`checklist::Item`]s. Rendering is pure: the caller passes the source texts (for
//! snippets) through [`SourceLookup`] and writes the returned string where it wants.
//!
//! Untrusted text is made safe in one place ([`escape`]): control characters are shown as
//! visible escapes on the terminal and replaced in markup; source lines are capped
//! ([`MAX_SNIPPET_CHARS`]) and found through a line index (linear in the findings).
//!
//! Secret values never reach any output: a diagnostic that carries a `fingerprint` is a
//! secret finding, and its source line is never shown, only its position and fingerprint;
//! the texts a caller passes for snippets have secret values masked by position (the caller
//! knows YAML, this crate does not); notes (informational, often about files that are not
//! manifests at all) never quote their file.

pub mod checklist;
pub mod escape;
mod html;
mod json;
mod junit;
mod sarif;
mod snippet;
mod text;
pub mod validation;
pub mod yaml;

pub use snippet::MAX_SNIPPET_CHARS;

use homelab_diagnostics::{Diagnostic, Severity};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

/// Output formats shared by every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Sarif,
    Junit,
    Html,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Text,
        Format::Json,
        Format::Sarif,
        Format::Junit,
        Format::Html,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Html => "html",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown format `{s}`: expected one of text, json, sarif, junit, html")
            })
    }
}

/// Documentation of one rule, used for SARIF rule metadata and the HTML report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMeta {
    pub id: String,
    /// One line: what the rule checks.
    pub summary: String,
    /// Full documentation in Markdown (what, why, example, fix).
    pub help: String,
    pub severity: Severity,
}

/// One ArgoCD sync wave and the Applications in it, for the HTML report's wave graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wave {
    pub wave: i64,
    pub applications: Vec<String>,
}

/// The simulated rollout of the checked repository (`homelab simulate`), for the HTML
/// report's "Simulated rollout" section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rollout {
    pub converges: bool,
    pub waves: Vec<RolloutWave>,
    pub warnings: Vec<String>,
    pub assumptions: Vec<String>,
}

/// One wave of a simulated rollout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolloutWave {
    pub wave: i64,
    /// Objects that become Healthy.
    pub healthy: usize,
    /// Stalls: (object, class, cause, file:line).
    pub stalls: Vec<(String, String, String, String)>,
    /// Child Applications of this wave as Argo CD reports them: `name: Synced, Healthy`.
    pub applications: Vec<String>,
}

/// An inline suppression that silenced a finding (`# homelab: ignore[ID] reason`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub rule: String,
    pub location: homelab_diagnostics::Location,
    pub reason: String,
}

/// Everything a report shows.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Tool version, e.g. `env!("CARGO_PKG_VERSION")`.
    pub version: String,
    /// Title for HTML and JUnit (e.g. `homelab check`).
    pub title: String,
    /// The folder that was checked, when one was: SARIF locations are made relative to it
    /// (code scanning maps them to repository files).
    pub root: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
    /// Every file that was checked (clean files appear as passing JUnit cases).
    pub files: Vec<String>,
    /// Number of Kubernetes objects checked.
    pub objects: usize,
    /// Rule documentation; rules that appear in diagnostics but not here get a generic entry.
    pub rules: Vec<RuleMeta>,
    pub suppressions: Vec<Suppression>,
    /// Sync waves of the repository (HTML only; empty = no graph).
    pub waves: Vec<Wave>,
    /// The simulated rollout (HTML only; `None` = no section).
    pub rollout: Option<Rollout>,
}

/// Where snippets come from: the text of a file by its display name.
pub trait SourceLookup {
    fn source_text(&self, file: &str) -> Option<&str>;
}

impl<K, V> SourceLookup for HashMap<K, V>
where
    K: std::borrow::Borrow<str> + std::hash::Hash + Eq,
    V: AsRef<str>,
{
    fn source_text(&self, file: &str) -> Option<&str> {
        self.get(file).map(AsRef::as_ref)
    }
}

impl<K, V> SourceLookup for BTreeMap<K, V>
where
    K: std::borrow::Borrow<str> + Ord,
    V: AsRef<str>,
{
    fn source_text(&self, file: &str) -> Option<&str> {
        self.get(file).map(AsRef::as_ref)
    }
}

/// No sources: reports without snippets.
pub struct NoSources;

impl SourceLookup for NoSources {
    fn source_text(&self, _file: &str) -> Option<&str> {
        None
    }
}

/// Presentation options that only the terminal knows about.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// ANSI colours in text output (only on a terminal, never with `NO_COLOR`).
    pub color: bool,
}

/// Render `report` in `format`.
pub fn render(
    format: Format,
    report: &Report,
    sources: &dyn SourceLookup,
    options: RenderOptions,
) -> String {
    let mut sorted = report.clone();
    homelab_diagnostics::sort(&mut sorted.diagnostics);
    match format {
        Format::Text => text::render(&sorted, sources, options),
        Format::Json => json::render(&sorted),
        Format::Sarif => sarif::render(&sorted),
        Format::Junit => junit::render(&sorted),
        Format::Html => html::render(&sorted, sources),
    }
}

/// Counts shown by every format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
    /// Files with at least one error or warning.
    pub files_with_findings: usize,
    pub files_checked: usize,
    pub objects_checked: usize,
    pub suppressed: usize,
}

impl Summary {
    pub fn of(report: &Report) -> Summary {
        let mut s = Summary {
            files_checked: report.files.len(),
            objects_checked: report.objects,
            suppressed: report.suppressions.len(),
            ..Summary::default()
        };
        let mut files = BTreeSet::new();
        // A file with a finding was looked at even when it could not be read (a missing path,
        // a link not followed): count it, so that the line never says "in 1 file (checked 0
        // files)".
        let mut looked_at: BTreeSet<&str> = report.files.iter().map(String::as_str).collect();
        for d in &report.diagnostics {
            if let (Some(loc), false) = (&d.location, d.severity == Severity::Note) {
                looked_at.insert(loc.file.as_str());
            }
            match d.severity {
                Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
                Severity::Note => s.notes += 1,
            }
            if d.severity != Severity::Note {
                if let Some(loc) = &d.location {
                    files.insert(loc.file.as_str());
                }
            }
        }
        s.files_with_findings = files.len();
        s.files_checked = looked_at.len();
        s
    }

    /// `3 errors, 1 warning in 2 files (12 files, 40 objects checked)`.
    pub fn line(&self) -> String {
        let mut out = format!(
            "{} in {} (checked {}, {})",
            counted2(self.errors, "error", self.warnings, "warning"),
            plural(self.files_with_findings, "file"),
            plural(self.files_checked, "file"),
            plural(self.objects_checked, "object"),
        );
        if self.suppressed > 0 {
            out.push_str(&format!("; {} suppressed inline", self.suppressed));
        }
        out
    }
}

fn counted2(a: usize, a_word: &str, b: usize, b_word: &str) -> String {
    format!("{}, {}", plural(a, a_word), plural(b, b_word))
}

pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Rule metadata for every rule in the report: the documented ones first, then a generic
/// entry for each rule id that appears only in diagnostics. Sorted by id, deduplicated.
pub(crate) fn all_rules(report: &Report) -> Vec<RuleMeta> {
    let mut by_id: BTreeMap<String, RuleMeta> = BTreeMap::new();
    for d in &report.diagnostics {
        by_id.entry(d.rule.clone()).or_insert_with(|| RuleMeta {
            id: d.rule.clone(),
            summary: format!("homelab rule {}", d.rule),
            help: format!("Run `homelab rules --explain {}` for details.", d.rule),
            severity: d.severity,
        });
    }
    for r in &report.rules {
        if by_id.contains_key(&r.id) {
            by_id.insert(r.id.clone(), r.clone());
        }
    }
    by_id.into_values().collect()
}

/// True when a diagnostic is about a secret: its source text must never be shown.
pub(crate) fn is_secret(d: &Diagnostic) -> bool {
    d.fingerprint.is_some()
}

#[cfg(test)]
mod tests;
