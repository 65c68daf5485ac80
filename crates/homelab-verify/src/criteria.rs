//! The checks: one function per success criterion, each a pure function of the objects and
//! the expectations. Evidence strings name the object (`Kind namespace/name`), the field and
//! what was expected. Secret values are never read (only names, labels and key names).

use crate::{Criterion, Expectations, Mark};
use homelab_k8s::namespaces::is_system_namespace;
use homelab_k8s::network_policy::{denies_all, Direction};
use homelab_k8s::{Quantity, ResourceExt};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Evaluates every success criterion of the guide, in the guide's order.
pub fn evaluate(objects: &[Value], exp: &Expectations) -> Vec<Criterion> {
    let mut by_kind: HashMap<(&str, &str), Vec<&Value>> = HashMap::new();
    for o in objects {
        if let Some(kind) = str_at(o, "/kind") {
            by_kind.entry((api_group(o), kind)).or_default().push(o);
        }
    }
    let cx = Cx { by_kind, exp };
    vec![
        not_checkable(
            "host-btrfs-subvolume",
            STORAGE,
            "btrfs subvolume at /var/lib/longhorn with zstd:1 compression",
            "the host filesystem is not visible through the Kubernetes API: run `homelab host check` on each storage node",
        ),
        storage_classes(&cx),
        recurring_snapshots(&cx),
        not_checkable(
            "host-btrfs-snapshots",
            STORAGE,
            "btrfs host snapshots scheduled weekly",
            "systemd timers are not visible through the Kubernetes API: run `homelab host check` on each storage node",
        ),
        app_of_apps(&cx),
        multi_source(&cx),
        apps_synced_healthy(&cx),
        sync_waves(&cx),
        sealed_secrets(&cx),
        not_checkable(
            "sealing-key-backup",
            GITOPS,
            "SealedSecrets keys backed up securely (workflow documented and tested)",
            "the backup lives outside the cluster: run `homelab secrets check-backup --keys BACKUP.yaml` on the repository",
        ),
        gitlab_running(&cx),
        gitlab_memory(&cx),
        not_checkable(
            "gitlab-registry",
            GITLAB,
            "Container registry functional with garbage collection",
            "needs a push/pull through the registry and its garbage-collection logs; not visible in object state",
        ),
        gitlab_runner(&cx),
        not_checkable(
            "client-certificates",
            GITLAB,
            "Self-signed certificates distributed to clients",
            "client trust stores are outside the cluster: see docs/certificates.md and scripts/distribute-ca.sh",
        ),
        arc_controller(&cx),
        arc_scale_sets(&cx),
        arc_github_app(&cx),
        arc_runner_group(&cx),
        pod_security(&cx),
        default_deny(&cx),
        trivy(&cx),
        not_checkable(
            "repository-guardrails",
            TESTING,
            "Pre-commit hooks, CI pipeline, Ruff, ShellCheck + shfmt, yamllint, helm-docs",
            "these live in the GitOps repository, not the cluster: run `homelab check` on the repository",
        ),
        kyverno_enforce(&cx),
        policy_reports(&cx),
    ]
}

const STORAGE: &str = "Storage Infrastructure";
const GITOPS: &str = "GitOps Platform";
const GITLAB: &str = "GitLab Deployment";
const RUNNERS: &str = "GitHub Runners";
const SECURITY: &str = "Security Posture";
const TESTING: &str = "Testing Pipeline";

const PSS_ENFORCE: &str = "pod-security.kubernetes.io/enforce";
const SEALING_KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";
/// What `homelab simulate --emit-snapshot` marks: objects it made up, and Applications whose
/// objects it could not know.
const SIMULATED: &str = "homelab.dev/simulated";
const NOT_SIMULATED: &str = "homelab.dev/not-simulated";

struct Cx<'a> {
    /// Objects by (API group, kind): every check looks up its kinds here, so a snapshot of
    /// many thousands of Pods is walked once, not once per namespace.
    by_kind: HashMap<(&'a str, &'a str), Vec<&'a Value>>,
    exp: &'a Expectations,
}

impl<'a> Cx<'a> {
    /// Objects of an API group (`""` for core) and kind.
    fn all(&self, group: &str, kind: &str) -> Vec<&'a Value> {
        self.by_kind
            .get(&(group, kind))
            .cloned()
            .unwrap_or_default()
    }

    /// Whether the snapshot is a prediction of `homelab simulate` (its Nodes are marked):
    /// what only a running cluster produces (scan results, reports) cannot be in it.
    fn simulated(&self) -> bool {
        self.all("", "Node")
            .iter()
            .any(|n| annotation(n, SIMULATED) == Some("true"))
    }

    /// Why a simulated snapshot cannot show namespace `ns`'s objects: an Application that
    /// deploys into it was not simulated (its Helm chart was not rendered).
    fn not_simulated(&self, ns: &str) -> Option<String> {
        self.all("argoproj.io", "Application")
            .iter()
            .find_map(|app| {
                let why = annotation(app, NOT_SIMULATED)?;
                (str_at(app, "/spec/destination/namespace") == Some(ns)).then(|| {
                    format!(
                        "{} was not simulated ({why}): its objects are not in the snapshot",
                        id(app)
                    )
                })
            })
    }

    /// Why a simulated snapshot cannot show what Application `app` deploys: it was not
    /// simulated (its Helm chart was not rendered).
    fn not_simulated_app(&self, app: &str) -> Option<String> {
        self.all("argoproj.io", "Application").iter().find_map(|a| {
            let why = annotation(a, NOT_SIMULATED)?;
            (name(a) == app).then(|| {
                format!(
                    "{} was not simulated ({why}): its objects are not in the snapshot",
                    id(a)
                )
            })
        })
    }

    fn in_ns(&self, group: &str, kind: &str, ns: &str) -> Vec<&'a Value> {
        self.by_kind
            .get(&(group, kind))
            .into_iter()
            .flatten()
            .copied()
            .filter(|o| namespace(o) == ns)
            .collect()
    }
}

