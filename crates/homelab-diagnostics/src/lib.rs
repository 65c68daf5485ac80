//! The one currency of `homelab check`: every stage (loader, schema, policy, rules, secrets)
//! returns [`Diagnostic`]s, and `homelab-report` renders them. Nothing here does I/O.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How bad a finding is. `Error` and `Warning` make `check` exit 1 (unless filtered);
/// `Note` is informational (a skipped file, an ambiguous YAML value that is accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A position in a source file. `line` and `column` are 1-based; column counts characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    /// The path as the user gave it (relative paths stay relative), or `-` for stdin.
    pub file: String,
    pub line: u32,
    pub column: u32,
}

impl Location {
    pub fn new(file: impl Into<String>, line: u32, column: u32) -> Self {
        Location {
            file: file.into(),
            line,
            column,
        }
    }

    /// A location that names only the file (line and column 0: "somewhere in this file").
    pub fn file_only(file: impl Into<String>) -> Self {
        Location::new(file, 0, 0)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.column)
        }
    }
}

/// The documentation of a rule (or a family of rules, `yaml/*`) that a stage emits, kept
/// beside the code that emits it: what `homelab rules --explain` prints and SARIF/HTML show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleDoc {
    /// The rule ID, or a family `group/*`.
    pub id: &'static str,
    pub severity: Severity,
    /// One line.
    pub summary: &'static str,
    /// Markdown: what it checks, why, an example, the fix.
    pub doc: &'static str,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Stable rule identifier, e.g. `yaml/duplicate-key`, `schema/unknown-field`,
    /// `policy/disallow-latest-tag`, `HL-NET-001`. Used by `--select`/`--ignore`.
    pub rule: String,
    pub severity: Severity,
    /// One sentence saying what is wrong. Never contains a secret value.
    pub message: String,
    /// Where. `None` only for findings that have no file (e.g. a missing required file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The object the finding is about, e.g. `apps/v1/Deployment ai-services/ollama`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Path inside the object as a JSON pointer (`/spec/template/spec/containers/0/image`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Stable fingerprint, used for secrets (instead of the value) and baselines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The facts the finding relied on beyond the object itself (a StorageClass the
    /// repository declares, the LAN from platform.toml, the guide's posture, ...), so that a
    /// reader can tell a wrong fact from a wrong object. Also said at the end of `message`,
    /// so that every report format shows them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<String>,
}

impl Diagnostic {
    pub fn new(rule: impl Into<String>, severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            rule: rule.into(),
            severity,
            message: message.into(),
            location: None,
            object: None,
            path: None,
            help: None,
            fingerprint: None,
            facts: Vec::new(),
        }
    }

    pub fn error(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic::new(rule, Severity::Error, message)
    }

    pub fn warning(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic::new(rule, Severity::Warning, message)
    }

    pub fn note(rule: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic::new(rule, Severity::Note, message)
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub fn with_object(mut self, object: impl Into<String>) -> Self {
        self.object = Some(object.into());
        self
    }

    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
        self.fingerprint = Some(fingerprint.into());
        self
    }

    /// Names the facts the finding relied on: kept in `facts` and said at the end of the
    /// message (`... (relied on: A; B)`).
    pub fn relying_on<I, S>(mut self, facts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let new: Vec<String> = facts
            .into_iter()
            .map(Into::into)
            .filter(|f| !f.is_empty() && !self.facts.contains(f))
            .collect();
        if new.is_empty() {
            return self;
        }
        if let Some(open) = self.message.rfind(" (relied on: ") {
            self.message.truncate(open);
        }
        self.facts.extend(new);
        self.message = format!("{} (relied on: {})", self.message, self.facts.join("; "));
        self
    }

    /// Order used by every report: file, line, column, rule.
    pub fn sort_key(&self) -> (Option<&Location>, &str) {
        (self.location.as_ref(), &self.rule)
    }
}

/// Sort diagnostics the way every report shows them (by file, line, column, then rule).
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_display_is_file_line_column() {
        assert_eq!(Location::new("a.yaml", 3, 7).to_string(), "a.yaml:3:7");
        assert_eq!(Location::file_only("a.yaml").to_string(), "a.yaml");
    }

    #[test]
    fn sort_orders_by_position_then_rule() {
        let mut d = vec![
            Diagnostic::error("b", "x").at(Location::new("f", 2, 1)),
            Diagnostic::error("a", "x").at(Location::new("f", 2, 1)),
            Diagnostic::error("a", "x").at(Location::new("f", 1, 9)),
        ];
        sort(&mut d);
        let order: Vec<_> = d
            .iter()
            .map(|d| (d.location.as_ref().unwrap().line, d.rule.as_str()))
            .collect();
        assert_eq!(order, vec![(1, "a"), (2, "a"), (2, "b")]);
    }
}
