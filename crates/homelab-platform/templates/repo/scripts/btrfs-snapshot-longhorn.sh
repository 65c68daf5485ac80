#!/usr/bin/env bash
# Read-only btrfs snapshot of Longhorn's subvolume, keeping the newest {{ storage.host_snapshot.retain }}.
# Run by host/systemd/longhorn-snapshot.timer ({{ storage.host_snapshot.on_calendar | line }}).
# Rendered by homelab {{ version }} from platform.toml.
# These host snapshots complement Longhorn's own (daily, {{ storage.longhorn_snapshot.retain }} kept); they are crash-consistent.
set -euo pipefail

# platform.toml's values (quoted by homelab); the environment may override each.
DEFAULT_SOURCE={{ (storage.btrfs_mount ~ "/" ~ storage.subvolume) | sh }}
DEFAULT_DEST={{ storage.host_snapshot.directory | sh }}
DEFAULT_RETAIN={{ storage.host_snapshot.retain }}
# End of platform.toml's values.

SOURCE="${SOURCE:-$DEFAULT_SOURCE}"
DEST="${DEST:-$DEFAULT_DEST}"
RETAIN="${RETAIN:-$DEFAULT_RETAIN}"

mkdir -p "$DEST"
name="$(date -u +%Y%m%dT%H%M%SZ)"
btrfs subvolume snapshot -r "$SOURCE" "$DEST/$name"

# Oldest first; delete all but the newest $RETAIN.
mapfile -t snapshots < <(find "$DEST" -mindepth 1 -maxdepth 1 -type d -name '20*' | sort)
excess=$(( {% raw %}${#snapshots[@]}{% endraw %} - RETAIN ))
for (( i = 0; i < excess; i++ )); do
  btrfs subvolume delete "${snapshots[$i]}"
done
