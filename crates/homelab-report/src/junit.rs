//! JUnit XML for GitLab's test report widget: one test suite per file, one failing test case
//! per error or warning, one passing case for each clean file. Notes are not test results.

use crate::escape::markup;
use crate::Report;
use homelab_diagnostics::{Diagnostic, Severity};
use std::collections::BTreeMap;
use std::fmt::Write;

pub fn render(report: &Report) -> String {
    let mut by_file: BTreeMap<&str, Vec<&Diagnostic>> = BTreeMap::new();
    for f in &report.files {
        by_file.entry(f.as_str()).or_default();
    }
    for d in &report.diagnostics {
        if d.severity == Severity::Note {
            continue;
        }
        let file = d
            .location
            .as_ref()
            .map(|l| l.file.as_str())
            .unwrap_or("(no file)");
        by_file.entry(file).or_default().push(d);
    }
    let total_cases: usize = by_file.values().map(|v| v.len().max(1)).sum();
    let total_failures: usize = by_file.values().map(Vec::len).sum();
    let title = if report.title.is_empty() {
        "homelab"
    } else {
        &report.title
    };
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{total_cases}\" failures=\"{total_failures}\" errors=\"0\">",
        markup(title)
    );
    for (file, diags) in &by_file {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\">",
            markup(file),
            diags.len().max(1),
            diags.len()
        );
        if diags.is_empty() {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{0}\" name=\"{0}\"/>",
                markup(file)
            );
        }
        for d in diags {
            let position = d
                .location
                .as_ref()
                .map(|l| l.to_string())
                .unwrap_or_else(|| file.to_string());
            let name = match &d.object {
                Some(obj) => format!("{} {} at {position}", d.rule, obj),
                None => format!("{} at {position}", d.rule),
            };
            let mut body = format!("{position}: {}: {}", d.severity, d.message);
            if let Some(help) = &d.help {
                body.push_str("\nhelp: ");
                body.push_str(help);
            }
            if let Some(fp) = &d.fingerprint {
                body.push_str("\nfingerprint: ");
                body.push_str(fp);
            }
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
                markup(file),
                markup(&name),
                markup(&d.rule),
                markup(&d.message),
                markup(&body)
            );
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
