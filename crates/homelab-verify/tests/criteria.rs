//! The evaluator over fixture snapshots: a healthy cluster meets every checkable criterion,
//! and each single fault makes exactly its criterion not met, with evidence.

use homelab_verify::{all_met, checklist, evaluate, Criterion, Expectations, Mark};
use serde_json::Value;

const HEALTHY: &str = include_str!("fixtures/healthy.yaml");

fn objects(text: &str) -> Vec<Value> {
    let (docs, diags) = homelab_manifest::parse_str("snapshot.yaml", text);
    assert!(diags.is_empty(), "{diags:?}");
    docs.into_iter().map(|d| d.value).collect()
}

fn run(text: &str) -> Vec<Criterion> {
    evaluate(&objects(text), &Expectations::default())
}

fn status_of<'a>(cs: &'a [Criterion], id: &str) -> &'a Criterion {
    cs.iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no criterion {id}"))
}

/// The IDs the cluster can never show (always not checkable).
const NEVER_CHECKABLE: &[&str] = &[
    "host-btrfs-subvolume",
    "host-btrfs-snapshots",
    "sealing-key-backup",
    "gitlab-registry",
    "client-certificates",
    "repository-guardrails",
    "arc-runner-group",
];

#[test]
fn healthy_snapshot_meets_every_checkable_criterion() {
    let cs = run(HEALTHY);
    for c in &cs {
        if NEVER_CHECKABLE.contains(&c.id) {
            assert_eq!(c.status, Mark::NotCheckable, "{c:?}");
        } else {
            assert_eq!(c.status, Mark::Met, "{c:?}");
        }
    }
    assert!(all_met(&cs));
    // Evidence is specific.
    let reports = status_of(&cs, "kyverno-policy-reports");
    assert!(
        reports.evidence[0].contains("pass 13, fail 1"),
        "{reports:?}"
    );
    assert!(reports.evidence[1].contains("require-requests-limits (1)"));
    let mem = status_of(&cs, "gitlab-memory-baseline");
    assert!(
        mem.evidence[0].contains("3 Pods in gitlab total 3.4 GiB"),
        "{mem:?}"
    );
    let waves = status_of(&cs, "argocd-sync-waves");
    assert!(waves.evidence.iter().any(|e| e == "wave -2: longhorn"));
}

/// Applies one fault and checks that exactly `id` turns not met, with `evidence` in it.
fn fault(from: &str, to: &str, id: &str, evidence: &str) {
    assert_eq!(
        HEALTHY.matches(from).count(),
        1,
        "fault anchor not unique: {from}"
    );
    let healthy = run(HEALTHY);
    let faulty = run(&HEALTHY.replacen(from, to, 1));
    for (h, f) in healthy.iter().zip(&faulty) {
        if f.id == id {
            assert_eq!(f.status, Mark::NotMet, "{f:?}");
            assert!(
                f.evidence.iter().any(|e| e.contains(evidence)),
                "evidence of {id} lacks {evidence:?}: {:#?}",
                f.evidence
            );
        } else {
            assert_eq!(
                h.status, f.status,
                "{} changed with a fault in {id}: {f:?}",
                f.id
            );
        }
    }
    assert!(!all_met(&faulty));
}

#[test]
fn out_of_sync_application() {
    fault(
        "name: gitlab\n    namespace: argocd\n    annotations: {argocd.argoproj.io/sync-wave: \"0\"}\n  spec:\n    sources:\n    - {repoURL: \"https://charts.gitlab.io/\", chart: gitlab, targetRevision: 8.5.2}\n    - {repoURL: \"https://github.com/yourorg/gitops-homelab\", targetRevision: main, ref: values}\n  status: {sync: {status: Synced}",
        "name: gitlab\n    namespace: argocd\n    annotations: {argocd.argoproj.io/sync-wave: \"0\"}\n  spec:\n    sources:\n    - {repoURL: \"https://charts.gitlab.io/\", chart: gitlab, targetRevision: 8.5.2}\n    - {repoURL: \"https://github.com/yourorg/gitops-homelab\", targetRevision: main, ref: values}\n  status: {sync: {status: OutOfSync}",
        "argocd-apps-synced-healthy",
        "Application argocd/gitlab: status.sync.status is OutOfSync, expected Synced",
    );
}

