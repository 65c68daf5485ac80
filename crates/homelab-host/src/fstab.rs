//! Reading and editing `/etc/fstab` (fstab(5)) without disturbing it: the file is kept as
//! lines with their exact bytes and terminators, so an edit touches only the one entry for the
//! Longhorn mountpoint and every other line (comments, tabs, CRLF, odd spacing) stays
//! byte-for-byte. Pure: text in, text out.

use crate::mountinfo::unescape_octal;

/// One physical line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line without its terminator.
    pub text: String,
    /// `"\n"`, `"\r\n"` or `""` (last line without a newline).
    pub terminator: &'static str,
    /// The parsed entry, `None` for comments, blank and malformed lines.
    pub entry: Option<Entry>,
}

/// A mount entry. `file` is unescaped (`\040` -> space).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    pub spec: String,
    pub file: String,
    pub vfstype: String,
    pub options: Vec<String>,
    pub freq: String,
    pub passno: String,
    /// 1-based line number.
    pub line: usize,
}

/// A parsed fstab that can be written back exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fstab {
    pub lines: Vec<Line>,
}

/// A line that is neither a comment nor a usable entry (fewer than two fields).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}: {text:?}")]
pub struct Malformed {
    pub line: usize,
    pub message: String,
    pub text: String,
}

impl Fstab {
    pub fn parse(text: &str) -> Fstab {
        let mut lines = Vec::new();
        for (idx, chunk) in text.split_inclusive('\n').enumerate() {
            let (body, terminator) = if let Some(b) = chunk.strip_suffix("\r\n") {
                (b, "\r\n")
            } else if let Some(b) = chunk.strip_suffix('\n') {
                (b, "\n")
            } else {
                (chunk, "")
            };
            lines.push(Line {
                text: body.to_string(),
                terminator,
                entry: parse_entry(body, idx + 1),
            });
        }
        Fstab { lines }
    }

    /// The file's bytes, exactly as parsed plus any edits.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            out.push_str(&l.text);
            out.push_str(l.terminator);
        }
        out
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.lines.iter().filter_map(|l| l.entry.as_ref())
    }

    /// Lines that are not comments or blank but do not hold at least `spec file`.
    pub fn malformed(&self) -> Vec<Malformed> {
        self.lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.entry.is_none() && !is_comment_or_blank(&l.text))
            .map(|(i, l)| Malformed {
                line: i + 1,
                message: "entry needs at least a device and a mountpoint".into(),
                text: l.text.clone(),
            })
            .collect()
    }

    /// Every entry whose mountpoint is `mountpoint` (trailing slashes ignored).
    pub fn entries_for(&self, mountpoint: &str) -> Vec<&Entry> {
        let want = trim_slash(mountpoint);
        self.entries()
            .filter(|e| trim_slash(&e.file) == want)
            .collect()
    }

    /// The line terminator most lines use (CRLF files stay CRLF).
    fn dominant_terminator(&self) -> &'static str {
        let crlf = self.lines.iter().filter(|l| l.terminator == "\r\n").count();
        let lf = self.lines.iter().filter(|l| l.terminator == "\n").count();
        if crlf > lf {
            "\r\n"
        } else {
            "\n"
        }
    }
}

fn is_comment_or_blank(text: &str) -> bool {
    let t = text.trim();
    t.is_empty() || t.starts_with('#')
}

fn trim_slash(s: &str) -> &str {
    let t = s.trim_end_matches('/');
    if t.is_empty() && s.starts_with('/') {
        "/"
    } else {
        t
    }
}

fn parse_entry(body: &str, line: usize) -> Option<Entry> {
    if is_comment_or_blank(body) {
        return None;
    }
    // fstab fields are separated by spaces or tabs; a stray `\r` (CRLF) is whitespace too.
    let fields: Vec<&str> = body.split_whitespace().collect();
    if fields.len() < 2 {
        return None;
    }
    let get = |i: usize, default: &str| fields.get(i).copied().unwrap_or(default).to_string();
    Some(Entry {
        spec: unescape_octal(fields[0]),
        file: unescape_octal(fields[1]),
        vfstype: get(2, "auto"),
        options: get(3, "defaults")
            .split(',')
            .filter(|o| !o.is_empty())
            .map(str::to_string)
            .collect(),
        freq: get(4, "0"),
        passno: get(5, "0"),
        line,
    })
}

