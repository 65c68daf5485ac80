//! The SealedSecret placeholders of a rendered repository, and what sits in their place.
//!
//! A render writes one placeholder per secret the platform needs (`secrets/homelab/NAME.yaml`,
//! annotated [`PLACEHOLDER_ANNOTATION`]); `homelab secrets init` replaces each with a real
//! SealedSecret. This module tells the two apart ([`state_of`]) for `secrets init` (which
//! must keep what is sealed) and for the render's sync (a sealed secret in place of its
//! placeholder is the user's, never drift nor a conflict), and writes the sealed file
//! ([`sealed_file`]).

use crate::render::SealedSecretSpec;
use serde_json::Value;

/// The annotation that marks a placeholder: `"true"`, or [`DEFERRED`] for a secret that can
/// only be made once the platform runs. `homelab check` reports every placeholder by it.
pub const PLACEHOLDER_ANNOTATION: &str = "homelab.dev/placeholder";
/// [`PLACEHOLDER_ANNOTATION`]'s value on a placeholder sealed after the bootstrap.
pub const DEFERRED: &str = "deferred";
/// The value every key of a placeholder holds (not a sealed value: the controller rejects it).
pub const PLACEHOLDER_VALUE: &str = "PLACEHOLDER-run-homelab-secrets-init";

/// Where a secret's file lives in the repository.
pub fn path_of(spec: &SealedSecretSpec) -> String {
    format!("secrets/homelab/{}.yaml", spec.name)
}

/// What a secret's file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealState {
    /// No file.
    Missing,
    /// The rendered placeholder (or a SealedSecret still holding a placeholder value).
    Placeholder,
    /// A real SealedSecret for this name and namespace, with these keys.
    Sealed { keys: Vec<String> },
    /// A real SealedSecret bound to another name or namespace (platform.toml changed since
    /// it was sealed): the controller cannot open it where it now goes.
    Elsewhere { namespace: String, name: String },
    /// Not one readable SealedSecret (conflict markers, a syntax error, another kind).
    Unreadable(String),
}

