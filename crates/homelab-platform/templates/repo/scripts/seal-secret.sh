#!/usr/bin/env bash
# Seal a secret into secrets/homelab/<name>.yaml (the SealedSecrets workflow, docs/secrets.md).
#   scripts/seal-secret.sh NAMESPACE NAME KEY=VALUE [KEY=VALUE...]
# Values never touch the disk unencrypted. Uses `homelab seal` (kubeseal-compatible), or
# kubeseal when homelab is not installed.
# Rendered by homelab {{ version }} from platform.toml.
set -euo pipefail

[ $# -ge 3 ] || { echo "usage: $0 NAMESPACE NAME KEY=VALUE..." >&2; exit 2; }
namespace="$1"; name="$2"; shift 2
cert="${CERT:-pub-sealed-secrets.pem}"
controller_namespace={{ c.sealed_secrets.namespace | sh }}
[ -f "$cert" ] || { printf 'fetch the certificate first: kubeseal --fetch-cert --controller-namespace=%q > %q\n' "$controller_namespace" "$cert" >&2; exit 2; }

args=()
for kv in "$@"; do
  args+=("--from-literal=$kv")
done
out="secrets/homelab/$name.yaml"
if command -v homelab >/dev/null; then
  sealer=(homelab seal)
else
  sealer=(kubeseal)
fi
kubectl create secret generic "$name" --namespace "$namespace" "${args[@]}" \
  --dry-run=client -o yaml | "${sealer[@]}" --cert "$cert" -o yaml > "$out.tmp"
mv "$out.tmp" "$out"
echo "sealed $namespace/$name into $out"