/// Escape a path for an fstab field (space, tab, newline, backslash as octal).
pub fn escape_field(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ' ' => out.push_str("\\040"),
            '\t' => out.push_str("\\011"),
            '\n' => out.push_str("\\012"),
            '\\' => out.push_str("\\134"),
            c => out.push(c),
        }
    }
    out
}

/// The entry `apply` writes, e.g.
/// `UUID=<uuid> /var/lib/longhorn btrfs subvol=@longhorn,noatime,compress=zstd:1,space_cache=v2,discard=async 0 0`.
pub fn desired_line(spec: &str, mountpoint: &str, options: &[String]) -> String {
    format!(
        "{} {} btrfs {} 0 0",
        escape_field(spec),
        escape_field(mountpoint),
        options.join(",")
    )
}

/// How an existing entry compares with the wanted one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryMatch {
    /// Exactly one entry for the mountpoint and it is what we want.
    Matches { line: usize },
    /// No entry for the mountpoint.
    Missing,
    /// One entry, but a different source, type or conflicting/missing options.
    Differs { line: usize, reasons: Vec<String> },
    /// More than one entry for the mountpoint.
    Duplicate { lines: Vec<usize> },
}

/// Options whose presence means another listed option is not in effect.
fn conflicts(want: &str, have: &str) -> bool {
    let key = |o: &str| o.split('=').next().unwrap_or(o).to_string();
    const ATIME: [&str; 4] = ["noatime", "relatime", "strictatime", "atime"];
    if ATIME.contains(&want) && ATIME.contains(&have) {
        return want != have;
    }
    // discard vs nodiscard, space_cache vs nospace_cache, compress vs compress-force.
    let (kw, kh) = (key(want), key(have));
    if kh == format!("no{kw}") || kw == format!("no{kh}") {
        return true;
    }
    if kw == "compress" && (kh == "compress-force") {
        return true;
    }
    kw == kh && want.contains('=') && want != have
}

/// Compare the entries for `mountpoint` against the wanted one. `same_source` says whether an
/// fstab source (`UUID=..`, `LABEL=..`, `/dev/..`) names the wanted filesystem.
pub fn compare(
    fstab: &Fstab,
    mountpoint: &str,
    options: &[String],
    same_source: &dyn Fn(&str) -> bool,
) -> EntryMatch {
    let found = fstab.entries_for(mountpoint);
    match found.as_slice() {
        [] => EntryMatch::Missing,
        [e] => {
            let reasons = entry_differences(e, options, same_source);
            if reasons.is_empty() {
                EntryMatch::Matches { line: e.line }
            } else {
                EntryMatch::Differs {
                    line: e.line,
                    reasons,
                }
            }
        }
        many => EntryMatch::Duplicate {
            lines: many.iter().map(|e| e.line).collect(),
        },
    }
}

/// Why `e` is not the wanted entry (empty when it is). Extra options that do not conflict
/// (`nofail`, `x-systemd.*`) are the user's business and accepted.
pub fn entry_differences(
    e: &Entry,
    options: &[String],
    same_source: &dyn Fn(&str) -> bool,
) -> Vec<String> {
    let mut reasons = Vec::new();
    if !same_source(&e.spec) {
        reasons.push(format!(
            "source {} is not the configured filesystem",
            e.spec
        ));
    }
    if e.vfstype != "btrfs" {
        reasons.push(format!("type {} is not btrfs", e.vfstype));
    }
    for want in options {
        if !e.options.iter().any(|o| o == want) {
            reasons.push(format!("option {want} missing"));
        }
        for have in &e.options {
            if have != want && conflicts(want, have) {
                reasons.push(format!("option {have} conflicts with {want}"));
            }
        }
    }
    reasons
}

/// The edit `apply` makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Append the line (with a comment above it saying who wrote it).
    Append { line: String },
    /// Replace line `replace` (1-based) and comment out the other duplicates.
    Replace {
        replace: usize,
        disable: Vec<usize>,
        line: String,
    },
}

