//! SHA-256 digests as Helm and chart repositories write them (lower-case hex).

use sha2::{Digest, Sha256};

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-1, only where a format demands it (git's object ids), never for integrity.
pub fn sha1_hex(bytes: &[u8]) -> String {
    use sha1::Digest as _;
    hex::encode(sha1::Sha1::digest(bytes))
}

/// A digest over several parts, each length-prefixed so that parts cannot run into each other.
pub fn sha256_parts<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    #[test]
    fn digests_are_lower_hex_and_parts_are_delimited() {
        assert_eq!(
            super::sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_ne!(
            super::sha256_parts([&b"ab"[..], &b"c"[..]]),
            super::sha256_parts([&b"a"[..], &b"bc"[..]])
        );
    }
}
