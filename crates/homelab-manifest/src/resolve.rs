//! Plain-scalar resolution the way Kubernetes reads YAML: sigs.k8s.io/yaml on top of go-yaml v2,
//! which follows YAML 1.1 (`yes`/`on` are booleans, `0644` is octal) and Go's `strconv`
//! number syntax. Pure functions, no I/O.
//!
//! Facts taken from go-yaml v2 `resolve.go` (re-implemented, not copied):
//! - only scalars whose first byte is one of `+-0-9yYnNtTfFoO~.` (or the empty scalar) can
//!   resolve to something other than a string;
//! - a fixed table of words (booleans, nulls, `.inf`, `.nan`);
//! - numbers: underscores are removed, then Go `ParseInt(s, 0, 64)` (base prefixes `0x`,
//!   `0o`, `0b` and legacy octal `0644`), then `ParseUint`, then a YAML-style float regex;
//! - timestamps stay strings when decoded into `interface{}` (what sigs.k8s.io/yaml does).

/// What a scalar resolved to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str,
}

/// Why a resolution differs between YAML 1.1 (Kubernetes) and YAML 1.2 (most other tools).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ambiguity {
    None,
    /// `yes`, `no`, `on`, `off`, `y`, `n` and their case variants.
    Bool,
    /// `0644`-style legacy octal.
    Octal,
}

/// Resolves an untagged plain scalar.
pub(crate) fn resolve_plain(s: &str) -> (Resolved, Ambiguity) {
    let Some(&first) = s.as_bytes().first() else {
        return (Resolved::Null, Ambiguity::None);
    };
    if !matches!(
        first,
        b'+' | b'-' | b'0'
            ..=b'9'
                | b'y'
                | b'Y'
                | b'n'
                | b'N'
                | b't'
                | b'T'
                | b'f'
                | b'F'
                | b'o'
                | b'O'
                | b'~'
                | b'.'
    ) {
        return (Resolved::Str, Ambiguity::None);
    }
    if let Some(word) = resolve_word(s) {
        return word;
    }
    match first {
        b'.' => {
            if is_dot_float(s) {
                if let Some(f) = parse_finite(s) {
                    return (Resolved::Float(f), Ambiguity::None);
                }
            }
            (Resolved::Str, Ambiguity::None)
        }
        b'+' | b'-' | b'0'..=b'9' => resolve_number(s),
        _ => (Resolved::Str, Ambiguity::None),
    }
}

fn resolve_word(s: &str) -> Option<(Resolved, Ambiguity)> {
    Some(match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            (Resolved::Bool(true), Ambiguity::Bool)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            (Resolved::Bool(false), Ambiguity::Bool)
        }
        "true" | "True" | "TRUE" => (Resolved::Bool(true), Ambiguity::None),
        "false" | "False" | "FALSE" => (Resolved::Bool(false), Ambiguity::None),
        "~" | "null" | "Null" | "NULL" => (Resolved::Null, Ambiguity::None),
        ".nan" | ".NaN" | ".NAN" => (Resolved::Float(f64::NAN), Ambiguity::None),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            (Resolved::Float(f64::INFINITY), Ambiguity::None)
        }
        "-.inf" | "-.Inf" | "-.INF" => (Resolved::Float(f64::NEG_INFINITY), Ambiguity::None),
        _ => return None,
    })
}

fn resolve_number(s: &str) -> (Resolved, Ambiguity) {
    // Timestamps (`2001-12-14`) never parse as numbers below, and stay strings.
    let plain: std::borrow::Cow<'_, str> = if s.contains('_') {
        s.replace('_', "").into()
    } else {
        s.into()
    };
    if let Some(v) = go_parse_int(&plain) {
        let amb = if is_legacy_octal(&plain) && v != decimal_reading(&plain) {
            Ambiguity::Octal
        } else {
            Ambiguity::None
        };
        return (Resolved::Int(v), amb);
    }
    if let Some(v) = go_parse_uint(&plain) {
        return (Resolved::UInt(v), Ambiguity::None);
    }
    if is_yaml_style_float(&plain) {
        if let Some(f) = parse_finite(&plain) {
            return (Resolved::Float(f), Ambiguity::None);
        }
    }
    (Resolved::Str, Ambiguity::None)
}

