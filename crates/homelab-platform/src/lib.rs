//! platform.toml model, the renderer of the guide's GitOps repository and its rollout plan.
//!
//! The pipeline: `config::parse` (text -> validated [`config::Config`]) -> `model::derive`
//! (placement, replicas, namespaces, Applications, budgets) -> `render::render` (templates ->
//! in-memory files) -> `sync` (three-way merge with what is on disk, atomic writes).
//! `plan` formats the derived model for `homelab plan`.

pub mod bootstrap;
pub mod config;
pub mod model;
pub mod plan;
pub mod render;
pub mod secrets;
pub mod sync;
pub mod validate;
pub mod values;

pub use config::{
    default_config, parse, parse_with, Config, ConfigError, ConfigErrors, DEFAULT_CONFIG,
};
pub use render::{render, Rendered, GENERATOR_VERSION};