/// Read the file text of a secret named `name` in `namespace`.
pub fn state_of(file: &str, text: &str, name: &str, namespace: &str) -> SealState {
    let (docs, diagnostics) = homelab_manifest::parse_str(file, text);
    if let Some(d) = diagnostics
        .iter()
        .find(|d| d.severity == homelab_diagnostics::Severity::Error)
    {
        let at = d
            .location
            .as_ref()
            .map(|l| format!("{l}: "))
            .unwrap_or_default();
        return SealState::Unreadable(format!("{at}{}", d.message));
    }
    let sealed: Vec<&Value> = docs
        .iter()
        .map(|d| &d.value)
        .filter(|v| v.get("kind").and_then(Value::as_str) == Some("SealedSecret"))
        .collect();
    let [object] = sealed.as_slice() else {
        return SealState::Unreadable(format!(
            "{file}: expected one SealedSecret, found {}",
            sealed.len()
        ));
    };
    if is_placeholder(object) {
        return SealState::Placeholder;
    }
    let meta = |field: &str| {
        object
            .pointer(&format!("/metadata/{field}"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (found_name, found_ns) = (meta("name"), meta("namespace"));
    if found_name != name || found_ns != namespace {
        return SealState::Elsewhere {
            namespace: found_ns,
            name: found_name,
        };
    }
    let keys = object
        .pointer("/spec/encryptedData")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    SealState::Sealed { keys }
}

/// Whether a SealedSecret object is a placeholder: the annotation, or any placeholder value.
pub fn is_placeholder(object: &Value) -> bool {
    let annotated = object
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .is_some_and(|a| a.contains_key(PLACEHOLDER_ANNOTATION));
    let placeholder_value = object
        .pointer("/spec/encryptedData")
        .and_then(Value::as_object)
        .is_some_and(|m| m.values().any(|v| v.as_str() == Some(PLACEHOLDER_VALUE)));
    annotated || placeholder_value
}

/// Whether `disk` is a real SealedSecret standing where the render wrote the placeholder
/// `rendered` (same name and namespace). The render keeps such a file as the user's: the
/// header of the placeholder changing (a new homelab version) is not a reason to touch it.
pub fn sealed_in_place_of(path: &str, rendered: &str, disk: &str) -> bool {
    if !rendered.contains(PLACEHOLDER_ANNOTATION) {
        return false;
    }
    let (docs, _) = homelab_manifest::parse_str(path, rendered);
    let Some(placeholder) = docs.iter().map(|d| &d.value).find(|v| is_placeholder(v)) else {
        return false;
    };
    let field = |f: &str| {
        placeholder
            .pointer(&format!("/metadata/{f}"))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    matches!(
        state_of(path, disk, field("name"), field("namespace")),
        SealState::Sealed { .. }
    )
}

/// The text of a sealed secret's file: a header saying what it is and how to rotate it, then
/// the SealedSecret (keys sorted, like kubeseal's YAML).
pub fn sealed_file(spec: &SealedSecretSpec, sealed: &Value, key_fingerprint: &str) -> String {
    let mut out = format!(
        "# SealedSecret {}/{}: {}\n\
         # Sealed by `homelab secrets init` for the controller key\n\
         # {key_fingerprint}: only the cluster can open it.\n\
         # Rotate: `homelab secrets init --fetch-cert --rotate --only {} .`\n\
         ---\n",
        spec.namespace, spec.name, spec.purpose, spec.name
    );
    let body = homelab_manifest::yaml::to_string(sealed);
    out.push_str(&body);
    if !body.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::sealed_secrets;

    fn spec(name: &str) -> SealedSecretSpec {
        sealed_secrets(&crate::default_config())
            .into_iter()
            .find(|s| s.name == name)
            .expect("a rendered secret")
    }

    fn rendered(name: &str) -> String {
        let files = crate::render(&crate::default_config()).expect("render");
        files[std::path::Path::new(&path_of(&spec(name)))].clone()
    }

    const SEALED: &str = "---\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: n8n-secrets\n  namespace: ai-services\nspec:\n  encryptedData:\n    N8N_ENCRYPTION_KEY: AgBy3i4OJSWK+PiTySYZZA==\n  template:\n    metadata:\n      name: n8n-secrets\n      namespace: ai-services\n";

    #[test]
    fn the_rendered_placeholder_is_a_placeholder() {
        let text = rendered("n8n-secrets");
        assert_eq!(
            state_of("f", &text, "n8n-secrets", "ai-services"),
            SealState::Placeholder
        );
        assert!(text.contains(PLACEHOLDER_VALUE));
        assert!(rendered("gitlab-runner-token").contains("homelab.dev/placeholder: deferred\n"));
    }

    #[test]
    fn a_sealed_file_is_told_apart_from_placeholders_and_strays() {
        assert_eq!(
            state_of("f", SEALED, "n8n-secrets", "ai-services"),
            SealState::Sealed {
                keys: vec!["N8N_ENCRYPTION_KEY".into()]
            }
        );
        assert_eq!(
            state_of("f", SEALED, "n8n-secrets", "automation"),
            SealState::Elsewhere {
                namespace: "ai-services".into(),
                name: "n8n-secrets".into()
            }
        );
        let conflicted = format!("<<<<<<< ours\n{SEALED}=======\nx: 1\n>>>>>>> theirs\n");
        assert!(matches!(
            state_of("f", &conflicted, "n8n-secrets", "ai-services"),
            SealState::Unreadable(_)
        ));
        assert!(matches!(
            state_of("f", "kind: Secret\n", "n8n-secrets", "ai-services"),
            SealState::Unreadable(_)
        ));
        // Someone dropped the annotation but left a placeholder value: still a placeholder.
        let half = SEALED.replace("AgBy3i4OJSWK+PiTySYZZA==", PLACEHOLDER_VALUE);
        assert_eq!(
            state_of("f", &half, "n8n-secrets", "ai-services"),
            SealState::Placeholder
        );
    }

    #[test]
    fn the_render_keeps_a_sealed_secret_whatever_its_placeholder_header_says() {
        let placeholder = rendered("n8n-secrets");
        let newer = placeholder.replace("Rendered by homelab", "Rendered by a newer homelab");
        assert!(sealed_in_place_of("f", &newer, SEALED));
        // Not for a secret sealed under another name, nor for a file that is not a placeholder.
        assert!(!sealed_in_place_of(
            "f",
            &newer,
            &SEALED.replace("ai-services", "elsewhere")
        ));
        assert!(!sealed_in_place_of("f", "a: 1\n", SEALED));
    }

    #[test]
    fn the_sealed_file_reads_back_as_sealed() {
        let spec = spec("n8n-secrets");
        let (docs, _) = homelab_manifest::parse_str("f", SEALED);
        let text = sealed_file(&spec, &docs[0].value, "SHA256:abc");
        assert!(text.starts_with("# SealedSecret ai-services/n8n-secrets: "));
        assert!(text.contains("--rotate --only n8n-secrets"));
        assert_eq!(
            state_of("f", &text, "n8n-secrets", "ai-services"),
            SealState::Sealed {
                keys: vec!["N8N_ENCRYPTION_KEY".into()]
            }
        );
    }
}
