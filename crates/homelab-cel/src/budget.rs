//! Cost limits for expressions from untrusted policies, like the API server's: an
//! estimated cost checked when an expression is compiled, and a runtime cost counted
//! while it runs. Both count comprehension iterations (`all`, `exists`, `map`, `filter`,
//! ...), the only way a CEL expression does unbounded work: an expression that nests
//! comprehensions over large lists is refused, or stopped, instead of running for
//! minutes.
//!
//! The runtime count works through the AST: every comprehension's range is wrapped, at
//! compile time, in a call to [`COST_FUNCTION`], which charges the range's size to the
//! budget of the evaluation running on this thread and hands the range back unchanged.

use std::cell::Cell;

use cel::common::ast::{CallExpr, EntryExpr, Expr, IdedExpr, LiteralValue};
use cel::common::value::CowVal;
use cel::{DeclarationError, Env, ExecutionError};

/// Iterations one evaluation of one expression may run (Kubernetes' per-call limit is
/// 1,000,000 cost units; an iteration costs at least one).
pub const RUNTIME_COST_LIMIT: u64 = 1_000_000;

/// Largest estimated number of iterations an expression may have to be accepted
/// (Kubernetes' static estimated cost limit is 10,000,000).
pub const ESTIMATED_COST_LIMIT: u64 = 10_000_000;

/// Size assumed, for the estimate, of a list or map known only at run time (objects
/// carry lists of tens of items; Kubernetes assumes sizes bounded by its 3 MB request
/// limit, which is far stricter).
pub const ASSUMED_RANGE_SIZE: u64 = 100;

/// The function each comprehension's range is wrapped in.
pub const COST_FUNCTION: &str = "__homelab_cost__";

thread_local! {
    /// Iterations left to the evaluation running on this thread (`None`: no limit).
    static REMAINING: Cell<Option<u64>> = const { Cell::new(None) };
    /// Whether that evaluation ran out of budget.
    static EXCEEDED: Cell<bool> = const { Cell::new(false) };
}

/// The message of an evaluation stopped by the runtime limit.
pub fn runtime_exceeded_message() -> String {
    format!(
        "operation cancelled: actual cost limit exceeded (more than {RUNTIME_COST_LIMIT} iterations); simplify the expression or bound the lists it iterates"
    )
}

/// Runs `f` with a fresh runtime budget on this thread; also says whether it ran out.
pub(crate) fn with_runtime_limit<T>(f: impl FnOnce() -> T) -> (T, bool) {
    let saved = (REMAINING.get(), EXCEEDED.get());
    REMAINING.set(Some(RUNTIME_COST_LIMIT));
    EXCEEDED.set(false);
    let out = f();
    let exceeded = EXCEEDED.get();
    REMAINING.set(saved.0);
    EXCEEDED.set(saved.1);
    (out, exceeded)
}

fn charge(n: u64) -> Result<(), ExecutionError> {
    let Some(left) = REMAINING.get() else {
        return Ok(());
    };
    match left.checked_sub(n) {
        Some(rest) => {
            REMAINING.set(Some(rest));
            Ok(())
        }
        None => {
            REMAINING.set(Some(0));
            EXCEEDED.set(true);
            Err(ExecutionError::function_error(
                "cost",
                runtime_exceeded_message(),
            ))
        }
    }
}

fn cost<'b, 'v>(mut args: Vec<CowVal<'b, 'v>>) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let range = args
        .pop()
        .ok_or_else(|| ExecutionError::function_error("cost", "missing range"))?;
    let size = range
        .as_sizer()
        .map(|s| u64::try_from(*s.size().inner()).unwrap_or(0))
        .unwrap_or(0);
    charge(size.saturating_add(1))?;
    Ok(range)
}

/// Declares [`COST_FUNCTION`] on `env`.
pub(crate) fn register(env: &mut Env) -> Result<(), DeclarationError> {
    env.add_overload(
        COST_FUNCTION,
        "__homelab_cost___dyn",
        vec![cel::common::types::DYN_TYPE],
        cost,
    )
}

