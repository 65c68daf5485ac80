//! [`Document`]s to YAML text laid out the way sops 3.x writes it (go-yaml v3 with an indent
//! of 4 by default): comments before an entry above it, comments after the last entry of a
//! collection at its end, sequences indented under their key, and each string in the style
//! go-yaml picks (plain when it reads back as the same string, double quotes for text that
//! would read as another type, single quotes when plain is not possible, literal blocks for
//! multi-line text). The same input tree gives the same bytes as `sops`.

use crate::tree::{go_float_yaml, Document, Item, Node, Value};

/// A node shaped like a go-yaml `yaml.Node` as sops builds it: comments are head comments of
/// the next key or item, or foot comments of the last one.
enum Out {
    Scalar(String, Kind),
    Map(Vec<(Vec<String>, String, Out)>, Vec<String>, Vec<String>),
    Seq(Vec<(Vec<String>, Out)>, Vec<String>, Vec<String>),
}

/// How a scalar came to be, which decides its style.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A string: style by content.
    Str,
    /// An int, float, bool, null or timestamp: always plain.
    Plain,
}

fn comment_line(text: &str) -> String {
    format!("#{text}")
}

fn scalar_of(value: &Value) -> Option<(String, Kind)> {
    Some(match value {
        Value::Null => ("null".to_owned(), Kind::Plain),
        Value::Bool(b) => (b.to_string(), Kind::Plain),
        Value::Int(i) => (i.to_string(), Kind::Plain),
        Value::Float(f) => (go_float_yaml(*f), Kind::Plain),
        Value::Time(t) => (t.clone(), Kind::Plain),
        Value::Str(s) | Value::Comment(s) => (s.clone(), Kind::Str),
        Value::Map(_) | Value::Seq(_) => return None,
    })
}

/// sops's `appendTreeBranch` / `appendSequence`: comments before the first entry are the
/// collection's head comment, comments before another entry its head comment, comments after
/// the last entry its foot comment.
fn shape(node: &Node) -> Out {
    match &node.value {
        Value::Map(items) => shape_map(items),
        Value::Seq(items) => {
            let mut head = Vec::new();
            let mut out = Vec::new();
            let mut comments = Vec::new();
            for item in items {
                if let Value::Comment(c) = &item.value {
                    comments.push(comment_line(c));
                    continue;
                }
                if out.is_empty() {
                    head = std::mem::take(&mut comments);
                }
                out.push((std::mem::take(&mut comments), shape(item)));
            }
            if out.is_empty() {
                head = comments;
                comments = Vec::new();
            }
            Out::Seq(out, head, comments)
        }
        other => {
            let (text, kind) = scalar_of(other).unwrap_or_else(|| ("null".to_owned(), Kind::Plain));
            Out::Scalar(text, kind)
        }
    }
}

fn shape_map(items: &[Item]) -> Out {
    let mut head = Vec::new();
    let mut out = Vec::new();
    let mut comments = Vec::new();
    for item in items {
        match item {
            Item::Comment { text, .. } => comments.push(comment_line(text)),
            Item::Entry { key, value, .. } => {
                if out.is_empty() {
                    head = std::mem::take(&mut comments);
                }
                out.push((std::mem::take(&mut comments), key.clone(), shape(value)));
            }
        }
    }
    if out.is_empty() {
        head = comments;
        comments = Vec::new();
    }
    Out::Map(out, head, comments)
}

/// Writes `docs` with `indent` spaces per level (sops's default is 4).
pub fn emit(docs: &[Document], indent: usize) -> String {
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
        foot_indent: -1,
        best_indent: indent.clamp(2, 9) as isize,
    };
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 {
            e.write_indent(0);
            e.write_indicator("---", true, false, false);
            e.write_indent(0);
        }
        let root = shape_map(&doc.items);
        let Out::Map(entries, head, foot) = root else {
            unreachable!("shape_map returns a map")
        };
        e.write_comments(0, &head);
        e.emit_map(&entries, &foot, -1, Context::Root);
        // Document end.
        e.foot_indent = -1;
        e.write_indent(0);
    }
    e.out
}

/// Where a node is written: it decides the indentation of what it contains.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Root,
    MappingValue,
    SequenceItem,
}

