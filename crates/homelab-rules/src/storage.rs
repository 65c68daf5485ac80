//! What a repository tells about its storage: the StorageClasses it defines, those its
//! charts create (Longhorn's `longhorn`, an NFS provisioner's class, rook-ceph's pools),
//! the classes of its static PersistentVolumes, and those the platform configuration names;
//! for each, where the fact comes from and how the class keeps its data (replicated, one
//! local copy, over the network, static). Shared by the storage rules.

use crate::charts::installs;
use crate::{Repo, Settings};
use homelab_manifest::{Document, ResourceExt};
use serde_json::Value;
use std::collections::BTreeMap;

/// How a class keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keeping {
    /// Copies on several nodes, written over the network (Longhorn with 2+ replicas).
    Replicated(u32),
    /// One copy (a 1-replica Longhorn class, local-path, LVM, host paths).
    Single,
    /// A network file share (NFS, SMB).
    Network,
    /// Pre-provisioned PersistentVolumes bound by class name.
    Static,
    /// Not known from the repository.
    Unknown,
}

/// One StorageClass the repository has.
#[derive(Debug, Clone)]
pub struct Class {
    pub name: String,
    /// Where the fact comes from: `StorageClass in infra/sc.yaml`, `Longhorn chart
    /// (infra/longhorn/kustomization.yaml)`.
    pub origin: String,
    pub keeping: Keeping,
    /// Marked as the cluster's default class.
    pub default: bool,
}

/// The storage facts of a repository.
#[derive(Debug, Default)]
pub struct StorageFacts {
    pub classes: BTreeMap<String, Class>,
    /// The repository (or the platform configuration) declares its storage: it defines or
    /// installs StorageClasses. Only then is a class it does not have a fault; otherwise what
    /// classes the cluster offers is simply unknown.
    pub declares_storage: bool,
}

/// Classes that Kubernetes distributions create themselves (k3s and k3d `local-path`,
/// kind and minikube `standard`, MicroK8s, Docker Desktop, the managed clouds): a repository
/// may use them without defining them.
pub const DISTRIBUTION_CLASSES: [&str; 12] = [
    "local-path",
    "standard",
    "standard-rwo",
    "premium-rwo",
    "hostpath",
    "microk8s-hostpath",
    "gp2",
    "gp3",
    "default",
    "managed-csi",
    "managed-premium",
    "do-block-storage",
];

/// How a provisioner keeps data, from its name and parameters.
fn keeping_of(provisioner: &str, parameters: Option<&Value>) -> Keeping {
    let p = provisioner.to_ascii_lowercase();
    if p == "driver.longhorn.io" {
        let replicas = parameters
            .and_then(|v| v.get("numberOfReplicas"))
            .and_then(number)
            .unwrap_or(3);
        return longhorn(replicas);
    }
    if ["nfs", "smb", "cifs", "truenas", "democratic-csi"]
        .iter()
        .any(|k| p.contains(k))
    {
        return Keeping::Network;
    }
    if [
        "local-path",
        "no-provisioner",
        "local",
        "hostpath",
        "lvm",
        "zfs",
    ]
    .iter()
    .any(|k| p.contains(k))
    {
        return Keeping::Single;
    }
    Keeping::Unknown
}

fn longhorn(replicas: u32) -> Keeping {
    if replicas > 1 {
        Keeping::Replicated(replicas)
    } else {
        Keeping::Single
    }
}

/// A count written as a number or a string (`numberOfReplicas: "2"`).
fn number(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn truthy(v: Option<&Value>, default: bool) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => default,
    }
}

/// Classes a chart's values ask it to create, whatever the chart: `storageClass: {name: X}`
/// (unless `enabled`/`create` is false), `storageClasses: [{name: X}]`, and
/// `storageClasses: {X: {...}}`.
fn defined_in_values(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("storageClass", Value::Object(sc)) => {
                        let on = truthy(sc.get("enabled"), true) && truthy(sc.get("create"), true);
                        if let (true, Some(name)) = (on, sc.get("name").and_then(Value::as_str)) {
                            out.push(name.to_string());
                        }
                    }
                    ("storageClass" | "storageClasses", Value::Array(list)) => {
                        for sc in list {
                            let on =
                                truthy(sc.get("enabled"), true) && truthy(sc.get("create"), true);
                            if let (true, Some(name)) = (on, sc.get("name").and_then(Value::as_str))
                            {
                                out.push(name.to_string());
                            }
                        }
                    }
                    ("storageClasses", Value::Object(by_name)) => {
                        for (name, sc) in by_name {
                            if sc.is_object() && truthy(sc.get("enabled"), true) {
                                out.push(name.clone());
                            }
                        }
                    }
                    _ => {}
                }
                defined_in_values(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| defined_in_values(v, out)),
        _ => {}
    }
}

