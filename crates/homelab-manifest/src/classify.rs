//! Turns built YAML documents into [`Document`]s: Kubernetes object or not, `kind: List`
//! expanded into its items, and the notes that say why something is skipped. Pure functions.

use crate::position::{self, PosNode, Positions};
use crate::resolve::Ambiguity;
use crate::tree::RawDoc;
use crate::{Class, Document, Source};
use homelab_diagnostics::{Diagnostic, Location};
use serde_json::Value;
use std::sync::Arc;

/// Classifies one built document (expanding lists) and appends the results.
pub(crate) fn classify(
    source: &Arc<Source>,
    raw: RawDoc,
    documents: &mut Vec<Document>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let RawDoc {
        doc_index,
        value,
        positions,
        ambiguous,
    } = raw;
    let first_new = documents.len();
    if is_expandable_list(&value) {
        let (Value::Object(mut map), PosNode::Map(_, entries)) = (value, positions) else {
            return;
        };
        let items_index = map.keys().position(|k| k == "items");
        let items = map.remove("items");
        let item_positions = items_index.and_then(|i| entries.into_iter().nth(i));
        if let (Some(Value::Array(items)), Some((_, PosNode::Seq(_, item_positions)))) =
            (items, item_positions)
        {
            for (item_index, (item, item_pos)) in items.into_iter().zip(item_positions).enumerate()
            {
                push_one(
                    source,
                    doc_index,
                    Some(item_index),
                    item,
                    item_pos,
                    documents,
                    diagnostics,
                );
            }
        }
    } else {
        push_one(
            source,
            doc_index,
            None,
            value,
            positions,
            documents,
            diagnostics,
        );
    }
    // YAML 1.1 surprises matter only where homelab reads the values: in Kubernetes objects.
    // Octal numbers (`0644`) are not among them: kubectl, Helm and kustomize (go-yaml v2 and
    // v3 alike) all read them as octal.
    let ambiguous: Vec<_> = ambiguous
        .into_iter()
        .filter(|a| a.kind == Ambiguity::Bool)
        .collect();
    if ambiguous.is_empty() {
        return;
    }
    let targets: std::collections::HashSet<_> = ambiguous.iter().map(|a| a.pos).collect();
    let named: Vec<_> = documents[first_new..]
        .iter()
        .filter(|d| d.class == Class::Object)
        .map(|d| (d, position::pointers_at(&d.value, &d.positions, &targets)))
        .collect();
    for amb in ambiguous {
        let Some((doc, pointer)) = named
            .iter()
            .find_map(|(d, pointers)| pointers.get(&amb.pos).map(|p| (*d, p.clone())))
        else {
            continue;
        };
        let message = format!(
            "`{}` is read as the boolean {} (YAML 1.1, as kubectl and Helm read it)",
            amb.text, amb.resolved
        );
        let help = format!(
            "quote it if you meant the string (\"{}\"); write {} if you meant the boolean",
            amb.text, amb.resolved
        );
        let mut d = Diagnostic::warning("yaml/ambiguous-value", message)
            .at(Location::new(&source.name, amb.pos.line, amb.pos.col))
            .with_object(doc.id())
            .with_help(help);
        if !pointer.is_empty() {
            d = d.with_path(pointer);
        }
        diagnostics.push(d);
    }
}

/// `kind: List` or `kind: FooList` with an `items` array.
fn is_expandable_list(value: &Value) -> bool {
    let Value::Object(map) = value else {
        return false;
    };
    let list_kind = matches!(map.get("kind"), Some(Value::String(k)) if k.ends_with("List"));
    list_kind
        && matches!(map.get("apiVersion"), Some(Value::String(_)))
        && matches!(map.get("items"), Some(Value::Array(_)))
}

fn push_one(
    source: &Arc<Source>,
    doc_index: usize,
    item_index: Option<usize>,
    value: Value,
    positions: PosNode,
    documents: &mut Vec<Document>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let class = class_of(source, &value);
    let doc = Document {
        source: source.clone(),
        doc_index,
        item_index,
        value,
        class,
        positions: Positions::from_tree(&positions),
        engine: None,
    };
    if let Class::NotKubernetes { reason } = &doc.class {
        let what = match item_index {
            Some(i) => format!("list item {i}"),
            None => "document".to_owned(),
        };
        diagnostics.push(
            Diagnostic::note(
                "load/not-kubernetes",
                format!("{what} skipped: not a Kubernetes object ({reason})"),
            )
            .at(doc.start())
            .with_help("homelab checks only Kubernetes objects; add `apiVersion` and `kind` if this was meant to be one"),
        );
    }
    documents.push(doc);
}

