//! Object facts shared by the rules that the Kubernetes core does not know: Argo CD's sync
//! wave annotation. Pod specs and containers come from [`homelab_k8s::ResourceExt`].

use homelab_manifest::{Document, ResourceExt};
use serde_json::Value;

/// The `argocd.argoproj.io/sync-wave` annotation of an object, parsed (missing = None,
/// unparsable = Some(Err)).
pub fn sync_wave(doc: &Document) -> Option<Result<i64, String>> {
    let raw = doc.annotations()?.get("argocd.argoproj.io/sync-wave")?;
    let text = match raw {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    };
    Some(text.parse::<i64>().map_err(|_| text))
}