impl StorageFacts {
    /// Learn the storage facts of `repo` (and of the platform configuration in `settings`).
    pub fn learn(repo: &Repo, settings: &Settings) -> StorageFacts {
        let mut facts = StorageFacts::default();
        for name in &settings.storage_classes {
            facts.add(name, settings.origin(), Keeping::Unknown, false);
        }
        for name in &settings.local_storage_classes {
            facts.add(name, settings.origin(), Keeping::Single, false);
        }
        facts.declares_storage = !facts.classes.is_empty();
        for sc in repo.of_kind("StorageClass") {
            let Some(name) = sc.name() else { continue };
            let keeping = keeping_of(
                sc.value
                    .get("provisioner")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                sc.value.get("parameters"),
            );
            let default =
                sc.annotation("storageclass.kubernetes.io/is-default-class") == Some("true");
            // The repository's own object is the better fact: it replaces a configured name.
            facts.classes.insert(
                name.to_string(),
                Class {
                    name: name.to_string(),
                    origin: format!("StorageClass in {}", repo.relative_path(sc)),
                    keeping,
                    default,
                },
            );
            facts.declares_storage = true;
        }
        for install in installs(repo) {
            let origin = format!("{} chart ({})", install.chart, install.origin(repo));
            let v = &install.values;
            match install.chart.as_str() {
                "longhorn" => {
                    let replicas = v
                        .pointer("/persistence/defaultClassReplicaCount")
                        .and_then(number)
                        .unwrap_or(3);
                    let default = truthy(v.pointer("/persistence/defaultClass"), true);
                    facts.add("longhorn", &origin, longhorn(replicas), default);
                }
                "nfs-subdir-external-provisioner"
                    if truthy(v.pointer("/storageClass/create"), true) =>
                {
                    let name = v
                        .pointer("/storageClass/name")
                        .and_then(Value::as_str)
                        .unwrap_or("nfs-client");
                    let default = truthy(v.pointer("/storageClass/defaultClass"), false);
                    facts.add(name, &origin, Keeping::Network, default);
                }
                "csi-driver-nfs" | "csi-driver-smb"
                    if truthy(v.pointer("/storageClass/create"), false) =>
                {
                    let fallback = if install.chart.ends_with("nfs") {
                        "nfs-csi"
                    } else {
                        "smb-csi"
                    };
                    let name = v
                        .pointer("/storageClass/name")
                        .and_then(Value::as_str)
                        .unwrap_or(fallback);
                    facts.add(name, &origin, Keeping::Network, false);
                }
                "local-path-provisioner" if truthy(v.pointer("/storageClass/create"), true) => {
                    let name = v
                        .pointer("/storageClass/name")
                        .and_then(Value::as_str)
                        .unwrap_or("local-path");
                    facts.add(name, &origin, Keeping::Single, false);
                }
                "openebs" | "localpv-provisioner" => {
                    facts.add("openebs-hostpath", &origin, Keeping::Single, false);
                }
                "rook-ceph-cluster" => {
                    // The chart's default pools, unless the values replace the lists.
                    for (list, name) in [
                        ("cephBlockPools", "ceph-block"),
                        ("cephFileSystems", "ceph-filesystem"),
                        ("cephObjectStores", "ceph-bucket"),
                    ] {
                        if v.get(list).is_none() {
                            facts.add(name, &origin, Keeping::Unknown, false);
                        }
                    }
                }
                _ => {}
            }
            let mut named = Vec::new();
            defined_in_values(v, &mut named);
            for name in named {
                facts.add(&name, &origin, Keeping::Unknown, false);
            }
        }
        // Values files and inline values that no chart installation above reached.
        for doc in repo.documents {
            let mut named = Vec::new();
            defined_in_values(&doc.value, &mut named);
            let origin = format!("chart values in {}", repo.relative_path(doc));
            for name in named {
                facts.add(&name, &origin, Keeping::Unknown, false);
            }
        }
        if !facts.classes.is_empty() {
            facts.declares_storage = true;
        }
        // Static volumes: a claim binds to a PersistentVolume of the same class name, no
        // StorageClass object needed.
        for pv in repo.of_kind("PersistentVolume") {
            if let Some(class) = pv
                .value
                .pointer("/spec/storageClassName")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
            {
                let origin = format!(
                    "PersistentVolume `{}` in {}",
                    pv.name().unwrap_or("?"),
                    repo.relative_path(pv)
                );
                facts.add(class, &origin, Keeping::Static, false);
            }
        }
        facts
    }

    fn add(&mut self, name: &str, origin: &str, keeping: Keeping, default: bool) {
        let entry = self.classes.entry(name.to_string()).or_insert(Class {
            name: name.to_string(),
            origin: origin.to_string(),
            keeping,
            default,
        });
        // A better-known way of keeping data wins over an unknown one.
        if entry.keeping == Keeping::Unknown {
            entry.keeping = keeping;
        }
        entry.default |= default;
    }

