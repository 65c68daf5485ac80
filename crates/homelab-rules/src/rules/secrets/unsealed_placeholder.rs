//! # `secrets/unsealed-placeholder`: placeholder SealedSecret not sealed yet
//!
//! ## What it checks
//! A `SealedSecret` marked as a placeholder by `homelab render` (annotation
//! `homelab.dev/placeholder`), or holding its placeholder value
//! `PLACEHOLDER-run-homelab-secrets-init`. Only that marker counts: SealedSecrets of other
//! repositories are never reported. A placeholder marked `deferred` (a credential that can
//! only be made once the platform runs, such as the GitLab Runner token) is a note.
//!
//! ## Why
//! A placeholder holds no sealed value: the controller cannot open it, so the Secret the
//! workload mounts never exists and the workload never starts (LiteLLM without its master key,
//! the ARC runners without their GitHub App). The repository must not be bootstrapped while
//! one is left.
//!
//! ## Example
//! ```yaml
//! apiVersion: bitnami.com/v1alpha1
//! kind: SealedSecret
//! metadata:
//!   name: litellm-secrets
//!   namespace: ai-services
//!   annotations:
//!     homelab.dev/placeholder: "true"
//! spec:
//!   encryptedData:
//!     LITELLM_MASTER_KEY: PLACEHOLDER-run-homelab-secrets-init
//! ```
//!
//! ## Fix
//! Once the sealed-secrets controller runs, `homelab secrets init --fetch-cert .` (or
//! `--cert pub-sealed-secrets.pem`) generates or asks for every value and replaces each
//! placeholder with a real SealedSecret; commit the result. A deferred one is sealed later
//! with `homelab secrets init --fetch-cert --only NAME .`.

use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use serde_json::Value;

pub struct UnsealedPlaceholder;

const MARKER: &str = "homelab.dev/placeholder";
const DEFERRED: &str = "deferred";
const PLACEHOLDER_VALUE: &str = "PLACEHOLDER-run-homelab-secrets-init";

impl Rule for UnsealedPlaceholder {
    fn id(&self) -> &'static str {
        "secrets/unsealed-placeholder"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "Placeholder SealedSecret not sealed yet (run `homelab secrets init`)"
    }
    fn check(&self, repo: &Repo, _settings: &Settings) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for doc in repo.of_kind("SealedSecret") {
            if doc.group() != "bitnami.com" {
                continue;
            }
            let marker = doc
                .value
                .pointer("/metadata/annotations")
                .and_then(Value::as_object)
                .and_then(|a| a.get(MARKER));
            let placeholder_key = doc
                .value
                .pointer("/spec/encryptedData")
                .and_then(Value::as_object)
                .and_then(|m| {
                    m.iter()
                        .find(|(_, v)| v.as_str() == Some(PLACEHOLDER_VALUE))
                        .map(|(k, _)| k.clone())
                });
            let pointer = match (&marker, &placeholder_key) {
                (Some(_), _) => format!("/metadata/annotations/{}", MARKER.replace('/', "~1")),
                (None, Some(key)) => format!(
                    "/spec/encryptedData/{}",
                    key.replace('~', "~0").replace('/', "~1")
                ),
                (None, None) => continue,
            };
            let name = doc.name().unwrap_or("?");
            let deferred = marker.and_then(Value::as_str) == Some(DEFERRED);
            let mut d = if deferred {
                finding(
                    self,
                    doc,
                    &pointer,
                    format!("SealedSecret `{name}` is a placeholder to seal once the platform runs"),
                    format!("after the bootstrap, when its credential exists: `homelab secrets init --fetch-cert --only {name} .`"),
                )
            } else {
                finding(
                    self,
                    doc,
                    &pointer,
                    format!("SealedSecret `{name}` is still a placeholder: the controller cannot open it and its workload will not start"),
                    "once the sealed-secrets controller runs: `homelab secrets init --fetch-cert .` (or `--cert FILE`), then commit",
                )
            };
            if deferred {
                d.severity = Severity::Note;
            }
            out.push(d);
        }
        out
    }
}
