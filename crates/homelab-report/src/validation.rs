//! Schema-validation results in kubeconform's shapes: text, JSON, JUnit XML and TAP.
//!
//! `homelab validate` replaces kubeconform in existing pipelines, so its outputs keep
//! kubeconform's layout (one line per resource, `statusInvalid`, one JUnit suite per file)
//! and add positions and rule ids. The caller builds a [`Validation`]; rendering is pure.

use crate::escape::markup;
use crate::snippet::Snippets;
use crate::SourceLookup;
use homelab_diagnostics::{Diagnostic, Severity};
use std::fmt::Write as _;

/// kubeconform's output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationFormat {
    Text,
    Json,
    Junit,
    Tap,
}

/// The verdict on one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    Invalid,
    /// The resource (or its file) could not be validated.
    Error,
    Skipped,
}

impl Verdict {
    fn kubeconform_name(self) -> &'static str {
        match self {
            Verdict::Valid => "statusValid",
            Verdict::Invalid => "statusInvalid",
            Verdict::Error => "statusError",
            Verdict::Skipped => "statusSkipped",
        }
    }
}

/// Which object a row is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectRef {
    pub kind: String,
    pub name: String,
    pub api_version: String,
    pub namespace: Option<String>,
}

/// One line of output: a resource, or a file that failed to load (`object: None`).
#[derive(Debug, Clone)]
pub struct Row {
    pub file: String,
    pub object: Option<ObjectRef>,
    pub verdict: Verdict,
    pub diagnostics: Vec<Diagnostic>,
}

impl Row {
    fn kind(&self) -> &str {
        self.object.as_ref().map_or("", |o| o.kind.as_str())
    }
    fn name(&self) -> &str {
        self.object.as_ref().map_or("", |o| o.name.as_str())
    }
    fn api_version(&self) -> &str {
        self.object.as_ref().map_or("", |o| o.api_version.as_str())
    }
    fn namespace(&self) -> Option<&str> {
        self.object.as_ref().and_then(|o| o.namespace.as_deref())
    }
    /// A note about a file that is not Kubernetes: shown with `-verbose`, never counted.
    fn is_file_note(&self) -> bool {
        self.object.is_none() && self.verdict == Verdict::Skipped
    }
    /// kubeconform's one-line message: every problem joined with ` - `.
    fn message(&self) -> String {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| match &d.path {
                Some(p) => format!("{p}: {} [{}]", d.message, d.rule),
                None => format!("{} [{}]", d.message, d.rule),
            })
            .collect::<Vec<_>>()
            .join(" - ")
    }
}

/// Everything `homelab validate` prints.
#[derive(Debug, Clone, Default)]
pub struct Validation {
    /// Sorted as they should be printed.
    pub rows: Vec<Row>,
    /// Resources counted in the summary but not in `rows`: a caller that knows the format
    /// prints nothing for them (valid resources without findings, when not verbose) keeps
    /// only their count, so memory does not grow with every valid resource.
    pub unlisted: Counts,
    /// Number of files read.
    pub files: usize,
    /// Only standard input was read (the summary says "parsing stdin").
    pub stdin_only: bool,
    /// Also print valid and skipped resources, and notes.
    pub verbose: bool,
    /// Print the summary line (or JSON object).
    pub summary: bool,
}

/// Resources by verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub valid: usize,
    pub invalid: usize,
    pub errors: usize,
    pub skipped: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.valid + self.invalid + self.errors + self.skipped
    }
}

impl Validation {
    pub fn counts(&self) -> Counts {
        let mut c = self.unlisted;
        for r in self.rows.iter().filter(|r| !r.is_file_note()) {
            c.add(r.verdict);
        }
        c
    }

    /// Whether any resource is invalid or failed (exit 1).
    pub fn failed(&self) -> bool {
        let c = self.counts();
        c.invalid + c.errors > 0
    }
}

