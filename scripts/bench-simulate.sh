#!/usr/bin/env bash
# Benchmarks `homelab simulate` (release build) on the repository `homelab init` renders,
# with the chart versions of ../shared/charts pinned so that every chart there renders:
#   - warm: `simulate --charts` with the render cache filled (issue 12 target: < 200 ms on
#     2 cores);
#   - plain: `simulate` without charts.
# Uses hyperfine when installed, else a loop timed with `date +%s%N`. Not part of the suite.
#
# Usage: scripts/bench-simulate.sh [CHARTS_DIR]   Env: HOMELAB_BIN, BENCH_RUNS (default 10)
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
export HOMELAB_CACHE_DIR="$work/cache"

"$bin" init "$work/repo" >/dev/null 2>&1 || true
python3 - "$charts/index.yaml" "$work/repo/platform.toml" <<'PY'
import re, sys, yaml
index = yaml.safe_load(open(sys.argv[1]))["entries"]
text = open(sys.argv[2]).read()
def pin(m):
    name = m.group(2)
    return f'{m.group(1)}version = "{index[name][0]["version"]}"' if name in index else m.group(0)
open(sys.argv[2], "w").write(re.sub(r'(name = "([^"]+)", )version = "[^"]+"', pin, text))
PY
"$bin" render "$work/repo" >/dev/null 2>&1 || true
# Fill the render cache once.
"$bin" simulate "$work/repo" --charts "$charts" >/dev/null 2>&1 || true

if command -v hyperfine >/dev/null 2>&1; then
  hyperfine -N --warmup 2 --runs "$runs" -i \
    -n "simulate --charts (warm)" "$bin simulate $work/repo --charts $charts" \
    -n "simulate (no charts)" "$bin simulate $work/repo"
else
  for args in "--charts $charts" ""; do
    total=0
    for ((i = 0; i < runs; i++)); do
      s=$(date +%s%N)
      # shellcheck disable=SC2086
      "$bin" simulate "$work/repo" $args >/dev/null 2>&1 || true
      total=$((total + $(date +%s%N) - s))
    done
    echo "simulate ${args:-(no charts)}: mean $((total / runs / 1000000)) ms over $runs runs"
  done
fi
