//! # `storage/gpu-replicated`: GPU workload on replicated storage
//!
//! ## What it checks
//! A workload (or Helm values document) that requests a GPU must not keep its volumes on a
//! replicated StorageClass: its PersistentVolumeClaims (by `claimName`, or its
//! `volumeClaimTemplates`) and its values' `storageClass` must use a single-replica local
//! class (`longhorn-gpu-local`, strict-local, in the guide). A class counts as replicated
//! only when the repository says so: a Longhorn StorageClass with `numberOfReplicas` of 2 or
//! more, or the Longhorn chart's class with `persistence.defaultClassReplicaCount` of 2 or
//! more (3 by default). Static volumes, NFS/SMB shares, one-replica and unknown classes are
//! not judged; a claim without a class gets the default class the repository marks.
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

use super::unknown_class::{object_claims, templated, values_classes};
use crate::gpu::gpu_requests_in;
use crate::storage::{claim_classes, ClaimClass, Class, Keeping, StorageFacts};
use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use homelab_manifest::ResourceExt;
use serde_json::Value;

pub struct GpuReplicatedStorage;

/// The replicated class a claim ends up on, if any.
fn replicated<'f>(facts: &'f StorageFacts, claim: &ClaimClass) -> Option<(&'f Class, u32)> {
    let class = match claim {
        ClaimClass::Static => return None,
        ClaimClass::Default => facts.default_class()?,
        ClaimClass::Named(name) => facts.get(name)?,
    };
    match class.keeping {
        Keeping::Replicated(n) => Some((class, n)),
        _ => None,
    }
}

fn describe(claim: &ClaimClass, class: &Class, replicas: u32) -> String {
    if matches!(claim, ClaimClass::Default) {
        format!(
            "the default class `{}`, which is replicated ({replicas} replicas, {})",
            class.name, class.origin
        )
    } else {
        format!(
            "replicated class `{}` ({replicas} replicas, {})",
            class.name, class.origin
        )
    }
}

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
        let facts = StorageFacts::learn(repo, settings);
        let claims = claim_classes(repo);
        let help = "put the GPU workload's volumes on a single-replica local class (the guide's longhorn-gpu-local: numberOfReplicas \"1\", dataLocality strict-local)";
        let mut out = Vec::new();
        for doc in repo.objects() {
            let Some(pod) = doc.pod_spec() else { continue };
            let mut gpu = Vec::new();
            gpu_requests_in(pod.spec, pod.pointer, &mut gpu);
            if gpu.is_empty() {
                continue;
            }
            let ns = doc.namespace().unwrap_or("default").to_string();
            let name = doc.name().unwrap_or("?");
            if let Some(vols) = pod.spec.get("volumes").and_then(Value::as_array) {
                for (i, v) in vols.iter().enumerate() {
                    let Some(claim) = v
                        .pointer("/persistentVolumeClaim/claimName")
                        .and_then(Value::as_str)
                    else {
                        continue;
                    };
                    let Some(class) = claims.get(&(ns.clone(), claim.to_string())) else {
                        continue;
                    };
                    if let Some((sc, n)) = replicated(&facts, class) {
                        out.push(finding(
                            self,
                            doc,
                            &format!(
                                "{}/volumes/{i}/persistentVolumeClaim/claimName",
                                pod.pointer
                            ),
                            format!(
                                "GPU workload `{name}` mounts claim `{claim}` on {}",
                                describe(class, sc, n)
                            ),
                            help,
                        ));
                    }
                }
            }
            for (pointer, claim) in object_claims(doc) {
                if let Some((sc, n)) = replicated(&facts, &claim) {
                    out.push(finding(
                        self,
                        doc,
                        &pointer,
                        format!(
                            "GPU workload `{name}` claims storage on {}",
                            describe(&claim, sc, n)
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
                if class.is_empty() || class == "-" || templated(&class) {
                    continue;
                }
                let claim = ClaimClass::Named(class);
                if let Some((sc, n)) = replicated(&facts, &claim) {
                    out.push(finding(
                        self,
                        values,
                        &pointer,
                        format!(
                            "values of a GPU workload put storage on {}",
                            describe(&claim, sc, n)
                        ),
                        help,
                    ));
                }
            }
        }
        out
    }
}
