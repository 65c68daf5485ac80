//! The one error type of this crate. Messages never contain a secret value.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum SealError {
    /// The certificate could not be read or is not usable for sealing.
    #[error("{0}")]
    Certificate(String),
    /// A private key (PEM or key-backup Secret) could not be read.
    #[error("{0}")]
    PrivateKey(String),
    /// The input object is not something we can seal/unseal.
    #[error("{0}")]
    Input(String),
    /// Encryption failed (RNG or key problem).
    #[error("encryption failed: {0}")]
    Encrypt(String),
    /// One or more values could not be decrypted; each entry names the item and why.
    #[error("cannot unseal {object}:\n  {}", .failures.join("\n  "))]
    Unseal {
        object: String,
        failures: Vec<String>,
    },
}
