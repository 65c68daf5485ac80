//! The types of `platform.toml`'s string values, and the one place that quotes them for the
//! languages the renderer writes.
//!
//! Every string in the config reaches a shell script, a YAML manifest, a TOML file or a
//! systemd unit. Two layers keep a value from becoming code there:
//! - validation by type ([`ValueKind::check`]): a UUID is hex and dashes, a path is absolute
//!   and made of safe characters, a URL has no quote, space or shell metacharacter, ...;
//! - quoting for the target language ([`shell_quote`], [`yaml_quote`], [`toml_quote`]),
//!   registered as the template filters `sh`, `yaml` and `toml`, so a value that passed
//!   validation is still inert if a later change lets more characters through.

/// What a string value of `platform.toml` must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// An absolute path of safe characters (`/var/lib/longhorn`), no `..`.
    AbsolutePath,
    /// A btrfs subvolume name (`@longhorn`).
    SubvolumeName,
    /// An fstab device: `UUID=<uuid>`, `LABEL=<label>` or `/dev/<name>`.
    FstabDevice,
    /// An `https://`, `ssh://` or `git@host:path` URL.
    GitUrl,
    /// An `https://` URL.
    HttpsUrl,
    /// A git branch or tag name.
    GitRef,
    /// A GitHub organisation or repository name.
    GithubName,
    /// A GitHub runner group name (letters, digits, space, `.`, `_`, `-`).
    RunnerGroup,
    /// A five-field cron schedule.
    Cron,
    /// A systemd `OnCalendar=` expression.
    OnCalendar,
    /// Free text shown in comments and docs (a GPU model): letters, digits, space, `.`, `_`, `-`.
    Label,
    /// A container image or registry path (`ghcr.io/org/name:tag`).
    Image,
    /// A Helm repository URL or OCI registry path.
    ChartRepo,
}

impl ValueKind {
    /// What is allowed, for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            ValueKind::AbsolutePath => {
                "an absolute path of letters, digits and . _ - @ + (no spaces, no ..)"
            }
            ValueKind::SubvolumeName => {
                "a subvolume name like \"@longhorn\" (letters, digits, . _ - @ +)"
            }
            ValueKind::FstabDevice => {
                "\"UUID=<uuid>\" (find it with `blkid`), \"LABEL=<label>\" or a /dev path"
            }
            ValueKind::GitUrl => {
                "an https://, ssh:// or git@host:path URL (no spaces, \", <, >, \\, `, {, |, })"
            }
            ValueKind::HttpsUrl => "an https:// URL (no spaces, \", <, >, \\, `, {, |, })",
            ValueKind::GitRef => "a branch or tag name like \"main\" (letters, digits, . _ - /)",
            ValueKind::GithubName => "a GitHub name (letters, digits, . _ -)",
            ValueKind::RunnerGroup => {
                "a runner group name on one line (at most 100 characters, no control characters)"
            }
            ValueKind::Cron => "a 5-field cron schedule like \"0 2 * * *\"",
            ValueKind::OnCalendar => {
                "a systemd OnCalendar expression like \"weekly\" or \"Mon *-*-* 03:00:00\""
            }
            ValueKind::Label => "text on one line (at most 100 characters, no control characters)",
            ValueKind::Image => {
                "an image reference like \"registry/name:tag\" (lower-case, digits, . _ - / : @)"
            }
            ValueKind::ChartRepo => {
                "a Helm repository URL (https://...) or OCI path without oci://"
            }
        }
    }

    /// Whether `value` is of this kind.
    pub fn check(self, value: &str) -> bool {
        match self {
            ValueKind::AbsolutePath => is_absolute_path(value),
            ValueKind::SubvolumeName => {
                !value.is_empty()
                    && value != "."
                    && value != ".."
                    && value.len() <= 255
                    && value.bytes().all(is_path_byte)
            }
            ValueKind::FstabDevice => is_fstab_device(value),
            ValueKind::GitUrl => {
                is_url_text(value)
                    && (value.starts_with("https://")
                        || value.starts_with("ssh://")
                        || is_scp_url(value))
            }
            ValueKind::HttpsUrl => {
                is_url_text(value)
                    && value.len() > "https://".len()
                    && value.starts_with("https://")
            }
            ValueKind::GitRef => {
                !value.is_empty()
                    && value.len() <= 255
                    && !value.starts_with(['-', '/', '.'])
                    && !value.contains("..")
                    && value.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/')
                    })
            }
            ValueKind::GithubName => {
                !value.is_empty()
                    && value.len() <= 100
                    && !value.starts_with(['-', '.'])
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            }
            // Free text: any printable character (quotes, `&`, `#`, `$`, non-ASCII letters);
            // templates quote it for each language it reaches.
            ValueKind::RunnerGroup | ValueKind::Label => {
                !value.trim().is_empty()
                    && value.chars().count() <= 100
                    && value.trim() == value
                    && value.chars().all(|c| !is_line_break_or_control(c))
            }
            ValueKind::Cron => {
                let fields: Vec<&str> = value.split(' ').collect();
                fields.len() == 5
                    && fields.iter().all(|f| {
                        !f.is_empty()
                            && f.bytes().all(|b| {
                                b.is_ascii_alphanumeric() || matches!(b, b'*' | b'/' | b',' | b'-')
                            })
                    })
            }
            ValueKind::OnCalendar => {
                !value.trim().is_empty()
                    && value.len() <= 100
                    && value.bytes().all(|b| {
                        b.is_ascii_alphanumeric()
                            || matches!(b, b' ' | b'*' | b':' | b',' | b'.' | b'/' | b'~' | b'-')
                    })
            }
            ValueKind::Image => {
                !value.is_empty()
                    && value.len() <= 255
                    && !value.starts_with(['-', '/', '.', ':'])
                    && value.bytes().all(|b| {
                        b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || matches!(b, b'.' | b'_' | b'-' | b'/' | b':' | b'@')
                    })
            }
            ValueKind::ChartRepo => {
                ValueKind::HttpsUrl.check(value)
                    || (!value.contains("://") && ValueKind::Image.check(value))
            }
        }
    }
}

fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@' | b'+')
}

fn is_absolute_path(value: &str) -> bool {
    value.len() <= 1024
        && value.starts_with('/')
        && value
            .split('/')
            .skip(1)
            .all(|part| part != ".." && part != "." && part.bytes().all(is_path_byte))
        && !value[1..].is_empty()
        && !value.contains("//")
}

fn is_uuid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A btrfs `compress=` value (btrfs(5)): `zstd`, `zstd:1..15`, `lzo`, `zlib`, `zlib:1..9`, or
/// `none` (no `compress=` option). The one definition `homelab render` and `homelab host` use.
pub fn is_btrfs_compression(value: &str) -> bool {
    let level = |l: &str, max: u8| l.parse::<u8>().is_ok_and(|l| (1..=max).contains(&l));
    match value.split_once(':') {
        None => matches!(value, "zstd" | "lzo" | "zlib" | "none"),
        Some(("zstd", l)) => level(l, 15),
        Some(("zlib", l)) => level(l, 9),
        _ => false,
    }
}

/// The placeholder the default config carries until the user runs `blkid`.
pub const DEVICE_PLACEHOLDER: &str = "UUID=<btrfs-uuid>";

fn is_fstab_device(value: &str) -> bool {
    if value == DEVICE_PLACEHOLDER {
        return true;
    }
    if let Some(uuid) = value.strip_prefix("UUID=") {
        // btrfs UUIDs are RFC 4122 form; FAT-style short serials (ABCD-1234) are accepted too.
        return is_uuid(uuid)
            || (uuid.len() == 9
                && uuid.as_bytes()[4] == b'-'
                && uuid
                    .bytes()
                    .enumerate()
                    .all(|(i, b)| i == 4 || b.is_ascii_hexdigit()));
    }
    if let Some(label) = value.strip_prefix("LABEL=") {
        return !label.is_empty() && label.len() <= 255 && label.bytes().all(is_path_byte);
    }
    value.starts_with("/dev/") && is_absolute_path(value)
}

/// URL text: the characters RFC 3986 allows in a URL (unreserved, reserved and `%`), so a
/// URL may hold `'`, `$`, `&`, `(`, `;` or `#`, which templates quote; never whitespace,
/// `"`, `<`, `>`, `\`, `` ` ``, `{`, `|`, `}`, `^` or a control character.
fn is_url_text(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 2048
        && value.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.'
                        | b'_'
                        | b'~'
                        | b':'
                        | b'/'
                        | b'?'
                        | b'#'
                        | b'['
                        | b']'
                        | b'@'
                        | b'!'
                        | b'$'
                        | b'&'
                        | b'\''
                        | b'('
                        | b')'
                        | b'*'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                        | b'%'
                )
        })
}

