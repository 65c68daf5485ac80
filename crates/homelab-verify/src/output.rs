//! The verdicts as a text checklist, stable JSON, or a self-contained HTML page.

use crate::{summarize, Criterion, Status};
use serde_json::json;
use std::fmt::Write as _;

/// A checklist grouped by the guide's sections: `[x]` met, `[ ]` not met, `[?]` not
/// checkable, `[-]` skipped; evidence indented below each criterion.
pub fn to_text(criteria: &[Criterion]) -> String {
    let mut out = String::new();
    let mut area = "";
    for c in criteria {
        if c.area != area {
            if !area.is_empty() {
                out.push('\n');
            }
            area = c.area;
            let _ = writeln!(out, "{area}:");
        }
        let _ = writeln!(out, "  {} {} ({})", c.status.mark(), c.title, c.id);
        for e in &c.evidence {
            let _ = writeln!(out, "      {e}");
        }
    }
    let s = summarize(criteria);
    let _ = writeln!(
        out,
        "\n{} met, {} not met, {} not checkable, {} skipped",
        s.met, s.not_met, s.not_checkable, s.skipped
    );
    out
}

/// `{"criteria":[{"id","title","area","status","evidence"}],"summary":{...}}`; `status` is one
/// of `met`, `not met`, `not checkable`, `skipped`.
pub fn to_json(criteria: &[Criterion]) -> String {
    let s = summarize(criteria);
    let value = json!({
        "criteria": criteria.iter().map(|c| json!({
            "id": c.id,
            "title": c.title,
            "area": c.area,
            "status": c.status.as_str(),
            "evidence": c.evidence,
        })).collect::<Vec<_>>(),
        "summary": {
            "met": s.met,
            "not_met": s.not_met,
            "not_checkable": s.not_checkable,
            "skipped": s.skipped,
            "total": criteria.len(),
        },
    });
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

/// Escapes text for HTML element content and double-quoted attributes.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// One self-contained page (inline CSS, no scripts, no external resources).
pub fn to_html(criteria: &[Criterion], source: &str) -> String {
    let s = summarize(criteria);
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
        escape(source),
        s.met,
        s.not_met,
        s.not_checkable,
        s.skipped
    );
    let mut area = "";
    for c in criteria {
        if c.area != area {
            if !area.is_empty() {
                out.push_str("</ul>\n");
            }
            area = c.area;
            let _ = writeln!(out, "<h2>{}</h2>\n<ul>", escape(area));
        }
        let class = match c.status {
            Status::Met => "met",
            Status::NotMet => "not-met",
            Status::NotCheckable => "not-checkable",
            Status::Skipped => "skipped",
        };
        let _ = write!(
            out,
            "<li id=\"{}\"><span class=\"st {class}\">{}</span> {} <code>{}</code>",
            escape(c.id),
            escape(c.status.as_str()),
            escape(&c.title),
            escape(c.id)
        );
        for e in &c.evidence {
            let _ = write!(out, "<div class=\"ev\">{}</div>", escape(e));
        }
        out.push_str("</li>\n");
    }
    if !area.is_empty() {
        out.push_str("</ul>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Criterion> {
        vec![Criterion {
            id: "x",
            area: "A <b>",
            title: "t & \"q\"".into(),
            status: Status::NotMet,
            evidence: vec!["<script>".into()],
        }]
    }

    #[test]
    fn html_escapes_everything() {
        let html = to_html(&sample(), "s<>.yaml");
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("t &amp; &quot;q&quot;"));
        assert!(html.contains("s&lt;&gt;.yaml"));
    }

    #[test]
    fn json_shape() {
        let v: serde_json::Value = serde_json::from_str(&to_json(&sample())).unwrap();
        assert_eq!(v["criteria"][0]["status"], "not met");
        assert_eq!(v["summary"]["not_met"], 1);
        assert_eq!(v["summary"]["total"], 1);
    }

    #[test]
    fn text_marks() {
        let t = to_text(&sample());
        assert!(t.contains("[ ] t & \"q\" (x)"));
        assert!(t.contains("0 met, 1 not met"));
    }
}
