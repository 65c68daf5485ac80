//! platform.toml model, the renderer of the guide's GitOps repository and its rollout plan