/// Wraps every comprehension range of `e` in [`COST_FUNCTION`].
pub(crate) fn instrument(e: &mut IdedExpr) {
    match &mut e.expr {
        Expr::Comprehension(c) => {
            instrument(&mut c.iter_range);
            instrument(&mut c.accu_init);
            instrument(&mut c.loop_cond);
            instrument(&mut c.loop_step);
            instrument(&mut c.result);
            let range = std::mem::take(&mut c.iter_range);
            c.iter_range = IdedExpr {
                id: range.id,
                expr: Expr::Call(CallExpr {
                    func_name: COST_FUNCTION.to_string(),
                    target: None,
                    args: vec![range],
                }),
            };
        }
        Expr::Call(c) => {
            if let Some(t) = &mut c.target {
                instrument(t);
            }
            c.args.iter_mut().for_each(instrument);
        }
        Expr::List(l) => l.elements.iter_mut().for_each(instrument),
        Expr::Map(m) => {
            for entry in &mut m.entries {
                match &mut entry.expr {
                    EntryExpr::MapEntry(me) => {
                        instrument(&mut me.key);
                        instrument(&mut me.value);
                    }
                    EntryExpr::StructField(f) => instrument(&mut f.value),
                }
            }
        }
        Expr::Struct(s) => {
            for entry in &mut s.entries {
                match &mut entry.expr {
                    EntryExpr::MapEntry(me) => {
                        instrument(&mut me.key);
                        instrument(&mut me.value);
                    }
                    EntryExpr::StructField(f) => instrument(&mut f.value),
                }
            }
        }
        Expr::Select(s) => instrument(&mut s.operand),
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => {}
    }
}

/// The estimated number of comprehension iterations of `e`, in the worst case: a
/// literal range counts its elements, `lists.range(n)` with a literal `n` counts `n`,
/// any other range [`ASSUMED_RANGE_SIZE`]; a nested comprehension multiplies.
pub(crate) fn estimate(e: &IdedExpr) -> u64 {
    match &e.expr {
        Expr::Comprehension(c) => {
            let per_iteration = 1u64
                .saturating_add(estimate(&c.loop_cond))
                .saturating_add(estimate(&c.loop_step));
            range_size(&c.iter_range)
                .saturating_mul(per_iteration)
                .saturating_add(estimate(&c.iter_range))
                .saturating_add(estimate(&c.accu_init))
                .saturating_add(estimate(&c.result))
        }
        Expr::Call(c) => c
            .target
            .iter()
            .map(|t| estimate(t))
            .chain(c.args.iter().map(estimate))
            .fold(0u64, u64::saturating_add),
        Expr::List(l) => l.elements.iter().map(estimate).fold(0, u64::saturating_add),
        Expr::Map(m) => m
            .entries
            .iter()
            .map(|entry| match &entry.expr {
                EntryExpr::MapEntry(me) => estimate(&me.key).saturating_add(estimate(&me.value)),
                EntryExpr::StructField(f) => estimate(&f.value),
            })
            .fold(0, u64::saturating_add),
        Expr::Struct(s) => s
            .entries
            .iter()
            .map(|entry| match &entry.expr {
                EntryExpr::MapEntry(me) => estimate(&me.key).saturating_add(estimate(&me.value)),
                EntryExpr::StructField(f) => estimate(&f.value),
            })
            .fold(0, u64::saturating_add),
        Expr::Select(s) => estimate(&s.operand),
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => 0,
    }
}

fn range_size(e: &IdedExpr) -> u64 {
    match &e.expr {
        Expr::List(l) => l.elements.len() as u64,
        Expr::Map(m) => m.entries.len() as u64,
        Expr::Call(c) if c.func_name == "lists.range" || c.func_name == "range" => {
            match c.args.first().map(|a| &a.expr) {
                Some(Expr::Literal(LiteralValue::Int(n))) => u64::try_from(*n.inner()).unwrap_or(0),
                _ => ASSUMED_RANGE_SIZE,
            }
        }
        _ => ASSUMED_RANGE_SIZE,
    }
}

/// The message of an expression refused by the estimate.
pub fn estimated_exceeded_message(estimate: u64) -> String {
    format!(
        "estimated cost exceeds the budget: up to {estimate} iterations, more than the {ESTIMATED_COST_LIMIT} allowed (nested comprehensions over lists; lists of unknown size are taken as {ASSUMED_RANGE_SIZE} items)"
    )
}
