//! ClusterPolicy/Policy `context` entries that need a cluster, a web service or the
//! global context (`apiCall`, `configMap`, `globalReference`), answered offline the
//! way `kyverno test` answers them (see [`crate::mocks`]):
//! - `apiCall`: an `apiCallResponses` entry for its method and URL (`service.url` or
//!   `urlPath`) first (a non-2xx status is an error); else, with a fake cluster, a
//!   `urlPath` is served from it (the entry's `default` replaces a failed call);
//!   `jmesPath` applies to the answer;
//! - `configMap`: with a fake cluster, its ConfigMap (`{data, metadata}`), in the
//!   entry's namespace or `default`;
//! - `globalReference`: the mocked global context entry (`name` or `name.projection`),
//!   then `jmesPath`.
//!
//! Anything else is left alone ([`load`] returns `None`): the engine then uses the
//! Values file or the entry's default.

use serde_json::{json, Value};

use crate::context::EvalContext;
use crate::variables::{Mode, Vars};

fn jmes(path: &str, data: Value, name: &str) -> Result<Value, String> {
    if path.trim().is_empty() {
        return Ok(data);
    }
    crate::jmes::search(path, &data)
        .map_err(|e| format!("failed to apply JMESPath {path} for context entry {name}: {e}"))
}

/// The value of a context entry from the evaluation's mocks: `None` when the entry is
/// not of a kind mocked here (or nothing mocks it), else the value or the error.
pub fn load(entry: &Value, vars: &Vars, ctx: &EvalContext) -> Option<Result<Value, String>> {
    let mocks = ctx.mocks.as_ref()?;
    let name = entry.get("name").and_then(Value::as_str).unwrap_or("");
    if let Some(call) = entry.get("apiCall") {
        let jmes_path = call.get("jmesPath").and_then(Value::as_str).unwrap_or("");
        let mut request = call.clone();
        if let Value::Object(m) = &mut request {
            m.remove("jmesPath");
            m.remove("default");
        }
        let request = match vars.substitute(&request, Mode::Strict) {
            Ok(r) => r,
            Err(e) => {
                return Some(Err(format!(
                    "failed to substitute variables in context entry {name}: {e}"
                )))
            }
        };
        let url = request
            .pointer("/service/url")
            .or_else(|| request.get("urlPath"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let method = request
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("GET")
            .to_ascii_uppercase();
        let jmes_path = match vars.substitute_str(jmes_path, Mode::Strict) {
            Ok(Value::String(s)) => s,
            Ok(_) | Err(_) => jmes_path.to_string(),
        };
        if let Some(mock) = mocks.http(&method, &url) {
            if !(200..300).contains(&mock.status) {
                return Some(Err(format!(
                    "HTTP {} from apiCall mock for context entry {name} (v1 apiCall treats non-2xx as failure)",
                    mock.status
                )));
            }
            return Some(jmes(&jmes_path, mock.body.clone(), name));
        }
        if !mocks.cluster || request.get("service").is_some() || url.is_empty() {
            return None;
        }
        return Some(match mocks.api_path(&url) {
            Ok(data) => jmes(&jmes_path, data, name),
            Err(e) => match call.get("default") {
                // a failed call falls back to the default, stored as it is
                Some(d) => vars
                    .substitute(d, Mode::Strict)
                    .map_err(|e| e.to_string()),
                None => Err(format!(
                    "failed to fetch data for APICall: failed to {method} resource with raw url: {url}: {e}"
                )),
            },
        });
    }
    if let Some(cm) = entry.get("configMap") {
        if !mocks.cluster {
            return None;
        }
        let cm = match vars.substitute(cm, Mode::Strict) {
            Ok(c) => c,
            Err(e) => {
                return Some(Err(format!(
                    "failed to substitute variables in context {name} configMap: {e}"
                )))
            }
        };
        let cm_name = cm.get("name").and_then(Value::as_str).unwrap_or("");
        let ns = cm
            .get("namespace")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .unwrap_or("default");
        return Some(match mocks.config_map(ns, cm_name) {
            Ok(obj) => Ok(json!({
                "data": obj.get("data").cloned().unwrap_or(json!({})),
                "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
            })),
            Err(e) => Err(format!(
                "failed to retrieve config map for context entry {name}: failed to get configmap {ns}/{cm_name} : {e}"
            )),
        });
    }
    if let Some(g) = entry.get("globalReference") {
        if !mocks.has_global() {
            return None;
        }
        let g = match vars.substitute(g, Mode::Strict) {
            Ok(g) => g,
            Err(e) => return Some(Err(e.to_string())),
        };
        let reference = g.get("name").and_then(Value::as_str).unwrap_or("");
        let (entry_name, projection) = reference.split_once('.').unwrap_or((reference, ""));
        let data = match mocks.global(entry_name, projection) {
            Ok(Some(d)) => d,
            Ok(None) => return Some(Err(format!("failed to fetch entry key={entry_name}"))),
            Err(e) => return Some(Err(e)),
        };
        let jmes_path = g.get("jmesPath").and_then(Value::as_str).unwrap_or("");
        return Some(jmes(jmes_path, data, name));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mocks::{HttpMock, Mocks, Shared};
    use serde_json::Map;
    use std::sync::Arc;

    fn ctx(m: Mocks) -> EvalContext {
        EvalContext {
            mocks: Some(Shared(Arc::new(m))),
            ..EvalContext::default()
        }
    }

    #[test]
    fn api_calls_read_mocks_then_the_cluster() {
        let mut m = Mocks::default();
        m.cluster = true;
        m.add_objects([json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "default"}, "data": {"k": "v"}})]);
        m.add_http(HttpMock {
            method: String::new(),
            url: "https://svc/check".into(),
            status: 200,
            body: json!({"allowed": true}),
        });
        let c = ctx(m);
        let vars = Vars::new(Map::new());
        let svc = json!({"name": "x", "apiCall": {"service": {"url": "https://svc/check"}, "jmesPath": "allowed"}});
        assert_eq!(load(&svc, &vars, &c), Some(Ok(json!(true))));
        let path = json!({"name": "x", "apiCall": {"urlPath": "/api/v1/namespaces/default/configmaps/cfg", "jmesPath": "data.k"}});
        assert_eq!(load(&path, &vars, &c), Some(Ok(json!("v"))));
        let missing = json!({"name": "x", "apiCall": {"urlPath": "/api/v1/namespaces/default/configmaps/nope", "default": "d"}});
        assert_eq!(load(&missing, &vars, &c), Some(Ok(json!("d"))));
        let cm = json!({"name": "x", "configMap": {"name": "cfg"}});
        assert_eq!(load(&cm, &vars, &c).unwrap().unwrap()["data"]["k"], "v");
        let unmocked = json!({"name": "x", "apiCall": {"service": {"url": "https://other"}}});
        assert_eq!(load(&unmocked, &vars, &c), None);
    }

    #[test]
    fn without_a_cluster_only_mocks_answer() {
        let mut m = Mocks::default();
        m.add_global("deps", Ok(json!({"items": [1, 2, 3]})));
        let c = ctx(m);
        let vars = Vars::new(Map::new());
        let cm = json!({"name": "x", "configMap": {"name": "cfg"}});
        assert_eq!(load(&cm, &vars, &c), None);
        let g = json!({"name": "x", "globalReference": {"name": "deps.items", "jmesPath": "length(@)"}});
        assert_eq!(load(&g, &vars, &c), Some(Ok(json!(3))));
        let unknown = json!({"name": "x", "globalReference": {"name": "other"}});
        assert!(load(&unknown, &vars, &c).unwrap().is_err());
    }
}
