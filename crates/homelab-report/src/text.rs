//! Human-readable report: findings grouped by file, each with a source snippet, a caret under
//! the offending token and the help line; a summary at the end.

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
    let mut out = String::new();
    let mut current_file: Option<&str> = None;
    for d in &report.diagnostics {
        let file = d.location.as_ref().map(|l| l.file.as_str());
        if file != current_file {
            if current_file.is_some() {
                out.push('\n');
            }
            if let Some(f) = file {
                let _ = writeln!(out, "{}", palette.bold(f));
            }
            current_file = file;
        }
        diagnostic(&mut out, d, sources, &palette);
    }
    for s in &report.suppressions {
        let _ = writeln!(
            out,
            "{} {}: [{}] suppressed inline: {}",
            palette.dim("suppressed"),
            s.location,
            s.rule,
            s.reason
        );
    }
    if !out.is_empty() {
        out.push('\n');
    }
    let summary = Summary::of(report);
    let _ = writeln!(out, "{}", summary.line());
    out
}

fn diagnostic(out: &mut String, d: &Diagnostic, sources: &dyn SourceLookup, p: &Palette) {
    let _ = writeln!(
        out,
        "{}[{}]: {}",
        p.severity(d.severity),
        p.bold(&d.rule),
        d.message
    );
    let mut arrow = match &d.location {
        Some(loc) => format!("  --> {loc}"),
        None => "  --> (no file)".to_string(),
    };
    if let Some(obj) = &d.object {
        let _ = write!(arrow, " ({obj})");
    }
    let _ = writeln!(out, "{}", p.dim(&arrow));
    if let Some(loc) = &d.location {
        if loc.line > 0 {
            if is_secret(d) {
                let _ = writeln!(
                    out,
                    "   {} (source line hidden: it holds a secret)",
                    p.dim("|")
                );
            } else if let Some(text) = sources.source_text(&loc.file) {
                snippet(out, text, loc.line, loc.column, p);
            }
        }
    }
    if let Some(path) = &d.path {
        if !path.is_empty() {
            let _ = writeln!(out, "   {} path: {path}", p.dim("="));
        }
    }
    if let Some(fp) = &d.fingerprint {
        let _ = writeln!(out, "   {} fingerprint: {fp}", p.dim("="));
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "   {} help: {help}", p.dim("="));
    }
}

/// The offending line with its number and a caret run under the token at `column`.
fn snippet(out: &mut String, text: &str, line: u32, column: u32, p: &Palette) {
    let Some(source_line) = text.lines().nth(line as usize - 1) else {
        return;
    };
    let source_line = source_line.trim_end_matches('\r');
    let number = line.to_string();
    let gutter = " ".repeat(number.len());
    let _ = writeln!(out, " {gutter} {}", p.dim("|"));
    let _ = writeln!(out, " {} {} {source_line}", p.dim(&number), p.dim("|"));
    if column > 0 {
        let start = column as usize - 1;
        let prefix: String = source_line
            .chars()
            .take(start)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let token_len = source_line
            .chars()
            .skip(start)
            .take_while(|c| !c.is_whitespace() && *c != ':' && *c != ',')
            .count()
            .max(1);
        let carets = "^".repeat(token_len);
        let _ = writeln!(
            out,
            " {gutter} {} {prefix}{}",
            p.dim("|"),
            p.paint("1;31", &carets)
        );
    }
}