/// Apply `edit`, returning the new file text. Every line not named by the edit is unchanged;
/// when appending to a file without a final newline, that line gets its terminator.
pub fn apply_edit(fstab: &Fstab, edit: &Edit) -> Fstab {
    let mut out = fstab.clone();
    let term = fstab.dominant_terminator();
    match edit {
        Edit::Append { line } => {
            if let Some(last) = out.lines.last_mut() {
                if last.terminator.is_empty() {
                    last.terminator = term;
                }
            }
            let n = out.lines.len();
            out.lines.push(Line {
                text: "# Longhorn data path on a btrfs subvolume (written by homelab host apply)"
                    .into(),
                terminator: term,
                entry: None,
            });
            out.lines.push(Line {
                text: line.clone(),
                terminator: term,
                entry: parse_entry(line, n + 2),
            });
        }
        Edit::Replace {
            replace,
            disable,
            line,
        } => {
            if let Some(l) = out.lines.get_mut(replace.saturating_sub(1)) {
                l.text = line.clone();
                l.entry = parse_entry(line, *replace);
            }
            for d in disable {
                if let Some(l) = out.lines.get_mut(d.saturating_sub(1)) {
                    l.text = format!(
                        "# disabled duplicate (homelab host apply --force): {}",
                        l.text
                    );
                    l.entry = None;
                }
            }
        }
    }
    out
}

