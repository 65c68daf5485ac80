//! SealedSecrets (bitnami `kubeseal` wire format), client side, as pure functions:
//! sealing a Secret for a controller certificate, unsealing with backed-up controller keys
//! (the recovery path), and proving that a key backup can open every sealed value.
//!
//! Nothing here reads files, the network or the clock on its own: callers pass bytes, parsed
//! documents and "now". The `homelab` binary does the I/O.
//!
//! Layout: [`crypto`] (the per-value hybrid encryption), [`scope`] (labels), [`keys`]
//! (certificates, private keys, key backups, fingerprints), [`sealed`] (Secret <->
//! SealedSecret objects), [`backup`] (why a value can or cannot be recovered), [`keygen`]
//! (a fresh sealing key pair, for bring-your-own-key setups and tests).
//!
//! Wire format and objects follow the Go code of bitnami-labs/sealed-secrets (checked against
//! an independent implementation in the CLI interop tests). Deliberate differences:
//! * an explicit `--scope strict` replaces the Secret's scope annotations (kubeseal cannot tell
//!   it from its default and ignores it);
//! * no cluster access: the certificate must be given, and a Secret without a namespace needs
//!   `--namespace` (kubeseal would use the kubeconfig context);
//! * `unseal` sets `ownerReferences` only when the SealedSecret carries a `uid` (offline there
//!   is none, and an ownerReference without one is invalid);
//! * `spec.template.data` renders only `{{ .item }}` / `{{ index . "item" }}` (Go text/template
//!   with Sprig in the controller); anything else is refused, never guessed.

pub mod backup;
pub mod crypto;
pub mod error;
pub mod keygen;
pub mod keys;
pub mod scope;
pub mod sealed;

pub use error::SealError;
pub use keys::{NamedKey, SealingCert};
pub use scope::Scope;

/// `apiVersion` of a SealedSecret.
pub const API_VERSION: &str = "bitnami.com/v1alpha1";
/// `kind` of a SealedSecret.
pub const KIND: &str = "SealedSecret";

#[cfg(test)]
mod tests;
