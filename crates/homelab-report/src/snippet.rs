//! Source lines for snippets: found in constant time, capped in length, and escaped.
//!
//! Every format that shows a source line takes it from here, so three promises hold
//! everywhere: a file with many findings costs one scan (a line index per file, not a walk
//! from the start per finding); a line is never echoed whole when it is long (a window of
//! [`MAX_SNIPPET_CHARS`] around the column, marked with `…`); and control characters are
//! shown as visible escapes. Secret values are masked before the text reaches the report
//! (the caller's [`SourceLookup`] holds redacted text).

use crate::escape::push_terminal;
use crate::SourceLookup;
use std::collections::HashMap;

/// The most characters of a source line a snippet shows.
pub const MAX_SNIPPET_CHARS: usize = 160;
/// How many characters before the column a window keeps when the line is cut.
const LEAD: usize = 40;

/// Line lookups over a [`SourceLookup`], with one line index per file.
pub(crate) struct Snippets<'a> {
    sources: &'a dyn SourceLookup,
    starts: HashMap<String, Vec<usize>>,
}

/// One source line ready to print.
pub(crate) struct Line {
    /// The displayed text: escaped, possibly cut with `…` at either end.
    pub text: String,
    /// Display offset (in characters) of each source character shown, plus one past the end.
    offsets: Vec<usize>,
    /// Index of the first source character shown.
    first: usize,
    /// The source characters shown (for tab-preserving padding and token width).
    chars: Vec<char>,
}

impl<'a> Snippets<'a> {
    pub fn new(sources: &'a dyn SourceLookup) -> Self {
        Snippets {
            sources,
            starts: HashMap::new(),
        }
    }

    /// Line `line` (1-based) of `file`, prepared for display around `column`.
    pub fn line_at(&mut self, file: &str, line: u32, column: u32) -> Option<Line> {
        if line == 0 {
            return None;
        }
        let text = self.sources.source_text(file)?;
        let starts = self
            .starts
            .entry(file.to_string())
            .or_insert_with(|| line_starts(text));
        let index = line as usize - 1;
        let start = *starts.get(index)?;
        let end = starts.get(index + 1).map_or(text.len(), |next| next - 1);
        let raw = text.get(start..end)?;
        let raw = raw.strip_suffix('\n').unwrap_or(raw);
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        Some(Line::new(raw, column))
    }

    /// Line `line` of `file`, cut (if needed) from its start.
    #[cfg(test)]
    pub fn line(&mut self, file: &str, line: u32) -> Option<Line> {
        self.line_at(file, line, 1)
    }
}

/// Byte offsets where each line starts (as `str::lines` splits them).
fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(
        text.bytes()
            .enumerate()
            .filter(|(_, b)| *b == b'\n')
            .map(|(i, _)| i + 1)
            .filter(|&i| i < text.len()),
    );
    starts
}

impl Line {
    fn new(raw: &str, column: u32) -> Line {
        let focus = (column.max(1) - 1) as usize;
        // Only the window is ever decoded: a 30 MB line costs what its window costs, plus the
        // scan to find the window.
        let first = focus.saturating_sub(LEAD);
        let mut chars: Vec<char> = raw
            .chars()
            .skip(first)
            .take(MAX_SNIPPET_CHARS + 1)
            .collect();
        let first = if chars.is_empty() && first > 0 {
            // The column is past the end of the line: show the line's start instead.
            chars = raw.chars().take(MAX_SNIPPET_CHARS + 1).collect();
            0
        } else {
            first
        };
        let cut_end = chars.len() > MAX_SNIPPET_CHARS;
        chars.truncate(MAX_SNIPPET_CHARS);
        let mut text = String::new();
        if first > 0 {
            text.push('…');
        }
        let mut offsets = Vec::with_capacity(chars.len() + 1);
        let mut at = usize::from(first > 0);
        for &c in &chars {
            offsets.push(at);
            at += push_terminal(&mut text, c);
        }
        offsets.push(at);
        if cut_end {
            text.push('…');
        }
        Line {
            text,
            offsets,
            first,
            chars,
        }
    }

    /// Whitespace that puts the next character under source column `column` (tabs kept so
    /// that the caret lines up whatever the terminal's tab width).
    pub fn pad(&self, column: u32) -> String {
        let focus = (column.max(1) - 1) as usize;
        let shown = focus.saturating_sub(self.first).min(self.chars.len());
        let mut pad = String::new();
        if self.first > 0 {
            pad.push(' ');
        }
        for (i, &c) in self.chars[..shown].iter().enumerate() {
            let width = self.offsets[i + 1] - self.offsets[i];
            if c == '\t' {
                pad.push('\t');
            } else {
                pad.extend(std::iter::repeat_n(' ', width));
            }
        }
        pad
    }

    /// Display width of the token that starts at `column` (up to whitespace, `:` or `,`),
    /// at least 1.
    pub fn token_width(&self, column: u32) -> usize {
        let focus = (column.max(1) - 1) as usize;
        let Some(start) = focus.checked_sub(self.first) else {
            return 1;
        };
        if start >= self.chars.len() {
            return 1;
        }
        let len = self.chars[start..]
            .iter()
            .take_while(|c| !c.is_whitespace() && **c != ':' && **c != ',')
            .count();
        (self.offsets[start + len] - self.offsets[start]).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn one(text: &str) -> HashMap<String, String> {
        HashMap::from([("f".to_string(), text.to_string())])
    }

    #[test]
    fn lines_are_found_like_str_lines() {
        let src = one("a\r\nbb\n\nccc");
        let mut s = Snippets::new(&src);
        assert_eq!(s.line("f", 1).unwrap().text, "a");
        assert_eq!(s.line("f", 2).unwrap().text, "bb");
        assert_eq!(s.line("f", 3).unwrap().text, "");
        assert_eq!(s.line("f", 4).unwrap().text, "ccc");
        assert!(s.line("f", 5).is_none());
        assert!(s.line("f", 0).is_none());
        assert!(s.line("missing", 1).is_none());
        let src = one("x\n");
        assert!(Snippets::new(&src).line("f", 2).is_none());
        assert_eq!(Snippets::new(&src).line("f", 1).unwrap().text, "x");
    }

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let long = format!("{}TARGET{}", "a".repeat(10_000), "b".repeat(10_000));
        let src = one(&long);
        let mut s = Snippets::new(&src);
        let line = s.line_at("f", 1, 10_001).unwrap();
        assert!(line.text.chars().count() <= MAX_SNIPPET_CHARS + 2);
        assert!(line.text.starts_with('…') && line.text.ends_with('…'));
        let pad = line.pad(10_001);
        assert_eq!(&line.text[pad.len() - 1 + '…'.len_utf8()..][..6], "TARGET");
        assert_eq!(line.token_width(10_001), MAX_SNIPPET_CHARS - LEAD);
    }

    #[test]
    fn controls_are_escaped_and_the_caret_follows() {
        let src = one("k: \x1b[2Jv");
        let mut s = Snippets::new(&src);
        let line = s.line_at("f", 1, 8).unwrap();
        assert_eq!(line.text, "k: \\x1b[2Jv");
        assert_eq!(line.pad(8), " ".repeat(10));
        assert_eq!(line.token_width(4), 8);
    }
}
