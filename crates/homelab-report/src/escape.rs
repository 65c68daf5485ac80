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
/// `\u{202e}`, and text that a CI runner would take for a command is defused
/// ([`ci_commands`]). Text without either is returned unchanged.
pub fn terminal(text: &str) -> Cow<'_, str> {
    match controls(text) {
        Cow::Borrowed(b) => ci_commands(b),
        Cow::Owned(o) => Cow::Owned(ci_commands(&o).into_owned()),
    }
}

/// [`terminal`] without the CI rule: control characters only.
fn controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_terminal(&mut out, c);
    }
    Cow::Owned(out)
}

/// One line of output that a CI runner reads from a job's log, defused. GitHub Actions takes a
/// line whose text starts with `::` (after leading spaces) for a workflow command
/// (`::error::` fakes an annotation, `::add-mask::` hides text, `::stop-commands::` turns the
/// log off), and `##[` anywhere in a line for the older form of a command, as Azure Pipelines
/// does `##vso[`. Such text is written with a backslash, `\::error::` and `#\#[error]`, so
/// that it shows what the repository holds and commands nothing.
pub fn ci_commands(line: &str) -> Cow<'_, str> {
    let body = line.trim_start();
    let leading = body.starts_with("::");
    if !leading && !line.contains("##") {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 4);
    let indent = line.len() - body.len();
    out.push_str(&line[..indent]);
    if leading {
        out.push('\\');
    }
    let mut rest = body;
    while let Some(at) = rest.find("##") {
        let after = &rest[at + 2..];
        out.push_str(&rest[..at]);
        if after.starts_with('[') || after.starts_with("vso[") {
            out.push_str("#\\#");
        } else {
            out.push_str("##");
        }
        rest = after;
    }
    out.push_str(rest);
    if out == line {
        Cow::Borrowed(line)
    } else {
        Cow::Owned(out)
    }
}

/// A file name (or a `file:line:col` location) that starts a line of text output: escaped
/// like [`terminal`], and written `./::…` when it starts with `::` (see [`ci_commands`]), so
/// the name still reads as a path.
pub fn terminal_file(name: &str) -> Cow<'_, str> {
    let escaped = controls(name);
    if escaped.trim_start().starts_with("::") {
        Cow::Owned(ci_commands(&format!("./{escaped}")).into_owned())
    } else {
        match escaped {
            Cow::Borrowed(b) => ci_commands(b),
            Cow::Owned(o) => Cow::Owned(ci_commands(&o).into_owned()),
        }
    }
}

/// Like [`terminal`] for text of several lines (an error with its context): line breaks are
/// kept, every other control character is escaped, and each line is defused for CI
/// ([`ci_commands`]).
pub fn terminal_lines(text: &str) -> Cow<'_, str> {
    let needs_ci =
        text.contains("##") || text.split('\n').any(|l| l.trim_start().starts_with("::"));
    if !needs_ci && !text.chars().any(|c| c != '\n' && is_unsafe(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut escaped = String::with_capacity(line.len());
        for c in line.chars() {
            push_terminal(&mut escaped, c);
        }
        out.push_str(&ci_commands(&escaped));
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

    #[test]
    fn ci_commands_are_defused_wherever_a_runner_reads_them() {
        assert_eq!(
            ci_commands("::error title=All clear::x"),
            "\\::error title=All clear::x"
        );
        assert_eq!(
            ci_commands("   ::add-mask::secret"),
            "   \\::add-mask::secret"
        );
        assert_eq!(
            ci_commands("see ##[error]x and ##vso[task.complete]"),
            "see #\\#[error]x and #\\#vso[task.complete]"
        );
        assert_eq!(ci_commands("a::b ## c ###"), "a::b ## c ###");
        assert!(matches!(ci_commands("plain"), Cow::Borrowed(_)));
        assert_eq!(terminal("::stop-commands::t"), "\\::stop-commands::t");
        assert_eq!(
            terminal_lines("ok\n  ::error::x\n##[warning]y"),
            "ok\n  \\::error::x\n#\\#[warning]y"
        );
        assert_eq!(terminal_file("::error::x.yaml"), "./::error::x.yaml");
        assert_eq!(terminal_file("  ::error::x.yaml"), "./  ::error::x.yaml");
        assert_eq!(terminal_file("a/##[error]b.yaml"), "a/#\\#[error]b.yaml");
        // No output line of a defused text starts a command.
        for text in ["::a", " \t::b", "x\n::c\n \u{1b}::d", "\u{1b}[2J::e"] {
            for line in terminal_lines(text).split('\n') {
                assert!(!line.trim_start().starts_with("::"), "{line:?}");
                assert!(!line.contains("##["), "{line:?}");
            }
        }
    }
}
