#!/usr/bin/env bash
# Back up the SealedSecrets controller's sealing keys (the guide's CRITICAL step).
# Rendered by homelab {{ version }} from platform.toml.
# Without these keys no SealedSecret in secrets/homelab/ can ever be decrypted again.
# Store the file OFF the cluster (password manager, offline disk); never commit it in clear.
# With an OUT named *.sops.yaml (task backup-sealing-keys-sops) it is written SOPS-encrypted.
# Prove the backup works: homelab secrets check-backup --keys <file> .
set -euo pipefail

# platform.toml's values (quoted by homelab); the environment may override each.
DEFAULT_NAMESPACE={{ c.sealed_secrets.namespace | sh }}
# End of platform.toml's values.

NAMESPACE="${NAMESPACE:-$DEFAULT_NAMESPACE}"
OUT="${1:-sealed-secrets-backup-$(date -u +%Y%m%d).yaml}"

umask 077
if [[ "$OUT" == *.sops.yaml ]]; then
  # Encrypted for the .sops.yaml recipients on the way: the keys never touch the disk in clear.
  mkdir -p "$(dirname "$OUT")"
  kubectl get secret -n "$NAMESPACE" \
    -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml |
    homelab sops encrypt --filename-override "$OUT" --output "$OUT" -
  echo "wrote the sealing keys to $OUT, encrypted with SOPS (age); decrypt: homelab sops decrypt $OUT"
  exit 0
fi
kubectl get secret -n "$NAMESPACE" \
  -l sealedsecrets.bitnami.com/sealed-secrets-key -o yaml > "$OUT"
count="$(grep -c 'kind: Secret' "$OUT" || true)"
echo "wrote $count sealing key(s) to $OUT (mode 600)"
echo "public certificate: kubeseal --fetch-cert --controller-namespace=$NAMESPACE > pub-sealed-secrets.pem"