struct Emitter {
    out: String,
    /// Column in characters.
    column: isize,
    whitespace: bool,
    indention: bool,
    /// Indent of the last foot comment: the next line at that indent is preceded by a blank.
    foot_indent: isize,
    best_indent: isize,
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
        self.indention = true;
    }

    fn write_indent(&mut self, indent: isize) {
        let indent = indent.max(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        if self.foot_indent == indent {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.foot_indent = -1;
    }

    fn write_indicator(
        &mut self,
        s: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in s.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    /// go-yaml's `yaml_emitter_write_comment` for lines that each start with `#`.
    fn write_comments(&mut self, indent: isize, lines: &[String]) {
        if lines.is_empty() {
            return;
        }
        self.write_indent(indent);
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                self.write_indent(indent);
            }
            for c in line.chars() {
                self.put(c);
            }
            self.indention = false;
            self.put_break();
        }
        self.whitespace = true;
    }

    /// The indent of a collection or scalar written in `context` under `indent`.
    fn increase(&self, indent: isize, context: Context) -> isize {
        if indent < 0 {
            return 0;
        }
        match context {
            Context::SequenceItem => indent + 2,
            Context::Root | Context::MappingValue => {
                self.best_indent * ((indent + self.best_indent) / self.best_indent)
            }
        }
    }

    fn emit_node(&mut self, node: &Out, parent_indent: isize, context: Context) {
        match node {
            Out::Scalar(text, kind) => {
                let indent = self.increase(parent_indent, context);
                self.emit_scalar(text, *kind, indent, false);
            }
            Out::Map(entries, head, foot) => {
                if entries.is_empty() {
                    self.write_indicator("{", true, true, false);
                    self.write_indicator("}", false, false, false);
                    if !head.is_empty() || !foot.is_empty() {
                        let mut all = head.clone();
                        all.extend(foot.iter().cloned());
                        self.put_break();
                        self.write_comments(parent_indent.max(0), &all);
                    }
                    return;
                }
                let indent = self.increase(parent_indent, context);
                self.write_comments(indent, head);
                self.emit_map(entries, foot, parent_indent, context);
            }
            Out::Seq(items, head, foot) => {
                if items.is_empty() {
                    self.write_indicator("[", true, true, false);
                    self.write_indicator("]", false, false, false);
                    if !head.is_empty() || !foot.is_empty() {
                        let mut all = head.clone();
                        all.extend(foot.iter().cloned());
                        self.put_break();
                        self.write_comments(parent_indent.max(0), &all);
                    }
                    return;
                }
                let indent = self.increase(parent_indent, context);
                self.write_comments(indent, head);
                for (i, (item_head, item)) in items.iter().enumerate() {
                    self.write_comments(indent, item_head);
                    self.write_indent(indent);
                    self.write_indicator("-", true, false, true);
                    self.emit_node(item, indent, Context::SequenceItem);
                    if i + 1 == items.len() && !foot.is_empty() {
                        self.write_comments(indent, foot);
                        self.foot_indent = indent;
                    }
                }
            }
        }
    }

    /// The entries of a non-empty block map (its head comment already written).
    fn emit_map(
        &mut self,
        entries: &[(Vec<String>, String, Out)],
        foot: &[String],
        parent_indent: isize,
        context: Context,
    ) {
        let indent = self.increase(parent_indent, context);
        for (key_head, key, value) in entries {
            self.write_comments(indent, key_head);
            self.write_indent(indent);
            let simple = key.chars().count() <= 128 && !analyze(key).multiline;
            if simple {
                self.emit_scalar(key, Kind::Str, indent, true);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                let key_indent = self.increase(indent, Context::MappingValue);
                self.emit_scalar(key, Kind::Str, key_indent, false);
                self.write_indent(indent);
                self.write_indicator(":", true, false, true);
            }
            self.emit_node(value, indent, Context::MappingValue);
        }
        if !foot.is_empty() {
            self.write_comments(indent, foot);
            self.foot_indent = indent;
        }
    }

    fn emit_scalar(&mut self, text: &str, kind: Kind, indent: isize, simple_key: bool) {
        let a = analyze(text);
        let mut style = match kind {
            Kind::Plain => Style::Plain,
            Kind::Str if text.contains('\n') => Style::Literal,
            Kind::Str if can_use_plain(text) => Style::Plain,
            Kind::Str => Style::Double,
        };
        if simple_key && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain {
            if !a.block_plain_allowed {
                style = Style::Single;
            }
            if text.is_empty() && simple_key {
                style = Style::Single;
            }
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block_allowed || simple_key) {
            style = Style::Double;
        }
        match style {
            Style::Plain => {
                if !text.is_empty() && !self.whitespace {
                    self.put(' ');
                }
                // sops builds each scalar by encoding and re-parsing it with go-yaml, which
                // tags a plain `<<` as a merge key: it comes out as `!!merge <<`.
                if kind == Kind::Str && text == "<<" {
                    for c in "!!merge ".chars() {
                        self.put(c);
                    }
                }
                for c in text.chars() {
                    self.put(c);
                }
                if !text.is_empty() {
                    self.whitespace = false;
                }
                self.indention = false;
            }
            Style::Single => {
                self.write_indicator("'", true, false, false);
                for c in text.chars() {
                    if c == '\'' {
                        self.put('\'');
                    }
                    self.put(c);
                }
                self.write_indicator("'", false, false, false);
                self.whitespace = false;
                self.indention = false;
            }
            Style::Double => {
                self.write_indicator("\"", true, false, false);
                let starts_with_bom = text.starts_with('\u{feff}');
                for c in text.chars() {
                    if !is_printable(c) || starts_with_bom || is_break(c) || c == '"' || c == '\\' {
                        self.put('\\');
                        let escaped = match c {
                            '\0' => Some('0'),
                            '\u{7}' => Some('a'),
                            '\u{8}' => Some('b'),
                            '\t' => Some('t'),
                            '\n' => Some('n'),
                            '\u{b}' => Some('v'),
                            '\u{c}' => Some('f'),
                            '\r' => Some('r'),
                            '\u{1b}' => Some('e'),
                            '"' => Some('"'),
                            '\\' => Some('\\'),
                            '\u{85}' => Some('N'),
                            '\u{a0}' => Some('_'),
                            '\u{2028}' => Some('L'),
                            '\u{2029}' => Some('P'),
                            _ => None,
                        };
                        match escaped {
                            Some(e) => self.put(e),
                            None => {
                                let v = c as u32;
                                let (letter, width) = if v <= 0xFF {
                                    ('x', 2)
                                } else if v <= 0xFFFF {
                                    ('u', 4)
                                } else {
                                    ('U', 8)
                                };
                                self.put(letter);
                                for ch in format!("{v:0width$X}").chars() {
                                    self.put(ch);
                                }
                            }
                        }
                    } else {
                        self.put(c);
                    }
                }
                self.write_indicator("\"", false, false, false);
                self.whitespace = false;
                self.indention = false;
            }
            Style::Literal => {
                self.write_indicator("|", true, false, false);
                let first = text.chars().next();
                if first.is_some_and(|c| c == ' ' || is_break(c)) {
                    let hint = char::from_digit(self.best_indent as u32, 10).unwrap_or('4');
                    self.write_indicator(&hint.to_string(), false, false, false);
                }
                let chomp = chomp_hint(text);
                if let Some(h) = chomp {
                    self.write_indicator(h, false, false, false);
                }
                self.put_break();
                self.whitespace = true;
                let mut breaks = true;
                for c in text.chars() {
                    if is_break(c) {
                        if c == '\n' {
                            self.put_break();
                        } else {
                            self.out.push(c);
                            self.column = 0;
                            self.indention = true;
                        }
                        breaks = true;
                    } else {
                        if breaks {
                            self.write_indent(indent);
                        }
                        self.put(c);
                        self.indention = false;
                        breaks = false;
                    }
                }
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// `|`, `|-` or `|+` as go-yaml picks it.
fn chomp_hint(text: &str) -> Option<&'static str> {
    let mut rev = text.chars().rev();
    match rev.next() {
        None => Some("-"),
        Some(last) if !is_break(last) => Some("-"),
        Some(_) => match rev.next() {
            None => Some("+"),
            Some(prev) if is_break(prev) => Some("+"),
            Some(_) => None,
        },
    }
}

/// go-yaml's `is_printable` (tab and the breaks other than `\n` are not).
fn is_printable(c: char) -> bool {
    matches!(c as u32,
        0x0A | 0x20..=0x7E | 0xA0..=0xD7FF | 0xE000..=0xFFFD)
        && c != '\u{feff}'
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// go-yaml's `stringv`: a string may be written plain when, unquoted, it reads back as the
/// same string (and is not a YAML 1.1 bool or base-60 number, quoted for older readers).
fn can_use_plain(s: &str) -> bool {
    let reads_as_string = matches!(
        crate::resolve::resolve(s, crate::resolve::Style::Plain, &crate::resolve::Tag::None),
        Ok(Value::Str(_))
    );
    reads_as_string && !is_old_bool(s) && !is_base60_float(s)
}

fn is_old_bool(s: &str) -> bool {
    matches!(
        s,
        "y" | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "on"
            | "On"
            | "ON"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "off"
            | "Off"
            | "OFF"
    )
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() && i - start < 2 {
            i += 1;
        }
        let group = &s[start..i];
        let ok = match group.len() {
            1 => true,
            2 => group.as_bytes()[0] <= b'5',
            _ => false,
        };
        if !ok {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// What go-yaml's `yaml_emitter_analyze_scalar` allows for a value.
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = value.starts_with("---") || value.starts_with("...");
    let mut line_breaks = false;
    let mut special = false;
    let mut tabs = false;
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let chars: Vec<char> = value.chars().collect();
    let mut preceded_by_whitespace = true;
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied();
        let followed_by_whitespace = next.is_none_or(|n| n == ' ' || n == '\t' || is_break(n));
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => block_indicators = true,
                '?' | ':' if followed_by_whitespace => block_indicators = true,
                '-' if followed_by_whitespace => block_indicators = true,
                _ => {}
            }
        } else {
            match c {
                ':' if followed_by_whitespace => block_indicators = true,
                '#' if preceded_by_whitespace => block_indicators = true,
                _ => {}
            }
        }
        if c == '\t' {
            tabs = true;
        } else if !is_printable(c) {
            special = true;
        }
        let last = i + 1 == chars.len();
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if last {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if last {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = c == ' ' || c == '\t' || is_break(c) || c == '\0';
    }
    let mut a = Analysis {
        multiline: line_breaks,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || tabs || special {
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_allowed = false;
    }
    if line_breaks || block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml_read::parse;

    fn roundtrip(text: &str) -> String {
        emit(&parse(text).unwrap(), 4)
    }

    #[test]
    fn writes_like_sops() {
        // The decrypted probe file, as `sops --decrypt` printed it.
        let input = "# top comment\n# line comment a\na: 2024-01-01T00:00:00Z\nb: 2024-01-01T10:00:00.5+02:00\nc: 31\nf: 2\ng: 1e+20\nh: \"yes\"\ni: .inf\nk: 'quoted # not comment'\nl: this is a long string with many words that will go over eighty characters for sure maybe more words\nm: |\n    block\n    scalar\n# comment before n\n\"n\":\n    # on x\n    - x\n    # before y\n    - \"y\"\n    - p: 1\n      q:\n        - 1\n        - 2\no: null\np: \"123\"\ns: '  x'\nt: \"tab\\there\"\nu: \"\"\nw: it's\nx: \"ü€\\U0001F600\"\n\"y\": 'a: b'\n";
        assert_eq!(roundtrip(input), input);
    }

    #[test]
    fn the_shared_decrypted_vector_layout() {
        let input = "# Kubernetes Secret used as SOPS interop vector (TEST data only)\napiVersion: v1\nkind: Secret\nmetadata:\n    name: db-secret\n    namespace: app\n    labels:\n        app.kubernetes.io/name: db\ntype: Opaque\ndata:\n    # base64 of \"admin\"\n    username: YWRtaW4=\n    password: cDRzc3cwcmQh\nstringData:\n    DB_HOST: db.app.svc.cluster.local\n    greeting: \"héllo wörld — 你好 \\U0001F510\"\n    empty: \"\"\n    config.yaml: |\n        port: 5432\n        sslmode: require\n    spaces: '  leading and trailing  '\n";
        assert_eq!(roundtrip(input), input);
        let multi = "a: 1\n---\nb: 2\n";
        assert_eq!(roundtrip(multi), multi);
    }

    #[test]
    fn styles() {
        assert_eq!(roundtrip("a: \"x\\n\"\n"), "a: |\n    x\n");
        assert_eq!(roundtrip("a: \"x\"\n"), "a: x\n");
        assert_eq!(roundtrip("a: \"x\\n\\n\"\n"), "a: |+\n    x\n\n");
        assert_eq!(roundtrip("a: \" x\\ny\"\n"), "a: |4-\n     x\n    y\n");
        assert_eq!(roundtrip("a: \"x \\ny\"\n"), "a: \"x \\ny\"\n");
        assert_eq!(roundtrip("a: \"12:30\"\n"), "a: \"12:30\"\n");
        assert_eq!(roundtrip("a: \"- x\"\n"), "a: '- x'\n");
        assert_eq!(roundtrip("a: []\nb: {}\n"), "a: []\nb: {}\n");
        assert_eq!(roundtrip("\"\": x\n"), "\"\": x\n");
        // What sops 3.11.0 writes for an expanded merge key.
        assert_eq!(roundtrip("m:\n  <<: 1\n"), "m:\n    !!merge <<: 1\n");
    }
}
