//! Tokens that tools fill into a value before the API server sees it: Argo CD plugin
//! placeholders (`<secret:domain>`), JSONPath templates (`{.metadata.name}`), Python format
//! fields (`%(version)s`). A value that holds one is not yet what it will be.

/// Whether `text` holds `open`, then a non-empty token whose characters all pass `allowed`
/// (starting with a letter when `letter_first`), then `close`.
pub fn has_delimited_token(
    text: &str,
    open: &str,
    close: &str,
    letter_first: bool,
    allowed: impl Fn(char) -> bool,
) -> bool {
    text.match_indices(open).any(|(i, _)| {
        let rest = &text[i + open.len()..];
        (!letter_first || rest.starts_with(|c: char| c.is_ascii_alphabetic()))
            && rest
                .find(close)
                .is_some_and(|end| end > 0 && rest[..end].chars().all(&allowed))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimited_tokens() {
        let plugin = |s: &str| {
            has_delimited_token(s, "<", ">", true, |c| {
                c.is_ascii_alphanumeric() || "_-.:/#".contains(c)
            })
        };
        assert!(plugin("argocd.<secret:private-domain>"));
        assert!(!plugin("a < b and c > d"));
        let field = |s: &str| {
            has_delimited_token(s, "%(", ")s", false, |c| {
                c.is_ascii_alphanumeric() || c == '_'
            })
        };
        assert!(field("ghcr.io/app/%(type)s:%(version)s"));
        assert!(!field("100%()s"));
    }
}
