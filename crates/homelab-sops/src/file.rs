//! Whole files: read, encrypt, decrypt (with the MAC checked), re-encrypt after a change,
//! re-wrap the data key for new recipients, and write back in YAML or JSON.

use crate::cipher::{self, DataKey};
use crate::keys::{self, Identities, UnwrapError};
use crate::metadata::{AgeKey, Metadata, FORMAT_VERSION, SOPS_KEY};
use crate::rules::CryptRule;
use crate::tree::{Document, Item, Node, Pos, Value};
use crate::walk::{self, LeafErrorKind, Stash};
use zeroize::Zeroizing;

/// The file formats handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

impl Format {
    /// By extension, as sops decides (`.json`, `.yaml`/`.yml`); `None` for others.
    pub fn from_path(path: &std::path::Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            _ => None,
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            _ => None,
        }
    }
}

/// What kind of failure (decides the message's help and, in the CLI, nothing else: every
/// failure leaves the file untouched).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Not valid YAML/JSON, or a shape sops does not support.
    Parse,
    /// No `sops` metadata.
    NotEncrypted,
    /// Already has `sops` metadata.
    AlreadyEncrypted,
    /// The `sops` block is broken.
    Metadata,
    /// No identity was found at all.
    NoIdentity,
    /// The identities are not recipients of the file.
    NotARecipient,
    /// A value is plaintext where it must be encrypted, or does not decrypt.
    Value,
    /// The MAC does not match, or does not decrypt.
    Mac,
    /// Something homelab sops does not implement (Shamir, PGP, KMS, ...).
    Unsupported,
    /// Bad input from the user (a path, a value, a recipient).
    Usage,
}

/// A failure, with where in the file it is and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub pos: Option<Pos>,
    pub message: String,
    pub help: String,
}

