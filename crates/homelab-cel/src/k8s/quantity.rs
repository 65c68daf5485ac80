//! Kubernetes' quantity library: `quantity("1Gi")`, `isQuantity(s)` and the
//! methods `isInteger`, `asInteger`, `asApproximateFloat`, `sign`, `add`, `sub`,
//! `compareTo`, `isGreaterThan`, `isLessThan`, `equals`.
//!
//! The value is the workspace's one exact quantity ([`homelab_k8s::Quantity`]), so
//! comparisons of `1Gi` and `1073741824` or `500m` and `0.5` are exact, and a quantity prints
//! in Kubernetes' canonical form.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use cel::common::types::{DYN_TYPE, INT_TYPE, STRING_TYPE};
use cel::objects::Opaque;
use cel::{DeclarationError, Env, ExecutionError, Value};
use homelab_k8s::Format;

use super::{global, member, opaque, opaque_arg, opaque_type, string_arg};

const TYPE_NAME: &str = "kubernetes.Quantity";

/// A Kubernetes resource quantity as a CEL value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantity(pub homelab_k8s::Quantity);

impl Opaque for Quantity {
    fn runtime_type_name(&self) -> &str {
        TYPE_NAME
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Quantity {
    pub fn parse(s: &str) -> Option<Quantity> {
        homelab_k8s::Quantity::parse(s).ok().map(Quantity)
    }

    fn add(&self, other: &Quantity, sign: i128) -> Option<Quantity> {
        let other =
            homelab_k8s::Quantity::from_nanos(other.0.nanos().checked_mul(sign)?, other.0.format());
        self.0.checked_add(&other).map(Quantity)
    }
}

fn this(func: &str, a: &[Value]) -> Result<Quantity, ExecutionError> {
    opaque_arg::<Quantity>(a, 0)
        .cloned()
        .ok_or_else(|| ExecutionError::function_error(func, "receiver is not a quantity"))
}

/// The second argument as a quantity: a quantity or an int.
fn other(func: &str, a: &[Value]) -> Result<Quantity, ExecutionError> {
    if let Some(q) = opaque_arg::<Quantity>(a, 1) {
        return Ok(q.clone());
    }
    match a.get(1) {
        Some(Value::Int(i)) => Ok(Quantity(homelab_k8s::Quantity::from_units(
            *i,
            Format::DecimalExponent,
        ))),
        _ => Err(ExecutionError::function_error(
            func,
            "argument is not a quantity",
        )),
    }
}

fn quantity(a: &[Value]) -> Result<Value, ExecutionError> {
    let s = string_arg("quantity", a, 0)?;
    Quantity::parse(s).map(opaque).ok_or_else(|| {
        ExecutionError::function_error("quantity", format!("invalid quantity {s:?}"))
    })
}

fn is_quantity(a: &[Value]) -> Result<Value, ExecutionError> {
    let s = string_arg("isQuantity", a, 0)?;
    Ok(Value::Bool(Quantity::parse(s).is_some()))
}

fn is_integer(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Bool(this("isInteger", a)?.0.to_i64().is_some()))
}

fn as_integer(a: &[Value]) -> Result<Value, ExecutionError> {
    this("asInteger", a)?
        .0
        .to_i64()
        .map(Value::Int)
        .ok_or_else(|| {
            ExecutionError::function_error("asInteger", "cannot convert value to integer")
        })
}

fn as_approximate_float(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Float(this("asApproximateFloat", a)?.0.as_f64()))
}

fn sign(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::Int(i64::from(this("sign", a)?.0.signum())))
}

fn add(a: &[Value]) -> Result<Value, ExecutionError> {
    let q = this("add", a)?;
    q.add(&other("add", a)?, 1)
        .map(opaque)
        .ok_or_else(|| ExecutionError::function_error("add", "quantity overflow"))
}

fn sub(a: &[Value]) -> Result<Value, ExecutionError> {
    let q = this("sub", a)?;
    q.add(&other("sub", a)?, -1)
        .map(opaque)
        .ok_or_else(|| ExecutionError::function_error("sub", "quantity overflow"))
}

fn compare_to(a: &[Value]) -> Result<Value, ExecutionError> {
    let ord = this("compareTo", a)?.0.cmp(&other("compareTo", a)?.0);
    Ok(Value::Int(ord as i64))
}

fn is_greater_than(a: &[Value]) -> Result<Value, ExecutionError> {
    let ord = this("isGreaterThan", a)?
        .0
        .cmp(&other("isGreaterThan", a)?.0);
    Ok(Value::Bool(ord == Ordering::Greater))
}

fn is_less_than(a: &[Value]) -> Result<Value, ExecutionError> {
    let ord = this("isLessThan", a)?.0.cmp(&other("isLessThan", a)?.0);
    Ok(Value::Bool(ord == Ordering::Less))
}

fn equals(a: &[Value]) -> Result<Value, ExecutionError> {
    let ord = this("equals", a)?.0.cmp(&other("equals", a)?.0);
    Ok(Value::Bool(ord == Ordering::Equal))
}

fn to_string(a: &[Value]) -> Result<Value, ExecutionError> {
    Ok(Value::String(Arc::new(this("string", a)?.to_string())))
}

pub(super) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    let q = || opaque_type(TYPE_NAME);
    global!(
        env,
        "quantity",
        "string_to_quantity",
        vec![STRING_TYPE],
        quantity
    )?;
    global!(
        env,
        "isQuantity",
        "is_quantity_string",
        vec![STRING_TYPE],
        is_quantity
    )?;
    global!(env, "string", "quantity_to_string", vec![q()], to_string)?;
    member!(
        env,
        "isInteger",
        "quantity_is_integer",
        q(),
        vec![],
        is_integer
    )?;
    member!(
        env,
        "asInteger",
        "quantity_get_integer",
        q(),
        vec![],
        as_integer
    )?;
    member!(
        env,
        "asApproximateFloat",
        "quantity_get_float",
        q(),
        vec![],
        as_approximate_float
    )?;
    member!(env, "sign", "quantity_sign", q(), vec![], sign)?;
    member!(env, "add", "quantity_add_quantity", q(), vec![q()], add)?;
    member!(env, "sub", "quantity_sub_quantity", q(), vec![q()], sub)?;
    member!(
        env,
        "compareTo",
        "quantity_compare_to",
        q(),
        vec![q()],
        compare_to
    )?;
    member!(
        env,
        "isGreaterThan",
        "quantity_gt",
        q(),
        vec![q()],
        is_greater_than
    )?;
    member!(
        env,
        "isLessThan",
        "quantity_lt",
        q(),
        vec![q()],
        is_less_than
    )?;
    member!(env, "add", "quantity_add_int", q(), vec![INT_TYPE], add)?;
    member!(env, "sub", "quantity_sub_int", q(), vec![INT_TYPE], sub)?;
    member!(
        env,
        "equals",
        "quantity_equals",
        q(),
        vec![DYN_TYPE],
        equals
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    #[test]
    fn arithmetic_keeps_the_receiver_format() {
        assert_eq!(q("1").add(&q("500m"), 1).unwrap().to_string(), "1500m");
        assert_eq!(q("1Ki").add(&q("24"), -1).unwrap().to_string(), "1k");
        assert_eq!(q("1Gi").add(&q("1Gi"), 1).unwrap().to_string(), "2Gi");
    }
}
