//! Which values of a file are encrypted: the one crypt rule of a file (`encrypted_regex`,
//! `unencrypted_suffix`, ...), decided from the keys on a value's path and, for the comment
//! variants, the comments above it — exactly sops's `shouldBeEncrypted`.

use regex::{Regex, RegexBuilder};

/// The six rule kinds, in the order sops writes them into the metadata.
pub const RULE_FIELDS: [&str; 6] = [
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
];

/// The suffix sops assumes when a file names no rule.
pub const DEFAULT_UNENCRYPTED_SUFFIX: &str = "_unencrypted";

/// A crypt rule: one of the six, with its text (and compiled regex).
#[derive(Debug, Clone)]
pub struct CryptRule {
    pub field: &'static str,
    pub text: String,
    regex: Option<Regex>,
}

impl PartialEq for CryptRule {
    fn eq(&self, other: &Self) -> bool {
        self.field == other.field && self.text == other.text
    }
}

/// Compiles a regular expression from an untrusted file with bounded size (Go's RE2 and
/// Rust's `regex` share the syntax used in practice and both run in linear time).
pub fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .nest_limit(64)
        .build()
        .map_err(|e| format!("invalid regular expression `{pattern}`: {e}"))
}

impl CryptRule {
    /// The rule `field: text`. `field` must be one of [`RULE_FIELDS`].
    pub fn new(field: &str, text: &str) -> Result<CryptRule, String> {
        let field = RULE_FIELDS
            .iter()
            .copied()
            .find(|f| *f == field)
            .ok_or_else(|| format!("unknown crypt rule `{field}`"))?;
        let regex = if field.ends_with("_regex") {
            Some(compile(text)?)
        } else {
            None
        };
        Ok(CryptRule {
            field,
            text: text.to_owned(),
            regex,
        })
    }

    /// sops's default: `unencrypted_suffix: _unencrypted`.
    pub fn default_rule() -> CryptRule {
        CryptRule {
            field: "unencrypted_suffix",
            text: DEFAULT_UNENCRYPTED_SUFFIX.to_owned(),
            regex: None,
        }
    }

    fn matches(&self, s: &str) -> bool {
        match &self.regex {
            Some(r) => r.is_match(s),
            None => s.ends_with(&self.text),
        }
    }

    /// Whether the value at `path` (map keys from the root), under the comments of
    /// `comments` (one list per enclosing collection, the innermost last), is encrypted.
    /// `is_comment` is set when the value is itself a comment line.
    pub fn encrypts(&self, path: &[String], comments: &[Vec<String>], is_comment: bool) -> bool {
        match self.field {
            "unencrypted_suffix" | "unencrypted_regex" => !path.iter().any(|p| self.matches(p)),
            "encrypted_suffix" | "encrypted_regex" => path.iter().any(|p| self.matches(p)),
            "unencrypted_comment_regex" => !comments.iter().flatten().any(|c| self.matches(c)),
            _ => {
                // encrypted_comment_regex: the comment line that matches is itself kept in
                // clear; what follows it is encrypted.
                let last_group = comments.len().saturating_sub(1);
                comments.iter().enumerate().any(|(i, group)| {
                    group.iter().enumerate().any(|(j, c)| {
                        let own_line = is_comment && i == last_group && j + 1 == group.len();
                        !own_line && self.matches(c)
                    })
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn path_rules() {
        let r = CryptRule::new("encrypted_regex", "^(data|stringData)$").unwrap();
        assert!(r.encrypts(&p(&["data", "username"]), &[], false));
        assert!(r.encrypts(&p(&["spec", "data", "x"]), &[], false));
        assert!(!r.encrypts(&p(&["metadata", "name"]), &[], false));
        assert!(!r.encrypts(&[], &[], true));
        let d = CryptRule::default_rule();
        assert!(d.encrypts(&p(&["a"]), &[], false));
        assert!(!d.encrypts(&p(&["a_unencrypted", "b"]), &[], false));
        assert!(d.encrypts(&[], &[], true));
        let s = CryptRule::new("encrypted_suffix", "_secret").unwrap();
        assert!(s.encrypts(&p(&["db_secret"]), &[], false));
        assert!(!s.encrypts(&p(&["db"]), &[], false));
        let u = CryptRule::new("unencrypted_regex", "^(kind|apiVersion)$").unwrap();
        assert!(!u.encrypts(&p(&["kind"]), &[], false));
        assert!(u.encrypts(&p(&["spec"]), &[], false));
    }

    #[test]
    fn comment_rules() {
        let r = CryptRule::new("encrypted_comment_regex", "sops:enc").unwrap();
        let above = vec![vec![" sops:enc".to_string()]];
        assert!(r.encrypts(&p(&["password"]), &above, false));
        // The marker comment itself stays in clear.
        assert!(!r.encrypts(&[], &above, true));
        assert!(!r.encrypts(&p(&["password"]), &[vec![]], false));
        let u = CryptRule::new("unencrypted_comment_regex", "clear").unwrap();
        assert!(!u.encrypts(&p(&["a"]), &[vec![" clear".into()]], false));
        assert!(u.encrypts(&p(&["a"]), &[vec![]], false));
    }

    #[test]
    fn bad_regexes_are_errors() {
        assert!(CryptRule::new("encrypted_regex", "(").is_err());
        assert!(CryptRule::new("encrypted_regex", &"(a".repeat(100)).is_err());
        assert!(CryptRule::new("nope", "x").is_err());
    }
}