impl Error {
    fn new(
        kind: ErrorKind,
        pos: Option<Pos>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        Error {
            kind,
            pos,
            message: message.into(),
            help: help.into(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(p) = self.pos {
            write!(f, "{p}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Parses a file's text (plain or encrypted).
pub fn parse(text: &str, format: Format) -> Result<Vec<Document>, Error> {
    let parsed = match format {
        Format::Yaml => crate::yaml_read::parse(text),
        Format::Json => crate::json::parse(text).map(|d| vec![d]),
    };
    parsed.map_err(|e| {
        Error::new(
            ErrorKind::Parse,
            Some(e.pos),
            e.message,
            "fix the syntax; nothing was written",
        )
    })
}

/// An encrypted file: its documents (with the `sops` key removed) and metadata.
#[derive(Debug, Clone)]
pub struct Encrypted {
    pub docs: Vec<Document>,
    pub metadata: Metadata,
    /// The raw `sops` blocks of every document, for the structure check.
    pub blocks: Vec<Option<Node>>,
}

/// Reads an encrypted file: metadata from the first document (as sops does), the `sops` key
/// removed from every document.
pub fn read_encrypted(text: &str, format: Format) -> Result<Encrypted, Error> {
    let docs = parse(text, format)?;
    from_documents(docs)
}

/// [`read_encrypted`] over parsed documents.
pub fn from_documents(mut docs: Vec<Document>) -> Result<Encrypted, Error> {
    let Some(first) = docs.first() else {
        return Err(Error::new(
            ErrorKind::NotEncrypted,
            None,
            "the file is empty: sops metadata not found",
            "encrypt it first with `homelab sops encrypt`",
        ));
    };
    let Some(block) = first.get(SOPS_KEY) else {
        return Err(Error::new(
            ErrorKind::NotEncrypted,
            Some(first.pos),
            "sops metadata not found: this file is not encrypted",
            "encrypt it with `homelab sops encrypt --in-place FILE`",
        ));
    };
    let metadata = Metadata::read(block).map_err(|e| {
        Error::new(
            ErrorKind::Metadata,
            Some(e.pos),
            e.message,
            "the `sops` block was edited or truncated; restore the file from git",
        )
    })?;
    let blocks = docs.iter_mut().map(|d| d.remove(SOPS_KEY)).collect();
    Ok(Encrypted {
        docs,
        metadata,
        blocks,
    })
}

/// A decrypted file, with what is needed to encrypt it again the same way.
pub struct Decrypted {
    pub docs: Vec<Document>,
    pub metadata: Metadata,
    pub key: DataKey,
    pub stash: Stash,
}

impl Encrypted {
    /// Opens the data key with any of the identities.
    pub fn data_key(&self, ids: &Identities) -> Result<DataKey, Error> {
        if self.metadata.key_groups > 1 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                Some(self.metadata.pos),
                format!(
                    "the file splits its data key over {} key groups (Shamir), which homelab sops does not support",
                    self.metadata.key_groups
                ),
                "decrypt it with `sops`",
            ));
        }
        if ids.is_empty() {
            return Err(Error::new(
                ErrorKind::NoIdentity,
                None,
                "no age identity found (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, or the default key file)",
                format!(
                    "set SOPS_AGE_KEY_FILE to your key file, or put it at {}",
                    keys::default_key_file()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "~/.config/sops/age/keys.txt".into())
                ),
            ));
        }
        if self.metadata.age.is_empty() {
            let others: Vec<&str> = self
                .metadata
                .other_keys
                .iter()
                .map(|(k, _)| k.as_str())
                .collect();
            return Err(Error::new(
                ErrorKind::Unsupported,
                Some(self.metadata.pos),
                format!(
                    "the file has no age recipient (its data key is wrapped with {})",
                    if others.is_empty() {
                        "nothing".to_owned()
                    } else {
                        others.join(", ")
                    }
                ),
                "homelab sops only uses age keys; decrypt it with `sops`",
            ));
        }
        let mut malformed = None;
        for entry in &self.metadata.age {
            match keys::unwrap(&entry.enc, ids) {
                Ok(key) => return Ok(key),
                Err(UnwrapError::NoMatchingIdentity) => {}
                Err(UnwrapError::Malformed(m)) => malformed = Some((entry.pos, m)),
                Err(UnwrapError::NotADataKey) => {
                    malformed = Some((entry.pos, "it does not hold a 32-byte data key".into()))
                }
            }
        }
        if let Some((pos, m)) = malformed {
            return Err(Error::new(
                ErrorKind::Metadata,
                Some(pos),
                format!("a wrapped data key (`sops.age[].enc`) is broken: {m}"),
                "the `sops` block was edited or truncated; restore the file from git",
            ));
        }
        let recipients: Vec<&str> = self
            .metadata
            .age
            .iter()
            .map(|a| a.recipient.as_str())
            .collect();
        Err(Error::new(
            ErrorKind::NotARecipient,
            None,
            format!(
                "none of the age identities from {} can open this file (its recipients: {})",
                ids.sources.join(", "),
                recipients.join(", ")
            ),
            "use the identity of one of those recipients, or ask its holder to run `homelab sops updatekeys`",
        ))
    }

    /// Decrypts every value and checks the MAC. Nothing is returned unless everything
    /// decrypts and the MAC matches.
    pub fn decrypt(&self, key: DataKey) -> Result<Decrypted, Error> {
        let mut docs = self.docs.clone();
        let mut stash = Stash::default();
        let m = &self.metadata;
        let computed = walk::decrypt(&mut docs, &m.rule, m.mac_only_encrypted, &key, &mut stash)
            .map_err(|e| {
                let help = match e.kind {
                    LeafErrorKind::NotEncrypted => "the value was edited by hand in clear; restore it from git or set it with `homelab sops set`",
                    _ => "the ciphertext was edited, or moved from another key (the path is authenticated); restore the file from git",
                };
                Error::new(ErrorKind::Value, Some(e.pos), e.to_string(), help)
            })?;
        verify_mac(m, &key, &computed)?;
        Ok(Decrypted {
            docs,
            metadata: m.clone(),
            key,
            stash,
        })
    }
}

/// Checks the stored MAC against the one computed over the plaintext. The MACs themselves are
/// never shown: the computed one is a hash of the secrets.
fn verify_mac(m: &Metadata, key: &DataKey, computed: &str) -> Result<(), Error> {
    let help = "the file was changed outside sops (a value, a key or `lastmodified` edited, or values removed); restore it from git";
    let Some(aad) = crate::time::mac_additional_data(&m.lastmodified) else {
        return Err(Error::new(
            ErrorKind::Mac,
            Some(m.lastmodified_pos),
            format!(
                "`sops.lastmodified` ({}) is not an RFC 3339 time",
                m.lastmodified
            ),
            help,
        ));
    };
    let stored = match cipher::decrypt(&m.mac, key, &aad) {
        Ok(Value::Str(s)) => s,
        Ok(_) | Err(_) => {
            return Err(Error::new(
                ErrorKind::Mac,
                Some(m.mac_pos),
                "cannot decrypt the MAC: `sops.mac` or `sops.lastmodified` was edited",
                help,
            ))
        }
    };
    if stored != computed {
        return Err(Error::new(
            ErrorKind::Mac,
            Some(m.mac_pos),
            if stored.is_empty() {
                "the file has no MAC".to_owned()
            } else {
                "MAC mismatch: the file's content is not what was encrypted".to_owned()
            },
            help,
        ));
    }
    Ok(())
}

/// How to encrypt a new file.
#[derive(Debug, Clone)]
pub struct EncryptOptions {
    pub recipients: Vec<String>,
    pub rule: CryptRule,
    pub mac_only_encrypted: bool,
}

fn wrap_all(key: &DataKey, recipients: &[String], old: &[AgeKey]) -> Result<Vec<AgeKey>, Error> {
    let mut out = Vec::new();
    for r in recipients {
        if let Some(kept) = old.iter().find(|k| &k.recipient == r) {
            out.push(kept.clone());
            continue;
        }
        let recipient = keys::parse_recipient(r).map_err(|m| {
            Error::new(
                ErrorKind::Usage,
                None,
                m,
                "fix the recipient in .sops.yaml or --age",
            )
        })?;
        let enc = keys::wrap(key, &recipient)
            .map_err(|m| Error::new(ErrorKind::Usage, None, m, "this is a bug in homelab sops"))?;
        out.push(AgeKey {
            recipient: r.clone(),
            enc,
            pos: Pos::default(),
        });
    }
    Ok(out)
}

fn seal(
    mut docs: Vec<Document>,
    mut metadata: Metadata,
    key: &DataKey,
    stash: &Stash,
) -> Result<(Vec<Document>, Metadata), Error> {
    let mac = walk::encrypt(
        &mut docs,
        &metadata.rule,
        metadata.mac_only_encrypted,
        key,
        stash,
    )
    .map_err(|e| {
        Error::new(
            ErrorKind::Value,
            Some(e.pos),
            e.to_string(),
            "nothing was written",
        )
    })?;
    metadata.lastmodified = crate::time::now_rfc3339();
    metadata.mac = cipher::encrypt(&Value::Str(mac), key, &metadata.lastmodified)
        .map_err(|m| Error::new(ErrorKind::Value, None, m, "nothing was written"))?;
    metadata.version = FORMAT_VERSION.to_owned();
    Ok((docs, metadata))
}

/// Encrypts a plaintext file for the recipients: a new data key, every selected value
/// encrypted, the MAC and `lastmodified` set.
pub fn encrypt(
    docs: Vec<Document>,
    options: &EncryptOptions,
) -> Result<(Vec<Document>, Metadata), Error> {
    if let Some(doc) = docs.iter().find(|d| d.get(SOPS_KEY).is_some()) {
        return Err(Error::new(
            ErrorKind::AlreadyEncrypted,
            doc.get(SOPS_KEY).map(|n| n.pos),
            "the file already has sops metadata: it is encrypted",
            "use `homelab sops set` to change a value, or `homelab sops decrypt` first",
        ));
    }
    if options.recipients.is_empty() {
        return Err(Error::new(
            ErrorKind::Usage,
            None,
            "no age recipient to encrypt for",
            "add `age: age1…` to the matching creation rule in .sops.yaml, or pass --age",
        ));
    }
    let key: DataKey = Zeroizing::new(
        cipher::random::<32>().map_err(|m| Error::new(ErrorKind::Usage, None, m, ""))?,
    );
    let age = wrap_all(&key, &options.recipients, &[])?;
    let metadata = Metadata {
        age,
        other_keys: Vec::new(),
        key_groups: 0,
        shamir_threshold: 0,
        lastmodified: String::new(),
        mac: String::new(),
        rule: options.rule.clone(),
        mac_only_encrypted: options.mac_only_encrypted,
        version: FORMAT_VERSION.to_owned(),
        pos: Pos::default(),
        mac_pos: Pos::default(),
        lastmodified_pos: Pos::default(),
    };
    seal(docs, metadata, &key, &Stash::default())
}

impl Decrypted {
    /// Encrypts the (possibly changed) documents again with the same key, rule and
    /// recipients; unchanged values keep their ciphertext.
    pub fn reencrypt(self) -> Result<(Vec<Document>, Metadata), Error> {
        let Decrypted {
            docs,
            metadata,
            key,
            stash,
        } = self;
        seal(docs, metadata, &key, &stash)
    }
}

/// What `updatekeys` changes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyChanges {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// Non-age master keys that go away (the rule has none).
    pub removed_other: Vec<String>,
}

impl KeyChanges {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.removed_other.is_empty()
    }
}

