//! `.sops.yaml`: the creation rules that say, for a file path, which age recipients a new
//! file is encrypted for and which of its values are encrypted. The first rule whose
//! `path_regex` (an unanchored search) matches the path relative to the config file's folder
//! wins; a rule without `path_regex` matches everything.

use crate::rules::{compile, CryptRule, RULE_FIELDS};
use crate::tree::{map_get, Node, Pos, Value};
use regex::Regex;
use std::path::{Component, Path, PathBuf};

pub const CONFIG_NAME: &str = ".sops.yaml";

/// One creation rule.
#[derive(Debug, Clone)]
pub struct CreationRule {
    /// 1-based position in `creation_rules`.
    pub index: usize,
    pub pos: Pos,
    pub path_regex: Option<(String, Regex)>,
    pub age: Vec<String>,
    pub rule: Option<CryptRule>,
    pub mac_only_encrypted: bool,
    /// Key types the rule names that homelab cannot use (pgp, kms, ...).
    pub unsupported_keys: Vec<String>,
    /// More than one key group (Shamir secret sharing).
    pub shamir: bool,
}

impl CreationRule {
    /// How the rule is named in messages.
    pub fn describe(&self) -> String {
        match &self.path_regex {
            Some((text, _)) => format!("creation rule {} (path_regex `{text}`)", self.index),
            None => format!("creation rule {} (no path_regex: every file)", self.index),
        }
    }

    /// The crypt rule files made by this rule get (sops's default when none is set).
    pub fn crypt_rule(&self) -> CryptRule {
        self.rule.clone().unwrap_or_else(CryptRule::default_rule)
    }
}

/// A loaded `.sops.yaml`.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub rules: Vec<CreationRule>,
    /// `stores.yaml.indent` / `stores.json.indent`, when set.
    pub yaml_indent: Option<usize>,
    pub json_indent: Option<usize>,
}

/// A problem with a `.sops.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub pos: Pos,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.pos, self.message)
    }
}

/// The nearest `.sops.yaml` in `start` or a folder above it, not above `stop` when given.
pub fn find(start: &Path, stop: Option<&Path>) -> Option<PathBuf> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        let candidate = d.join(CONFIG_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        if stop.is_some_and(|s| s == d) {
            return None;
        }
        dir = d.parent();
    }
    None
}

/// `path` made absolute and free of `.`/`..` without touching the file system.
pub fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .unwrap_or_else(|_| PathBuf::from("/"))
            .join(path)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