/// What a criterion found: failures, things that could not be judged, and passes.
#[derive(Default)]
struct Verdict {
    bad: Vec<String>,
    unknown: Vec<String>,
    ok: Vec<String>,
}

impl Verdict {
    fn fail(&mut self, s: impl Into<String>) {
        self.bad.push(s.into());
    }
    fn unknown(&mut self, s: impl Into<String>) {
        self.unknown.push(s.into());
    }
    fn pass(&mut self, s: impl Into<String>) {
        self.ok.push(s.into());
    }

    fn finish(self, id: &'static str, area: &'static str, title: &str) -> Criterion {
        let status = if !self.bad.is_empty() {
            Mark::NotMet
        } else if !self.unknown.is_empty() {
            Mark::NotCheckable
        } else {
            Mark::Met
        };
        let mut evidence = self.bad;
        evidence.extend(self.unknown);
        evidence.extend(self.ok);
        Criterion {
            id,
            area,
            title: title.to_owned(),
            status,
            evidence,
        }
    }
}

fn not_checkable(id: &'static str, area: &'static str, title: &str, why: &str) -> Criterion {
    Criterion {
        id,
        area,
        title: title.to_owned(),
        status: Mark::NotCheckable,
        evidence: vec![why.to_owned()],
    }
}

fn skipped(id: &'static str, area: &'static str, title: &str, component: &str) -> Criterion {
    Criterion {
        id,
        area,
        title: title.to_owned(),
        status: Mark::Skipped,
        evidence: vec![format!(
            "component `{component}` is switched off in platform.toml"
        )],
    }
}

// ---------------------------------------------------------------------------------------------
// Field access

fn at<'v>(o: &'v Value, pointer: &str) -> Option<&'v Value> {
    o.pointer(pointer)
}

fn str_at<'v>(o: &'v Value, pointer: &str) -> Option<&'v str> {
    o.pointer(pointer).and_then(Value::as_str)
}

/// A scalar as text (`"2"` and `2` both give `2`).
fn scalar_at(o: &Value, pointer: &str) -> Option<String> {
    match o.pointer(pointer)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn int_at(o: &Value, pointer: &str) -> Option<i64> {
    match o.pointer(pointer)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn api_group(o: &Value) -> &str {
    o.group()
}

fn name(o: &Value) -> &str {
    o.name().unwrap_or("<unnamed>")
}

fn namespace(o: &Value) -> &str {
    o.namespace().unwrap_or("")
}

fn label<'v>(o: &'v Value, key: &str) -> Option<&'v str> {
    o.label(key)
}

fn has_label(o: &Value, key: &str) -> bool {
    o.get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(|l| l.get(key))
        .is_some()
}

fn annotation<'v>(o: &'v Value, key: &str) -> Option<&'v str> {
    o.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

/// `Kind namespace/name` or `Kind name`.
fn id(o: &Value) -> String {
    let kind = str_at(o, "/kind").unwrap_or("?");
    match namespace(o) {
        "" => format!("{kind} {}", name(o)),
        ns => format!("{kind} {ns}/{}", name(o)),
    }
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// A status condition of the given type is `True`.
fn condition(o: &Value, kind: &str) -> Option<bool> {
    let conditions = at(o, "/status/conditions")?.as_array()?;
    conditions
        .iter()
        .find(|c| str_at(c, "/type") == Some(kind))
        .map(|c| str_at(c, "/status").is_some_and(|s| s.eq_ignore_ascii_case("true")))
}

// ---------------------------------------------------------------------------------------------
// Workloads

/// Whether a controller runs in `ns`: a Deployment/StatefulSet/DaemonSet whose name matches
/// with at least one ready replica, or failing that a Running Pod whose name matches.
fn running(cx: &Cx, v: &mut Verdict, ns: &str, what: &str, matches: impl Fn(&str) -> bool) {
    let mut found = Vec::new();
    for (kind, field) in [
        ("Deployment", "/status/availableReplicas"),
        ("StatefulSet", "/status/readyReplicas"),
        ("DaemonSet", "/status/numberReady"),
    ] {
        for o in cx.in_ns("apps", kind, ns) {
            if matches(name(o)) {
                let ready = if at(o, "/status").is_some() {
                    Some(int_at(o, field).unwrap_or(0))
                } else {
                    None
                };
                found.push((o, ready));
            }
        }
    }
    if let Some((o, Some(n))) = found.iter().find(|(_, r)| r.is_some_and(|n| n >= 1)) {
        v.pass(format!("{what}: {} has {n} ready replica(s)", id(o)));
        return;
    }
    let running_pod = cx
        .in_ns("", "Pod", ns)
        .into_iter()
        .find(|p| matches(name(p)) && str_at(p, "/status/phase") == Some("Running"));
    if let Some(p) = running_pod {
        v.pass(format!("{what}: {} is Running", id(p)));
        return;
    }
    if let Some((o, _)) = found.iter().find(|(_, r)| r.is_some()) {
        v.fail(format!(
            "{what}: {} has no ready replica (status shows 0; spec.replicas {})",
            id(o),
            scalar_at(o, "/spec/replicas").unwrap_or_else(|| "1".into())
        ));
    } else if let Some((o, _)) = found.first() {
        v.unknown(format!(
            "{what}: {} has no status in the snapshot (take it from a live cluster)",
            id(o)
        ));
    } else if let Some(why) = cx.not_simulated(ns) {
        // A prediction that could not render the chart installing it knows nothing of it.
        v.unknown(format!("{what}: {why}"));
    } else {
        v.fail(format!(
            "{what}: no Deployment, StatefulSet, DaemonSet or Running Pod found in namespace {ns}"
        ));
    }
}

/// Pod phase and container readiness: `Ok(())` when Running with every container ready.
fn pod_problem(p: &Value) -> Option<String> {
    let phase = str_at(p, "/status/phase")?;
    if phase == "Succeeded" {
        return None;
    }
    if phase != "Running" {
        return Some(format!(
            "{}: status.phase is {phase}, expected Running",
            id(p)
        ));
    }
    let not_ready: Vec<&str> = at(p, "/status/containerStatuses")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(false))
                .map(|c| str_at(c, "/name").unwrap_or("?"))
                .collect()
        })
        .unwrap_or_default();
    if not_ready.is_empty() {
        None
    } else {
        Some(format!(
            "{}: Running but containers not ready: {}",
            id(p),
            not_ready.join(", ")
        ))
    }
}

