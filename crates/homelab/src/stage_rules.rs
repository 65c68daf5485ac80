//! Documentation of the findings that come from the pipeline's stages rather than from a
//! platform rule file: YAML loading, schemas, the repository's own Kyverno policies and the
//! check configuration, and SOPS files. `homelab rules` lists them after the platform rules; `--explain`
//! takes an exact id or any id of a family (`schema/type` explains `schema/*`).

use homelab_diagnostics::Severity;

pub struct StageRule {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub doc: &'static str,
}

pub static STAGE_RULES: &[StageRule] = &[
    StageRule {
        id: "yaml/*",
        severity: Severity::Error,
        summary: "YAML that Kubernetes would read wrongly or not at all",
        doc: "# `yaml/*`: reading the files\n\n## What it checks\nSyntax (`yaml/syntax`), duplicate keys (`yaml/duplicate-key`, an error: Kubernetes keeps the last one silently), tab indentation, bad tags and merge keys, and the bounds that keep the tool safe on any input: nesting depth, alias expansion, file size, binary files, invalid UTF-8, unreadable files and symlink loops. `yaml/ambiguous-value` (a warning) flags plain values that YAML 1.1, which Kubernetes uses, reads as something else: `yes`/`on` as booleans, `0644` as the number 420.\n\n## Why\nThe API server reads YAML with YAML 1.1 rules: `enabled: on` is `true`, `mode: 0644` is 420, and the second of two `image:` keys wins without a word.\n\n## Example\n```yaml\nmode: 0644\nimage: a:1\nimage: a:2\n```\n\n## Fix\nQuote values meant as strings (`\"on\"`, `\"0644\"`), remove duplicate keys, indent with spaces.",
    },
    StageRule {
        id: "load/*",
        severity: Severity::Note,
        summary: "Files that are not Kubernetes objects (classified, not failed)",
        doc: "# `load/*`: classification notes\n\n## What it checks\nHelm values, CI files, kustomization files, Kyverno CLI test files (`load/not-kubernetes`), Go/Helm templates (`load/template`) and Kyverno test fixture folders (`load/test-fixtures`) are recognised and skipped with a note instead of failing as invalid manifests. Platform rules still read Helm values (storage classes, GPU placement, budgets) and the secret scanner reads every file.\n\n## Why\nA GitOps repository is more than manifests; a checker that fails on a values file is a checker nobody runs.\n\n## Example\n`apps/gitlab/values-homelab.yaml` (no apiVersion/kind).\n\n## Fix\nNothing to fix; `-v` shows the notes.",
    },
    StageRule {
        id: "schema/*",
        severity: Severity::Error,
        summary: "Strict schema validation (Kubernetes OpenAPI of the target version, CRDs)",
        doc: "# `schema/*`: strict schema validation\n\n## What it checks\nEvery Kubernetes object against the schema of its apiVersion and kind for the target Kubernetes version (embedded, 1.29 to the newest), CRDs found in the input or given with `--crd`, and the platform's own custom kinds (ArgoCD, Kyverno, Longhorn, SealedSecrets, ARC, Traefik, cert-manager, k3s). Unknown fields are errors (`schema/unknown-field`, with the nearest allowed name), as are wrong types, missing required fields, values outside an enum or pattern. A kind without a schema is `schema/missing`.\n\n## Why\nThe API server drops unknown fields silently (a misspelt `resources` limits nothing) and rejects the rest at sync time, long after review.\n\n## Example\n```yaml\nspec:\n  contaners: []\n```\n\n## Fix\nCorrect the field the message names; for custom kinds without a schema pass their CRD with `--crd`.",
    },
    StageRule {
        id: "schema/removed-api",
        severity: Severity::Error,
        summary: "apiVersion removed in the target Kubernetes version",
        doc: "# `schema/removed-api`: apiVersion removed in the target Kubernetes version\n\n## What it checks\nObjects whose apiVersion the target Kubernetes version (from `--kubernetes-version` or `platform.toml`) no longer serves, e.g. `extensions/v1beta1` Deployment, `policy/v1beta1` PodSecurityPolicy, `batch/v1beta1` CronJob.\n\n## Why\nThe sync fails with \"no matches for kind\" on the upgraded cluster.\n\n## Example\n`apiVersion: batch/v1beta1` with `kind: CronJob`.\n\n## Fix\nUse the replacement the message names (`batch/v1`).",
    },
    StageRule {
        id: "schema/deprecated-api",
        severity: Severity::Warning,
        summary: "apiVersion deprecated in the target Kubernetes version",
        doc: "# `schema/deprecated-api`: apiVersion deprecated in the target Kubernetes version\n\n## What it checks\nObjects whose apiVersion is still served by the target version but deprecated, with the version that removes it.\n\n## Why\nIt will break on a later k3s upgrade; moving now is cheap.\n\n## Example\nAn apiVersion marked deprecated for the target version.\n\n## Fix\nUse the replacement the message names.",
    },
    StageRule {
        id: "policy/*",
        severity: Severity::Error,
        summary: "The repository's own Kyverno policies against its own resources",
        doc: "# `policy/<policy>/<rule>`: the repository's Kyverno policies\n\n## What it checks\nEvery ClusterPolicy, Policy and ValidatingPolicy in the input, with its PolicyExceptions, evaluated against every other object as an admission request (CREATE), as `kyverno apply` would. A failing rule of an Enforce policy is an error (the cluster would reject the object), of an Audit policy a warning. When a platform rule reports the same line, the policy finding is folded into it.\n\n## Why\nA manifest that the cluster's Kyverno rejects fails the ArgoCD sync; finding it in review is cheaper.\n\n## Example\nA Deployment with `image: nginx:latest` under the guide's `disallow-latest-tag`.\n\n## Fix\nChange the object, or add a narrowly matched PolicyException with a reason.",
    },
    StageRule {
        id: "sops/*",
        severity: Severity::Error,
        summary: "SOPS files: structure, MAC, and files .sops.yaml says must be encrypted",
        doc: "# `sops/*`: SOPS-encrypted files\n\n## What it checks\n`sops/structure`: a SOPS file (YAML or JSON with a `sops` metadata block) that sops could not decrypt whatever the key, or that shows a hand edit, checked without any key: the file parses; the metadata reads (one crypt rule, `lastmodified` an RFC 3339 time, the same block on every document); `mac` is an encrypted 128-character MAC; each age recipient is valid and each wrapped data key is an age file whose header parses; every value the crypt rule selects is a well-formed `ENC[...]` (a plaintext value there is a hand edit), no value outside the rule looks encrypted, and no IV appears at two paths (a value copied from another key). Without a key nothing can tell an edited unencrypted value, a removed or swapped value, or a `lastmodified` changed to another valid time: `sops/mac-mismatch` does, when an identity is given with `--sops-age-key-file` (never taken from the environment: check runs on untrusted pull requests); the values are decrypted in memory and nothing decrypted is shown. `sops/unverified` (a note): that identity cannot open the file. `sops/not-encrypted`: a Kubernetes Secret, or a file named like an encrypted one (`*.sops.yaml`, `*.enc.json`), that a creation rule of the nearest `.sops.yaml` (not above the checked folder) covers but that holds plaintext, at its first value the rule would encrypt. `sops/config`: a `.sops.yaml` sops would refuse. The `sops` block is removed from the documents the other stages see, so encrypted Secrets validate and their `ENC[...]` values are never taken for leaked credentials.\n\n## Why\nA hand-edited SOPS file fails at decryption time in the cluster (Flux, the sops CLI), long after review; a plaintext Secret next to the encrypted ones is a leak the `.sops.yaml` was written to prevent.\n\n## Example\n```yaml\nstringData:\n    token: hunter2   # in a file whose rule says encrypted_regex: ^(data|stringData)$\n```\n\n## Fix\n`homelab sops encrypt --in-place FILE` for a plaintext file; `homelab sops set FILE '[\"stringData\"][\"token\"]' --value-stdin` to change a value; restore a broken file from git.",
    },
    StageRule {
        id: "check/suppression-without-reason",
        severity: Severity::Warning,
        summary: "Inline suppression without a reason (not applied)",
        doc: "# `check/suppression-without-reason`\n\n## What it checks\n`# homelab: ignore[RULE]` comments must say why after the bracket; one without a reason silences nothing.\n\n## Why\nEvery exception in the repository should explain itself to the next reviewer.\n\n## Example\n`image: tool:latest # homelab: ignore[image/latest-tag]`\n\n## Fix\n`# homelab: ignore[image/latest-tag] vendor publishes no tags; digest pinned by Renovate`",
    },
];

/// The stage rule documenting `id`: exact, else its family (`schema/type` -> `schema/*`).
pub fn find(id: &str) -> Option<&'static StageRule> {
    STAGE_RULES.iter().find(|r| r.id == id).or_else(|| {
        let family = id.split('/').next()?;
        STAGE_RULES
            .iter()
            .find(|r| r.id.strip_suffix("/*") == Some(family))
    })
}
