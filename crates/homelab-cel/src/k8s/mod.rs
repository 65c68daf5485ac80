//! The CEL libraries Kubernetes adds to its environment (apiserver/pkg/cel/library)
//! beyond what the `cel` crate's standard library and extensions provide:
//! quantities, IPs and CIDRs, URLs, regex `find`/`findAll`, list helpers
//! (`isSorted`, `sum`, `min`, `max`, `indexOf`, `lastIndexOf`), `jsonpatch.escapeKey`.
//!
//! Each function is written over [`cel::Value`] and adapted to the crate's
//! overload signature by [`call`].

mod lists;
mod net;
mod quantity;
mod regexlib;
mod url;

use std::sync::Arc;

use cel::common::ast::{CallExpr, ComprehensionExpr, Expr, ListExpr, LiteralValue};
use cel::common::types::{Type, DYN_TYPE, STRING_TYPE};
use cel::common::value::{CowVal, Val};
use cel::objects::{Opaque, OptionalValue};
use cel::parser::Macro;
use cel::{DeclarationError, Env, ExecutionError, Value};

pub use quantity::Quantity;

/// A function over resolved values.
pub(crate) type ValueFn = fn(&[Value]) -> Result<Value, ExecutionError>;

/// Runs a [`ValueFn`] on an overload's arguments.
pub(crate) fn call<'b, 'v>(
    args: Vec<CowVal<'b, 'v>>,
    f: ValueFn,
) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let values = args
        .iter()
        .map(|a| Value::try_from(a.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    let out = f(&values)?;
    let boxed: Box<dyn Val> = out.try_into()?;
    Ok(CowVal::Owned(boxed))
}

/// Declares a global function `name` taking `arity` arguments of any type.
macro_rules! global {
    ($env:expr, $name:expr, $id:expr, $args:expr, $f:path) => {
        $env.add_overload($name, $id, $args, |a| $crate::k8s::call(a, $f))
    };
}
/// Declares a member function `name` on `target` taking arguments of any type.
macro_rules! member {
    ($env:expr, $name:expr, $id:expr, $target:expr, $args:expr, $f:path) => {
        $env.add_member_overload($name, $id, $target, $args, |a| $crate::k8s::call(a, $f))
    };
}
pub(crate) use global;
pub(crate) use member;

/// Registers every Kubernetes library on `env`.
pub fn register(env: &mut Env) -> Result<(), DeclarationError> {
    quantity::register(env)?;
    net::register(env)?;
    url::register(env)?;
    regexlib::register(env)?;
    lists::register(env)?;
    global!(
        env,
        "jsonpatch.escapeKey",
        "jsonpatch_escape_key",
        vec![STRING_TYPE],
        escape_key
    )?;
    // cel-go evaluates `x.orValue(y)` and `x.or(y)` on a value that is not an
    // optional as `x` itself (its interpreter only unwraps optionals), and
    // Kubernetes policies rely on it, e.g. `c.securityContext.capabilities.add.orValue([])`.
    // The `cel` crate's optional overloads accept any receiver and reject
    // non-optionals, so these calls are rewritten at parse time to lenient ones.
    env.add_macro(Macro::receiver("bind", 3, bind_macro))?;
    env.add_macro(rename_receiver_call("orValue", OR_VALUE))?;
    env.add_macro(rename_receiver_call("or", OR))?;
    env.add_member_overload(OR_VALUE, "lenient_orValue", DYN_TYPE, vec![DYN_TYPE], |a| {
        call(a, or_value)
    })?;
    env.add_member_overload(OR, "lenient_or", DYN_TYPE, vec![DYN_TYPE], |a| call(a, or))?;
    Ok(())
}

/// Kubernetes' `cel.bind(name, init, body)` (cel-go's bindings extension): `body` with
/// `name` bound to `init`, expanded as cel-go does into a comprehension over an empty
/// list whose accumulator is the binding.
fn bind_macro(
    helper: &mut cel::parser::MacroExprHelper<'_>,
    target: &mut Option<cel::IdedExpr>,
    args: &mut Vec<cel::IdedExpr>,
) -> Result<Option<cel::IdedExpr>, cel::ParseError> {
    if !matches!(target.as_ref().map(|t| &t.expr), Some(Expr::Ident(n)) if n == "cel") {
        return Ok(None);
    }
    let name = match args.first().map(|a| &a.expr) {
        Some(Expr::Ident(n)) => n.clone(),
        _ => {
            let id = args.first().map(|a| a.id).unwrap_or_default();
            return Err(
                helper.new_error(id, "cel.bind() variable names must be simple identifiers")
            );
        }
    };
    let mut rest = std::mem::take(args).into_iter().skip(1);
    let (Some(init), Some(body)) = (rest.next(), rest.next()) else {
        return Ok(None);
    };
    let step = helper.next_expr(Expr::Ident(name.clone()));
    let bind = ComprehensionExpr {
        iter_range: helper.next_expr(Expr::List(ListExpr::new(Vec::new()))),
        iter_var: "#unused".to_owned(),
        iter_var2: None,
        accu_var: name,
        accu_init: init,
        loop_cond: helper.next_expr(Expr::Literal(LiteralValue::Boolean(false.into()))),
        loop_step: step,
        result: body,
    };
    Ok(Some(helper.next_expr(Expr::Comprehension(Box::new(bind)))))
}

const OR_VALUE: &str = "@orValue";
const OR: &str = "@or";

/// A macro turning `x.name(y)` into `x.<to>(y)`.
fn rename_receiver_call(name: &'static str, to: &'static str) -> Macro {
    Macro::receiver(name, 1, move |helper, target, args| {
        let Some(t) = target.take() else {
            return Ok(None);
        };
        Ok(Some(helper.next_expr(Expr::Call(CallExpr {
            func_name: to.to_string(),
            target: Some(Box::new(t)),
            args: std::mem::take(args),
        }))))
    })
}

fn optional_of(v: &Value) -> Option<Option<&Value>> {
    match v {
        Value::Opaque(o) => o.downcast_ref::<OptionalValue>().map(OptionalValue::value),
        _ => None,
    }
}

/// `x.orValue(d)`: an optional's value or `d`; a plain `x` itself.
fn or_value(a: &[Value]) -> Result<Value, ExecutionError> {
    let (this, default) = (&a[0], &a[1]);
    Ok(match optional_of(this) {
        Some(Some(v)) => v.clone(),
        Some(None) => default.clone(),
        None => this.clone(),
    })
}

/// `x.or(o)`: an optional with a value, else `o`; a plain `x` itself.
fn or(a: &[Value]) -> Result<Value, ExecutionError> {
    let (this, other) = (&a[0], &a[1]);
    Ok(match optional_of(this) {
        Some(None) => other.clone(),
        _ => this.clone(),
    })
}

fn escape_key(a: &[Value]) -> Result<Value, ExecutionError> {
    let s = string_arg("jsonpatch.escapeKey", a, 0)?;
    Ok(Value::String(Arc::new(
        s.replace('~', "~0").replace('/', "~1"),
    )))
}

pub(crate) fn string_arg<'a>(
    func: &str,
    a: &'a [Value],
    i: usize,
) -> Result<&'a str, ExecutionError> {
    match a.get(i) {
        Some(Value::String(s)) => Ok(s.as_str()),
        Some(other) => Err(ExecutionError::function_error(
            func,
            format!("expected string argument, got {}", other.type_of()),
        )),
        None => Err(ExecutionError::function_error(func, "missing argument")),
    }
}

pub(crate) fn opaque_arg<T: 'static>(a: &[Value], i: usize) -> Option<&T> {
    match a.get(i) {
        Some(Value::Opaque(o)) => o.downcast_ref::<T>(),
        _ => None,
    }
}

pub(crate) fn opaque<T: Opaque>(v: T) -> Value {
    Value::Opaque(Arc::new(v))
}

/// Type of a Kubernetes opaque value, for overload declarations.
pub(crate) fn opaque_type(name: &'static str) -> Type {
    Type::new_opaque_type(name)
}

/// JSON form of an opaque Kubernetes value (its string form).
pub(crate) fn opaque_to_json(o: &dyn Opaque) -> Option<serde_json::Value> {
    display_opaque(o).map(serde_json::Value::String)
}

/// String form of an opaque Kubernetes value.
pub(crate) fn display_opaque(o: &dyn Opaque) -> Option<String> {
    if let Some(q) = o.downcast_ref::<Quantity>() {
        return Some(q.to_string());
    }
    net::display(o).or_else(|| url::display(o))
}
