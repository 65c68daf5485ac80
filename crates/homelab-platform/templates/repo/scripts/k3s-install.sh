#!/usr/bin/env bash
# Install or update k3s {{ k3s.version | line }} on one node with its rendered configuration:
#   sudo scripts/k3s-install.sh NODE           # idempotent: does nothing when already in place
#   sudo scripts/k3s-install.sh --check NODE   # exit 0 only when k3s runs that version and config
# The server ({{ k3s.server | line }}) goes first; an agent needs the server's node token in
# /etc/rancher/k3s/join-token (mode 0600), see the README's bootstrap.
# Rendered by homelab {{ version }} from platform.toml.
set -euo pipefail

CHECK_ONLY=0
if [ "${1:-}" = "--check" ]; then
  CHECK_ONLY=1
  shift
fi
NODE="${1:?usage: $0 [--check] NODE}"
VERSION={{ k3s.version | sh }}
SERVER={{ k3s.server | sh }}
HERE="$(cd "$(dirname "$0")/.." && pwd)"
CONFIG="$HERE/host/k3s/$NODE/config.yaml"
REGISTRIES="$HERE/host/k3s/registries.yaml"

[ -f "$CONFIG" ] || { echo "error: no $CONFIG: NODE must be a node of platform.toml" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "error: run as root" >&2; exit 2; }

if [ "$NODE" = "$SERVER" ]; then
  ROLE=server
  UNIT=k3s
else
  ROLE=agent
  UNIT=k3s-agent
fi

in_place() {
  command -v k3s >/dev/null 2>&1 &&
    k3s --version | grep -qF "$VERSION" &&
    cmp -s "$CONFIG" /etc/rancher/k3s/config.yaml &&
    cmp -s "$REGISTRIES" /etc/rancher/k3s/registries.yaml &&
    systemctl is-active --quiet "$UNIT"
}

if in_place; then
  echo "k3s $VERSION ($ROLE) runs on $NODE with the rendered configuration"
  exit 0
fi
if [ "$CHECK_ONLY" -eq 1 ]; then
  echo "k3s $VERSION ($ROLE) is not in place on $NODE: run sudo $0 $NODE" >&2
  exit 1
fi

if [ "$ROLE" = agent ] && [ ! -s /etc/rancher/k3s/join-token ]; then
  echo "error: /etc/rancher/k3s/join-token is missing: copy /var/lib/rancher/k3s/server/node-token from $SERVER (mode 0600)" >&2
  exit 1
fi

install -D -m 0600 "$CONFIG" /etc/rancher/k3s/config.yaml
install -D -m 0644 "$REGISTRIES" /etc/rancher/k3s/registries.yaml

if command -v k3s >/dev/null 2>&1 && k3s --version | grep -qF "$VERSION"; then
  systemctl restart "$UNIT"
else
  # The official installer, pinned to the release of platform.toml's [k3s] version.
  curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION="$VERSION" INSTALL_K3S_EXEC="$ROLE" sh -
fi
systemctl is-active --quiet "$UNIT"
echo "k3s $VERSION ($ROLE) runs on $NODE"