/// Every Pod of a namespace Running and ready.
fn pods_running(cx: &Cx, v: &mut Verdict, ns: &str) {
    if cx.all("", "Pod").is_empty() {
        v.unknown("the snapshot holds no Pods: include `pods` to judge");
        return;
    }
    let pods = cx.in_ns("", "Pod", ns);
    if pods.is_empty() {
        match cx.not_simulated(ns) {
            Some(why) => v.unknown(why),
            None => v.fail(format!("no Pods in namespace {ns}")),
        }
        return;
    }
    let mut good = 0;
    for p in &pods {
        if str_at(p, "/status/phase").is_none() {
            v.unknown(format!("{}: no status.phase in the snapshot", id(p)));
        } else if let Some(problem) = pod_problem(p) {
            v.fail(problem);
        } else {
            good += 1;
        }
    }
    v.pass(format!(
        "{good} of {} Pods in namespace {ns} Running/Completed",
        pods.len()
    ));
}

// ---------------------------------------------------------------------------------------------
// Storage

fn storage_classes(cx: &Cx) -> Criterion {
    let exp = cx.exp;
    let mut v = Verdict::default();
    let scs = cx.all("storage.k8s.io", "StorageClass");
    let mut check = |class: &str, replicas: u32, locality: &str, default: bool| {
        let Some(sc) = scs.iter().find(|o| name(o) == class) else {
            v.fail(format!(
                "StorageClass {class} not found (expected provisioner driver.longhorn.io, numberOfReplicas \"{replicas}\", dataLocality {locality})"
            ));
            return;
        };
        let before = v.bad.len();
        let prov = str_at(sc, "/provisioner").unwrap_or("");
        if prov != "driver.longhorn.io" {
            v.fail(format!(
                "StorageClass {class}: provisioner is `{prov}`, expected driver.longhorn.io"
            ));
        }
        let got = scalar_at(sc, "/parameters/numberOfReplicas").unwrap_or_default();
        if got != replicas.to_string() {
            v.fail(format!(
                "StorageClass {class}: parameters.numberOfReplicas is \"{got}\", expected \"{replicas}\""
            ));
        }
        let got = str_at(sc, "/parameters/dataLocality").unwrap_or("disabled");
        if got != locality {
            v.fail(format!(
                "StorageClass {class}: parameters.dataLocality is {got}, expected {locality}"
            ));
        }
        if default && !is_default_class(sc) {
            v.fail(format!(
                "StorageClass {class}: not the default class (annotation storageclass.kubernetes.io/is-default-class: \"true\" expected)"
            ));
        }
        if v.bad.len() == before {
            v.pass(format!(
                "StorageClass {class}: driver.longhorn.io, {replicas} replica(s), {locality}{}",
                if default { ", default class" } else { "" }
            ));
        }
    };
    check(
        &exp.default_class,
        exp.default_replicas,
        "best-effort",
        true,
    );
    if let Some(gpu) = &exp.gpu_class {
        check(gpu, 1, "strict-local", false);
    }
    for sc in &scs {
        if name(sc) != exp.default_class && is_default_class(sc) {
            v.fail(format!(
                "StorageClass {} is also marked default: set its storageclass.kubernetes.io/is-default-class annotation to \"false\" (k3s: start with --disable local-storage or patch it)",
                name(sc)
            ));
        }
    }
    v.finish(
        "longhorn-storage-classes",
        STORAGE,
        "Longhorn installed with 2-replica default, 1-replica GPU-local storage classes",
    )
}

fn is_default_class(sc: &Value) -> bool {
    [
        "storageclass.kubernetes.io/is-default-class",
        "storageclass.beta.kubernetes.io/is-default-class",
    ]
    .iter()
    .any(|k| annotation(sc, k).is_some_and(|v| v.eq_ignore_ascii_case("true")))
}

/// A five-field cron expression that fires once a day (fixed minute and hour, every day).
fn is_daily(cron: &str) -> bool {
    let cron = cron.trim();
    if cron == "@daily" || cron == "@midnight" {
        return true;
    }
    let f: Vec<&str> = cron.split_whitespace().collect();
    let fixed = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    f.len() == 5 && fixed(f[0]) && fixed(f[1]) && f[2] == "*" && f[3] == "*" && f[4] == "*"
}

fn recurring_snapshots(cx: &Cx) -> Criterion {
    let retain = cx.exp.snapshot_retain;
    let mut v = Verdict::default();
    let jobs = cx.all("longhorn.io", "RecurringJob");
    let snapshot_jobs: Vec<&Value> = jobs
        .iter()
        .copied()
        .filter(|j| str_at(j, "/spec/task") == Some("snapshot"))
        .collect();
    let good: Vec<&Value> = snapshot_jobs
        .iter()
        .copied()
        .filter(|j| {
            is_daily(str_at(j, "/spec/cron").unwrap_or(""))
                && int_at(j, "/spec/retain").unwrap_or(0) >= i64::from(retain)
        })
        .collect();
    if good.is_empty() {
        if snapshot_jobs.is_empty() {
            let names: Vec<&str> = jobs.iter().map(|j| name(j)).collect();
            v.fail(format!(
                "no longhorn.io RecurringJob with task snapshot (RecurringJobs found: {})",
                list(&names)
            ));
        }
        for j in &snapshot_jobs {
            v.fail(format!(
                "{}: cron \"{}\" retain {}, expected a daily cron and retain >= {retain}",
                id(j),
                str_at(j, "/spec/cron").unwrap_or(""),
                scalar_at(j, "/spec/retain").unwrap_or_else(|| "unset".into())
            ));
        }
    } else if let Some(j) = good.iter().find(|j| in_default_group(j)) {
        v.pass(format!(
            "{}: task snapshot, cron \"{}\", retain {}, group default",
            id(j),
            str_at(j, "/spec/cron").unwrap_or(""),
            scalar_at(j, "/spec/retain").unwrap_or_default()
        ));
    } else {
        v.unknown(format!(
            "{} is daily with retain >= {retain} but not in group `default`: it covers only volumes labelled recurring-job.longhorn.io/{} (volume labels not verified)",
            id(good[0]),
            name(good[0])
        ));
    }
    v.finish(
        "longhorn-recurring-snapshots",
        STORAGE,
        "Recurring Longhorn snapshots configured (daily, 7-day retention)",
    )
}

