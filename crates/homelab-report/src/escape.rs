//! The one place where untrusted text (file names, source lines, values quoted in messages) is
//! made safe for where it is printed: markup (XML for JUnit, HTML) and the terminal.
//!
//! A repository is attacker-controlled: a file name or a line holding `ESC [ 2 J` would clear
//! the screen of whoever reads the report and could print a fake "All clear"; a right-to-left
//! override reorders what is shown. Both are escaped into visible text.

use std::borrow::Cow;

/// Characters that change how the text around them is displayed: bidirectional overrides and
/// isolates (the "Trojan Source" characters) and the line and paragraph separators.
fn is_display_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

/// Whether `c` must not reach a terminal or a markup document as is. Tab is harmless.
pub(crate) fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\t') || is_display_control(c)
}

/// Escape text for XML/HTML element content and attribute values. Control characters (which
/// XML 1.0 cannot carry) and display controls become U+FFFD.
pub fn markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push(c),
            c if is_unsafe(c) || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Escape text for one line of a terminal: every control character (including newline and
/// carriage return) and display control is written as a visible escape such as `\x1b` or
/// `\u{202e}`. Text without such characters is returned unchanged.
pub fn terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_terminal(&mut out, c);
    }
    Cow::Owned(out)
}

/// A file name (or a `file:line:col` location) that starts a line of text output: escaped
/// like [`terminal`], and written `./::…` when it starts with `::`, which CI runners (GitHub
/// Actions) take at the start of a line for a command (`::error::`, `::add-mask::`,
/// `::stop-commands::`): a repository's file name cannot fake an annotation or hide the log.
pub fn terminal_file(name: &str) -> Cow<'_, str> {
    let escaped = terminal(name);
    if escaped.starts_with("::") {
        Cow::Owned(format!("./{escaped}"))
    } else {
        escaped
    }
}

/// Like [`terminal`] for text of several lines (an error with its context): line breaks are
/// kept, every other control character is escaped.
pub fn terminal_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c == '\n' {
            out.push(c);
        } else {
            push_terminal(&mut out, c);
        }
    }
    Cow::Owned(out)
}

/// Append `c` to `out`, escaped for a terminal when needed; returns how many characters were
/// written (for caret alignment under escaped text).
pub(crate) fn push_terminal(out: &mut String, c: char) -> usize {
    if !is_unsafe(c) {
        out.push(c);
        return 1;
    }
    let escaped = match c {
        '\n' => "\\n".to_string(),
        '\r' => "\\r".to_string(),
        c if (c as u32) < 0x100 => format!("\\x{:02x}", c as u32),
        c => format!("\\u{{{:04x}}}", c as u32),
    };
    out.push_str(&escaped);
    escaped.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_controls() {
        assert_eq!(
            markup("a<b & \"c\" 'd'\u{1}\u{202e}"),
            "a&lt;b &amp; &quot;c&quot; &#39;d&#39;\u{FFFD}\u{FFFD}"
        );
    }

    #[test]
    fn terminal_escapes_every_control_visibly() {
        assert_eq!(terminal("plain\ttext"), "plain\ttext");
        assert!(matches!(terminal("plain"), Cow::Borrowed(_)));
        assert_eq!(
            terminal("a\x1b[2J\rb\nc\u{7f}\u{9b}\u{202e}"),
            "a\\x1b[2J\\rb\\nc\\x7f\\x9b\\u{202e}"
        );
        assert_eq!(terminal_lines("a\nb\x1b"), "a\nb\\x1b");
    }
}