#[test]
fn degraded_application() {
    fault(
        "chart: trivy-operator, targetRevision: 0.24.1}\n    - {repoURL: \"https://github.com/yourorg/gitops-homelab\", targetRevision: main, ref: values}\n  status: {sync: {status: Synced}, health: {status: Healthy}}",
        "chart: trivy-operator, targetRevision: 0.24.1}\n    - {repoURL: \"https://github.com/yourorg/gitops-homelab\", targetRevision: main, ref: values}\n  status: {sync: {status: Synced}, health: {status: Degraded}}",
        "argocd-apps-synced-healthy",
        "status.health.status is Degraded, expected Healthy",
    );
}

#[test]
fn missing_gpu_storage_class() {
    fault(
        "    name: longhorn-gpu-local\n",
        "    name: longhorn-gpu-something\n",
        "longhorn-storage-classes",
        "StorageClass longhorn-gpu-local not found",
    );
}

#[test]
fn wrong_replica_count() {
    fault(
        "numberOfReplicas: \"2\"",
        "numberOfReplicas: \"3\"",
        "longhorn-storage-classes",
        "parameters.numberOfReplicas is \"3\", expected \"2\"",
    );
}

#[test]
fn second_default_class() {
    fault(
        "{storageclass.kubernetes.io/is-default-class: \"false\"}",
        "{storageclass.kubernetes.io/is-default-class: \"true\"}",
        "longhorn-storage-classes",
        "StorageClass local-path is also marked default",
    );
}

#[test]
fn snapshot_retention_too_short() {
    fault(
        "retain: 7",
        "retain: 3",
        "longhorn-recurring-snapshots",
        "retain 3, expected a daily cron and retain >= 7",
    );
}

#[test]
fn audit_critical_policy() {
    fault(
        "validationFailureAction: enforce",
        "validationFailureAction: Audit",
        "kyverno-enforce",
        "ClusterPolicy require-pinned-images: validationFailureAction is Audit, expected Enforce",
    );
}

#[test]
fn policy_not_ready() {
    fault(
        "status: {ready: true}",
        "status: {ready: false}",
        "kyverno-enforce",
        "ClusterPolicy disallow-host-access: not Ready",
    );
}

#[test]
fn namespace_without_default_deny() {
    fault(
        "{name: default-deny-all, namespace: gitlab-runner}",
        "{name: allow-everything, namespace: gitlab-runner}\n  spec: {podSelector: {}, ingress: [{}]}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: x, namespace: gitlab-runner}",
        "network-default-deny",
        "namespace gitlab-runner (1 Pods): no default-deny NetworkPolicy",
    );
}

#[test]
fn namespace_with_ingress_only_default_deny() {
    fault(
        "{name: default-deny-egress, namespace: arc-systems}",
        "{name: default-deny-egress, namespace: elsewhere}",
        "network-default-deny",
        "namespace arc-systems (1 Pods): default-deny covers Ingress only",
    );
}

#[test]
fn namespace_without_pss_label() {
    fault(
        "name: gitlab-runner\n    labels: {pod-security.kubernetes.io/enforce: baseline}",
        "name: gitlab-runner",
        "pod-security-standards",
        "Namespace gitlab-runner: no pod-security.kubernetes.io/enforce label",
    );
}

#[test]
fn privileged_namespace_not_exempt() {
    fault(
        "name: arc-runners\n    labels: {pod-security.kubernetes.io/enforce: baseline}",
        "name: arc-runners\n    labels: {pod-security.kubernetes.io/enforce: privileged}",
        "pod-security-standards",
        "Namespace arc-runners: pod-security.kubernetes.io/enforce is privileged",
    );
}

#[test]
fn sealed_secrets_controller_down() {
    fault(
        "status: {replicas: 1, availableReplicas: 1, readyReplicas: 1}",
        "status: {replicas: 1, availableReplicas: 0, readyReplicas: 0}",
        "sealed-secrets",
        "Deployment kube-system/sealed-secrets-controller has no ready replica",
    );
}

#[test]
fn missing_gpu_scale_set() {
    fault(
        "{name: arc-linux-gpu, namespace: arc-runners}",
        "{name: arc-linux-cuda, namespace: arc-runners}",
        "arc-scale-sets",
        "AutoscalingRunnerSet arc-linux-gpu (actions.github.com) not found",
    );
}

#[test]
fn gitlab_pod_pending() {
    fault(
        "status: {phase: Running, containerStatuses: [{name: sidekiq, ready: true}]}",
        "status: {phase: Pending}",
        "gitlab-running",
        "Pod gitlab/gitlab-sidekiq-all-in-1-v2-5c8-xyz98: status.phase is Pending, expected Running",
    );
}

