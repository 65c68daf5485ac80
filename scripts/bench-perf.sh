#!/usr/bin/env bash
# All the figures of the performance issue in one run (release build):
#   1. `validate -strict` and `check` on ../shared/corpus (all corpora as one input);
#   2. both on generated repositories of 10k, 50k and 100k objects (scripts/bench-repo.py:
#      real objects of the corpora, 50 a file), so that growth with size is visible;
#   3. kubeconform on the same inputs when it is installed, with the same Kubernetes schemas
#      (KUBECONFORM_SCHEMAS: a folder written by scripts/kubeconform-schemas.py; without it
#      kubeconform runs with -ignore-missing-schemas only and validates nothing but syntax);
#   4. many tiny documents in one file (memory bound);
#   5. the policy engine (scripts/bench-policy.sh), unless BENCH_POLICY=0.
# Each command runs BENCH_RUNS times (default 3) under `/usr/bin/time -v`; the figures are
# the best wall time, the best CPU time (user + sys) and the largest peak RSS of the runs.
# The machine is shared, so CPU time and peak RSS are the comparable figures; wall time and
# throughput depend on the load, printed (`uptime`) before and after. Not part of the tests.
#
# Usage: scripts/bench-perf.sh [CORPUS_DIR]
# Env: HOMELAB_BIN (default: cargo build --release), BENCH_RUNS (default 3),
#      BENCH_DIR (generated repositories are kept there between runs; default a temporary
#      folder), BENCH_SIZES (default "10000 50000 100000"), KUBECONFORM_SCHEMAS,
#      BENCH_POLICY (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-../shared/corpus}"
runs="${BENCH_RUNS:-3}"
sizes="${BENCH_SIZES:-10000 50000 100000}"
bin="${HOMELAB_BIN:-}"
if [[ -z "$bin" ]]; then
  cargo build --release -p homelab -q
  bin="${CARGO_TARGET_DIR:-target}/release/homelab"
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
if [[ ! -x /usr/bin/time ]]; then
  echo "bench-perf: /usr/bin/time is needed (apt-get install time)" >&2
  exit 2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
repos="${BENCH_DIR:-$work}"
mkdir -p "$repos"

# measure LABEL MB OBJECTS CMD...: runs CMD $runs times and prints one line of figures.
measure() {
  local label=$1 mb=$2 objects=$3
  shift 3
  local i
  : >"$work/runs"
  for ((i = 0; i < runs; i++)); do
    /usr/bin/time -v -o "$work/time" "$@" >"$work/out" 2>/dev/null || true
    python3 - "$work/time" >>"$work/runs" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def f(key):
    return re.search(re.escape(key) + r":\s*(.+)", t).group(1).strip()
wall = 0.0
for part in f("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
    wall = wall * 60 + float(part)
cpu = float(f("User time (seconds)")) + float(f("System time (seconds)"))
print(wall, cpu, int(f("Maximum resident set size (kbytes)")))
PY
  done
  python3 - "$work/runs" "$label" "$mb" "$objects" <<'PY'
import sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
label, mb, objects = sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
wall = min(r[0] for r in rows); cpu = min(r[1] for r in rows); rss = max(r[2] for r in rows)
print(f"  {label:<34} wall {wall:6.2f} s  cpu {cpu:6.2f} s  peak {rss / 1024:7.1f} MB"
      f"  {mb / wall:6.1f} MB/s  {objects / cpu:8.0f} objects/cpu-s")
PY
}

size_mb() { du -sbL "$@" | awk '{s += $1} END {printf "%.1f", s / 1e6}'; }
objects_validated() { # resources validate saw (valid + invalid + errors + skipped)
  { "$bin" validate -summary -output json "$@" 2>/dev/null || true; } |
    python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["summary"].values()))' 2>/dev/null || echo 0
}

echo "homelab: $bin ($runs runs each; best wall, best cpu = user+sys, largest peak RSS)"
echo "machine: $(nproc) CPUs; load before: $(uptime | sed 's/.*load average/load average/')"
kubeconform_args=(-strict -summary -ignore-missing-schemas)
if command -v kubeconform >/dev/null; then
  if [[ -n "${KUBECONFORM_SCHEMAS:-}" ]]; then
    kubeconform_args+=(-schema-location "$KUBECONFORM_SCHEMAS/{{ .ResourceKind }}{{ .KindSuffix }}.json")
    echo "kubeconform: $(kubeconform -v 2>/dev/null || echo present), schemas $KUBECONFORM_SCHEMAS"
  else
    echo "kubeconform: $(kubeconform -v 2>/dev/null || echo present), NO local schemas (KUBECONFORM_SCHEMAS unset): syntax only"
  fi
else
  echo "kubeconform: not installed (no side-by-side figures)"
fi
echo

if [[ -d "$corpus" ]]; then
  mb=$(size_mb "$corpus")
  n=$(objects_validated -strict "$corpus")
  echo "corpus $corpus ($mb MB, $n resources):"
  measure "homelab validate -strict" "$mb" "$n" "$bin" validate -strict -summary "$corpus"
  measure "homelab check (one repo)" "$mb" "$n" "$bin" check "$corpus" --format json
  if command -v kubeconform >/dev/null; then
    measure "kubeconform -strict" "$mb" "$n" kubeconform "${kubeconform_args[@]}" "$corpus"
  fi
  echo
  for size in $sizes; do
    repo="$repos/repo-$size"
    if [[ ! -d "$repo" ]]; then
      python3 scripts/bench-repo.py "$repo" --corpus "$corpus" --objects "$size" >/dev/null
    fi
    mb=$(size_mb "$repo")
    echo "generated repo, $size objects ($mb MB, 50 objects a file):"
    measure "homelab validate -strict" "$mb" "$size" "$bin" validate -strict -summary "$repo"
    measure "homelab check" "$mb" "$size" "$bin" check "$repo" --format json
    if command -v kubeconform >/dev/null; then
      measure "kubeconform -strict" "$mb" "$size" kubeconform "${kubeconform_args[@]}" "$repo"
    fi
  done
  echo
else
  echo "corpus: $corpus not found, nothing to measure"
fi

# Many tiny documents (issue 19 point 11): 16 MB of `---` lines and of tiny non-objects.
dashes="$work/dashes.yaml"
python3 -c 'import sys; sys.stdout.write("---\n" * (4 * 1024 * 1024))' >"$dashes"
tiny="$work/tiny.yaml"
python3 -c 'import sys; sys.stdout.write("---\na: 1\n" * (16 * 1024 * 1024 // 9))' >"$tiny"
echo "many tiny documents in one file:"
measure "validate, 16 MB of ---" 16.8 0 "$bin" validate -strict -summary "$dashes"
measure "check, 16 MB of ---" 16.8 0 "$bin" check "$dashes" --format json
measure "validate, 16 MB of 'a: 1' docs" 16.8 0 "$bin" validate -strict -summary "$tiny"
measure "check, 16 MB of 'a: 1' docs" 16.8 0 "$bin" check "$tiny" --format json
echo
if [[ "${BENCH_POLICY:-1}" != 0 ]]; then
  echo "policy engine (scripts/bench-policy.sh):"
  HOMELAB_BIN="$bin" BENCH_RUNS="$runs" scripts/bench-policy.sh "$(dirname "$corpus")"
  echo
fi
echo "load after: $(uptime | sed 's/.*load average/load average/')"
