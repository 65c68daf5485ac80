//! The platform's own custom kinds (ArgoCD, Kyverno, Longhorn, SealedSecrets, ARC, Traefik,
//! k3s ...), hand-written under `crds/` and embedded by `build.rs`. Parsed once, on first use.

use crate::crd::{self, CrdSchema};
use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/platform_schemas.rs"));

static PARSED: OnceLock<Vec<CrdSchema>> = OnceLock::new();

pub fn schemas() -> &'static [CrdSchema] {
    PARSED.get_or_init(|| {
        let mut out = Vec::new();
        for (path, text) in PLATFORM_SCHEMAS {
            let origin = format!("embedded crds/{path}");
            let (docs, _diagnostics) = homelab_manifest::parse_str(&origin, text);
            for doc in docs {
                if crd::is_crd(&doc.value) {
                    out.extend(crd::from_crd(&doc.value, &origin));
                } else if let Some(s) = crd::from_platform_file(&doc.value, &origin) {
                    out.push(s);
                }
            }
        }
        out
    })
}
