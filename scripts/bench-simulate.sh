#!/usr/bin/env bash
# Benchmarks `homelab simulate` (release build) on the repository `homelab init` renders,
# with the chart versions of ../shared/charts pinned so that every chart there renders, and
# bootstrapped as its README says (step 6: `homelab secrets init`; step 8: the runner token),
# so that the simulation converges through every wave (a run that stalls is an error here):
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
"$bin" render "$work/repo" >/dev/null
# README steps 6 and 8 with a throw-away key pair standing in for the controller's certificate.
"$bin" secrets keygen --bits 2048 --out "$work/keys" >/dev/null
printf 'github-app-secret: {github_app_id: "12345", github_app_installation_id: "67890", github_app_private_key: "test-key"}\n' >"$work/github-app.yaml"
"$bin" secrets init "$work/repo" --cert "$work/keys/tls.crt" --values "$work/github-app.yaml" >/dev/null
RUNNER_TOKEN=glrt-bench "$bin" secrets init "$work/repo" --cert "$work/keys/tls.crt" \
  --only gitlab-runner-token --from-env gitlab-runner-token/runner-token=RUNNER_TOKEN >/dev/null
# Fill the render cache once; the repository must converge (exit 0).
"$bin" simulate "$work/repo" --charts "$charts" >"$work/cold.txt" 2>&1 \
  || { tail -20 "$work/cold.txt"; echo "FAIL: simulate --charts does not converge" >&2; exit 1; }
"$bin" simulate "$work/repo" >/dev/null 2>&1 \
  || { echo "FAIL: simulate (no charts) does not converge" >&2; exit 1; }

if command -v hyperfine >/dev/null 2>&1; then
  hyperfine -N --warmup 2 --runs "$runs" \
    -n "simulate --charts (warm)" "$bin simulate $work/repo --charts $charts" \
    -n "simulate (no charts)" "$bin simulate $work/repo"
else
  for args in "--charts $charts" ""; do
    total=0
    for ((i = 0; i < runs; i++)); do
      s=$(date +%s%N)
      # shellcheck disable=SC2086
      "$bin" simulate "$work/repo" $args >/dev/null 2>&1
      total=$((total + $(date +%s%N) - s))
    done
    echo "simulate ${args:-(no charts)}: mean $((total / runs / 1000000)) ms over $runs runs"
  done
fi