#[test]
fn gitlab_over_memory_baseline() {
    fault(
        "memory: 2.5Gi",
        "memory: 7.5Gi",
        "gitlab-memory-baseline",
        "total 8.4 GiB, expected under 8 GiB",
    );
}

#[test]
fn no_vulnerability_reports() {
    fault(
        "kind: VulnerabilityReport",
        "kind: ExposedSecretReport",
        "trivy-operator",
        "no VulnerabilityReport",
    );
}

#[test]
fn sync_wave_gap() {
    fault(
        "annotations: {argocd.argoproj.io/sync-wave: \"2\"}",
        "annotations: {argocd.argoproj.io/sync-wave: \"1\"}",
        "argocd-sync-waves",
        "no Application in sync wave 2",
    );
}

#[test]
fn single_source_chart_application() {
    fault(
        "    sources:\n    - {repoURL: \"https://charts.longhorn.io\", chart: longhorn, targetRevision: 1.7.2, helm: {valueFiles: [$values/infrastructure/longhorn-values.yaml]}}\n    - {repoURL: \"https://github.com/yourorg/gitops-homelab\", targetRevision: main, ref: values}",
        "    source: {repoURL: \"https://charts.longhorn.io\", chart: longhorn, targetRevision: 1.7.2}",
        "argocd-multi-source",
        "Application argocd/longhorn: single source (chart longhorn)",
    );
}

#[test]
fn personal_access_token() {
    fault(
        "    github_app_id: QVBQSUQtRE8tTk9ULVBSSU5U\n",
        "    github_token: UEFULURPLU5PVC1QUklOVA==\n",
        "arc-github-app-auth",
        "holds github_token (a personal access token)",
    );
}

#[test]
fn missing_root_application() {
    fault(
        "    name: root\n    namespace: argocd\n    annotations: {argocd.argoproj.io/sync-wave: \"-3\"}",
        "    name: bootstrap\n    namespace: argocd",
        "argocd-app-of-apps",
        "root Application `root` (app-of-apps) not found",
    );
}

/// Decision documented in the crate: absent PolicyReports are "not met" (on a live cluster
/// absence means Kyverno's reports controller produces nothing).
#[test]
fn snapshot_without_policy_reports_is_not_met() {
    let text: String = HEALTHY
        .replace("kind: PolicyReport", "kind: SomethingElse")
        .replace("kind: ClusterPolicyReport", "kind: SomethingElse");
    let cs = run(&text);
    let c = status_of(&cs, "kyverno-policy-reports");
    assert_eq!(c.status, Mark::NotMet);
    assert!(c.evidence[0].contains("no PolicyReport or ClusterPolicyReport"));
}

/// Objects without status (a snapshot of manifests, not of a cluster): status-based criteria
/// are not checkable rather than failed or met.
#[test]
fn objects_without_status_are_not_checkable() {
    let stripped: Vec<Value> = objects(HEALTHY)
        .into_iter()
        .filter(|o| o["kind"] != "Pod")
        .map(|mut o| {
            if let Some(m) = o.as_object_mut() {
                m.remove("status");
            }
            o
        })
        .collect();
    let cs = evaluate(&stripped, &Expectations::default());
    for id in [
        "argocd-apps-synced-healthy",
        "kyverno-enforce",
        "network-default-deny",
        "gitlab-running",
        "gitlab-memory-baseline",
        "sealed-secrets",
    ] {
        assert_eq!(status_of(&cs, id).status, Mark::NotCheckable, "{id}");
    }
    assert_eq!(status_of(&cs, "longhorn-storage-classes").status, Mark::Met);
}

#[test]
fn empty_snapshot_fails_without_panicking() {
    let cs = evaluate(&[], &Expectations::default());
    assert!(!all_met(&cs));
    assert_eq!(
        status_of(&cs, "longhorn-storage-classes").status,
        Mark::NotMet
    );
    assert_eq!(
        status_of(&cs, "pod-security-standards").status,
        Mark::NotCheckable
    );
}

#[test]
fn switched_off_components_are_skipped() {
    let exp = Expectations {
        gitlab: None,
        arc_namespace: None,
        ..Expectations::default()
    };
    let text = HEALTHY.replace("name: gitlab-sidekiq-all-in-1-v2-5c8-xyz98", "name: x");
    let cs = evaluate(&objects(&text), &exp);
    for id in [
        "gitlab-running",
        "gitlab-memory-baseline",
        "arc-controller",
        "arc-scale-sets",
    ] {
        let c = status_of(&cs, id);
        assert_eq!(c.status, Mark::Skipped, "{id}");
        assert!(c.evidence[0].contains("switched off"));
    }
}

