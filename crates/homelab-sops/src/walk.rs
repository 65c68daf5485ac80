//! The one walk over a file's documents that sops does to encrypt, decrypt and compute the
//! MAC: maps in key order, lists item by item (items share their list's path), comments
//! remembered so the comment rules can see them. At each leaf the crypt rule decides, the
//! value is encrypted or decrypted, and its plaintext feeds the MAC.

use crate::cipher::{self, DataKey, DecryptError, IV_LEN};
use crate::rules::CryptRule;
use crate::tree::{Document, Item, Node, Pos, Value};
use sha2::{Digest, Sha512};
use std::collections::HashMap;

/// The 32 bytes a `mac_only_encrypted` MAC starts with (SHA-256 of `sops`).
pub const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// IVs of decrypted values by (type, plaintext, path): re-encrypting an unchanged value with
/// its old IV gives the same ciphertext, so editing one value changes one line (sops does the
/// same).
#[derive(Default)]
pub struct Stash {
    ivs: HashMap<(&'static str, Vec<u8>, String), [u8; IV_LEN]>,
}

/// A value that could not be handled, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafError {
    pub pos: Pos,
    /// The value's path, `data.password` style.
    pub path: String,
    pub kind: LeafErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeafErrorKind {
    /// The rule says encrypted but the value is plaintext.
    NotEncrypted,
    Decrypt(DecryptError),
    Encrypt(String),
}

impl std::fmt::Display for LeafError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.path.is_empty() {
            "a top-level comment".to_owned()
        } else {
            format!("`{}`", self.path)
        };
        match &self.kind {
            LeafErrorKind::NotEncrypted => write!(
                f,
                "the value at {at} is plaintext but the file's crypt rule says it is encrypted"
            ),
            LeafErrorKind::Decrypt(e) => write!(f, "the value at {at} cannot be decrypted: {e}"),
            LeafErrorKind::Encrypt(e) => write!(f, "the value at {at} cannot be encrypted: {e}"),
        }
    }
}

enum Mode<'a> {
    Encrypt {
        key: &'a DataKey,
        stash: &'a Stash,
    },
    Decrypt {
        key: &'a DataKey,
        stash: &'a mut Stash,
    },
}

struct Walker<'a> {
    rule: &'a CryptRule,
    mac_only: bool,
    hasher: Sha512,
    mode: Mode<'a>,
}

fn dotted(path: &[String]) -> String {
    path.join(".")
}

