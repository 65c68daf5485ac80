//! # `secrets/plain-secret`: plain `Secret` with data committed
//!
//! ## What it checks
//! A `v1/Secret` object in the repository with any non-empty value in `data` or
//! `stringData`, other than a reference to a secret kept elsewhere (`op://...`, `vault:...`,
//! `<path:...>`, `ref+...`, SOPS `ENC[...]`, `${...}` and template interpolation).
//!
//! ## Why
//! `data` is base64, not encryption: anyone who can read the repository (every CI runner,
//! every clone, every fork) reads the secret. The guide keeps only SealedSecrets in git
//! (`secrets/homelab/`), which only the cluster's controller can decrypt.
//!
//! ## Example
//! ```yaml
//! apiVersion: v1
//! kind: Secret
//! metadata: { name: litellm-master-key, namespace: ai-services }
//! stringData:
//!   master-key: sk-...
//! ```
//!
//! ## Fix
//! Seal it and commit the SealedSecret instead:
//! `homelab seal --cert pub-sealed-secrets.pem < secret.yaml > secrets/homelab/litellm-master-key.yaml`,
//! then remove the Secret from git (and rotate the value: it is in the history).

use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use serde_json::Value;

pub struct PlainSecret;

fn has_value(v: Option<&Value>) -> bool {
    v.and_then(Value::as_object).is_some_and(|m| {
        m.values().any(|x| match x {
            Value::String(s) => !s.is_empty() && !crate::is_secret_reference(s),
            Value::Null => false,
            _ => true,
        })
    })
}

impl Rule for PlainSecret {
    fn id(&self) -> &'static str {
        "secrets/plain-secret"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "Plain Secret with data committed to git"
    }
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for doc in repo.of_kind("Secret") {
            if doc.group() != "" {
                continue;
            }
            for field in ["data", "stringData"] {
                let value = doc.value.get(field);
                if !has_value(value) {
                    continue;
                }
                let keys: Vec<&str> = value
                    .and_then(Value::as_object)
                    .map(|m| m.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                let values = value.map(|v| v.to_string()).unwrap_or_default();
                out.push(
                    finding(
                        self,
                        doc,
                        &format!("/{field}"),
                        format!("Secret `{}` commits {} in `{field}` ({})", doc.name().unwrap_or("?"), crate::count(keys.len(), "value"), keys.join(", ")),
                        "seal it with `homelab seal` and commit the SealedSecret under secrets/; rotate the value, it is in the history",
                    )
                    .with_fingerprint(crate::fingerprint::of(
                        settings.fingerprint_key.as_ref(),
                        &doc.source.text,
                        values.as_bytes(),
                    )),
                );
            }
        }
        out
    }
}
