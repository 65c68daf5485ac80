#!/usr/bin/env bash
# Kyverno `kyverno test` conformance of `homelab policy test`, per category and rule type.
# Needs ../shared/conformance/kyverno (skipped with a note when absent) and python3.
# Bounded: each test folder has a 20 s timeout and the whole run 280 s.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
corpus="${KYVERNO_CORPUS:-$here/../shared/conformance/kyverno}"
bin="${HOMELAB_BIN:-}"
if [ ! -d "$corpus/cases" ]; then
  echo "conformance: corpus not found at $corpus (set KYVERNO_CORPUS); skipping"
  exit 0
fi
if [ -z "$bin" ]; then
  (cd "$here" && cargo build --release -p homelab --quiet)
  bin="${CARGO_TARGET_DIR:-$here/target}/release/homelab"
fi
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
timeout 280 python3 "$corpus/tools/kyverno_conformance.py" \
  --cmd "$bin policy test {folder} --format json" \
  --corpus "$corpus" --timeout 20 --jobs "$jobs" \
  --by category --by rule_type --show-failures "${SHOW_FAILURES:-0}" "$@"
