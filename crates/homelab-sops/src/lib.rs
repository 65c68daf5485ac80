//! SOPS files with age keys, compatible with the sops 3.x file format, offline.
//!
//! A SOPS file is a YAML (one or more documents) or JSON file in which the values selected
//! by a crypt rule (`encrypted_regex`, `unencrypted_suffix`, ...) are AES-256-GCM encrypted
//! with a per-file data key, each with its key path as additional data; the data key is
//! wrapped for every age recipient; a SHA-512 MAC over the plaintext values, itself encrypted
//! with `lastmodified` as additional data, detects edits. Files written here decrypt with
//! `sops --decrypt`, and files `sops` writes decrypt here; YAML is laid out the way sops
//! writes it (go-yaml v3, indent 4, comments kept and encrypted under encrypted paths).
//!
//! Modules: [`tree`] (documents), `resolve` and `time` (go-yaml scalar types), `yaml_read` /
//! `yaml_write` / `json` (formats), [`cipher`] (values), [`rules`] (which values are
//! encrypted), [`metadata`] (the `sops` block), [`keys`] (age), [`config`] (`.sops.yaml`),
//! `walk` (encrypt/decrypt/MAC walk), [`file`] (whole-file operations), [`inspect`] (what
//! `homelab check` reports, with or without a key).

pub mod cipher;
pub mod config;
pub mod file;
pub mod inspect;
pub mod json;
pub mod keys;
pub mod metadata;
mod resolve;
pub mod rules;
mod time;
pub mod tree;
mod walk;
pub mod yaml_read;
pub mod yaml_write;

pub use config::{Config, CreationRule};
pub use file::{Encrypted, Error, ErrorKind, Format, Layout};
pub use keys::Identities;
