//! What the repository's deploy graph applies, and the files it leaves out.
//!
//! Findings about an object (schemas, policies, platform rules) assume the object is applied
//! to a cluster. In a repository whose files are applied through kustomizations, Argo CD
//! Applications and ApplicationSets, Flux Kustomizations or a FluxInstance, a file that none
//! of them reaches is not applied: a leftover patch beside a kustomization that does not
//! list it, a Flux Kustomization switched off by commenting out its line, an `.archive/`
//! folder. Judging such a file as an object to apply gives false findings, so the pipeline
//! sets them aside as notes (`load/not-applied`), saying which fact it relied on.
//!
//! A file is left out only on positive evidence, one of:
//! - its folder holds a kustomization, which does not list it (kustomize builds only what a
//!   kustomization names; Flux and Argo CD use the kustomization when there is one);
//! - its folder has no kustomization, and a kustomization lists other files of that folder
//!   one by one (patches, resources), not this one;
//! - it is reached only through an entry that a kustomization lists in a comment
//!   (`# - ../../base/app/ks.yaml`): switched off on purpose;
//! - the repository has a GitOps engine (Argo CD or Flux objects) and the file lies in a
//!   hidden folder (`.archive/`) that no engine or kustomization path reaches, or in a
//!   folder named as a backup copy (`definitions.bak/`) or as an archive (`archive/`,
//!   `deprecated/`), whatever its engine objects name;
//! - its folder has no kustomization, and the nearest folder above it that has one is
//!   applied by Argo CD or Flux and does not reach it: a Flux Kustomization left in a base
//!   tree without a line in any kustomization. Only while every engine path of the
//!   repository leads to a folder here (one that does not may name this folder);
//! - it lies under the folder that a Flux path of this repository's own Git source names
//!   only from a subfolder, while the checked folder is known to be the repository's root
//!   (it holds `.git`, or a Flux sync of this repository applies itself with a path taken
//!   from here): Flux resolves a Git source's path from the repository's root, so an old
//!   tree kept under `archive/` with paths like `./cluster/apps` is never applied through
//!   them (a subfolder that holds `.git` of its own, a submodule, is the root of its files);
//! - the repository has a GitOps engine and the file is reached only through a kustomize
//!   Component (`kind: Component`) that no kustomization lists under `components` (a
//!   Component is written to be included in overlays; Kyverno policies kept in one that
//!   nothing includes enforce nothing). Off when an engine path the graph cannot follow may
//!   name its folder;
//! - the repository has a GitOps engine and the file is reached only through a
//!   kustomization under a folder named `base` or `bases` that no kustomization lists and
//!   no engine object applies, while overlays outside that folder build other bases of it:
//!   a base is written to be built by overlays, and an app removed from every cluster
//!   leaves its base behind (where no overlay builds any base of the folder, its bases are
//!   applied directly). Off when an engine path the graph cannot follow may name its
//!   folder;
//! - it is a kubeadm patch: named after the component it patches
//!   (`kube-controller-manager.yaml`, `etcd+json.yaml`), holding only static Pods, in a
//!   repository whose kubeadm or kind configuration sets a `patches` `directory` (kubeadm
//!   merges it: noted as `load/kubeadm-patch`);
//!
//! and in every case nothing else in the repository reaches it. Evidence that the file is
//! applied by hand outweighs the folder-based kinds (not a comment, which says "off"): an
//! Application or Flux Kustomization that applies something of the repository (the root
//! app-of-apps; under an applied tree, only an Application: Flux's root applies itself from
//! the sync path), or a file another text of the repository names (`kubectl apply -f
//! bootstrap/root.yaml` in a script, a task file, a README; a file name no other file has
//! counts on its own, and under an applied tree so does the folder). Files without such evidence
//! (plain folders applied by hand with `kubectl apply -f`, bootstrap files, the root
//! Application) are applied as far as this can tell, and judged in full.
//!
//! A file applied as a patch of a live object (`kubectl patch --patch-file` in a script, see
//! [`homelab_manifest::Document::partial`]) is used, not left out: only the findings that need
//! the whole object are set aside (`load/partial-object`), the checks of the fields it sets
//! stay.

use crate::argo::{deployments, is_foreign, normalise_dir, source_dir, sources};
use crate::repo::{join, parent, repository_address};
use crate::Repo;
use homelab_diagnostics::{Diagnostic, Location, RuleDoc, Severity};
use homelab_manifest::kustomizations::{is_remote, FILE_NAMES};
use homelab_manifest::{Class, Document, ResourceExt};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The documentation of the `load/not-applied` note and of the findings it sets aside.
pub static RULE_DOC: RuleDoc = RuleDoc {
    id: "load/not-applied",
    severity: Severity::Note,
    summary: "Files that nothing in the repository applies (findings on them set aside as notes)",
    doc: "# `load/not-applied`: files nothing in the repository applies\n\n## What it checks\nThe repository's deploy graph: kustomizations (`resources`, `components`, patches, generators), Argo CD Applications and ApplicationSets, Flux Kustomizations and a FluxInstance's `sync.path`. A file holding objects is *not applied* when nothing in the repository reaches it and there is positive evidence that it is left out: its folder has a kustomization that does not list it; or its folder has none and a kustomization lists other files of the folder one by one (patches), not this one; or it is reached only through an entry a kustomization lists in a comment (`# - app/ks.yaml`, switched off on purpose); or the repository is managed by Argo CD or Flux and the file lies in a hidden folder (`.archive/`) or in a folder named as a backup copy (`definitions.bak/`, `apps.old/`, `base.orig/`: the live copy is the one without the suffix, and a backup's Flux Kustomizations and Applications, copies of the live ones, apply nothing) or as an archive (`archive/`, `_archived/`, `DEPRECATED/`: where retired apps are moved, their Flux Kustomizations and Argo CD Applications with them), with what only such a folder reaches; or the repository is managed by Argo CD or Flux and the file is reached only through a kustomize Component (`kind: Component`) that no kustomization lists under `components` (a Component is a set of changes written to be included in overlays: Kyverno policies kept in one that nothing includes enforce nothing, and are not applied to the repository's objects either); or the repository is managed by Argo CD or Flux and the file is reached only through a kustomization under a folder named `base` or `bases` that no kustomization lists and no Argo CD or Flux object applies, while overlays outside that folder build other bases of it (a base is written to be built by overlays: an app removed from every cluster leaves its base behind; where no overlay builds any base of the folder, its bases are applied directly and this is off); or its folder has no kustomization and the nearest folder above it that has one is applied by Argo CD or Flux and does not reach it (kustomize builds only what a kustomization lists: `apps/base/security/falco/ks.yaml` when `apps/base/security/kustomization.yaml`, applied by the cluster's Flux Kustomization, lists only `namespace.yaml`) — this one only while every Argo CD and Flux path of the repository leads to a folder here (a path made of variables, such as `./apps/${APP}`, may name any folder, and then it is off); or it lies under the folder that a Flux path of this repository's own Git source names only from a subfolder, while the checked folder is known to be the repository's root (it holds `.git`, or a Flux sync of this repository applies itself with a path taken from here): Flux resolves a Git source's path from the root, so an old tree kept under `archive/` whose Kustomizations name `./cluster/apps` is never applied through them (checked on its own, such a subfolder is judged in full, and so is the whole repository when its root is not known). Except for the comment, evidence of a file applied by hand wins: an Application (or, except in the last two cases, a Flux Kustomization) that applies files of the repository (the root app-of-apps beside the kustomization that installs Argo CD), or a file that a script, task file or README of the repository (not a change log, which names every file a change touched, retired ones too) names by folder and name (`kubectl apply -f bootstrap/root.yaml`), by a name no other file has (`envsubst < \"$DIR/WipeJob.tmpl.yaml\"`) or, under an applied kustomization tree, by its folder. kubeadm patches are noted as `load/kubeadm-patch` instead. Such a file gets one note, and the findings that judge it as an object to apply (`schema/*`, `policy/*`, the platform rules) become notes that say why (with `relied on: ...`). Findings that matter wherever the file is stay as they are: YAML syntax (`yaml/*`), secrets in git (`secrets/*`, `sops/*`), `argocd/unreachable` (except for an Application in an archive or backup folder, retired on purpose). Files with no such evidence (a plain folder applied by hand with `kubectl apply -f`, the bootstrap folder, the root Application) are judged in full.\n\n## Why\nA leftover patch file or a Flux Kustomization commented out of its overlay is never applied: failing it for missing `interval` or `selector` is a false finding.\n\n## Example\n`apps/base/tetragon/ks.yaml` while `apps/overlays/prod/kustomization.yaml` has `# - ../../base/tetragon/ks.yaml`.\n\n## Fix\nNothing to fix. If you apply the file by hand, list it in a kustomization (or move it to a folder without one) and it is judged again; delete files that are no longer used.",
};

/// The documentation of the `load/kubeadm-patch` note.
pub static KUBEADM_PATCH_RULE_DOC: RuleDoc = RuleDoc {
    id: "load/kubeadm-patch",
    severity: Severity::Note,
    summary: "kubeadm patch files: merged into a static Pod by kubeadm, not applied as objects",
    doc: "# `load/kubeadm-patch`: kubeadm patch files\n\n## What it checks\nFiles named after the control-plane component they patch (`kube-apiserver`, `kube-controller-manager`, `kube-scheduler`, `etcd`, `kubeletconfiguration`, with an optional suffix and `+strategic`, `+merge` or `+json` before `.yaml`/`.json`), holding only Pods (or a KubeletConfiguration), in a repository whose kubeadm or kind configuration sets a patches `directory`, and that nothing in the repository applies otherwise.\n\n## Why\nkubeadm reads such a file when it writes the component's static Pod manifest and merges it into that Pod: it is a partial Pod, used by kubeadm and never applied with kubectl. Judging it as a whole object (missing containers' fields, `:latest` of a placeholder image) gives false findings, so the findings that judge an object to apply become notes that say so; YAML and secrets findings stay as they are.\n\n## Example\n`e2e/kind/patches/kube-controller-manager.yaml` beside a kind configuration with `kubeadmConfigPatches: [{kind: ClusterConfiguration, patches: {directory: /patches}}]`.\n\n## Fix\nNothing to fix. A file with such a name that you do apply with kubectl: move it out of the patches directory (or rename it), and it is judged in full.",
};

