//! The opening check every CEL policy kind makes before its own work, in one place so that
//! the kinds cannot drift apart:
//! - a `Namespaced*` kind governs its own namespace only (as the cluster applies it): a
//!   resource of another namespace, or a cluster-scoped one, is not selected;
//! - match constraints (a policy's `matchConstraints`, a binding's `matchResources`) see
//!   the request with the labels of the resource's namespace from
//!   [`match_constraints::namespace_labels`] (the declared Namespace object's, else those
//!   given for the namespace, else the `kubernetes.io/metadata.name` label every
//!   namespace carries);
//! - the activation binds `object` (null when deleting), `oldObject`, `request` and
//!   `namespaceObject` (null for cluster-scoped resources), with the resource library
//!   limited to the policy's namespace for the namespaced kinds;
//! - `matchConditions` are evaluated by [`Opening::match_conditions`].
//!
//! What a kind reports when the opening check does not pass differs by kind (no response,
//! a skip, an excluded response): each kind decides that from what this returns.

use homelab_cel::Activation;
use serde_json::{Map, Value as Json};

use crate::context::EvalContext;

use super::eval;
use super::match_constraints::{self, Request};

/// The namespace a policy of a `Namespaced*` kind governs (empty for the cluster-wide
/// kinds): its own, `default` when it names none.
pub(crate) fn policy_namespace(policy: &Json) -> &str {
    let kind = policy.get("kind").and_then(Json::as_str).unwrap_or("");
    if kind.starts_with("Namespaced") {
        policy
            .pointer("/metadata/namespace")
            .and_then(Json::as_str)
            .unwrap_or("default")
    } else {
        ""
    }
}

/// What the opening check knows of one policy and one resource.
pub(super) struct Opening<'a> {
    policy_namespace: &'a str,
    resource: &'a Json,
    ctx: &'a EvalContext,
    namespace_labels: Map<String, Json>,
    operation: &'a str,
}

/// The outcome of a policy's `matchConditions`.
#[derive(Debug, PartialEq)]
pub(super) enum Conditions {
    /// All hold (or there are none).
    Met,
    /// One is false, or one failed under `failurePolicy: Ignore` when the kind honours it.
    NotMet,
    /// One failed to evaluate.
    Failed(String),
}

impl<'a> Opening<'a> {
    /// The opening check of `policy` for `resource`: `None` when the policy is of a
    /// `Namespaced*` kind and the resource is not in its namespace.
    pub(super) fn new(policy: &'a Json, resource: &'a Json, ctx: &'a EvalContext) -> Option<Self> {
        let policy_namespace = policy_namespace(policy);
        if !policy_namespace.is_empty() {
            let namespace = resource
                .pointer("/metadata/namespace")
                .and_then(Json::as_str)
                .unwrap_or("");
            if namespace != policy_namespace {
                return None;
            }
        }
        Some(Opening {
            policy_namespace,
            resource,
            ctx,
            namespace_labels: match_constraints::namespace_labels(ctx, resource),
            operation: &ctx.operation,
        })
    }

    /// Matches as a request of `operation` instead of the context's (Kubernetes'
    /// admission policies in Kyverno's CLI are always a CREATE; a cleanup matches any).
    pub(super) fn with_operation(mut self, operation: &'a str) -> Self {
        self.operation = operation;
        self
    }

    /// The namespace of a namespaced policy (empty for cluster-wide kinds).
    pub(super) fn policy_namespace(&self) -> &'a str {
        self.policy_namespace
    }

    /// The labels the namespace selectors see.
    pub(super) fn namespace_labels(&self) -> &Map<String, Json> {
        &self.namespace_labels
    }

    /// The request match constraints are matched against.
    pub(super) fn request(&self) -> Request<'_> {
        Request {
            resource: self.resource,
            operation: self.operation,
            namespace_labels: &self.namespace_labels,
            subresource: self.ctx.subresource.as_ref(),
        }
    }

    /// Whether `constraints` (a `MatchResources`) select the resource; absent ones do not.
    pub(super) fn selects(&self, constraints: Option<&Json>) -> bool {
        constraints.is_some_and(|mc| match_constraints::matches(mc, &self.request()))
    }

    /// Whether `spec.matchConstraints` select the resource.
    pub(super) fn spec_selects(&self, spec: &Json) -> bool {
        self.selects(spec.get("matchConstraints"))
    }

    /// The request's `object`: the resource, null when it is being deleted.
    pub(super) fn object(&self) -> Json {
        if self.ctx.operation == "DELETE" {
            Json::Null
        } else {
            self.resource.clone()
        }
    }

    /// The admission activation: `object` (null when deleting), `oldObject`, `request`
    /// and `namespaceObject` (the declared Namespace, null for cluster-scoped resources),
    /// with Kyverno's libraries limited to the policy's namespace.
    pub(super) fn activation(&self) -> Activation {
        let ctx = self.ctx;
        let old = ctx.old_object.clone().unwrap_or(Json::Null);
        let object = self.object();
        let namespaced = self
            .resource
            .pointer("/metadata/namespace")
            .and_then(Json::as_str)
            .is_some_and(|n| !n.is_empty());
        let namespace_object = if namespaced {
            ctx.namespace_object.clone().unwrap_or(Json::Null)
        } else {
            Json::Null
        };
        let request = eval::request_json(self.resource, ctx);
        eval::activation_in(
            &object,
            &old,
            &request,
            &namespace_object,
            ctx,
            self.policy_namespace,
        )
    }
}

