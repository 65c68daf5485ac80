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