/// The documentation of the `load/partial-object` note.
pub static PARTIAL_RULE_DOC: RuleDoc = RuleDoc {
    id: "load/partial-object",
    severity: Severity::Note,
    summary: "Files applied as patches (`kubectl patch --patch-file`, `kustomize edit add patch` in a build step): fields checked, whole-object checks set aside",
    doc: "# `load/partial-object`: files applied as patches\n\n## What it checks\nA file that a script, Makefile, task file, CI workflow or README of the repository applies with `kubectl patch` (`--patch-file FILE`, `-p @FILE`, `-p \"$(cat FILE)\"`) or adds to a kustomization at build time with `kustomize edit add patch --path FILE` (a bare name after a `cd`: the one file of the repository with that name) or lists in the `patchesStrategicMerge` of a kustomization that a Terraform configuration writes (`file(\"${path.module}/kustomize/x.yaml\")`), that no kustomization or Flux Kustomization applies whole and that is no kustomize patch. A file in a folder named `patches` that nothing applies whole (no kustomization, Flux Kustomization, kustomize patch list or `kubectl patch` names it) is taken as such a patch by the folder's name: a bootstrap script merges it with `yq`, a tool reads the folder (evidence that the file is not applied at all, or is a kubeadm patch, wins). The command is found by reading the text (nothing is run); its path is taken relative to the text's folder or the repository's root, and only a file of the repository counts. Such a file holds the fields the patch sets on a live object (often one the repository does not hold, such as a Deployment of an installed Argo CD), not the whole object. What the patch writes lands in the cluster, so the checks of the fields it sets stay: `image/latest-tag`, every `schema/*` check of a value it sets (types, unknown fields, enums, patterns), secrets and YAML. The checks that need the whole object become notes that say so: `schema/required` (the live object has the fields the patch leaves out) and the platform and policy rules (`resources/*`, `pss/*`, `network/*`, `storage/*`, `gpu/*`, `argocd/duplicate-name`, `argocd/sync-wave`, `policy/*`, ...), which judge absent fields, relations between fields or the object's identity and wave, all of which belong to the live object. The file gets one note naming the command's place and what was set aside.\n\n## Why\n`kubectl -n argocd patch deployment/argocd-repo-server --patch-file cmp-patch.yaml` adds a sidecar: failing the file for a missing `spec.selector` is false, while its sidecar's `image: alpine` (no tag) really runs.\n\n## Example\n`cmp/manifests/repo-server-patch.yaml`, named by `kubectl patch ... --patch-file manifests/repo-server-patch.yaml` in `cmp/README.md`.\n\n## Fix\nNothing to fix for the note; fix the findings on the fields the patch sets. If the file is in fact applied whole, apply it from a kustomization (or with `kubectl apply`) and it is judged in full.",
};

/// The documentation of the `load/completed-elsewhere` note.
pub static COMPLETED_ELSEWHERE_RULE_DOC: RuleDoc = RuleDoc {
    id: "load/completed-elsewhere",
    severity: Severity::Note,
    summary: "Objects completed where the repository cannot see (a patch it does not hold, a template's copies): required fields not judged",
    doc: "# `load/completed-elsewhere`: objects completed where the repository cannot see\n\n## What it checks\nTwo kinds of objects get the fields they lack from something the repository does not hold. (1) A kustomization lists a patch file (`patches`, `patchesStrategicMerge`, `patchesJson6902`) that is not in the repository, typically kept out of git on purpose (a gitignored `env/` folder of per-site values: endpoints, buckets, hostnames): the objects of its build that the patch may target (those its `target` selects, or all of them when it has none). (2) A template: an object named by a `${VAR}` that no Flux Kustomization of the repository substitutes (`name: ${APP}-app` in a folder a task copies to start a new app), whose copies are completed by the build they land in (a cluster's Flux patches give every Kustomization its `interval` and `sourceRef`). Such objects are still judged, except for `schema/required`: a required field missing from the file may be set there. The file gets one note saying why and what was set aside.\n\n## Why\nAn `ObjectStore` whose `destinationPath` comes from `env/patch-object-store.yaml`, which every user writes for their own bucket, is complete once kustomize builds it; failing the file for the missing field is false, while its image, its secrets and its other fields are checked as usual.\n\n## Example\n`backups/kustomization.yaml` with `patches: [{path: ./env/patch-object-store.yaml}]`, and `env/` in `.gitignore`; `templates/new-app/ks.yaml` with `name: ${APPNAME}-app`.\n\n## Fix\nNothing to fix for the note. If the patch file should be in the repository, commit it and the build is judged in full.",
};

/// Rules that judge one field an object sets, on its own: on a partial object they judge
/// what the patch writes into the live object, so they stay.
const FIELD_RULES: [&str; 2] = ["image/latest-tag", "schema/"];

/// Field rules that still need the whole object: a required field may be in the live object.
const WHOLE_OBJECT_FIELD_RULES: [&str; 1] = ["schema/required"];

/// Rules whose findings stay as they are on a file nothing applies: they judge the file in
/// git, not an object on a cluster.
const KEPT: [&str; 6] = [
    "yaml/",
    "load/",
    "secrets/",
    "sops/",
    "check/",
    "argocd/unreachable",
];

/// A file that nothing in the repository applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotApplied {
    /// The file's name as its findings locate it (the source name).
    pub file: String,
    /// The fact the judgement relied on.
    pub why: String,
    /// Why it is set aside.
    pub kind: SetAside,
}

/// Why the findings on a file are set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetAside {
    /// Nothing applies it (`load/not-applied`): every finding that judges an object to apply.
    NotApplied,
    /// A kubeadm patch: kubeadm merges it into a static Pod (it is used, not applied as an
    /// object), noted as `load/kubeadm-patch`.
    KubeadmPatch,
    /// Applied as a patch to a live object (`load/partial-object`): only the findings that
    /// need the whole object.
    Partial,
    /// Completed where the repository cannot see (`load/completed-elsewhere`): only the
    /// required-field findings, which that may answer.
    CompletedElsewhere,
}

impl SetAside {
    /// Whether a finding of `rule` is set aside on such a file.
    fn sets_aside(self, rule: &str) -> bool {
        if KEPT.iter().any(|k| rule.starts_with(k)) {
            return false;
        }
        match self {
            SetAside::NotApplied | SetAside::KubeadmPatch => true,
            SetAside::Partial => {
                WHOLE_OBJECT_FIELD_RULES.iter().any(|k| rule.starts_with(k))
                    || !FIELD_RULES.iter().any(|k| rule.starts_with(k))
            }
            SetAside::CompletedElsewhere => {
                WHOLE_OBJECT_FIELD_RULES.iter().any(|k| rule.starts_with(k))
            }
        }
    }
}

/// The files of the repository with an object of which `fact` says something (the first
/// object's word per file), each set aside as `kind` with `why` made of that word: files
/// applied as patches to live objects ([`homelab_manifest::Document::partial`]) and files
/// of objects completed where the repository cannot see
/// ([`homelab_manifest::Document::completed_elsewhere`]).
fn engine_facts<'r>(
    repo: &'r Repo,
    fact: impl Fn(&'r Document) -> Option<&'r str>,
    kind: SetAside,
    why: impl Fn(&str) -> String,
) -> Vec<NotApplied> {
    let mut out: BTreeMap<&str, &str> = BTreeMap::new();
    for doc in repo.objects() {
        if let Some(said) = fact(doc) {
            out.entry(doc.source.name.as_str()).or_insert(said);
        }
    }
    out.into_iter()
        .map(|(file, said)| NotApplied {
            file: file.to_string(),
            why: why(said),
            kind,
        })
        .collect()
}

/// A file that may be left out, with the evidence.
struct Candidate {
    why: String,
    evidence: Evidence,
}

/// Why a file may be left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Evidence {
    /// Reached from an entry a kustomization lists in a comment: switched off on purpose
    /// (no other evidence outweighs it).
    SwitchedOff,
    /// Its folder's kustomization does not list it.
    SameFolder,
    /// Its folder has no kustomization, a kustomization lists other files of the folder one
    /// by one, not this one.
    Siblings,
    /// In a hidden folder of a repository an engine applies.
    Hidden,
    /// In a folder named as a backup copy (`definitions.bak/`, `apps.old/`) of a repository
    /// an engine applies.
    Backup,
    /// A kubeadm patch (`kube-controller-manager.yaml` in the patches directory a kubeadm or
    /// kind configuration of the repository names): kubeadm merges it into a static Pod.
    KubeadmPatch,
    /// Its folder has no kustomization; the nearest folder above it that has one is applied
    /// by Argo CD or Flux, and that kustomization does not reach it.
    UnderApplied,
    /// Reached only through a kustomize Component that no kustomization lists under
    /// `components` (a Component exists to be included; nothing includes this one).
    UnusedComponent,
    /// Reached only through a kustomization in a `base` folder that no kustomization lists
    /// and no engine applies (a base exists to be built by overlays; nothing builds this
    /// one).
    UnusedBase,
    /// Reached only through a Flux path of this repository's Git source that names no folder
    /// from the repository's root, only one from a subfolder (an old tree kept under
    /// `archive/`).
    MissingFromRoot,
}

/// One file of the repository as the graph sees it.
struct File<'a> {
    /// The source name (for findings).
    name: &'a str,
    /// Documents of the file.
    docs: Vec<&'a Document>,
}

impl File<'_> {
    fn has_objects(&self) -> bool {
        self.docs.iter().any(|d| d.class == Class::Object)
    }
}

fn is_kustomization_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    FILE_NAMES.contains(&name)
}

/// Whether a kustomization document is one kustomize builds (a map with at least one of the
/// fields that name files), rather than a template or an empty file.
fn is_real_kustomization(doc: &Document) -> bool {
    doc.value.as_object().is_some_and(|m| {
        [
            "resources",
            "components",
            "bases",
            "patches",
            "patchesStrategicMerge",
            "patchesJson6902",
            "configMapGenerator",
            "secretGenerator",
            "generators",
            "transformers",
            "helmCharts",
            "crds",
        ]
        .iter()
        .any(|k| m.contains_key(*k))
    })
}

