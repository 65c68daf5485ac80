//! UTC time stamps in the two forms `homelab` writes: `YYYYMMDDTHHMMSSZ` in the names of
//! dated backups (sortable, no characters a file name or a shell would trip on) and RFC 3339
//! to the second in messages and metadata. One place, so a backup written by `render` and one
//! written by `host apply` sort and parse the same way.

use chrono::{DateTime, NaiveDateTime, Utc};
use std::time::SystemTime;

const BACKUP_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// `YYYYMMDDTHHMMSSZ`, the stamp in a dated backup's name.
pub fn backup_stamp(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).format(BACKUP_FORMAT).to_string()
}

/// Seconds since the epoch of the `YYYYMMDDTHHMMSSZ` stamp that starts `s` (a backup name's
/// suffix may follow it), or `None` if `s` does not start with a valid one.
pub fn parse_backup_stamp(s: &str) -> Option<i64> {
    let stamp = s.get(..16)?;
    NaiveDateTime::parse_from_str(stamp, BACKUP_FORMAT)
        .ok()
        .map(|t| t.and_utc().timestamp())
}

/// `2026-11-26T13:55:51Z`: RFC 3339 in UTC, to the second.
pub fn rfc3339_seconds(t: SystemTime) -> String {
    DateTime::<Utc>::from(t)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn backup_stamps_round_trip() {
        assert_eq!(backup_stamp(UNIX_EPOCH), "19700101T000000Z");
        let t = UNIX_EPOCH + Duration::from_secs(1_767_225_600 + 3 * 3600 + 61);
        assert_eq!(backup_stamp(t), "20260101T030101Z");
        assert_eq!(
            parse_backup_stamp("20260101T030101Z-2.bak"),
            Some(1_767_225_600 + 3 * 3600 + 61)
        );
        let leap = parse_backup_stamp("20240229T235959Z").unwrap();
        assert_eq!(
            backup_stamp(UNIX_EPOCH + Duration::from_secs(leap as u64)),
            "20240229T235959Z"
        );
        assert_eq!(
            backup_stamp(UNIX_EPOCH + Duration::from_secs(1_798_675_200)),
            "20261231T000000Z"
        );
    }

    #[test]
    fn invalid_backup_stamps_are_refused() {
        for bad in [
            "2024022 T000000Z",
            "20230229T000000Z",
            "20240101T250000Z",
            "20240101T000000",
            "short",
            "",
        ] {
            assert_eq!(parse_backup_stamp(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rfc3339_is_utc_to_the_second() {
        assert_eq!(rfc3339_seconds(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_701_351_900);
        assert_eq!(rfc3339_seconds(t), "2026-11-26T13:55:51Z");
        let before_epoch = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(rfc3339_seconds(before_epoch), "1969-12-31T23:59:59Z");
    }
}
