//! Timestamps the way sops sees them through Go's `time` package: the YAML timestamp forms
//! go-yaml accepts, the RFC 3339 text `time.MarshalText` writes (what a `type:time` value
//! holds and what sops writes back), and `lastmodified`, whose RFC 3339 form without
//! fractional seconds is the additional data of the encrypted MAC.

/// A parsed instant with the UTC offset it was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Instant {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    /// Offset east of UTC in minutes.
    offset_minutes: i32,
}

impl Instant {
    /// Go's RFC 3339 layout; `with_nanos` adds the fraction without trailing zeros
    /// (`time.RFC3339Nano`). `None` when Go refuses to format it (year outside 0..=9999).
    fn format(&self, with_nanos: bool) -> Option<String> {
        if !(0..=9999).contains(&self.year) {
            return None;
        }
        let mut out = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        if with_nanos && self.nanos != 0 {
            let fraction = format!("{:09}", self.nanos);
            out.push('.');
            out.push_str(fraction.trim_end_matches('0'));
        }
        if self.offset_minutes == 0 {
            out.push('Z');
        } else {
            let sign = if self.offset_minutes < 0 { '-' } else { '+' };
            let m = self.offset_minutes.unsigned_abs();
            out.push_str(&format!("{sign}{:02}:{:02}", m / 60, m % 60));
        }
        Some(out)
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        _ => 28,
    }
}

/// A small cursor over ASCII text for the Go layouts.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn eat(&mut self, c: u8) -> bool {
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// Exactly `n` digits.
    fn fixed(&mut self, n: usize) -> Option<u32> {
        let digits = self.s.get(self.i..self.i + n)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += n;
        Some(digits.iter().fold(0, |a, d| a * 10 + u32::from(d - b'0')))
    }

    /// One or two digits (Go's non-padded `1`, `2`, `15`, `4`, `5` layout elements).
    fn short(&mut self) -> Option<u32> {
        let first = *self.s.get(self.i)?;
        if !first.is_ascii_digit() {
            return None;
        }
        self.i += 1;
        let mut v = u32::from(first - b'0');
        if let Some(&d) = self.s.get(self.i) {
            if d.is_ascii_digit() {
                self.i += 1;
                v = v * 10 + u32::from(d - b'0');
            }
        }
        Some(v)
    }

    /// Go's optional `.999999999`: a `.` or `,` then any number of digits (nanoseconds,
    /// extra digits truncated).
    fn fraction(&mut self) -> Option<u32> {
        let sep = self.s.get(self.i).copied();
        let next = self.s.get(self.i + 1).copied();
        if !matches!(sep, Some(b'.' | b',')) || !next.is_some_and(|d| d.is_ascii_digit()) {
            return Some(0);
        }
        self.i += 1;
        let mut nanos = 0u32;
        let mut count = 0;
        while let Some(&d) = self.s.get(self.i) {
            if !d.is_ascii_digit() {
                break;
            }
            if count < 9 {
                nanos = nanos * 10 + u32::from(d - b'0');
            }
            count += 1;
            self.i += 1;
        }
        while count < 9 {
            nanos *= 10;
            count += 1;
        }
        Some(nanos)
    }

    /// Go's `Z07:00`: `Z` or `±hh:mm`.
    fn zone(&mut self) -> Option<i32> {
        if self.eat(b'Z') {
            return Some(0);
        }
        let sign = match self.s.get(self.i)? {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        self.i += 1;
        let h = self.fixed(2)?;
        if !self.eat(b':') {
            return None;
        }
        let m = self.fixed(2)?;
        if h > 24 || m > 59 {
            return None;
        }
        Some(sign * (h * 60 + m) as i32)
    }

    fn done(&self) -> bool {
        self.i == self.s.len()
    }
}

fn valid(i: &Instant) -> bool {
    (1..=12).contains(&i.month)
        && i.day >= 1
        && i.day <= days_in_month(i.year, i.month)
        && i.hour < 24
        && i.minute < 60
        && i.second < 60
}