struct Graph<'r, 'a> {
    repo: &'r Repo<'a>,
    /// Files by path relative to the root, in path order.
    files: BTreeMap<String, File<'a>>,
    /// Flux sources (kind, name) of the repository that fetch another repository: the path
    /// of a Flux Kustomization built from one of them is a folder there, not here.
    foreign_sources: BTreeSet<(String, String)>,
    /// Set when the checked folder is known to be the root of this repository, with the fact
    /// that says so: the paths of this repository's own Git sources then resolve from here
    /// (or from a nested work tree's top), never from a subfolder.
    root: Option<SourceRoot>,
}

/// The checked folder as the root of the repository's own Git sources.
struct SourceRoot {
    /// Why the checked folder is the root.
    why: String,
    /// The Flux Git sources (kind, name) that fetch this repository.
    own_git: BTreeSet<(String, String)>,
    /// Folders below the root that are tops of git work trees of their own (submodules):
    /// their files' Git paths resolve from there.
    nested_tops: BTreeSet<String>,
}

impl<'a> Graph<'_, 'a> {
    fn kustomization_file(&self, folder: &str) -> Option<String> {
        FILE_NAMES
            .iter()
            .map(|k| {
                if folder.is_empty() {
                    (*k).to_string()
                } else {
                    format!("{folder}/{k}")
                }
            })
            .find(|p| self.files.contains_key(p))
    }

    fn under<'s>(&'s self, dir: &'s str) -> impl Iterator<Item = &'s String> + 's {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        self.files
            .range::<str, _>((
                std::ops::Bound::Included(prefix.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .map(|(p, _)| p)
            .take_while(move |p| p.starts_with(&prefix))
    }

    fn is_folder(&self, dir: &str) -> bool {
        self.repo.folders().contains(dir)
    }

    /// What a folder named by a kustomization entry or an engine path applies: its
    /// kustomization, else (`generate`) what Flux generates for it: every file under it,
    /// a subfolder with a kustomization through that kustomization; else only the files in
    /// it (`recursive`: and in its subfolders).
    fn folder_targets(&self, dir: &str, generate: bool, recursive: bool) -> Vec<String> {
        if let Some(k) = self.kustomization_file(dir) {
            return vec![k];
        }
        let mut out = Vec::new();
        for file in self.under(dir) {
            let rest = if dir.is_empty() {
                file.as_str()
            } else {
                &file[dir.len() + 1..]
            };
            if !rest.contains('/') {
                out.push(file.clone());
                continue;
            }
            if generate {
                // The topmost folder between `dir` and the file that has a kustomization.
                let mut sub = dir.to_string();
                let mut through = None;
                for part in rest.split('/').take(rest.split('/').count() - 1) {
                    sub = if sub.is_empty() {
                        part.to_string()
                    } else {
                        format!("{sub}/{part}")
                    };
                    if let Some(k) = self.kustomization_file(&sub) {
                        through = Some(k);
                        break;
                    }
                }
                out.push(through.unwrap_or_else(|| file.clone()));
            } else if recursive {
                out.push(file.clone());
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// A path entry of a kustomization in `dir`: a file, or a folder.
    fn entry_targets(&self, dir: &str, entry: &str) -> Vec<String> {
        let Some(path) = join(dir, entry) else {
            return Vec::new();
        };
        if self.files.contains_key(&path) {
            return vec![path];
        }
        if self.is_folder(&path) {
            return self.folder_targets(&path, false, true);
        }
        Vec::new()
    }

    /// The folder the path of engine object `doc` (in `file`) names: relative to the
    /// repository root, or to a folder that holds the object's file (a source built from a
    /// subfolder, such as an OCIRepository pushed from `kubernetes/`), the first one that
    /// exists. A Git source of this repository, checked from its root, has its root here
    /// (or at the top of the nested work tree that holds the file), nowhere else.
    fn engine_dir(&self, file: &str, doc: &Document, path: &str) -> Option<String> {
        self.engine_base_and_dir(file, path, self.resolves_from_root_only(doc))
            .map(|(_, dir)| dir)
    }

    /// The base folder a path resolves from and the folder it names (see [`Self::engine_dir`]);
    /// `git_tops_only`: only from the root and the tops of nested work trees.
    fn engine_base_and_dir(
        &self,
        file: &str,
        path: &str,
        git_tops_only: bool,
    ) -> Option<(String, String)> {
        let path = path.trim().trim_start_matches('/');
        let mut bases = vec![String::new()];
        let mut folder = parent(file);
        let mut ancestors = Vec::new();
        while !folder.is_empty() {
            ancestors.push(folder.to_string());
            folder = parent(folder);
        }
        ancestors.reverse();
        bases.extend(ancestors);
        bases
            .into_iter()
            .filter(|base| {
                !git_tops_only
                    || base.is_empty()
                    || self
                        .root
                        .as_ref()
                        .is_some_and(|r| r.nested_tops.contains(base))
            })
            .filter_map(|base| join(&base, path).map(|dir| (base, dir)))
            .find(|(_, dir)| self.is_folder(dir))
    }

    /// Whether the paths of engine object `doc` resolve from the repository root only: a Flux
    /// Kustomization built from a Git source of this repository, or a FluxInstance syncing
    /// one, while the checked folder is known to be the repository's root.
    fn resolves_from_root_only(&self, doc: &Document) -> bool {
        let Some(root) = &self.root else {
            return false;
        };
        if doc.group() == "fluxcd.controlplane.io" && doc.kind() == Some("FluxInstance") {
            return doc.value.pointer("/spec/sync/kind").and_then(Value::as_str)
                == Some("GitRepository");
        }
        doc.is("kustomize.toolkit.fluxcd.io", "Kustomization")
            && root.own_git.contains(&source_ref(doc))
    }

    /// For an engine object whose path resolves from the root only and names no folder
    /// there: the path, and the folder it names from a subfolder that holds the object's
    /// file (an old tree kept under `archive/`, whose paths were written for a root that
    /// has moved). Flux never applies that folder through this object.
    fn missing_from_root(&self, file: &str, doc: &Document) -> Option<(String, String)> {
        if !self.resolves_from_root_only(doc) {
            return None;
        }
        let path = engine_path(doc)?;
        if path.contains('$') || path.contains("{{") || self.engine_dir(file, doc, path).is_some() {
            return None;
        }
        let (_, dir) = self.engine_base_and_dir(file, path, false)?;
        Some((path.to_string(), dir))
    }

    /// Everything one file applies or uses.
    fn edges(&self, path: &str) -> Vec<String> {
        let Some(file) = self.files.get(path) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let dir = parent(path);
        if is_kustomization_file(path) {
            for doc in &file.docs {
                for entry in ["resources", "components", "bases"]
                    .iter()
                    .filter_map(|k| doc.value.get(*k).and_then(Value::as_array))
                    .flatten()
                    .filter_map(Value::as_str)
                    .filter(|e| !is_remote(e))
                {
                    out.extend(self.entry_targets(dir, entry));
                }
                // Patches, generator inputs, transformer and replacement configurations, CRDs:
                // any value that names a file of the repository.
                let mut strings = Vec::new();
                collect_strings(&doc.value, &mut strings, 0);
                for s in strings {
                    for candidate in [Some(s), s.split_once('=').map(|(_, p)| p)]
                        .into_iter()
                        .flatten()
                    {
                        if let Some(p) = join(dir, candidate.trim()) {
                            if self.files.contains_key(&p) {
                                out.push(p);
                            }
                        }
                    }
                }
            }
        }
        for doc in file.docs.iter().filter(|d| is_engine_object(d)) {
            out.extend(self.engine_targets(path, doc));
        }
        out.sort();
        out.dedup();
        out
    }

    fn engine_targets(&self, path: &str, doc: &Document) -> Vec<String> {
        let mut out = Vec::new();
        let flux_path = if doc.is("kustomize.toolkit.fluxcd.io", "Kustomization") {
            // Without a path, Flux applies the root of the source.
            Some(
                doc.value
                    .pointer("/spec/path")
                    .and_then(Value::as_str)
                    .unwrap_or("./"),
            )
        } else if doc.group() == "fluxcd.controlplane.io" && doc.kind() == Some("FluxInstance") {
            doc.value.pointer("/spec/sync/path").and_then(Value::as_str)
        } else {
            None
        };
        let source = doc
            .value
            .pointer("/spec/sourceRef")
            .map(|r| {
                let field = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                (field("kind"), field("name"))
            })
            .unwrap_or_default();
        if let Some(p) = flux_path.filter(|_| !self.foreign_sources.contains(&source)) {
            if let Some(dir) = self.engine_dir(path, doc, p) {
                out.extend(self.folder_targets(&dir, true, true));
            }
        }
        if doc.group() == "argoproj.io" && doc.kind() == Some("Application") {
            for source in sources(doc)
                .into_iter()
                .filter(|s| !is_foreign(self.repo, s))
            {
                let Some(dir) = source_dir(self.repo, doc, &source) else {
                    continue;
                };
                if !self.is_folder(&dir) {
                    continue;
                }
                let recurse = source
                    .value
                    .pointer("/directory/recurse")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let chart = self
                    .files
                    .contains_key(&join(&dir, "Chart.yaml").unwrap_or_default());
                let targets = self.folder_targets(&dir, false, recurse || chart);
                if chart {
                    // Helm renders the chart's templates (with its CRDs and subcharts); a
                    // manifest beside Chart.yaml is not part of the release (a root
                    // Application per environment, applied by hand).
                    out.extend(targets.into_iter().filter(|f| {
                        let rest = f.get(dir.len()..).unwrap_or("").trim_start_matches('/');
                        ["templates/", "crds/", "charts/"]
                            .iter()
                            .any(|sub| rest.starts_with(sub))
                            || self.files.get(f).is_none_or(|file| {
                                file.docs.iter().all(|d| d.class != Class::Object)
                            })
                    }));
                } else {
                    out.extend(targets);
                }
            }
        }
        if doc.group() == "argoproj.io" && doc.kind() == Some("ApplicationSet") {
            // Generators make paths from parameters: everything under what they name.
            for deployment in deployments(self.repo, doc) {
                out.extend(self.under(&deployment.dir).cloned());
            }
        }
        out
    }

    /// What `starts` alone reach: their closure, less every file that something outside it
    /// also applies (and what only such files reach). A base shared by a switched-off entry
    /// and a live one stays with the live one. `keep_starts`: the starts have evidence of their
    /// own and stay even when something else lists them.
    fn exclusive_closure(
        &self,
        starts: Vec<String>,
        keep_starts: bool,
        predecessors: &BTreeMap<String, BTreeSet<String>>,
    ) -> BTreeSet<String> {
        self.exclusive_closure_without(starts, keep_starts, predecessors, &BTreeSet::new())
    }

    /// `exclusive_closure`, never taking the files of `live` (and so nothing that only
    /// they reach).
    fn exclusive_closure_without(
        &self,
        starts: Vec<String>,
        keep_starts: bool,
        predecessors: &BTreeMap<String, BTreeSet<String>>,
        live: &BTreeSet<String>,
    ) -> BTreeSet<String> {
        let mut set: BTreeSet<String> = self
            .closure(starts.clone())
            .into_keys()
            .filter(|f| !live.contains(f))
            .collect();
        let starts: BTreeSet<String> = starts.into_iter().collect();
        loop {
            let outside: Vec<String> = set
                .iter()
                .filter(|f| !(keep_starts && starts.contains(*f)))
                .filter(|f| {
                    predecessors
                        .get(*f)
                        .is_some_and(|p| p.iter().any(|from| !set.contains(from)))
                })
                .cloned()
                .collect();
            if outside.is_empty() {
                return set;
            }
            for f in outside {
                set.remove(&f);
            }
        }
    }

    /// Every file reachable from `starts`, with the start each was first reached from.
    fn closure(&self, starts: impl IntoIterator<Item = String>) -> BTreeMap<String, String> {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut queue = VecDeque::new();
        for s in starts {
            if !seen.contains_key(&s) {
                seen.insert(s.clone(), s.clone());
                queue.push_back(s);
            }
        }
        while let Some(path) = queue.pop_front() {
            let from = seen[&path].clone();
            for next in self.edges(&path) {
                if !seen.contains_key(&next) {
                    seen.insert(next.clone(), from.clone());
                    queue.push_back(next);
                }
            }
        }
        seen
    }
}

/// Every string value of a document, bounded (the document is untrusted).
fn collect_strings<'v>(value: &'v Value, out: &mut Vec<&'v str>, depth: usize) {
    if depth > 32 || out.len() > 10_000 {
        return;
    }
    match value {
        Value::String(s) if s.len() < 4096 && !s.contains('\n') => out.push(s),
        Value::Array(items) => items
            .iter()
            .for_each(|v| collect_strings(v, out, depth + 1)),
        Value::Object(map) => map
            .values()
            .for_each(|v| collect_strings(v, out, depth + 1)),
        _ => {}
    }
}

/// The candidates that another file of the repository (a script, a task file, a document;
/// not a kustomization, whose comments say "off", nor a change log) names by their folder and file name
/// (`bootstrap/root.yaml`, `{{.ROOT_DIR}}/.taskfiles/VolSync/ListJob.tmpl.yaml`). One pass over
/// every text, looking each path-like word up.
fn mentioned_elsewhere(
    repo: &Repo,
    graph: &Graph,
    candidates: &BTreeMap<String, Candidate>,
) -> BTreeSet<String> {
    fn tail(path: &str) -> &str {
        let mut cut = path.rmatch_indices('/');
        match (cut.next(), cut.next()) {
            (Some(_), Some((i, _))) => &path[i + 1..],
            _ => path,
        }
    }
    let mut by_tail: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for path in candidates.keys() {
        by_tail.entry(tail(path)).or_default().push(path.as_str());
    }
    // A file name that no other file of the repository has is named on its own too
    // (`envsubst < "${TEMPLATES_DIR}/WipeJob.tmpl.yaml" | kubectl apply -f -`).
    let mut name_count: BTreeMap<&str, usize> = BTreeMap::new();
    for path in graph.files.keys() {
        *name_count.entry(last_parts(path, 1)).or_default() += 1;
    }
    let mut by_name: BTreeMap<&str, &str> = BTreeMap::new();
    for path in candidates.keys() {
        let name = last_parts(path, 1);
        if name_count.get(name) == Some(&1) {
            by_name.insert(name, path.as_str());
        }
    }
    // Every file of the repository by the same tail: a path several files end with (one
    // `flux/ks.yaml` per cluster) names none of them in particular.
    let mut all_by_tail: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for path in graph.files.keys() {
        all_by_tail
            .entry(tail(path))
            .or_default()
            .push(path.as_str());
    }
    let mut found = BTreeSet::new();
    for source in repo.sources {
        let name = source.name.replace('\\', "/");
        if is_kustomization_file(&name) || is_change_log(&name) {
            continue;
        }
        let own = name.trim_start_matches("./");
        for word in named_paths(&source.text) {
            let mut word = word.trim_end_matches(['.', '/']);
            while let Some(rest) = ["../", "./", "/"].iter().find_map(|p| word.strip_prefix(p)) {
                word = rest;
            }
            // A path from the root that is a file of the repository names that file, not
            // the copies of it under other folders (`.archive/kube/...` beside `kube/...`).
            if word.contains('/') && graph.files.contains_key(word) {
                if candidates.contains_key(word) && !own.ends_with(word) {
                    found.insert(word.to_string());
                }
                continue;
            }
            if let Some(path) = by_name.get(last_parts(word, 1)) {
                if !own.ends_with(*path) {
                    found.insert(path.to_string());
                }
            }
            if !word.contains('/') {
                continue;
            }
            // The word names the file when one ends the other at a folder boundary
            // (`kubernetes/apps/x/app/helmrelease.yaml`, not `%s/app/helmrelease.yaml`).
            let names = |path: &str| {
                path == word
                    || path.ends_with(&format!("/{word}"))
                    || word.ends_with(&format!("/{path}"))
            };
            let named = all_by_tail
                .get(tail(word))
                .into_iter()
                .flatten()
                .filter(|p| names(p))
                .count();
            if named > 1 {
                continue;
            }
            for path in by_tail.get(tail(word)).into_iter().flatten() {
                if names(path) && !own.ends_with(*path) {
                    found.insert(path.to_string());
                }
            }
        }
    }
    found
}

/// The folders of candidates that another file of the repository (not a kustomization)
/// names (`kubectl apply -f kubernetes/bootstrap/flux`), by their last two parts.
fn folders_mentioned_elsewhere(
    repo: &Repo,
    candidates: &BTreeMap<String, Candidate>,
) -> BTreeSet<String> {
    let folders: BTreeMap<String, String> = candidates
        .keys()
        .map(|p| parent(p))
        .filter(|d| d.contains('/'))
        .map(|d| (last_parts(d, 2).to_string(), d.to_string()))
        .collect();
    let mut found = BTreeSet::new();
    for source in repo.sources {
        let name = source.name.replace('\\', "/");
        if is_kustomization_file(&name) || is_change_log(&name) {
            continue;
        }
        for word in named_paths(&source.text).filter(|w| w.contains('/')) {
            let word = word.trim_start_matches("./").trim_end_matches(['.', '/']);
            if let Some(dir) = folders.get(last_parts(word, 2)) {
                found.insert(dir.clone());
            }
        }
    }
    found
}

/// The path-like words of a text (runs of letters, digits and `._-/`), except those a
/// command writes rather than reads: the target of an output redirection
/// (`helm template ... > trivy-stack.yaml`, `>> out.yaml`) or of `tee`. A README that says
/// how a file was generated does not apply it.
fn named_paths(text: &str) -> impl Iterator<Item = &str> {
    let is_word = |c: char| c.is_alphanumeric() || "._-/".contains(c);
    // (start, end, start of its line) of every word, in one pass.
    let mut words = Vec::new();
    let (mut start, mut line_start) = (None, 0);
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), '\n')))
    {
        let word_char = i < text.len() && is_word(c);
        match start {
            None if word_char => start = Some(i),
            Some(s) if !word_char => {
                words.push((s, i, line_start));
                start = None;
            }
            _ => {}
        }
        if c == '\n' {
            line_start = i + 1;
        }
    }
    words.into_iter().filter_map(move |(s, e, line_start)| {
        let line = text[line_start..s].trim_end_matches([' ', '\t', '"', '\'']);
        // A `>` that opens its line is a Markdown quote, not a redirection.
        let redirected = line.ends_with('>') && !line.trim_end_matches('>').trim().is_empty();
        let teed = line
            .strip_suffix("tee")
            .or_else(|| line.strip_suffix("tee -a"))
            .is_some_and(|b| b.is_empty() || b.ends_with([' ', '|', '\t']));
        (!redirected && !teed).then(|| &text[s..e])
    })
}

