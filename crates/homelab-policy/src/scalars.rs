//! Scalar helpers shared by patterns and conditions: Kyverno's wildcard matching,
//! Kubernetes quantities, Go durations, and Go-style value printing (`fmt.Sprint`).

use homelab_k8s::Quantity;
use serde_json::Value;

/// Kyverno's wildcard match (`*` any run, `?` exactly one character), anchored at both ends.
pub fn wildcard_match(pattern: &str, name: &str) -> bool {
    if pattern.is_empty() {
        return name.is_empty();
    }
    if pattern == "*" {
        return true;
    }
    if !pattern.contains(['*', '?']) {
        return pattern == name;
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative glob with backtracking to the last star: linear-ish, no recursion.
    let (mut pi, mut ni) = (0usize, 0usize);
    let (mut star, mut mark) = (None::<usize>, 0usize);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

pub fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// A Kubernetes resource quantity (`500m`, `1Gi`, `2e3`), exact. `None` when the string is
/// not a quantity (Kubernetes' `ParseQuantity` grammar; trailing spaces are ignored).
pub fn parse_quantity(s: &str) -> Option<Quantity> {
    Quantity::parse(s.trim_end_matches(' ')).ok()
}

/// Go's `time.ParseDuration`, in seconds.
pub fn parse_duration(s: &str) -> Option<f64> {
    let mut rest = s;
    let mut neg = false;
    if let Some(r) = rest.strip_prefix('-') {
        neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Some(0.0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..end];
        if num.is_empty() || num == "." {
            return None;
        }
        let v: f64 = num.parse().ok()?;
        rest = &rest[end..];
        let uend = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..uend];
        let mult = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += v * mult;
        rest = &rest[uend..];
    }
    Some(if neg { -total } else { total })
}

/// Go's `fmt.Sprint` of a decoded JSON value (what Kyverno's set operators compare).
pub fn go_sprint(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format_number(n),
        Value::String(s) => s.clone(),
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(go_sprint).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", k, go_sprint(&m[*k])))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// A number printed like Go prints an int64 or float64 (`%v`).
pub fn format_number(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    format_float(f)
}

pub fn format_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{}", f as i128)
    } else {
        let s = format!("{f}");
        if f.abs() >= 1e21 {
            format!("{f:e}").replace('e', "e+")
        } else {
            s
        }
    }
}

/// Numeric view of a JSON value: `Some((f64, is_integer))`.
pub fn as_number(v: &Value) -> Option<(f64, bool)> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some((i as f64, true))
            } else if let Some(u) = n.as_u64() {
                Some((u as f64, true))
            } else {
                n.as_f64().map(|f| (f, false))
            }
        }
        _ => None,
    }
}

/// JSON number from f64, integral values as integers (as Kyverno's JSON round-trips do).
pub fn num_value(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// Parse a string as Go's strconv.ParseInt(s, 10, 64).
pub fn go_parse_int(s: &str) -> Option<i64> {
    let t = s.strip_prefix('+').unwrap_or(s);
    if t.is_empty()
        || !t
            .trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    t.parse().ok()
}

/// Go's strconv.ParseFloat(s, 64) (decimal forms, inf/nan words).
pub fn go_parse_float(s: &str) -> Option<f64> {
    if s.is_empty() || s.contains(char::is_whitespace) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let t = lower.trim_start_matches(['+', '-']);
    if t == "inf" || t == "infinity" || t == "nan" {
        return s.parse().ok().or(Some(if s.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }));
    }
    if !t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-' | b'_'))
    {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard() {
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("?*", "a"));
        assert!(!wildcard_match("?*", ""));
        assert!(wildcard_match("*:latest", "nginx:latest"));
        assert!(!wildcard_match("*:latest", "nginx:1.2"));
        assert!(wildcard_match("a*b?c", "axxbyc"));
        assert!(!wildcard_match("abc", "abcd"));
        assert!(wildcard_match("", ""));
    }

    #[test]
    fn quantities() {
        let f = |s: &str| parse_quantity(s).map(|q| q.as_f64());
        assert_eq!(f("1Gi"), Some(1073741824.0));
        assert_eq!(f("500m"), Some(0.5));
        assert_eq!(f("2e3"), Some(2000.0));
        assert_eq!(f("1.5"), Some(1.5));
        assert_eq!(f("1.5 "), Some(1.5));
        // The former parser here read `1E` as no quantity and `2Ei` as 2 × 10^18 × i.
        assert_eq!(parse_quantity("1E"), parse_quantity("1000000000000000000"));
        assert!(parse_quantity("2Ei") > parse_quantity("2E"));
        assert_eq!(parse_quantity("abc"), None);
        assert_eq!(parse_quantity("1h"), None);
        assert_eq!(parse_quantity(""), None);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m"), Some(5400.0));
        assert_eq!(parse_duration("0"), Some(0.0));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("1.5s"), Some(1.5));
        assert_eq!(parse_duration("100ms"), Some(0.1));
    }

    #[test]
    fn sprint() {
        assert_eq!(go_sprint(&serde_json::json!(1.0)), "1");
        assert_eq!(go_sprint(&serde_json::json!(1.5)), "1.5");
        assert_eq!(go_sprint(&serde_json::json!(true)), "true");
    }
}
