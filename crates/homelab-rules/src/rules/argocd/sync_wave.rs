//! # `argocd/sync-wave`: Application without a sync wave, or synced before what it needs
//!
//! ## What it checks
//! 1. Every ArgoCD Application carries an `argocd.argoproj.io/sync-wave` annotation with an
//!    integer value. That is the guide's posture, required on a platform rendered from
//!    `platform.toml`; in any other repository a missing wave is reported only against the
//!    repository's habit (at least two other Applications deployed by the same parent, two
//!    in three of them with a wave); a root Application, applied by hand, needs none.
//! 2. Nothing is synced in an earlier wave than what it needs: a custom resource before the
//!    Application that installs its CRD (or the CRD manifest itself), an object before its
//!    Namespace, a PersistentVolumeClaim before its StorageClass, and a workload before the
//!    SealedSecret it reads (one finding per workload and SealedSecret, at its first
//!    reference, naming the others: there is one wave to move however many env entries read
//!    the secret). An object's wave is its own annotation, else the wave of the
//!    Application that deploys the folder it is in. Inside one Application, Argo CD runs
//!    the phases in turn (PreSync hooks, then the Sync phase, then PostSync hooks: the
//!    `argocd.argoproj.io/hook` annotation, or Helm's `pre-`/`post-install` and `-upgrade`
//!    hooks) and the waves inside each phase, so a PostSync hook in wave 0 comes after a
//!    Sync-phase Secret in wave 7. Hooks that run only on a failure or a deletion, or that
//!    Argo CD skips, are not ordered. Namespaces and CRDs are the exception: Argo CD
//!    creates them before whatever needs them, PreSync hooks included, so only waves
//!    order those. Phases and resource waves order the objects of one Application only:
//!    two Applications are ordered by their own waves (those of one wave sync side by side),
//!    and an object no Application of the repository deploys is not ordered against one an
//!    Application deploys. An Application that syncs with `CreateNamespace=true` has Argo CD
//!    create its destination namespace first, so its objects there need no Namespace
//!    manifest (nor do those of a kustomize base whose overlay, the Application's path,
//!    moves them there), unless the Application deploys that Namespace itself: then Argo
//!    CD leaves it to the manifest, which syncs in its own wave.
//!
//! ## Why
//! The guide orders the platform in waves: -2 namespaces and CRDs, -1 configuration,
//! secrets and storage prerequisites, 0 core services and databases, 1 applications,
//! 2 ingress and monitoring, 3 runners and batch jobs. Without a wave every Application
//! lands in wave 0 at once; with an inversion, ArgoCD applies a ClusterPolicy before Kyverno
//! has installed its CRD, and the sync fails (or hangs retrying) on a fresh cluster.
//!
//! ## Example
//! ```yaml
//! # argocd/applications/infrastructure/kyverno-policies.yaml
//! metadata:
//!   annotations:
//!     argocd.argoproj.io/sync-wave: "-2"   # but Kyverno itself is wave 0
//! ```
//!
//! ## Fix
//! Give every Application the wave of its layer, and move dependants after what they need
//! (policies after Kyverno, PVCs after Longhorn's StorageClasses).

use crate::argo::{
    applications, deployments, is_application, relative_path, sources, wave, AppGraph, Deployment,
};
use crate::workload::sync_wave;
use crate::{finding, Repo, Rule, Settings};
use homelab_diagnostics::{Diagnostic, Severity};
use homelab_manifest::Document;
use homelab_manifest::ResourceExt;
use serde_json::Value;
use std::collections::BTreeMap;

pub struct AppSyncWave;

/// API groups whose CRDs a well-known chart installs.
const CHART_CRD_GROUPS: &[(&str, &[&str])] = &[
    (
        "kyverno",
        &[
            "kyverno.io",
            "policies.kyverno.io",
            "reports.kyverno.io",
            "wgpolicyk8s.io",
        ],
    ),
    ("longhorn", &["longhorn.io"]),
    ("sealed-secrets", &["bitnami.com"]),
    ("gha-runner-scale-set-controller", &["actions.github.com"]),
    ("argo-cd", &["argoproj.io"]),
    ("trivy-operator", &["aquasecurity.github.io"]),
    ("cert-manager", &["cert-manager.io", "acme.cert-manager.io"]),
    ("traefik", &["traefik.io", "traefik.containo.us"]),
    ("traefik-crd", &["traefik.io", "traefik.containo.us"]),
];