/// Whether a file is a change log (`CHANGELOG.md`, `HISTORY.md`, `CHANGES`, `NEWS.md`): it
/// names every file a change ever touched, retired ones too, and applies none of them.
fn is_change_log(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    let stem = file.split('.').next().unwrap_or(&file);
    matches!(stem, "changelog" | "changes" | "history" | "news")
}

/// The last `n` parts of a slash-separated path.
fn last_parts(path: &str, n: usize) -> &str {
    match path.rmatch_indices('/').nth(n - 1) {
        Some((i, _)) => &path[i + 1..],
        None => path,
    }
}

/// The engine paths of the repository (Flux Kustomizations, FluxInstance sync, Argo CD
/// Application sources without another repository) that lead to no folder here,
/// normalised; an empty string stands for a path made from variables (`${CLUSTER}`,
/// `{{.path}}`), which may name any folder.
fn unresolved_engine_paths(graph: &Graph) -> Vec<String> {
    let mut out = Vec::new();
    for (path, file) in &graph.files {
        for doc in file.docs.iter().filter(|d| is_engine_object(d)) {
            let mut paths: Vec<&str> = Vec::new();
            if doc.is("kustomize.toolkit.fluxcd.io", "Kustomization")
                || doc.kind() == Some("FluxInstance")
            {
                if let Some(p) = engine_path(doc) {
                    // From the root of this repository, a path without variables that leads
                    // nowhere names no folder here.
                    let nowhere =
                        graph.resolves_from_root_only(doc) && !p.contains('$') && !p.contains("{{");
                    if !nowhere && graph.engine_dir(path, doc, p).is_none() {
                        paths.push(p);
                    }
                }
            } else if doc.kind() == Some("Application") {
                // A path of another repository names a folder there.
                for source in sources(doc)
                    .into_iter()
                    .filter(|s| !is_foreign(graph.repo, s))
                {
                    if let (Some(p), Some(dir)) =
                        (source.str("path"), source_dir(graph.repo, doc, &source))
                    {
                        if !graph.is_folder(&dir) {
                            paths.push(p);
                        }
                    }
                }
            }
            for p in paths {
                if p.contains('$') || p.contains("{{") {
                    out.push(String::new());
                } else {
                    out.push(normalise_dir(p));
                }
            }
        }
    }
    // Each distinct path once: it is matched against every file of the repository, and
    // copies of one Kustomization (one per cluster) would make that quadratic.
    out.sort();
    out.dedup();
    out
}

