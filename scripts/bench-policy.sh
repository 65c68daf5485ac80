#!/usr/bin/env bash
# Benchmarks the policy engine end to end with the release binary: `homelab policy apply`
# with 100 validate ClusterPolicies of Kyverno's public library against 10,000 built-in
# objects of real repositories (workload built by scripts/policy-bench-workload.py from
# ../shared). Prints wall and CPU time, peak memory and policy x resource evaluations per
# second, for the text and the JSON report; with BASELINE_BIN set, also checks that both
# binaries give byte-identical reports (same results).
#
# Usage: scripts/bench-policy.sh [SHARED_DIR]
# Env: HOMELAB_BIN (default: cargo build --release), BENCH_RUNS (default 3),
#      BENCH_POLICIES (100), BENCH_RESOURCES (10000), BASELINE_BIN (optional).
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${1:-../shared}"
runs="${BENCH_RUNS:-3}"
npol="${BENCH_POLICIES:-100}"
nres="${BENCH_RESOURCES:-10000}"
bin="${HOMELAB_BIN:-}"
if [[ ! -d "$shared/corpus/kyverno-policies" ]]; then
  if [[ "${CI:-}" == true ]]; then
    echo "bench-policy: $shared/corpus/kyverno-policies not found" >&2
    exit 1
  fi
  echo "bench-policy: $shared/corpus/kyverno-policies not found, nothing to measure"
  exit 0
fi
if [[ -z "$bin" ]]; then
  cargo build --release -p homelab -q
  bin="${CARGO_TARGET_DIR:-target}/release/homelab"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 scripts/policy-bench-workload.py "$work" --shared "$shared" --policies "$npol" --resources "$nres"
echo "homelab: $bin; $(nproc) CPUs; best of $runs runs"

# measure FORMAT: best wall time of $runs runs, with its user+sys time and peak RSS.
measure() {
  local format=$1 best="" line
  for ((i = 0; i < runs; i++)); do
    /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$bin" policy apply "$work/policies" \
      -r "$work/resources" --format "$format" > "$work/out.$format" 2>/dev/null || true
    line=$(cat "$work/time" | tail -1)
    if [[ -z "$best" ]] || python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "${line%% *}" "${best%% *}"; then
      best=$line
    fi
  done
  python3 - "$format" "$npol" "$nres" $best <<'PY'
import sys
fmt, npol, nres = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
wall, user, sys_, rss = float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
print(f"  policy apply --format {fmt:<5} {wall:6.2f} s wall, {user + sys_:6.2f} s CPU, {rss / 1024:7.0f} MB peak, "
      f"{npol * nres / wall:10.0f} evaluations/s ({npol} x {nres})")
PY
}
measure text
measure json
python3 -c 'import json,sys; print("  summary:", json.load(open(sys.argv[1]))["summary"])' "$work/out.json"
if [[ -n "${BASELINE_BIN:-}" ]]; then
  "$BASELINE_BIN" policy apply "$work/policies" -r "$work/resources" --format json > "$work/base.json" 2>/dev/null || true
  if cmp -s "$work/base.json" "$work/out.json"; then
    echo "  same results as $BASELINE_BIN (byte-identical JSON report)"
  else
    echo "  DIFFERENT results from $BASELINE_BIN" >&2
    exit 1
  fi
fi
