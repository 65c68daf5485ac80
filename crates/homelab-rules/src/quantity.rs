//! Kubernetes resource quantities (`2.5Gi`, `300m`, `1e3`) as numbers, for budgets.

use serde_json::Value;

/// The value of a quantity in base units (bytes for memory, cores for CPU).
pub fn parse(q: &Value) -> Option<f64> {
    match q {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_str(s),
        _ => None,
    }
}

pub fn parse_str(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    Some(number * factor)
}

/// `8.0 GiB`, for messages.
pub fn gib(bytes: f64) -> String {
    format!("{:.1} GiB", bytes / (1024.0 * 1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::parse_str;

    #[test]
    fn parses_binary_decimal_and_milli() {
        assert_eq!(parse_str("2.5Gi"), Some(2.5 * 1024.0 * 1024.0 * 1024.0));
        assert_eq!(parse_str("650Mi"), Some(650.0 * 1024.0 * 1024.0));
        assert_eq!(parse_str("300m"), Some(0.3));
        assert_eq!(parse_str("1e3"), Some(1000.0));
        assert_eq!(parse_str("2"), Some(2.0));
        assert_eq!(parse_str("1G"), Some(1e9));
        assert_eq!(parse_str("lots"), None);
    }
}