fn class_of(source: &Source, value: &Value) -> Class {
    let map = match value {
        Value::Null => return Class::Empty,
        Value::Object(map) => map,
        Value::Array(_) => {
            return Class::NotKubernetes {
                reason: "the document is a list, not a map".into(),
            }
        }
        _ => {
            return Class::NotKubernetes {
                reason: "the document is a single value, not a map".into(),
            }
        }
    };
    match (map.get("apiVersion"), map.get("kind")) {
        (Some(Value::String(api_version)), Some(Value::String(kind))) => {
            match tool_configuration(api_version, kind, map) {
                Some(tool) => Class::NotKubernetes {
                    reason: format!(
                        "`{api_version}` `{kind}` is {tool}, not an object an API server serves"
                    ),
                },
                None => Class::Object,
            }
        }
        (Some(_), Some(_)) => Class::NotKubernetes {
            reason: "`apiVersion` and `kind` must both be strings".into(),
        },
        (Some(_), None) => Class::NotKubernetes {
            reason: "it has `apiVersion` but no `kind`".into(),
        },
        (None, Some(_)) if map.contains_key("talos") => Class::NotKubernetes {
            reason: "no `apiVersion`: looks like an Omni cluster template (Talos)".into(),
        },
        (None, Some(_)) => Class::NotKubernetes {
            reason: "it has `kind` but no `apiVersion`".into(),
        },
        (None, None) => Class::NotKubernetes {
            reason: guess_what_it_is(source, map),
        },
    }
}

/// Files that look like Kubernetes objects (`apiVersion` + `kind`) but configure a client-side
/// tool: no cluster serves them, so there is no schema to validate and no policy applies.
fn tool_configuration(
    api_version: &str,
    kind: &str,
    map: &serde_json::Map<String, Value>,
) -> Option<&'static str> {
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let has_any = |keys: &[&str]| keys.iter().any(|k| map.contains_key(*k));
    // A Kubernetes kind is a type name (`Deployment`) and a version starts with `v` and a
    // digit; `apiVersion: 0.1.0` with `kind: ksonnet.io/app` (a ksonnet project's
    // `app.yaml`) names another tool's format. (A crafted kind beside a Kubernetes version
    // stays an object, which validation rejects as such.)
    let version = api_version.rsplit('/').next().unwrap_or(api_version);
    let kubernetes_version = version
        .strip_prefix('v')
        .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()));
    if kind.contains(['/', '.', ':', ' ']) && !kubernetes_version {
        return Some("another tool's file (its `kind` is no Kubernetes type name)");
    }
    match (group, kind) {
        // The core group never served a `Policy` or a `Config`: a `v1 Policy` with scheduling
        // predicates is the legacy kube-scheduler `--policy-config-file`, a `v1 Config` with
        // clusters or users a kubeconfig.
        ("", "Policy")
            if api_version == "v1"
                && has_any(&[
                    "predicates",
                    "priorities",
                    "extenders",
                    "hardPodAffinitySymmetricWeight",
                    "alwaysCheckAllPredicates",
                ]) =>
        {
            Some("a kube-scheduler policy configuration (`--policy-config-file`)")
        }
        ("", "Config") if api_version == "v1" && has_any(&["clusters", "contexts", "users"]) => {
            Some("a kubeconfig file")
        }
        ("kustomize.config.k8s.io", _) => Some("a kustomize build file"),
        ("config.kubernetes.io", _) => Some("a kustomize function configuration"),
        ("cli.kyverno.io", _) | ("kyverno.io", "Test") => Some("a Kyverno CLI test file"),
        ("test.gatekeeper.sh", _) => Some("a Gatekeeper `gator verify` test suite"),
        ("chainsaw.kyverno.io", _) => Some("a chainsaw test"),
        ("kind.x-k8s.io", _) => Some("a kind cluster configuration"),
        ("k3d.io", _) => Some("a k3d cluster configuration"),
        ("ctlptl.dev", _) => Some("a ctlptl cluster configuration"),
        // `apiVersion: skaffold/v4beta11`, `kind: Config`: skaffold's build and deploy file.
        ("skaffold", "Config") => Some("a skaffold configuration"),
        (g, _) if g.ends_with("plugin.fluxcd.io") => Some("a Flux CLI plugin configuration"),
        // Talos machine configuration documents use the bare `v1alpha1`; the Kubernetes core
        // group serves only `v1`.
        ("", _) if api_version == "v1alpha1" => Some("a Talos machine configuration document"),
        // `apiVersion: builtin` configures one of kustomize's own transformers or generators
        // (listed under `transformers:`/`generators:` of a kustomization).
        ("", _) if api_version == "builtin" => {
            Some("a kustomize builtin transformer or generator configuration")
        }
        (
            "apiserver.config.k8s.io"
            | "pod-security.admission.config.k8s.io"
            | "kubelet.config.k8s.io"
            | "kubeproxy.config.k8s.io"
            | "kubeadm.k8s.io"
            | "kubescheduler.config.k8s.io"
            | "kubecontrollermanager.config.k8s.io"
            | "controllermanager.config.k8s.io"
            | "cloudcontrollermanager.config.k8s.io"
            | "credentialprovider.kubelet.k8s.io"
            | "client.authentication.k8s.io"
            | "eventratelimit.admission.k8s.io"
            | "podnodeselector.admission.k8s.io"
            | "podtolerationrestriction.admission.k8s.io"
            | "apiserver.k8s.io"
            | "componentconfig"
            | "audit.k8s.io",
            _,
        ) => Some("a configuration file of a Kubernetes component"),
        // An API group is a domain with a dot (the API server refuses a CustomResourceDefinition
        // or an aggregated API whose group has none); only Kubernetes' own first groups are
        // bare words. `release-notes/v2` is a release-note file of a project's own tooling.
        // A built-in kind keeps its checks, so `app/v1 Deployment` is still reported as a typo.
        (g, _)
            if !g.is_empty()
                && !g.contains('.')
                && !BARE_BUILTIN_GROUPS.contains(&g)
                && !BUILTIN_KINDS.contains(&kind) =>
        {
            Some("the file of another tool (no API server serves an API group without a dot besides Kubernetes' own `apps`, `batch`, `autoscaling`, `policy` and `extensions`)")
        }
        _ => None,
    }
}

