//! SARIF 2.1.0 for GitHub code scanning: one run, the rules that fired with their help text,
//! results with physical locations relative to the repository root and stable fingerprints.

use crate::{all_rules, Report};
use homelab_diagnostics::{Diagnostic, Severity};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// The file relative to the checked folder when it lies inside it.
fn relative<'a>(file: &'a str, root: Option<&str>) -> &'a str {
    let Some(root) = root else { return file };
    let root = root.trim_end_matches(['/', '\\']);
    if root.is_empty() || root == "." {
        return file;
    }
    file.strip_prefix(root)
        .and_then(|rest| rest.strip_prefix(['/', '\\']))
        .unwrap_or(file)
}

/// SARIF wants URIs: forward slashes, no leading `./`, reserved characters percent-encoded.
fn uri(file: &str) -> String {
    let file = file.replace('\\', "/");
    let file = file.strip_prefix("./").unwrap_or(&file);
    let mut out = String::with_capacity(file.len());
    for b in file.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A fingerprint GitHub uses to track one result across commits: rule, file, object and
/// path (not the line, which moves), or the secret fingerprint for secrets.
fn fingerprint(d: &Diagnostic) -> String {
    let mut h = Sha256::new();
    h.update(d.rule.as_bytes());
    h.update([0]);
    if let Some(loc) = &d.location {
        h.update(loc.file.as_bytes());
    }
    h.update([0]);
    h.update(d.object.as_deref().unwrap_or("").as_bytes());
    h.update([0]);
    h.update(d.path.as_deref().unwrap_or("").as_bytes());
    h.update([0]);
    match &d.fingerprint {
        Some(fp) => h.update(fp.as_bytes()),
        None => h.update(d.message.as_bytes()),
    }
    hex::encode(&h.finalize()[..16])
}

/// An artifact location: relative paths under the repository root, absolute ones as file URIs.
fn artifact(file: &str) -> Value {
    if file.starts_with('/') {
        json!({ "uri": format!("file://{}", uri(file)) })
    } else {
        json!({"uri": uri(file), "uriBaseId": "%SRCROOT%"})
    }
}

pub fn render(report: &Report) -> String {
    let rules = all_rules(report);
    let rule_index = |id: &str| rules.iter().position(|r| r.id == id);
    let rules_json: Vec<Value> = rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.id.replace(['/', '-'], "_"),
                "shortDescription": {"text": r.summary},
                "fullDescription": {"text": r.summary},
                "help": {"text": r.help, "markdown": r.help},
                "defaultConfiguration": {"level": level(r.severity)},
            })
        })
        .collect();
    let results: Vec<Value> = report
        .diagnostics
        .iter()
        .map(|d| {
            let mut message = d.message.clone();
            if let Some(help) = &d.help {
                message.push_str("\nhelp: ");
                message.push_str(help);
            }
            if let Some(fp) = &d.fingerprint {
                message.push_str("\nfingerprint: ");
                message.push_str(fp);
            }
            let mut result = Map::new();
            result.insert("ruleId".into(), json!(d.rule));
            if let Some(i) = rule_index(&d.rule) {
                result.insert("ruleIndex".into(), json!(i));
            }
            result.insert("level".into(), json!(level(d.severity)));
            result.insert("message".into(), json!({ "text": message }));
            if let Some(loc) = &d.location {
                let mut physical = Map::new();
                physical.insert(
                    "artifactLocation".into(),
                    artifact(relative(&loc.file, report.root.as_deref())),
                );
                if loc.line > 0 {
                    physical.insert(
                        "region".into(),
                        json!({"startLine": loc.line, "startColumn": loc.column.max(1)}),
                    );
                }
                let mut location = Map::new();
                location.insert("physicalLocation".into(), Value::Object(physical));
                if let Some(obj) = &d.object {
                    location.insert(
                        "logicalLocations".into(),
                        json!([{"fullyQualifiedName": obj, "kind": "object"}]),
                    );
                }
                result.insert("locations".into(), json!([Value::Object(location)]));
            }
            result.insert(
                "partialFingerprints".into(),
                json!({"homelabFingerprint/v1": fingerprint(d)}),
            );
            Value::Object(result)
        })
        .collect();
    let doc = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "homelab",
                "version": report.version,
                "semanticVersion": report.version,
                "informationUri": "https://example.invalid/homelab",
                "rules": rules_json,
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the repository root"}}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn locations_are_relative_to_the_checked_folder() {
        assert_eq!(
            super::relative("/tmp/repo/apps/x.yaml", Some("/tmp/repo/")),
            "apps/x.yaml"
        );
        assert_eq!(
            super::relative("repo/apps/x.yaml", Some("repo")),
            "apps/x.yaml"
        );
        assert_eq!(
            super::relative("other/x.yaml", Some("repo")),
            "other/x.yaml"
        );
        assert_eq!(super::artifact("/abs/x.yaml")["uri"], "file:///abs/x.yaml");
        assert_eq!(super::artifact("x.yaml")["uriBaseId"], "%SRCROOT%");
    }

    #[test]
    fn uris_are_relative_and_encoded() {
        assert_eq!(super::uri("./a b/c.yaml"), "a%20b/c.yaml");
        assert_eq!(super::uri("dir\\x.yaml"), "dir/x.yaml");
    }
}
