#!/usr/bin/env bash
# Host prerequisites of one node, before k3s: what Longhorn needs on every node (iSCSI and NFS
# clients, the iscsi_tcp and dm_crypt modules, multipathd kept off Longhorn's devices) and, on
# the GPU node, the NVIDIA driver and container toolkit that k3s detects at start.
#   sudo scripts/host-prereqs.sh NODE           # install and configure (idempotent)
#   sudo scripts/host-prereqs.sh --check NODE   # verify only; exit 1 when something is missing
# Debian/Ubuntu (apt) and Fedora/RHEL (dnf). The NVIDIA driver is never installed here: install
# the driver your distribution recommends, then run this again.
# Rendered by homelab {{ version }} from platform.toml.
set -euo pipefail

CHECK_ONLY=0
if [ "${1:-}" = "--check" ]; then
  CHECK_ONLY=1
  shift
fi
NODE="${1:?usage: $0 [--check] NODE}"

case "$NODE" in
{% for n in p.nodes %}
  {{ n.name | sh }}) GPU={{ "1" if n.gpu else "0" }} ;;
{% endfor %}
  *) echo "error: unknown node '$NODE'; nodes: "{{ p.nodes | map(attribute="name") | join(" ") | sh }} >&2; exit 2 ;;
esac

MISSING=0
ok() { printf 'ok: %s\n' "$*"; }
missing() { printf 'missing: %s\n' "$*" >&2; MISSING=1; }

[ "$(id -u)" -eq 0 ] || { echo "error: run as root" >&2; exit 2; }

install_packages() {
  if command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
  elif command -v dnf >/dev/null 2>&1; then
    dnf install -y -q "$@"
  else
    echo "error: no apt-get or dnf: install $* by hand" >&2
    exit 1
  fi
}

# Longhorn: iSCSI initiator with iscsid running, NFS client for RWX volumes and backups.
if ! command -v iscsiadm >/dev/null 2>&1 || ! command -v mount.nfs >/dev/null 2>&1; then
  if [ "$CHECK_ONLY" -eq 1 ]; then
    missing "open-iscsi and nfs-common (iscsiadm, mount.nfs)"
  elif command -v apt-get >/dev/null 2>&1; then
    install_packages open-iscsi nfs-common
  else
    install_packages iscsi-initiator-utils nfs-utils
  fi
fi
if systemctl is-active --quiet iscsid; then
  ok "iscsid is running"
elif [ "$CHECK_ONLY" -eq 1 ]; then
  missing "iscsid is not running (systemctl enable --now iscsid)"
else
  systemctl enable --now iscsid
fi

# Kernel modules, loaded now and at every boot.
MODULES_FILE=/etc/modules-load.d/longhorn.conf
for module in iscsi_tcp dm_crypt; do
  if ! grep -qsx "$module" "$MODULES_FILE"; then
    if [ "$CHECK_ONLY" -eq 1 ]; then
      missing "$module in $MODULES_FILE"
    else
      echo "$module" >>"$MODULES_FILE"
    fi
  fi
  if grep -q "^${module} " /proc/modules; then
    ok "module $module is loaded"
  elif [ "$CHECK_ONLY" -eq 1 ]; then
    missing "module $module is not loaded (modprobe $module)"
  else
    modprobe "$module"
  fi
done

# multipathd claims every block device by default, Longhorn's iSCSI disks included, and the
# volumes then fail to mount: blacklist the sd devices Longhorn attaches.
if systemctl is-active --quiet multipathd; then
  BLACKLIST=/etc/multipath/conf.d/longhorn.conf
  if [ -f "$BLACKLIST" ]; then
    ok "multipathd blacklists Longhorn's devices"
  elif [ "$CHECK_ONLY" -eq 1 ]; then
    missing "multipathd runs without $BLACKLIST"
  else
    mkdir -p /etc/multipath/conf.d
    printf 'blacklist {\n    devnode "^sd[a-z0-9]+"\n}\n' >"$BLACKLIST"
    systemctl restart multipathd
  fi
else
  ok "multipathd is not running"
fi

if [ "$GPU" -eq 1 ]; then
  # k3s configures containerd's "nvidia" runtime at start when it finds the toolkit's
  # nvidia-container-runtime; the RuntimeClass "nvidia" (infrastructure/nvidia-device-plugin)
  # points at it.
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    ok "NVIDIA driver: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -n 1)"
  else
    missing "NVIDIA driver (nvidia-smi fails): install your distribution's driver package and reboot"
  fi
  if command -v nvidia-container-runtime >/dev/null 2>&1; then
    ok "NVIDIA container toolkit"
  elif [ "$CHECK_ONLY" -eq 1 ]; then
    missing "NVIDIA container toolkit (nvidia-container-runtime)"
  else
    install_packages nvidia-container-toolkit || missing "nvidia-container-toolkit: add NVIDIA's package repository first (docs.nvidia.com, container toolkit install guide)"
  fi
fi

if [ "$MISSING" -ne 0 ]; then
  exit 1
fi
echo "host prerequisites of $NODE are in place"
