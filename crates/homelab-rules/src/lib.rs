//! The guide's platform invariants as rules over one loaded repository.
//!
//! Each rule lives in its own file, `src/rules/<group>/<name>.rs` for the rule ID
//! `<group>/<name>` (`-` in an ID is `_` in the file name); the file's `//!` doc comment is the
//! rule's documentation (what it checks, why, an example, the fix), extracted at build time
//! and shown by `homelab rules --explain ID`. Rules are pure: they read the [`Repo`] and the
//! [`Settings`] and return diagnostics; they never touch the file system or the terminal.

pub mod applied;
mod argo;
pub mod charts;
pub mod fingerprint;
mod gpu;
mod netpol;
pub mod patched_enums;
mod pod_security;
pub mod redact;
mod repo;
pub mod rules;
mod settings;
mod storage;
pub mod workload;

pub use argo::{deployments, Deployment};
pub use repo::Repo;
pub use settings::{Cidr, Expectations, Settings};

use homelab_diagnostics::{Diagnostic, Severity};
use rayon::prelude::*;

include!(concat!(env!("OUT_DIR"), "/rule_docs.rs"));

/// One platform rule.
pub trait Rule: Sync + Send {
    /// Stable identifier used by `--select`, `--ignore`, suppressions and reports.
    fn id(&self) -> &'static str;
    fn severity(&self) -> Severity;
    /// One line: what the rule checks.
    fn summary(&self) -> &'static str;
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic>;
}

/// Every built-in rule, in ID order.
pub fn all() -> Vec<&'static dyn Rule> {
    let mut rules = rules::ALL.to_vec();
    rules.sort_by_key(|r| r.id());
    rules
}

/// The rule with this ID.
pub fn find(id: &str) -> Option<&'static dyn Rule> {
    rules::ALL.iter().copied().find(|r| r.id() == id)
}

/// A rule's documentation (the doc comment of the file named after its ID), in Markdown.
pub fn documentation(rule: &dyn Rule) -> &'static str {
    RULE_DOCS
        .iter()
        .find(|(id, _)| *id == rule.id())
        .map(|(_, doc)| *doc)
        .unwrap_or("")
}

/// Run `rules` over `repo` in parallel; diagnostics come back sorted by position.
pub fn run(rules: &[&'static dyn Rule], repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = rules
        .par_iter()
        .flat_map_iter(|rule| {
            rule.check(repo, settings).into_iter().map(move |mut d| {
                d.rule = rule.id().to_string();
                d
            })
        })
        .collect();
    homelab_diagnostics::sort(&mut out);
    out
}

/// Whether a value is a reference to a secret kept elsewhere, or a template, rather than a
/// secret: 1Password (`op://`), Vault and argocd-vault-plugin (`vault:`, `<path:...>`, and
/// its `<placeholder>` form), vals (`ref+`), SOPS ciphertext (`ENC[`), environment and
/// template interpolation (`${...}`, `$__env{...}`, `$(...)`, `{{ ... }}`, `%(name)s`), URIs that name
/// where a server or a bootstrap tool reads the value (`env://VAR`, `file:///path`,
/// `secret://name`, as authentik and others read their settings), and JSONPath templates (`path={.metadata.name}-db`, as service
/// binding annotations describe the Secret that will hold a value).
pub(crate) fn is_secret_reference(value: &str) -> bool {
    let v = value.trim();
    (v.starts_with('<') && v.ends_with('>') && !v.contains(['\n', ' ']))
        || v.starts_with("env://")
        || v.starts_with("file://")
        || v.starts_with("secret://")
        || has_jsonpath(v)
        || v.starts_with("op://")
        || v.starts_with("vault:")
        || v.starts_with("<path:")
        || v.starts_with("ref+")
        || v.starts_with("ENC[")
        || v.starts_with("$__env{")
        || v.starts_with("$__file{")
        || v.contains("${")
        || v.contains("$(")
        || v.contains("{{")
        || has_format_field(v)
}

/// A JSONPath template (`{.metadata.name}`): the value names where another one is read.
fn has_jsonpath(v: &str) -> bool {
    homelab_k8s::placeholders::has_delimited_token(v, "{.", "}", true, |c| {
        c.is_ascii_alphanumeric() || "._[]-".contains(c)
    })
}

/// A Python format field (`%(version)s`): the value is a template a program fills in.
fn has_format_field(v: &str) -> bool {
    homelab_k8s::placeholders::has_delimited_token(v, "%(", ")s", false, |c| {
        c.is_ascii_alphanumeric() || c == '_'
    })
}

/// `1 value`, `3 values`.
pub(crate) fn count(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Build a diagnostic for `doc` at `pointer` with the rule's severity.
pub(crate) fn finding(
    rule: &dyn Rule,
    doc: &homelab_manifest::Document,
    pointer: &str,
    message: impl Into<String>,
    help: impl Into<String>,
) -> Diagnostic {
    Diagnostic::new(rule.id(), rule.severity(), message)
        .at(doc.location(pointer))
        .with_object(doc.id())
        .with_path(pointer)
        .with_help(help)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_to_values_kept_elsewhere_are_not_secrets() {
        for v in [
            "env://AUTHENTIK_SECRET_KEY",
            "file:///run/secrets/redis-password",
            "op://vault/item/field",
            "${DB_PASSWORD}",
        ] {
            assert!(is_secret_reference(v), "{v}");
        }
        for v in ["hunter2", "env-password"] {
            assert!(!is_secret_reference(v), "{v}");
        }
    }

    #[test]
    fn every_rule_is_documented_with_what_why_example_fix() {
        for rule in all() {
            let doc = documentation(rule);
            for section in ["## What it checks", "## Why", "## Example", "## Fix"] {
                assert!(
                    doc.contains(section),
                    "rule {} lacks `{section}` in its doc comment",
                    rule.id()
                );
            }
        }
    }

    /// `src/rules/<group>/<name>.rs` holds the rule `<group>/<name>`, and its documentation
    /// opens with "# `<group>/<name>`: ...": a rule renamed in one place only fails here.
    #[test]
    fn every_rule_file_is_named_after_its_id_and_its_heading_says_so() {
        let ids: Vec<&str> = all().iter().map(|r| r.id()).collect();
        for (file_id, doc) in RULE_DOCS {
            assert!(
                ids.contains(file_id),
                "src/rules/{}.rs is not the file of any registered rule (IDs: {ids:?})",
                file_id.replace('-', "_")
            );
            let heading = doc.lines().next().unwrap_or("");
            assert!(
                heading.starts_with(&format!("# `{file_id}`: ")),
                "the doc heading of rule {file_id} is `{heading}`"
            );
        }
        for id in ids {
            assert!(
                RULE_DOCS.iter().any(|(file_id, _)| *file_id == id),
                "rule {id} has no file src/rules/{}.rs",
                id.replace('-', "_")
            );
        }
    }

    #[test]
    fn rule_ids_are_unique() {
        let mut ids: Vec<_> = all().iter().map(|r| r.id()).collect();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}