/// Whether `format` prints anything for a resource whose row is `verdict` with no
/// diagnostics but notes: when it does not, the row can be counted in
/// [`Validation::unlisted`] instead of kept.
pub fn prints_quiet_row(format: ValidationFormat, verbose: bool, row: &Row) -> bool {
    let quiet = matches!(row.verdict, Verdict::Valid | Verdict::Skipped)
        && row.object.is_some()
        && row.diagnostics.iter().all(|d| d.severity == Severity::Note);
    !quiet || verbose || matches!(format, ValidationFormat::Junit | ValidationFormat::Tap)
}

impl Counts {
    /// Counts `verdict` once.
    pub fn add(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Valid => self.valid += 1,
            Verdict::Invalid => self.invalid += 1,
            Verdict::Error => self.errors += 1,
            Verdict::Skipped => self.skipped += 1,
        }
    }
}

/// Render in kubeconform's `format`; `sources` give the text snippets.
pub fn render(format: ValidationFormat, v: &Validation, sources: &dyn SourceLookup) -> String {
    match format {
        ValidationFormat::Text => text(v, sources),
        ValidationFormat::Json => json(v),
        ValidationFormat::Junit => junit(v),
        ValidationFormat::Tap => tap(v),
    }
}

fn s(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn text(v: &Validation, sources: &dyn SourceLookup) -> String {
    let t = crate::escape::terminal;
    let mut snippets = Snippets::new(sources);
    let mut out = String::new();
    for r in &v.rows {
        let what = t(format!("{} {}", r.kind(), r.name()).trim()).into_owned();
        let file = crate::escape::terminal_file(&r.file);
        match r.verdict {
            Verdict::Valid if v.verbose => {
                let _ = writeln!(out, "{file} - {what} is valid");
            }
            Verdict::Skipped if v.verbose && r.object.is_some() => {
                let _ = writeln!(out, "{file} - {what} skipped");
            }
            _ => {}
        }
        for d in &r.diagnostics {
            if d.severity == Severity::Note && !v.verbose {
                continue;
            }
            let at = d.location.as_ref().map_or_else(
                || file.to_string(),
                |l| crate::escape::terminal_file(&l.to_string()).into_owned(),
            );
            let verdict = match (d.severity, r.verdict) {
                (Severity::Warning, _) => "has a warning",
                (Severity::Note, _) => "note",
                (_, Verdict::Invalid) => "is invalid",
                _ => "failed validation",
            };
            let subject = if r.object.is_some() {
                format!("{what} {verdict}")
            } else {
                verdict.to_string()
            };
            let _ = writeln!(out, "{at} - {subject}: {} [{}]", t(&d.message), t(&d.rule));
            if d.severity != Severity::Note && !crate::is_secret(d) {
                if let Some(loc) = &d.location {
                    if let Some(line) = snippets.line_at(&loc.file, loc.line, loc.column) {
                        let width = loc.line.to_string().len();
                        let _ = writeln!(out, "{:width$} |", "");
                        let _ = writeln!(out, "{} | {}", loc.line, line.text);
                        let _ = writeln!(out, "{:width$} | {}^", "", line.pad(loc.column));
                    }
                }
            }
            if let Some(h) = &d.help {
                let _ = writeln!(out, "    = help: {}", t(h));
            }
        }
    }
    if v.summary {
        let c = v.counts();
        let n = c.total();
        if v.stdin_only {
            let _ = writeln!(
                out,
                "Summary: {n} resource{} found parsing stdin - Valid: {}, Invalid: {}, Errors: {}, Skipped: {}",
                s(n), c.valid, c.invalid, c.errors, c.skipped
            );
        } else {
            let nfiles = v.files;
            let _ = writeln!(
                out,
                "Summary: {n} resource{} found in {nfiles} file{} - Valid: {}, Invalid: {}, Errors: {}, Skipped: {}",
                s(n), s(nfiles), c.valid, c.invalid, c.errors, c.skipped
            );
        }
    }
    out
}

fn json(v: &Validation) -> String {
    let resources: Vec<serde_json::Value> = v
        .rows
        .iter()
        .filter(|r| v.verbose || matches!(r.verdict, Verdict::Invalid | Verdict::Error))
        .filter(|r| !r.is_file_note())
        .map(|r| {
            let errors: Vec<serde_json::Value> = r
                .diagnostics
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "rule": d.rule,
                        "severity": d.severity.as_str(),
                        "path": d.path,
                        "line": d.location.as_ref().map(|l| l.line),
                        "column": d.location.as_ref().map(|l| l.column),
                        "message": d.message,
                        "help": d.help,
                    })
                })
                .collect();
            serde_json::json!({
                "filename": r.file,
                "kind": r.kind(),
                "name": r.name(),
                "version": r.api_version(),
                "status": r.verdict.kubeconform_name(),
                "msg": r.message(),
                "errors": errors,
            })
        })
        .collect();
    let mut root = serde_json::json!({ "resources": resources });
    if v.summary {
        let c = v.counts();
        root["summary"] = serde_json::json!({
            "valid": c.valid, "invalid": c.invalid, "errors": c.errors, "skipped": c.skipped
        });
    }
    let mut s = serde_json::to_string_pretty(&root).unwrap_or_default();
    s.push('\n');
    s
}