#[test]
fn secret_values_never_reach_any_output() {
    let cs = run(HEALTHY);
    use homelab_report::checklist::{render, ChecklistFormat};
    let items = checklist(&cs);
    let outputs = [
        ChecklistFormat::Text,
        ChecklistFormat::Json,
        ChecklistFormat::Html,
    ]
    .map(|f| render(f, &items, "snapshot.yaml"));
    for out in &outputs {
        for value in [
            "U0VBTElOR0tFWUNFUlQtRE8tTk9ULVBSSU5U",
            "U0VBTElOR0tFWVBSSVZBVEUtRE8tTk9ULVBSSU5U",
            "QVBQSUQtRE8tTk9ULVBSSU5U",
            "UFJJVkFURUtFWS1ETy1OT1QtUFJJTlQ=",
            "DO-NOT-PRINT",
        ] {
            assert!(!out.contains(value), "secret value {value} printed");
        }
    }
    // The key Secret is named (that is not secret), its data is not.
    assert!(outputs[0].contains("sealed-secrets-keyabcde"));
}

/// Two `kind: List` documents in one file (the help's snapshot recipe) read like one list.
#[test]
fn multi_document_lists_are_merged() {
    let (head, tail) = HEALTHY.split_at(HEALTHY.find("# --- SealedSecrets").unwrap());
    let text = format!("{head}---\napiVersion: v1\nkind: List\nitems:\n{tail}");
    let cs = run(&text);
    assert!(all_met(&cs), "{cs:#?}");
}

/// Fields of the wrong type anywhere never panic; they make criteria fail or not checkable.
#[test]
fn malformed_objects_do_not_panic() {
    let weird = r#"
apiVersion: v1
kind: List
items:
- {apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: longhorn-homelab, annotations: [x]}, parameters: "2"}
- {apiVersion: longhorn.io/v1beta2, kind: RecurringJob, metadata: "x", spec: {task: snapshot, cron: 5, retain: "many", groups: "default"}}
- {apiVersion: argoproj.io/v1alpha1, kind: Application, metadata: {name: root, annotations: {argocd.argoproj.io/sync-wave: "x"}}, spec: {sources: "a"}, status: {resources: 3, sync: []}}
- {apiVersion: argoproj.io/v1alpha1, kind: Application, metadata: {name: a, annotations: {argocd.argoproj.io/sync-wave: "99999999999999999999"}}, status: 7}
- {apiVersion: v1, kind: Pod, metadata: {namespace: gitlab}, spec: {containers: {a: b}}, status: {phase: 3, containerStatuses: "x"}}
- {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: gitlab}, spec: {containers: [{resources: {requests: {memory: "-5Gi"}}}, {resources: {requests: {memory: 1e400}}}]}, status: {phase: Running}}
- {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {namespace: gitlab}, spec: {podSelector: [], policyTypes: "Ingress"}}
- {apiVersion: v1, kind: Namespace, metadata: {name: gitlab, labels: {pod-security.kubernetes.io/enforce: 3}}}
- {apiVersion: kyverno.io/v1, kind: ClusterPolicy, metadata: {name: pod-security-baseline}, spec: {rules: [{validate: 1}]}, status: {conditions: {}}}
- {apiVersion: actions.github.com/v1alpha1, kind: AutoscalingRunnerSet, metadata: {name: arc-linux-gpu}, spec: {githubConfigUrl: "://", githubConfigSecret: 5}}
- {apiVersion: wgpolicyk8s.io/v1alpha2, kind: PolicyReport, summary: {pass: "x"}, results: [1, {result: fail}]}
- {apiVersion: aquasecurity.github.io/v1alpha1, kind: VulnerabilityReport, report: {summary: {criticalCount: -1}}}
"#;
    let cs = run(weird);
    assert_eq!(cs.len(), 25);
    assert!(!all_met(&cs));
    for c in &cs {
        assert!(!c.evidence.is_empty(), "{c:?}");
    }
}

