//! Scalar resolution as sops reads YAML (go-yaml v3 decoding into `interface{}`): `true`/`false`
//! but not `yes`/`on`, Go integer literals (`0x1F`, `0o17`, `017`, `0b101`, `1_000`), floats,
//! `.inf`/`.nan`, nulls, and unquoted timestamps (which sops encrypts as `type:time`).
//!
//! The result decides the `type:` tag of an encrypted value and the bytes that feed the MAC,
//! so it has to match sops exactly; the tests pin every rule against what sops 3.11 does.

use crate::tree::Value;
use base64::Engine as _;

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Quoted,
    Block,
}

/// A scalar's explicit tag, as go-yaml sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tag {
    None,
    /// `!` alone: a string.
    NonSpecific,
    /// `!!str`, `!!int`, ... (the suffix of `tag:yaml.org,2002:`).
    Core(String),
    /// Any other tag: sops keeps the text as a string (and drops the tag).
    Other,
}

/// Resolves one scalar. `Err` carries a message for values go-yaml refuses (an explicit tag
/// that does not fit the text, bad `!!binary`).
pub fn resolve(text: &str, style: Style, tag: &Tag) -> Result<Value, String> {
    match tag {
        Tag::NonSpecific | Tag::Other => Ok(Value::Str(text.to_owned())),
        Tag::None if style != Style::Plain => Ok(Value::Str(text.to_owned())),
        Tag::None => Ok(resolve_plain(text, true)?.unwrap_or_else(|| Value::Str(text.to_owned()))),
        Tag::Core(suffix) => resolve_tagged(text, suffix),
    }
}

fn resolve_tagged(text: &str, suffix: &str) -> Result<Value, String> {
    match suffix {
        "str" => Ok(Value::Str(text.to_owned())),
        "binary" => {
            let cleaned: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(cleaned.as_bytes())
                .map_err(|_| "!!binary value contains invalid base64 data".to_owned())?;
            String::from_utf8(bytes).map(Value::Str).map_err(|_| {
                "!!binary value is not UTF-8 text (sops cannot encrypt raw bytes from YAML)"
                    .to_owned()
            })
        }
        "int" | "float" | "bool" | "null" | "timestamp" => {
            let allow_time = suffix == "timestamp";
            let resolved =
                resolve_plain(text, allow_time)?.unwrap_or_else(|| Value::Str(text.to_owned()));
            let fits = matches!(
                (suffix, &resolved),
                ("int", Value::Int(_))
                    | ("float", Value::Float(_))
                    | ("bool", Value::Bool(_))
                    | ("null", Value::Null)
                    | ("timestamp", Value::Time(_))
            );
            match (suffix, resolved) {
                (_, v) if fits => Ok(v),
                ("float", Value::Int(i)) => Ok(Value::Float(i as f64)),
                (_, v) => Err(format!(
                    "cannot decode a {} `{text}` as !!{suffix}",
                    v.kind_name()
                )),
            }
        }
        // `!!map`, `!!seq`, `!!merge` on a scalar and unknown core tags: go-yaml keeps the text.
        _ => Ok(Value::Str(text.to_owned())),
    }
}

