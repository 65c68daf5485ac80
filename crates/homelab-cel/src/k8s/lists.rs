//! Kubernetes' lists library: `isSorted`, `sum`, `min`, `max`, `indexOf`,
//! `lastIndexOf`, and cel-go's sets extension (`sets.contains`, `sets.equivalent`,
//! `sets.intersects`) (the rest — `slice`, `flatten`, `distinct`, `sort` — come from
//! the `cel` crate's lists extension).

use std::cmp::Ordering;

use cel::common::types::{DYN_TYPE, LIST_TYPE};
use cel::{DeclarationError, Env, ExecutionError, Value};

use super::member;

fn list<'a>(func: &str, a: &'a [Value]) -> Result<&'a [Value], ExecutionError> {
    match a.first() {
        Some(Value::List(l)) => Ok(l.as_slice()),
        _ => Err(ExecutionError::function_error(
            func,
            "receiver is not a list",
        )),
    }
}

fn cmp(func: &str, x: &Value, y: &Value) -> Result<Ordering, ExecutionError> {
    x.partial_cmp(y).ok_or_else(|| {
        ExecutionError::function_error(func, format!("{x:?} and {y:?} are not comparable"))
    })
}

fn is_sorted(a: &[Value]) -> Result<Value, ExecutionError> {
    let l = list("isSorted", a)?;
    for w in l.windows(2) {
        if cmp("isSorted", &w[0], &w[1])? == Ordering::Greater {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

fn sum(a: &[Value]) -> Result<Value, ExecutionError> {
    let l = list("sum", a)?;
    let mut acc = match l.first() {
        Some(Value::Float(_)) => Value::Float(0.0),
        Some(Value::UInt(_)) => Value::UInt(0),
        Some(Value::Duration(_)) => Value::Duration(chrono::Duration::zero()),
        _ => Value::Int(0),
    };
    for v in l {
        acc = match (&acc, v) {
            (Value::Int(x), Value::Int(y)) => Value::Int(
                x.checked_add(*y)
                    .ok_or_else(|| ExecutionError::function_error("sum", "integer overflow"))?,
            ),
            (Value::UInt(x), Value::UInt(y)) => Value::UInt(
                x.checked_add(*y)
                    .ok_or_else(|| ExecutionError::function_error("sum", "integer overflow"))?,
            ),
            (Value::Float(x), Value::Float(y)) => Value::Float(x + y),
            (Value::Duration(x), Value::Duration(y)) => Value::Duration(*x + *y),
            _ => {
                return Err(ExecutionError::function_error(
                    "sum",
                    "list elements are not summable",
                ))
            }
        };
    }
    Ok(acc)
}

fn extreme(func: &str, a: &[Value], want: Ordering) -> Result<Value, ExecutionError> {
    let l = list(func, a)?;
    let mut best = l
        .first()
        .ok_or_else(|| ExecutionError::function_error(func, "called on an empty list"))?;
    for v in &l[1..] {
        if cmp(func, v, best)? == want {
            best = v;
        }
    }
    Ok(best.clone())
}

fn min(a: &[Value]) -> Result<Value, ExecutionError> {
    extreme("min", a, Ordering::Less)
}

fn max(a: &[Value]) -> Result<Value, ExecutionError> {
    extreme("max", a, Ordering::Greater)
}

fn index_of(a: &[Value]) -> Result<Value, ExecutionError> {
    let l = list("indexOf", a)?;
    let x = a.get(1).unwrap_or(&Value::Null);
    Ok(Value::Int(
        l.iter()
            .position(|v| v == x)
            .map(|i| i as i64)
            .unwrap_or(-1),
    ))
}

fn last_index_of(a: &[Value]) -> Result<Value, ExecutionError> {
    let l = list("lastIndexOf", a)?;
    let x = a.get(1).unwrap_or(&Value::Null);
    Ok(Value::Int(
        l.iter()
            .rposition(|v| v == x)
            .map(|i| i as i64)
            .unwrap_or(-1),
    ))
}

fn two_lists<'a>(func: &str, a: &'a [Value]) -> Result<(&'a [Value], &'a [Value]), ExecutionError> {
    match (a.first(), a.get(1)) {
        (Some(Value::List(x)), Some(Value::List(y))) => Ok((x.as_slice(), y.as_slice())),
        _ => Err(ExecutionError::function_error(
            func,
            "arguments must be lists",
        )),
    }
}

/// `sets.contains(a, b)`: every element of `b` is in `a`.
fn sets_contains(a: &[Value]) -> Result<Value, ExecutionError> {
    let (x, y) = two_lists("sets.contains", a)?;
    Ok(Value::Bool(y.iter().all(|e| x.contains(e))))
}

/// `sets.equivalent(a, b)`: same elements, ignoring order and repeats.
fn sets_equivalent(a: &[Value]) -> Result<Value, ExecutionError> {
    let (x, y) = two_lists("sets.equivalent", a)?;
    Ok(Value::Bool(
        y.iter().all(|e| x.contains(e)) && x.iter().all(|e| y.contains(e)),
    ))
}

/// `sets.intersects(a, b)`: at least one common element.
fn sets_intersects(a: &[Value]) -> Result<Value, ExecutionError> {
    let (x, y) = two_lists("sets.intersects", a)?;
    Ok(Value::Bool(y.iter().any(|e| x.contains(e))))
}

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    super::global!(
        env,
        "sets.contains",
        "list_sets_contains_list",
        vec![LIST_TYPE, LIST_TYPE],
        sets_contains
    )?;
    super::global!(
        env,
        "sets.equivalent",
        "list_sets_equivalent_list",
        vec![LIST_TYPE, LIST_TYPE],
        sets_equivalent
    )?;
    super::global!(
        env,
        "sets.intersects",
        "list_sets_intersects_list",
        vec![LIST_TYPE, LIST_TYPE],
        sets_intersects
    )?;
    member!(
        env,
        "isSorted",
        "list_is_sorted",
        LIST_TYPE,
        vec![],
        is_sorted
    )?;
    member!(env, "sum", "list_sum", LIST_TYPE, vec![], sum)?;
    member!(env, "min", "list_min", LIST_TYPE, vec![], min)?;
    member!(env, "max", "list_max", LIST_TYPE, vec![], max)?;
    member!(
        env,
        "indexOf",
        "list_index_of",
        LIST_TYPE,
        vec![DYN_TYPE],
        index_of
    )?;
    member!(
        env,
        "lastIndexOf",
        "list_last_index_of",
        LIST_TYPE,
        vec![DYN_TYPE],
        last_index_of
    )?;
    Ok(())
}
