#!/usr/bin/env bash
# Runs `homelab check --format json` over each folder of ../shared/corpus and prints, per
# corpus: files, objects, errors, warnings, notes, wall time, and the count of findings per
# rule (errors and warnings; the repository-policy rules `policy/<policy>/<rule>` are also
# summed per policy). A corpus that takes longer than CORPUS_TIMEOUT seconds (default 60) is
# stopped and reported as a timeout, so the whole run stays under 3 minutes.
#
# Usage: scripts/corpus-check.sh [CORPUS_DIR] [-- extra homelab check flags]
# Env: HOMELAB_BIN (default: cargo build --release), CORPUS_TIMEOUT (seconds),
#      CORPUS_KEEP=DIR (keep each corpus' JSON report there, to look at the findings).
# Needs python3 (to read the JSON). Skips (exit 0) when the corpus is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-../shared/corpus}"
[[ $# -gt 0 ]] && shift
[[ "${1:-}" == "--" ]] && shift
if [[ ! -d "$corpus" ]]; then
  echo "corpus-check: $corpus not found, skipping"
  exit 0
fi
bin="${HOMELAB_BIN:-}"
if [[ -z "$bin" ]]; then
  cargo build --release -p homelab -q
  bin="${CARGO_TARGET_DIR:-target}/release/homelab"
fi
limit="${CORPUS_TIMEOUT:-60}"
keep="${CORPUS_KEEP:-}"
[[ -n "$keep" ]] && mkdir -p "$keep"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

status=0
for dir in "$corpus"/*/; do
  name="$(basename "$dir")"
  out="$work/$name.json"
  start=$(date +%s%N)
  set +e
  timeout "$limit" "$bin" check "$dir" --format json "$@" >"$out" 2>"$work/$name.err"
  code=$?
  set -e
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  if [[ $code -eq 124 ]]; then
    echo "== $name: TIMEOUT after ${limit}s (CORPUS_TIMEOUT raises the limit)"
    echo
    status=1
    continue
  fi
  if [[ $code -gt 1 ]]; then
    echo "== $name: homelab check failed with exit code $code after ${ms} ms" >&2
    sed 's/^/   /' "$work/$name.err" >&2
    status=1
    continue
  fi
  [[ -n "$keep" ]] && cp "$out" "$keep/$name.json"
  python3 - "$name" "$out" "$ms" <<'PY'
import collections, json, sys
name, path, ms = sys.argv[1], sys.argv[2], int(sys.argv[3])
doc = json.load(open(path))
s = doc["summary"]
print(f'== {name}: {s["files_checked"]} files, {s["objects_checked"]} objects, '
      f'{s["errors"]} errors, {s["warnings"]} warnings, {s["notes"]} notes, '
      f'{s.get("suppressed", 0)} suppressed, {ms} ms')
rules = collections.Counter()
policies = collections.Counter()
for d in doc["diagnostics"]:
    if d["severity"] == "note":
        continue
    rule = d["rule"]
    if rule.startswith("policy/"):
        parts = rule.split("/")
        policies["/".join(parts[:2])] += 1
        rules["policy/* (repository Kyverno policies)"] += 1
    else:
        rules[rule] += 1
for rule, n in sorted(rules.items(), key=lambda x: (-x[1], x[0])):
    print(f'   {n:>8}  {rule}')
if policies:
    top = policies.most_common(10)
    print(f'   repository policies that fired: {len(policies)}; most findings:')
    for p, n in top:
        print(f'   {n:>8}    {p}')
print()
PY
done
exit $status
