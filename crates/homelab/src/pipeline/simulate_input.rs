//! What `homelab simulate` rolls out: the repository's objects (test fixtures left out) with
//! every Helm source rendered, the Application of each, the admission denials of the
//! repository's own Kyverno Enforce policies, and the nodes of `platform.toml` with the
//! labels, taints and reservations of their k3s configuration (`host/k3s/<node>/config.yaml`).

use super::{charts_stage, policy_stage, simulate_kustomize, CheckConfig, CheckOptions};
use anyhow::Context;
use homelab_diagnostics::Severity;
use homelab_manifest::{Class, Document, LoadOptions};
use homelab_simulate::{Denial, Input, Node, Object, Origin, Patch};
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The loaded repository, owned; [`Loaded::input`] borrows it for the simulation.
pub struct Loaded {
    root: PathBuf,
    documents: Vec<Document>,
    /// The Application that deploys each of the repository's own documents (by index).
    owners: Vec<Option<String>>,
    /// The kustomize patches merged into each of the repository's own documents.
    patched: Vec<Vec<usize>>,
    patches: Vec<simulate_kustomize::Patch>,
    first_rendered: usize,
    rendered: homelab_charts::Rendered,
    denials: Vec<(usize, String)>,
    nodes: Vec<Node>,
    assumptions: Vec<String>,
    incomplete: bool,
    unrendered: Vec<(usize, String)>,
    application_health: Option<homelab_diagnostics::Location>,
}

/// Kinds that describe how to build a repository, never applied to a cluster.
fn is_build_file(doc: &Document) -> bool {
    matches!(
        doc.group(),
        "kustomize.config.k8s.io" | "config.kubernetes.io" | "cli.kyverno.io"
    ) || doc.kind() == Some("Chart")
}

pub fn load(root: &Path, chart_dirs: &[PathBuf], helm: Option<&Path>) -> anyhow::Result<Loaded> {
    let config = CheckConfig::discover(Some(root))?;
    let mut loaded = homelab_manifest::load(&[root.to_path_buf()], &LoadOptions::default());
    let _ = super::test_fixtures::drop(&mut loaded);
    // What kustomize and Flux make of the files (namespaces, labels, patches that are not
    // objects), so that each object is simulated where and as it will be applied.
    let _ = homelab_manifest::engines::apply(&mut loaded, Some(root));
    // Then the rest of what kustomize does: patches, name prefixes, annotations, images.
    let kustomized = simulate_kustomize::apply(&mut loaded.documents);
    let deployed = Deployed::of(&loaded, root);
    let mut application_health = application_health_check(&loaded.documents, root);
    let mut owners = Vec::new();
    let mut patched = Vec::new();
    let mut documents: Vec<Document> = Vec::new();
    for d in loaded.documents {
        if d.class != Class::Object || is_build_file(&d) {
            continue;
        }
        let rel = relative(root, &d.source.name);
        // Files under tests/ are fixtures of the repository's own test suites.
        if rel.as_deref().is_some_and(|p| p.starts_with("tests/")) {
            continue;
        }
        match rel.as_deref().map(|r| deployed.owner(r)) {
            Some(Ownership::NotApplied) => continue,
            Some(Ownership::By(app)) => owners.push(Some(app)),
            _ => owners.push(None),
        }
        patched.push(
            kustomized
                .patched
                .get(&simulate_kustomize::key(&d))
                .cloned()
                .unwrap_or_default(),
        );
        documents.push(d);
    }
    let mut options = CheckOptions {
        paths: vec![root.to_path_buf()],
        chart_dirs: chart_dirs.to_vec(),
        helm: helm.map(Path::to_path_buf),
        ..Default::default()
    };
    if options.helm.is_none() {
        options.helm = homelab_charts::helm::locate(None).ok();
    }
    let version = config.kubernetes_version.clone();
    let rendered = charts_stage::render(&documents, Some(root), &config, &options, version);
    let mut assumptions: Vec<String> = kustomized.assumptions.iter().cloned().collect();
    let mut incomplete = false;
    let mut unrendered = Vec::new();
    for d in &rendered.diagnostics {
        if d.severity != Severity::Note || d.rule == "charts/not-rendered" {
            incomplete = true;
            assumptions.push(format!("not simulated: {}", d.message));
        }
    }
    // Applications with a Helm chart source of which nothing was rendered: what they
    // create is unknown (the snapshot marks them, so that verify does not judge it absent).
    let made_for: std::collections::HashSet<&str> = rendered
        .documents
        .iter()
        .filter_map(|d| rendered.provenance.origin(d))
        .map(|(record, _)| record.declared_by.as_str())
        .collect();
    for (i, doc) in documents.iter().enumerate() {
        if doc.group() != "argoproj.io" || doc.kind() != Some("Application") {
            continue;
        }
        let spec = &doc.value["spec"];
        let charts: Vec<&str> = spec
            .get("sources")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .chain(spec.get("source"))
            .filter_map(|s| s.get("chart").and_then(serde_json::Value::as_str))
            .collect();
        let name = doc.name().unwrap_or_default();
        if charts.is_empty() || made_for.contains(format!("Application {name}").as_str()) {
            continue;
        }
        let reason = rendered
            .diagnostics
            .iter()
            .find(|d| d.message.contains(&format!("(Application {name})")))
            .map_or_else(
                || format!("its Helm chart {} was not rendered", charts.join(", ")),
                |d| d.message.clone(),
            );
        unrendered.push((i, reason));
    }
    if application_health.is_none() {
        // A chart-rendered argocd-cm (the argo-cd chart with its values).
        application_health = rendered.documents.iter().find_map(argocd_cm_health);
    }
    let first_rendered = documents.len();
    let mut rendered = rendered;
    documents.append(&mut rendered.documents);

    let (policy, _) = policy_stage::run(&documents);
    let index: HashMap<(String, String), usize> = documents
        .iter()
        .enumerate()
        .map(|(i, d)| ((d.source.name.clone(), d.id()), i))
        .collect();
    let denials = policy
        .into_iter()
        .filter(|d| d.severity == Severity::Error && d.path.is_some())
        .filter_map(|d| {
            let file = d.location.as_ref()?.file.clone();
            let i = *index.get(&(file, d.object.clone()?))?;
            Some((i, d.message))
        })
        .collect();

    let (nodes, node_assumptions) = nodes(root)?;
    assumptions.extend(node_assumptions);
    Ok(Loaded {
        root: root.to_path_buf(),
        documents,
        owners,
        patched,
        patches: kustomized.patches,
        first_rendered,
        rendered,
        denials,
        nodes,
        assumptions,
        incomplete,
        unrendered,
        application_health,
    })
}

