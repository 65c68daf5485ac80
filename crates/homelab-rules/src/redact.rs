//! Masking secret values by position in a source text, for every snippet of every report.
//!
//! A finding of any rule may point at a line that also holds a secret (a schema error on a
//! `stringData` value, a duplicate key, a one-line JSON Secret, a token in a values file); the
//! report then shows that line. Before any text reaches a report, the values that are secret
//! by position are replaced with `*`: the values of Secrets (whatever their type or layout),
//! values of keys named like credentials, kustomize `literals`, token shapes the secret
//! scanner knows, and whole PEM private-key blocks.

use crate::rules::secrets::leaked_credential::{is_credential_key, patterns};
use std::ops::Range;
use std::sync::OnceLock;

/// A PEM private-key block, from its BEGIN line to its END line.
fn pem_block() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r"-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?)-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----",
        )
        .expect("valid pattern")
    })
}

/// Whether the value of `key` is to be masked in snippets: any non-empty value of a key named
/// like a credential that is not a reference to a secret kept elsewhere. (Broader than what
/// the scanner reports: masking a harmless value costs nothing.)
fn masked_value(key: &str, value: &str) -> bool {
    !value.trim().is_empty() && is_credential_key(key) && !crate::is_secret_reference(value)
}

/// Byte ranges of `text` that hold secrets, sorted and merged.
pub fn secret_ranges(text: &str) -> Vec<Range<usize>> {
    let mut ranges = homelab_manifest::secret_spans::secret_value_spans(text, &masked_value);
    for p in patterns() {
        ranges.extend(p.regex.find_iter(text).map(|m| m.range()));
    }
    ranges.extend(pem_block().find_iter(text).map(|m| m.range()));
    homelab_manifest::secret_spans::merge(ranges)
}

/// `text` with its secrets masked, or `None` when it holds none.
pub fn redacted(text: &str) -> Option<String> {
    let ranges = secret_ranges(text);
    (!ranges.is_empty()).then(|| homelab_manifest::secret_spans::mask(text, &ranges))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keys_and_credential_values_are_masked() {
        let text = "token: ghp_0123456789abcdefghijklmnopqrstuvwxyzAB\nadminPassword: hunter2\npasswordSecretRef: db-creds\nkey: |\n  -----BEGIN RSA PRIVATE KEY-----\n  MIIEBODYBODYBODY\n  -----END RSA PRIVATE KEY-----\nplain: visible\n";
        let out = redacted(text).unwrap();
        for leaked in ["ghp_0123", "hunter2", "MIIEBODY"] {
            assert!(!out.contains(leaked), "{leaked}: {out}");
        }
        assert!(out.contains("passwordSecretRef: db-creds"), "{out}");
        assert!(out.contains("plain: visible"));
        assert_eq!(out.lines().count(), text.lines().count());
        assert!(redacted("a: b\n").is_none());
    }
}
