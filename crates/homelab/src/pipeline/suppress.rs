//! Inline suppressions: `# homelab: ignore[RULE] reason` on the finding's line or on the line
//! above it silences that rule there (several rules: `ignore[a, b]`; a prefix such as
//! `secrets` covers its rules). A reason is required: a suppression without one silences
//! nothing and is itself reported, so that every exception in the repository says why.

use homelab_diagnostics::{Diagnostic, Location};
use homelab_manifest::Source;
use homelab_report::Suppression;
use regex::Regex;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// The documentation of the finding this module emits.
pub const RULE_DOC: homelab_diagnostics::RuleDoc = homelab_diagnostics::RuleDoc {
    id: "check/suppression-without-reason",
    severity: homelab_diagnostics::Severity::Warning,
    summary: "Inline suppression without a reason (not applied)",
    doc: "# `check/suppression-without-reason`\n\n## What it checks\n`# homelab: ignore[RULE]` comments must say why after the bracket; one without a reason silences nothing.\n\n## Why\nEvery exception in the repository should explain itself to the next reviewer.\n\n## Example\n`image: tool:latest # homelab: ignore[image/latest-tag]`\n\n## Fix\n`# homelab: ignore[image/latest-tag] vendor publishes no tags; digest pinned by Renovate`",
};

struct Marker {
    rules: Vec<String>,
    reason: String,
    location: Location,
}

fn pattern() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    P.get_or_init(|| Regex::new(r"#\s*homelab:\s*ignore\[([^\]]*)\]\s*(.*)$").expect("valid regex"))
}

fn markers(source: &Source) -> Vec<(u32, Marker)> {
    let mut out = Vec::new();
    if !source.text.contains("homelab:") {
        return out;
    }
    for (i, line) in source.text.lines().enumerate() {
        if let Some(c) = pattern().captures(line) {
            let column = line[..c.get(0).map_or(0, |m| m.start())].chars().count() as u32 + 1;
            out.push((
                i as u32 + 1,
                Marker {
                    rules: c[1]
                        .split(',')
                        .map(|r| r.trim().to_string())
                        .filter(|r| !r.is_empty())
                        .collect(),
                    reason: c[2].trim().to_string(),
                    location: Location::new(source.name.clone(), i as u32 + 1, column),
                },
            ));
        }
    }
    out
}

fn covers(marker: &Marker, rule: &str) -> bool {
    marker.rules.iter().any(|r| {
        let r = r.trim_end_matches('*').trim_end_matches('/');
        rule == r || rule.starts_with(&format!("{r}/"))
    })
}

/// Split diagnostics into kept and suppressed; also returns problems with the markers.
pub fn apply(
    diagnostics: Vec<Diagnostic>,
    sources: &[Arc<Source>],
) -> (Vec<Diagnostic>, Vec<Suppression>, Vec<Diagnostic>) {
    let mut by_file: HashMap<&str, Vec<(u32, Marker)>> = HashMap::new();
    let mut problems = Vec::new();
    for s in sources {
        let found = markers(s);
        for (_, m) in &found {
            if m.reason.is_empty() {
                problems.push(
                    Diagnostic::warning(
                        "check/suppression-without-reason",
                        format!(
                            "suppression of {} has no reason, so it is not applied",
                            m.rules.join(", ")
                        ),
                    )
                    .at(m.location.clone())
                    .with_help("write why after the bracket: # homelab: ignore[RULE] the reason"),
                );
            }
        }
        if !found.is_empty() {
            by_file.insert(s.name.as_str(), found);
        }
    }
    let mut kept = Vec::new();
    let mut suppressed = Vec::new();
    for d in diagnostics {
        let hit = d.location.as_ref().and_then(|loc| {
            by_file.get(loc.file.as_str())?.iter().find(|(line, m)| {
                !m.reason.is_empty()
                    && (*line == loc.line || *line + 1 == loc.line)
                    && covers(m, &d.rule)
            })
        });
        match hit {
            Some((_, m)) => suppressed.push(Suppression {
                rule: d.rule.clone(),
                location: d.location.clone().unwrap_or_else(|| m.location.clone()),
                reason: m.reason.clone(),
            }),
            None => kept.push(d),
        }
    }
    (kept, suppressed, problems)
}
