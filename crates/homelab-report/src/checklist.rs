//! A checklist of criteria with their verdicts and evidence (`homelab verify`): text, stable
//! JSON, or a self-contained HTML page.
//!
//! Evidence quotes what a cluster or snapshot holds (object names, field values), which is not
//! ours: it is escaped for the terminal and for markup like every other untrusted text.

use crate::escape::{markup, terminal as t};
use serde_json::json;
use std::fmt::Write as _;

/// The verdict on one criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Met,
    NotMet,
    NotCheckable,
    /// The component is switched off.
    Skipped,
}

impl Mark {
    /// The stable name used in JSON (`met`, `not met`, `not checkable`, `skipped`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Met => "met",
            Mark::NotMet => "not met",
            Mark::NotCheckable => "not checkable",
            Mark::Skipped => "skipped",
        }
    }

    /// The checklist box.
    pub fn boxed(self) -> &'static str {
        match self {
            Mark::Met => "[x]",
            Mark::NotMet => "[ ]",
            Mark::NotCheckable => "[?]",
            Mark::Skipped => "[-]",
        }
    }

    fn css_class(self) -> &'static str {
        match self {
            Mark::Met => "met",
            Mark::NotMet => "not-met",
            Mark::NotCheckable => "not-checkable",
            Mark::Skipped => "skipped",
        }
    }
}

/// One criterion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Stable identifier.
    pub id: String,
    /// The section it belongs to; consecutive items of one area are grouped.
    pub area: String,
    pub title: String,
    pub mark: Mark,
    /// What was found, what was expected, or what data would be needed.
    pub evidence: Vec<String>,
}

/// Output formats of a checklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecklistFormat {
    Text,
    Json,
    Html,
}

/// Counts by verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub met: usize,
    pub not_met: usize,
    pub not_checkable: usize,
    pub skipped: usize,
}

impl Tally {
    pub fn of(items: &[Item]) -> Tally {
        let mut s = Tally::default();
        for c in items {
            match c.mark {
                Mark::Met => s.met += 1,
                Mark::NotMet => s.not_met += 1,
                Mark::NotCheckable => s.not_checkable += 1,
                Mark::Skipped => s.skipped += 1,
            }
        }
        s
    }
}

/// Render `items` in `format`; `source` names where the data came from (HTML header).
pub fn render(format: ChecklistFormat, items: &[Item], source: &str) -> String {
    match format {
        ChecklistFormat::Text => text(items),
        ChecklistFormat::Json => to_json(items),
        ChecklistFormat::Html => html(items, source),
    }
}

/// Grouped by area: `[x]` met, `[ ]` not met, `[?]` not checkable, `[-]` skipped; evidence
/// indented below each criterion.
fn text(items: &[Item]) -> String {
    let mut out = String::new();
    let mut area: Option<&str> = None;
    for c in items {
        if area != Some(c.area.as_str()) {
            if area.is_some() {
                out.push('\n');
            }
            area = Some(&c.area);
            let _ = writeln!(out, "{}:", t(&c.area));
        }
        let _ = writeln!(out, "  {} {} ({})", c.mark.boxed(), t(&c.title), t(&c.id));
        for e in &c.evidence {
            let _ = writeln!(out, "      {}", t(e));
        }
    }
    let s = Tally::of(items);
    let _ = writeln!(
        out,
        "\n{} met, {} not met, {} not checkable, {} skipped",
        s.met, s.not_met, s.not_checkable, s.skipped
    );
    out
}

/// `{"criteria":[{"id","title","area","status","evidence"}],"summary":{...}}`.
fn to_json(items: &[Item]) -> String {
    let s = Tally::of(items);
    let value = json!({
        "criteria": items.iter().map(|c| json!({
            "id": c.id,
            "title": c.title,
            "area": c.area,
            "status": c.mark.as_str(),
            "evidence": c.evidence,
        })).collect::<Vec<_>>(),
        "summary": {
            "met": s.met,
            "not_met": s.not_met,
            "not_checkable": s.not_checkable,
            "skipped": s.skipped,
            "total": items.len(),
        },
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// One self-contained page (inline CSS, no scripts, no external resources).
fn html(items: &[Item], source: &str) -> String {
    let s = Tally::of(items);
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<title>homelab verify</title>\n<style>\n");
    out.push_str(
        "body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}\n\
         h2{margin-top:1.5rem;border-bottom:1px solid #ccc}\n\
         li{margin:.4rem 0;list-style:none}\n\
         .st{display:inline-block;min-width:7.5rem;font-weight:600}\n\
         .met{color:#1a7f37}.not-met{color:#cf222e}.not-checkable{color:#9a6700}.skipped{color:#777}\n\
         .ev{margin:.2rem 0 .2rem 8rem;font-size:.9rem;color:#444}\n\
         code{font-size:.85rem;color:#666}\n",
    );
    out.push_str("</style>\n</head>\n<body>\n<h1>homelab verify</h1>\n");
    let _ = writeln!(
        out,
        "<p>Snapshot: <code>{}</code><br>{} met, {} not met, {} not checkable, {} skipped</p>",
        markup(source),
        s.met,
        s.not_met,
        s.not_checkable,
        s.skipped
    );
    let mut area: Option<&str> = None;
    for c in items {
        if area != Some(c.area.as_str()) {
            if area.is_some() {
                out.push_str("</ul>\n");
            }
            area = Some(&c.area);
            let _ = writeln!(out, "<h2>{}</h2>\n<ul>", markup(&c.area));
        }
        let _ = write!(
            out,
            "<li id=\"{}\"><span class=\"st {}\">{}</span> {} <code>{}</code>",
            markup(&c.id),
            c.mark.css_class(),
            markup(c.mark.as_str()),
            markup(&c.title),
            markup(&c.id)
        );
        for e in &c.evidence {
            let _ = write!(out, "<div class=\"ev\">{}</div>", markup(e));
        }
        out.push_str("</li>\n");
    }
    if area.is_some() {
        out.push_str("</ul>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Item> {
        vec![Item {
            id: "x".into(),
            area: "A <b>".into(),
            title: "t & \"q\"".into(),
            mark: Mark::NotMet,
            evidence: vec!["<script>".into(), "pod \x1b[2Jall clear".into()],
        }]
    }

    #[test]
    fn html_escapes_everything() {
        let html = render(ChecklistFormat::Html, &sample(), "s<>.yaml");
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("t &amp; &quot;q&quot;"));
        assert!(html.contains("s&lt;&gt;.yaml"));
        assert!(!html.contains('\x1b'));
    }

    #[test]
    fn json_shape() {
        let out = render(ChecklistFormat::Json, &sample(), "");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["criteria"][0]["status"], "not met");
        assert_eq!(v["summary"]["not_met"], 1);
        assert_eq!(v["summary"]["total"], 1);
    }

    #[test]
    fn text_marks_and_escapes_evidence() {
        let t = render(ChecklistFormat::Text, &sample(), "");
        assert!(t.contains("[ ] t & \"q\" (x)"));
        assert!(t.contains("0 met, 1 not met"));
        assert!(t.contains("pod \\x1b[2Jall clear"), "{t}");
        assert!(!t.contains('\x1b'));
    }
}
