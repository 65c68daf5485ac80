//! Host storage for Longhorn (PRODUCT.md §5): a btrfs subvolume for `/var/lib/longhorn`, its
//! fstab entry and mount options, and weekly read-only host snapshots with retention.
//!
//! Layout: [`config`] (what is wanted) and [`probe`] (what is there) feed the pure [`plan`]
//! (steps with reasons, or refusals); [`apply`] is the only module that changes the host;
//! [`check`] verifies the result with evidence, with Longhorn's and the GPU's host
//! prerequisites from [`prereqs`]. [`fstab`] and [`mountinfo`] are pure parsers.

pub mod apply;
pub mod check;
pub mod config;
pub mod fstab;
pub mod fsutil;
pub mod mountinfo;
pub mod plan;
pub mod prereqs;
pub mod probe;
pub mod units;

pub use config::HostConfig;