/// The changes `updatekeys` would make to reach `recipients`.
pub fn key_changes(file: &Encrypted, recipients: &[String]) -> KeyChanges {
    let current: Vec<&String> = file.metadata.age.iter().map(|k| &k.recipient).collect();
    KeyChanges {
        added: recipients
            .iter()
            .filter(|r| !current.contains(r))
            .cloned()
            .collect(),
        removed: current
            .iter()
            .filter(|r| !recipients.contains(r))
            .map(|r| (*r).clone())
            .collect(),
        removed_other: file
            .metadata
            .other_keys
            .iter()
            .map(|(k, _)| k.clone())
            .collect(),
    }
}

/// Wraps the file's data key for exactly `recipients` (the values, MAC and `lastmodified`
/// stay as they are, as with `sops updatekeys`).
pub fn update_keys(
    mut file: Encrypted,
    key: &DataKey,
    recipients: &[String],
) -> Result<Encrypted, Error> {
    file.metadata.age = wrap_all(key, recipients, &file.metadata.age)?;
    file.metadata.other_keys.clear();
    file.metadata.key_groups = 0;
    file.metadata.shamir_threshold = 0;
    Ok(file)
}

/// Layout of written files.
#[derive(Debug, Clone)]
pub struct Layout {
    pub yaml_indent: usize,
    /// `None`: tabs (sops's default for JSON).
    pub json_indent: Option<usize>,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            yaml_indent: 4,
            json_indent: None,
        }
    }
}

