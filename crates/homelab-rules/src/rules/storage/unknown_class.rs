//! # `storage/unknown-class`: PVC or values with an unknown StorageClass
//!
//! ## What it checks
//! Every `storageClassName` of a PersistentVolumeClaim or a StatefulSet's
//! `volumeClaimTemplates`, and every `storageClass`/`storageClassName` value in Helm values,
//! names a StorageClass defined in the repository or known to the platform (`local-path`
//! from k3s, and the classes of `platform.toml`). Empty values (cluster default) and `-`
//! (Helm's "no class") are accepted.
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

use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use homelab_manifest::Document;
use serde_json::Value;
use std::collections::BTreeSet;

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

/// Every storage class reference of a Kubernetes object: (pointer, class).
pub fn object_classes(doc: &Document) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match doc.kind() {
        Some("PersistentVolumeClaim") => {
            if let Some(c) = doc
                .value
                .pointer("/spec/storageClassName")
                .and_then(Value::as_str)
            {
                out.push(("/spec/storageClassName".to_string(), c.to_string()));
            }
        }
        Some("StatefulSet") => {
            if let Some(list) = doc
                .value
                .pointer("/spec/volumeClaimTemplates")
                .and_then(Value::as_array)
            {
                for (i, t) in list.iter().enumerate() {
                    if let Some(c) = t.pointer("/spec/storageClassName").and_then(Value::as_str) {
                        out.push((
                            format!("/spec/volumeClaimTemplates/{i}/spec/storageClassName"),
                            c.to_string(),
                        ));
                    }
                }
            }
        }
        _ => {}
    }
    out
}

/// Classes a chart's values ask it to create: `storageClass: {name: X}` (unless `enabled: false`).
fn defined_in_values(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "storageClass" {
                    let enabled = v.get("enabled").and_then(Value::as_bool).unwrap_or(true);
                    if let (true, Some(name)) = (enabled, v.get("name").and_then(Value::as_str)) {
                        out.insert(name.to_string());
                    }
                }
                defined_in_values(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| defined_in_values(v, out)),
        _ => {}
    }
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
        let mut known: BTreeSet<String> = settings.storage_classes.iter().cloned().collect();
        known.extend(settings.local_storage_classes.iter().cloned());
        known.extend(
            repo.of_kind("StorageClass")
                .filter_map(|d| d.name())
                .map(str::to_string),
        );
        // Charts create classes too: `storageClass: {enabled: true, name: X}` in values
        // (rook-ceph, ...), whether in a values file or a Flux HelmRelease's `spec.values`.
        for doc in repo.documents {
            defined_in_values(&doc.value, &mut known);
        }
        let list = known.iter().cloned().collect::<Vec<_>>().join(", ");
        let mut out = Vec::new();
        let mut check = |doc: &Document, pointer: &str, class: &str| {
            // Templated names (Helm `{{ }}`, Flux `${VAR:=default}`) are resolved elsewhere.
            if class.is_empty()
                || class == "-"
                || class.contains("{{")
                || class.contains("${")
                || known.contains(class)
            {
                return;
            }
            out.push(finding(
                self,
                doc,
                pointer,
                format!("StorageClass `{class}` does not exist (known: {list})"),
                "use one of the known classes, or define the StorageClass",
            ));
        };
        for doc in repo.objects() {
            for (pointer, class) in object_classes(doc) {
                check(doc, &pointer, &class);
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
