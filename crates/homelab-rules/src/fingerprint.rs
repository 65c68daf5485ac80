//! Fingerprints of secret values: stable enough to track a finding, useless to confirm a guess.
//!
//! A plain hash of a value lets anyone who reads a report (a CI log, a SARIF upload) confirm a
//! weak password offline by hashing candidates. The fingerprint is therefore a keyed hash
//! (HMAC-SHA-256) whose key is never in a report: the repository's key
//! ([`FingerprintKey`], from `HOMELAB_FINGERPRINT_KEY` or `.homelab/fingerprint.key`) when
//! there is one, otherwise the full text of the file that holds the value, which whoever can
//! read it can read the secret in anyway. `.secrets.baseline` does not depend on it: it keeps
//! detect-secrets' own `hashed_secret`, compared internally and never printed.

use hmac::{Hmac, KeyInit, Mac};
use sha2_hmac::Sha256;

/// A repository's fingerprint key (32 bytes, derived from whatever secret the user gave).
#[derive(Clone, PartialEq, Eq)]
pub struct FingerprintKey([u8; 32]);

impl std::fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FingerprintKey(..)")
    }
}

impl FingerprintKey {
    /// Derive a key from secret material (an environment value, a key file's bytes).
    pub fn derive(material: &[u8]) -> FingerprintKey {
        FingerprintKey(keyed(b"homelab fingerprint key v1", material))
    }
}

fn keyed(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The fingerprint of `value`, found in a file whose whole text is `file_text`.
pub fn of(key: Option<&FingerprintKey>, file_text: &str, value: &[u8]) -> String {
    let digest = match key {
        Some(k) => keyed(&k.0, value),
        None => keyed(
            &keyed(b"homelab fingerprint file v1", file_text.as_bytes()),
            value,
        ),
    };
    format!("hmac:{}", hex::encode(&digest[..8]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_per_repository_and_stable() {
        let a = FingerprintKey::derive(b"repo a");
        let b = FingerprintKey::derive(b"repo b");
        assert_eq!(of(Some(&a), "x", b"hunter2"), of(Some(&a), "y", b"hunter2"));
        assert_ne!(of(Some(&a), "x", b"hunter2"), of(Some(&b), "x", b"hunter2"));
        assert_ne!(
            of(None, "file one", b"hunter2"),
            of(None, "file two", b"hunter2")
        );
        assert!(of(None, "f", b"v").starts_with("hmac:"));
        assert_eq!(of(None, "f", b"v").len(), "hmac:".len() + 16);
        assert_eq!(format!("{a:?}"), "FingerprintKey(..)");
    }
}
