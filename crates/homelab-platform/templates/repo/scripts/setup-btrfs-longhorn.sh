#!/usr/bin/env bash
# Prepare the btrfs host storage for Longhorn on this node (run as root on every storage node:
# {{ p.storage_nodes | join(", ") | line }}).
# Rendered by homelab {{ version }} from platform.toml. `homelab host apply` does the same.
#
# WARNING: Longhorn documents ext4 and XFS as its supported host filesystems. btrfs under
# Longhorn's data path works (compression and snapshots at the host layer) but is outside
# Longhorn's support matrix: test restores, and keep the volumes themselves ext4.
#
# Creates the subvolume {{ storage.subvolume | line }} under {{ storage.btrfs_mount | line }}, adds the fstab line and
# mounts it at {{ storage.host_path | line }} with compress={{ storage.compression | line }}. Idempotent.
set -euo pipefail

# platform.toml's values (quoted by homelab); the environment may override each.
DEFAULT_BTRFS_MOUNT={{ storage.btrfs_mount | sh }}
DEFAULT_SUBVOLUME={{ storage.subvolume | sh }}
DEFAULT_DATA_PATH={{ storage.host_path | sh }}
DEFAULT_DEVICE={{ storage.device | sh }}
COMPRESSION={{ storage.compression | sh }}
# End of platform.toml's values.

BTRFS_MOUNT="${BTRFS_MOUNT:-$DEFAULT_BTRFS_MOUNT}"
SUBVOLUME="${SUBVOLUME:-$DEFAULT_SUBVOLUME}"
DATA_PATH="${DATA_PATH:-$DEFAULT_DATA_PATH}"
DEVICE="${DEVICE:-$DEFAULT_DEVICE}"
OPTIONS="subvol=${SUBVOLUME},noatime,compress=${COMPRESSION},space_cache=v2,discard=async"
FSTAB="${FSTAB:-/etc/fstab}"

die() { printf 'error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root"
command -v btrfs >/dev/null || die "btrfs-progs is not installed"
case "$DEVICE" in
  *"<"*) die "set DEVICE (or storage.device in platform.toml) to the btrfs filesystem, e.g. UUID=\$(blkid -s UUID -o value /dev/nvme0n1p3)" ;;
esac
[ "$(stat -f -c %T "$BTRFS_MOUNT")" = "btrfs" ] || die "$BTRFS_MOUNT is not a mounted btrfs filesystem"

echo "WARNING: Longhorn supports ext4/XFS host filesystems; btrfs here is unsupported by Longhorn." >&2

if btrfs subvolume show "$BTRFS_MOUNT/$SUBVOLUME" >/dev/null 2>&1; then
  echo "subvolume $BTRFS_MOUNT/$SUBVOLUME exists"
else
  btrfs subvolume create "$BTRFS_MOUNT/$SUBVOLUME"
fi

mkdir -p "$DATA_PATH"
line="$DEVICE $DATA_PATH btrfs $OPTIONS 0 0"
if grep -qsF "$line" "$FSTAB"; then
  echo "fstab entry present"
else
  if grep -qsE "[[:space:]]${DATA_PATH}[[:space:]]" "$FSTAB"; then
    die "$FSTAB already mounts something else at $DATA_PATH; fix it by hand"
  fi
  cp -a "$FSTAB" "$FSTAB.homelab-backup.$(date +%Y%m%d%H%M%S)"
  tmp="$(mktemp "$FSTAB.XXXXXX")"
  cat "$FSTAB" > "$tmp"
  printf '%s\n' "$line" >> "$tmp"
  sync "$tmp"
  mv "$tmp" "$FSTAB"
  echo "added fstab entry"
fi

if mountpoint -q "$DATA_PATH"; then
  echo "$DATA_PATH is mounted"
else
  mount "$DATA_PATH"
fi

echo "Label this node for Longhorn's default disk:"
echo "  kubectl label node $(hostname) node.longhorn.io/create-default-disk=true --overwrite"