/// The API groups Kubernetes serves under a bare word; every other group has a dot.
const BARE_BUILTIN_GROUPS: &[&str] = &["apps", "batch", "autoscaling", "policy", "extensions"];

/// Kinds of the built-in API: with a bare unknown group they are a misspelt group, not
/// another tool's file.
const BUILTIN_KINDS: &[&str] = &[
    "Pod",
    "Service",
    "ConfigMap",
    "Secret",
    "Namespace",
    "ServiceAccount",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ControllerRevision",
    "Job",
    "CronJob",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "Ingress",
    "NetworkPolicy",
];

/// A friendly guess for the note; never changes what happens to the document.
fn guess_what_it_is(source: &Source, map: &serde_json::Map<String, Value>) -> String {
    let path = source
        .path
        .as_deref()
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_else(|| source.name.clone());
    let file = path
        .rsplit('/')
        .next()
        .unwrap_or(&path)
        .to_ascii_lowercase();
    let what = if file == "chart.yaml" {
        "looks like Helm chart metadata (Chart.yaml)"
    } else if file.starts_with("values") {
        "looks like Helm values"
    } else if path.contains(".github/workflows/")
        || (map.contains_key("jobs") && (map.contains_key("on") || map.contains_key("true")))
    {
        "looks like a GitHub Actions workflow"
    } else if file == ".gitlab-ci.yml" || file == ".gitlab-ci.yaml" {
        "looks like a GitLab CI configuration"
    } else if file.starts_with("kustomization") {
        "looks like a Kustomize kustomization"
    } else if map.contains_key("services")
        && (file.contains("compose") || map.contains_key("version"))
    {
        "looks like a Docker Compose file"
    } else if file == ".pre-commit-config.yaml" || map.contains_key("repos") {
        "looks like a pre-commit configuration"
    } else if map.contains_key("machine") && map.contains_key("cluster") {
        "looks like a Talos machine configuration"
    } else if map.contains_key("talosVersion") || file.starts_with("talconfig") {
        "looks like a talhelper configuration (talconfig.yaml)"
    } else if map.contains_key("policies")
        && map.contains_key("resources")
        && (map.contains_key("results") || file.starts_with("kyverno-test"))
    {
        "looks like a Kyverno CLI test file"
    } else if file.starts_with("kind") && map.contains_key("nodes") {
        "looks like a kind cluster configuration"
    } else {
        "no `apiVersion`/`kind`"
    };
    if what.starts_with("no ") {
        what.to_owned()
    } else {
        format!("no `apiVersion`/`kind`: {what}")
    }
}