/// `^[-+]?0[0-7]+$`: read as octal by YAML 1.1, as decimal by YAML 1.2.
fn is_legacy_octal(s: &str) -> bool {
    let d = s.strip_prefix(['-', '+']).unwrap_or(s).as_bytes();
    d.len() > 1 && d[0] == b'0' && d[1..].iter().all(|c| (b'0'..=b'7').contains(c))
}

fn decimal_reading(s: &str) -> i64 {
    s.parse::<i64>().unwrap_or(i64::MIN)
}

fn parse_finite(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Splits Go's base-0 integer syntax into (negative, radix, digits).
fn go_int_parts(s: &str, allow_sign: bool) -> Option<(bool, u32, &str)> {
    let (neg, rest) = match s.as_bytes().first()? {
        b'-' if allow_sign => (true, &s[1..]),
        b'+' if allow_sign => (false, &s[1..]),
        _ => (false, s),
    };
    let b = rest.as_bytes();
    let (radix, digits) = if b.len() >= 2 && b[0] == b'0' {
        match b[1] {
            b'x' | b'X' => (16, &rest[2..]),
            b'b' | b'B' => (2, &rest[2..]),
            b'o' | b'O' => (8, &rest[2..]),
            _ => (8, &rest[1..]),
        }
    } else {
        (10, rest)
    };
    if digits.is_empty() || !digits.bytes().all(|c| (c as char).is_digit(radix)) {
        return None;
    }
    Some((neg, radix, digits))
}

/// Go `strconv.ParseInt(s, 0, 64)` (underscores already removed).
pub(crate) fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, radix, digits) = go_int_parts(s, true)?;
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        if magnitude <= i64::MAX as u64 + 1 {
            Some((magnitude as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Go `strconv.ParseUint(s, 0, 64)`: no sign allowed.
fn go_parse_uint(s: &str) -> Option<u64> {
    let (_, radix, digits) = go_int_parts(s, false)?;
    u64::from_str_radix(digits, radix).ok()
}

/// go-yaml's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`, hand-written because it
/// runs on every numeric-looking scalar.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i = 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// `.5`, `.5e3`: Go's `ParseFloat` on a scalar starting with a dot.
fn is_dot_float(s: &str) -> bool {
    s.starts_with('.') && is_yaml_style_float(s)
}

/// A float as a JSON number the way Go's `encoding/json` writes a float64 and the API server
/// reads it back: integral values (`1e3`, `2.0`) become integers.
pub(crate) fn float_to_json(f: f64) -> serde_json::Value {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        if f >= i64::MIN as f64 && f < i64::MAX as f64 {
            return serde_json::Value::from(f as i64);
        }
        if f >= 0.0 && f < u64::MAX as f64 {
            return serde_json::Value::from(f as u64);
        }
    }
    serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// Go `strconv.FormatFloat(f, 'g', -1, 32)`: how sigs.k8s.io/yaml turns a float map key into a
/// string.
pub(crate) fn go_format_float_key(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    let f32v = f as f32;
    if f32v == 0.0 {
        return if f32v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Shortest digits of the f32 value: "d.ddde<exp>".
    let e = format!("{:e}", f32v.abs());
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let neg = if f32v < 0.0 { "-" } else { "" };
    if !(-4..6).contains(&exp) {
        let frac = &digits[1..];
        let dot = if frac.is_empty() { "" } else { "." };
        let sign = if exp < 0 { '-' } else { '+' };
        return format!(
            "{neg}{}{dot}{frac}e{sign}{:02}",
            &digits[..1],
            exp.unsigned_abs()
        );
    }
    format!("{neg}{}", f32v.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Resolved {
        resolve_plain(s).0
    }

    #[test]
    fn yaml11_booleans_and_nulls() {
        for t in [
            "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE",
        ] {
            assert_eq!(r(t), Resolved::Bool(true), "{t}");
        }
        for f in [
            "n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE",
        ] {
            assert_eq!(r(f), Resolved::Bool(false), "{f}");
        }
        for n in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(r(n), Resolved::Null, "{n}");
        }
        for s in [
            "tRUE", "yES", "nULL", "Nope", "onn", "<<", "=", "NaN", "inf",
        ] {
            assert_eq!(r(s), Resolved::Str, "{s}");
        }
        assert_eq!(resolve_plain("yes").1, Ambiguity::Bool);
        assert_eq!(resolve_plain("true").1, Ambiguity::None);
    }

    #[test]
    fn go_integers() {
        assert_eq!(r("0"), Resolved::Int(0));
        assert_eq!(r("-17"), Resolved::Int(-17));
        assert_eq!(r("+17"), Resolved::Int(17));
        assert_eq!(r("0644"), Resolved::Int(420));
        assert_eq!(resolve_plain("0644").1, Ambiguity::Octal);
        assert_eq!(resolve_plain("00").1, Ambiguity::None);
        assert_eq!(r("0o644"), Resolved::Int(420));
        assert_eq!(resolve_plain("0o644").1, Ambiguity::None);
        assert_eq!(r("0x1F"), Resolved::Int(31));
        assert_eq!(r("-0x1F"), Resolved::Int(-31));
        assert_eq!(r("0b101"), Resolved::Int(5));
        assert_eq!(r("-0b101"), Resolved::Int(-5));
        assert_eq!(r("1_000"), Resolved::Int(1000));
        assert_eq!(r("9223372036854775807"), Resolved::Int(i64::MAX));
        assert_eq!(r("-9223372036854775808"), Resolved::Int(i64::MIN));
        assert_eq!(
            r("9223372036854775808"),
            Resolved::UInt(9223372036854775808)
        );
        // Invalid octal digits fall through to the float regex, as in go-yaml v2.
        assert_eq!(r("08"), Resolved::Float(8.0));
        assert_eq!(r("0x"), Resolved::Str);
        assert_eq!(r("0xZ"), Resolved::Str);
        assert_eq!(r("1-2"), Resolved::Str);
        assert_eq!(r("2001-12-14"), Resolved::Str);
        assert_eq!(r("-"), Resolved::Str);
        assert_eq!(r("1.2.3"), Resolved::Str);
        assert_eq!(r("12:30"), Resolved::Str);
    }

    #[test]
    fn go_floats() {
        assert_eq!(r("1.5"), Resolved::Float(1.5));
        assert_eq!(r("1e3"), Resolved::Float(1000.0));
        assert_eq!(r("1E-3"), Resolved::Float(0.001));
        assert_eq!(r("1."), Resolved::Float(1.0));
        assert_eq!(r(".5"), Resolved::Float(0.5));
        assert_eq!(r("-.5"), Resolved::Float(-0.5));
        assert_eq!(r("1_0.5"), Resolved::Float(10.5));
        assert_eq!(r("."), Resolved::Str);
        assert_eq!(r("1e400"), Resolved::Str);
        assert!(matches!(r(".inf"), Resolved::Float(f) if f.is_infinite() && f > 0.0));
        assert!(matches!(r("-.Inf"), Resolved::Float(f) if f.is_infinite() && f < 0.0));
        assert!(matches!(r(".NaN"), Resolved::Float(f) if f.is_nan()));
        assert_eq!(r("1e"), Resolved::Str);
        assert_eq!(r("e3"), Resolved::Str);
    }

    #[test]
    fn floats_become_json_like_go_writes_them() {
        assert_eq!(float_to_json(1000.0), serde_json::json!(1000));
        assert_eq!(float_to_json(1.5), serde_json::json!(1.5));
        assert_eq!(float_to_json(-2.0), serde_json::json!(-2));
    }

    #[test]
    fn float_keys_format_like_go() {
        assert_eq!(go_format_float_key(1.5), "1.5");
        assert_eq!(go_format_float_key(1.0), "1");
        assert_eq!(go_format_float_key(1000.0), "1000");
        assert_eq!(go_format_float_key(1e6), "1e+06");
        assert_eq!(go_format_float_key(0.0001), "0.0001");
        assert_eq!(go_format_float_key(0.00001), "1e-05");
        assert_eq!(go_format_float_key(-2.5), "-2.5");
        assert_eq!(go_format_float_key(f64::INFINITY), ".inf");
    }
}
