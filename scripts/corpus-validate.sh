#!/usr/bin/env bash
# Runs `homelab validate -strict -summary -output json` over each corpus in ../shared/corpus
# (except kyverno-policies, which is conformance data) and prints per-corpus counts:
# valid / invalid / errors (of which: no schema, removed API, unparsable file) / skipped.
#
# Usage: scripts/corpus-validate.sh [CORPUS_DIR] [-- extra homelab validate flags]
# Needs python3 (to read the JSON). Skips (exit 0) when the corpus is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-../shared/corpus}"
[[ $# -gt 0 ]] && shift
[[ "${1:-}" == "--" ]] && shift
if [[ ! -d "$corpus" ]]; then
  echo "corpus-validate: $corpus not found, skipping"
  exit 0
fi
bin="${HOMELAB_BIN:-}"
if [[ -z "$bin" ]]; then
  cargo build --release -p homelab -q
  bin="${CARGO_TARGET_DIR:-target}/release/homelab"
fi
printf '%-22s %7s %7s %7s %9s %8s %9s %7s\n' corpus valid invalid errors no-schema removed unparsed skipped
for dir in "$corpus"/*/; do
  name="$(basename "$dir")"
  [[ "$name" == kyverno-policies ]] && continue
  out="$(mktemp)"
  set +e
  "$bin" validate -strict -summary -output json "$@" "$dir" >"$out"
  code=$?
  set -e
  if [[ $code -gt 1 ]]; then
    echo "$name: homelab validate failed with exit code $code" >&2
    rm -f "$out"
    exit 1
  fi
  python3 - "$name" "$out" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
doc = json.load(open(path))
s = doc["summary"]
missing = removed = unparsed = 0
for r in doc["resources"]:
    rules = {e["rule"] for e in r.get("errors", [])}
    if "schema/missing" in rules:
        missing += 1
    elif "schema/removed-api" in rules:
        removed += 1
    elif r["status"] == "statusError" and not r["kind"]:
        unparsed += 1
print(f'{name:<22} {s["valid"]:>7} {s["invalid"]:>7} {s["errors"]:>7} {missing:>9} {removed:>8} {unparsed:>9} {s["skipped"]:>7}')
PY
  rm -f "$out"
done

# Optional: per-object verdict diff against the upstream per-kind files in kubeconform's naming
# (`{{.ResourceKind}}{{.KindSuffix}}.json`), e.g. an unpacked kubernetes-validate wheel:
#   KV_SCHEMAS=/tmp/kv/w/kubernetes_validate/kubernetes-json-schema/v1.37.0-local-strict
if [[ -n "${KV_SCHEMAS:-}" ]]; then
  echo
  echo "verdicts: embedded bundle vs -schema-location $KV_SCHEMAS"
  for dir in "$corpus"/*/; do
    name="$(basename "$dir")"
    [[ "$name" == kyverno-policies ]] && continue
    a="$(mktemp)"; b="$(mktemp)"
    "$bin" validate -strict -verbose -output json "$dir" >"$a" || true
    "$bin" validate -strict -verbose -output json \
      -schema-location "$KV_SCHEMAS/{{.ResourceKind}}{{.KindSuffix}}.json" "$dir" >"$b" || true
    python3 - "$name" "$a" "$b" <<'PY'
import json, sys
name, a, b = sys.argv[1:]
def verdicts(p):
    out = {}
    for r in json.load(open(p))["resources"]:
        line = min((e["line"] or 0 for e in r.get("errors", [])), default=0)
        out[(r["filename"], r["kind"], r["name"], r["version"], line if not r["kind"] else 0)] = r["status"]
    return out
va, vb = verdicts(a), verdicts(b)
diff = [(k, va.get(k), vb.get(k)) for k in sorted(set(va) | set(vb), key=str) if va.get(k) != vb.get(k)]
print(f"{name:<22} {len(va)} objects, {len(diff)} different verdicts")
for k, x, y in diff[:20]:
    print("   ", k, x, "->", y)
PY
    rm -f "$a" "$b"
  done
fi

# Optional: per-object verdicts of the embedded CRD catalog against a public CRD catalog in
# kubeconform's usual pairing (`-schema-location default -schema-location <catalog template>`),
# e.g. a checkout of datreeio/CRDs-catalog:
#   CRD_CATALOG=/tmp/CRDs-catalog scripts/corpus-validate.sh
# Objects the public catalog has no schema for are counted, not compared.
if [[ -n "${CRD_CATALOG:-}" ]]; then
  echo
  echo "verdicts: embedded CRD catalog vs -schema-location $CRD_CATALOG"
  for dir in "$corpus"/*/; do
    name="$(basename "$dir")"
    a="$(mktemp)"; b="$(mktemp)"
    "$bin" validate -strict -verbose -output json "$dir" >"$a" || true
    "$bin" validate -strict -verbose -output json -schema-location default-kubernetes \
      -schema-location "$CRD_CATALOG/{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json" \
      "$dir" >"$b" || true
    python3 - "$name" "$a" "$b" <<'PY'
import json, sys
name, a, b = sys.argv[1:]
def verdicts(p):
    out = {}
    for r in json.load(open(p))["resources"]:
        if not r["kind"]:
            continue
        rules = sorted({e["rule"] for e in r.get("errors", []) if e["severity"] == "error"})
        line = min((e["line"] or 0 for e in r.get("errors", [])), default=0)
        key = (r["filename"], r["kind"], r["name"], r["version"])
        out.setdefault(key, []).append((r["status"], rules))
    return out
va, vb = verdicts(a), verdicts(b)
same = differ = theirs_missing = ours_missing = 0
diffs = []
for k in sorted(set(va) | set(vb), key=str):
    for x, y in zip(va.get(k, []), vb.get(k, [])):
        if "schema/missing" in y[1]:
            theirs_missing += 1
            if "schema/missing" in x[1]:
                ours_missing += 1
            continue
        if x[0] == y[0]:
            same += 1
        else:
            differ += 1
            diffs.append((k, x, y))
print(f"{name:<22} same verdict {same}, different {differ}; public catalog has no schema for {theirs_missing} (embedded neither: {ours_missing})")
for k, x, y in diffs[:30]:
    print("   ", k, "embedded:", x, "public:", y)
PY
    rm -f "$a" "$b"
  done
fi