/// Writes documents, with the `sops` block appended to each when `metadata` is given.
pub fn render(
    docs: &[Document],
    metadata: Option<&Metadata>,
    format: Format,
    layout: &Layout,
) -> Result<String, Error> {
    let mut docs = docs.to_vec();
    if let Some(m) = metadata {
        let block = m.to_value();
        for d in &mut docs {
            d.items.push(Item::entry(SOPS_KEY, block.clone()));
        }
    }
    let fail = |m: String| Error::new(ErrorKind::Usage, None, m, "nothing was written");
    match format {
        Format::Yaml => Ok(crate::yaml_write::emit(
            &docs,
            if layout.yaml_indent == 0 {
                4
            } else {
                layout.yaml_indent
            },
        )),
        Format::Json => {
            let indent = match layout.json_indent {
                None => "\t".to_owned(),
                Some(n) => " ".repeat(n),
            };
            if metadata.is_some() && docs.len() != 1 {
                return Err(fail("a JSON file holds one document".into()));
            }
            crate::json::emit_all(&docs, &indent).map_err(fail)
        }
    }
}

/// One step of a `set` path: `["key"]` or `[0]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPart {
    Key(String),
    Index(usize),
}

/// Parses sops's index syntax: `["data"]["password"]`, `["list"][0]`.
pub fn parse_index(text: &str) -> Result<Vec<PathPart>, String> {
    let mut parts = Vec::new();
    let mut rest = text.trim();
    let bad = || format!("`{text}` is not an index like [\"data\"][\"password\"] or [\"list\"][0]");
    while !rest.is_empty() {
        rest = rest.strip_prefix('[').ok_or_else(bad)?;
        if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let body = &rest[1..];
            let end = body.find(q).ok_or_else(bad)?;
            parts.push(PathPart::Key(body[..end].to_owned()));
            rest = body[end + 1..].strip_prefix(']').ok_or_else(bad)?;
        } else {
            let end = rest.find(']').ok_or_else(bad)?;
            let index = rest[..end].trim().parse::<usize>().map_err(|_| bad())?;
            parts.push(PathPart::Index(index));
            rest = &rest[end + 1..];
        }
        rest = rest.trim_start();
    }
    if parts.is_empty() {
        return Err(bad());
    }
    Ok(parts)
}

