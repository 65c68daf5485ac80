//! The admission-request side of an evaluation: who does what to which object, plus the
//! values a `kyverno test`/`apply` run injects (Values file, UserInfo file).
//!
//! This is the stable contract between the policy engine and the `cel` module
//! (`crate::cel_kinds`): `cel_kinds::validate_rule` and `cel_kinds::evaluate_validating_policy` receive an
//! [`EvalContext`] describing the request; the resource itself and the policy are passed
//! separately. Results go back as [`crate::response::RuleResponse`].
//!
//! Field meanings follow Kyverno's `AdmissionRequest` JSON (`request.operation`,
//! `request.userInfo`, `request.oldObject`, `request.namespace`) so that
//! [`EvalContext::request_json`] can be handed straight to JMESPath or CEL.

use serde_json::{Map, Value};

/// `request.userInfo` plus the RBAC roles Kyverno resolves for the user
/// (`kyverno test` reads them from a UserInfo file).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserInfo {
    pub username: String,
    pub uid: String,
    pub groups: Vec<String>,
    /// `namespace:role` names, as Kyverno's `roles`.
    pub roles: Vec<String>,
    pub cluster_roles: Vec<String>,
}

/// The request is for a subresource (`kubectl scale`, `exec`, a pod binding...): the
/// object is of the subresource's kind, the request names the parent resource.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Subresource {
    /// The parent's group, version and kind (`apps`, `v1`, `Deployment`).
    pub group: String,
    pub version: String,
    pub kind: String,
    /// The parent's resource (plural) name (`deployments`).
    pub resource: String,
    /// The subresource (`scale`).
    pub name: String,
}

/// Everything about the admission request that is not the resource or the policy.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalContext {
    /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT` (the CLI assumes `CREATE`).
    pub operation: String,
    pub user_info: UserInfo,
    /// Labels of the resource's namespace (for `namespaceSelector`), when known.
    /// `None` = unknown: Kyverno's CLI then treats the selector as not matching.
    pub namespace_labels: Option<Map<String, Value>>,
    /// The resource's Namespace object, when known (CEL `namespaceObject`).
    pub namespace_object: Option<Value>,
    /// `request.oldObject` (UPDATE/DELETE), `None` = null.
    pub old_object: Option<Value>,
    /// Variables injected by a Values file, keyed as written there: either a plain context
    /// name (`foo`, `imageData.registry`) or a full JMESPath-like path
    /// (`request.object.metadata.name`). They override what the engine would compute.
    pub values: Map<String, Value>,
    /// Whether this is a background scan (no request/userInfo available) rather than an
    /// admission request. `kyverno test`/`apply` evaluate as admission requests.
    pub background: bool,
    /// What a `kyverno test` mocks of the cluster, registries and web services (CEL
    /// lookups, `apiCall`/`configMap`/`globalReference` context entries). `None` = nothing
    /// is mocked: every such lookup fails or is left to the Values file.
    pub mocks: Option<crate::mocks::Shared>,
    /// Set when the request is for a subresource of another resource (the Values
    /// file's `subresources` map the object's kind to its parent).
    pub subresource: Option<Subresource>,
}

impl Default for EvalContext {
    fn default() -> Self {
        EvalContext {
            operation: "CREATE".to_string(),
            user_info: UserInfo::default(),
            namespace_labels: None,
            namespace_object: None,
            old_object: None,
            values: Map::new(),
            background: false,
            mocks: None,
            subresource: None,
        }
    }
}

impl EvalContext {
    /// Kyverno's `request` object for `resource` (without `object`, which callers add
    /// because they may substitute a foreach element or an autogen'd pod template).
    pub fn request_json(&self, resource: &Value) -> Value {
        let mut req = self.request_head(resource);
        req.insert("object".into(), resource.clone());
        let old = match &self.old_object {
            Some(o) => o.clone(),
            None if self.updates_itself() => resource.clone(),
            None => Value::Null,
        };
        req.insert("oldObject".into(), old);
        Value::Object(req)
    }

    /// The CLI has no previous version of an UPDATEd object: it uses the object itself.
    pub fn updates_itself(&self) -> bool {
        self.old_object.is_none() && self.operation.eq_ignore_ascii_case("UPDATE")
    }

    /// [`EvalContext::request_json`] without `object` and `oldObject`.
    pub fn request_head(&self, resource: &Value) -> Map<String, Value> {
        let mut req = Map::new();
        req.insert("operation".into(), Value::String(self.operation.clone()));
        // Go's `omitempty`: absent fields are missing keys, not empty values.
        let mut ui = Map::new();
        if !self.user_info.username.is_empty() {
            ui.insert(
                "username".into(),
                Value::String(self.user_info.username.clone()),
            );
        }
        if !self.user_info.uid.is_empty() {
            ui.insert("uid".into(), Value::String(self.user_info.uid.clone()));
        }
        if !self.user_info.groups.is_empty() {
            ui.insert(
                "groups".into(),
                Value::Array(
                    self.user_info
                        .groups
                        .iter()
                        .cloned()
                        .map(Value::String)
                        .collect(),
                ),
            );
        }
        req.insert("userInfo".into(), Value::Object(ui));
        if !self.user_info.roles.is_empty() {
            req.insert(
                "roles".into(),
                Value::Array(
                    self.user_info
                        .roles
                        .iter()
                        .cloned()
                        .map(Value::String)
                        .collect(),
                ),
            );
        }
        if !self.user_info.cluster_roles.is_empty() {
            req.insert(
                "clusterRoles".into(),
                Value::Array(
                    self.user_info
                        .cluster_roles
                        .iter()
                        .cloned()
                        .map(Value::String)
                        .collect(),
                ),
            );
        }
        let ns = resource
            .pointer("/metadata/namespace")
            .cloned()
            .unwrap_or(Value::String(String::new()));
        req.insert("namespace".into(), ns);
        let kind = resource.get("kind").cloned().unwrap_or(Value::Null);
        let api = resource
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("");
        let (group, version) = match api.rsplit_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api.to_string()),
        };
        let mut k = Map::new();
        k.insert("group".into(), Value::String(group));
        k.insert("version".into(), Value::String(version));
        k.insert("kind".into(), kind);
        req.insert("kind".into(), Value::Object(k));
        if let Some(n) = resource.pointer("/metadata/name") {
            req.insert("name".into(), n.clone());
        }
        req
    }
}