/// Whether an engine path (normalised, relative to a root this cannot tell) may name
/// folder `dir` or a folder above it.
fn names_folder(path: &str, dir: &str) -> bool {
    if path.is_empty() {
        return true;
    }
    let mut d = dir;
    loop {
        if d == path || d.ends_with(&format!("/{path}")) {
            return true;
        }
        if d.is_empty() {
            return false;
        }
        d = parent(d);
    }
}

/// The Flux sources of the repository that fetch a repository other than this one (whose
/// address is not among `own`, see [`own_addresses`]). Without an own address nothing is
/// foreign.
fn foreign_sources(graph: &Graph, own: &BTreeSet<String>) -> BTreeSet<(String, String)> {
    if own.is_empty() {
        return BTreeSet::new();
    }
    graph
        .files
        .values()
        .flat_map(|f| f.docs.iter())
        .filter(|d| d.class == Class::Object && is_flux_source(d))
        .filter_map(|d| {
            let url = d.value.pointer("/spec/url")?.as_str()?;
            (!url.contains("${") && !own.contains(&repository_address(url))).then(|| {
                (
                    d.kind().unwrap_or("").to_string(),
                    d.name().unwrap_or("").to_string(),
                )
            })
        })
        .collect()
}

fn is_flux_source(d: &Document) -> bool {
    d.group() == "source.toolkit.fluxcd.io"
        && matches!(d.kind(), Some("GitRepository" | "OCIRepository" | "Bucket"))
}

/// The source a Flux Kustomization is built from: its `sourceRef` (kind, name).
fn source_ref(doc: &Document) -> (String, String) {
    doc.value
        .pointer("/spec/sourceRef")
        .map(|r| {
            let field = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            (field("kind"), field("name"))
        })
        .unwrap_or_default()
}

/// The path a Flux Kustomization (`spec.path`) or a FluxInstance (`spec.sync.path`) names.
fn engine_path(doc: &Document) -> Option<&str> {
    if doc.kind() == Some("FluxInstance") {
        doc.value.pointer("/spec/sync/path")
    } else {
        doc.value.pointer("/spec/path")
    }
    .and_then(Value::as_str)
}

/// Whether the checked folder is the root of this repository, and then the Git sources of
/// this repository (those whose address is one of `own`). The root is known from a `.git`
/// entry in it (the top of a work tree), or from a Flux sync of this repository that applies
/// itself with a path taken from here (`./clusters/home` holding the file of the
/// Kustomization or FluxInstance that names it): Flux resolves a Git source's paths from the
/// repository's root, so such a sync places the root here. An unpacked archive has no
/// `.git`, and a copied old tree's sync resolves only from its own subfolder, so neither
/// alone makes a subfolder look like the root. Unknown: `None`.
fn source_root(graph: &Graph, own: &BTreeSet<String>) -> Option<SourceRoot> {
    let objects = || {
        graph
            .files
            .iter()
            .flat_map(|(path, f)| f.docs.iter().map(move |d| (path, d)))
            .filter(|(_, d)| d.class == Class::Object)
    };
    let own_git: BTreeSet<(String, String)> = objects()
        .filter(|(_, d)| {
            d.group() == "source.toolkit.fluxcd.io" && d.kind() == Some("GitRepository")
        })
        .filter(|(_, d)| {
            d.value
                .pointer("/spec/url")
                .and_then(Value::as_str)
                .is_some_and(|url| !url.contains("${") && own.contains(&repository_address(url)))
        })
        .map(|(_, d)| {
            (
                "GitRepository".to_string(),
                d.name().unwrap_or("").to_string(),
            )
        })
        .collect();
    let why = if graph.repo.holds_git("") {
        Some("the checked folder is the top of a git work tree (it holds `.git`)".to_string())
    } else {
        objects().find_map(|(file, d)| {
            let git = if d.group() == "fluxcd.controlplane.io" && d.kind() == Some("FluxInstance")
            {
                d.value.pointer("/spec/sync/kind").and_then(Value::as_str) == Some("GitRepository")
            } else {
                d.is("kustomize.toolkit.fluxcd.io", "Kustomization")
                    && own_git.contains(&source_ref(d))
            };
            let path = engine_path(d).filter(|_| git)?;
            let dir = join("", path.trim().trim_start_matches('/'))
                .filter(|dir| !dir.is_empty() && graph.is_folder(dir))?;
            file.starts_with(&format!("{dir}/")).then(|| {
                format!(
                    "the checked folder is the root of this repository: `{file}` syncs it from here with `{path}`, which holds that file"
                )
            })
        })
    }?;
    let nested_tops = graph
        .repo
        .folders()
        .iter()
        .filter(|f| !f.is_empty() && graph.repo.holds_git(f))
        .cloned()
        .collect();
    Some(SourceRoot {
        why,
        own_git,
        nested_tops,
    })
}

/// The addresses of this repository, as its Flux sync says: the `flux-system` GitRepository
/// or OCIRepository of `flux bootstrap`, the source of a Flux Kustomization whose `path` (not
/// the root) holds its own file (a sync that applies itself can only be built from this
/// repository), a FluxInstance's `sync.url`, or the `instance.sync.url` value of a
/// HelmRelease installing one.
fn own_addresses(graph: &Graph) -> BTreeSet<String> {
    let objects = || {
        graph
            .files
            .values()
            .flat_map(|f| f.docs.iter())
            .filter(|d| d.class == Class::Object)
    };
    let mut own_names: BTreeSet<(String, String)> = BTreeSet::new();
    for (path, file) in &graph.files {
        for doc in file
            .docs
            .iter()
            .filter(|d| d.is("kustomize.toolkit.fluxcd.io", "Kustomization"))
        {
            let Some(p) = doc.value.pointer("/spec/path").and_then(Value::as_str) else {
                continue;
            };
            let Some(dir) = graph.engine_dir(path, doc, p).filter(|d| !d.is_empty()) else {
                continue;
            };
            if path.starts_with(&format!("{dir}/")) {
                if let Some(r) = doc.value.pointer("/spec/sourceRef") {
                    let field =
                        |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    own_names.insert((field("kind"), field("name")));
                }
            }
        }
    }
    let mut own = BTreeSet::new();
    for doc in objects() {
        let own_name = (
            doc.kind().unwrap_or("").to_string(),
            doc.name().unwrap_or("").to_string(),
        );
        let url = if is_flux_source(doc)
            && (doc.name() == Some("flux-system") || own_names.contains(&own_name))
        {
            doc.value.pointer("/spec/url")
        } else if doc.group() == "fluxcd.controlplane.io" && doc.kind() == Some("FluxInstance") {
            doc.value.pointer("/spec/sync/url")
        } else if doc.is("helm.toolkit.fluxcd.io", "HelmRelease") {
            doc.value.pointer("/spec/values/instance/sync/url")
        } else {
            None
        };
        if let Some(url) = url.and_then(Value::as_str) {
            if !url.contains("${") {
                own.insert(repository_address(url));
            }
        }
    }
    own
}

/// The first hidden folder on a file's path (`.archive/`), with its trailing slash.
fn hidden_folder(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').collect();
    let hidden = parts[..parts.len() - 1]
        .iter()
        .position(|part| part.starts_with('.'))?;
    Some(format!("{}/", parts[..=hidden].join("/")))
}

/// The first folder on a file's path named as a backup copy (`definitions.bak/`,
/// `apps.old/`, `base.orig/`) or as an archive (`archive/`, `_archived/`, `DEPRECATED/`), with
/// its trailing slash. Editors, `cp -r x x.bak` and merge tools name copies so, and the walker already
/// passes over files named so (`ks.yaml.bak`): the live copy is the one without the
/// suffix. An archive folder is where an operator moves the apps they retired, Flux
/// Kustomizations and Argo CD Applications and all, so that nothing applies them any more.
pub(crate) fn backup_folder(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').collect();
    let backup = parts[..parts.len() - 1].iter().position(|part| {
        let lower = part.to_ascii_lowercase();
        [".bak", ".old", ".orig", ".backup"]
            .iter()
            .any(|suffix| lower.len() > suffix.len() && lower.ends_with(suffix))
            || (part.len() > 1 && part.ends_with('~'))
            || matches!(
                lower.trim_start_matches('_'),
                "archive" | "archived" | "deprecated"
            )
    })?;
    Some(format!("{}/", parts[..=backup].join("/")))
}

/// The entries a kustomization lists in a comment (`# - ../app/ks.yaml`, or a patch entry
/// `#- path: patches/webhook_in_clusters.yaml` as kubebuilder scaffolds them), with their
/// line.
fn commented_entries(text: &str) -> Vec<(String, u32)> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let rest = line.trim_start().strip_prefix('#')?;
            let rest = rest
                .trim_start_matches('#')
                .trim_start()
                .strip_prefix('-')?;
            let mut words = rest.split_whitespace();
            let mut entry = words.next()?;
            if entry == "path:" {
                entry = words.next()?;
            }
            let entry = entry.trim_matches(|c| c == '"' || c == '\'');
            (!entry.is_empty() && !is_remote(entry) && !entry.contains(':'))
                .then(|| (entry.to_string(), i as u32 + 1))
        })
        .collect()
}

fn is_engine_object(doc: &Document) -> bool {
    // A patch (a partial object a script merges, a `patches` folder's file) applies nothing
    // on its own: a Flux Kustomization there without `path` is not one of the root.
    doc.class == Class::Object
        && doc.partial().is_none()
        && doc.in_patch_folder().is_none()
        && (doc.is("kustomize.toolkit.fluxcd.io", "Kustomization")
            || (doc.group() == "argoproj.io"
                && matches!(doc.kind(), Some("Application" | "ApplicationSet")))
            || (doc.group() == "fluxcd.controlplane.io" && doc.kind() == Some("FluxInstance")))
}