/// The argocd-cm key that gives Applications a health check (Argo CD assesses none since 1.8).
const APPLICATION_HEALTH_KEY: &str = "resource.customizations.health.argoproj.io_Application";

/// The first YAML document of an embedded block (with the manifest parser's bounds).
fn yaml_value(text: &str) -> Option<serde_json::Value> {
    let (docs, _) = homelab_manifest::parse_str("-", text);
    docs.into_iter().next().map(|d| d.value)
}

/// Where an argocd-cm ConfigMap gives Applications a health check: the key of its own, or
/// the older `resource.customizations` block with a `health.lua` for argoproj.io/Application.
fn argocd_cm_health(doc: &Document) -> Option<homelab_diagnostics::Location> {
    if doc.group() != "" || doc.kind() != Some("ConfigMap") || doc.name() != Some("argocd-cm") {
        return None;
    }
    let data = doc.value.get("data")?;
    let given = |v: &serde_json::Value| v.as_str().is_some_and(|t| !t.trim().is_empty());
    if data.get(APPLICATION_HEALTH_KEY).is_some_and(given) {
        return Some(doc.location(&format!("/data/{APPLICATION_HEALTH_KEY}")));
    }
    let block = data.get("resource.customizations")?.as_str()?;
    let parsed = yaml_value(block)?;
    parsed
        .pointer("/argoproj.io~1Application/health.lua")
        .is_some_and(given)
        .then(|| doc.location("/data/resource.customizations"))
}