impl Config {
    /// Reads a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        const LIMIT: u64 = 1 << 20;
        let fail = |pos: Pos, message: String| ConfigError {
            path: path.to_path_buf(),
            pos,
            message,
        };
        let meta = std::fs::metadata(path)
            .map_err(|e| fail(Pos::default(), format!("cannot read it: {e}")))?;
        if meta.len() > LIMIT {
            return Err(fail(Pos::default(), "it is larger than 1 MiB".into()));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| fail(Pos::default(), format!("cannot read it: {e}")))?;
        Config::parse(path, &text)
    }

    /// Parses the text of a config file found at `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let fail = |pos: Pos, message: String| ConfigError {
            path: path.to_path_buf(),
            pos,
            message,
        };
        let docs = crate::yaml_read::parse(text).map_err(|e| fail(e.pos, e.message))?;
        let empty = crate::tree::Document::default();
        let doc = docs.first().unwrap_or(&empty);
        let mut rules = Vec::new();
        if let Some(list) = doc.get("creation_rules") {
            let Value::Seq(items) = &list.value else {
                return Err(fail(list.pos, "`creation_rules` is not a list".into()));
            };
            for item in items
                .iter()
                .filter(|n| !matches!(n.value, Value::Comment(_)))
            {
                let index = rules.len() + 1;
                rules.push(read_rule(item, index).map_err(|(pos, m)| fail(pos, m))?);
            }
        }
        let indent = |store: &str| -> Result<Option<usize>, ConfigError> {
            let Some(stores) = doc.get("stores") else {
                return Ok(None);
            };
            let Value::Map(stores) = &stores.value else {
                return Ok(None);
            };
            let Some(Node {
                value: Value::Map(s),
                ..
            }) = map_get(stores, store)
            else {
                return Ok(None);
            };
            match map_get(s, "indent") {
                Some(Node {
                    value: Value::Int(i),
                    pos,
                }) => match *i {
                    // sops takes a negative JSON indent as "tabs".
                    i if i < 0 => Ok(None),
                    i if i <= 16 => Ok(Some(i as usize)),
                    i => Err(fail(
                        *pos,
                        format!("`stores.{store}.indent` of {i} is not sensible"),
                    )),
                },
                _ => Ok(None),
            }
        };
        Ok(Config {
            path: path.to_path_buf(),
            rules,
            yaml_indent: indent("yaml")?,
            json_indent: indent("json")?,
        })
    }

    /// The path a rule's `path_regex` is matched against: relative to the config's folder
    /// when the file is under it, else absolute (as sops does).
    pub fn match_path(&self, file: &Path) -> String {
        let file = absolute(file);
        let dir = absolute(self.path.parent().unwrap_or(Path::new(".")));
        match file.strip_prefix(&dir) {
            Ok(rel) => rel.to_string_lossy().into_owned(),
            Err(_) => file.to_string_lossy().into_owned(),
        }
    }

    /// The rule for `file`, if any.
    pub fn rule_for(&self, file: &Path) -> Option<&CreationRule> {
        self.rule_for_relative(&self.match_path(file))
    }

    /// The rule for a path already made relative to the config's folder.
    pub fn rule_for_relative(&self, relative: &str) -> Option<&CreationRule> {
        self.rules.iter().find(|r| match &r.path_regex {
            None => true,
            Some((_, re)) => re.is_match(relative),
        })
    }
}