/// The outermost folder named `base` or `bases` that holds `dir` (or is it), as a path: the
/// folder of the bases (`infrastructure/base` for `infrastructure/base/istio/base`, whose
/// last `base` is an app's name).
fn base_folder(dir: &str) -> Option<&str> {
    let mut at = 0;
    for part in dir.split('/') {
        at += part.len();
        if part == "base" || part == "bases" {
            return Some(&dir[..at]);
        }
        at += 1;
    }
    None
}

/// The entries of every `components` list of strings inside an engine object (a Flux
/// Kustomization's `spec.components`, an Argo CD source's `kustomize.components`), at most a
/// few levels deep.
fn component_entries(value: &Value) -> Vec<String> {
    fn walk(value: &Value, depth: usize, out: &mut Vec<String>) {
        if depth > 8 {
            return;
        }
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    if k == "components" {
                        if let Some(items) = v.as_array() {
                            out.extend(items.iter().filter_map(Value::as_str).map(str::to_string));
                        }
                    }
                    walk(v, depth + 1, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, depth + 1, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, 0, &mut out);
    out
}

/// Whether an engine's component entry (relative to a folder this does not resolve:
/// `../../../../components/volsync`) may name the folder `dir`: its path without leading
/// `./` and `../` ends `dir`; an entry made of variables may name any folder.
fn names_component(entry: &str, dir: &str) -> bool {
    if entry.contains('$') || entry.contains("{{") {
        return true;
    }
    let mut e = entry.trim().trim_end_matches('/');
    loop {
        let before = e;
        e = e.trim_start_matches("./").trim_start_matches("../");
        if e == before {
            break;
        }
    }
    !e.is_empty() && (dir == e || dir.ends_with(&format!("/{e}")))
}

/// The deploy graph of the repository's own files (not objects a chart or kustomize built).
fn graph<'r, 'a>(repo: &'r Repo<'a>) -> Graph<'r, 'a> {
    let mut files: BTreeMap<String, File> = BTreeMap::new();
    for doc in repo.documents {
        if doc.source.path.is_none() {
            continue;
        }
        let path = repo.relative_path(doc);
        if path.starts_with("../") || path.starts_with('/') {
            continue;
        }
        files
            .entry(path)
            .or_insert_with(|| File {
                name: &doc.source.name,
                docs: Vec::new(),
            })
            .docs
            .push(doc);
    }
    let mut graph = Graph {
        repo,
        files,
        foreign_sources: BTreeSet::new(),
        root: None,
    };
    let own = own_addresses(&graph);
    graph.foreign_sources = foreign_sources(&graph, &own);
    graph.root = source_root(&graph, &own);
    graph
}

/// Who applies or uses each file.
fn predecessors(graph: &Graph) -> BTreeMap<String, BTreeSet<String>> {
    let mut predecessors: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in graph.files.keys() {
        for target in graph.edges(path) {
            if &target != path {
                predecessors.entry(target).or_default().insert(path.clone());
            }
        }
    }
    predecessors
}

/// For each file of the repository (relative path), the kustomizations that include it
/// directly (`resources`, `components`, patches: what kustomize transforms along with it).
/// Empty when the input is not one repository folder.
pub fn including_kustomizations(repo: &Repo) -> BTreeMap<String, BTreeSet<String>> {
    if repo.root.is_none() {
        return BTreeMap::new();
    }
    let graph = graph(repo);
    let mut out = predecessors(&graph);
    for from in out.values_mut() {
        from.retain(|f| is_kustomization_file(f));
    }
    out.retain(|_, from| !from.is_empty());
    out
}

/// For each file of the repository (relative path), the files at the top of the deploy
/// graph that apply it: those that nothing in the repository applies or includes, or only
/// what they apply themselves (`overlays/home/kustomization.yaml`, built with
/// `kubectl apply -k` or by the Argo CD or Flux installation it holds; `root-prod.yaml`, a
/// root Application applied by hand). Each top is a deploy unit of its own: two files no
/// top reaches together are never applied together by anything in the repository. Empty
/// when the input is not one repository folder.
pub fn top_builds(repo: &Repo) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if repo.root.is_none() {
        return out;
    }
    let graph = graph(repo);
    let predecessors = predecessors(&graph);
    for top in graph.files.keys() {
        let reached: BTreeSet<String> = graph.closure([top.clone()]).into_keys().collect();
        // A top: nothing applies it, or only what it applies itself (an Argo CD or Flux
        // installation that manages its own kustomization).
        let is_top = predecessors
            .get(top)
            .is_none_or(|from| from.iter().all(|f| reached.contains(f)));
        // A kustomization names its cycle (the Argo CD installation that syncs it); a
        // cycle of other files alone (a root Application in the folder it deploys) is left
        // out, and what it reaches counts as applied together with everything.
        let cycle_of_other_files = !is_kustomization_file(top) && predecessors.contains_key(top);
        if !is_top || cycle_of_other_files {
            continue;
        }
        for file in reached {
            out.entry(file).or_default().insert(top.clone());
        }
    }
    out
}

/// Longest line read for a `kubectl apply` command.
const MAX_COMMAND_BYTES: usize = 8192;

/// The files of the repository (relative to the root) that a text of it applies by hand:
/// `kubectl apply -f PATH` or `kubectl create -f PATH` (also `oc`, `--filename`), in a script,
/// a Makefile, a task file or a README. PATH is read from the text's folder and from the root
/// (a leading variable such as `$ROOT/` or `$(dirname "$0")/` stands for either); a folder
/// names the files directly in it. Text search only: nothing is run, and only loaded files
/// of the repository count.
pub fn applied_with_kubectl(repo: &Repo) -> BTreeSet<String> {
    let files: BTreeSet<&str> = repo.files().collect();
    let mut out = BTreeSet::new();
    for source in repo.sources {
        let text = &source.text;
        if !(text.contains("apply") || text.contains("create"))
            || !(text.contains("kubectl") || text.contains("oc "))
        {
            continue;
        }
        let own = repo.relative_name(&source.name);
        let dir = parent(&own);
        for line in text.lines().filter(|l| l.len() <= MAX_COMMAND_BYTES) {
            for part in line.split(['|', ';', '&']) {
                let words: Vec<&str> = part.split_whitespace().collect();
                let Some(at) = words
                    .iter()
                    .position(|w| matches!(w.trim_matches(['"', '\'', '`']), "kubectl" | "oc"))
                else {
                    continue;
                };
                let words = &words[at + 1..];
                if !words.iter().any(|w| matches!(*w, "apply" | "create")) {
                    continue;
                }
                let flags = ["-f", "--filename"];
                for (_, value, _) in homelab_manifest::command_line::option_values(words, &flags) {
                    let value = value.trim_matches(['"', '\'', '`']);
                    out.extend(kubectl_path(repo, &files, dir, value));
                }
            }
        }
    }
    out
}

/// The loaded files a `kubectl apply -f` argument written in the text at `dir` names.
fn kubectl_path(repo: &Repo, files: &BTreeSet<&str>, dir: &str, arg: &str) -> Vec<String> {
    let mut path = arg;
    if path.starts_with('$') {
        // `$ROOT/x`, `${DIR}/x`, `$(dirname "$0")/x`: the variable is a folder of the
        // repository, taken as the text's folder or the root.
        match path
            .find(")/")
            .map(|i| i + 2)
            .or_else(|| path.find('/').map(|i| i + 1))
        {
            Some(i) => path = &path[i..],
            None => return Vec::new(),
        }
    }
    if path.is_empty() || path.contains(['$', '~', ':']) || path.starts_with(['/', '\\']) {
        return Vec::new();
    }
    for base in [dir, ""] {
        let Some(candidate) = join(base, path) else {
            continue;
        };
        if files.contains(candidate.as_str()) {
            return vec![candidate];
        }
        if repo.folders().contains(&candidate) {
            return files
                .iter()
                .filter(|f| parent(f) == candidate)
                .map(|f| f.to_string())
                .collect();
        }
    }
    Vec::new()
}

/// The files of the repository holding objects that nothing in it applies, each with the
/// fact that says so. Empty when the input is not one repository folder.
pub fn not_applied(repo: &Repo) -> Vec<NotApplied> {
    let mut partial = engine_facts(repo, Document::partial, SetAside::Partial, |by| {
        format!("used as a patch by {by}")
    });
    let mut out = if repo.root.is_none() {
        Vec::new()
    } else {
        not_applied_files(repo)
    };
    // A file applied as a patch is used: not "applied by nothing".
    out.retain(|n| !partial.iter().any(|p| p.file == n.file));
    out.append(&mut partial);
    // A file in a `patches` folder that nothing applies whole: a patch by the folder's
    // name, unless the evidence above says more.
    let in_patch_folder: Vec<NotApplied> =
        engine_facts(repo, Document::in_patch_folder, SetAside::Partial, |folder| {
            format!("used as a patch by its folder's name: `{folder}` (nothing applies its files whole; a script or tool merges them into their targets)")
        })
        .into_iter()
        .filter(|p| !out.iter().any(|n| n.file == p.file))
        .collect();
    out.extend(in_patch_folder);
    // One reason per file: what sets aside more wins.
    let unseen: Vec<NotApplied> = engine_facts(
        repo,
        Document::completed_elsewhere,
        SetAside::CompletedElsewhere,
        str::to_string,
    )
    .into_iter()
    .filter(|u| !out.iter().any(|n| n.file == u.file))
    .collect();
    out.extend(unseen);
    out
}

