//! The code of a CEL expression as opposed to its string literals, for the few places that
//! read an expression's text without parsing it (its nesting and size bounds, the identifiers
//! it names, where a `$(...)` placeholder ends).

/// The characters of `source` that are code, with their byte offsets: everything but the
/// inside of string literals. A literal's opening quote (`"` or `'`) is yielded; its
/// contents, escapes (`\'`, `\\`, ...) and closing quote are not.
pub fn code_chars(source: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let mut chars = source.char_indices();
    let mut quote: Option<char> = None;
    std::iter::from_fn(move || {
        while let Some((at, c)) = chars.next() {
            match quote {
                Some(_) if c == '\\' => {
                    chars.next();
                }
                Some(q) => {
                    if c == q {
                        quote = None;
                    }
                }
                None => {
                    if c == '"' || c == '\'' {
                        quote = Some(c);
                    }
                    return Some((at, c));
                }
            }
        }
        None
    })
}

/// (byte offset, identifier, whether an `(` follows, ASCII spaces aside) of every identifier
/// in the code of `source`.
pub fn identifiers(source: &str) -> impl Iterator<Item = (usize, &str, bool)> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut code = code_chars(source).peekable();
    std::iter::from_fn(move || {
        while let Some((start, c)) = code.next() {
            if !(c.is_ascii_alphabetic() || c == '_') {
                continue;
            }
            let mut end = start + 1;
            while let Some((at, c)) = code.next_if(|&(_, c)| is_word(c)) {
                end = at + c.len_utf8();
            }
            let call = source[end..]
                .trim_start_matches(|c: char| c.is_ascii_whitespace())
                .starts_with('(');
            return Some((start, &source[start..end], call));
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_literals_are_not_code() {
        let code: String = code_chars(r#"a + 'b(c' + "d\"e" + f"#)
            .map(|(_, c)| c)
            .collect();
        assert_eq!(code, r#"a + ' + " + f"#);
        let offsets: Vec<usize> = code_chars("é'y'z").map(|(i, _)| i).collect();
        assert_eq!(offsets, [0, 2, 5]);
        // An escaped quote does not end the literal; an unterminated one runs to the end.
        assert_eq!(code_chars(r"'a\'b' c").count(), 3);
        assert_eq!(code_chars("x 'open").count(), 3);
    }

    #[test]
    fn identifiers_outside_literals_with_their_calls() {
        let found: Vec<_> = identifiers("self.all(x, 'exists(' == x1) && size (y)").collect();
        assert_eq!(
            found,
            [
                (0, "self", false),
                (5, "all", true),
                (9, "x", false),
                (25, "x1", false),
                (32, "size", true),
                (38, "y", false),
            ]
        );
        assert_eq!(
            identifiers("1abc _d")
                .map(|(_, id, _)| id)
                .collect::<Vec<_>>(),
            ["abc", "_d"]
        );
    }
}