fn read_rule(node: &Node, index: usize) -> Result<CreationRule, (Pos, String)> {
    let Value::Map(items) = &node.value else {
        return Err((node.pos, format!("creation rule {index} is not a map")));
    };
    let text = |field: &str| -> Result<Option<(String, Pos)>, (Pos, String)> {
        match map_get(items, field) {
            None => Ok(None),
            Some(Node {
                value: Value::Null, ..
            }) => Ok(None),
            Some(Node {
                value: Value::Str(s),
                pos,
            }) => Ok(Some((s.clone(), *pos))),
            Some(n) => Err((
                n.pos,
                format!("`{field}` of creation rule {index} is not a string"),
            )),
        }
    };
    let path_regex = match text("path_regex")? {
        None => None,
        Some((s, _)) if s.is_empty() => None,
        Some((s, pos)) => Some((s.clone(), compile(&s).map_err(|m| (pos, m))?)),
    };
    let keys_of = |n: &Node, what: &str| -> Result<Vec<String>, (Pos, String)> {
        match &n.value {
            Value::Null => Ok(Vec::new()),
            Value::Str(s) => Ok(s
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .collect()),
            Value::Seq(list) => list
                .iter()
                .filter(|n| !matches!(n.value, Value::Comment(_)))
                .map(|n| match &n.value {
                    Value::Str(s) => Ok(s.trim().to_owned()),
                    _ => Err((
                        n.pos,
                        format!("a `{what}` key of creation rule {index} is not a string"),
                    )),
                })
                .collect(),
            _ => Err((
                n.pos,
                format!("`{what}` of creation rule {index} is neither a string nor a list"),
            )),
        }
    };
    let mut age = Vec::new();
    let mut unsupported_keys = Vec::new();
    let mut shamir = false;
    if let Some(groups) = map_get(items, "key_groups") {
        let Value::Seq(list) = &groups.value else {
            return Err((
                groups.pos,
                format!("`key_groups` of creation rule {index} is not a list"),
            ));
        };
        let list: Vec<&Node> = list
            .iter()
            .filter(|n| !matches!(n.value, Value::Comment(_)))
            .collect();
        shamir = list.len() > 1;
        for group in list {
            let Value::Map(fields) = &group.value else {
                return Err((
                    group.pos,
                    format!("a key group of creation rule {index} is not a map"),
                ));
            };
            for item in fields {
                if let crate::tree::Item::Entry { key, value, .. } = item {
                    if key == "age" {
                        age.extend(keys_of(value, "age")?);
                    } else if !matches!(value.value, Value::Null) {
                        unsupported_keys.push(key.clone());
                    }
                }
            }
        }
    } else {
        if let Some(n) = map_get(items, "age") {
            age = keys_of(n, "age")?;
        }
        for other in [
            "pgp",
            "kms",
            "gcp_kms",
            "azure_keyvault",
            "hc_vault_transit_uri",
        ] {
            if let Some(n) = map_get(items, other) {
                if !keys_of(n, other)?.is_empty() {
                    unsupported_keys.push(other.to_owned());
                }
            }
        }
    }
    let mut rule = None;
    for field in RULE_FIELDS {
        if let Some((t, pos)) = text(field)? {
            if t.is_empty() {
                continue;
            }
            if rule.is_some() {
                return Err((
                    pos,
                    format!(
                        "creation rule {index} sets more than one of {}",
                        RULE_FIELDS.join(", ")
                    ),
                ));
            }
            rule = Some(CryptRule::new(field, &t).map_err(|m| (pos, m))?);
        }
    }
    let mac_only_encrypted = match map_get(items, "mac_only_encrypted") {
        None => false,
        Some(Node {
            value: Value::Bool(b),
            ..
        }) => *b,
        Some(n) => {
            return Err((
                n.pos,
                format!("`mac_only_encrypted` of creation rule {index} is not a boolean"),
            ))
        }
    };
    Ok(CreationRule {
        index,
        pos: node.pos,
        path_regex,
        age,
        rule,
        mac_only_encrypted,
        unsupported_keys,
        shamir,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS_CONFIG: &str = "creation_rules:\n  - path_regex: secrets/multi-recipient/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: >-\n      age1aaa,\n      age1bbb\n  - path_regex: secrets/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    mac_only_encrypted: true\n    age: [age1ccc]\n  - unencrypted_suffix: _clear\n";

    #[test]
    fn first_matching_rule_wins() {
        let c = Config::parse(Path::new("/repo/.sops.yaml"), VECTORS_CONFIG).unwrap();
        let r = c
            .rule_for(Path::new("/repo/secrets/multi-recipient/x.yaml"))
            .unwrap();
        assert_eq!(r.index, 1);
        assert_eq!(r.age, ["age1aaa", "age1bbb"]);
        let r = c.rule_for(Path::new("/repo/secrets/x.yaml")).unwrap();
        assert_eq!((r.index, r.mac_only_encrypted), (2, true));
        assert_eq!(r.age, ["age1ccc"]);
        let r = c.rule_for(Path::new("/repo/other.json")).unwrap();
        assert_eq!(r.index, 3);
        assert_eq!(r.crypt_rule().text, "_clear");
        assert_eq!(
            c.match_path(Path::new("/repo/a/../secrets/x.yaml")),
            "secrets/x.yaml"
        );
        assert_eq!(
            c.match_path(Path::new("/elsewhere/x.yaml")),
            "/elsewhere/x.yaml"
        );
    }

    #[test]
    fn errors_point_at_the_field() {
        let e = Config::parse(
            Path::new(".sops.yaml"),
            "creation_rules:\n  - path_regex: \"(\"\n",
        )
        .unwrap_err();
        assert_eq!(e.pos.line, 2);
        let e = Config::parse(
            Path::new(".sops.yaml"),
            "creation_rules:\n  - encrypted_regex: a\n    encrypted_suffix: b\n",
        )
        .unwrap_err();
        assert!(e.message.contains("more than one"));
        let c = Config::parse(Path::new(".sops.yaml"), "creation_rules:\n  - pgp: ABC\n").unwrap();
        assert_eq!(c.rules[0].unsupported_keys, ["pgp"]);
    }
}
