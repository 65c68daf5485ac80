//! The findings that come from the pipeline's stages rather than from a platform rule file:
//! YAML loading (homelab-manifest), schemas (homelab-schema), Helm rendering
//! (homelab-charts), the repository's own Kyverno policies, SOPS files and the check
//! configuration (the pipeline). Each is documented beside the code
//! that emits it; this module only gathers them. `homelab rules` lists them after the
//! platform rules; `--explain` takes an exact id or any id of a family (`schema/type`
//! explains `schema/*`).

use homelab_diagnostics::RuleDoc;

/// Every stage rule's documentation, in the order of the pipeline.
pub fn all() -> impl Iterator<Item = &'static RuleDoc> {
    homelab_manifest::RULE_DOCS
        .iter()
        .chain(homelab_schema::RULE_DOCS)
        .chain(homelab_charts::RULE_DOCS)
        .chain([
            &crate::pipeline::POLICY_RULE_DOC,
            &crate::pipeline::SUPPRESSION_RULE_DOC,
            &crate::pipeline::SECRET_SCANNING_OFF_DOC,
            &crate::pipeline::SOPS_RULE_DOC,
            &crate::pipeline::KUSTOMIZE_RULE_DOC,
            &homelab_rules::applied::RULE_DOC,
            &homelab_rules::applied::KUBEADM_PATCH_RULE_DOC,
            &homelab_rules::applied::PARTIAL_RULE_DOC,
            &homelab_rules::applied::COMPLETED_ELSEWHERE_RULE_DOC,
        ])
}

/// The stage rule documenting `id`: exact, else its family (`schema/type` -> `schema/*`).
pub fn find(id: &str) -> Option<&'static RuleDoc> {
    all().find(|r| r.id == id).or_else(|| {
        let family = id.split('/').next()?;
        all().find(|r| r.id.strip_suffix("/*") == Some(family))
    })
}