fn junit(v: &Validation) -> String {
    let c = v.counts();
    let mut suites: Vec<(&str, Vec<&Row>)> = Vec::new();
    for r in v.rows.iter().filter(|r| !r.is_file_note()) {
        match suites.iter_mut().find(|(f, _)| *f == r.file) {
            Some((_, rows)) => rows.push(r),
            None => suites.push((&r.file, vec![r])),
        }
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<testsuites name=\"homelab validate\" time=\"0\" tests=\"{}\" failures=\"{}\" disabled=\"{}\" errors=\"{}\">",
        c.total(), c.invalid, c.skipped, c.errors
    );
    for (id, (file, rows)) in suites.iter().enumerate() {
        let count = |verdict| rows.iter().filter(|r| r.verdict == verdict).count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" id=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" disabled=\"0\" skipped=\"{}\">",
            markup(file),
            id + 1,
            rows.len(),
            count(Verdict::Invalid),
            count(Verdict::Error),
            count(Verdict::Skipped),
        );
        for r in rows {
            let name = match r.namespace() {
                Some(ns) => format!("{ns}/{}", r.name()),
                None => r.name().to_string(),
            };
            let class = format!("{}@{}", r.kind(), r.api_version());
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\"",
                markup(&name),
                markup(&class)
            );
            let body: String = r
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| {
                    let at = d
                        .location
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    format!("{at}: {} [{}]\n", d.message, d.rule)
                })
                .collect();
            let element = match r.verdict {
                Verdict::Valid => {
                    out.push_str("></testcase>\n");
                    continue;
                }
                Verdict::Skipped => {
                    out.push_str(">\n      <skipped message=\"\"></skipped>\n    </testcase>\n");
                    continue;
                }
                Verdict::Invalid => "failure",
                Verdict::Error => "error",
            };
            let _ = write!(
                out,
                ">\n      <{element} message=\"{}\" type=\"\">{}</{element}>\n    </testcase>\n",
                markup(&r.message()),
                markup(&body)
            );
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn tap(v: &Validation) -> String {
    let t = crate::escape::terminal;
    let mut out = String::from("TAP version 13\n");
    let mut n = 0;
    for r in v.rows.iter().filter(|r| !r.is_file_note()) {
        n += 1;
        let qualified = match r.namespace() {
            Some(ns) => format!("{} {ns}/{}", r.kind(), r.name()),
            None => format!("{} {}", r.kind(), r.name()),
        };
        let (file, qualified) = (t(&r.file), t(&qualified));
        let _ = match r.verdict {
            Verdict::Valid => writeln!(out, "ok {n} - {file} ({qualified})"),
            Verdict::Skipped => writeln!(out, "ok {n} - {file} ({qualified}) # skip"),
            Verdict::Invalid => writeln!(
                out,
                "not ok {n} - {file} ({qualified}): {}",
                t(&r.message())
            ),
            Verdict::Error => writeln!(out, "not ok {n} - {file}: {}", t(&r.message())),
        };
    }
    let _ = writeln!(out, "1..{n}");
    out
}