/// go-yaml's timestamp forms (a subset of yaml.org/type/timestamp): `2006-1-2T15:4:5.9Z07:00`
/// (`t` allowed), `2006-1-2 15:4:5.9` (UTC) and `2006-1-2` (UTC midnight). Returns the text
/// Go's `MarshalText` gives for it, or `None` if it is not such a timestamp (then it stays a
/// string) — including a year Go cannot marshal.
pub fn parse_yaml_timestamp(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    if bytes.len() < 5 || !bytes[..4].iter().all(u8::is_ascii_digit) || bytes[4] != b'-' {
        return None;
    }
    let mut c = Cursor { s: bytes, i: 0 };
    let year = i64::from(c.fixed(4)?);
    c.eat(b'-');
    let month = c.short()?;
    if !c.eat(b'-') {
        return None;
    }
    let day = c.short()?;
    let mut instant = Instant {
        year,
        month,
        day,
        hour: 0,
        minute: 0,
        second: 0,
        nanos: 0,
        offset_minutes: 0,
    };
    if c.done() {
        return valid(&instant).then(|| instant.format(true)).flatten();
    }
    let with_zone = match c.s[c.i] {
        b'T' | b't' => {
            c.i += 1;
            true
        }
        b' ' => {
            while c.eat(b' ') {}
            false
        }
        _ => return None,
    };
    instant.hour = c.short()?;
    if !c.eat(b':') {
        return None;
    }
    instant.minute = c.short()?;
    if !c.eat(b':') {
        return None;
    }
    instant.second = c.short()?;
    instant.nanos = c.fraction()?;
    if with_zone {
        instant.offset_minutes = c.zone()?;
    }
    if !c.done() || !valid(&instant) {
        return None;
    }
    instant.format(true)
}

/// Strict RFC 3339 (Go's `time.Parse(time.RFC3339, ...)`).
fn parse_rfc3339(text: &str) -> Option<Instant> {
    let mut c = Cursor {
        s: text.as_bytes(),
        i: 0,
    };
    let year = i64::from(c.fixed(4)?);
    let ok = c.eat(b'-');
    let month = c.fixed(2)?;
    let ok = ok && c.eat(b'-');
    let day = c.fixed(2)?;
    let ok = ok && c.eat(b'T');
    let hour = c.fixed(2)?;
    let ok = ok && c.eat(b':');
    let minute = c.fixed(2)?;
    let ok = ok && c.eat(b':');
    let second = c.fixed(2)?;
    let nanos = if c.s.get(c.i) == Some(&b'.') {
        c.fraction()?
    } else {
        0
    };
    let offset_minutes = c.zone()?;
    let instant = Instant {
        year,
        month,
        day,
        hour,
        minute,
        second,
        nanos,
        offset_minutes,
    };
    (ok && c.done() && valid(&instant)).then_some(instant)
}

/// The decrypted text of a `type:time` value as Go's `UnmarshalText` then `MarshalText`
/// (and yaml.v3's writer) see it.
pub fn normalize_rfc3339_nano(text: &str) -> Option<String> {
    parse_rfc3339(text)?.format(true)
}

/// The additional data of the encrypted MAC: `lastmodified` parsed as RFC 3339 and formatted
/// again without fractional seconds (`Z` for a zero offset).
pub fn mac_additional_data(lastmodified: &str) -> Option<String> {
    parse_rfc3339(lastmodified)?.format(false)
}

/// Now, in UTC, to the second: the `lastmodified` sops writes.
pub fn now_rfc3339() -> String {
    homelab_fs::stamp::rfc3339_seconds(std::time::SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_timestamps_marshal_like_go() {
        // What sops 3.11.0 wrote back for these inputs.
        assert_eq!(
            parse_yaml_timestamp("2024-01-01").as_deref(),
            Some("2024-01-01T00:00:00Z")
        );
        assert_eq!(
            parse_yaml_timestamp("2024-01-01T10:00:00.5+02:00").as_deref(),
            Some("2024-01-01T10:00:00.5+02:00")
        );
        assert_eq!(
            parse_yaml_timestamp("2001-12-14 21:59:43.10").as_deref(),
            Some("2001-12-14T21:59:43.1Z")
        );
        assert_eq!(
            parse_yaml_timestamp("2024-1-2t3:4:5Z").as_deref(),
            Some("2024-01-02T03:04:05Z")
        );
        assert_eq!(parse_yaml_timestamp("2023-02-29"), None);
        assert_eq!(parse_yaml_timestamp("2024-01-01T10:00:00"), None);
        assert_eq!(parse_yaml_timestamp("2024-01-01x"), None);
        assert_eq!(parse_yaml_timestamp("12345-01-01"), None);
    }

    #[test]
    fn lastmodified_is_reformatted_for_the_mac() {
        assert_eq!(
            mac_additional_data("2026-11-26T12:34:21Z").as_deref(),
            Some("2026-11-26T12:34:21Z")
        );
        assert_eq!(
            mac_additional_data("2026-11-26T12:34:21.123+00:00").as_deref(),
            Some("2026-11-26T12:34:21Z")
        );
        assert_eq!(
            mac_additional_data("2026-11-26T14:34:21+02:00").as_deref(),
            Some("2026-11-26T14:34:21+02:00")
        );
        assert_eq!(mac_additional_data("2026-11-26 12:34:21Z"), None);
        assert_eq!(mac_additional_data("yesterday"), None);
    }

    #[test]
    fn lastmodified_now_is_what_the_mac_reads() {
        let now = now_rfc3339();
        assert!(mac_additional_data(&now).is_some(), "{now}");
    }
}
