//! # `storage/gpu-replicated`: GPU workload on replicated storage
//!
//! ## What it checks
//! A workload (or Helm values document) that requests a GPU must not keep its volumes on a
//! replicated StorageClass: its PersistentVolumeClaims (by `claimName`, or its
//! `volumeClaimTemplates`) and its values' `storageClass` must use a single-replica local
//! class (`longhorn-gpu-local`, strict-local, in the guide).
//!
//! ## Why
//! The guide's environment mapping puts Ollama's model store on `longhorn-gpu-local`
//! (1 replica, strict-local on `akula-prime`). On the replicated default class every model
//! download (tens of GB) is written twice across the LAN, and the volume can be attached
//! on the other node, so the GPU pod reads its models over the network.
//!
//! ## Example
//! ```yaml
//! ollama:
//!   gpu: { enabled: true }
//! persistentVolume:
//!   storageClass: longhorn-homelab
//! ```
//!
//! ## Fix
//! `storageClass: longhorn-gpu-local`.

use super::unknown_class::{object_classes, values_classes};
use crate::gpu::gpu_requests_in;
use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use homelab_manifest::ResourceExt;
use serde_json::Value;
use std::collections::BTreeMap;

pub struct GpuReplicatedStorage;

impl Rule for GpuReplicatedStorage {
    fn id(&self) -> &'static str {
        "storage/gpu-replicated"
    }
    fn severity(&self) -> Severity {
        Severity::Warning
    }
    fn summary(&self) -> &'static str {
        "GPU workload on replicated storage"
    }
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
        let local = |class: &str| settings.local_storage_classes.iter().any(|c| c == class);
        let claims: BTreeMap<(String, String), String> = repo
            .of_kind("PersistentVolumeClaim")
            .filter_map(|d| {
                let class = d
                    .value
                    .pointer("/spec/storageClassName")
                    .and_then(Value::as_str)?;
                Some((
                    (
                        d.namespace().unwrap_or("default").to_string(),
                        d.name()?.to_string(),
                    ),
                    class.to_string(),
                ))
            })
            .collect();
        let help =
            "put the GPU workload's volumes on the single-replica local class (longhorn-gpu-local)";
        let mut out = Vec::new();
        for doc in repo.objects() {
            let Some(pod) = doc.pod_spec() else { continue };
            let mut gpu = Vec::new();
            gpu_requests_in(pod.spec, pod.pointer, &mut gpu);
            if gpu.is_empty() {
                continue;
            }
            let ns = doc.namespace().unwrap_or("default").to_string();
            if let Some(vols) = pod.spec.get("volumes").and_then(Value::as_array) {
                for (i, v) in vols.iter().enumerate() {
                    let Some(claim) = v
                        .pointer("/persistentVolumeClaim/claimName")
                        .and_then(Value::as_str)
                    else {
                        continue;
                    };
                    if let Some(class) = claims.get(&(ns.clone(), claim.to_string())) {
                        if !local(class) {
                            out.push(finding(self, doc, &format!("{}/volumes/{i}/persistentVolumeClaim/claimName", pod.pointer),
                                format!("GPU workload `{}` mounts claim `{claim}` on replicated class `{class}`", doc.name().unwrap_or("?")), help));
                        }
                    }
                }
            }
            for (pointer, class) in object_classes(doc) {
                if !local(&class) {
                    out.push(finding(
                        self,
                        doc,
                        &pointer,
                        format!(
                            "GPU workload `{}` claims storage on replicated class `{class}`",
                            doc.name().unwrap_or("?")
                        ),
                        help,
                    ));
                }
            }
        }
        for values in repo.non_objects() {
            let mut gpu = Vec::new();
            gpu_requests_in(&values.value, "", &mut gpu);
            if gpu.is_empty() {
                continue;
            }
            let mut classes = Vec::new();
            values_classes(&values.value, "", &mut classes);
            for (pointer, class) in classes {
                if !class.is_empty() && class != "-" && !local(&class) {
                    out.push(finding(
                        self,
                        values,
                        &pointer,
                        format!(
                            "values of a GPU workload put storage on replicated class `{class}`"
                        ),
                        help,
                    ));
                }
            }
        }
        out
    }
}