fn in_default_group(j: &Value) -> bool {
    at(j, "/spec/groups")
        .and_then(Value::as_array)
        .is_some_and(|g| g.iter().any(|x| x.as_str() == Some("default")))
}

// ---------------------------------------------------------------------------------------------
// ArgoCD

fn applications<'a>(cx: &Cx<'a>) -> Vec<&'a Value> {
    cx.all("argoproj.io", "Application")
}

fn app_of_apps(cx: &Cx) -> Criterion {
    let exp = cx.exp;
    let mut v = Verdict::default();
    let apps = applications(cx);
    match apps.iter().find(|a| name(a) == exp.root_app) {
        None => v.fail(format!(
            "root Application `{}` (app-of-apps) not found; {} other Application(s) present",
            exp.root_app,
            apps.len()
        )),
        Some(root) => {
            let managed = at(root, "/status/resources").and_then(Value::as_array);
            let children = match managed {
                Some(rs) => rs
                    .iter()
                    .filter(|r| str_at(r, "/kind") == Some("Application"))
                    .count(),
                None => apps
                    .iter()
                    .filter(|a| {
                        label(a, "app.kubernetes.io/instance") == Some(exp.root_app.as_str())
                            || annotation(a, "argocd.argoproj.io/tracking-id")
                                .is_some_and(|t| t.starts_with(&format!("{}:", exp.root_app)))
                    })
                    .count(),
            };
            if children == 0 && managed.is_none() && at(root, "/status").is_none() {
                v.unknown(format!(
                    "{} present but has no status: which Applications it manages is not visible",
                    id(root)
                ));
            } else if children == 0 {
                v.fail(format!(
                    "{} manages no Application (status.resources lists none)",
                    id(root)
                ));
            } else {
                v.pass(format!("{} manages {children} Application(s)", id(root)));
            }
        }
    }
    running(
        cx,
        &mut v,
        &exp.argocd_namespace,
        "ArgoCD application controller",
        |n| n.contains("application-controller"),
    );
    v.finish(
        "argocd-app-of-apps",
        GITOPS,
        "ArgoCD deployed with app-of-apps bootstrapping",
    )
}

fn multi_source(cx: &Cx) -> Criterion {
    let mut v = Verdict::default();
    let apps = applications(cx);
    let mut multi = 0;
    for a in &apps {
        if let Some(chart) = str_at(a, "/spec/source/chart") {
            v.fail(format!(
                "{}: single source (chart {chart}); public chart + private values need spec.sources with a `ref: values` source",
                id(a)
            ));
        } else if let Some(sources) = at(a, "/spec/sources").and_then(Value::as_array) {
            let chart = sources.iter().find_map(|s| str_at(s, "/chart"));
            let has_ref = sources.iter().any(|s| str_at(s, "/ref").is_some());
            match (chart, has_ref) {
                (Some(c), false) => v.fail(format!(
                    "{}: spec.sources has chart {c} but no `ref` source for private values",
                    id(a)
                )),
                (Some(_), true) => multi += 1,
                _ => {}
            }
        }
    }
    if apps.is_empty() {
        v.fail("no argoproj.io Application found");
    } else if multi == 0 && v.bad.is_empty() {
        v.unknown("no Application deploys a public Helm chart");
    } else {
        v.pass(format!(
            "{multi} Application(s) use a public chart plus a `ref` values source"
        ));
    }
    v.finish(
        "argocd-multi-source",
        GITOPS,
        "Multi-source Applications configured for public charts + private values",
    )
}

fn apps_synced_healthy(cx: &Cx) -> Criterion {
    let mut v = Verdict::default();
    let apps = applications(cx);
    if apps.is_empty() {
        v.fail("no argoproj.io Application found");
    }
    for (expected, _) in &cx.exp.apps {
        if !apps.iter().any(|a| name(a) == expected) {
            v.fail(format!(
                "Application {expected} (rendered from platform.toml) not found"
            ));
        }
    }
    let mut good = 0;
    for a in &apps {
        let sync = str_at(a, "/status/sync/status");
        let health = str_at(a, "/status/health/status");
        if sync.is_none() && health.is_none() {
            v.unknown(format!(
                "{}: no status.sync/status.health in the snapshot",
                id(a)
            ));
            continue;
        }
        let mut ok = true;
        if sync != Some("Synced") {
            ok = false;
            v.fail(format!(
                "{}: status.sync.status is {}, expected Synced",
                id(a),
                sync.unwrap_or("unset")
            ));
        }
        if health != Some("Healthy") {
            ok = false;
            v.fail(format!(
                "{}: status.health.status is {}, expected Healthy",
                id(a),
                health.unwrap_or("unset")
            ));
        }
        if ok {
            good += 1;
        }
    }
    if !apps.is_empty() {
        v.pass(format!(
            "{good} of {} Applications Synced and Healthy",
            apps.len()
        ));
    }
    v.finish(
        "argocd-apps-synced-healthy",
        GITOPS,
        "ArgoCD Applications Synced and Healthy",
    )
}