/// [`not_applied`] without the partial objects.
fn not_applied_files(repo: &Repo) -> Vec<NotApplied> {
    let graph = graph(repo);
    // Who applies or uses each file.
    let predecessors = predecessors(&graph);
    let has_engine = graph
        .files
        .values()
        .any(|f| f.docs.iter().any(|d| is_engine_object(d)));

    // Candidates, each with the evidence that it is left out.
    let mut candidates: BTreeMap<String, Candidate> = BTreeMap::new();
    // Switched off: reached from an entry a kustomization lists in a comment.
    for (path, file) in &graph.files {
        if !is_kustomization_file(path) {
            continue;
        }
        let Some(text) = file.docs.first().map(|d| d.source.text.as_str()) else {
            continue;
        };
        let dir = parent(path);
        let entries = commented_entries(text);
        if entries.is_empty() {
            continue;
        }
        // The kustomization that holds the comment, and what applies it, are live: a
        // switched-off entry that reaches back to them (a broad ApplicationSet) does not
        // switch them off.
        let mut live: BTreeSet<String> = BTreeSet::from([path.clone()]);
        let mut queue = vec![path.clone()];
        while let Some(f) = queue.pop() {
            for from in predecessors.get(&f).into_iter().flatten() {
                if live.insert(from.clone()) {
                    queue.push(from.clone());
                }
            }
        }
        for (entry, line) in entries {
            let targets = graph.entry_targets(dir, &entry);
            let why =
                format!("`{path}` lists `{entry}` only in a comment (line {line}): switched off");
            for reached in graph.exclusive_closure_without(targets, false, &predecessors, &live) {
                candidates.entry(reached).or_insert_with(|| Candidate {
                    why: why.clone(),
                    evidence: Evidence::SwitchedOff,
                });
            }
        }
    }
    // Reached only through Flux paths that name no folder from the root of this repository:
    // Flux resolves a Git source's path from the repository's root, so a tree whose paths
    // resolve only from its own subfolder (an old cluster kept under `archive/`) is never
    // applied through them.
    if let Some(root) = &graph.root {
        for (path, file) in &graph.files {
            for doc in file.docs.iter().filter(|d| is_engine_object(d)) {
                let Some((engine_path, dir)) = graph.missing_from_root(path, doc) else {
                    continue;
                };
                let why = format!(
                    "the {} `{}` in `{path}` applies `{engine_path}` of a Git source of this repository, which Flux resolves from the repository's root, where that folder does not exist (only `{dir}` does, from a subfolder); {}",
                    doc.kind().unwrap_or("object"),
                    doc.name().unwrap_or(""),
                    root.why
                );
                // Everything under that folder was written for this path (a kustomization
                // there that nothing lists was left out even then).
                let targets = graph.under(&dir).cloned().collect();
                for reached in graph.exclusive_closure(targets, false, &predecessors) {
                    candidates.entry(reached).or_insert_with(|| Candidate {
                        why: why.clone(),
                        evidence: Evidence::MissingFromRoot,
                    });
                }
            }
        }
    }
    // What each kustomization lists or uses, computed once (a folder can hold many files).
    let kustomization_edges: BTreeMap<&str, BTreeSet<String>> = graph
        .files
        .keys()
        .filter(|p| is_kustomization_file(p))
        .map(|k| (k.as_str(), graph.edges(k).into_iter().collect()))
        .collect();
    // Files of backup copies (`definitions.bak/`), by folder: the copy is judged as a whole,
    // since its files reach each other and what the live copy reaches.
    let mut backups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, file) in &graph.files {
        let kustomization = is_kustomization_file(path);
        let dir = parent(path);
        if let Some(k) = graph.kustomization_file(dir).filter(|_| !kustomization) {
            if graph.files[&k]
                .docs
                .first()
                .is_some_and(|d| is_real_kustomization(d))
                && !kustomization_edges
                    .get(k.as_str())
                    .is_some_and(|listed| listed.contains(path))
            {
                candidates.entry(path.clone()).or_insert_with(|| Candidate {
                    why: format!("`{k}` in the same folder does not list it"),
                    evidence: Evidence::SameFolder,
                });
                continue;
            }
        }
        if has_engine && (file.has_objects() || kustomization) {
            if let Some(folder) = backup_folder(path) {
                backups.entry(folder).or_default().push(path.clone());
                continue;
            }
        }
        // A kustomization in a hidden folder is a candidate too: as a start, it would apply
        // the folder it hides.
        if has_engine && (file.has_objects() || kustomization) {
            if let Some(folder) = hidden_folder(path) {
                let why = format!(
                    "it lies in the hidden folder `{folder}` of a repository that Argo CD or Flux applies"
                );
                for reached in graph.exclusive_closure(vec![path.clone()], true, &predecessors) {
                    candidates.entry(reached).or_insert_with(|| Candidate {
                        why: why.clone(),
                        evidence: Evidence::Hidden,
                    });
                }
            }
        }
    }
    for (folder, files) in backups {
        let why = format!(
            "it lies in `{folder}`, named as an archive or a backup copy, in a repository that Argo CD or Flux applies"
        );
        for reached in graph.exclusive_closure(files, true, &predecessors) {
            candidates.entry(reached).or_insert_with(|| Candidate {
                why: why.clone(),
                evidence: Evidence::Backup,
            });
        }
    }
    // The files kustomizations list one by one (not through a folder), by folder.
    let mut listed_in_folder: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    let listed: Vec<(String, &str)> = kustomization_edges
        .iter()
        .flat_map(|(k, targets)| {
            targets
                .iter()
                .filter(|t| !is_kustomization_file(t))
                .map(move |t| (t.clone(), *k))
        })
        .collect();
    for (file, kustomization) in &listed {
        listed_in_folder
            .entry(parent(file))
            .or_insert((0, kustomization))
            .0 += 1;
    }
    let listed: BTreeSet<&str> = listed.iter().map(|(f, _)| f.as_str()).collect();
    for (path, file) in &graph.files {
        if !file.has_objects()
            || listed.contains(path.as_str())
            || candidates.contains_key(path)
            || is_kustomization_file(path)
            || graph.kustomization_file(parent(path)).is_some()
        {
            continue;
        }
        let dir = parent(path);
        let Some((n, k)) = listed_in_folder.get(dir) else {
            continue;
        };
        let evidence = Some((
            format!(
                "`{k}` lists {} of `{dir}/` one by one, not this one",
                crate::count(*n, "other file")
            ),
            Evidence::Siblings,
        ));
        if let Some((why, evidence)) = evidence {
            for reached in graph.exclusive_closure(vec![path.clone()], true, &predecessors) {
                candidates.entry(reached).or_insert_with(|| Candidate {
                    why: why.clone(),
                    evidence,
                });
            }
        }
    }
    // Under an applied kustomization tree: the nearest folder above the file with a
    // kustomization is one that Argo CD or Flux applies, and it does not reach the file.
    // kustomize builds only what a kustomization names, so a Flux Kustomization left in such
    // a tree without a line in it (`apps/base/falco/ks.yaml` beside listed siblings) is not
    // applied. Off when an engine path of the repository cannot be followed to a folder here
    // (it may name this one).
    let unresolved = unresolved_engine_paths(&graph);
    if !unresolved.iter().any(|p| p.is_empty()) {
        // What the engine objects apply (not their own files), each with the file of the
        // engine object it was first reached from.
        let mut applied_by: BTreeMap<String, String> = BTreeMap::new();
        for (path, file) in graph
            .files
            .iter()
            .filter(|(p, _)| !candidates.contains_key(*p))
        {
            for doc in file.docs.iter().filter(|d| is_engine_object(d)) {
                for target in graph.engine_targets(path, doc) {
                    applied_by.entry(target).or_insert_with(|| path.clone());
                }
            }
        }
        let engine_reached: BTreeMap<String, String> = graph
            .closure(applied_by.keys().cloned())
            .into_iter()
            .map(|(file, target)| (file, applied_by[&target].clone()))
            .collect();
        for (path, file) in &graph.files {
            let dir = parent(path);
            if !file.has_objects()
                || engine_reached.contains_key(path)
                || candidates.contains_key(path)
                || is_kustomization_file(path)
                || graph.kustomization_file(dir).is_some()
                || unresolved.iter().any(|u| names_folder(u, dir))
            {
                continue;
            }
            let mut above = dir;
            let kustomization = loop {
                if above.is_empty() {
                    break None;
                }
                above = parent(above);
                if let Some(k) = graph.kustomization_file(above) {
                    break Some(k);
                }
            };
            let Some(k) = kustomization.filter(|k| {
                graph.files[k]
                    .docs
                    .first()
                    .is_some_and(|d| is_real_kustomization(d))
            }) else {
                continue;
            };
            let Some(engine) = engine_reached.get(&k).filter(|e| *e != path) else {
                continue;
            };
            let why = format!(
                "`{k}`, which `{engine}` applies, does not reach it (kustomize builds only what a kustomization lists)"
            );
            for reached in graph.exclusive_closure(vec![path.clone()], true, &predecessors) {
                candidates.entry(reached).or_insert_with(|| Candidate {
                    why: why.clone(),
                    evidence: Evidence::UnderApplied,
                });
            }
        }
    }
    // A kustomize Component that no kustomization includes: a Component is a set of changes
    // written to be listed under an overlay's `components`; an engine or a kustomization that
    // listed this one would reach it. Off when an engine path the graph cannot follow may
    // name its folder.
    if has_engine {
        let unresolved = unresolved_engine_paths(&graph);
        // The components that engine objects list themselves (a Flux Kustomization's
        // `spec.components`, relative to its path; an Argo CD source's `kustomize.components`).
        let engine_components: Vec<String> = graph
            .files
            .values()
            .flat_map(|f| f.docs.iter())
            .filter(|d| is_engine_object(d))
            .flat_map(|d| component_entries(&d.value))
            .collect();
        for (path, file) in &graph.files {
            let component = is_kustomization_file(path)
                && file.docs.first().is_some_and(|d| {
                    d.kind() == Some("Component") && d.group() == "kustomize.config.k8s.io"
                });
            let dir = parent(path);
            if !component
                || predecessors.get(path).is_some_and(|p| !p.is_empty())
                || unresolved.iter().any(|u| names_folder(u, dir))
                || engine_components.iter().any(|e| names_component(e, dir))
            {
                continue;
            }
            let why = format!(
                "it is part of the kustomize Component `{path}`, which no kustomization lists under `components`"
            );
            for reached in graph.exclusive_closure(vec![path.clone()], true, &predecessors) {
                candidates.entry(reached).or_insert_with(|| Candidate {
                    why: why.clone(),
                    evidence: Evidence::UnusedComponent,
                });
            }
        }
    }
    // A kustomize base that nothing builds: a kustomization under a folder named `base` (or
    // `bases`) whose other bases overlays outside it list is written to be listed by
    // overlays too; in a repository an engine applies, one that no overlay lists and no
    // engine applies is a leftover (its app was removed from every cluster). Where no
    // overlay lists any base of the folder, its bases are applied directly (by hand, `oc
    // apply -k`), and this is off. Off too when an engine path the graph cannot follow may
    // name its folder.
    if has_engine {
        let unresolved = unresolved_engine_paths(&graph);
        // The base folders that an overlay outside them builds one of their bases from (a
        // subfolder: `apps/base/web`; the base folder's own kustomization is one base, not a
        // folder of them).
        let built_from: BTreeSet<&str> = kustomization_edges
            .iter()
            .flat_map(|(k, targets)| {
                targets.iter().filter_map(move |t| {
                    let dir = parent(t);
                    let base = base_folder(dir).filter(|b| *b != dir)?;
                    (!k.starts_with(&format!("{base}/"))).then_some(base)
                })
            })
            .collect();
        for (path, file) in &graph.files {
            let dir = parent(path);
            if !base_folder(dir).is_some_and(|b| built_from.contains(b))
                || !is_kustomization_file(path)
                || !file.docs.first().is_some_and(|d| is_real_kustomization(d))
                || predecessors.get(path).is_some_and(|p| !p.is_empty())
                || unresolved.iter().any(|u| names_folder(u, dir))
            {
                continue;
            }
            let why = format!(
                "it is built only by the kustomize base `{path}`, which no overlay lists and no Argo CD or Flux object applies"
            );
            for reached in graph.exclusive_closure(vec![path.clone()], true, &predecessors) {
                candidates.entry(reached).or_insert_with(|| Candidate {
                    why: why.clone(),
                    evidence: Evidence::UnusedBase,
                });
            }
        }
    }
    // kubeadm patches: files named after the component they patch, in a folder kubeadm reads
    // (`patches: {directory: ...}` of a kubeadm or kind configuration in the repository).
    let kubeadm_patches = repo.sources.iter().any(|s| {
        s.text.contains("kubeadm") && s.text.contains("patches:") && s.text.contains("directory:")
    });
    if kubeadm_patches {
        static PATCH_NAME: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        let name = PATCH_NAME.get_or_init(|| {
            regex::Regex::new(r"^(kube-apiserver|kube-controller-manager|kube-scheduler|etcd|kubeletconfiguration)[0-9A-Za-z_-]*(\+(strategic|merge|json))?\.(yaml|yml|json)$").unwrap()
        });
        for (path, file) in &graph.files {
            let file_name = path.rsplit('/').next().unwrap_or(path);
            let static_pods = file
                .docs
                .iter()
                .filter(|d| d.class == Class::Object)
                .all(|d| d.kind() == Some("Pod") || d.kind() == Some("KubeletConfiguration"));
            if file.has_objects() && static_pods && name.is_match(file_name) {
                candidates.entry(path.clone()).or_insert_with(|| Candidate {
                    why: format!(
                        "`{file_name}` is named like a kubeadm patch and the repository configures kubeadm with a patches directory: kubeadm merges it into the component's static Pod"
                    ),
                    evidence: Evidence::KubeadmPatch,
                });
            }
        }
    }
    if candidates.is_empty() {
        return Vec::new();
    }
    // Evidence of a hand-applied file outweighs the folder-based evidence (not a comment,
    // which says "off" explicitly): an Application or Flux Kustomization that applies
    // something of this repository and that nothing applies is a root applied by hand (the
    // app-of-apps beside the kustomization that installs Argo CD), and a file that a script,
    // task file or document of the repository names is applied from there.
    let mentioned = mentioned_elsewhere(repo, &graph, &candidates);
    let folder_mentioned = folders_mentioned_elsewhere(repo, &candidates);
    candidates.retain(|path, candidate| match candidate.evidence {
        Evidence::SwitchedOff | Evidence::KubeadmPatch => true,
        // A backup copy's Flux Kustomizations and Applications name the live tree, as the
        // copies they are; only a script that names the file applies it.
        Evidence::Backup => !mentioned.contains(path),
        Evidence::SameFolder | Evidence::Siblings => {
            let root = graph.files[path].docs.iter().any(|d| {
                is_engine_object(d) && graph.engine_targets(path, d).iter().any(|t| t != path)
            });
            !root && !mentioned.contains(path)
        }
        // In a hidden folder, a root applied by hand applies the live tree; an archived Flux
        // Kustomization or Application whose path leads into the same hidden folder is
        // archived with what it applied.
        Evidence::Hidden => {
            let hidden = hidden_folder(path).unwrap_or_default();
            let root = graph.files[path].docs.iter().any(|d| {
                is_engine_object(d)
                    && graph
                        .engine_targets(path, d)
                        .iter()
                        .any(|t| t != path && !t.starts_with(&hidden))
            });
            !root && !mentioned.contains(path)
        }
        // Inside a tree the engine applies, a Flux Kustomization is not a root applied by
        // hand (Flux's own root applies itself, from the sync path); an Argo CD Application
        // may be (the app-of-apps applied once with kubectl). A script that names the file or
        // its folder applies it.
        // A tree whose Flux paths name no folder from the root: as under an applied tree, only
        // an Argo CD Application may be a root applied by hand, or a file a script names.
        Evidence::MissingFromRoot => {
            let argo_root = graph.files[path].docs.iter().any(|d| {
                d.class == Class::Object
                    && d.group() == "argoproj.io"
                    && graph.engine_targets(path, d).iter().any(|t| t != path)
            });
            !argo_root && !mentioned.contains(path)
        }
        // A script that applies the Component's folder (`kubectl apply -k`) or names the file
        // applies it.
        Evidence::UnusedComponent | Evidence::UnusedBase => {
            !mentioned.contains(path) && !folder_mentioned.contains(parent(path))
        }
        Evidence::UnderApplied => {
            let argo_root = graph.files[path].docs.iter().any(|d| {
                d.class == Class::Object
                    && d.group() == "argoproj.io"
                    && graph.engine_targets(path, d).iter().any(|t| t != path)
            });
            let self_applying = graph.files[path].docs.iter().any(|d| {
                is_engine_object(d) && graph.engine_targets(path, d).iter().any(|t| t == path)
            });
            !argo_root
                && !self_applying
                && !mentioned.contains(path)
                && !folder_mentioned.contains(parent(path))
        }
    });
    // Everything else is applied (by an engine, a kustomization, or by hand), and so is what
    // it reaches.
    let starts: Vec<String> = graph
        .files
        .keys()
        .filter(|p| !candidates.contains_key(*p))
        .cloned()
        .collect();
    let reached = graph.closure(starts);
    candidates
        .into_iter()
        .filter(|(path, _)| !reached.contains_key(path))
        .filter_map(|(path, candidate)| {
            let file = &graph.files.get(&path)?;
            file.has_objects().then(|| NotApplied {
                file: file.name.to_string(),
                why: format!(
                    "{}, and nothing else in the repository applies `{path}`",
                    candidate.why
                ),
                kind: if candidate.evidence == Evidence::KubeadmPatch {
                    SetAside::KubeadmPatch
                } else {
                    SetAside::NotApplied
                },
            })
        })
        .collect()
}