impl Walker<'_> {
    fn hash(&mut self, v: &Value) {
        if matches!(v, Value::Comment(_)) {
            return;
        }
        if let Some((bytes, _)) = cipher::plaintext(v) {
            self.hasher.update(&bytes);
        }
    }

    /// One leaf (a scalar, or a comment). Returns its new value.
    fn leaf(
        &mut self,
        value: &Value,
        pos: Pos,
        path: &[String],
        comments: &[Vec<String>],
    ) -> Result<Value, LeafError> {
        let is_comment = matches!(value, Value::Comment(_));
        let encrypted = self.rule.encrypts(path, comments, is_comment);
        let err = |kind| LeafError {
            pos,
            path: dotted(path),
            kind,
        };
        match &mut self.mode {
            Mode::Encrypt { key, stash } => {
                let (key, stash) = (*key, &**stash);
                if !self.mac_only || encrypted {
                    self.hash(value);
                }
                if !encrypted {
                    return Ok(value.clone());
                }
                let aad = cipher::path_aad(path);
                let reused = cipher::plaintext(value)
                    .and_then(|(bytes, kind)| stash.ivs.get(&(kind, bytes, aad.clone())).copied());
                let text = match reused {
                    Some(iv) => cipher::encrypt_with_iv(value, key, &aad, &iv),
                    None => cipher::encrypt(value, key, &aad),
                }
                .map_err(|m| err(LeafErrorKind::Encrypt(m)))?;
                // An encrypted comment stays a comment in a map (`walk_map` keeps it one); in
                // a list it becomes a string item, as in sops, which decrypts back to a comment.
                Ok(Value::Str(text))
            }
            Mode::Decrypt { key, stash } => {
                let key = *key;
                let out = if encrypted {
                    let aad = cipher::path_aad(path);
                    match value {
                        Value::Comment(c) => match decrypt_remembering(c, key, &aad, stash) {
                            Ok(Value::Str(s)) | Ok(Value::Comment(s)) => Value::Comment(s),
                            // A comment that does not decrypt was never encrypted (older sops).
                            _ => value.clone(),
                        },
                        Value::Str(s) => decrypt_remembering(s, key, &aad, stash)
                            .map_err(|e| err(LeafErrorKind::Decrypt(e)))?,
                        _ => return Err(err(LeafErrorKind::NotEncrypted)),
                    }
                } else {
                    value.clone()
                };
                if !self.mac_only || encrypted {
                    self.hash(&out);
                }
                Ok(out)
            }
        }
    }

    fn walk_value(
        &mut self,
        node: &mut Node,
        path: &mut Vec<String>,
        comments: &mut Vec<Vec<String>>,
    ) -> Result<(), LeafError> {
        match &mut node.value {
            Value::Null => Ok(()),
            Value::Map(items) => self.walk_map(items, path, comments),
            Value::Seq(items) => {
                comments.push(Vec::new());
                for item in items.iter_mut() {
                    let is_comment = if let Value::Comment(c) = &item.value {
                        comments.last_mut().expect("pushed above").push(c.clone());
                        true
                    } else {
                        false
                    };
                    self.walk_value(item, path, comments)?;
                    if !is_comment {
                        comments.last_mut().expect("pushed above").clear();
                    }
                }
                comments.pop();
                Ok(())
            }
            leaf => {
                let new = self.leaf(leaf, node.pos, path, comments)?;
                node.value = new;
                Ok(())
            }
        }
    }

    fn walk_map(
        &mut self,
        items: &mut [Item],
        path: &mut Vec<String>,
        comments: &mut Vec<Vec<String>>,
    ) -> Result<(), LeafError> {
        comments.push(Vec::new());
        for item in items.iter_mut() {
            match item {
                Item::Comment { text, pos } => {
                    comments
                        .last_mut()
                        .expect("pushed above")
                        .push(text.clone());
                    let new = self.leaf(&Value::Comment(text.clone()), *pos, path, comments)?;
                    if let Value::Comment(t) | Value::Str(t) = new {
                        *text = t;
                    }
                }
                Item::Entry { key, value, .. } => {
                    let is_comment = if let Value::Comment(c) = &value.value {
                        comments.last_mut().expect("pushed above").push(c.clone());
                        true
                    } else {
                        false
                    };
                    path.push(key.clone());
                    let result = self.walk_value(value, path, comments);
                    path.pop();
                    result?;
                    if !is_comment {
                        comments.last_mut().expect("pushed above").clear();
                    }
                }
            }
        }
        comments.pop();
        Ok(())
    }
}

fn decrypt_remembering(
    s: &str,
    key: &DataKey,
    aad: &str,
    stash: &mut Stash,
) -> Result<Value, DecryptError> {
    if s.is_empty() {
        return Ok(Value::Str(String::new()));
    }
    let enc = cipher::parse(s).map_err(DecryptError::Malformed)?;
    let bytes = cipher::open(&enc, key, aad)?;
    let value = cipher::typed(bytes, &enc.kind)?;
    if let (Some((plain, kind)), Ok(iv)) = (
        cipher::plaintext(&value),
        <[u8; IV_LEN]>::try_from(enc.iv.as_slice()),
    ) {
        stash.ivs.insert((kind, plain, aad.to_owned()), iv);
    }
    Ok(value)
}

fn new_hasher(mac_only: bool) -> Sha512 {
    let mut h = Sha512::new();
    if mac_only {
        h.update(MAC_ONLY_ENCRYPTED_INIT);
    }
    h
}

fn finish(h: Sha512) -> String {
    h.finalize().iter().map(|b| format!("{b:02X}")).collect()
}