/// Where the repository configures Argo CD to assess Applications' health: an argocd-cm
/// ConfigMap it applies, or the `configs.cm` values that an Application of the argo-cd chart
/// gives it (inline, or in a values file of this repository).
fn application_health_check(
    documents: &[Document],
    root: &Path,
) -> Option<homelab_diagnostics::Location> {
    let objects = || documents.iter().filter(|d| d.class == Class::Object);
    if let Some(at) = objects().find_map(argocd_cm_health) {
        return Some(at);
    }
    let pointer = format!("/configs/cm/{APPLICATION_HEALTH_KEY}");
    let given = |v: &serde_json::Value| v.as_str().is_some_and(|t| !t.trim().is_empty());
    let mut value_files = Vec::new();
    for app in objects().filter(|d| d.group() == "argoproj.io" && d.kind() == Some("Application")) {
        let spec = &app.value["spec"];
        let sources: Vec<(String, &serde_json::Value)> =
            match spec.get("sources").and_then(serde_json::Value::as_array) {
                Some(list) => list
                    .iter()
                    .enumerate()
                    .map(|(i, s)| (format!("/spec/sources/{i}"), s))
                    .collect(),
                None => spec
                    .get("source")
                    .map(|s| ("/spec/source".to_string(), s))
                    .into_iter()
                    .collect(),
            };
        for (at, source) in sources {
            if source.get("chart").and_then(serde_json::Value::as_str) != Some("argo-cd") {
                continue;
            }
            let inline = format!("{at}/helm/valuesObject{pointer}");
            if app.value.pointer(&inline).is_some_and(given) {
                return Some(app.location(&inline));
            }
            if let Some(text) = source
                .pointer("/helm/values")
                .and_then(serde_json::Value::as_str)
            {
                if yaml_value(text)
                    .and_then(|v| v.pointer(&pointer).cloned())
                    .is_some_and(|v| given(&v))
                {
                    return Some(app.location(&format!("{at}/helm/values")));
                }
            }
            for file in source
                .pointer("/helm/valueFiles")
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(serde_json::Value::as_str)
            {
                // `$ref/path` names a file of the source with that ref (this repository).
                if let Some((_, path)) = file.strip_prefix('$').and_then(|f| f.split_once('/')) {
                    value_files.push(path.trim_start_matches("./").to_string());
                }
            }
        }
    }
    documents.iter().find_map(|d| {
        let rel = relative(root, &d.source.name)?;
        (value_files.contains(&rel) && d.value.pointer(&pointer).is_some_and(given))
            .then(|| d.location(&pointer))
    })
}

/// What the repository's Applications deploy from it: ArgoCD builds a source folder with
/// kustomize when it holds a kustomization (only the files its `resources` reach are
/// applied), else applies its files (those of sub-folders only with `directory.recurse`).
struct Deployed {
    apps: Vec<(String, Vec<homelab_rules::Deployment>)>,
}

enum Ownership {
    /// Deployed by this Application (the one with the deepest folder when several are).
    By(String),
    /// In a folder an Application deploys, but not among what it applies.
    NotApplied,
    /// Outside every Application's folder (applied by hand, or not by ArgoCD).
    Outside,
}

impl Deployed {
    fn of(loaded: &homelab_manifest::Loaded, root: &Path) -> Deployed {
        let repo =
            homelab_rules::Repo::new(&loaded.documents, &loaded.sources, Some(root.to_path_buf()));
        let apps = loaded
            .documents
            .iter()
            .filter(|d| d.class == Class::Object)
            .filter(|d| d.group() == "argoproj.io" && d.kind() == Some("Application"))
            .map(|d| {
                (
                    d.name().unwrap_or_default().to_string(),
                    homelab_rules::deployments(&repo, d),
                )
            })
            .collect();
        Deployed { apps }
    }

    fn owner(&self, file: &str) -> Ownership {
        let mut best: Option<(&str, usize)> = None;
        let mut under_some = false;
        for (name, deployments) in &self.apps {
            for d in deployments {
                let dir = d.dir.as_str();
                if dir.is_empty() || file.starts_with(&format!("{dir}/")) {
                    under_some = true;
                }
                if d.contains(file) && best.is_none_or(|(_, len)| dir.len() > len) {
                    best = Some((name, dir.len()));
                }
            }
        }
        match best {
            Some((name, _)) => Ownership::By(name.to_string()),
            None if under_some => Ownership::NotApplied,
            None => Ownership::Outside,
        }
    }
}

fn relative(root: &Path, name: &str) -> Option<String> {
    let rel = Path::new(name).strip_prefix(root).ok()?;
    Some(rel.to_string_lossy().replace('\\', "/"))
}

impl Loaded {
    pub fn input(&self) -> Input<'_> {
        let mut objects: Vec<Object<'_>> = self
            .documents
            .iter()
            .enumerate()
            .map(|(i, doc)| {
                if i < self.first_rendered {
                    return Object {
                        doc,
                        application: self.owners.get(i).cloned().flatten(),
                        repo_path: relative(&self.root, &doc.source.name),
                        origin: None,
                        patches: self
                            .patched
                            .get(i)
                            .into_iter()
                            .flatten()
                            .filter_map(|&p| self.patches.get(p))
                            .map(|p| Patch {
                                doc: &p.doc,
                                operations: p.operations,
                                inline_at: p.inline_at.as_ref(),
                            })
                            .collect(),
                    };
                }
                let origin = self.rendered.provenance.origin(doc);
                Object {
                    doc,
                    application: origin.and_then(|(r, _)| {
                        r.declared_by
                            .strip_prefix("Application ")
                            .map(str::to_string)
                    }),
                    repo_path: None,
                    origin: origin.map(|(record, template)| Origin {
                        description: format!(
                            "{}, template {}, rendered for {}",
                            record.chart,
                            template.unwrap_or("?"),
                            record.declared_by
                        ),
                        at: record.at.clone(),
                    }),
                    patches: Vec::new(),
                }
            })
            .collect();
        homelab_simulate::assign_applications(&mut objects);
        Input {
            objects,
            nodes: self.nodes.clone(),
            denials: self
                .denials
                .iter()
                .map(|(i, reason)| Denial {
                    object: *i,
                    reason: reason.clone(),
                })
                .collect(),
            assumptions: self.assumptions.clone(),
            incomplete: self.incomplete,
            unrendered: self.unrendered.clone(),
            application_health: self.application_health.clone(),
        }
    }
}

