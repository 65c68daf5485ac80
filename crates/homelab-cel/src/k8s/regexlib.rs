//! Kubernetes' regex library: `s.find(re)` (first match or "") and
//! `s.findAll(re[, n])` (list of matches, at most n when n >= 0).

use std::sync::Arc;

use cel::common::types::{INT_TYPE, STRING_TYPE};
use cel::{DeclarationError, Env, ExecutionError, Value};

use super::{member, string_arg};

fn compile(func: &str, re: &str) -> Result<regex::Regex, ExecutionError> {
    regex::Regex::new(re)
        .map_err(|e| ExecutionError::function_error(func, format!("invalid regex {re:?}: {e}")))
}

fn find(a: &[Value]) -> Result<Value, ExecutionError> {
    let s = string_arg("find", a, 0)?;
    let re = compile("find", string_arg("find", a, 1)?)?;
    Ok(Value::String(Arc::new(
        re.find(s)
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
    )))
}

fn find_all(a: &[Value]) -> Result<Value, ExecutionError> {
    let s = string_arg("findAll", a, 0)?;
    let re = compile("findAll", string_arg("findAll", a, 1)?)?;
    let limit = match a.get(2) {
        Some(Value::Int(n)) if *n >= 0 => Some(*n as usize),
        _ => None,
    };
    let found: Vec<Value> = re
        .find_iter(s)
        .take(limit.unwrap_or(usize::MAX))
        .map(|m| Value::String(Arc::new(m.as_str().to_string())))
        .collect();
    Ok(Value::List(Arc::new(found)))
}

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    member!(
        env,
        "find",
        "string_find_string",
        STRING_TYPE,
        vec![STRING_TYPE],
        find
    )?;
    member!(
        env,
        "findAll",
        "string_find_all_string",
        STRING_TYPE,
        vec![STRING_TYPE],
        find_all
    )?;
    member!(
        env,
        "findAll",
        "string_find_all_string_int",
        STRING_TYPE,
        vec![STRING_TYPE, INT_TYPE],
        find_all
    )?;
    Ok(())
}
