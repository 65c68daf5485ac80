#!/usr/bin/env python3
"""Builds a large GitOps repository for the memory and speed benchmarks from the real
repositories of ../shared/corpus (home-ops, homelab, kube-prometheus, kubernetes-examples):

- every Kubernetes object of those repositories (built-in and custom kinds; `kind: List`
  expanded; templates, files that do not parse and tool configuration left out), read in
  path order;
- their CustomResourceDefinitions come first, once each (a real repository ships the CRDs of
  the custom resources it uses, and `validate` must still let them win), then their policies
  (Kyverno, ValidatingAdmissionPolicy), once each too: a real repository has one set of
  policies whatever its size, and repeating them would make `check` quadratic by
  construction (every policy copy against every object);
- the other objects are repeated until OBJECTS objects are written: copy k > 0 of an object
  gets `-k` appended to `metadata.name`, so that names stay unique as in a real repository;
- PER_FILE objects a file, 100 files a folder (`apps/000/objects-0000.yaml`, ...).

The same arguments always give the same files.

Usage: bench-repo.py OUT_DIR [--corpus DIR] [--objects N] [--per-file N]
"""
import argparse
import copy
import os
import sys

import yaml

REPOS = ("home-ops", "homelab", "kube-prometheus", "kubernetes-examples")
TOOL_GROUPS = ("kustomize.config.k8s.io", "config.kubernetes.io", "cli.kyverno.io")
POLICY_GROUPS = ("kyverno.io", "policies.kyverno.io", "admissionregistration.k8s.io")

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def yaml_files(root):
    for d, dirs, files in os.walk(root):
        dirs.sort()
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        for f in sorted(files):
            if f.endswith((".yaml", ".yml")):
                yield os.path.join(d, f)


def objects_of(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if "{{" in text:
            return []
        docs = list(yaml.load_all(text, Loader=Loader))
    except Exception:  # broken or templated upstream files are part of the corpora
        return []
    out = []
    for d in docs:
        if not isinstance(d, dict):
            continue
        kind, api = d.get("kind"), d.get("apiVersion")
        if not isinstance(kind, str) or not isinstance(api, str):
            continue
        if kind.endswith("List") and isinstance(d.get("items"), list):
            out.extend(i for i in d["items"] if isinstance(i, dict) and "kind" in i)
            continue
        if api.split("/")[0] in TOOL_GROUPS:
            continue
        if not isinstance(d.get("metadata"), dict):
            continue
        out.append(d)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--corpus", default="../shared/corpus")
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--per-file", type=int, default=50)
    a = ap.parse_args()
    crds, policies, objects = [], [], []
    for repo in REPOS:
        for path in yaml_files(os.path.join(a.corpus, repo)):
            for o in objects_of(path):
                if o["kind"] == "CustomResourceDefinition":
                    crds.append(o)
                elif o["apiVersion"].split("/")[0] in POLICY_GROUPS:
                    policies.append(o)
                else:
                    objects.append(o)
    if not objects:
        sys.exit(f"bench-repo: no objects found under {a.corpus}")
    stream = (crds + policies)[: a.objects]
    once = len(stream)
    copy_no = 0
    while len(stream) < a.objects:
        for o in objects:
            if len(stream) >= a.objects:
                break
            if copy_no:
                o = copy.deepcopy(o)
                name = o["metadata"].get("name")
                if isinstance(name, str):
                    o["metadata"]["name"] = f"{name}-{copy_no}"
            stream.append(o)
        copy_no += 1
    written = 0
    for index, start in enumerate(range(0, len(stream), a.per_file)):
        folder = os.path.join(a.out, "apps", f"{index // 100:03d}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"objects-{index:04d}.yaml"), "w", encoding="utf-8") as f:
            yaml.dump_all(
                stream[start : start + a.per_file],
                f,
                Dumper=Dumper,
                sort_keys=False,
                explicit_start=True,
                allow_unicode=True,
                width=1 << 20,
            )
        written += 1
    size = sum(
        os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(a.out) for f in fs
    )
    print(
        f"bench-repo: {len(stream)} objects ({once} CRDs and policies, {len(objects)} distinct others) "
        f"in {written} files, {size / 1e6:.1f} MB -> {a.out}"
    )


if __name__ == "__main__":
    main()