/// A snapshot `homelab simulate` emits: its Nodes are marked as made up, and an Application
/// whose Helm chart it could not render says so.
#[test]
fn a_simulated_snapshot_leaves_what_no_simulation_can_know_not_checkable() {
    let without = |objects: Vec<Value>, gone: &dyn Fn(&Value) -> bool| -> Vec<Value> {
        objects.into_iter().filter(|o| !gone(o)).collect()
    };
    let kind = |o: &Value| o["kind"].as_str().unwrap_or_default().to_string();
    // No scan results, and GitLab's Pods missing.
    let live = without(objects(HEALTHY), &|o: &Value| {
        matches!(
            kind(o).as_str(),
            "VulnerabilityReport" | "PolicyReport" | "ClusterPolicyReport"
        ) || (kind(o) == "Pod" && o["metadata"]["namespace"] == "gitlab")
    });
    let cs = evaluate(&live, &Expectations::default());
    for id in ["trivy-operator", "kyverno-policy-reports", "gitlab-running"] {
        assert_eq!(status_of(&cs, id).status, Mark::NotMet, "live: {id}");
    }

    let mut simulated = live.clone();
    simulated.push(serde_json::json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "homelab", "annotations": {"homelab.dev/simulated": "true"}},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}}));
    for o in &mut simulated {
        if kind(o) == "Application" && o["metadata"]["name"] == "gitlab" {
            o["metadata"]["annotations"]["homelab.dev/not-simulated"] =
                "chart gitlab is not in the chart cache".into();
            o["spec"]["destination"] = serde_json::json!({"namespace": "gitlab"});
        }
    }
    let cs = evaluate(&simulated, &Expectations::default());
    for (id, why) in [
        ("trivy-operator", "scanning the running images"),
        ("kyverno-policy-reports", "Kyverno's scans"),
        ("gitlab-running", "chart gitlab is not in the chart cache"),
    ] {
        let c = status_of(&cs, id);
        assert_eq!(c.status, Mark::NotCheckable, "simulated: {c:?}");
        assert!(c.evidence.iter().any(|e| e.contains(why)), "{c:?}");
    }
    // Reports that are there are judged as ever, simulated or not.
    let mut with_reports = objects(HEALTHY);
    with_reports.push(simulated.last().unwrap().clone());
    let cs = evaluate(&with_reports, &Expectations::default());
    assert_eq!(status_of(&cs, "kyverno-policy-reports").status, Mark::Met);
}

/// In a prediction, a controller or scale set that a not-simulated Application would install
/// is unknown, not missing; a predicted cluster without that excuse still fails.
#[test]
fn what_an_unsimulated_chart_installs_is_not_checkable_in_a_simulated_snapshot() {
    let gone = |o: &Value| {
        let name = o["metadata"]["name"].as_str().unwrap_or_default();
        name.starts_with("sealed-secrets") || o["kind"] == "AutoscalingRunnerSet"
    };
    let mut simulated: Vec<Value> = objects(HEALTHY).into_iter().filter(|o| !gone(o)).collect();
    simulated.push(serde_json::json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "homelab", "annotations": {"homelab.dev/simulated": "true"}},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}}));
    let apps = [
        ("sealed-secrets", "kube-system"),
        ("arc-linux-standard", "arc-runners"),
        ("arc-linux-gpu", "arc-runners"),
    ];
    let ids = [
        "sealed-secrets",
        "arc-scale-sets",
        "arc-github-app-auth",
        "arc-runner-group",
    ];
    let unmarked = evaluate(&simulated, &Expectations::default());
    for id in ids {
        assert_eq!(status_of(&unmarked, id).status, Mark::NotMet, "{id}");
    }

    for (app, ns) in apps {
        simulated.push(serde_json::json!({"apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": app, "namespace": "argocd",
                "annotations": {"homelab.dev/not-simulated": format!("chart {app} is not in the chart cache")}},
            "spec": {"destination": {"namespace": ns}}}));
    }
    let cs = evaluate(&simulated, &Expectations::default());
    for id in ids {
        let c = status_of(&cs, id);
        assert_eq!(c.status, Mark::NotCheckable, "{c:?}");
        assert!(
            c.evidence
                .iter()
                .any(|e| e.contains("was not simulated (chart ")),
            "{c:?}"
        );
    }
    let sealed = status_of(&cs, "sealed-secrets");
    for what in [
        "SealedSecrets controller: Application argocd/sealed-secrets",
        "sealing key: ",
    ] {
        assert!(
            sealed.evidence.iter().any(|e| e.starts_with(what)),
            "{sealed:?}"
        );
    }
}
