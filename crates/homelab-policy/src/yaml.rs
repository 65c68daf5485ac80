//! YAML input via the shared loader (`homelab-manifest`): Kubernetes' YAML 1.1 rules, so
//! policies, resources and test files read exactly like the other commands read them.

use homelab_diagnostics::Severity;
use serde_json::Value;

/// All documents of `text` (empty documents dropped), or the first error as `file:line:col: msg`.
pub fn parse_all(name: &str, text: &str) -> Result<Vec<Value>, String> {
    let (docs, diags) = homelab_manifest::parse_str(name, text);
    if let Some(d) = diags.iter().find(|d| d.severity == Severity::Error) {
        return Err(match &d.location {
            Some(l) => format!("{l}: {}", d.message),
            None => d.message.clone(),
        });
    }
    Ok(docs
        .into_iter()
        .filter(|d| !d.value.is_null())
        .map(|d| d.value)
        .collect())
}

/// A single YAML document (for `parse_yaml`).
pub fn parse_one(text: &str) -> Result<Value, String> {
    let mut docs = parse_all("<parse_yaml>", text)?;
    Ok(if docs.is_empty() {
        Value::Null
    } else {
        docs.swap_remove(0)
    })
}
