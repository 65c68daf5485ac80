//! Human-readable report: findings grouped by file, each with a source snippet, a caret under
//! the offending token and the help line; a summary at the end.

use crate::escape::terminal as t;
use crate::snippet::{Line, Snippets};
use crate::{is_secret, RenderOptions, Report, SourceLookup, Summary};
use homelab_diagnostics::{Diagnostic, Severity};
use std::fmt::Write;

struct Palette {
    on: bool,
}

impl Palette {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn severity(&self, s: Severity) -> String {
        let code = match s {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
            Severity::Note => "1;36",
        };
        self.paint(code, s.as_str())
    }
    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
}

pub fn render(report: &Report, sources: &dyn SourceLookup, options: RenderOptions) -> String {
    let palette = Palette { on: options.color };
    let mut snippets = Snippets::new(sources);
    let mut out = String::new();
    let mut current_file: Option<&str> = None;
    for d in &report.diagnostics {
        let file = d.location.as_ref().map(|l| l.file.as_str());
        if file != current_file {
            if current_file.is_some() {
                out.push('\n');
            }
            if let Some(f) = file {
                let _ = writeln!(out, "{}", palette.bold(&crate::escape::terminal_file(f)));
            }
            current_file = file;
        }
        diagnostic(&mut out, d, &mut snippets, &palette);
    }
    for s in &report.suppressions {
        let _ = writeln!(
            out,
            "{} {}: [{}] suppressed inline: {}",
            palette.dim("suppressed"),
            t(&s.location.to_string()),
            t(&s.rule),
            t(&s.reason)
        );
    }
    if !out.is_empty() {
        out.push('\n');
    }
    let summary = Summary::of(report);
    let _ = writeln!(out, "{}", summary.line());
    out
}

fn diagnostic(out: &mut String, d: &Diagnostic, snippets: &mut Snippets, p: &Palette) {
    let _ = writeln!(
        out,
        "{}[{}]: {}",
        p.severity(d.severity),
        p.bold(&t(&d.rule)),
        t(&d.message)
    );
    let mut arrow = match &d.location {
        Some(loc) => format!("  --> {}", t(&loc.to_string())),
        None => "  --> (no file)".to_string(),
    };
    if let Some(obj) = &d.object {
        let _ = write!(arrow, " ({})", t(obj));
    }
    let _ = writeln!(out, "{}", p.dim(&arrow));
    if let Some(loc) = &d.location {
        if loc.line > 0 && d.severity != Severity::Note {
            if is_secret(d) {
                let _ = writeln!(
                    out,
                    "   {} (source line hidden: it holds a secret)",
                    p.dim("|")
                );
            } else if let Some(line) = snippets.line_at(&loc.file, loc.line, loc.column) {
                snippet(out, &line, loc.line, loc.column, p);
            }
        }
    }
    if let Some(path) = &d.path {
        if !path.is_empty() {
            let _ = writeln!(out, "   {} path: {}", p.dim("="), t(path));
        }
    }
    if let Some(fp) = &d.fingerprint {
        let _ = writeln!(out, "   {} fingerprint: {}", p.dim("="), t(fp));
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "   {} help: {}", p.dim("="), t(help));
    }
}

/// The offending line with its number and a caret run under the token at `column`.
fn snippet(out: &mut String, source_line: &Line, line: u32, column: u32, p: &Palette) {
    let number = line.to_string();
    let gutter = " ".repeat(number.len());
    let _ = writeln!(out, " {gutter} {}", p.dim("|"));
    let _ = writeln!(
        out,
        " {} {} {}",
        p.dim(&number),
        p.dim("|"),
        source_line.text
    );
    if column > 0 {
        let carets = "^".repeat(source_line.token_width(column));
        let _ = writeln!(
            out,
            " {gutter} {} {}{}",
            p.dim("|"),
            source_line.pad(column),
            p.paint("1;31", &carets)
        );
    }
}
