//! Text from a repository or a cluster on its way to a terminal: file names, object names,
//! messages that quote values. Every human-readable line that carries such text goes through
//! these, so that a crafted name cannot move the cursor, clear the screen or fake a result.

use std::borrow::Cow;

/// One line: every control character is shown as an escape (`\x1b`).
pub fn safe(text: &str) -> Cow<'_, str> {
    homelab_report::escape::terminal(text)
}

/// Several lines (an error with its snippet): line breaks kept, other controls escaped.
pub fn safe_lines(text: &str) -> Cow<'_, str> {
    homelab_report::escape::terminal_lines(text)
}

/// The longest line of an error message that is printed whole: a parser's error quotes the
/// source line, which a repository can make megabytes long.
const MAX_ERROR_LINE_CHARS: usize = 300;

/// An error message for the terminal: control characters escaped ([`safe_lines`]) and every
/// line cut to [`MAX_ERROR_LINE_CHARS`] characters, saying how many were left out.
pub fn error_text(text: &str) -> String {
    let safe = safe_lines(text);
    let mut out = String::with_capacity(safe.len().min(64 * 1024));
    for (i, line) in safe.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match line.char_indices().nth(MAX_ERROR_LINE_CHARS) {
            None => out.push_str(line),
            Some((cut, _)) => {
                let left_out = line[cut..].chars().count();
                out.push_str(&line[..cut]);
                out.push_str(&format!("… ({left_out} more characters)"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines_are_escaped_and_capped() {
        let long = format!("bad {}\u{1b}[2J\nnext", "A".repeat(10_000));
        let text = error_text(&long);
        assert!(!text.contains('\u{1b}'));
        let first = text.lines().next().unwrap();
        assert!(first.chars().count() < MAX_ERROR_LINE_CHARS + 40, "{first}");
        assert!(first.ends_with("more characters)"), "{first}");
        assert_eq!(text.lines().nth(1), Some("next"));
        assert_eq!(error_text("short\nlines"), "short\nlines");
    }
}