fn sync_waves(cx: &Cx) -> Criterion {
    let exp = cx.exp;
    let mut v = Verdict::default();
    let mut by_wave: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
    for a in applications(cx) {
        if name(a) == exp.root_app {
            continue;
        }
        let raw = annotation(a, "argocd.argoproj.io/sync-wave");
        let wave = match raw.map(|w| w.trim().parse::<i64>()) {
            None => 0,
            Some(Ok(w)) => w,
            Some(Err(_)) => {
                v.fail(format!(
                    "{}: annotation argocd.argoproj.io/sync-wave \"{}\" is not an integer",
                    id(a),
                    raw.unwrap_or("")
                ));
                continue;
            }
        };
        if !(-2..=3).contains(&wave) {
            v.fail(format!(
                "{}: sync wave {wave} is outside -2 through 3",
                id(a)
            ));
        }
        if let Some((_, want)) = exp.apps.iter().find(|(n, _)| n == name(a)) {
            if i64::from(*want) != wave {
                v.fail(format!(
                    "{}: sync wave {wave}, platform.toml says {want}",
                    id(a)
                ));
            }
        }
        by_wave.entry(wave).or_default().push(name(a));
    }
    for w in &exp.waves {
        if !by_wave.contains_key(&i64::from(*w)) {
            v.fail(format!(
                "no Application in sync wave {w} (expected waves {})",
                exp.waves
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    for (w, names) in &by_wave {
        v.pass(format!("wave {w}: {}", names.join(", ")));
    }
    v.finish(
        "argocd-sync-waves",
        GITOPS,
        "Sync waves ordered correctly (-2 through +3)",
    )
}

// ---------------------------------------------------------------------------------------------
// SealedSecrets

fn sealed_secrets(cx: &Cx) -> Criterion {
    const ID: &str = "sealed-secrets";
    const TITLE: &str = "SealedSecrets integrated (controller running, sealing key present)";
    let Some(ns) = &cx.exp.sealed_secrets else {
        return skipped(ID, GITOPS, TITLE, "sealed_secrets");
    };
    let mut v = Verdict::default();
    running(cx, &mut v, ns, "SealedSecrets controller", |n| {
        n.contains("sealed-secrets")
    });
    // Only names and labels of Secrets are looked at: never their data.
    let keys: Vec<&str> = cx
        .in_ns("", "Secret", ns)
        .into_iter()
        .filter(|s| has_label(s, SEALING_KEY_LABEL))
        .map(name)
        .collect();
    if let (true, Some(why)) = (keys.is_empty(), cx.not_simulated(ns)) {
        v.unknown(format!("sealing key: {why}"));
    } else if keys.is_empty() {
        v.fail(format!(
            "no Secret labelled {SEALING_KEY_LABEL} in namespace {ns}: the controller has no sealing key (or Secrets were left out of the snapshot)"
        ));
    } else {
        v.pass(format!(
            "sealing key Secret(s) in {ns}: {}",
            keys.join(", ")
        ));
    }
    let sealed = cx.all("bitnami.com", "SealedSecret");
    let (mut unsealed, mut no_status) = (0, 0);
    for s in &sealed {
        match condition(s, "Synced") {
            Some(true) => unsealed += 1,
            Some(false) => v.fail(format!(
                "{}: condition Synced is False (the controller could not unseal it)",
                id(s)
            )),
            None => no_status += 1,
        }
    }
    if !sealed.is_empty() {
        let mut line = format!(
            "{unsealed} of {} SealedSecrets unsealed (condition Synced)",
            sealed.len()
        );
        if no_status > 0 {
            line.push_str(&format!("; {no_status} without status, not judged"));
        }
        v.pass(line);
    }
    v.finish(ID, GITOPS, TITLE)
}

// ---------------------------------------------------------------------------------------------
// GitLab

fn gitlab_running(cx: &Cx) -> Criterion {
    const ID: &str = "gitlab-running";
    const TITLE: &str = "GitLab CE pods Running";
    let Some(ns) = &cx.exp.gitlab else {
        return skipped(ID, GITLAB, TITLE, "gitlab");
    };
    let mut v = Verdict::default();
    pods_running(cx, &mut v, ns);
    v.finish(ID, GITLAB, TITLE)
}

fn gitlab_memory(cx: &Cx) -> Criterion {
    const ID: &str = "gitlab-memory-baseline";
    const TITLE: &str = "GitLab CE running with <8GB RAM baseline (memory requests)";
    let Some(ns) = &cx.exp.gitlab else {
        return skipped(ID, GITLAB, TITLE, "gitlab");
    };
    let mut v = Verdict::default();
    let pods: Vec<&Value> = cx
        .in_ns("", "Pod", ns)
        .into_iter()
        .filter(|p| str_at(p, "/status/phase") != Some("Succeeded"))
        .collect();
    if pods.is_empty() {
        v.unknown(
            cx.not_simulated(ns)
                .unwrap_or_else(|| format!("no live Pods of namespace {ns} in the snapshot")),
        );
        return v.finish(ID, GITLAB, TITLE);
    }
    let mut requests = 0u128;
    let mut without = Vec::new();
    for p in &pods {
        for c in at(p, "/spec/containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            match at(c, "/resources/requests/memory").and_then(memory_bytes) {
                Some(b) => requests += b,
                None => without.push(format!("{}/{}", name(p), str_at(c, "/name").unwrap_or("?"))),
            }
        }
    }
    let limit = 8u128 * 1024 * 1024 * 1024;
    let gib = requests as f64 / (1024.0 * 1024.0 * 1024.0);
    if requests >= limit {
        v.fail(format!(
            "memory requests of {} Pods in {ns} total {gib:.1} GiB, expected under 8 GiB",
            pods.len()
        ));
    } else {
        v.pass(format!(
            "memory requests of {} Pods in {ns} total {gib:.1} GiB (under 8 GiB)",
            pods.len()
        ));
    }
    if !without.is_empty() {
        v.pass(format!(
            "containers without a memory request (not counted): {}",
            without.join(", ")
        ));
    }
    v.finish(ID, GITLAB, TITLE)
}

/// A Kubernetes memory quantity in bytes (rounded up, as the scheduler counts it).
fn memory_bytes(q: &Value) -> Option<u128> {
    let bytes = Quantity::from_value(q)?.ok()?.units_rounded_up();
    u128::try_from(bytes).ok()
}

fn gitlab_runner(cx: &Cx) -> Criterion {
    const ID: &str = "gitlab-runner";
    const TITLE: &str = "GitLab Runner deployed separately in Kubernetes mode";
    let Some(ns) = &cx.exp.gitlab_runner else {
        return skipped(ID, GITLAB, TITLE, "gitlab_runner");
    };
    let mut v = Verdict::default();
    running(cx, &mut v, ns, "GitLab Runner", |n| {
        n.contains("gitlab-runner")
    });
    v.finish(ID, GITLAB, TITLE)
}

// ---------------------------------------------------------------------------------------------
// ARC

fn scale_sets<'a>(cx: &Cx<'a>) -> Vec<&'a Value> {
    cx.all("actions.github.com", "AutoscalingRunnerSet")
}

fn arc_controller(cx: &Cx) -> Criterion {
    const ID: &str = "arc-controller";
    const TITLE: &str = "ARC controller installed in arc-systems namespace";
    let Some(ns) = &cx.exp.arc_namespace else {
        return skipped(ID, RUNNERS, TITLE, "arc");
    };
    let mut v = Verdict::default();
    running(cx, &mut v, ns, "ARC controller", |n| {
        n.contains("gha-rs-controller")
            || n.contains("runner-scale-set-controller")
            || n.contains("arc-controller")
    });
    v.finish(ID, RUNNERS, TITLE)
}

fn arc_scale_sets(cx: &Cx) -> Criterion {
    const ID: &str = "arc-scale-sets";
    const TITLE: &str = "Org-level runner scale sets registered";
    if cx.exp.arc_namespace.is_none() {
        return skipped(ID, RUNNERS, TITLE, "arc");
    }
    let mut v = Verdict::default();
    let sets = scale_sets(cx);
    for want in &cx.exp.arc_scale_sets {
        let Some(s) = sets.iter().find(|s| name(s) == want) else {
            match cx.not_simulated_app(want) {
                Some(why) => v.unknown(format!("AutoscalingRunnerSet {want}: {why}")),
                None => v.fail(format!(
                    "AutoscalingRunnerSet {want} (actions.github.com) not found"
                )),
            }
            continue;
        };
        let url = str_at(s, "/spec/githubConfigUrl").unwrap_or("");
        let path: Vec<&str> = url
            .split_once("://")
            .map_or(url, |(_, rest)| rest)
            .split('/')
            .skip(1)
            .filter(|p| !p.is_empty())
            .collect();
        if path.len() == 1 {
            v.pass(format!("{}: org-level ({url})", id(s)));
        } else {
            v.fail(format!(
                "{}: spec.githubConfigUrl is \"{url}\", expected an organisation URL https://github.com/ORG",
                id(s)
            ));
        }
    }
    v.finish(ID, RUNNERS, TITLE)
}

/// No AutoscalingRunnerSet at all: not met, unless the Applications that would create them
/// were not simulated.
fn no_scale_set(cx: &Cx, v: &mut Verdict) {
    let unknown: Vec<String> = cx
        .exp
        .arc_scale_sets
        .iter()
        .filter_map(|want| cx.not_simulated_app(want))
        .collect();
    if unknown.is_empty() {
        v.fail("no AutoscalingRunnerSet (actions.github.com) found");
    }
    for why in unknown {
        v.unknown(format!("no AutoscalingRunnerSet: {why}"));
    }
}

fn arc_github_app(cx: &Cx) -> Criterion {
    const ID: &str = "arc-github-app-auth";
    const TITLE: &str = "GitHub App authentication configured (not PAT)";
    if cx.exp.arc_namespace.is_none() {
        return skipped(ID, RUNNERS, TITLE, "arc");
    }
    let mut v = Verdict::default();
    let sets = scale_sets(cx);
    if sets.is_empty() {
        no_scale_set(cx, &mut v);
    }
    for s in &sets {
        let Some(secret_name) = str_at(s, "/spec/githubConfigSecret") else {
            v.fail(format!("{}: spec.githubConfigSecret is not set", id(s)));
            continue;
        };
        let secret = cx
            .in_ns("", "Secret", namespace(s))
            .into_iter()
            .find(|x| name(x) == secret_name);
        let Some(secret) = secret else {
            v.unknown(format!(
                "{}: Secret {}/{secret_name} is not in the snapshot (include secrets; only key names are read)",
                id(s),
                namespace(s)
            ));
            continue;
        };
        // Key names only: the values are never read.
        let keys: BTreeSet<&str> = ["/data", "/stringData"]
            .iter()
            .filter_map(|p| at(secret, p).and_then(Value::as_object))
            .flat_map(|m| m.keys().map(String::as_str))
            .collect();
        if keys.contains("github_token") {
            v.fail(format!(
                "{}: Secret {secret_name} holds github_token (a personal access token); use a GitHub App (github_app_id, github_app_installation_id, github_app_private_key)",
                id(s)
            ));
        } else if [
            "github_app_id",
            "github_app_installation_id",
            "github_app_private_key",
        ]
        .iter()
        .all(|k| keys.contains(k))
        {
            v.pass(format!(
                "{}: Secret {secret_name} has GitHub App keys",
                id(s)
            ));
        } else {
            v.fail(format!(
                "{}: Secret {secret_name} lacks github_app_id/github_app_installation_id/github_app_private_key (keys: {})",
                id(s),
                list(&keys.into_iter().collect::<Vec<_>>())
            ));
        }
    }
    v.finish(ID, RUNNERS, TITLE)
}

fn arc_runner_group(cx: &Cx) -> Criterion {
    const ID: &str = "arc-runner-group";
    const TITLE: &str = "Runner group with repository access restrictions";
    if cx.exp.arc_namespace.is_none() {
        return skipped(ID, RUNNERS, TITLE, "arc");
    }
    let want = &cx.exp.runner_group;
    let mut v = Verdict::default();
    let sets = scale_sets(cx);
    if sets.is_empty() {
        no_scale_set(cx, &mut v);
    }
    for s in &sets {
        match str_at(s, "/spec/runnerGroup") {
            Some(g) if g == want => v.pass(format!("{}: runner group {g}", id(s))),
            got => v.fail(format!(
                "{}: spec.runnerGroup is {}, expected {want}",
                id(s),
                got.unwrap_or("unset (the Default group, open to every repository)")
            )),
        }
    }
    v.unknown(format!(
        "which repositories may use group {want} is a GitHub setting: check with `gh api /orgs/ORG/actions/runner-groups`"
    ));
    v.finish(ID, RUNNERS, TITLE)
}

// ---------------------------------------------------------------------------------------------
// Security posture

fn namespaces_with_pods<'a>(cx: &Cx<'a>) -> BTreeMap<&'a str, usize> {
    let mut m = BTreeMap::new();
    for p in cx.all("", "Pod") {
        *m.entry(namespace(p)).or_insert(0) += 1;
    }
    m
}

