//! age keys: recipients (`age1…`) the data key is wrapped for, identities
//! (`AGE-SECRET-KEY-1…`) that unwrap it, and where identities come from — the same places
//! sops 3.x looks (`SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, then `<config dir>/sops/age/keys.txt`),
//! all combined. The age format itself is the `age` crate's (rage).

use crate::cipher::DataKey;
use age::armor::{ArmoredReader, ArmoredWriter, Format};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use zeroize::Zeroizing;

/// An age recipient given in a rule or on the command line.
pub fn parse_recipient(text: &str) -> Result<age::x25519::Recipient, String> {
    let text = text.trim();
    if text.starts_with("ssh-") {
        return Err(format!(
            "`{text}`: SSH recipients are not supported by homelab sops; use an age1… recipient"
        ));
    }
    age::x25519::Recipient::from_str(text)
        .map_err(|e| format!("`{text}` is not an age recipient (age1…): {e}"))
}

/// Identities and where they were read from (never their values).
#[derive(Default)]
pub struct Identities {
    pub keys: Vec<age::x25519::Identity>,
    pub sources: Vec<String>,
}

impl Identities {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Adds the identities of a key file's text (`age-keygen` format: one
    /// `AGE-SECRET-KEY-1…` per line, blank lines and `#` comments ignored).
    pub fn add_text(&mut self, text: &str, source: &str) -> Result<(), String> {
        let mut found = 0;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with("AGE-PLUGIN-") {
                return Err(format!(
                    "line {} of {source} is an age plugin identity, which homelab sops does not support",
                    i + 1
                ));
            }
            // Never echo the line: it may be a secret key with a typo.
            let identity = age::x25519::Identity::from_str(line).map_err(|_| {
                format!(
                    "line {} of {source} is not an age identity (AGE-SECRET-KEY-1…)",
                    i + 1
                )
            })?;
            self.keys.push(identity);
            found += 1;
        }
        if found == 0 {
            return Err(format!("{source} holds no age identity"));
        }
        self.sources.push(source.to_owned());
        Ok(())
    }

    /// Adds the identities of a key file.
    pub fn add_file(&mut self, path: &Path) -> Result<(), String> {
        let text = read_bounded(path)?;
        self.add_text(&text, &path.display().to_string())
    }

    /// The identities sops would use, from the environment: the content of `SOPS_AGE_KEY`,
    /// the file named by `SOPS_AGE_KEY_FILE`, and the default key file if it exists.
    pub fn from_environment() -> Result<Identities, String> {
        let mut ids = Identities::default();
        if let Ok(text) = std::env::var("SOPS_AGE_KEY") {
            if !text.trim().is_empty() {
                ids.add_text(&text, "SOPS_AGE_KEY")?;
            }
        }
        if let Some(path) = std::env::var_os("SOPS_AGE_KEY_FILE") {
            if !path.is_empty() {
                ids.add_file(Path::new(&path))
                    .map_err(|e| format!("SOPS_AGE_KEY_FILE: {e}"))?;
            }
        }
        if let Some(path) = default_key_file() {
            if path.is_file() {
                ids.add_file(&path)?;
            }
        }
        Ok(ids)
    }
}

/// `<user config dir>/sops/age/keys.txt`: `$XDG_CONFIG_HOME` or `~/.config` on Linux (Go's
/// `os.UserConfigDir`).
pub fn default_key_file() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
            let home = PathBuf::from(home);
            if cfg!(target_os = "macos") {
                home.join("Library").join("Application Support")
            } else {
                home.join(".config")
            }
        }
    };
    Some(base.join("sops").join("age").join("keys.txt"))
}

