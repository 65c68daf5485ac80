//! Self-contained HTML report (no network, no scripts): summary, sync-wave graph, findings by
//! rule and by file with source snippets. Secret findings show position and fingerprint only.

use crate::escape::markup;
use crate::snippet::Snippets;
use crate::{all_rules, is_secret, plural, Report, SourceLookup, Summary};
use homelab_diagnostics::{Diagnostic, Severity};
use std::collections::BTreeMap;
use std::fmt::Write;

const STYLE: &str = r#"
:root { --err:#b42318; --warn:#b54708; --note:#175cd3; --ok:#067647; --fg:#101828; --muted:#667085; --line:#eaecf0; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); margin: 0; background: #f9fafb; }
header, main { max-width: 1100px; margin: 0 auto; padding: 1rem 1.5rem; }
h1 { font-size: 1.6rem; margin: .5rem 0; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem; min-width: 9rem; }
.card b { display: block; font-size: 1.6rem; }
.error b, .sev-error { color: var(--err); } .warning b, .sev-warning { color: var(--warn); }
.note b, .sev-note { color: var(--note); } .clean b { color: var(--ok); }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
pre { background: #101828; color: #f2f4f7; padding: .6rem .8rem; border-radius: 6px; overflow-x: auto; margin: .4rem 0; }
details { background: #fff; border: 1px solid var(--line); border-radius: 8px; margin: .5rem 0; padding: .5rem .9rem; }
summary { cursor: pointer; font-weight: 600; }
.finding { border-top: 1px solid var(--line); padding: .6rem 0; }
.finding:first-of-type { border-top: none; }
.meta { color: var(--muted); font-size: 13px; }
.waves { display: flex; flex-wrap: wrap; gap: .5rem; align-items: stretch; padding: .5rem 0; }
.wave { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .5rem .7rem; min-width: 8rem; }
.wave h3 { margin: 0 0 .3rem; font-size: .95rem; } .wave ul { margin: 0; padding-left: 1.1rem; }
.arrow { align-self: center; color: var(--muted); font-size: 1.4rem; }
"#;

pub fn render(report: &Report, sources: &dyn SourceLookup) -> String {
    let summary = Summary::of(report);
    let title = if report.title.is_empty() {
        "homelab report"
    } else {
        &report.title
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>\n<p class=\"meta\">homelab {} &middot; {}</p>\n",
        markup(title),
        markup(title),
        markup(&report.version),
        markup(&summary.line())
    );
    let clean = summary.errors == 0 && summary.warnings == 0;
    let _ = write!(
        out,
        "<div class=\"cards\">\n<div class=\"card error\" id=\"errors\"><b>{}</b>errors</div>\n<div class=\"card warning\" id=\"warnings\"><b>{}</b>warnings</div>\n<div class=\"card note\"><b>{}</b>notes</div>\n<div class=\"card{}\"><b>{}</b>files checked</div>\n<div class=\"card\"><b>{}</b>objects checked</div>\n<div class=\"card\"><b>{}</b>suppressed</div>\n</div>\n</header>\n<main>\n",
        summary.errors,
        summary.warnings,
        summary.notes,
        if clean { " clean" } else { "" },
        summary.files_checked,
        summary.objects_checked,
        summary.suppressed
    );
    waves(&mut out, report);
    rollout(&mut out, report);
    by_rule(&mut out, report);
    by_file(&mut out, report, &mut Snippets::new(sources));
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn waves(out: &mut String, report: &Report) {
    if report.waves.is_empty() {
        return;
    }
    out.push_str("<h2>Sync waves</h2>\n<div class=\"waves\" id=\"wave-graph\">\n");
    for (i, wave) in report.waves.iter().enumerate() {
        if i > 0 {
            out.push_str("<div class=\"arrow\">&rarr;</div>\n");
        }
        let _ = write!(out, "<div class=\"wave\"><h3>wave {}</h3><ul>", wave.wave);
        for app in &wave.applications {
            let _ = write!(out, "<li>{}</li>", markup(app));
        }
        out.push_str("</ul></div>\n");
    }
    out.push_str("</div>\n");
}

fn rollout(out: &mut String, report: &Report) {
    let Some(r) = &report.rollout else {
        return;
    };
    let verdict = if r.converges {
        "<p class=\"clean\">Converges: every wave becomes Healthy.</p>"
    } else {
        "<p class=\"sev-error\">Does not converge: the first stall below stops the sync.</p>"
    };
    let _ = writeln!(
        out,
        "<h2>Simulated rollout</h2>\n<section id=\"rollout\">\n{verdict}\n<table>\n<tr><th>wave</th><th>Healthy</th><th>Applications</th><th>stalls</th></tr>"
    );
    for w in &r.waves {
        let stalls: Vec<String> = w
            .stalls
            .iter()
            .map(|(object, class, cause, at)| {
                format!(
                    "<div class=\"finding\"><code>{}</code> <span class=\"sev-error\">{}</span><br>{}<br><span class=\"meta\">{}</span></div>",
                    markup(object),
                    markup(class),
                    markup(cause),
                    markup(at)
                )
            })
            .collect();
        let apps: Vec<String> = w
            .applications
            .iter()
            .map(|a| format!("<div>{}</div>", markup(a)))
            .collect();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            w.wave,
            w.healthy,
            apps.join(""),
            stalls.join("")
        );
    }
    out.push_str("</table>\n");
    for (title, items) in [("Warnings", &r.warnings), ("Assumptions", &r.assumptions)] {
        if items.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            "<details><summary>{title} ({})</summary><ul>",
            items.len()
        );
        for item in items {
            let _ = write!(out, "<li>{}</li>", markup(item));
        }
        out.push_str("</ul></details>\n");
    }
    out.push_str("</section>\n");
}

fn by_rule(out: &mut String, report: &Report) {
    if report.diagnostics.is_empty() {
        out.push_str("<h2>Findings</h2>\n<p class=\"clean\">No findings.</p>\n");
        return;
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &report.diagnostics {
        *counts.entry(d.rule.as_str()).or_default() += 1;
    }
    out.push_str("<h2>Findings by rule</h2>\n<table id=\"by-rule\">\n<tr><th>rule</th><th>severity</th><th>findings</th><th>what it checks</th></tr>\n");
    for rule in all_rules(report) {
        let n = counts.get(rule.id.as_str()).copied().unwrap_or(0);
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td class=\"sev-{}\">{}</td><td>{n}</td><td>{}</td></tr>",
            markup(&rule.id),
            rule.severity,
            rule.severity,
            markup(&rule.summary)
        );
    }
    out.push_str("</table>\n");
}

fn by_file(out: &mut String, report: &Report, sources: &mut Snippets) {
    // Errors and warnings by file, worst files first; notes (skipped files and the like)
    // in a closed section of their own at the end, so they never hide a finding.
    let mut files: BTreeMap<&str, Vec<&Diagnostic>> = BTreeMap::new();
    let mut notes: Vec<&Diagnostic> = Vec::new();
    for d in &report.diagnostics {
        if d.severity == Severity::Note {
            notes.push(d);
            continue;
        }
        let file = d
            .location
            .as_ref()
            .map(|l| l.file.as_str())
            .unwrap_or("(no file)");
        files.entry(file).or_default().push(d);
    }
    let mut files: Vec<(&str, Vec<&Diagnostic>)> = files.into_iter().collect();
    files.sort_by_key(|(file, diags)| {
        let errors = diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        (
            std::cmp::Reverse(errors),
            std::cmp::Reverse(diags.len()),
            *file,
        )
    });
    if !files.is_empty() {
        out.push_str("<h2>Findings by file</h2>\n<div id=\"by-file\">\n");
        for (file, diags) in files {
            let errors = diags
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count();
            let _ = writeln!(
                out,
                "<details open><summary>{} <span class=\"meta\">({}, {})</span></summary>",
                markup(file),
                plural(diags.len(), "finding"),
                plural(errors, "error")
            );
            for d in diags {
                finding(out, d, sources);
            }
            out.push_str("</details>\n");
        }
        out.push_str("</div>\n");
    }
    if !notes.is_empty() {
        let _ = writeln!(
            out,
            "<h2>Notes</h2>\n<details id=\"notes\"><summary>{} (files skipped as not Kubernetes objects and similar)</summary>",
            plural(notes.len(), "note")
        );
        for d in notes {
            finding(out, d, sources);
        }
        out.push_str("</details>\n");
    }
}

fn finding(out: &mut String, d: &Diagnostic, sources: &mut Snippets) {
    let _ = write!(
        out,
        "<div class=\"finding\"><span class=\"sev-{}\">{}</span> <code>{}</code> {}",
        d.severity,
        d.severity,
        markup(&d.rule),
        markup(&d.message)
    );
    let mut meta = Vec::new();
    if let Some(loc) = &d.location {
        meta.push(markup(&loc.to_string()));
    }
    if let Some(obj) = &d.object {
        meta.push(markup(obj));
    }
    if let Some(path) = &d.path {
        meta.push(format!("<code>{}</code>", markup(path)));
    }
    if let Some(fp) = &d.fingerprint {
        meta.push(format!("fingerprint <code>{}</code>", markup(fp)));
    }
    let _ = write!(out, "<div class=\"meta\">{}</div>", meta.join(" &middot; "));
    if let Some(loc) = &d.location {
        if loc.line > 0 && !is_secret(d) && d.severity != Severity::Note {
            if let Some(line) = sources.line_at(&loc.file, loc.line, loc.column) {
                let _ = write!(out, "<pre>{:>4} | {}</pre>", loc.line, markup(&line.text));
            }
        }
    }
    if let Some(help) = &d.help {
        let _ = write!(out, "<div>help: {}</div>", markup(help));
    }
    out.push_str("</div>\n");
}
