//! Documentation of the findings this crate makes (listed by `homelab rules`, explained by
//! `homelab rules --explain charts/unused-value`).

use homelab_diagnostics::{RuleDoc, Severity};

pub static RULE_DOCS: &[RuleDoc] = &[
    RuleDoc {
        id: "charts/not-cached",
        severity: Severity::Warning,
        summary: "A Helm chart that is not in the chart cache, so what it creates is not checked",
        doc: "# `charts/not-cached`\n\n## What it checks\nEvery Helm source (ArgoCD Application, helmfile release, kustomize helmCharts entry, a chart dependency) whose chart and pinned version are in none of the chart stores `check` reads offline: the `--charts` folders (local chart repositories with `index.yaml`) and the repository's cache `.homelab/charts/`.\n\n## Why\nMost of the platform's workloads come from charts. A chart that cannot be rendered is a blind spot: its pods, RBAC and webhooks escape every other rule. It is one finding, never a silent skip.\n\n## Example\n```yaml\nsources:\n  - repoURL: https://charts.longhorn.io\n    chart: longhorn\n    targetRevision: 1.7.2   # the cache holds 1.12.1\n```\n\n## Fix\n`homelab charts pull` (fetches the pinned archives, explicit network), add the chart to the `--charts` folder, or pin a version that is there.",
    },
    RuleDoc {
        id: "charts/unused-value",
        severity: Severity::Warning,
        summary: "A values key the chart never reads (does nothing)",
        doc: "# `charts/unused-value`\n\n## What it checks\nEach key of a values file, `valuesObject`, inline values or parameters against the chart it configures: its `values.yaml` defaults, its `values.schema.json`, the names its templates use, maps it passes through whole (`toYaml`), free-form maps (empty in the defaults) and subcharts under their key. A key none of these read is reported at its line, with the closest key the chart does read.\n\n## Why\nHelm ignores unknown keys without a word: a typo (`replicaCont`) or a key from another chart version (`gitlab.kas.enabled` instead of `global.kas.enabled`) silently leaves the default in place.\n\n## Example\n```yaml\nimage:\n  tagg: v2   # the chart reads image.tag\n```\n\n## Fix\nCorrect the key (see the hint, or `helm show values CHART`), or remove it.",
    },
    RuleDoc {
        id: "charts/values-schema",
        severity: Severity::Error,
        summary: "Values that break the chart's values.schema.json",
        doc: "# `charts/values-schema`\n\n## What it checks\nThe merged values of a Helm source against the chart's `values.schema.json`, as helm validates them when it renders; each violation is reported at the line of the value that causes it.\n\n## Why\nArgoCD cannot render the Application: the sync fails, and everything in later waves waits.\n\n## Example\n```yaml\nreplicaCount: two   # the schema wants an integer\n```\n\n## Fix\nGive the value the type and range the schema asks for.",
    },
    RuleDoc {
        id: "charts/render-failed",
        severity: Severity::Error,
        summary: "helm cannot render the chart with these values",
        doc: "# `charts/render-failed`\n\n## What it checks\nThat `helm template` succeeds for every Helm source the way ArgoCD runs it (release name, namespace, value files in order, Kubernetes version and API versions of the cluster, CRDs included). For a chart of this repository the error points at the template line; otherwise at the Application.\n\n## Why\nA render that fails in `check` fails in ArgoCD too: the Application never syncs.\n\n## Example\n`template: app/templates/cm.yaml:4:15: executing ... nil pointer evaluating interface {}.deeper`\n\n## Fix\nSupply the values the template needs, or fix the template (`homelab charts lint`).",
    },
    RuleDoc {
        id: "charts/values-file",
        severity: Severity::Error,
        summary: "A values file that cannot be used (outside the repository, a URL, missing in the chart)",
        doc: "# `charts/values-file`\n\n## What it checks\nThe value files a Helm source names: they must be files of this repository (`$values/...` or relative to a chart folder) that resolve inside it, or files of the packaged chart.\n\n## Why\nA repository is untrusted input: `check` never reads a file outside it (an absolute path, `..`, or a link out) and never fetches a URL. ArgoCD would fail on a file that is not there.\n\n## Example\n```yaml\nvalueFiles:\n  - $values/../../etc/passwd\n```\n\n## Fix\nKeep the values in the repository and reference them with `$values/path/in/repo.yaml`.",
    },
    RuleDoc {
        id: "charts/*",
        severity: Severity::Error,
        summary: "Helm rendering: chart archives, chart folders, the helm binary",
        doc: "# `charts/*`\n\n## What it checks\n`charts/bad-archive`: a cached or local chart archive whose digest differs from its lock or index (changed or damaged), or that is not a chart. `charts/bad-chart`: a chart folder of the repository that cannot be rendered safely (a link out of the repository, too large). `charts/helm-missing`: rendering was asked for (`--charts`, a chart cache, `--helm`) but helm is not there. `charts/store`: a `--charts` folder without `index.yaml`. Notes: `charts/rendered` (what each release made), `charts/not-rendered` (Helm sources found, no chart store configured).\n\n## Why\nEach of these leaves chart-made objects unchecked, or would let a repository read or run something it must not.\n\n## Example\n`.homelab/charts/charts.longhorn.io/longhorn-1.12.1.tgz does not match its digest in .homelab/charts/lock.yaml`\n\n## Fix\n`homelab charts pull` again; fix the chart folder; install helm 3.16+ or pass `--helm`.",
    },
    RuleDoc {
        id: "chart-lint/*",
        severity: Severity::Error,
        summary: "The repository's own charts (homelab charts lint)",
        doc: "# `chart-lint/*`\n\n## What it checks\nWhat `ct lint` and `helm lint` check: `Chart.yaml` fields (`apiVersion: v2`, a `name` that matches the folder, a SemVer `version`, `description`, `type`, maintainers), the version bump against the default branch when the chart changed (`chart-lint/version-bump`, git), templates and values that render (with the defaults and every `ci/*-values.yaml`), strict schemas of what they render, and a README generated from the chart that is up to date.\n\n## Why\nA chart repository never serves two charts under one version, and users read the README to know the values.\n\n## Example\n```yaml\nname: webapp\nversion: 1.2.0   # templates changed since main, still 1.2.0\n```\n\n## Fix\nBump the version; `homelab charts readme` (or `homelab render`) regenerates the README.",
    },
];