fn build(path: &[PathPart], leaf: Value) -> Value {
    match path.split_first() {
        None => leaf,
        Some((PathPart::Key(k), rest)) => {
            Value::Map(vec![Item::entry(k.clone(), build(rest, leaf))])
        }
        Some((PathPart::Index(_), rest)) => Value::Seq(vec![Node::synthetic(build(rest, leaf))]),
    }
}

/// Sets the value at `path` in the first document (as `sops set`), creating what is missing.
/// Returns whether anything changed.
pub fn set_value(doc: &mut Document, path: &[PathPart], value: Value) -> Result<bool, String> {
    let Some((PathPart::Key(first), rest)) = path.split_first() else {
        return Err("the index must start with a key, like [\"data\"]".into());
    };
    let mut root = Node::synthetic(Value::Map(std::mem::take(&mut doc.items)));
    let mut full = vec![PathPart::Key(first.clone())];
    full.extend(rest.iter().cloned());
    let changed = set_in(&mut root, &full, value);
    if let Value::Map(items) = root.value {
        doc.items = items;
    }
    Ok(changed)
}

fn set_in(node: &mut Node, path: &[PathPart], value: Value) -> bool {
    let Some((head, rest)) = path.split_first() else {
        let changed = node.value != value;
        node.value = value;
        return changed;
    };
    match (&mut node.value, head) {
        (Value::Map(items), PathPart::Key(k)) => {
            for item in items.iter_mut() {
                if let Item::Entry { key, value: v, .. } = item {
                    if key == k {
                        return set_in(v, rest, value);
                    }
                }
            }
            items.push(Item::entry(k.clone(), build(rest, value)));
            true
        }
        (Value::Seq(items), PathPart::Index(i)) => {
            let positions: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, n)| !matches!(n.value, Value::Comment(_)))
                .map(|(i, _)| i)
                .collect();
            match positions.get(*i) {
                Some(&at) => set_in(&mut items[at], rest, value),
                None => {
                    items.push(Node::synthetic(build(rest, value)));
                    true
                }
            }
        }
        _ => {
            let new = build(path, value);
            let changed = node.value != new;
            node.value = new;
            changed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    fn identity() -> (Identities, String) {
        let id = age::x25519::Identity::generate();
        let recipient = id.to_public().to_string();
        let mut ids = Identities::default();
        ids.add_text(id.to_string().expose_secret(), "test")
            .unwrap();
        (ids, recipient)
    }

    const SECRET: &str = "# a secret\napiVersion: v1\nkind: Secret\nmetadata:\n    name: db\ndata:\n    # the user\n    username: YWRtaW4=\n    password: cDRzc3cwcmQh\nstringData:\n    empty: \"\"\n    port: 5432\n";

    fn encrypted(mac_only: bool) -> (String, Identities) {
        let (ids, recipient) = identity();
        let docs = parse(SECRET, Format::Yaml).unwrap();
        let options = EncryptOptions {
            recipients: vec![recipient],
            rule: CryptRule::new("encrypted_regex", "^(data|stringData)$").unwrap(),
            mac_only_encrypted: mac_only,
        };
        let (docs, m) = encrypt(docs, &options).unwrap();
        (
            render(&docs, Some(&m), Format::Yaml, &Layout::default()).unwrap(),
            ids,
        )
    }

    fn open(text: &str, ids: &Identities) -> Result<String, Error> {
        let file = read_encrypted(text, Format::Yaml)?;
        let key = file.data_key(ids)?;
        let d = file.decrypt(key)?;
        render(&d.docs, None, Format::Yaml, &Layout::default())
    }

    #[test]
    fn encrypt_then_decrypt_gives_the_file_back() {
        let (text, ids) = encrypted(false);
        assert!(text.contains("    #ENC[AES256_GCM,"), "{text}");
        assert!(text.contains("name: db\n"));
        assert!(text.contains("    empty: \"\"\n"));
        assert!(!text.contains("YWRtaW4="));
        assert_eq!(open(&text, &ids).unwrap(), SECRET);
    }

    #[test]
    fn tampering_is_refused_with_a_reason() {
        let (text, ids) = encrypted(false);
        // An unencrypted value edited.
        let edited = text.replace("name: db", "name: other");
        assert_eq!(open(&edited, &ids).unwrap_err().kind, ErrorKind::Mac);
        // Two encrypted values swapped: the path is the additional data.
        let lines: Vec<&str> = text.lines().collect();
        let user = lines
            .iter()
            .position(|l| l.trim_start().starts_with("username:"))
            .unwrap();
        let pass = lines
            .iter()
            .position(|l| l.trim_start().starts_with("password:"))
            .unwrap();
        let mut swapped: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        let u_val = lines[user].split_once(": ").unwrap().1;
        let p_val = lines[pass].split_once(": ").unwrap().1;
        swapped[user] = format!("    username: {p_val}");
        swapped[pass] = format!("    password: {u_val}");
        let swapped = swapped.join("\n") + "\n";
        let e = open(&swapped, &ids).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Value);
        assert!(e.message.contains("data.username"), "{}", e.message);
        // A plaintext value put under an encrypted key.
        let plain = text.replacen(&format!("username: {u_val}"), "username: hunter2", 1);
        assert_eq!(open(&plain, &ids).unwrap_err().kind, ErrorKind::Value);
        // Wrong identity.
        let (other, _) = identity();
        assert_eq!(
            open(&text, &other).unwrap_err().kind,
            ErrorKind::NotARecipient
        );
        // Truncated.
        let cut = &text[..text.find("sops:").unwrap() + 12];
        assert!(open(cut, &ids).is_err());
        let cut = &text[..text.len() / 3];
        assert!(open(cut, &ids).is_err());
    }

    #[test]
    fn mac_only_encrypted_tolerates_plain_edits_only() {
        let (text, ids) = encrypted(true);
        assert!(text.contains("mac_only_encrypted: true"));
        let edited = text.replace("name: db", "name: other");
        assert!(open(&edited, &ids).unwrap().contains("name: other"));
    }

    #[test]
    fn set_changes_one_value_and_keeps_the_others() {
        let (text, ids) = encrypted(false);
        let file = read_encrypted(&text, Format::Yaml).unwrap();
        let key = file.data_key(&ids).unwrap();
        let mut d = file.decrypt(key).unwrap();
        let path = parse_index("[\"data\"][\"password\"]").unwrap();
        assert!(set_value(&mut d.docs[0], &path, Value::Str("bmV3".into())).unwrap());
        let (docs, m) = d.reencrypt().unwrap();
        let out = render(&docs, Some(&m), Format::Yaml, &Layout::default()).unwrap();
        let same = |needle: &str| {
            let a = text.lines().find(|l| l.contains(needle)).unwrap();
            let b = out.lines().find(|l| l.contains(needle)).unwrap();
            a == b
        };
        assert!(same("username:"));
        assert!(!same("password:"));
        let plain = open(&out, &ids).unwrap();
        assert!(plain.contains("password: bmV3"));
    }

    #[test]
    fn update_keys_rewraps_for_the_new_set() {
        let (text, ids) = encrypted(false);
        let (ids2, r2) = identity();
        let file = read_encrypted(&text, Format::Yaml).unwrap();
        let key = file.data_key(&ids).unwrap();
        let mut recipients: Vec<String> = file
            .metadata
            .age
            .iter()
            .map(|a| a.recipient.clone())
            .collect();
        recipients.push(r2.clone());
        let changes = key_changes(&file, &recipients);
        assert_eq!(changes.added, [r2]);
        let file = update_keys(file, &key, &recipients).unwrap();
        let out = render(
            &file.docs,
            Some(&file.metadata),
            Format::Yaml,
            &Layout::default(),
        )
        .unwrap();
        assert_eq!(open(&out, &ids2).unwrap(), SECRET);
        assert_eq!(open(&out, &ids).unwrap(), SECRET);
    }

    #[test]
    fn index_syntax() {
        assert_eq!(
            parse_index("[\"a\"][0]['b c']").unwrap(),
            [
                PathPart::Key("a".into()),
                PathPart::Index(0),
                PathPart::Key("b c".into())
            ]
        );
        assert!(parse_index("a.b").is_err());
        assert!(parse_index("[\"a\"").is_err());
    }
}
