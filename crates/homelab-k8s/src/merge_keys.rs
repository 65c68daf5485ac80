//! Which list fields of the built-in Kubernetes kinds merge item by item, and by which key.
//!
//! A strategic-merge patch (kubectl, kustomize, Kyverno's `patchStrategicMerge`) and a
//! server-side apply merge most lists of the built-in kinds as a whole: the patch's list
//! replaces the object's. A few lists are sets of items named by one field instead, and a
//! patch adds to them or changes one item: the Kubernetes API declares them in its Go types
//! with the tags `patchStrategy:"merge"` and `patchMergeKey:"<key>"`, published in its OpenAPI
//! document as `x-kubernetes-patch-strategy: merge` and `x-kubernetes-patch-merge-key`. For the
//! fields below, server-side apply names the items by the same field (`+listType=map`,
//! `x-kubernetes-list-map-keys`; where it adds a second key, such as a port's `protocol` or a
//! spread constraint's `whenUnsatisfiable`, the first one is the one kept here).
//!
//! The table is read by field name, without the kind's schema: the field names below mean one
//! thing in every built-in kind that has them, except `ports`, which is a container's
//! (`containerPort`) or a Service's (`port`); the items themselves tell which.
//!
//! | field | key | where (Kubernetes API, `core/v1` unless said) |
//! |---|---|---|
//! | `containers`, `initContainers`, `ephemeralContainers` | `name` | `PodSpec` |
//! | `volumes`, `imagePullSecrets`, `resourceClaims`, `schedulingGates` | `name` | `PodSpec` |
//! | `env` | `name` | `Container` |
//! | `volumeMounts` | `mountPath` | `Container` |
//! | `volumeDevices` | `devicePath` | `Container` |
//! | `ports` | `containerPort` / `port` | `Container` / `ServiceSpec` |
//! | `hostAliases` | `ip` | `PodSpec` |
//! | `topologySpreadConstraints` | `topologyKey` | `PodSpec` |
//! | `conditions` | `type` | the status of pods, nodes, `apps/v1` workloads, ... |

use serde_json::Value;

/// Each list field that merges by key, with its keys (more than one when kinds that share the
/// field name key it differently; the items carry the one that applies).
const MERGE_KEYS: &[(&str, &[&str])] = &[
    ("containers", &["name"]),
    ("initContainers", &["name"]),
    ("ephemeralContainers", &["name"]),
    ("volumes", &["name"]),
    ("imagePullSecrets", &["name"]),
    ("resourceClaims", &["name"]),
    ("schedulingGates", &["name"]),
    ("env", &["name"]),
    ("volumeMounts", &["mountPath"]),
    ("volumeDevices", &["devicePath"]),
    ("ports", &["containerPort", "port"]),
    ("hostAliases", &["ip"]),
    ("topologySpreadConstraints", &["topologyKey"]),
    ("conditions", &["type"]),
];

/// The key that names the items of list field `field` in a strategic merge or a server-side
/// apply, given the items of the lists being merged (the patch's and the object's); `None`
/// when the list is replaced whole. Where the field's key depends on the kind (`ports`), the
/// first key that an item carries is chosen, else the first of the field's keys.
pub fn merge_key<'a>(
    field: &str,
    items: impl IntoIterator<Item = &'a Value>,
) -> Option<&'static str> {
    let keys = MERGE_KEYS
        .iter()
        .find(|(name, _)| *name == field)
        .map(|(_, keys)| *keys)?;
    if let [only] = keys {
        return Some(only);
    }
    let items: Vec<&Value> = items.into_iter().collect();
    keys.iter()
        .copied()
        .find(|key| items.iter().any(|item| item.get(key).is_some()))
        .or(keys.first().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pod_lists_merge_by_their_declared_key() {
        let none: [&Value; 0] = [];
        for (field, key) in [
            ("containers", "name"),
            ("initContainers", "name"),
            ("ephemeralContainers", "name"),
            ("volumes", "name"),
            ("imagePullSecrets", "name"),
            ("resourceClaims", "name"),
            ("schedulingGates", "name"),
            ("env", "name"),
            ("volumeMounts", "mountPath"),
            ("volumeDevices", "devicePath"),
            ("hostAliases", "ip"),
            ("topologySpreadConstraints", "topologyKey"),
            ("conditions", "type"),
        ] {
            assert_eq!(merge_key(field, none), Some(key), "{field}");
        }
    }

    #[test]
    fn other_lists_are_replaced() {
        let none: [&Value; 0] = [];
        for field in [
            "tolerations",
            "args",
            "command",
            "envFrom",
            "rules",
            "finalizers",
            "",
        ] {
            assert_eq!(merge_key(field, none), None, "{field}");
        }
    }

    #[test]
    fn ports_are_keyed_by_what_the_items_carry() {
        let container = [json!({"name": "http", "containerPort": 80})];
        let service = [json!({"name": "http", "port": 80, "targetPort": 8080})];
        assert_eq!(merge_key("ports", &container), Some("containerPort"));
        assert_eq!(merge_key("ports", &service), Some("port"));
        // A patch item without either key: the object's items decide.
        let patch = json!({"name": "http"});
        assert_eq!(
            merge_key("ports", [&patch].into_iter().chain(&service)),
            Some("port")
        );
        // Nothing to tell: a container's ports, the commoner of the two.
        assert_eq!(merge_key("ports", [&patch]), Some("containerPort"));
    }
}
