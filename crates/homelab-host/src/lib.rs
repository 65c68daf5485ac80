//! btrfs subvolume, fstab and systemd snapshot timer for Longhorn's host storage