/// `git@host:path` (scp-like syntax).
fn is_scp_url(value: &str) -> bool {
    let Some(rest) = value.strip_prefix("git@") else {
        return false;
    };
    matches!(rest.split_once(':'), Some((host, path)) if !host.is_empty() && !path.is_empty())
}

/// A POSIX shell word that is exactly `value`: single-quoted, with `'` written as `'\''`.
pub fn shell_quote(value: &str) -> String {
    if !value.is_empty()
        && value.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'.' | b'_' | b'-' | b'/' | b'@' | b'+' | b'=' | b':' | b','
                )
        })
    {
        return value.to_string();
    }
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// A YAML scalar that is exactly the string `value`: plain when YAML reads it back as that
/// string wherever it stands ([`Language::is_bare_safe`]), otherwise a double-quoted string
/// with JSON escapes (valid YAML 1.2), so no newline, `#`, `: ` or `{` can start a new key or
/// document and no `1.10` or `on` changes type.
pub fn yaml_quote(value: &str) -> String {
    if Language::Yaml.is_bare_safe(value) {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f || ('\u{80}'..='\u{9f}').contains(&c) => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            // Line and paragraph separators are line breaks to YAML 1.1 readers.
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML basic string that is exactly `value`.
pub fn toml_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The language of a rendered file: it decides which values a template may print bare and
/// which filter quotes the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// A bash script.
    Shell,
    /// YAML (manifests, Helm values, CI files, k3s configuration).
    Yaml,
    /// TOML.
    Toml,
    /// JSON.
    Json,
    /// `/etc/fstab` lines.
    Fstab,
    /// A systemd unit.
    Systemd,
    /// Markdown documentation.
    Markdown,
    /// Python.
    Python,
    /// A line-based configuration file with `#` comments (.gitignore, .editorconfig, ...).
    Lines,
}

impl Language {
    /// Every language, for tests and the auto-escape name lookup.
    pub const ALL: [Language; 9] = [
        Language::Shell,
        Language::Yaml,
        Language::Toml,
        Language::Json,
        Language::Fstab,
        Language::Systemd,
        Language::Markdown,
        Language::Python,
        Language::Lines,
    ];

    /// The language of a template, by its name under `templates/repo/`; `None` for a template
    /// nobody classified yet (rendering it fails, so a new template cannot skip the guard).
    pub fn of_template(name: &str) -> Option<Language> {
        let file = name.rsplit('/').next().unwrap_or(name);
        let ext = file.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        Some(match (file, ext) {
            ("fstab", _) => Language::Fstab,
            ("dot-yamllint", _) => Language::Yaml,
            ("dot-secrets.baseline", _) => Language::Json,
            ("dot-gitignore" | "dot-editorconfig" | "dot-shellcheckrc", _) => Language::Lines,
            (_, "sh") => Language::Shell,
            // `_macros.j2` holds YAML snippets.
            (_, "yaml" | "yml" | "j2") => Language::Yaml,
            (_, "toml") => Language::Toml,
            (_, "json") => Language::Json,
            (_, "service" | "timer") => Language::Systemd,
            (_, "md") => Language::Markdown,
            (_, "py") => Language::Python,
            _ => return None,
        })
    }

    /// The name the template engine carries for this language.
    pub fn name(self) -> &'static str {
        match self {
            Language::Shell => "sh",
            Language::Yaml => "yaml",
            Language::Toml => "toml",
            Language::Json => "json",
            Language::Fstab => "fstab",
            Language::Systemd => "systemd",
            Language::Markdown => "markdown",
            Language::Python => "python",
            Language::Lines => "lines",
        }
    }

    /// The language named `name` (see [`Language::name`]).
    pub fn from_name(name: &str) -> Option<Language> {
        Language::ALL.into_iter().find(|l| l.name() == name)
    }

    /// The filter that quotes a value for this language, for error messages.
    pub fn quoting_filter(self) -> &'static str {
        match self {
            Language::Shell => "sh",
            Language::Yaml => "yaml",
            Language::Toml => "toml",
            Language::Json | Language::Python => "json",
            Language::Fstab => "fstab",
            Language::Systemd => "systemd",
            Language::Markdown | Language::Lines => "line",
        }
    }

    /// Whether `value` may be printed bare (without a quoting filter) anywhere in a file of
    /// this language: it cannot end a line, a comment, a quoted string or a word, start an
    /// option, or change type (a YAML `1.10`, `on` or `~`). Templates quote every other value;
    /// the renderer refuses to print one bare.
    pub fn is_bare_safe(self, value: &str) -> bool {
        match self {
            // Prose: one line, no control characters (a value cannot add lines or headings).
            Language::Markdown | Language::Lines => {
                value.chars().all(|c| !is_line_break_or_control(c))
            }
            // `@` cannot start a plain YAML scalar.
            Language::Yaml => is_inert_word(value, false) && !is_yaml_typed(value),
            Language::Shell
            | Language::Toml
            | Language::Json
            | Language::Fstab
            | Language::Systemd
            | Language::Python => is_inert_word(value, true),
        }
    }
}

