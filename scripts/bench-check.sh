#!/usr/bin/env bash
# Benchmarks `homelab check` (release build):
#   1. on the repository `homelab init` renders (target: well under 100 ms);
#   2. on the corpora of ../shared/corpus (all but kyverno-policies, in one run), against
#      `homelab validate -strict` alone on the same files: throughput in objects/s, so the
#      cost of the extra stages (policies, platform rules, secrets) is visible.
#   3. kyverno-policies on its own (BENCH_RUNS_LARGE runs, default 5).
# Uses hyperfine when installed (apt-get install hyperfine), else a loop of N runs timed with
# `date +%s%N` (mean and min). Not part of the test suite.
#
# Usage: scripts/bench-check.sh [CORPUS_DIR]
# Env: HOMELAB_BIN (default: cargo build --release), BENCH_RUNS (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus="${1:-../shared/corpus}"
runs="${BENCH_RUNS:-20}"
bin="${HOMELAB_BIN:-}"
if [[ -z "$bin" ]]; then
  cargo build --release -p homelab -q
  bin="${CARGO_TARGET_DIR:-target}/release/homelab"
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# mean_ms CMD...: mean wall time of $runs runs in milliseconds (3 warm-up runs first).
mean_ms() {
  if command -v hyperfine >/dev/null; then
    hyperfine --warmup 3 --runs "$runs" -N --ignore-failure --export-json "$work/h.json" \
      --style none "$(printf '%q ' "$@")" >/dev/null 2>&1 || true
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.1f %.1f %.1f" % (r["mean"]*1000, r["min"]*1000, r["stddev"]*1000))' "$work/h.json"
  else
    local i total=0 best=0 t s
    for i in 1 2 3; do "$@" >/dev/null 2>&1 || true; done
    for ((i = 0; i < runs; i++)); do
      s=$(date +%s%N)
      "$@" >/dev/null 2>&1 || true
      t=$(( $(date +%s%N) - s ))
      total=$(( total + t ))
      if (( best == 0 || t < best )); then best=$t; fi
    done
    python3 -c 'import sys; t,b,n=map(int,sys.argv[1:]); print(f"{t/n/1e6:.1f} {b/1e6:.1f} -")' "$total" "$best" "$runs"
  fi
}

objects_of() { # objects checked by `homelab check` on the given paths
  { "$bin" check "$@" --format json 2>/dev/null || true; } | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["objects_checked"])'
}

tool="loop of $runs runs (date +%s%N)"
command -v hyperfine >/dev/null && tool="hyperfine $(hyperfine --version | awk '{print $2}'), $runs runs"
echo "homelab: $bin"
echo "timing:  $tool; $(nproc) CPUs"
echo

repo="$work/repo"
"$bin" init "$repo" >/dev/null
read -r mean best sd < <(mean_ms "$bin" check "$repo" --format json)
objs=$(objects_of "$repo")
echo "rendered repo ($objs objects):"
printf '  %-28s mean %8s ms   min %8s ms   sd %s\n' "homelab check" "$mean" "$best" "$sd"
read -r vmean vbest vsd < <(mean_ms "$bin" validate -strict -summary "$repo")
printf '  %-28s mean %8s ms   min %8s ms   sd %s\n' "homelab validate -strict" "$vmean" "$vbest" "$vsd"
echo

if [[ ! -d "$corpus" ]]; then
  echo "corpus: $corpus not found, skipping the corpus benchmark"
  exit 0
fi
dirs=()
for d in "$corpus"/*/; do
  [[ "$(basename "$d")" == kyverno-policies ]] && continue
  dirs+=("${d%/}")
done
objs=$(objects_of "${dirs[@]}")
names=$(for d in "${dirs[@]}"; do basename "$d"; done | paste -sd, -)
echo "corpus ($names: $objs objects, one run over all):"
read -r mean best sd < <(mean_ms "$bin" check "${dirs[@]}" --format json)
read -r vmean vbest vsd < <(mean_ms "$bin" validate -strict -summary "${dirs[@]}")
python3 - "$objs" "$mean" "$best" "$vmean" "$vbest" <<'PY'
import sys
objs = int(sys.argv[1]); mean, best, vmean, vbest = map(float, sys.argv[2:])
print(f"  {'homelab check':<28} mean {mean:8.1f} ms   {objs / (mean / 1000):9.0f} objects/s")
print(f"  {'homelab validate -strict':<28} mean {vmean:8.1f} ms   {objs / (vmean / 1000):9.0f} objects/s")
print(f"  check / validate time: {mean / vmean:.2f}x (extra stages: {mean - vmean:+.1f} ms)")
PY

if [[ -d "$corpus/kyverno-policies" ]]; then
  kp="$corpus/kyverno-policies"
  objs=$(objects_of "$kp")
  runs_saved=$runs
  runs="${BENCH_RUNS_LARGE:-5}"
  echo
  echo "kyverno-policies ($objs objects after fixture folders are skipped, $runs runs):"
  read -r mean best sd < <(mean_ms "$bin" check "$kp" --format json)
  read -r vmean vbest vsd < <(mean_ms "$bin" validate -strict -summary "$kp")
  runs=$runs_saved
  python3 - "$objs" "$mean" "$vmean" <<'PY'
import sys
objs = int(sys.argv[1]); mean, vmean = map(float, sys.argv[2:])
print(f"  {'homelab check':<28} mean {mean:8.1f} ms   {objs / (mean / 1000):9.0f} objects/s")
print(f"  {'homelab validate -strict':<28} mean {vmean:8.1f} ms   (validate reads every file: fixtures too)")
PY
fi
