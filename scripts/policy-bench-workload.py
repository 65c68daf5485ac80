#!/usr/bin/env python3
"""Builds the policy-engine benchmark workload from ../shared:

- POLICIES validate-only ClusterPolicies of Kyverno's public policy library
  (corpus/kyverno-policies, test folders left out; policies that read the cluster
  through apiCall/configMap context entries left out, since offline they only error),
  chosen in path order;
- RESOURCES built-in objects (workloads, Services, ConfigMaps, RBAC, Ingresses, ...)
  from the real repositories of corpus/ and the Kyverno test resources; when there are
  fewer distinct objects than asked, copies are made with a numbered name suffix.

Usage: policy-bench-workload.py OUT_DIR [--shared DIR] [--policies N] [--resources N]
Writes OUT_DIR/policies/*.yaml and OUT_DIR/resources/*.yaml (500 objects a file).
"""
import argparse
import copy
import os
import sys

import yaml

BUILTIN = {
    "Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
    "ReplicationController", "Service", "ConfigMap", "ServiceAccount", "Role", "RoleBinding",
    "ClusterRole", "ClusterRoleBinding", "Ingress", "NetworkPolicy", "Namespace",
    "PersistentVolumeClaim", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Secret",
}


def docs_of(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [d for d in yaml.safe_load_all(f) if isinstance(d, dict)]
    except Exception:  # templated or broken upstream files are part of the corpora
        return []


def yaml_files(root, skip_hidden):
    for d, dirs, files in os.walk(root):
        dirs.sort()
        if skip_hidden:
            dirs[:] = [x for x in dirs if not x.startswith(".")]
        for f in sorted(files):
            if f.endswith((".yaml", ".yml")):
                yield os.path.join(d, f)


def validate_only(p):
    rules = (p.get("spec") or {}).get("rules") or []
    if not rules:
        return False
    for r in rules:
        if not isinstance(r, dict) or "validate" not in r:
            return False
        if any(k in r for k in ("mutate", "generate", "verifyImages")):
            return False
        for c in r.get("context") or []:
            if any(k in c for k in ("apiCall", "configMap", "imageRegistry", "globalReference")):
                return False
        if "manifests" in r["validate"]:
            return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    ap.add_argument("--policies", type=int, default=100)
    ap.add_argument("--resources", type=int, default=10000)
    a = ap.parse_args()
    corpus = os.path.join(a.shared, "corpus")
    lib = os.path.join(corpus, "kyverno-policies")
    if not os.path.isdir(lib):
        sys.exit(f"policy-bench-workload: {lib} not found")

    policies, seen = [], set()
    for path in yaml_files(lib, skip_hidden=True):
        for d in docs_of(path):
            name = (d.get("metadata") or {}).get("name")
            if d.get("kind") == "ClusterPolicy" and str(d.get("apiVersion", "")).startswith("kyverno.io/") \
                    and name not in seen and validate_only(d):
                seen.add(name)
                policies.append(d)
        if len(policies) >= a.policies:
            break
    policies = policies[: a.policies]

    resources = []
    for repo in sorted(os.listdir(corpus)):
        root = os.path.join(corpus, repo)
        if not os.path.isdir(root):
            continue
        for path in yaml_files(root, skip_hidden=False):
            for d in docs_of(path):
                meta = d.get("metadata")
                if d.get("kind") in BUILTIN and isinstance(meta, dict) and isinstance(meta.get("name"), str) \
                        and "{{" not in yaml.safe_dump(d):
                    resources.append(d)
    if not resources:
        sys.exit("policy-bench-workload: no resources found")
    distinct = len(resources)
    out_res, i = [], 0
    while len(out_res) < a.resources:
        r = resources[i % distinct]
        if i >= distinct:
            r = copy.deepcopy(r)
            r["metadata"]["name"] = f"{r['metadata']['name']}-{i // distinct}"
        out_res.append(r)
        i += 1

    for sub, items, per in (("policies", policies, 1), ("resources", out_res, 500)):
        os.makedirs(os.path.join(a.out, sub), exist_ok=True)
        for n in range(0, len(items), per):
            with open(os.path.join(a.out, sub, f"{sub}-{n // per:04d}.yaml"), "w", encoding="utf-8") as f:
                yaml.safe_dump_all(items[n:n + per], f, sort_keys=False)
    kinds = {}
    for r in out_res:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    top = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])[:8])
    print(f"workload: {len(policies)} policies, {len(out_res)} resources ({distinct} distinct; {top})")


if __name__ == "__main__":
    main()
