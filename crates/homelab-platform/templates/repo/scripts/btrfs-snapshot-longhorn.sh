#!/usr/bin/env bash
# Read-only btrfs snapshot of Longhorn's subvolume, keeping the newest {{ storage.host_snapshot.retain }}.
# Run by host/systemd/longhorn-snapshot.timer ({{ storage.host_snapshot.on_calendar }}).
# Rendered by homelab {{ version }} from platform.toml.
# These host snapshots complement Longhorn's own (daily, {{ storage.longhorn_snapshot.retain }} kept); they are crash-consistent.
set -euo pipefail

SOURCE="${SOURCE:-{{ storage.btrfs_mount }}/{{ storage.subvolume }}}"
DEST="${DEST:-{{ storage.host_snapshot.directory }}}"
RETAIN="${RETAIN:-{{ storage.host_snapshot.retain }}}"

mkdir -p "$DEST"
name="$(date -u +%Y%m%dT%H%M%SZ)"
btrfs subvolume snapshot -r "$SOURCE" "$DEST/$name"

# Oldest first; delete all but the newest $RETAIN.
mapfile -t snapshots < <(find "$DEST" -mindepth 1 -maxdepth 1 -type d -name '20*' | sort)
excess=$(( {% raw %}${#snapshots[@]}{% endraw %} - RETAIN ))
for (( i = 0; i < excess; i++ )); do
  btrfs subvolume delete "${snapshots[$i]}"
done