/// Files this size or larger are not configuration: refused rather than read.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// A file of the repository, read without following links (the repository is untrusted:
/// a link must not make `simulate` read or quote a host file).
fn read_in_repo(tree: &homelab_fs::Tree, rel: &str) -> anyhow::Result<Option<String>> {
    let rel = tree.rel(rel).map_err(|e| anyhow::anyhow!("{e}"))?;
    match tree
        .read(&rel, MAX_CONFIG_BYTES)
        .map_err(|e| anyhow::anyhow!("{e}"))?
    {
        homelab_fs::Entry::Missing => Ok(None),
        homelab_fs::Entry::File(bytes) => Ok(Some(String::from_utf8(bytes).map_err(|_| {
            anyhow::anyhow!("{}: not UTF-8 text", tree.display(rel.as_str()).display())
        })?)),
    }
}

/// A node name that is a single path component of the repository (a DNS name).
fn is_node_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

/// The nodes of `platform.toml` (none, with an assumption, when the repository has none).
fn nodes(root: &Path) -> anyhow::Result<(Vec<Node>, Vec<String>)> {
    let tree = homelab_fs::Tree::open(root).with_context(|| root.display().to_string())?;
    let Some(text) = read_in_repo(&tree, "platform.toml")? else {
        return Ok((
            Vec::new(),
            vec!["the repository has no platform.toml: its nodes are unknown".to_string()],
        ));
    };
    let display = root.join("platform.toml").display().to_string();
    let config = homelab_platform::config::parse(&text, &display).map_err(|e| {
        anyhow::anyhow!("{e}\n(fix platform.toml: simulate schedules on its nodes)")
    })?;
    let mut problems = Vec::new();
    let mut nodes = Vec::new();
    for n in &config.nodes {
        let gpus = n.gpu.as_ref().map_or(0, |g| g.count);
        let mut node = Node::new(&n.name, n.cores, n.memory_gb, gpus);
        let k3s_config = if is_node_name(&n.name) {
            let rel = format!("host/k3s/{}/config.yaml", n.name);
            read_in_repo(&tree, &rel)?.and_then(|text| {
                let name = root.join(&rel).display().to_string();
                let (docs, _) = homelab_manifest::parse_str(&name, &text);
                docs.into_iter().map(|d| d.value).find(|v| v.is_object())
            })
        } else {
            None
        };
        let k3s_config = k3s_config.unwrap_or_else(|| {
            problems.push(format!(
                "node {}: no host/k3s/<node>/config.yaml, so no labels or taints beyond the kubelet's",
                n.name
            ));
            json!({"kubelet-arg": [format!(
                "system-reserved=cpu={},memory={}",
                config.k3s.reserved_cpu, config.k3s.reserved_memory
            )]})
        });
        for p in node.apply_k3s_config(&k3s_config) {
            problems.push(format!("node {}: {p}", n.name));
        }
        nodes.push(node);
    }
    Ok((nodes, problems))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_stay_one_path_component() {
        assert!(is_node_name("akula-prime"));
        assert!(is_node_name("node1.lan"));
        for bad in ["", "..", "../etc", "a/b", ".hidden", "UPPER"] {
            assert!(!is_node_name(bad), "{bad}");
        }
    }

    #[test]
    fn links_out_of_the_repository_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "node-label: [x]\n").unwrap();
        std::fs::create_dir_all(dir.path().join("host/k3s/n1")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret"),
            dir.path().join("host/k3s/n1/config.yaml"),
        )
        .unwrap();
        let tree = homelab_fs::Tree::open(dir.path()).unwrap();
        assert!(read_in_repo(&tree, "host/k3s/n1/config.yaml").is_err());
        assert!(read_in_repo(&tree, "host/k3s/n2/config.yaml")
            .unwrap()
            .is_none());
    }
}
