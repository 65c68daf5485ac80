//! Machine-readable report. Stable shape (documented in the README):
//! `{"version", "summary": {...}, "diagnostics": [Diagnostic...], "suppressed": [...]}`.

use crate::{Report, Summary};
use serde_json::json;

pub fn render(report: &Report) -> String {
    let suppressed: Vec<_> = report
        .suppressions
        .iter()
        .map(|s| json!({"rule": s.rule, "location": s.location, "reason": s.reason}))
        .collect();
    let doc = json!({
        "version": report.version,
        "summary": Summary::of(report),
        "diagnostics": report.diagnostics,
        "suppressed": suppressed,
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}
