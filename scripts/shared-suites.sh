#!/usr/bin/env bash
# Runs the suites that need ../shared (conformance corpus, real-world corpora, interop
# vectors) and prints their figures. CI calls it when ../shared exists. Every suite has a
# floor and a time bound; all suites run (a failure does not hide the others) and the script
# exits 1 when any of them failed, so CI fails with it.
#
# Floors: Kyverno conformance, blind (expected results hidden from the tool), at least
# CONFORMANCE_MIN results (default 3911 of 3912); SealedSecrets interop all vectors pass;
# corpus suites: no crash and no timeout on any corpus.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
if [ ! -d ../shared ]; then
  echo "../shared not found: skipping the shared suites"
  exit 0
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/homelab-target}"
# The debug profile builds dependencies optimised (see Cargo.toml), which is fast enough for
# these suites and saves CI a second, release build.
cargo build -q -p homelab || exit 1
export HOMELAB_BIN="$CARGO_TARGET_DIR/debug/homelab"
failed=()
run() {
  local name=$1 limit=$2; shift 2
  echo "== $name"
  if ! timeout "$limit" "$@"; then
    echo "== $name: FAILED or timed out"
    failed+=("$name")
  fi
}
run "kyverno conformance (blind, floor ${CONFORMANCE_MIN:-3911})" 600 \
  scripts/conformance.sh --blind --min "${CONFORMANCE_MIN:-3911}"
run "schema verdicts on the corpora" 300 scripts/corpus-validate.sh
run "check on the corpora" 300 scripts/corpus-check.sh
run "SealedSecrets interop" 600 scripts/interop-seal.sh
run "SOPS interop" 300 scripts/interop-sops.sh
run "Helm charts: values lines on real charts (../shared/charts)" 600 scripts/charts-shared.sh values
run "Helm charts: default repository, 0 findings (../shared/charts)" 600 scripts/charts-shared.sh default
run "fast YAML scanner reads every YAML file of ../shared as saphyr-parser does" 600 \
  env HOMELAB_FAST_YAML_DIR="$(cd ../shared && pwd)" cargo test -q -p homelab-manifest --lib -- fast::tests::agrees_on_a_folder
run "simulate + verify of the default repository followed to the README's last step, 0 not met (../shared/charts)" 600 scripts/simulate-verify.sh
if [ ${#failed[@]} -gt 0 ]; then
  echo "shared suites FAILED: ${failed[*]}"
  exit 1
fi
echo "shared suites: all passed"
