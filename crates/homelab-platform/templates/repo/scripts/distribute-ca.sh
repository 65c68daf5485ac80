#!/usr/bin/env bash
# Distribute the homelab's self-signed CA to a client so *.{{ cluster.domain | line }} is trusted.
#   scripts/distribute-ca.sh export            # write homelab-ca.crt from the cluster
#   sudo scripts/distribute-ca.sh install      # trust it on this Debian/Ubuntu/Fedora/macOS client
# Rendered by homelab {{ version }} from platform.toml. See docs/certificates.md.
set -euo pipefail

# platform.toml's values (quoted by homelab).
CA_NAMESPACE={{ c.cert_manager.namespace | sh }}
CA_FILE_NAME={{ (cluster.name ~ "-homelab-ca.crt") | sh }}
REGISTRY={{ ("registry." ~ cluster.domain) | sh }}
# End of platform.toml's values.

CRT="${CRT:-homelab-ca.crt}"

export_ca() {
  kubectl get secret -n "$CA_NAMESPACE" homelab-ca -o jsonpath='{.data.ca\.crt}' | base64 -d > "$CRT"
  echo "wrote $CRT"
}

install_ca() {
  [ -f "$CRT" ] || { echo "run '$0 export' first" >&2; exit 2; }
  if [ -d /usr/local/share/ca-certificates ]; then
    install -m 0644 "$CRT" "/usr/local/share/ca-certificates/$CA_FILE_NAME"
    update-ca-certificates
  elif [ -d /etc/pki/ca-trust/source/anchors ]; then
    install -m 0644 "$CRT" "/etc/pki/ca-trust/source/anchors/$CA_FILE_NAME"
    update-ca-trust
  elif command -v security >/dev/null; then
    security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain "$CRT"
  else
    echo "unknown trust store: import $CRT by hand" >&2
    exit 1
  fi
  # Docker / containerd clients pulling from the GitLab registry:
  if [ -d /etc/docker ]; then
    mkdir -p "/etc/docker/certs.d/$REGISTRY"
    install -m 0644 "$CRT" "/etc/docker/certs.d/$REGISTRY/ca.crt"
  fi
  echo "trusted $CRT"
}

case "${1:-}" in
  export) export_ca ;;
  install) install_ca ;;
  *) echo "usage: $0 export|install" >&2; exit 2 ;;
esac
