//! Object literals as Kubernetes' mutating policies write them —
//! `Object{spec: Object.spec{...}}`, `JSONPatch{op: "add", ...}` — evaluated as
//! string-keyed maps. Kubernetes types them from the OpenAPI schema; offline the
//! schema is unknown, and what the caller needs is the JSON anyway, so every
//! struct literal is lowered to a map literal after parsing.

use cel::common::ast::{EntryExpr, Expr, IdedEntryExpr, IdedExpr, LiteralValue, MapEntryExpr};

/// Rewrites every struct literal in `e` into the equivalent map literal.
pub fn lower_struct_literals(e: &mut IdedExpr) {
    match &mut e.expr {
        Expr::Struct(s) => {
            let entries = std::mem::take(&mut s.entries);
            let mut out = Vec::with_capacity(entries.len());
            for mut entry in entries {
                match &mut entry.expr {
                    EntryExpr::StructField(f) => {
                        let mut value = std::mem::take(&mut f.value);
                        lower_struct_literals(&mut value);
                        let key = IdedExpr {
                            id: entry.id,
                            expr: Expr::Literal(LiteralValue::String(f.field.clone().into())),
                        };
                        out.push(IdedEntryExpr {
                            id: entry.id,
                            expr: EntryExpr::MapEntry(MapEntryExpr {
                                key,
                                value,
                                optional: f.optional,
                            }),
                        });
                    }
                    EntryExpr::MapEntry(m) => {
                        lower_struct_literals(&mut m.key);
                        lower_struct_literals(&mut m.value);
                        out.push(entry);
                    }
                }
            }
            e.expr = Expr::Map(cel::common::ast::MapExpr { entries: out });
        }
        Expr::Map(m) => {
            for entry in &mut m.entries {
                match &mut entry.expr {
                    EntryExpr::MapEntry(me) => {
                        lower_struct_literals(&mut me.key);
                        lower_struct_literals(&mut me.value);
                    }
                    EntryExpr::StructField(f) => lower_struct_literals(&mut f.value),
                }
            }
        }
        Expr::Call(c) => {
            if let Some(t) = &mut c.target {
                lower_struct_literals(t);
            }
            c.args.iter_mut().for_each(lower_struct_literals);
        }
        Expr::Comprehension(c) => {
            lower_struct_literals(&mut c.iter_range);
            lower_struct_literals(&mut c.accu_init);
            lower_struct_literals(&mut c.loop_cond);
            lower_struct_literals(&mut c.loop_step);
            lower_struct_literals(&mut c.result);
        }
        Expr::List(l) => l.elements.iter_mut().for_each(lower_struct_literals),
        Expr::Select(s) => lower_struct_literals(&mut s.operand),
        Expr::Unspecified | Expr::Ident(_) | Expr::Literal(_) => {}
    }
}