/// Evaluates `spec.matchConditions` (which cannot read the policy's variables unless
/// `vars` are given). With `honour_ignore`, a condition that fails to evaluate under
/// `failurePolicy: Ignore` counts as not met.
pub(super) fn match_conditions(
    spec: &Json,
    act: &Activation,
    vars: &eval::Variables,
    honour_ignore: bool,
) -> Conditions {
    let Some(conds) = spec.get("matchConditions").and_then(Json::as_array) else {
        return Conditions::Met;
    };
    match eval::match_conditions(conds, act, vars) {
        Ok(true) => Conditions::Met,
        Ok(false) => Conditions::NotMet,
        Err(_) if honour_ignore && ignores_failures(spec) => Conditions::NotMet,
        Err(e) => Conditions::Failed(e),
    }
}

/// Whether the policy's `failurePolicy` is `Ignore`.
pub(super) fn ignores_failures(spec: &Json) -> bool {
    spec.get("failurePolicy").and_then(Json::as_str) == Some("Ignore")
}

#[cfg(test)]
mod tests {
    use super::super::by_kind;
    use super::*;
    use serde_json::json;

    /// One policy of every CEL kind that selects ConfigMaps and reports a result for
    /// each one it selects.
    fn policies(kind_prefix: &str, selector: Option<Json>) -> Vec<Json> {
        let mut constraints = json!({"resourceRules": [{"apiGroups": [""], "apiVersions": ["v1"],
            "operations": ["CREATE", "UPDATE"], "resources": ["configmaps"]}]});
        if let Some(s) = selector {
            constraints["namespaceSelector"] = s;
        }
        let kyverno = |kind: &str, body: Json| {
            let mut spec = json!({"matchConstraints": constraints});
            if let (Json::Object(s), Json::Object(b)) = (&mut spec, body) {
                s.extend(b);
            }
            json!({"apiVersion": "policies.kyverno.io/v1", "kind": format!("{kind_prefix}{kind}"),
                   "metadata": {"name": kind.to_lowercase(), "namespace": "team-a"}, "spec": spec})
        };
        let mut out = vec![
            kyverno(
                "ValidatingPolicy",
                json!({"validations": [{"expression": "true"}]}),
            ),
            kyverno("MutatingPolicy", json!({"mutations": []})),
            kyverno("GeneratingPolicy", json!({"generate": []})),
            kyverno("DeletingPolicy", json!({"conditions": []})),
            kyverno(
                "ImageValidatingPolicy",
                json!({"validations": [{"expression": "true"}]}),
            ),
        ];
        if kind_prefix.is_empty() {
            for (kind, body) in [
                (
                    "ValidatingAdmissionPolicy",
                    json!({"validations": [{"expression": "true"}]}),
                ),
                ("MutatingAdmissionPolicy", json!({"mutations": []})),
            ] {
                let mut spec = json!({"matchConstraints": constraints});
                if let (Json::Object(s), Json::Object(b)) = (&mut spec, body) {
                    s.extend(b);
                }
                out.push(
                    json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": kind,
                                "metadata": {"name": kind.to_lowercase()}, "spec": spec}),
                );
            }
        }
        out
    }

    fn config_map(namespace: &str) -> Json {
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "settings", "namespace": namespace}, "data": {"k": "v"}})
    }

    /// The kinds (by name) whose policy reports a result for the resource.
    fn applied(policies: &[Json], resource: &Json, ctx: &EvalContext) -> Vec<String> {
        policies
            .iter()
            .filter(|p| {
                by_kind::evaluate(p, resource, ctx, &[]).is_some_and(|r| !r.rules.is_empty())
            })
            .map(|p| p["kind"].as_str().unwrap_or("").to_string())
            .collect()
    }

    fn kinds(prefix: &str, with_admission: bool) -> Vec<String> {
        let mut k: Vec<String> = [
            "ValidatingPolicy",
            "MutatingPolicy",
            "GeneratingPolicy",
            "DeletingPolicy",
            "ImageValidatingPolicy",
        ]
        .iter()
        .map(|k| format!("{prefix}{k}"))
        .collect();
        if with_admission {
            k.push("ValidatingAdmissionPolicy".into());
            k.push("MutatingAdmissionPolicy".into());
        }
        k
    }

    #[test]
    fn every_kind_applies_without_selectors() {
        let ctx = EvalContext::default();
        let all = policies("", None);
        assert_eq!(applied(&all, &config_map("team-b"), &ctx), kinds("", true));
    }

    #[test]
    fn namespaced_kinds_govern_their_own_namespace_only() {
        // NamespacedGeneratingPolicy used to apply to triggers of every namespace.
        let ctx = EvalContext::default();
        let namespaced = policies("Namespaced", None);
        assert_eq!(
            applied(&namespaced, &config_map("team-a"), &ctx),
            kinds("Namespaced", false)
        );
        assert!(applied(&namespaced, &config_map("team-b"), &ctx).is_empty());
        let cluster_scoped =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
        assert!(applied(&namespaced, &cluster_scoped, &ctx).is_empty());
        // A namespaced policy without a namespace is in `default`.
        let mut no_namespace = namespaced.clone();
        for p in &mut no_namespace {
            p["metadata"].as_object_mut().map(|m| m.remove("namespace"));
        }
        assert_eq!(
            applied(&no_namespace, &config_map("default"), &ctx),
            kinds("Namespaced", false)
        );
    }

    #[test]
    fn every_kind_sees_the_namespace_name_label_of_an_unknown_namespace() {
        // The generating kind and the admission policies (VAP, MAP) used to see no labels
        // here, so a selector on the name label every namespace carries never matched.
        let selector = json!({"matchLabels": {"kubernetes.io/metadata.name": "team-b"}});
        let all = policies("", Some(selector));
        let ctx = EvalContext::default();
        assert_eq!(applied(&all, &config_map("team-b"), &ctx), kinds("", true));
        assert!(applied(&all, &config_map("team-c"), &ctx).is_empty());
        // Labels known for the namespace (from a Values file or the repository's
        // Namespace objects) are used as they are.
        let known = EvalContext {
            namespace_labels: Some(
                json!({"kubernetes.io/metadata.name": "team-b", "env": "prod"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ),
            ..EvalContext::default()
        };
        assert_eq!(
            applied(&all, &config_map("team-b"), &known),
            kinds("", true)
        );
    }

    #[test]
    fn every_kind_sees_the_labels_of_the_declared_namespace_object() {
        let selector = json!({"matchLabels": {"env": "prod"}});
        let all = policies("", Some(selector));
        let declared = |labels: Json| EvalContext {
            namespace_object: Some(json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": "team-b", "labels": labels}})),
            ..EvalContext::default()
        };
        let prod = declared(json!({"env": "prod"}));
        assert_eq!(applied(&all, &config_map("team-b"), &prod), kinds("", true));
        let dev = declared(json!({"env": "dev"}));
        assert!(applied(&all, &config_map("team-b"), &dev).is_empty());
        // The declared object is another namespace's: its labels do not count.
        assert!(applied(&all, &config_map("team-c"), &prod).is_empty());
    }

    #[test]
    fn match_conditions_are_read_the_same_way() {
        let spec = |extra: Json| {
            let mut s =
                json!({"matchConditions": [{"name": "c", "expression": "object.nope == 1"}]});
            if let (Json::Object(s), Json::Object(x)) = (&mut s, extra) {
                s.extend(x);
            }
            s
        };
        let resource = config_map("team-b");
        let ctx = EvalContext::default();
        let policy = json!({"kind": "ValidatingPolicy"});
        let opening = Opening::new(&policy, &resource, &ctx).map(|o| o.activation());
        let Some(act) = opening else {
            panic!("a cluster-wide kind is never limited to a namespace");
        };
        let none = eval::Variables::default();
        assert!(matches!(
            match_conditions(&spec(json!({})), &act, &none, true),
            Conditions::Failed(_)
        ));
        let ignore = spec(json!({"failurePolicy": "Ignore"}));
        assert_eq!(
            match_conditions(&ignore, &act, &none, true),
            Conditions::NotMet
        );
        assert!(matches!(
            match_conditions(&ignore, &act, &none, false),
            Conditions::Failed(_)
        ));
        assert_eq!(
            match_conditions(&json!({}), &act, &none, true),
            Conditions::Met
        );
        let false_one =
            json!({"matchConditions": [{"name": "c", "expression": "object.kind == 'Pod'"}]});
        assert_eq!(
            match_conditions(&false_one, &act, &none, true),
            Conditions::NotMet
        );
    }
}
