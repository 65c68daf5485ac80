//! Conversions between JSON values (what manifests are) and CEL values (what
//! expressions compute), following Kubernetes' unstructured-object rules:
//! integral JSON numbers are `int`, others `double`; objects are string-keyed maps.

use std::collections::HashMap;
use std::sync::Arc;

use cel::objects::{Key, Map};
use cel::Value;
use serde_json::Value as Json;

use crate::k8s::{display_opaque, opaque_to_json};

/// A JSON value as a CEL value.
pub fn json_to_cel(v: &Json) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Int(i)
            } else if let Some(u) = n.as_u64() {
                Value::UInt(u)
            } else {
                Value::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => Value::String(Arc::new(s.clone())),
        Json::Array(a) => Value::List(Arc::new(a.iter().map(json_to_cel).collect())),
        Json::Object(o) => {
            let map: HashMap<Key, Value> = o
                .iter()
                .map(|(k, v)| (Key::String(Arc::new(k.clone())), json_to_cel(v)))
                .collect();
            Value::Map(Map { map: Arc::new(map) })
        }
    }
}

/// A CEL value as JSON. Durations and timestamps become their string forms,
/// bytes base64, opaque Kubernetes types (quantity, ip, cidr, url) their string
/// forms; an optional becomes its value or null; functions and types become null.
pub fn cel_to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::UInt(u) => Json::from(*u),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        Value::String(s) => Json::String(s.to_string()),
        Value::Bytes(b) => Json::String(base64_encode(b)),
        Value::List(l) => Json::Array(l.iter().map(cel_to_json).collect()),
        Value::Map(m) => {
            let mut entries: Vec<(String, Json)> = m
                .map
                .iter()
                .map(|(k, v)| (key_string(k), cel_to_json(v)))
                .collect();
            // HashMap order is random: sort for reproducible output.
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Object(entries.into_iter().collect())
        }
        Value::Duration(d) => Json::String(format_duration(d)),
        Value::Timestamp(t) => Json::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        Value::Opaque(o) => {
            if let Some(opt) = o.downcast_ref::<cel::objects::OptionalValue>() {
                return opt.value().map(cel_to_json).unwrap_or(Json::Null);
            }
            opaque_to_json(o.as_ref()).unwrap_or(Json::Null)
        }
        _ => Json::Null,
    }
}

fn key_string(k: &Key) -> String {
    match k {
        Key::Int(i) => i.to_string(),
        Key::Uint(u) => u.to_string(),
        Key::Bool(b) => b.to_string(),
        Key::String(s) => s.to_string(),
    }
}

/// Go's `time.Duration.String()`-like rendering (`1h2m3s`, `1.5s`, `0s`).
pub fn format_duration(d: &chrono::Duration) -> String {
    let total_ns = d.num_nanoseconds().unwrap_or(i64::MAX);
    if total_ns == 0 {
        return "0s".to_string();
    }
    let neg = total_ns < 0;
    let mut ns = total_ns.unsigned_abs();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let h = ns / 3_600_000_000_000;
    ns %= 3_600_000_000_000;
    let m = ns / 60_000_000_000;
    ns %= 60_000_000_000;
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    let s = ns / 1_000_000_000;
    let frac = ns % 1_000_000_000;
    if frac == 0 {
        out.push_str(&format!("{s}s"));
    } else {
        let f = format!("{frac:09}");
        out.push_str(&format!("{s}.{}s", f.trim_end_matches('0')));
    }
    out
}

/// A CEL value rendered as text the way Kubernetes prints a value in a
/// message: strings bare, everything else like its JSON.
pub fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Opaque(o) => display_opaque(o.as_ref()).unwrap_or_else(|| format!("{v:?}")),
        other => cel_to_json(other).to_string(),
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_json() {
        let v = json!({"a": [1, 2.5, "x", null, true], "b": {"c": -3}});
        assert_eq!(cel_to_json(&json_to_cel(&v)), v);
    }

    #[test]
    fn integral_numbers_are_ints() {
        assert_eq!(json_to_cel(&json!(3)), Value::Int(3));
        assert_eq!(json_to_cel(&json!(3.5)), Value::Float(3.5));
    }

    #[test]
    fn durations_print_like_go() {
        assert_eq!(format_duration(&chrono::Duration::seconds(3723)), "1h2m3s");
        assert_eq!(
            format_duration(&chrono::Duration::milliseconds(1500)),
            "1.5s"
        );
        assert_eq!(format_duration(&chrono::Duration::zero()), "0s");
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64_encode(b"ab"), "YWI=");
        assert_eq!(base64_encode(b"abc"), "YWJj");
    }
}
