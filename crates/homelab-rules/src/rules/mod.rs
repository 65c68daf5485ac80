//! The rule registry: one file per rule; add a new rule's static to [`ALL`].

use crate::Rule;

mod app_duplicate;
mod app_sync_wave;
mod app_unpinned;
mod app_unreachable;
mod app_values_path;
mod container_resources;
mod default_deny;
mod dns_egress;
mod exposed_service;
mod gitlab_budget;
mod gpu_placement;
mod gpu_replicated_storage;
mod image_latest_tag;
mod ipblock_lan;
mod kyverno_broad_exception;
mod kyverno_critical_audit;
pub(crate) mod leaked_credential;
mod longhorn_btrfs;
mod longhorn_replicas;
mod namespace_pss;
mod plain_secret;
mod storage_unknown_class;

pub use leaked_credential::hashed_secret;

pub static ALL: &[&dyn Rule] = &[
    &app_duplicate::AppDuplicate,
    &app_sync_wave::AppSyncWave,
    &app_unpinned::AppUnpinned,
    &app_unreachable::AppUnreachable,
    &app_values_path::AppValuesPath,
    &container_resources::ContainerResources,
    &default_deny::DefaultDeny,
    &dns_egress::DnsEgress,
    &exposed_service::ExposedService,
    &gitlab_budget::GitlabBudget,
    &gpu_placement::GpuPlacement,
    &gpu_replicated_storage::GpuReplicatedStorage,
    &image_latest_tag::ImageLatestTag,
    &ipblock_lan::IpBlockLan,
    &kyverno_broad_exception::KyvernoBroadException,
    &kyverno_critical_audit::KyvernoCriticalAudit,
    &leaked_credential::LeakedCredential,
    &longhorn_btrfs::LonghornBtrfs,
    &longhorn_replicas::LonghornReplicas,
    &namespace_pss::NamespacePss,
    &plain_secret::PlainSecret,
    &storage_unknown_class::StorageUnknownClass,
];
