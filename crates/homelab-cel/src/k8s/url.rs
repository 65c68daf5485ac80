//! Kubernetes' URL library: `url(s)`, `isURL(s)` and `getScheme`, `getHost`,
//! `getHostname`, `getPort`, `getEscapedPath`, `getQuery`.
//!
//! Written by hand (no URL crate dependency) because Kubernetes' semantics are
//! Go's `url.ParseRequestURI`, which differs from WHATWG parsers anyway.

use std::collections::BTreeMap;
use std::sync::Arc;

use cel::common::types::STRING_TYPE;
use cel::objects::{Key, Map, Opaque};
use cel::{DeclarationError, Env, ExecutionError, Value};

use super::{global, member, opaque, opaque_arg, opaque_type, string_arg};

const TYPE_NAME: &str = "kubernetes.URL";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    text: String,
    scheme: String,
    host: String,
    path: String,
    query: String,
}

impl Opaque for Url {
    fn runtime_type_name(&self) -> &str {
        TYPE_NAME
    }
}

pub(super) fn display(o: &dyn Opaque) -> Option<String> {
    o.downcast_ref::<Url>().map(|u| u.text.clone())
}

/// Absolute URL or absolute path, like Go's `url.ParseRequestURI`.
fn parse(s: &str) -> Option<Url> {
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let (before_query, query) = match s.split_once('?') {
        Some((b, q)) => (b, q.to_string()),
        None => (s, String::new()),
    };
    if before_query.contains('#') {
        return None;
    }
    if let Some(path) = before_query.strip_prefix('/') {
        return Some(Url {
            text: s.to_string(),
            scheme: String::new(),
            host: String::new(),
            path: format!("/{path}"),
            query,
        });
    }
    let (scheme, rest) = before_query.split_once(':')?;
    let mut chars = scheme.chars();
    if !chars.next()?.is_ascii_alphabetic()
        || !chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return None;
    }
    let (host, path) = match rest.strip_prefix("//") {
        Some(r) => match r.find('/') {
            Some(i) => (r[..i].to_string(), r[i..].to_string()),
            None => (r.to_string(), String::new()),
        },
        None => {
            if !rest.starts_with('/') {
                return None;
            }
            (String::new(), rest.to_string())
        }
    };
    let host = host
        .rsplit_once('@')
        .map(|(_, h)| h.to_string())
        .unwrap_or(host);
    Some(Url {
        text: s.to_string(),
        scheme: scheme.to_string(),
        host,
        path,
        query,
    })
}

fn this(a: &[Value]) -> Result<Url, ExecutionError> {
    opaque_arg::<Url>(a, 0)
        .cloned()
        .ok_or_else(|| ExecutionError::function_error("url", "receiver is not a URL"))
}

fn s(v: impl Into<String>) -> Value {
    Value::String(Arc::new(v.into()))
}

fn url(a: &[Value]) -> Result<Value, ExecutionError> {
    let t = string_arg("url", a, 0)?;
    parse(t)
        .map(opaque)
        .ok_or_else(|| ExecutionError::function_error("url", format!("URL {t:?} parse error")))
}
fn is_url(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(parse(string_arg("isURL", a, 0)?).is_some()))
}
fn split_host(host: &str) -> (String, String) {
    if let Some(rest) = host.strip_prefix('[') {
        if let Some((h, p)) = rest.split_once(']') {
            return (h.to_string(), p.strip_prefix(':').unwrap_or("").to_string());
        }
    }
    match host.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h.to_string(), p.to_string()),
        _ => (host.to_string(), String::new()),
    }
}
fn get_scheme(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(s(this(a)?.scheme))
}
fn get_host(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(s(this(a)?.host))
}
fn get_hostname(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(s(split_host(&this(a)?.host).0))
}
fn get_port(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(s(split_host(&this(a)?.host).1))
}
fn get_escaped_path(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(s(this(a)?.path))
}
fn get_query(a: &[Value]) -> Result<Value, ExecutionError> {
    let u = this(a)?;
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for pair in u.query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.entry(k.to_string()).or_default().push(s(v));
    }
    let map = out
        .into_iter()
        .map(|(k, v)| (Key::String(Arc::new(k)), Value::List(Arc::new(v))))
        .collect();
    Ok(Value::Map(Map { map: Arc::new(map) }))
}
fn to_string(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(s(this(a)?.text))
}

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    let t = || opaque_type(TYPE_NAME);
    global!(env, "url", "string_to_url", vec![STRING_TYPE], url)?;
    global!(env, "isURL", "is_url_string", vec![STRING_TYPE], is_url)?;
    global!(env, "string", "url_to_string", vec![t()], to_string)?;
    member!(env, "getScheme", "url_get_scheme", t(), vec![], get_scheme)?;
    member!(env, "getHost", "url_get_host", t(), vec![], get_host)?;
    member!(
        env,
        "getHostname",
        "url_get_hostname",
        t(),
        vec![],
        get_hostname
    )?;
    member!(env, "getPort", "url_get_port", t(), vec![], get_port)?;
    member!(
        env,
        "getEscapedPath",
        "url_get_escaped_path",
        t(),
        vec![],
        get_escaped_path
    )?;
    member!(env, "getQuery", "url_get_query", t(), vec![], get_query)?;
    Ok(())
}