fn pod_security(cx: &Cx) -> Criterion {
    const TITLE: &str = "Pod Security Standards enforced (Baseline default, Privileged exempt)";
    let mut v = Verdict::default();
    let nss = cx.all("", "Namespace");
    if nss.is_empty() {
        v.unknown("the snapshot holds no Namespaces: include `namespaces` to judge");
        return v.finish("pod-security-standards", SECURITY, TITLE);
    }
    let with_pods = namespaces_with_pods(cx);
    let mut enforced = Vec::new();
    let mut exempt = Vec::new();
    for ns in nss {
        let n = name(ns);
        if is_system_namespace(n) || (n == "default" && !with_pods.contains_key(n)) {
            continue;
        }
        match label(ns, PSS_ENFORCE) {
            None => v.fail(format!(
                "Namespace {n}: no {PSS_ENFORCE} label (expected baseline)"
            )),
            Some("baseline" | "restricted") => enforced.push(n),
            Some("privileged") if cx.exp.pss_exempt.iter().any(|e| e == n) => exempt.push(n),
            Some(level) => v.fail(format!(
                "Namespace {n}: {PSS_ENFORCE} is {level}, expected baseline (privileged is for {} only)",
                list(&cx.exp.pss_exempt.iter().map(String::as_str).collect::<Vec<_>>())
            )),
        }
    }
    v.pass(format!(
        "baseline or stricter enforced: {}; privileged (exempt): {}",
        list(&enforced),
        list(&exempt)
    ));
    v.finish("pod-security-standards", SECURITY, TITLE)
}

