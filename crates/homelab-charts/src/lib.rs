//! Helm sources of a GitOps repository, rendered with the real `helm`, offline, so that every
//! guardrail of `homelab check` sees the objects the charts create.
//!
//! The flow: [`discover`] finds every Helm source (ArgoCD Applications, `helmfile.yaml`,
//! kustomize `helmCharts`, the repository's own charts) with its values; [`store`] finds each
//! chart archive in a local chart repository (`--charts DIR`) or the repository's cache
//! `.homelab/charts/` (filled by `homelab charts pull`, verified against its lock); [`render`]
//! runs `helm template` (through [`helm`], sandboxed, bounded, never on the network) or takes
//! the output from the [`cache`]; the rendered objects go into the check pipeline, and
//! [`provenance`] moves each finding on them to the values line (or Application) that
//! produced it, naming chart and template. [`unused`] reports values keys that do nothing.
//! [`lint`] and [`readme`] serve the repository's own charts (`homelab charts lint`).
//!
//! Rule IDs: `charts/not-cached` (warning), `charts/bad-archive`, `charts/bad-chart`,
//! `charts/values-file`, `charts/values-schema`, `charts/render-failed`, `charts/helm-missing`,
//! `charts/store` (errors), `charts/unused-value` (warning), `charts/not-rendered` (note);
//! `chart-lint/*` for `homelab charts lint`.

pub mod archive;
pub mod cache;
pub mod chart;
pub mod chart_facts;
pub mod digest;
pub mod discover;
pub mod helm;
pub mod lint;
pub mod paths;
pub mod provenance;
pub mod pull;
pub mod readme;
pub mod render;
mod rule_docs;
pub mod scope;
pub mod store;
pub mod unused;
pub mod values;

pub use discover::{discover, ChartRef, HelmSource};
pub use helm::{Helm, Limits};
pub use provenance::Provenance;
pub use render::{render, render_sources, Options, Release, Rendered, Status};
pub use rule_docs::RULE_DOCS;
pub use store::{RemoteChart, Store};
