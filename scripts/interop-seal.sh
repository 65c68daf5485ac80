#!/usr/bin/env bash
# Interop of `homelab seal`/`unseal` with the independent Python implementation (kubesealpy)
# over the vectors in ../shared/interop/sealed-secrets, both directions, with the counts.
# The same checks run in `cargo nextest run` (crates/homelab/tests/seal.rs, `interop_*`);
# this script only runs them verbosely. Needs: pip install kubesealpy==1.0.1 pyyaml
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f ../shared/interop/sealed-secrets/manifest.json ]; then
  echo "interop-seal: ../shared/interop/sealed-secrets not present, nothing to do"
  exit 0
fi
if ! python3 -c 'import kubesealpy, yaml' 2>/dev/null; then
  python3 -m pip install -q --disable-pip-version-check kubesealpy==1.0.1 pyyaml
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo test -q -p homelab --test seal -- --nocapture --test-threads 1 interop_ >"$log" 2>&1 || status=$?
grep -E '^(interop|SKIP|negative/)|test result|panicked|FAILED' "$log" | cut -c1-400 || true
exit "$status"
