//! # `storage/unknown-class`: PVC or values with an unknown StorageClass
//!
//! ## What it checks
//! Every `storageClassName` of a PersistentVolumeClaim or a StatefulSet's
//! `volumeClaimTemplates`, and every `storageClass`/`storageClassName` value in Helm values,
//! names a StorageClass the repository has: one it defines, one its charts create (the
//! Longhorn chart's `longhorn`, an NFS provisioner's class, `storageClass: {name: ...}` in
//! values), the class of one of its static PersistentVolumes, a class of `platform.toml`,
//! or one that distributions create themselves (`local-path` of k3s, `standard` of kind).
//! Empty values (no class, or the cluster default), `-` (Helm's "no class"), claims bound to
//! a named volume and templated names are accepted. A repository that declares no storage
//! at all (no class defined, installed or configured) is not judged: what its cluster
//! offers is unknown. Outside a platform rendered from `platform.toml`, only a name close
//! to one the repository has (a likely typo) is reported: a name unlike all of them may be
//! the cluster's own class or one a chart creates. The message lists the classes the repository has, and where each
//! comes from.
//!
//! ## Why
//! A claim for a class that does not exist stays `Pending` forever, and the workload with
//! it: GitLab's Gitaly or Ollama's model store never start, and nothing in ArgoCD says why.
//!
//! ## Example
//! ```yaml
//! gitaly:
//!   persistence:
//!     storageClass: longhorn-home      # the class is longhorn-homelab
//! ```
//!
//! ## Fix
//! Use `longhorn-homelab` (replicated) or `longhorn-gpu-local` (GPU node, one replica), or
//! define the class.

use crate::storage::{ClaimClass, StorageFacts};
use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use homelab_manifest::Document;
use serde_json::Value;

pub struct StorageUnknownClass;

/// Every storage class reference in Helm values: (pointer, class).
pub fn values_classes(value: &Value, base: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let child = format!("{base}/{}", k.replace('~', "~0").replace('/', "~1"));
                match (k.as_str(), v) {
                    ("storageClass" | "storageClassName", Value::String(s)) => {
                        out.push((child, s.clone()))
                    }
                    _ => values_classes(v, &child, out),
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                values_classes(v, &format!("{base}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Every claim of a Kubernetes object, with the pointer of its class (or of the claim's
/// spec when it names none): a PersistentVolumeClaim, or a StatefulSet's templates.
pub fn object_claims(doc: &Document) -> Vec<(String, ClaimClass)> {
    let mut out = Vec::new();
    match doc.kind() {
        Some("PersistentVolumeClaim") => {
            let class = ClaimClass::of(doc);
            let pointer = match class {
                ClaimClass::Named(_) => "/spec/storageClassName",
                _ => "/spec",
            };
            out.push((pointer.to_string(), class));
        }
        Some("StatefulSet") => {
            if let Some(list) = doc
                .value
                .pointer("/spec/volumeClaimTemplates")
                .and_then(Value::as_array)
            {
                for (i, t) in list.iter().enumerate() {
                    let class = ClaimClass::of_spec(t.get("spec"));
                    let pointer = match class {
                        ClaimClass::Named(_) => {
                            format!("/spec/volumeClaimTemplates/{i}/spec/storageClassName")
                        }
                        _ => format!("/spec/volumeClaimTemplates/{i}"),
                    };
                    out.push((pointer, class));
                }
            }
        }
        _ => {}
    }
    out
}

/// Whether a class name is a template resolved elsewhere (Helm `{{ }}`, Flux
/// `${VAR:=default}`).
pub fn templated(class: &str) -> bool {
    class.contains("{{") || class.contains("${")
}

impl Rule for StorageUnknownClass {
    fn id(&self) -> &'static str {
        "storage/unknown-class"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "PVC or Helm values with a StorageClass that does not exist"
    }
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
        let facts = StorageFacts::learn(repo, settings);
        if !facts.declares_storage {
            return Vec::new();
        }
        let known = facts.describe();
        let mut out = Vec::new();
        let guide = settings.guide_expectations();
        let mut check = |doc: &Document, pointer: &str, class: &str| {
            if class.is_empty() || class == "-" || templated(class) || facts.knows(class) {
                return;
            }
            let near = facts.nearest(class);
            // Outside the guide, a class far from every known one may well be the cluster's
            // own or one a chart creates: only a near miss is surely a mistake.
            if !guide && near.is_none() {
                return;
            }
            let hint = match near {
                Some(near) => format!("; did you mean `{near}`?"),
                None => String::new(),
            };
            out.push(
                finding(
                    self,
                    doc,
                    pointer,
                    format!("StorageClass `{class}` is not one the repository has{hint}"),
                    "use one of the classes the repository has, or define the StorageClass",
                )
                .relying_on([format!("the classes it has: {known}")]),
            );
        };
        for doc in repo.objects() {
            for (pointer, claim) in object_claims(doc) {
                if let ClaimClass::Named(class) = claim {
                    check(doc, &pointer, &class);
                }
            }
        }
        for values in repo.non_objects() {
            let mut found = Vec::new();
            values_classes(&values.value, "", &mut found);
            for (pointer, class) in found {
                check(values, &pointer, &class);
            }
        }
        out
    }
}
