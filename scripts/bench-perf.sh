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
# Throughput divides the bytes of the files validate reads (not `du`, which adds the folders'
# own sizes); the validate goal (60 MB/s on 2 cores) is also shown as a CPU budget, and
# kubeconform's CPU and wall time as multiples of homelab's.
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
wall, cpu = max(wall, 1e-3), max(cpu, 1e-3)
print(f"  {label:<34} wall {wall:6.2f} s  cpu {cpu:6.2f} s  peak {rss / 1024:7.1f} MB"
      f"  {mb / wall:6.1f} MB/s  {mb / cpu:6.1f} MB/cpu-s  {objects / cpu:8.0f} objects/cpu-s")
PY
  # The figures of the last measure, for ratios (best wall, best cpu).
  last=$(python3 -c 'import sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
print(min(r[0] for r in rows), min(r[1] for r in rows))' "$work/runs")
}

# ratio LABEL "WALL CPU" "WALL CPU": how many times less the first takes than the second.
ratio() {
  python3 - "$@" <<'PY'
import sys
label, (hw, hc), (kw, kc) = sys.argv[1], map(float, sys.argv[2].split()), map(float, sys.argv[3].split())
print(f"  {label:<34} kubeconform / homelab: cpu {kc / hc:5.1f}x  wall {kw / hw:5.1f}x (same load)")
PY
}

# validate_goal BYTES "WALL CPU": the throughput goal (60 MB/s on 2 cores) against this run.
validate_goal() {
  python3 - "$@" <<'PY'
import sys
size, (wall, cpu) = int(sys.argv[1]), map(float, sys.argv[2].split())
budget = 2 * size / 60e6
print(f"  validate throughput: {size / 1e6 / wall:.1f} MB/s of wall time, {size / 1e6 / cpu:.1f} MB per cpu-second;"
      f" goal 60 MB/s on 2 cores = cpu <= {budget:.2f} s for these {size} bytes: "
      + ("met" if cpu <= budget else "NOT met"))
PY
}

# The bytes validate reads: its walk's files (regular *.yaml, *.yml, *.json, hidden folders
# included, `.git` and symbolic links left out). `du` would also count the folders' own sizes
# (7.7 MB of the corpus's 23.3 MB).
input_bytes() {
  python3 - "$@" <<'PY'
import os, sys
total = 0
for top in sys.argv[1:]:
    for root, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d != ".git"]
        for f in files:
            p = os.path.join(root, f)
            if f.lower().endswith((".yaml", ".yml", ".json")) and not os.path.islink(p) and os.path.isfile(p):
                total += os.path.getsize(p)
print(total)
PY
}
mb_of() { python3 -c 'import sys; print(f"{int(sys.argv[1]) / 1e6:.2f}")' "$1"; }
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
  bytes=$(input_bytes "$corpus")
  mb=$(mb_of "$bytes")
  n=$(objects_validated -strict "$corpus")
  echo "corpus $corpus ($bytes bytes in the files validate reads, $n resources):"
  measure "homelab validate -strict" "$mb" "$n" "$bin" validate -strict -summary "$corpus"
  homelab_last=$last
  validate_goal "$bytes" "$last"
  measure "homelab check (one repo)" "$mb" "$n" "$bin" check "$corpus" --format json
  if command -v kubeconform >/dev/null; then
    measure "kubeconform -strict" "$mb" "$n" kubeconform "${kubeconform_args[@]}" "$corpus"
    ratio "validate, corpus" "$homelab_last" "$last"
  fi
  echo
  for size in $sizes; do
    repo="$repos/repo-$size"
    if [[ ! -d "$repo" ]]; then
      python3 scripts/bench-repo.py "$repo" --corpus "$corpus" --objects "$size" >/dev/null
    fi
    bytes=$(input_bytes "$repo")
    mb=$(mb_of "$bytes")
    echo "generated repo, $size objects ($bytes bytes, 50 objects a file):"
    measure "homelab validate -strict" "$mb" "$size" "$bin" validate -strict -summary "$repo"
    homelab_last=$last
    measure "homelab check" "$mb" "$size" "$bin" check "$repo" --format json
    if command -v kubeconform >/dev/null; then
      measure "kubeconform -strict" "$mb" "$size" kubeconform "${kubeconform_args[@]}" "$repo"
      ratio "validate, $size objects" "$homelab_last" "$last"
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