/// Reads a small text file (key files are a few hundred bytes).
fn read_bounded(path: &Path) -> Result<String, String> {
    const LIMIT: u64 = 1 << 20;
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut text = String::new();
    file.take(LIMIT + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if text.len() as u64 > LIMIT {
        return Err(format!(
            "{} is larger than an age key file can be",
            path.display()
        ));
    }
    Ok(text)
}

/// The data key as an armored age file for one recipient (what `sops.age[].enc` holds).
pub fn wrap(key: &DataKey, recipient: &age::x25519::Recipient) -> Result<String, String> {
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
            .map_err(|e| format!("age: {e}"))?;
    let fail = |e: std::io::Error| format!("age: {e}");
    let armored = ArmoredWriter::wrap_output(Vec::new(), Format::AsciiArmor).map_err(fail)?;
    let mut writer = encryptor.wrap_output(armored).map_err(fail)?;
    writer.write_all(key.as_ref()).map_err(fail)?;
    let armored = writer.finish().map_err(fail)?;
    let bytes = armored.finish().map_err(fail)?;
    String::from_utf8(bytes).map_err(|_| "age wrote non-text armor".to_owned())
}

/// Why an `enc` could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnwrapError {
    /// None of the identities is a recipient of it.
    NoMatchingIdentity,
    /// It is not an age file (armor or header broken).
    Malformed(String),
    /// It opened, but does not hold a 32-byte key.
    NotADataKey,
}

/// Checks that `enc` is an armored age file with a well-formed header, without any key.
pub fn check_armor(enc: &str) -> Result<(), String> {
    age::Decryptor::new(ArmoredReader::new(enc.as_bytes()))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Opens one wrapped data key with any of the identities.
pub fn unwrap(enc: &str, identities: &Identities) -> Result<DataKey, UnwrapError> {
    let decryptor = age::Decryptor::new(ArmoredReader::new(enc.as_bytes()))
        .map_err(|e| UnwrapError::Malformed(e.to_string()))?;
    let mut reader =
        match decryptor.decrypt(identities.keys.iter().map(|i| i as &dyn age::Identity)) {
            Ok(r) => r,
            Err(age::DecryptError::NoMatchingKeys) => return Err(UnwrapError::NoMatchingIdentity),
            Err(e) => return Err(UnwrapError::Malformed(e.to_string())),
        };
    let mut plain = Zeroizing::new(Vec::with_capacity(32));
    (&mut reader)
        .take(33)
        .read_to_end(&mut plain)
        .map_err(|e| UnwrapError::Malformed(e.to_string()))?;
    let bytes: [u8; 32] = plain
        .as_slice()
        .try_into()
        .map_err(|_| UnwrapError::NotADataKey)?;
    Ok(Zeroizing::new(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    #[test]
    fn wrap_and_unwrap() {
        let id = age::x25519::Identity::generate();
        let other = age::x25519::Identity::generate();
        let key: DataKey = Zeroizing::new([9u8; 32]);
        let enc = wrap(&key, &id.to_public()).unwrap();
        assert!(enc.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
        assert!(enc.ends_with("-----END AGE ENCRYPTED FILE-----\n"));
        check_armor(&enc).unwrap();
        let mut ids = Identities::default();
        ids.add_text(
            &format!("# created: now\n\n{}\n", id.to_string().expose_secret()),
            "test",
        )
        .unwrap();
        assert_eq!(*unwrap(&enc, &ids).unwrap(), [9u8; 32]);
        let mut wrong = Identities::default();
        wrong
            .add_text(other.to_string().expose_secret(), "other")
            .unwrap();
        assert_eq!(unwrap(&enc, &wrong), Err(UnwrapError::NoMatchingIdentity));
        assert!(matches!(
            unwrap("garbage", &ids),
            Err(UnwrapError::Malformed(_))
        ));
    }

    #[test]
    fn key_file_errors_never_echo_the_line() {
        let mut ids = Identities::default();
        let err = ids
            .add_text("AGE-SECRET-KEY-1NOTAKEYBUTASECRET", "keys.txt")
            .unwrap_err();
        assert!(err.contains("line 1 of keys.txt"), "{err}");
        assert!(!err.contains("NOTAKEY"), "{err}");
        assert!(ids.add_text("# only a comment\n", "empty.txt").is_err());
        assert!(parse_recipient("ssh-ed25519 AAAA").is_err());
        assert!(
            parse_recipient("age1zezyl9x0vztgsku0ry8a989ecuh5lhhjnrpjeqk6vmyqnruyxf9qpx72vx")
                .is_ok()
        );
    }
}
