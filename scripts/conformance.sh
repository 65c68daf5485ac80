#!/usr/bin/env bash
# Kyverno `kyverno test` conformance of `homelab policy test`, per category and rule type.
# Needs ../shared/conformance/kyverno (skipped with a note when absent, a failure in CI) and
# python3. Extra arguments go to the runner, e.g. `--blind --min 3911` (exit 1 below the floor).
# Bounded (< 5 min): build at most 150 s, each test folder 20 s, the whole run 120 s
# (the debug binary runs the 393 folders in under 10 s).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
corpus="${KYVERNO_CORPUS:-$here/../shared/conformance/kyverno}"
bin="${HOMELAB_BIN:-}"
if [ ! -d "$corpus/cases" ]; then
  echo "conformance: corpus not found at $corpus (set KYVERNO_CORPUS)"
  # In CI the corpus is part of the checked-out ../shared: its absence is a failure.
  [ "${CI:-}" = true ] && exit 1
  exit 0
fi
if [ -z "$bin" ]; then
  # the dev build CI already made for the tests; a fresh one is bounded too
  (cd "$here" && timeout 150 cargo build -p homelab --quiet)
  bin="${CARGO_TARGET_DIR:-$here/target}/debug/homelab"
fi
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
timeout 120 python3 "$corpus/tools/kyverno_conformance.py" \
  --cmd "$bin policy test {folder} --format json" \
  --corpus "$corpus" --timeout 20 --jobs "$jobs" \
  --by category --by rule_type --show-failures "${SHOW_FAILURES:-0}" "$@"
