#!/usr/bin/env bash
# Runs the suites that need ../shared (conformance corpus, real-world corpora, interop
# vectors) and prints their figures. CI calls it when ../shared exists; each suite is bounded
# in time and a failing suite is reported without hiding the others.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ ! -d ../shared ]; then
  echo "../shared not found: skipping the shared suites"
  exit 0
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/homelab-target}"
# The debug profile builds dependencies optimised (see Cargo.toml), which is fast enough for
# these suites and saves CI a second, release build.
cargo build -q -p homelab
export HOMELAB_BIN="$CARGO_TARGET_DIR/debug/homelab"
status=0
run() {
  local name=$1 limit=$2; shift 2
  [ -x "$1" ] || { echo "== $name: $1 not present, skipped"; return; }
  echo "== $name"
  if ! timeout "$limit" "$@"; then
    echo "== $name: FAILED or timed out"
    status=1
  fi
}
run "kyverno conformance" 600 scripts/conformance.sh
run "schema verdicts on the corpora" 300 scripts/corpus-validate.sh
run "check on the corpora" 300 scripts/corpus-check.sh
run "SealedSecrets interop" 300 scripts/interop-seal.sh
run "Helm charts in check (../shared/charts)" 600 scripts/charts-shared.sh
exit $status