/// A unified-style diff of the lines an edit changes, for the refusal message and `plan`.
pub fn diff(before: &Fstab, after: &Fstab) -> String {
    let mut out = String::new();
    let n = before.lines.len().max(after.lines.len());
    for i in 0..n {
        let b = before.lines.get(i).map(|l| l.text.as_str());
        let a = after.lines.get(i).map(|l| l.text.as_str());
        if b != a {
            if let Some(b) = b {
                out.push_str(&format!("-{:>4}| {b}\n", i + 1));
            }
            if let Some(a) = a {
                out.push_str(&format!("+{:>4}| {a}\n", i + 1));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Vec<String> {
        "subvol=@longhorn,noatime,compress=zstd:1,space_cache=v2,discard=async"
            .split(',')
            .map(str::to_string)
            .collect()
    }
    const UUID: &str = "6b0e40ab-698b-4a1a-8838-44d468a4ba7e";
    fn same(spec: &str) -> bool {
        spec.eq_ignore_ascii_case(&format!("UUID={UUID}")) || spec == "LABEL=storage"
    }

    const TRICKY: &str = "# /etc/fstab: static file system information.\n\
#\n\
# <file system> <mount point>   <type>  <options>       <dump>  <pass>\n\
UUID=1111-2222\t/\text4\terrors=remount-ro\t0\t1\n\
\n\
LABEL=swap none swap sw 0 0\n\
   # indented comment with   spaces   \n\
/dev/sdb1  /media/my\\040disk   vfat  defaults,nofail  0  2\n\
tmpfs /tmp tmpfs defaults";

    #[test]
    fn round_trip_is_byte_exact() {
        for text in [
            TRICKY,
            "",
            "\n\n",
            "a b\r\nc d\r\n",
            "no newline at end",
            "x /y\tbtrfs  defaults\t \n",
        ] {
            assert_eq!(Fstab::parse(text).render(), text);
        }
    }

    #[test]
    fn parses_entries_tabs_comments_escapes() {
        let f = Fstab::parse(TRICKY);
        let entries: Vec<_> = f.entries().collect();
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0].spec, "UUID=1111-2222");
        assert_eq!(entries[0].file, "/");
        assert_eq!(entries[0].passno, "1");
        assert_eq!(entries[1].spec, "LABEL=swap");
        assert_eq!(entries[2].file, "/media/my disk");
        assert_eq!(entries[2].line, 8);
        assert_eq!(entries[3].options, vec!["defaults"]);
        assert!(f.malformed().is_empty());
        assert_eq!(Fstab::parse("lonely\n").malformed().len(), 1);
    }

    #[test]
    fn append_to_file_without_trailing_newline_keeps_other_lines() {
        let f = Fstab::parse(TRICKY);
        assert_eq!(
            compare(&f, "/var/lib/longhorn", &opts(), &same),
            EntryMatch::Missing
        );
        let line = desired_line(&format!("UUID={UUID}"), "/var/lib/longhorn", &opts());
        assert_eq!(
            line,
            format!("UUID={UUID} /var/lib/longhorn btrfs subvol=@longhorn,noatime,compress=zstd:1,space_cache=v2,discard=async 0 0")
        );
        let after = apply_edit(&f, &Edit::Append { line: line.clone() });
        let text = after.render();
        assert!(text.starts_with(&format!("{TRICKY}\n# Longhorn")));
        assert!(text.ends_with(&format!("{line}\n")));
        // Re-parsed, the new entry matches: a second apply has nothing to do.
        let again = Fstab::parse(&text);
        assert!(matches!(
            compare(&again, "/var/lib/longhorn", &opts(), &same),
            EntryMatch::Matches { line: 11 }
        ));
    }

    #[test]
    fn crlf_file_stays_crlf() {
        let text = "LABEL=root / ext4 defaults 0 1\r\n# c\r\n";
        let f = Fstab::parse(text);
        let after = apply_edit(
            &f,
            &Edit::Append {
                line: "UUID=x /m btrfs a 0 0".into(),
            },
        )
        .render();
        assert!(after.starts_with(text));
        assert!(after.ends_with("UUID=x /m btrfs a 0 0\r\n"));
        assert_eq!(Fstab::parse(&after).entries().count(), 2);
    }

    #[test]
    fn matching_entry_accepts_uuid_label_tabs_and_extra_options() {
        let text = format!(
            "UUID={}\t/var/lib/longhorn/\tbtrfs\tnofail,subvol=@longhorn,noatime,compress=zstd:1,space_cache=v2,discard=async\t0 0\n",
            UUID.to_uppercase()
        );
        let f = Fstab::parse(&text);
        assert_eq!(
            compare(&f, "/var/lib/longhorn", &opts(), &same),
            EntryMatch::Matches { line: 1 }
        );
        let label = "LABEL=storage /var/lib/longhorn btrfs subvol=@longhorn,noatime,compress=zstd:1,space_cache=v2,discard=async 0 0";
        assert!(matches!(
            compare(&Fstab::parse(label), "/var/lib/longhorn", &opts(), &same),
            EntryMatch::Matches { .. }
        ));
    }

    #[test]
    fn differing_entry_is_reported_and_replaced_in_place() {
        let text = "# head\nUUID=other /var/lib/longhorn btrfs subvol=@longhorn,relatime,compress=zstd:3 0 0\ntmpfs /tmp tmpfs defaults 0 0";
        let f = Fstab::parse(text);
        let EntryMatch::Differs { line, reasons } =
            compare(&f, "/var/lib/longhorn", &opts(), &same)
        else {
            panic!("expected Differs");
        };
        assert_eq!(line, 2);
        let joined = reasons.join("; ");
        assert!(joined.contains("source UUID=other"), "{joined}");
        assert!(
            joined.contains("relatime conflicts with noatime"),
            "{joined}"
        );
        assert!(
            joined.contains("compress=zstd:3 conflicts with compress=zstd:1"),
            "{joined}"
        );
        assert!(joined.contains("option discard=async missing"), "{joined}");
        let new = desired_line(&format!("UUID={UUID}"), "/var/lib/longhorn", &opts());
        let after = apply_edit(
            &f,
            &Edit::Replace {
                replace: 2,
                disable: vec![],
                line: new.clone(),
            },
        );
        let rendered = after.render();
        assert_eq!(
            rendered,
            format!("# head\n{new}\ntmpfs /tmp tmpfs defaults 0 0")
        );
        let d = diff(&f, &after);
        assert!(d.contains("-   2| UUID=other"));
        assert!(d.contains(&format!("+   2| {new}")));
        assert_eq!(d.lines().count(), 2);
    }

    #[test]
    fn duplicate_mountpoints_are_detected_and_disabled_on_force() {
        let good = desired_line(&format!("UUID={UUID}"), "/var/lib/longhorn", &opts());
        let text = format!("{good}\n/dev/sdz1 /var/lib/longhorn ext4 defaults 0 2\n");
        let f = Fstab::parse(&text);
        assert_eq!(
            compare(&f, "/var/lib/longhorn", &opts(), &same),
            EntryMatch::Duplicate { lines: vec![1, 2] }
        );
        let after = apply_edit(
            &f,
            &Edit::Replace {
                replace: 1,
                disable: vec![2],
                line: good.clone(),
            },
        );
        let again = Fstab::parse(&after.render());
        assert_eq!(again.entries_for("/var/lib/longhorn").len(), 1);
        assert!(after.render().contains("# disabled duplicate"));
        assert!(matches!(
            compare(&again, "/var/lib/longhorn", &opts(), &same),
            EntryMatch::Matches { line: 1 }
        ));
    }

    #[test]
    fn escapes_mountpoints_with_spaces() {
        let line = desired_line("UUID=x", "/srv/long horn", &opts());
        assert!(line.contains("/srv/long\\040horn"));
        let f = Fstab::parse(&line);
        assert_eq!(f.entries_for("/srv/long horn").len(), 1);
    }
}