/// Set aside the findings on files nothing applies: each becomes a note that says why, and
/// each such file gets one `load/not-applied` note.
pub fn set_aside(diagnostics: &mut Vec<Diagnostic>, not_applied: &[NotApplied]) {
    if not_applied.is_empty() {
        return;
    }
    let by_file: BTreeMap<&str, &NotApplied> =
        not_applied.iter().map(|n| (n.file.as_str(), n)).collect();
    let mut set_aside_per_file: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for d in diagnostics.iter_mut() {
        if d.severity == Severity::Note {
            continue;
        }
        let Some(n) = d
            .location
            .as_ref()
            .and_then(|l| by_file.get(l.file.as_str()))
            .filter(|n| n.kind.sets_aside(&d.rule))
        else {
            continue;
        };
        set_aside_per_file
            .entry(n.file.as_str())
            .or_default()
            .insert(d.rule.clone());
        d.severity = Severity::Note;
        if let Some(open) = d.message.rfind(" (relied on: ") {
            d.message.truncate(open);
        }
        d.message.push_str(match n.kind {
            SetAside::KubeadmPatch => " — set aside: a kubeadm patch, merged into its component's static Pod by kubeadm, not applied as an object",
            SetAside::NotApplied => " — set aside: nothing in the repository applies this file",
            SetAside::Partial => " — set aside: this file is a patch of a live object, which holds what the patch leaves out",
            SetAside::CompletedElsewhere => " — set aside: it may be set where the repository cannot see",
        });
        let mut facts = std::mem::take(&mut d.facts);
        facts.push(n.why.clone());
        *d = d.clone().relying_on(facts);
    }
    for n in not_applied {
        let rules = set_aside_per_file.get(n.file.as_str());
        let what = match rules {
            Some(r) => format!(
                " ({} set aside as notes: {})",
                crate::count(r.len(), "rule"),
                r.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
            ),
            None => String::new(),
        };
        let note = if n.kind == SetAside::Partial {
            Diagnostic::note(
                PARTIAL_RULE_DOC.id,
                format!(
                    "{}: a partial object; required fields and the rules that need the whole object are not checked, the fields it sets are{what}",
                    n.why
                ),
            )
            .with_help("nothing to do; if the file is applied whole, apply it from a kustomization and it is judged in full")
        } else if n.kind == SetAside::CompletedElsewhere {
            Diagnostic::note(
                COMPLETED_ELSEWHERE_RULE_DOC.id,
                format!(
                    "{}: required fields it may set are not judged, everything else is{what}",
                    n.why
                ),
            )
            .with_help(
                "nothing to do; commit the patch file to have the built object judged in full",
            )
        } else if n.kind == SetAside::KubeadmPatch {
            Diagnostic::note(
                KUBEADM_PATCH_RULE_DOC.id,
                format!(
                    "kubeadm patch file: kubeadm merges it into its component's static Pod when it sets up the control plane; not judged as an object to apply{what}"
                ),
            )
            .with_help("nothing to do; if you apply this file with kubectl instead, move it out of the kubeadm patches directory")
        } else {
            Diagnostic::note(
                RULE_DOC.id,
                format!(
                    "applied by nothing in this repository: not judged as an object to apply{what}"
                ),
            )
            .with_help("if you apply this file by hand, list it in a kustomization; if it is no longer used, delete it")
        };
        let note = note.at(Location::file_only(n.file.clone()));
        // The partial-object and completed-elsewhere notes say their fact themselves.
        diagnostics.push(
            if matches!(n.kind, SetAside::Partial | SetAside::CompletedElsewhere) {
                note
            } else {
                note.relying_on([n.why.clone()])
            },
        );
    }
}