/// What a plain scalar resolves to, or `None` for a string. `Some(Value::Str)` never occurs.
/// An integer that only fits in u64 is an error: go-yaml gives an unsigned integer, which
/// sops 3.11 cannot walk ("Cannot walk value, unknown type: uint64").
fn resolve_plain(text: &str, allow_time: bool) -> Result<Option<Value>, String> {
    let special = match text {
        "" | "~" | "null" | "Null" | "NULL" => Some(Value::Null),
        "true" | "True" | "TRUE" => Some(Value::Bool(true)),
        "false" | "False" | "FALSE" => Some(Value::Bool(false)),
        ".nan" | ".NaN" | ".NAN" => Some(Value::Float(f64::NAN)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Some(Value::Float(f64::INFINITY)),
        "-.inf" | "-.Inf" | "-.INF" => Some(Value::Float(f64::NEG_INFINITY)),
        _ => None,
    };
    if special.is_some() {
        return Ok(special);
    }
    let first = text.as_bytes()[0];
    match first {
        b'.' => Ok(parse_go_decimal_float(text).map(Value::Float)),
        b'+' | b'-' | b'0'..=b'9' => {
            if allow_time {
                if let Some(t) = crate::time::parse_yaml_timestamp(text) {
                    return Ok(Some(Value::Time(t)));
                }
            }
            let plain: String = text.chars().filter(|&c| c != '_').collect();
            if let Some(i) = parse_go_int(&plain) {
                return int_value(i, text).map(Some);
            }
            if is_yaml_style_float(&plain) {
                if let Some(f) = parse_go_decimal_float(&plain) {
                    return Ok(Some(Value::Float(f)));
                }
            }
            let prefixed = [
                ("0b", 2, false),
                ("-0b", 2, true),
                ("0o", 8, false),
                ("-0o", 8, true),
            ];
            for (prefix, radix, negative) in prefixed {
                if let Some(rest) = plain.strip_prefix(prefix) {
                    return match parse_radix(rest, radix, negative) {
                        Some(i) => int_value(i, text).map(Some),
                        None => Ok(None),
                    };
                }
            }
            Ok(None)
        }
        _ => Ok(None),
    }
}

fn int_value(i: GoInt, text: &str) -> Result<Value, String> {
    match i {
        GoInt::Signed(i) => Ok(Value::Int(i)),
        GoInt::Unsigned => Err(format!(
            "the integer `{text}` does not fit in 64 signed bits, which sops cannot encrypt; quote it to keep it as a string"
        )),
    }
}

enum GoInt {
    Signed(i64),
    /// Only fits in u64.
    Unsigned,
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint(s, 0, 64)` for values above i64.
fn parse_go_int(s: &str) -> Option<GoInt> {
    let (negative, body) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let magnitude = parse_go_uint_base0(body)?;
    if negative {
        if magnitude <= i64::MAX as u64 + 1 {
            Some(GoInt::Signed((magnitude as i64).wrapping_neg()))
        } else {
            None
        }
    } else if magnitude <= i64::MAX as u64 {
        Some(GoInt::Signed(magnitude as i64))
    } else if !s.starts_with('+') {
        Some(GoInt::Unsigned)
    } else {
        // ParseUint refuses a sign.
        None
    }
}

/// `ParseUint(s, 0, 64)`: `0x`, `0o`, `0b` prefixes, a leading `0` means octal.
fn parse_go_uint_base0(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let bytes = s.as_bytes();
    let (radix, digits) = if bytes[0] == b'0' && s.len() >= 3 {
        match bytes[1].to_ascii_lowercase() {
            b'x' => (16, &s[2..]),
            b'o' => (8, &s[2..]),
            b'b' => (2, &s[2..]),
            _ => (8, &s[1..]),
        }
    } else if bytes[0] == b'0' {
        (8, &s[1..])
    } else {
        (10, s)
    };
    if digits.is_empty() {
        return (radix == 8).then_some(0);
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

fn parse_radix(digits: &str, radix: u32, negative: bool) -> Option<GoInt> {
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        (magnitude <= i64::MAX as u64 + 1).then(|| GoInt::Signed((magnitude as i64).wrapping_neg()))
    } else if magnitude <= i64::MAX as u64 {
        Some(GoInt::Signed(magnitude as i64))
    } else {
        Some(GoInt::Unsigned)
    }
}

/// go-yaml's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal text: out-of-range values are errors (Go
/// returns ±Inf with `ErrRange`, which go-yaml treats as "not a float").
fn parse_go_decimal_float(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let valid = !body.is_empty()
        && body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        && body.bytes().any(|c| c.is_ascii_digit());
    if !valid {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    f.is_finite().then_some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(s: &str) -> Value {
        resolve(s, Style::Plain, &Tag::None).unwrap()
    }

    #[test]
    fn plain_scalars_resolve_like_go_yaml_v3() {
        assert_eq!(plain("true"), Value::Bool(true));
        assert_eq!(plain("yes"), Value::Str("yes".into()));
        assert_eq!(plain("on"), Value::Str("on".into()));
        assert_eq!(plain("~"), Value::Null);
        assert_eq!(plain(""), Value::Null);
        // The values sops 3.11.0 encrypted as `int` / `float` in our probe file.
        assert_eq!(plain("0x1F"), Value::Int(31));
        assert_eq!(plain("0777"), Value::Int(511));
        assert_eq!(plain("1_000"), Value::Int(1000));
        assert_eq!(plain("-0b101"), Value::Int(-5));
        assert_eq!(plain("0o17"), Value::Int(15));
        assert_eq!(plain("09"), Value::Float(9.0));
        assert_eq!(plain("2.0"), Value::Float(2.0));
        assert_eq!(plain("1e20"), Value::Float(1e20));
        assert_eq!(plain(".5"), Value::Float(0.5));
        assert_eq!(plain("99999999999999999999"), Value::Float(1e20));
        assert_eq!(plain("+12"), Value::Int(12));
        assert_eq!(plain("1e999"), Value::Str("1e999".into()));
        assert_eq!(plain("3.11.0"), Value::Str("3.11.0".into()));
        assert_eq!(plain("inf"), Value::Str("inf".into()));
        assert_eq!(plain("12:30"), Value::Str("12:30".into()));
        assert!(resolve("18446744073709551615", Style::Plain, &Tag::None).is_err());
        assert_eq!(plain("-9223372036854775808"), Value::Int(i64::MIN));
    }

    #[test]
    fn tags_and_styles() {
        assert_eq!(
            resolve("123", Style::Quoted, &Tag::None).unwrap(),
            Value::Str("123".into())
        );
        assert_eq!(
            resolve("123", Style::Plain, &Tag::Core("str".into())).unwrap(),
            Value::Str("123".into())
        );
        assert_eq!(
            resolve("5", Style::Plain, &Tag::Core("float".into())).unwrap(),
            Value::Float(5.0)
        );
        assert_eq!(
            resolve("5", Style::Quoted, &Tag::Core("int".into())).unwrap(),
            Value::Int(5)
        );
        assert!(resolve("abc", Style::Plain, &Tag::Core("int".into())).is_err());
        assert_eq!(
            resolve("aGk=", Style::Plain, &Tag::Core("binary".into())).unwrap(),
            Value::Str("hi".into())
        );
        assert_eq!(
            resolve("x", Style::Plain, &Tag::Other).unwrap(),
            Value::Str("x".into())
        );
    }
}