    pub fn get(&self, name: &str) -> Option<&Class> {
        self.classes.get(name)
    }

    /// The class a claim without `storageClassName` gets, when the repository marks one.
    pub fn default_class(&self) -> Option<&Class> {
        self.classes.values().find(|c| c.default)
    }

    /// Whether a claim may name `class`: defined, installed, configured, static, or one that
    /// distributions create themselves.
    pub fn knows(&self, class: &str) -> bool {
        self.classes.contains_key(class) || DISTRIBUTION_CLASSES.contains(&class)
    }

    /// `a (StorageClass in x.yaml), b (longhorn chart (y.yaml))`, for messages.
    pub fn describe(&self) -> String {
        self.classes
            .values()
            .map(|c| format!("`{}` ({})", c.name, c.origin))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The known class nearest to a misspelt one, when it is close.
    pub fn nearest(&self, class: &str) -> Option<&str> {
        self.classes
            .keys()
            .map(|k| (strsim(k, class), k))
            .filter(|(d, k)| *d <= 2.max(k.len() / 4))
            .min_by_key(|(d, _)| *d)
            .map(|(_, k)| k.as_str())
    }
}

/// Levenshtein distance (small strings).
fn strsim(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// The class a claim of a workload's volume uses: `Some(name)` from the claim, `None` when
/// the claim is not in the repository.
pub fn claim_classes<'a>(repo: &Repo<'a>) -> BTreeMap<(String, String), ClaimClass> {
    repo.of_kind("PersistentVolumeClaim")
        .filter_map(|d| {
            let key = (
                d.namespace().unwrap_or("default").to_string(),
                d.name()?.to_string(),
            );
            Some((key, ClaimClass::of(d)))
        })
        .collect()
}

/// What a claim asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimClass {
    /// `storageClassName` absent: the cluster's default class.
    Default,
    /// `storageClassName: ""`, or `volumeName` set: a static PersistentVolume.
    Static,
    Named(String),
}

impl ClaimClass {
    /// The class of a PersistentVolumeClaim (or a volume claim template).
    pub fn of(claim: &Document) -> ClaimClass {
        ClaimClass::of_spec(claim.value.get("spec"))
    }

    pub fn of_spec(spec: Option<&Value>) -> ClaimClass {
        let spec = spec.unwrap_or(&Value::Null);
        if spec
            .get("volumeName")
            .and_then(Value::as_str)
            .is_some_and(|v| !v.is_empty())
        {
            return ClaimClass::Static;
        }
        match spec.get("storageClassName") {
            None | Some(Value::Null) => ClaimClass::Default,
            Some(Value::String(s)) if s.is_empty() => ClaimClass::Static,
            Some(Value::String(s)) => ClaimClass::Named(s.clone()),
            Some(_) => ClaimClass::Static,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn provisioners() {
        assert_eq!(
            keeping_of("driver.longhorn.io", None),
            Keeping::Replicated(3)
        );
        assert_eq!(
            keeping_of(
                "driver.longhorn.io",
                Some(&json!({"numberOfReplicas": "1"}))
            ),
            Keeping::Single
        );
        assert_eq!(keeping_of("nfs.csi.k8s.io", None), Keeping::Network);
        assert_eq!(keeping_of("smb.csi.k8s.io", None), Keeping::Network);
        assert_eq!(keeping_of("rancher.io/local-path", None), Keeping::Single);
        assert_eq!(
            keeping_of("kubernetes.io/no-provisioner", None),
            Keeping::Single
        );
        assert_eq!(
            keeping_of("rook-ceph.rbd.csi.ceph.com", None),
            Keeping::Unknown
        );
    }

    #[test]
    fn classes_in_values() {
        let mut out = Vec::new();
        defined_in_values(
            &json!({
                "a": {"storageClass": {"name": "one", "create": true}},
                "b": {"storageClass": {"name": "off", "enabled": false}},
                "storageClasses": [{"name": "two"}, {"name": "three", "create": false}],
                "c": {"storageClasses": {"four": {"fsType": "ext4"}}},
            }),
            &mut out,
        );
        out.sort();
        assert_eq!(out, ["four", "one", "two"]);
    }

    #[test]
    fn nearest_name() {
        let mut facts = StorageFacts::default();
        facts.add("longhorn-homelab", "x", Keeping::Unknown, false);
        facts.add("longhorn-gpu-local", "x", Keeping::Single, false);
        assert_eq!(facts.nearest("longhorn-home"), Some("longhorn-homelab"));
        assert_eq!(facts.nearest("ceph"), None);
    }
}
