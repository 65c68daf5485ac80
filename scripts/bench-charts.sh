#!/usr/bin/env bash
# Benchmarks Helm rendering inside `homelab check` (release build) on the repository
# `homelab init` renders, with the chart versions of ../shared/charts pinned in its
# platform.toml so that every chart there renders:
#   - warm: `check --charts` with the render cache filled (target < 1 s on 2 cores);
#   - cold: the same with an empty render cache (helm renders everything), next to the sum of
#     the `helm template` runs that work needs (timed inside homelab, `charts list`);
#   - plain: `check` without charts, for reference.
# Uses hyperfine when installed, else a loop timed with `date +%s%N`. Not part of the suite.
#
# Usage: scripts/bench-charts.sh [CHARTS_DIR]   Env: HOMELAB_BIN, BENCH_RUNS (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
charts="$(cd "${1:-../shared/charts}" && pwd)"
runs="${BENCH_RUNS:-10}"
bin="${HOMELAB_BIN:-}"
if [[ -z "$bin" ]]; then
  cargo build --release -p homelab -q
  bin="${CARGO_TARGET_DIR:-target}/release/homelab"
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

mean_ms() { # mean and min wall time in ms of "$@" over $runs runs (after warm-up runs)
  local i total=0 best=0 t s
  for i in 1 2; do "$@" >/dev/null 2>&1 || true; done
  for ((i = 0; i < runs; i++)); do
    s=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    t=$(($(date +%s%N) - s))
    total=$((total + t))
    if ((best == 0 || t < best)); then best=$t; fi
  done
  python3 -c 'import sys; t,b,n=map(int,sys.argv[1:]); print(f"mean {t/n/1e6:.0f} ms, min {b/1e6:.0f} ms")' "$total" "$best" "$runs"
}

"$bin" init "$work/repo" >/dev/null 2>&1 || true
python3 - "$charts/index.yaml" "$work/repo/platform.toml" <<'PY'
import re, sys, yaml
index = yaml.safe_load(open(sys.argv[1]))["entries"]
text = open(sys.argv[2]).read()
pin = lambda m: f'{m.group(1)}version = "{index[m.group(2)][0]["version"]}"' if m.group(2) in index else m.group(0)
open(sys.argv[2], "w").write(re.sub(r'(name = "([^"]+)", )version = "[^"]+"', pin, text))
PY
"$bin" render "$work/repo" >/dev/null 2>&1 || true

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
export HOMELAB_CACHE_DIR="$work/cold-list"
"$bin" charts list "$work/repo" --charts "$charts" 2>/dev/null | tail -n 1 | sed 's/^/cold render: /'
objects=$("$bin" check "$work/repo" --charts "$charts" --format json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["objects_checked"])' || true)
echo "objects checked with charts: $objects"

export HOMELAB_CACHE_DIR="$work/warm"
echo "warm check --charts:  $(mean_ms "$bin" check "$work/repo" --charts "$charts")"
cpu=$( { /usr/bin/time -f '%U %S' "$bin" check "$work/repo" --charts "$charts" >/dev/null 2>/dev/null; } 2>&1 | tail -n 1)
echo "warm check --charts CPU (user sys, s): $cpu"
cold() { rm -rf "$work/cold"; HOMELAB_CACHE_DIR="$work/cold" "$bin" check "$work/repo" --charts "$charts"; }
runs_saved=$runs; runs=3
echo "cold check --charts:  $(mean_ms cold)"
runs=$runs_saved
echo "check without charts: $(mean_ms "$bin" check "$work/repo")"