fn default_deny(cx: &Cx) -> Criterion {
    const TITLE: &str = "Network policies default-deny per namespace";
    let mut v = Verdict::default();
    if cx.all("", "Pod").is_empty() {
        v.unknown(
            "the snapshot holds no Pods: include `pods` to know which namespaces need coverage",
        );
        return v.finish("network-default-deny", SECURITY, TITLE);
    }
    let mut covered = Vec::new();
    for (ns, pods) in namespaces_with_pods(cx) {
        if is_system_namespace(ns) {
            continue;
        }
        let nps = cx.in_ns("networking.k8s.io", "NetworkPolicy", ns);
        let ingress = nps.iter().any(|np| denies_all(np, Direction::Ingress));
        let egress = nps.iter().any(|np| denies_all(np, Direction::Egress));
        match (ingress, egress) {
            (true, true) => covered.push(ns),
            (false, false) => v.fail(format!(
                "namespace {ns} ({pods} Pods): no default-deny NetworkPolicy (podSelector {{}}, policyTypes [Ingress, Egress], no rules)"
            )),
            (true, false) => v.fail(format!(
                "namespace {ns} ({pods} Pods): default-deny covers Ingress only, Egress is open"
            )),
            (false, true) => v.fail(format!(
                "namespace {ns} ({pods} Pods): default-deny covers Egress only, Ingress is open"
            )),
        }
    }
    v.pass(format!("default-deny in: {}", list(&covered)));
    v.finish("network-default-deny", SECURITY, TITLE)
}

fn trivy(cx: &Cx) -> Criterion {
    const ID: &str = "trivy-operator";
    const TITLE: &str = "Trivy Operator scanning existing workloads";
    let Some(ns) = &cx.exp.trivy else {
        return skipped(ID, SECURITY, TITLE, "trivy_operator");
    };
    let mut v = Verdict::default();
    running(cx, &mut v, ns, "Trivy Operator", |n| {
        n.contains("trivy-operator")
    });
    let reports = cx.all("aquasecurity.github.io", "VulnerabilityReport");
    if reports.is_empty() && cx.simulated() {
        v.unknown("the snapshot is simulated (`homelab simulate`): VulnerabilityReports are the results of scanning the running images, which no simulation can know; verify the live cluster");
    } else if reports.is_empty() {
        v.fail("no VulnerabilityReport (aquasecurity.github.io): the operator has not scanned any workload yet (or reports were left out of the snapshot)");
    } else {
        let sum = |field: &str| -> i64 {
            reports
                .iter()
                .map(|r| int_at(r, &format!("/report/summary/{field}")).unwrap_or(0))
                .sum()
        };
        v.pass(format!(
            "{} VulnerabilityReports: critical {}, high {}, medium {}, low {}",
            reports.len(),
            sum("criticalCount"),
            sum("highCount"),
            sum("mediumCount"),
            sum("lowCount")
        ));
    }
    let audits = cx.all("aquasecurity.github.io", "ConfigAuditReport").len();
    if audits > 0 {
        v.pass(format!("{audits} ConfigAuditReports"));
    }
    v.finish(ID, SECURITY, TITLE)
}

// ---------------------------------------------------------------------------------------------
// Kyverno

/// Enforce when `spec.validationFailureAction` says so, or every validate rule's
/// `failureAction` does (Kyverno 1.13+).
fn enforce_mode(p: &Value) -> String {
    if let Some(mode) = str_at(p, "/spec/validationFailureAction") {
        return mode.to_owned();
    }
    let rules: Vec<&Value> = at(p, "/spec/rules")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter(|r| r.get("validate").is_some()).collect())
        .unwrap_or_default();
    if !rules.is_empty()
        && rules.iter().all(|r| {
            str_at(r, "/validate/failureAction").is_some_and(|m| m.eq_ignore_ascii_case("enforce"))
        })
    {
        return "Enforce".to_owned();
    }
    "Audit".to_owned()
}