/// Encrypts every selected value of `docs` in place; returns the MAC (uppercase hex).
pub fn encrypt(
    docs: &mut [Document],
    rule: &CryptRule,
    mac_only: bool,
    key: &DataKey,
    stash: &Stash,
) -> Result<String, LeafError> {
    let mut w = Walker {
        rule,
        mac_only,
        hasher: new_hasher(mac_only),
        mode: Mode::Encrypt { key, stash },
    };
    for doc in docs.iter_mut() {
        w.walk_map(&mut doc.items, &mut Vec::new(), &mut Vec::new())?;
    }
    Ok(finish(w.hasher))
}

/// Decrypts every selected value of `docs` in place; returns the MAC of the plaintext and
/// remembers each value's IV in `stash`.
pub fn decrypt(
    docs: &mut [Document],
    rule: &CryptRule,
    mac_only: bool,
    key: &DataKey,
    stash: &mut Stash,
) -> Result<String, LeafError> {
    let mut w = Walker {
        rule,
        mac_only,
        hasher: new_hasher(mac_only),
        mode: Mode::Decrypt { key, stash },
    };
    for doc in docs.iter_mut() {
        w.walk_map(&mut doc.items, &mut Vec::new(), &mut Vec::new())?;
    }
    Ok(finish(w.hasher))
}

/// A leaf as the structure check sees it: without a key, only its shape.
pub struct LeafView<'a> {
    pub value: &'a Value,
    pub pos: Pos,
    pub path: &'a [String],
    pub encrypted: bool,
}

/// Visits every leaf with the rule's verdict, without decrypting (for the structure check).
pub fn visit(docs: &[Document], rule: &CryptRule, f: &mut dyn FnMut(LeafView<'_>)) {
    fn value(
        node: &Node,
        rule: &CryptRule,
        path: &mut Vec<String>,
        comments: &mut Vec<Vec<String>>,
        f: &mut dyn FnMut(LeafView<'_>),
    ) {
        match &node.value {
            Value::Null => {}
            Value::Map(items) => map(items, rule, path, comments, f),
            Value::Seq(items) => {
                comments.push(Vec::new());
                for item in items {
                    let is_comment = if let Value::Comment(c) = &item.value {
                        comments.last_mut().expect("pushed above").push(c.clone());
                        true
                    } else {
                        false
                    };
                    value(item, rule, path, comments, f);
                    if !is_comment {
                        comments.last_mut().expect("pushed above").clear();
                    }
                }
                comments.pop();
            }
            leaf => {
                let encrypted = rule.encrypts(path, comments, matches!(leaf, Value::Comment(_)));
                f(LeafView {
                    value: leaf,
                    pos: node.pos,
                    path,
                    encrypted,
                });
            }
        }
    }
    fn map(
        items: &[Item],
        rule: &CryptRule,
        path: &mut Vec<String>,
        comments: &mut Vec<Vec<String>>,
        f: &mut dyn FnMut(LeafView<'_>),
    ) {
        comments.push(Vec::new());
        for item in items {
            match item {
                Item::Comment { text, pos } => {
                    comments
                        .last_mut()
                        .expect("pushed above")
                        .push(text.clone());
                    let encrypted = rule.encrypts(path, comments, true);
                    let v = Value::Comment(text.clone());
                    f(LeafView {
                        value: &v,
                        pos: *pos,
                        path,
                        encrypted,
                    });
                }
                Item::Entry { key, value: v, .. } => {
                    let is_comment = if let Value::Comment(c) = &v.value {
                        comments.last_mut().expect("pushed above").push(c.clone());
                        true
                    } else {
                        false
                    };
                    path.push(key.clone());
                    value(v, rule, path, comments, f);
                    path.pop();
                    if !is_comment {
                        comments.last_mut().expect("pushed above").clear();
                    }
                }
            }
        }
        comments.pop();
    }
    for doc in docs {
        map(&doc.items, rule, &mut Vec::new(), &mut Vec::new(), f);
    }
}