struct Waves<'a> {
    /// What each Application deploys, with its wave and the Application.
    dirs: Vec<(Deployment, i64, &'a Document)>,
    /// group -> (wave, provider description, the Application that deploys the provider)
    crd_groups: BTreeMap<String, (Order, String, Option<&'a Document>)>,
}

/// Whether an object at `mine`, deployed by `my_app`, syncs before what it needs at
/// `needed`, deployed by `their_app` (`None`: no Application of the repository deploys it).
/// Inside one sync (one Application, or two objects no Application deploys) the whole order
/// counts: phases and resource waves too. Two Applications are ordered by their own waves
/// only: the resource waves inside one order nothing in the other, and Applications of one
/// wave sync side by side. An object no Application deploys (applied by hand, or by an
/// ApplicationSet's generated Application) is not ordered against one an Application
/// deploys: waves order objects inside one sync, not across them.
fn syncs_before(
    mine: Order,
    my_app: Option<&Document>,
    needed: Order,
    their_app: Option<&Document>,
) -> bool {
    match (my_app, their_app) {
        (Some(a), Some(b)) if std::ptr::eq(a, b) => mine < needed,
        (Some(_), Some(_)) => mine.0 < needed.0,
        (None, None) => mine < needed,
        _ => false,
    }
}

/// Whether Argo CD creates Namespace `ns` for the objects `app` deploys: the Application
/// syncs with `CreateNamespace=true` and `ns` is its destination namespace, which Argo CD
/// creates before anything of the sync, hooks included. An object of a kustomize base lands
/// in the namespace of the kustomization the Application builds when that one sets one (the
/// outermost `namespace:` wins), whatever namespace the base names.
fn creates_namespace(repo: &Repo, app: &Document, ns: &str) -> bool {
    let creates = app
        .value
        .pointer("/spec/syncPolicy/syncOptions")
        .and_then(Value::as_array)
        .is_some_and(|options| {
            options
                .iter()
                .filter_map(Value::as_str)
                .any(|o| o.replace(' ', "") == "CreateNamespace=true")
        });
    let Some(destination) = app
        .value
        .pointer("/spec/destination/namespace")
        .and_then(Value::as_str)
    else {
        return false;
    };
    if !creates {
        return false;
    }
    if ns == destination {
        return true;
    }
    // The namespace the Application's own kustomization gives everything it builds.
    let built_into = deployments(repo, app)
        .iter()
        .filter_map(|d| {
            homelab_manifest::kustomizations::FILE_NAMES
                .iter()
                .find_map(|k| {
                    let file = if d.dir.is_empty() {
                        k.to_string()
                    } else {
                        format!("{}/{k}", d.dir)
                    };
                    repo.documents_at(&file).first().map(|doc| {
                        doc.value
                            .get("namespace")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                })
                .flatten()
        })
        .collect::<Vec<_>>();
    !built_into.is_empty() && built_into.iter().all(|n| n == destination)
}

/// When an object syncs: the wave of the Application that deploys it (which orders it
/// against every other Application), then its phase inside that Application's sync
/// (PreSync -1, Sync 0, PostSync 1), then its own wave inside that phase.
type Order = (i64, i64, i64);

/// The sync phase a hook runs in, from Argo CD's own annotation or the Helm hook Argo CD
/// maps onto it: `Some(-1)` PreSync, `Some(0)` Sync, `Some(1)` PostSync, `None` for hooks
/// that run only when a sync fails or an app is deleted, or that Argo CD skips.
fn phase(doc: &Document) -> Option<i64> {
    let annotations = doc.annotations();
    let get = |key: &str| annotations.and_then(|a| a.get(key)).and_then(Value::as_str);
    let hooks: Vec<String> = match (get("argocd.argoproj.io/hook"), get("helm.sh/hook")) {
        (Some(argo), _) => argo.split(',').map(|h| h.trim().to_string()).collect(),
        (None, Some(helm)) => helm
            .split(',')
            .map(|h| match h.trim() {
                "pre-install" | "pre-upgrade" => "PreSync".to_string(),
                "post-install" | "post-upgrade" => "PostSync".to_string(),
                other => other.to_string(),
            })
            .collect(),
        (None, None) => return Some(0),
    };
    // A hook of several phases runs first in the earliest of them.
    hooks
        .iter()
        .filter_map(|h| match h.as_str() {
            "PreSync" => Some(-1),
            "Sync" => Some(0),
            "PostSync" => Some(1),
            _ => None,
        })
        .min()
}

impl<'a> Waves<'a> {
    fn of(&self, repo: &Repo, doc: &Document) -> Option<Order> {
        let phase = phase(doc)?;
        let own = match sync_wave(doc) {
            Some(Ok(w)) => Some(w),
            _ => None,
        };
        match (self.app_wave(repo, doc), own) {
            (Some(app), own) => Some((app, phase, own.unwrap_or(0))),
            // No Application of the repository deploys it: its own wave orders it, and a
            // hook comes before (PreSync) or after (PostSync) every wave of the Sync phase.
            (None, Some(own)) => Some(match phase {
                -1 => (i64::MIN, phase, own),
                1 => (i64::MAX, phase, own),
                _ => (own, 0, 0),
            }),
            (None, None) => None,
        }
    }

    /// The order that ignores hook phases: Argo CD creates a Namespace or a CRD before the
    /// objects that need them, even PreSync hooks, so only the waves order those.
    fn plain(&self, repo: &Repo, doc: &Document) -> Option<Order> {
        let own = match sync_wave(doc) {
            Some(Ok(w)) => Some(w),
            _ => None,
        };
        match (self.app_wave(repo, doc), own) {
            (Some(app), own) => Some((app, 0, own.unwrap_or(0))),
            (None, Some(own)) => Some((own, 0, 0)),
            (None, None) => None,
        }
    }

    fn app_wave(&self, repo: &Repo, doc: &Document) -> Option<i64> {
        self.app_of(repo, doc).map(|(w, _)| w)
    }

    /// Whether `app` deploys a Namespace named `ns` itself. Argo CD then does not create it
    /// for `CreateNamespace=true` (it leaves the namespace to that manifest), and the
    /// Namespace syncs in its own wave like any object of the Application.
    fn deploys_namespace(&self, repo: &Repo, app: &Document, ns: &str) -> bool {
        repo.of_kind("Namespace").any(|n| {
            n.name() == Some(ns)
                && self
                    .app_of(repo, n)
                    .is_some_and(|(_, owner)| std::ptr::eq(owner, app))
        })
    }

    /// The Application that deploys `doc` (the most specific folder wins), with its wave.
    fn app_of(&self, repo: &Repo, doc: &Document) -> Option<(i64, &'a Document)> {
        let file = relative_path(repo, doc);
        self.dirs
            .iter()
            .filter(|(d, _, _)| d.contains(&file))
            .max_by_key(|(d, ..)| d.dir.len())
            .map(|(_, w, app)| (*w, *app))
    }
}

fn show(order: Order) -> String {
    let phase = match order.1 {
        -1 => " (PreSync hook)",
        1 => " (PostSync hook)",
        _ => "",
    };
    if order.0 == i64::MIN || order.0 == i64::MAX {
        format!("wave {}{phase}", order.2)
    } else if order.2 == 0 {
        format!("wave {}{phase}", order.0)
    } else {
        format!("wave {} (resource wave {}){phase}", order.0, order.2)
    }
}

impl Rule for AppSyncWave {
    fn id(&self) -> &'static str {
        "argocd/sync-wave"
    }
    fn severity(&self) -> Severity {
        Severity::Error
    }
    fn summary(&self) -> &'static str {
        "Application without a sync wave, or synced in a wave before what it needs"
    }
    fn check(&self, repo: &Repo, settings: &Settings) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let mut waves = Waves {
            dirs: Vec::new(),
            crd_groups: BTreeMap::new(),
        };
        let graph = AppGraph::of(repo);
        // The repository's habit: whether the siblings of an Application carry waves.
        let expects_wave = |app: &Document| -> bool {
            if settings.guide_expectations() {
                return true;
            }
            let Some(me) = graph.nodes.iter().position(|n| std::ptr::eq(*n, app)) else {
                return false;
            };
            graph.parents[me].iter().any(|p| {
                let siblings: Vec<usize> = graph.children[*p]
                    .iter()
                    .copied()
                    .filter(|s| *s != me && is_application(graph.nodes[*s]))
                    .collect();
                let with_wave = siblings
                    .iter()
                    .filter(|s| sync_wave(graph.nodes[**s]).is_some())
                    .count();
                siblings.len() >= 2 && with_wave * 3 >= siblings.len() * 2
            })
        };
        for app in applications(repo) {
            let name = app.name().unwrap_or("?");
            match sync_wave(app) {
                None if !expects_wave(app) => {}
                None => out.push(
                    finding(
                        self,
                        app,
                        "/metadata",
                        format!("Application `{name}` has no argocd.argoproj.io/sync-wave annotation"),
                        "annotate it with the wave of its layer: -2 namespaces/CRDs, -1 config/secrets/storage, 0 core services, 1 applications, 2 ingress/monitoring, 3 runners/batch",
                    )
                    .relying_on([if settings.guide_expectations() {
                        settings.posture_fact()
                    } else {
                        "the repository's habit: at least two thirds of the Applications beside it carry a sync wave".to_string()
                    }]),
                ),
                Some(Err(raw)) => out.push(finding(
                    self,
                    app,
                    "/metadata/annotations/argocd.argoproj.io~1sync-wave",
                    format!("Application `{name}` sync-wave `{raw}` is not an integer"),
                    "use a quoted integer such as \"-1\"",
                )),
                Some(Ok(_)) => {}
            }
            let w = wave(app);
            for deployment in deployments(repo, app) {
                waves.dirs.push((deployment, w, app));
            }
            for s in sources(app) {
                if let Some(chart) = s.str("chart") {
                    for (c, groups) in CHART_CRD_GROUPS {
                        if *c == chart {
                            for g in *groups {
                                let provider = (
                                    (w, 0, 0),
                                    format!("Application `{name}` (chart {chart})"),
                                    Some(app),
                                );
                                let entry = waves
                                    .crd_groups
                                    .entry(g.to_string())
                                    .or_insert(provider.clone());
                                if provider.0 < entry.0 {
                                    *entry = provider;
                                }
                            }
                        }
                    }
                }
            }
        }
        // CRD manifests in the repository.
        for crd in repo.of_kind("CustomResourceDefinition") {
            if let (Some(group), Some(w)) = (
                crd.value.pointer("/spec/group").and_then(Value::as_str),
                waves.plain(repo, crd),
            ) {
                let provider = (
                    w,
                    format!("CRD `{}`", crd.name().unwrap_or("?")),
                    waves.app_of(repo, crd).map(|(_, a)| a),
                );
                let entry = waves
                    .crd_groups
                    .entry(group.to_string())
                    .or_insert(provider.clone());
                if w < entry.0 {
                    *entry = provider;
                }
            }
        }
        // What each object needs is found with the Application that deploys it.
        type Needed<'d> = (Order, Option<&'d Document>);
        let named_wave = |kind: &'static str, phased: bool| -> BTreeMap<(String, String), Needed> {
            repo.of_kind(kind)
                .filter_map(|d| {
                    Some((
                        (
                            d.namespace().unwrap_or("").to_string(),
                            d.name()?.to_string(),
                        ),
                        (
                            if phased {
                                waves.of(repo, d)?
                            } else {
                                waves.plain(repo, d)?
                            },
                            waves.app_of(repo, d).map(|(_, a)| a),
                        ),
                    ))
                })
                .collect()
        };
        // A Namespace may be written in several deploy units (one per stack or cluster):
        // each object needs the one applied with it.
        let mut namespaces: BTreeMap<String, Vec<(Order, &Document)>> = BTreeMap::new();
        for d in repo.of_kind("Namespace") {
            if let (Some(name), Some(order)) = (d.name(), waves.plain(repo, d)) {
                namespaces
                    .entry(name.to_string())
                    .or_default()
                    .push((order, d));
            }
        }
        // The Namespace `ns` that `doc` needs: the one in its file, else one the same
        // Application deploys, else the earliest anywhere (another unit that creates it).
        let namespace_for = |doc: &Document, ns: &str| -> Option<Needed> {
            let candidates = namespaces.get(ns)?;
            let same_file = |d: &Document| d.source.name == doc.source.name;
            let app = waves.app_of(repo, doc).map(|(_, a)| a);
            let same_app = |d: &Document| match (app, waves.app_of(repo, d)) {
                (Some(mine), Some((_, theirs))) => std::ptr::eq(mine, theirs),
                _ => false,
            };
            let earliest = |pick: &dyn Fn(&Document) -> bool| {
                candidates
                    .iter()
                    .filter(|(_, d)| pick(d))
                    .min_by_key(|(o, _)| *o)
                    .map(|(o, d)| (*o, waves.app_of(repo, d).map(|(_, a)| a)))
            };
            // An object no known Application deploys (its own wave is all there is: an
            // ApplicationSet's generated Application, a folder applied by hand) is not
            // ordered against a Namespace that one deploys, nor the other way round: waves
            // order objects inside one sync, not across them.
            let same_footing = |d: &Document| app.is_some() == waves.app_of(repo, d).is_some();
            earliest(&same_file)
                .or_else(|| earliest(&same_app))
                .or_else(|| earliest(&same_footing))
        };
        let classes = named_wave("StorageClass", true);
        let sealed = named_wave("SealedSecret", true);
        let mut reported = std::collections::BTreeSet::new();

        for doc in repo.objects() {
            // ArgoCD's own objects (Applications, AppProjects) are applied by the running
            // ArgoCD, whose CRDs and namespace exist before any sync (bootstrap).
            if doc.group() == "argoproj.io" {
                continue;
            }
            let phased = waves.of(repo, doc);
            let Some(plain) = waves.plain(repo, doc) else {
                continue;
            };
            let what = doc.id();
            let my_app = waves.app_of(repo, doc).map(|(_, app)| app);
            // An object without its own wave is ordered by its Application: an inversion
            // is then the Application's, reported once at its sync-wave annotation.
            let inherited = match sync_wave(doc) {
                Some(Ok(_)) => None,
                // A hook is ordered by its phase too: its own finding says so.
                _ if phase(doc) != Some(0) => None,
                _ => waves.app_of(repo, doc).map(|(_, app)| app),
            };
            // `detail` completes the object's own finding (the other places it needs it).
            let mut need = |mine: Option<Order>,
                            pointer: &str,
                            needed: Option<&Needed>,
                            what_needed: String,
                            detail: &str| {
                let (Some(w), Some((n, their_app))) = (mine, needed) else {
                    return;
                };
                if !syncs_before(w, my_app, *n, *their_app) {
                    return;
                }
                let help = format!(
                    "move it to wave {} or later, or move {what_needed} earlier",
                    n.0
                );
                match inherited {
                    Some(app) => {
                        let app_name = app.name().unwrap_or("?");
                        let message = format!(
                            "Application `{app_name}` ({}) deploys {} objects that need {what_needed} ({}), which syncs later",
                            show((w.0, 0, 0)),
                            if doc.group().is_empty() { "core" } else { doc.group() },
                            show(*n)
                        );
                        if reported.insert((app_name.to_string(), what_needed.clone())) {
                            out.push(finding(
                                self,
                                app,
                                "/metadata/annotations/argocd.argoproj.io~1sync-wave",
                                message,
                                help,
                            ));
                        }
                    }
                    None => out.push(finding(
                        self,
                        doc,
                        pointer,
                        format!(
                            "{what} syncs in {}, before {what_needed} ({}){detail}",
                            show(w),
                            show(*n)
                        ),
                        help,
                    )),
                }
            };
            let group = doc.group();
            if group.contains('.') && !group.ends_with(".k8s.io") {
                if let Some((n, provider, their_app)) = waves.crd_groups.get(group) {
                    need(
                        Some(plain),
                        "/apiVersion",
                        Some(&(*n, *their_app)),
                        format!("the CRD of `{group}` from {provider}"),
                        "",
                    );
                }
            }
            if let Some(ns) = doc.namespace().filter(|ns| {
                !my_app.is_some_and(|app| {
                    creates_namespace(repo, app, ns) && !waves.deploys_namespace(repo, app, ns)
                })
            }) {
                need(
                    Some(plain),
                    "/metadata/namespace",
                    namespace_for(doc, ns).as_ref(),
                    format!("Namespace `{ns}`"),
                    "",
                );
            }
            if doc.kind() == Some("PersistentVolumeClaim") {
                if let Some(class) = doc
                    .value
                    .pointer("/spec/storageClassName")
                    .and_then(Value::as_str)
                {
                    need(
                        phased,
                        "/spec/storageClassName",
                        classes.get(&(String::new(), class.to_string())),
                        format!("StorageClass `{class}`"),
                        "",
                    );
                }
            }
            if let Some(pod) = doc.pod_spec() {
                let ns = doc.namespace().unwrap_or("default").to_string();
                // One finding per SealedSecret the workload reads, at its first reference,
                // naming the others: one wave to move, however many env entries read it.
                let mut by_secret: Vec<(String, Vec<SecretRef>)> = Vec::new();
                for r in secret_refs(pod.spec, pod.pointer) {
                    match by_secret.iter_mut().find(|(s, _)| *s == r.secret) {
                        Some((_, refs)) => refs.push(r),
                        None => by_secret.push((r.secret.clone(), vec![r])),
                    }
                }
                for (secret, refs) in by_secret {
                    let detail = if refs.len() > 1 {
                        format!(
                            "; it reads it in {} places ({}), the first here",
                            refs.len(),
                            places(&refs)
                        )
                    } else {
                        String::new()
                    };
                    need(
                        phased,
                        &refs[0].pointer,
                        sealed.get(&(ns.clone(), secret.clone())),
                        format!("SealedSecret `{ns}/{secret}`"),
                        &detail,
                    );
                }
            }
        }
        out
    }
}

