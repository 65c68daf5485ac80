//! The `sops` block every encrypted document ends with: the data key wrapped for each age
//! recipient, `lastmodified`, the encrypted MAC, the crypt rule, `mac_only_encrypted` and
//! `version` — read the way sops reads it (from the first document) and written in sops's
//! field order.

use crate::rules::{CryptRule, RULE_FIELDS};
use crate::tree::{map_get, Item, Node, Pos, Value};

/// The metadata key.
pub const SOPS_KEY: &str = "sops";

/// The file format version we write (the sops release whose format this implements).
pub const FORMAT_VERSION: &str = "3.11.0";

/// One age recipient and the data key wrapped for it (an ASCII-armored age file).
#[derive(Debug, Clone, PartialEq)]
pub struct AgeKey {
    pub recipient: String,
    pub enc: String,
    pub pos: Pos,
}

/// Master key types other than age: kept as they are (their wrapped data key stays valid as
/// long as the data key does), never used.
const OTHER_KEY_FIELDS: [&str; 5] = ["kms", "gcp_kms", "azure_kv", "hc_vault", "pgp"];

#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub age: Vec<AgeKey>,
    /// `kms`, `gcp_kms`, `azure_kv`, `hc_vault`, `pgp` entries, verbatim.
    pub other_keys: Vec<(String, Node)>,
    /// Number of key groups when the file uses `key_groups` (Shamir when more than one).
    pub key_groups: usize,
    pub shamir_threshold: i64,
    pub lastmodified: String,
    pub mac: String,
    pub rule: CryptRule,
    pub mac_only_encrypted: bool,
    pub version: String,
    /// Where the block and some of its fields are (for messages).
    pub pos: Pos,
    pub mac_pos: Pos,
    pub lastmodified_pos: Pos,
}

/// A problem with a `sops` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataError {
    pub pos: Pos,
    pub message: String,
}

fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(s) | Value::Time(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(crate::tree::go_float_plain(*f)),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Metadata {
    /// Reads the `sops` block (`node` is its value).
    pub fn read(node: &Node) -> Result<Metadata, MetadataError> {
        let e = |pos: Pos, message: String| MetadataError { pos, message };
        let Value::Map(items) = &node.value else {
            return Err(e(node.pos, "`sops` is not a map".into()));
        };
        let string = |field: &str| -> Result<Option<(String, Pos)>, MetadataError> {
            match map_get(items, field) {
                None => Ok(None),
                Some(n) if matches!(n.value, Value::Null) => Ok(None),
                Some(n) => scalar_text(n)
                    .map(|s| Some((s, n.pos)))
                    .ok_or_else(|| e(n.pos, format!("`sops.{field}` is not a string"))),
            }
        };
        let mut age = Vec::new();
        let mut key_groups = 0;
        if let Some(groups) = map_get(items, "key_groups") {
            let Value::Seq(list) = &groups.value else {
                return Err(e(groups.pos, "`sops.key_groups` is not a list".into()));
            };
            let groups: Vec<&Node> = list
                .iter()
                .filter(|n| !matches!(n.value, Value::Comment(_)))
                .collect();
            key_groups = groups.len();
            if key_groups == 1 {
                if let Value::Map(group) = &groups[0].value {
                    if let Some(list) = map_get(group, "age") {
                        age = read_age(list)?;
                    }
                }
            }
        }
        if key_groups == 0 {
            if let Some(list) = map_get(items, "age") {
                age = read_age(list)?;
            }
        }
        let other_keys = OTHER_KEY_FIELDS
            .iter()
            .filter_map(|f| map_get(items, f).map(|n| (f.to_string(), n.clone())))
            .filter(|(_, n)| !matches!(n.value, Value::Null))
            .collect();
        let shamir_threshold = match map_get(items, "shamir_threshold") {
            None => 0,
            Some(Node {
                value: Value::Int(i),
                ..
            }) => *i,
            Some(Node {
                value: Value::Null, ..
            }) => 0,
            Some(n) => return Err(e(n.pos, "`sops.shamir_threshold` is not an integer".into())),
        };
        let (lastmodified, lastmodified_pos) = string("lastmodified")?
            .ok_or_else(|| e(node.pos, "the `sops` block has no `lastmodified`".into()))?;
        let (mac, mac_pos) = string("mac")?.unwrap_or((String::new(), node.pos));
        let mut rules = Vec::new();
        for field in RULE_FIELDS {
            if let Some((text, pos)) = string(field)? {
                if !text.is_empty() {
                    rules.push((field, text, pos));
                }
            }
        }
        if rules.len() > 1 {
            let names: Vec<&str> = rules.iter().map(|r| r.0).collect();
            return Err(e(
                rules[1].2,
                format!(
                    "the `sops` block sets {}: sops allows only one crypt rule per file",
                    names.join(" and ")
                ),
            ));
        }
        let rule = match rules.pop() {
            None => CryptRule::default_rule(),
            Some((field, text, pos)) => CryptRule::new(field, &text).map_err(|m| e(pos, m))?,
        };
        let mac_only_encrypted = match map_get(items, "mac_only_encrypted") {
            None => false,
            Some(Node {
                value: Value::Bool(b),
                ..
            }) => *b,
            Some(Node {
                value: Value::Null, ..
            }) => false,
            Some(n) => {
                return Err(e(
                    n.pos,
                    "`sops.mac_only_encrypted` is not a boolean".into(),
                ))
            }
        };
        let version = string("version")?.map(|v| v.0).unwrap_or_default();
        Ok(Metadata {
            age,
            other_keys,
            key_groups,
            shamir_threshold,
            lastmodified,
            mac,
            rule,
            mac_only_encrypted,
            version,
            pos: node.pos,
            mac_pos,
            lastmodified_pos,
        })
    }

    /// The block as sops writes it (field order of sops's metadata struct, empty fields left
    /// out, the crypt rule always explicit).
    pub fn to_value(&self) -> Value {
        let mut items = Vec::new();
        if self.shamir_threshold != 0 {
            items.push(Item::entry(
                "shamir_threshold",
                Value::Int(self.shamir_threshold),
            ));
        }
        for (field, node) in &self.other_keys {
            if field != "pgp" {
                items.push(Item::entry(field.clone(), node.value.clone()));
            }
        }
        if !self.age.is_empty() {
            let list = self
                .age
                .iter()
                .map(|k| {
                    Node::synthetic(Value::Map(vec![
                        Item::entry("recipient", Value::Str(k.recipient.clone())),
                        Item::entry("enc", Value::Str(k.enc.clone())),
                    ]))
                })
                .collect();
            items.push(Item::entry("age", Value::Seq(list)));
        }
        items.push(Item::entry(
            "lastmodified",
            Value::Str(self.lastmodified.clone()),
        ));
        items.push(Item::entry("mac", Value::Str(self.mac.clone())));
        for (field, node) in &self.other_keys {
            if field == "pgp" {
                items.push(Item::entry(field.clone(), node.value.clone()));
            }
        }
        items.push(Item::entry(
            self.rule.field,
            Value::Str(self.rule.text.clone()),
        ));
        if self.mac_only_encrypted {
            items.push(Item::entry("mac_only_encrypted", Value::Bool(true)));
        }
        items.push(Item::entry("version", Value::Str(self.version.clone())));
        Value::Map(items)
    }
}

fn read_age(list: &Node) -> Result<Vec<AgeKey>, MetadataError> {
    let e = |pos: Pos, message: &str| MetadataError {
        pos,
        message: message.to_owned(),
    };
    match &list.value {
        Value::Null => Ok(Vec::new()),
        Value::Seq(entries) => entries
            .iter()
            .filter(|n| !matches!(n.value, Value::Comment(_)))
            .map(|entry| {
                let Value::Map(fields) = &entry.value else {
                    return Err(e(entry.pos, "an entry of `sops.age` is not a map"));
                };
                let get =
                    |f: &str| map_get(fields, f).and_then(|n| n.value.as_str().map(str::to_owned));
                Ok(AgeKey {
                    recipient: get("recipient")
                        .ok_or_else(|| e(entry.pos, "an entry of `sops.age` has no `recipient`"))?,
                    enc: get("enc")
                        .ok_or_else(|| e(entry.pos, "an entry of `sops.age` has no `enc`"))?,
                    pos: entry.pos,
                })
            })
            .collect(),
        _ => Err(e(list.pos, "`sops.age` is not a list")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_writes_in_sops_order() {
        let text = "sops:\n    age:\n        - recipient: age1x\n          enc: |\n            armored\n    lastmodified: \"2026-11-26T12:34:21Z\"\n    mac: ENC[x]\n    encrypted_regex: ^(data|stringData)$\n    version: 3.11.0\n";
        let docs = crate::yaml_read::parse(text).unwrap();
        let m = Metadata::read(docs[0].get("sops").unwrap()).unwrap();
        assert_eq!(m.age.len(), 1);
        assert_eq!(m.age[0].enc, "armored\n");
        assert_eq!(m.rule.field, "encrypted_regex");
        let back = crate::tree::Document {
            items: vec![Item::entry("sops", m.to_value())],
            pos: Pos::default(),
        };
        assert_eq!(crate::yaml_write::emit(&[back], 4), text);
    }

    #[test]
    fn refuses_two_rules_and_defaults_to_the_suffix() {
        let two = "sops:\n  lastmodified: x\n  encrypted_regex: a\n  unencrypted_suffix: b\n";
        let docs = crate::yaml_read::parse(two).unwrap();
        assert!(Metadata::read(docs[0].get("sops").unwrap())
            .unwrap_err()
            .message
            .contains("only one"));
        let none = "sops:\n  lastmodified: x\n  mac: y\n";
        let docs = crate::yaml_read::parse(none).unwrap();
        let m = Metadata::read(docs[0].get("sops").unwrap()).unwrap();
        assert_eq!(m.rule, CryptRule::default_rule());
    }
}