fn kyverno_enforce(cx: &Cx) -> Criterion {
    const ID: &str = "kyverno-enforce";
    const TITLE: &str = "Kyverno policies in Enforce mode for critical rules";
    if !cx.exp.kyverno {
        return skipped(ID, TESTING, TITLE, "kyverno");
    }
    let mut v = Verdict::default();
    let policies = cx.all("kyverno.io", "ClusterPolicy");
    for want in &cx.exp.critical_policies {
        match policies.iter().find(|p| name(p) == want) {
            None => v.fail(format!("ClusterPolicy {want} (critical) not found")),
            Some(p) => {
                let mode = enforce_mode(p);
                if mode.eq_ignore_ascii_case("enforce") {
                    v.pass(format!("ClusterPolicy {want}: Enforce"));
                } else {
                    v.fail(format!(
                        "ClusterPolicy {want}: validationFailureAction is {mode}, expected Enforce (critical rule)"
                    ));
                }
            }
        }
    }
    let mut ready = 0;
    for p in &policies {
        let is_ready = at(p, "/status/ready")
            .and_then(Value::as_bool)
            .or_else(|| condition(p, "Ready"));
        match is_ready {
            Some(true) => ready += 1,
            Some(false) => v.fail(format!(
                "{}: not Ready (status.conditions Ready is False)",
                id(p)
            )),
            None => v.unknown(format!(
                "{}: no status.ready/conditions in the snapshot",
                id(p)
            )),
        }
    }
    if !policies.is_empty() {
        v.pass(format!(
            "{ready} of {} ClusterPolicies Ready",
            policies.len()
        ));
    }
    v.finish(ID, TESTING, TITLE)
}

fn policy_reports(cx: &Cx) -> Criterion {
    const ID: &str = "kyverno-policy-reports";
    const TITLE: &str = "Policy reports accessible via kubectl";
    if !cx.exp.kyverno {
        return skipped(ID, TESTING, TITLE, "kyverno");
    }
    let mut v = Verdict::default();
    let ns_reports = cx.all("wgpolicyk8s.io", "PolicyReport");
    let cluster_reports = cx.all("wgpolicyk8s.io", "ClusterPolicyReport");
    if ns_reports.is_empty() && cluster_reports.is_empty() && cx.simulated() {
        v.unknown("the snapshot is simulated (`homelab simulate`): PolicyReports hold the results of Kyverno's scans of the running cluster, which no simulation can know; verify the live cluster");
        return v.finish(ID, TESTING, TITLE);
    }
    if ns_reports.is_empty() && cluster_reports.is_empty() {
        v.fail("no PolicyReport or ClusterPolicyReport (wgpolicyk8s.io): Kyverno's reports controller produces none (or they were left out of the snapshot)");
        return v.finish(ID, TESTING, TITLE);
    }
    let all: Vec<&Value> = ns_reports.iter().chain(&cluster_reports).copied().collect();
    if all.iter().any(|r| annotation(r, SIMULATED) == Some("true")) {
        v.pass("predicted by `homelab simulate`: the background scan of Kyverno's reports controller, its results from homelab's evaluation of the policies on the predicted objects");
    }
    let sum = |f: &str| -> i64 {
        all.iter()
            .map(|r| int_at(r, &format!("/summary/{f}")).unwrap_or(0))
            .sum()
    };
    v.pass(format!(
        "{} PolicyReports, {} ClusterPolicyReports: pass {}, fail {}, warn {}, error {}, skip {}",
        ns_reports.len(),
        cluster_reports.len(),
        sum("pass"),
        sum("fail"),
        sum("warn"),
        sum("error"),
        sum("skip")
    ));
    let mut failing: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &all {
        for res in at(r, "/results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if str_at(res, "/result") == Some("fail") {
                *failing
                    .entry(str_at(res, "/policy").unwrap_or("?"))
                    .or_insert(0) += 1;
            }
        }
    }
    if !failing.is_empty() {
        let top: Vec<String> = failing.iter().map(|(p, n)| format!("{p} ({n})")).collect();
        v.pass(format!("failing results by policy: {}", top.join(", ")));
    }
    v.finish(ID, TESTING, TITLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_cron() {
        assert!(is_daily("0 2 * * *"));
        assert!(is_daily("@daily"));
        assert!(!is_daily("0 */6 * * *"));
        assert!(!is_daily("0 2 * * 0"));
        assert!(!is_daily("0 2 * *"));
    }

    #[test]
    fn memory_quantities() {
        let bytes = |q: &str| memory_bytes(&Value::String(q.to_string()));
        assert_eq!(bytes("650Mi"), Some(650 * 1024 * 1024));
        assert_eq!(bytes("1G"), Some(1_000_000_000));
        assert_eq!(bytes("2.5Gi"), Some(2_684_354_560));
        assert_eq!(bytes("12"), Some(12));
        assert_eq!(bytes("lots"), None);
        // The API server caps quantities at 2^63-1; the former parser here dropped them, and
        // read `1E` and `2Ei` as no request at all.
        assert_eq!(bytes("1e999"), Some(i64::MAX as u128));
        assert_eq!(bytes("1E"), Some(10u128.pow(18)));
        assert_eq!(bytes("2Ei"), Some(2 << 60));
    }

    #[test]
    fn default_deny_without_pod_selector() {
        // `podSelector` is optional and defaults to `{}`: this policy denies everything.
        let objects = [
            serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "apps"}, "status": {"phase": "Running"}}),
            serde_json::json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                "metadata": {"name": "deny", "namespace": "apps"}, "spec": {"policyTypes": ["Ingress", "Egress"]}}),
        ];
        let exp = Expectations::default();
        let by_kind = objects
            .iter()
            .map(|o| ((api_group(o), o.kind().unwrap()), vec![o]))
            .collect();
        let criterion = default_deny(&Cx { by_kind, exp: &exp });
        assert_eq!(criterion.status, Mark::Met, "{:?}", criterion.evidence);
    }
}
