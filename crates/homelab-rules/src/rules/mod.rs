//! The rule registry: one file per rule; add a new rule's static to [`ALL`].

use crate::Rule;

pub(crate) mod argocd {
    pub(crate) mod duplicate_name;
    pub(crate) mod sync_wave;
    pub(crate) mod unpinned_revision;
    pub(crate) mod unreachable;
    pub(crate) mod values_path;
}
pub(crate) mod gitlab {
    pub(crate) mod over_budget;
}
pub(crate) mod gpu {
    pub(crate) mod placement;
}
pub(crate) mod image {
    pub(crate) mod latest_tag;
}
pub(crate) mod kyverno {
    pub(crate) mod broad_exception;
    pub(crate) mod critical_audit;
}
pub(crate) mod network {
    pub(crate) mod default_deny;
    pub(crate) mod dns_egress;
    pub(crate) mod exposed_service;
    pub(crate) mod ipblock_outside_lan;
}
pub(crate) mod pss {
    pub(crate) mod namespace_labels;
}
pub(crate) mod resources {
    pub(crate) mod missing;
}
pub(crate) mod secrets {
    pub(crate) mod leaked_credential;
    pub(crate) mod plain_secret;
    pub(crate) mod unsealed_placeholder;
}
pub(crate) mod storage {
    pub(crate) mod gpu_replicated;
    pub(crate) mod longhorn_btrfs;
    pub(crate) mod replicas_exceed_nodes;
    pub(crate) mod unknown_class;
}

pub use secrets::leaked_credential::hashed_secret;

pub static ALL: &[&dyn Rule] = &[
    &argocd::duplicate_name::AppDuplicate,
    &argocd::sync_wave::AppSyncWave,
    &argocd::unpinned_revision::AppUnpinned,
    &argocd::unreachable::AppUnreachable,
    &argocd::values_path::AppValuesPath,
    &resources::missing::ContainerResources,
    &network::default_deny::DefaultDeny,
    &network::dns_egress::DnsEgress,
    &network::exposed_service::ExposedService,
    &gitlab::over_budget::GitlabBudget,
    &gpu::placement::GpuPlacement,
    &storage::gpu_replicated::GpuReplicatedStorage,
    &image::latest_tag::ImageLatestTag,
    &network::ipblock_outside_lan::IpBlockLan,
    &kyverno::broad_exception::KyvernoBroadException,
    &kyverno::critical_audit::KyvernoCriticalAudit,
    &secrets::leaked_credential::LeakedCredential,
    &storage::longhorn_btrfs::LonghornBtrfs,
    &storage::replicas_exceed_nodes::LonghornReplicas,
    &pss::namespace_labels::NamespacePss,
    &secrets::plain_secret::PlainSecret,
    &storage::unknown_class::StorageUnknownClass,
    &secrets::unsealed_placeholder::UnsealedPlaceholder,
];