fn is_line_break_or_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}')
}

/// Letters, digits and `. _ - / : @ + =`, starting with a letter, digit, `/` or `_` (or `@`
/// where the language allows it): no space, quote, comment sign, expansion, glob, brace,
/// comma or escape, and never an option (`-x`).
fn is_inert_word(value: &str, at_sign_first: bool) -> bool {
    let Some(first) = value.bytes().next() else {
        return false;
    };
    (first.is_ascii_alphanumeric()
        || first == b'/'
        || first == b'_'
        || (at_sign_first && first == b'@'))
        && value.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'.' | b'_' | b'-' | b'/' | b':' | b'@' | b'+' | b'=')
        })
}

/// Whether a plain YAML scalar would not be read as the string `value` by a YAML 1.1 or 1.2
/// reader: a boolean or null word, or something that may be a number (`1.10`, `0x1f`, `1e3`,
/// `10:30`, an IP address is kept as a string but quoted all the same).
fn is_yaml_typed(value: &str) -> bool {
    const WORDS: [&str; 12] = [
        "y", "n", "yes", "no", "true", "false", "on", "off", "null", "nan", "inf", "~",
    ];
    if WORDS.iter().any(|w| value.eq_ignore_ascii_case(w)) {
        return true;
    }
    let first = value.as_bytes()[0];
    (first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.'))
        && value.bytes().all(|b| {
            b.is_ascii_hexdigit()
                || matches!(
                    b,
                    b'.' | b'_' | b':' | b'+' | b'-' | b'x' | b'X' | b'o' | b'O'
                )
        })
}

/// A JSON string (also a valid Python string literal and YAML flow scalar) that is exactly
/// `value`.
pub fn json_quote(value: &str) -> String {
    // Serializing a string cannot fail.
    let mut out = serde_json::to_string(value).unwrap_or_default();
    // Line and paragraph separators end a line in Python source and JavaScript.
    if out.contains(['\u{2028}', '\u{2029}']) {
        out = out
            .replace('\u{2028}', "\\u2028")
            .replace('\u{2029}', "\\u2029");
    }
    out
}

/// `value` on one line, for comments and prose: every control character or line break is
/// written as a visible escape (`\n`, `\u{1b}`), so a value cannot end a comment.
pub fn line_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_line_break_or_control(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// An fstab field that is exactly `value`: space, tab, newline, `#` and `\` written as octal
/// escapes (fstab(5)).
pub fn fstab_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            ' ' | '#' | '\\' => out.push_str(&format!("\\{:03o}", c as u32)),
            c if c.is_ascii_control() => out.push_str(&format!("\\{:03o}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A systemd unit setting value that is exactly `value`: `%` written `%%` (specifiers), `\`
/// doubled, control characters escaped (systemd.syntax(7)) so it stays on its line.
pub fn systemd_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '%' => out.push_str("%%"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_values_fail_their_type() {
        for (kind, bad) in [
            (ValueKind::FstabDevice, "UUID=$(touch /tmp/pwned)"),
            (ValueKind::FstabDevice, "UUID=`id`"),
            (ValueKind::FstabDevice, "/dev/sda1\nrm -rf /"),
            (ValueKind::SubvolumeName, "@long`id`horn"),
            (ValueKind::SubvolumeName, ".."),
            (ValueKind::AbsolutePath, "/var/lib/../../etc"),
            (ValueKind::AbsolutePath, "/var/lib/long horn"),
            (ValueKind::AbsolutePath, "/var/$(id)"),
            (ValueKind::GitUrl, "https://x/y\nmalicious: true"),
            (ValueKind::GitUrl, "https://x/\"y"),
            (ValueKind::GitUrl, "https://x/y z"),
            (ValueKind::GitUrl, "https://x/`id`"),
            (ValueKind::GitRef, "main; rm -rf /"),
            (ValueKind::RunnerGroup, "group\nkey: value"),
            (ValueKind::RunnerGroup, "group\rkey"),
            (ValueKind::RunnerGroup, " padded"),
            (ValueKind::Cron, "0 2 * * *\n* * * * * root id"),
            (ValueKind::OnCalendar, "weekly\nExecStart=/bin/sh"),
            (ValueKind::Image, "alpine:3 && id"),
            (ValueKind::Label, "RTX\n5080"),
        ] {
            assert!(!kind.check(bad), "{kind:?} accepted {bad:?}");
        }
    }

    #[test]
    fn ordinary_values_pass_their_type() {
        for (kind, good) in [
            (
                ValueKind::FstabDevice,
                "UUID=0b5e7d2c-6c0b-4a55-9e1c-2f3a4b5c6d7e",
            ),
            (ValueKind::FstabDevice, DEVICE_PLACEHOLDER),
            (ValueKind::FstabDevice, "LABEL=storage"),
            (ValueKind::FstabDevice, "/dev/nvme0n1p3"),
            (ValueKind::SubvolumeName, "@longhorn"),
            (ValueKind::AbsolutePath, "/mnt/storage/.snapshots/longhorn"),
            (
                ValueKind::GitUrl,
                "https://github.com/yourorg/gitops-homelab",
            ),
            (
                ValueKind::GitUrl,
                "git@github.com:yourorg/gitops-homelab.git",
            ),
            (ValueKind::GitRef, "release/2025.1"),
            (ValueKind::RunnerGroup, "homelab runners"),
            (ValueKind::Cron, "0 2 * * *"),
            (ValueKind::OnCalendar, "Mon *-*-* 03:00:00"),
            (ValueKind::Image, "docker.io/ollama/ollama:0.12.3"),
            (
                ValueKind::ChartRepo,
                "ghcr.io/actions/actions-runner-controller-charts",
            ),
            (ValueKind::ChartRepo, "https://charts.longhorn.io"),
        ] {
            assert!(kind.check(good), "{kind:?} refused {good:?}");
        }
    }

    /// Every quoting function gives back exactly the value when its language reads it.
    #[test]
    fn each_filter_round_trips_hostile_text() {
        let hostile = [
            "a'b\"c$(id)`id`\\\n#: {x}",
            "ops \"night\" & it's #1 — ünïcødé",
            "tab\there\r\u{1b}[2J\u{2028}",
            "1.10",
            "on",
            "",
            "-rf",
            "100%s %n",
        ];
        for v in hostile {
            let json: String = serde_json::from_str(&json_quote(v)).expect("json");
            assert_eq!(json, v);
            let toml_text = format!("v = {}\n", toml_quote(v));
            let table: toml::Table = toml::from_str(&toml_text).expect("toml parses");
            assert_eq!(table["v"].as_str(), Some(v));
            assert!(!line_text(v).contains(['\n', '\r', '\u{2028}']));
            assert!(!fstab_quote(v).contains([' ', '\t', '\n', '#']));
            let unit = systemd_quote(v);
            assert!(!unit.contains('\n'));
            assert_eq!(unit.matches('%').count(), 2 * v.matches('%').count());
        }
        assert_eq!(fstab_quote("LABEL=my disk#1"), "LABEL=my\\040disk\\0431");
    }

    #[test]
    fn quoting_round_trips_through_the_target_language() {
        let hostile = "a'b\"c$(id)`id`\\\n#: {x}";
        assert_eq!(shell_quote("plain-word_1.2"), "plain-word_1.2");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        let toml_text = format!("v = {}\n", toml_quote(hostile));
        let table: toml::Table = toml::from_str(&toml_text).expect("toml parses");
        assert_eq!(table["v"].as_str(), Some(hostile));
        let json: String = serde_json::from_str(&yaml_quote(hostile)).expect("yaml quote is JSON");
        assert_eq!(json, hostile);
    }
}
