//! Enums of custom resources that the installation extends, so that the CRD's own list is
//! not the whole truth.
//!
//! Flux's notification-controller restricts the kinds an `Alert` listens to
//! (`spec.eventSources[].kind`) and a `Receiver` acts on (`spec.resources[].kind`) with an
//! enum of Flux's own kinds. Flux documents extending it by patching the CRD (for the kinds
//! of third-party controllers), and Flux Operator does so when it installs Flux: it adds
//! `FluxInstance`, `ResourceSet` and `ResourceSetInputProvider`. Upstream's CRD (the one the
//! embedded catalog carries, whatever its version) never lists them, so a `schema/enum`
//! finding on those values is false wherever Flux Operator runs. Such findings become notes
//! that say why; so do findings on any value when the repository itself patches the enum.

use crate::Repo;
use homelab_diagnostics::{Diagnostic, Severity};

/// The kinds Flux Operator adds to the Alert and Receiver enums.
const FLUX_OPERATOR_KINDS: [&str; 3] = ["FluxInstance", "ResourceSet", "ResourceSetInputProvider"];

/// The enum fields that installations extend, by kind: (object kind, pointer prefix, the
/// JSON pointer inside the CRD schema a patch adds to).
const EXTENDED: [(&str, &str, &str); 2] = [
    (
        "Alert",
        "/spec/eventSources/",
        "eventSources/items/properties/kind/enum",
    ),
    (
        "Receiver",
        "/spec/resources/",
        "resources/items/properties/kind/enum",
    ),
];

/// Turn `schema/enum` findings on enums the installation extends into notes.
pub fn accept_extended_enums(diagnostics: &mut [Diagnostic], repo: &Repo) {
    let mut patched: Vec<Option<String>> = vec![None; EXTENDED.len()];
    for (i, (_, _, crd_pointer)) in EXTENDED.iter().enumerate() {
        patched[i] = repo
            .sources
            .iter()
            .find(|s| s.text.contains(crd_pointer))
            .map(|s| s.name.clone());
    }
    for d in diagnostics.iter_mut() {
        if d.rule != "schema/enum" || d.severity == Severity::Note {
            continue;
        }
        let (Some(object), Some(path)) = (&d.object, &d.path) else {
            continue;
        };
        if !object.starts_with("notification.toolkit.fluxcd.io/") {
            continue;
        }
        let Some(i) = EXTENDED.iter().position(|(kind, prefix, _)| {
            object.contains(&format!("/{kind} "))
                && path
                    .strip_prefix(prefix)
                    .and_then(|rest| rest.strip_suffix("/kind"))
                    .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
        }) else {
            continue;
        };
        let value = d.message.split('`').nth(1).unwrap_or("").to_string();
        let fact = if FLUX_OPERATOR_KINDS.contains(&value.as_str()) {
            format!(
                "Flux Operator adds `{value}` to this enum of the notification-controller CRD it installs (upstream's CRD never lists it)"
            )
        } else if let Some(file) = &patched[i] {
            format!("`{file}` patches this enum of the notification-controller CRD")
        } else {
            continue;
        };
        d.severity = Severity::Note;
        if let Some(open) = d.message.rfind(" (relied on: ") {
            d.message.truncate(open);
        }
        d.message
            .push_str(" in upstream's CRD, but the installation extends the list: accepted");
        *d = d.clone().relying_on([fact]);
    }
}