/// One place of a pod spec that reads a Secret.
struct SecretRef {
    pointer: String,
    secret: String,
    /// The container that reads it (`None` for a volume).
    container: Option<String>,
    /// What reads it: ``env `DB_PASSWORD` ``, `envFrom`, ``volume `certs` ``.
    what: String,
}

/// The places of [`SecretRef`]s, container by container, at most a few
/// (``container `app`: env `A`, env `B`; volume `certs` ``).
fn places(refs: &[SecretRef]) -> String {
    const SHOWN: usize = 8;
    let mut groups: Vec<(Option<&str>, Vec<&str>)> = Vec::new();
    for r in refs.iter().take(SHOWN) {
        let owner = r.container.as_deref();
        match groups.last_mut() {
            Some((o, items)) if *o == owner => items.push(&r.what),
            _ => groups.push((owner, vec![&r.what])),
        }
    }
    let mut text = groups
        .iter()
        .map(|(owner, items)| match owner {
            Some(c) => format!("container `{c}`: {}", items.join(", ")),
            None => items.join(", "),
        })
        .collect::<Vec<_>>()
        .join("; ");
    if refs.len() > SHOWN {
        text.push_str(&format!(" and {} more", refs.len() - SHOWN));
    }
    text
}

/// Secret names a pod spec reads (volumes, env, envFrom), with pointers and places.
fn secret_refs(spec: &Value, base: &str) -> Vec<SecretRef> {
    let mut out = Vec::new();
    let name_of = |v: &Value| {
        v.get("name")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string()
    };
    if let Some(vols) = spec.get("volumes").and_then(Value::as_array) {
        for (i, v) in vols.iter().enumerate() {
            if let Some(name) = v.pointer("/secret/secretName").and_then(Value::as_str) {
                out.push(SecretRef {
                    pointer: format!("{base}/volumes/{i}/secret/secretName"),
                    secret: name.to_string(),
                    container: None,
                    what: format!("volume `{}`", name_of(v)),
                });
            }
        }
    }
    for field in ["containers", "initContainers"] {
        let Some(list) = spec.get(field).and_then(Value::as_array) else {
            continue;
        };
        for (i, c) in list.iter().enumerate() {
            if let Some(env) = c.get("env").and_then(Value::as_array) {
                for (j, e) in env.iter().enumerate() {
                    if let Some(name) = e
                        .pointer("/valueFrom/secretKeyRef/name")
                        .and_then(Value::as_str)
                    {
                        out.push(SecretRef {
                            pointer: format!(
                                "{base}/{field}/{i}/env/{j}/valueFrom/secretKeyRef/name"
                            ),
                            secret: name.to_string(),
                            container: Some(name_of(c)),
                            what: format!("env `{}`", name_of(e)),
                        });
                    }
                }
            }
            if let Some(env) = c.get("envFrom").and_then(Value::as_array) {
                for (j, e) in env.iter().enumerate() {
                    if let Some(name) = e.pointer("/secretRef/name").and_then(Value::as_str) {
                        out.push(SecretRef {
                            pointer: format!("{base}/{field}/{i}/envFrom/{j}/secretRef/name"),
                            secret: name.to_string(),
                            container: Some(name_of(c)),
                            what: "envFrom".to_string(),
                        });
                    }
                }
            }
        }
    }
    out
}
