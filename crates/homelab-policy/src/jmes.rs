//! JMESPath evaluation with Kyverno's custom functions.
//!
//! Uses the `jmespath` crate (maintained, supports registering custom functions) and
//! adds Kyverno's function library on top of the standard one. Expressions are compiled
//! once per thread and cached, because policies re-evaluate the same few expressions for
//! every resource.

use crate::scalars::{format_float, go_sprint, parse_duration, parse_quantity, wildcard_match};
use base64::Engine as _;
use jmespath::functions::{ArgumentType as A, CustomFunction, Signature};
use jmespath::{
    Context, ErrorReason, Expression, JmespathError, Rcvar, Runtime, RuntimeError, Variable,
};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::OnceLock;

/// Why a query failed.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryError {
    /// The expression does not parse.
    Syntax(String),
    /// A function failed or got wrong types.
    Runtime(String),
}

impl std::fmt::Display for QueryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryError::Syntax(s) => write!(f, "invalid JMESPath expression: {s}"),
            QueryError::Runtime(s) => write!(f, "JMESPath query failed: {s}"),
        }
    }
}

fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        let mut rt = Runtime::new();
        rt.register_builtin_functions();
        register_kyverno(&mut rt);
        rt
    })
}

thread_local! {
    static CACHE: RefCell<HashMap<String, Rc<Expression<'static>>>> = RefCell::new(HashMap::new());
}

fn compile(expr: &str) -> Result<Rc<Expression<'static>>, QueryError> {
    if let Some(e) = CACHE.with(|c| c.borrow().get(expr).cloned()) {
        return Ok(e);
    }
    let compiled = runtime()
        .compile(expr)
        .map_err(|e| QueryError::Syntax(e.to_string()))?;
    let rc = Rc::new(compiled);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() > 4096 {
            c.clear();
        }
        c.insert(expr.to_string(), rc.clone())
    });
    Ok(rc)
}

/// Converted JMESPath data, reusable across queries.
pub fn to_var(v: &Value) -> Rcvar {
    Rcvar::new(Variable::try_from(v).unwrap_or(Variable::Null))
}

/// The entries of a JSON object, converted ([`to_var`] of the object holds the same).
pub fn to_var_map(m: &Map<String, Value>) -> std::collections::BTreeMap<String, Rcvar> {
    m.iter().map(|(k, v)| (k.clone(), to_var(v))).collect()
}

pub fn from_var(v: &Variable) -> Value {
    match v {
        Variable::Null => Value::Null,
        Variable::String(s) => Value::String(s.clone()),
        Variable::Bool(b) => Value::Bool(*b),
        Variable::Number(n) => Value::Number(n.clone()),
        Variable::Array(a) => Value::Array(a.iter().map(|x| from_var(x)).collect()),
        Variable::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                out.insert(k.clone(), from_var(x));
            }
            Value::Object(out)
        }
        Variable::Expref(_) => Value::Null,
    }
}

/// `v` as a round trip through JSON leaves it: expression references (which JSON cannot
/// hold) become null; anything without one is shared as it is.
pub fn as_json_data(v: &Rcvar) -> Rcvar {
    fn has_expref(v: &Variable) -> bool {
        match v {
            Variable::Expref(_) => true,
            Variable::Array(a) => a.iter().any(|x| has_expref(x)),
            Variable::Object(m) => m.values().any(|x| has_expref(x)),
            _ => false,
        }
    }
    if has_expref(v) {
        to_var(&from_var(v))
    } else {
        v.clone()
    }
}

/// Evaluate `expr` against already-converted data.
pub fn search_var(expr: &str, data: &Rcvar) -> Result<Value, QueryError> {
    search_rcvar(expr, data).map(|r| from_var(&r))
}

/// [`search_var`] with the result left in JMESPath's representation.
pub fn search_rcvar(expr: &str, data: &Rcvar) -> Result<Rcvar, QueryError> {
    let e = compile(expr.trim())?;
    // `Expression::search` would copy `data` through serde (its cheap conversion of an
    // `Rcvar` needs a nightly feature): interpret the shared data directly.
    let mut ctx = Context::new(e.as_str(), runtime());
    jmespath::interpret(data, e.as_ast(), &mut ctx).map_err(|e| QueryError::Runtime(e.to_string()))
}

/// Evaluate `expr` against `data`.
pub fn search(expr: &str, data: &Value) -> Result<Value, QueryError> {
    search_var(expr, &to_var(data))
}

/// Check that an expression parses.
pub fn check_syntax(expr: &str) -> Result<(), QueryError> {
    compile(expr.trim()).map(|_| ())
}

// ---------------------------------------------------------------------------------------
// Kyverno functions

fn fail(ctx: &Context<'_>, msg: impl Into<String>) -> JmespathError {
    JmespathError::from_ctx(
        ctx,
        ErrorReason::Runtime(RuntimeError::InvalidType {
            expected: msg.into(),
            actual: String::new(),
            position: 0,
        }),
    )
}

fn s(v: &Rcvar) -> String {
    match &**v {
        Variable::String(s) => s.clone(),
        other => go_sprint(&from_var(other)),
    }
}

fn out(v: Value) -> Rcvar {
    to_var(&v)
}

fn num(f: f64) -> Rcvar {
    out(crate::scalars::num_value(f))
}

type F = fn(&[Rcvar], &mut Context<'_>) -> Result<Rcvar, JmespathError>;

fn reg(rt: &mut Runtime, name: &str, inputs: Vec<A>, variadic: Option<A>, f: F) {
    rt.register_function(
        name,
        Box::new(CustomFunction::new(
            Signature::new(inputs, variadic),
            Box::new(f),
        )),
    );
}

fn str_or_num() -> A {
    A::Union(vec![A::String, A::Number])
}

fn register_kyverno(rt: &mut Runtime) {
    register_collections(rt);
    register_strings(rt);
    register_patterns(rt);
    register_arithmetic(rt);
    register_encodings(rt);
    register_time(rt);
}

/// Collections and objects: keys, values, lookups, items, objects from lists.
fn register_collections(rt: &mut Runtime) {
    // Kyverno's JMESPath returns null for `null.keys(@)`/`values(@)` (a sub-expression on a
    // missing value) where the reference implementation raises a type error.
    reg(rt, "keys", vec![A::Any], None, |a, ctx| match &*a[0] {
        Variable::Object(m) => Ok(out(Value::Array(
            m.keys().map(|k| Value::String(k.clone())).collect(),
        ))),
        Variable::Null => Ok(Rcvar::new(Variable::Null)),
        _ => Err(fail(ctx, "keys: expected an object")),
    });
    reg(rt, "values", vec![A::Any], None, |a, ctx| match &*a[0] {
        Variable::Object(m) => Ok(Rcvar::new(Variable::Array(m.values().cloned().collect()))),
        Variable::Null => Ok(Rcvar::new(Variable::Null)),
        _ => Err(fail(ctx, "values: expected an object")),
    });
    reg(
        rt,
        "lookup",
        vec![
            A::Union(vec![A::Object, A::Array]),
            A::Union(vec![A::String, A::Number]),
        ],
        None,
        |a, ctx| match (&*a[0], &*a[1]) {
            (Variable::Object(m), Variable::String(k)) => Ok(m
                .get(k)
                .cloned()
                .unwrap_or_else(|| Rcvar::new(Variable::Null))),
            (Variable::Array(v), Variable::Number(n)) => {
                let f = n.as_f64().unwrap_or(-1.0);
                if f.fract() != 0.0 {
                    return Err(fail(ctx, "index must be an integer"));
                }
                Ok(if f >= 0.0 && (f as usize) < v.len() {
                    v[f as usize].clone()
                } else {
                    Rcvar::new(Variable::Null)
                })
            }
            _ => Err(fail(
                ctx,
                "lookup: object needs a string key, array an integer index",
            )),
        },
    );
    reg(
        rt,
        "items",
        vec![A::Union(vec![A::Object, A::Array]), A::String, A::String],
        None,
        |a, _| {
            let (kn, vn) = (s(&a[1]), s(&a[2]));
            let mut res = Vec::new();
            match &*a[0] {
                Variable::Object(m) => {
                    for (k, v) in m {
                        let mut o = Map::new();
                        o.insert(kn.clone(), Value::String(k.clone()));
                        o.insert(vn.clone(), from_var(v));
                        res.push(Value::Object(o));
                    }
                }
                Variable::Array(arr) => {
                    for (i, v) in arr.iter().enumerate() {
                        let mut o = Map::new();
                        o.insert(kn.clone(), Value::from(i as i64));
                        o.insert(vn.clone(), from_var(v));
                        res.push(Value::Object(o));
                    }
                }
                _ => {}
            }
            Ok(out(Value::Array(res)))
        },
    );
    reg(
        rt,
        "object_from_lists",
        vec![A::Array, A::Array],
        None,
        |a, _| {
            let keys = a[0].as_array().cloned().unwrap_or_default();
            let vals = a[1].as_array().cloned().unwrap_or_default();
            let mut o = Map::new();
            for (i, k) in keys.iter().enumerate() {
                if let Some(ks) = k.as_string() {
                    o.insert(
                        ks.clone(),
                        vals.get(i).map(|v| from_var(v)).unwrap_or(Value::Null),
                    );
                }
            }
            Ok(out(Value::Object(o)))
        },
    );
}

/// Strings: comparison, case, trimming, splitting, replacing, truncating, paths, images, URLs.
fn register_strings(rt: &mut Runtime) {
    reg(rt, "compare", vec![A::String, A::String], None, |a, _| {
        let (x, y) = (s(&a[0]), s(&a[1]));
        Ok(num(match x.cmp(&y) {
            std::cmp::Ordering::Less => -1.0,
            std::cmp::Ordering::Equal => 0.0,
            std::cmp::Ordering::Greater => 1.0,
        }))
    });
    reg(
        rt,
        "equal_fold",
        vec![A::String, A::String],
        None,
        |a, _| {
            Ok(out(Value::Bool(
                s(&a[0]).to_lowercase() == s(&a[1]).to_lowercase(),
            )))
        },
    );
    reg(
        rt,
        "replace",
        vec![A::String, A::String, A::String, A::Number],
        None,
        |a, _| {
            let n = a[3].as_number().unwrap_or(-1.0);
            let (src, old, new) = (s(&a[0]), s(&a[1]), s(&a[2]));
            let r = if n < 0.0 {
                src.replace(&old, &new)
            } else {
                src.replacen(&old, &new, n as usize)
            };
            Ok(out(Value::String(r)))
        },
    );
    reg(
        rt,
        "replace_all",
        vec![A::String, A::String, A::String],
        None,
        |a, _| Ok(out(Value::String(s(&a[0]).replace(&s(&a[1]), &s(&a[2]))))),
    );
    reg(rt, "to_upper", vec![A::String], None, |a, _| {
        Ok(out(Value::String(s(&a[0]).to_uppercase())))
    });
    reg(rt, "to_lower", vec![A::String], None, |a, _| {
        Ok(out(Value::String(s(&a[0]).to_lowercase())))
    });
    reg(rt, "trim", vec![A::String, A::String], None, |a, _| {
        let cut: Vec<char> = s(&a[1]).chars().collect();
        Ok(out(Value::String(
            s(&a[0]).trim_matches(|c| cut.contains(&c)).to_string(),
        )))
    });
    reg(
        rt,
        "trim_prefix",
        vec![A::String, A::String],
        None,
        |a, _| {
            let (x, p) = (s(&a[0]), s(&a[1]));
            Ok(out(Value::String(
                x.strip_prefix(p.as_str()).unwrap_or(&x).to_string(),
            )))
        },
    );
    reg(rt, "split", vec![A::String, A::String], None, |a, _| {
        let (x, sep) = (s(&a[0]), s(&a[1]));
        let parts: Vec<Value> = if sep.is_empty() {
            x.chars().map(|c| Value::String(c.to_string())).collect()
        } else {
            x.split(sep.as_str())
                .map(|p| Value::String(p.to_string()))
                .collect()
        };
        Ok(out(Value::Array(parts)))
    });
    reg(
        rt,
        "truncate",
        vec![A::String, A::Number],
        None,
        |a, ctx| {
            let n = a[1].as_number().unwrap_or(0.0);
            if n < 0.0 {
                return Err(fail(ctx, "length argument must be non-negative"));
            }
            Ok(out(Value::String(
                s(&a[0]).chars().take(n as usize).collect(),
            )))
        },
    );
    reg(rt, "path_canonicalize", vec![A::String], None, |a, _| {
        Ok(out(Value::String(clean_path(&s(&a[0])))))
    });
    reg(rt, "image_normalize", vec![A::String], None, |a, _| {
        Ok(out(Value::String(normalize_image(&s(&a[0])))))
    });
    reg(rt, "is_external_url", vec![A::String], None, |a, _| {
        let u = s(&a[0]);
        let host = u
            .split("://")
            .nth(1)
            .unwrap_or("")
            .split(['/', ':'])
            .next()
            .unwrap_or("");
        let internal = host.is_empty()
            || host == "localhost"
            || host.ends_with(".svc")
            || host.ends_with(".local")
            || host.ends_with(".cluster.local")
            || host.starts_with("10.")
            || host.starts_with("127.")
            || host.starts_with("192.168.");
        Ok(out(Value::Bool(!internal)))
    });
    reg(rt, "random", vec![A::String], None, |a, ctx| {
        random_from_pattern(&s(&a[0]))
            .map(|r| out(Value::String(r)))
            .map_err(|e| fail(ctx, e))
    });
}

/// Regular expressions, wildcards and label selectors.
fn register_patterns(rt: &mut Runtime) {
    reg(
        rt,
        "regex_replace_all",
        vec![A::String, str_or_num(), str_or_num()],
        None,
        |a, ctx| {
            let re = regex::Regex::new(&s(&a[0])).map_err(|e| fail(ctx, e.to_string()))?;
            let rep = go_template_to_rust(&s(&a[2]));
            Ok(out(Value::String(
                re.replace_all(&s(&a[1]), rep.as_str()).into_owned(),
            )))
        },
    );
    reg(
        rt,
        "regex_replace_all_literal",
        vec![A::String, str_or_num(), str_or_num()],
        None,
        |a, ctx| {
            let re = regex::Regex::new(&s(&a[0])).map_err(|e| fail(ctx, e.to_string()))?;
            Ok(out(Value::String(
                re.replace_all(&s(&a[1]), regex::NoExpand(&s(&a[2])))
                    .into_owned(),
            )))
        },
    );
    reg(
        rt,
        "regex_match",
        vec![A::String, str_or_num()],
        None,
        |a, ctx| {
            let re = regex::Regex::new(&s(&a[0])).map_err(|e| fail(ctx, e.to_string()))?;
            Ok(out(Value::Bool(re.is_match(&s(&a[1])))))
        },
    );
    reg(
        rt,
        "pattern_match",
        vec![A::String, str_or_num()],
        None,
        |a, _| Ok(out(Value::Bool(wildcard_match(&s(&a[0]), &s(&a[1]))))),
    );
    reg(
        rt,
        "label_match",
        vec![A::Object, A::Object],
        None,
        |a, _| {
            let sel = from_var(&a[0]);
            let labels = from_var(&a[1]);
            let ok = sel.as_object().is_some_and(|m| {
                m.iter()
                    .all(|(k, v)| labels.get(k).map(go_sprint) == Some(go_sprint(v)))
            });
            Ok(out(Value::Bool(ok)))
        },
    );
}

/// Arithmetic on numbers, quantities and durations, booleans, semantic versions.
fn register_arithmetic(rt: &mut Runtime) {
    reg(rt, "to_boolean", vec![A::String], None, |a, ctx| {
        match s(&a[0]).to_lowercase().as_str() {
            "true" => Ok(out(Value::Bool(true))),
            "false" => Ok(out(Value::Bool(false))),
            other => Err(fail(
                ctx,
                format!("lowercase argument must be 'true' or 'false' (provided: '{other}')"),
            )),
        }
    });
    reg(rt, "add", vec![A::Any, A::Any], None, |a, ctx| {
        arith(a, ctx, '+')
    });
    reg(rt, "subtract", vec![A::Any, A::Any], None, |a, ctx| {
        arith(a, ctx, '-')
    });
    reg(rt, "multiply", vec![A::Any, A::Any], None, |a, ctx| {
        arith(a, ctx, '*')
    });
    reg(rt, "divide", vec![A::Any, A::Any], None, |a, ctx| {
        arith(a, ctx, '/')
    });
    reg(rt, "modulo", vec![A::Any, A::Any], None, |a, ctx| {
        arith(a, ctx, '%')
    });
    reg(rt, "round", vec![A::Number, A::Number], None, |a, ctx| {
        let x = a[0].as_number().unwrap_or(0.0);
        let d = a[1].as_number().unwrap_or(0.0);
        if d < 0.0 || d.fract() != 0.0 {
            return Err(fail(
                ctx,
                "expected a non-negative integer for the number of digits",
            ));
        }
        let m = 10f64.powi(d as i32);
        Ok(num((x * m).round() / m))
    });
    reg(rt, "sum", vec![A::Array], None, |a, ctx| {
        let items = a[0].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            return Err(fail(ctx, "at least one element in the array is required"));
        }
        let mut acc = items[0].clone();
        for it in &items[1..] {
            acc = arith(&[acc, it.clone()], ctx, '+')?;
        }
        Ok(acc)
    });
    reg(
        rt,
        "semver_compare",
        vec![A::String, A::String],
        None,
        |a, ctx| {
            let v = semver::Version::parse(s(&a[0]).trim_start_matches('v'))
                .map_err(|e| fail(ctx, e.to_string()))?;
            let ok = semver_range_matches(&v, &s(&a[1])).map_err(|e| fail(ctx, e))?;
            Ok(out(Value::Bool(ok)))
        },
    );
}

/// Encodings and parsers: base64, JSON, YAML, hashes, certificates.
fn register_encodings(rt: &mut Runtime) {
    reg(rt, "base64_decode", vec![A::String], None, |a, ctx| {
        let b = base64::engine::general_purpose::STANDARD
            .decode(s(&a[0]).as_bytes())
            .map_err(|e| fail(ctx, e.to_string()))?;
        Ok(out(Value::String(String::from_utf8_lossy(&b).into_owned())))
    });
    reg(rt, "base64_encode", vec![A::String], None, |a, _| {
        Ok(out(Value::String(
            base64::engine::general_purpose::STANDARD.encode(s(&a[0]).as_bytes()),
        )))
    });
    reg(rt, "parse_json", vec![A::String], None, |a, ctx| {
        let v: Value = serde_json::from_str(&s(&a[0])).map_err(|e| fail(ctx, e.to_string()))?;
        Ok(out(v))
    });
    reg(rt, "parse_yaml", vec![A::String], None, |a, ctx| {
        let v = crate::yaml::parse_one(&s(&a[0])).map_err(|e| fail(ctx, e))?;
        Ok(out(v))
    });
    reg(rt, "sha256", vec![A::String], None, |a, _| {
        use sha2::Digest as _;
        Ok(out(Value::String(hex_lower(&sha2::Sha256::digest(
            s(&a[0]).as_bytes(),
        )))))
    });
    reg(rt, "x509_decode", vec![A::String], None, |_, ctx| {
        Err(fail(ctx, "x509_decode is not supported offline"))
    });
}

/// Time: now, parsing, differences, arithmetic, comparisons, cron.
fn register_time(rt: &mut Runtime) {
    reg(rt, "time_now", vec![], None, |_, _| {
        Ok(out(Value::String(rfc3339(
            chrono::Utc::now().fixed_offset(),
        ))))
    });
    reg(rt, "time_now_utc", vec![], None, |_, _| {
        Ok(out(Value::String(rfc3339(
            chrono::Utc::now().fixed_offset(),
        ))))
    });
    reg(rt, "time_utc", vec![A::String], None, |a, ctx| {
        let t = parse_time(&s(&a[0])).map_err(|e| fail(ctx, e))?;
        Ok(out(Value::String(rfc3339(
            t.with_timezone(&chrono::Utc).fixed_offset(),
        ))))
    });
    reg(
        rt,
        "time_parse",
        vec![A::String, A::String],
        None,
        |a, ctx| {
            let t = parse_time_layout(&s(&a[0]), &s(&a[1])).map_err(|e| fail(ctx, e))?;
            Ok(out(Value::String(rfc3339(t))))
        },
    );
    reg(
        rt,
        "time_since",
        vec![A::String, A::String, A::String],
        None,
        |a, ctx| {
            let layout = s(&a[0]);
            let t1 = parse_time_layout(&layout, &s(&a[1])).map_err(|e| fail(ctx, e))?;
            let t2s = s(&a[2]);
            let t2 = if t2s.is_empty() {
                chrono::Utc::now().fixed_offset()
            } else {
                parse_time_layout(&layout, &t2s).map_err(|e| fail(ctx, e))?
            };
            Ok(out(Value::String(go_duration(
                (t2 - t1).num_nanoseconds().unwrap_or(0) as f64 / 1e9,
            ))))
        },
    );
    reg(
        rt,
        "time_diff",
        vec![A::String, A::String],
        None,
        |a, ctx| {
            let t1 = parse_time(&s(&a[0])).map_err(|e| fail(ctx, e))?;
            let t2 = parse_time(&s(&a[1])).map_err(|e| fail(ctx, e))?;
            Ok(out(Value::String(go_duration(
                (t2 - t1).num_nanoseconds().unwrap_or(0) as f64 / 1e9,
            ))))
        },
    );
    reg(
        rt,
        "time_add",
        vec![A::String, A::String],
        None,
        |a, ctx| {
            let t = parse_time(&s(&a[0])).map_err(|e| fail(ctx, e))?;
            let d = parse_duration(&s(&a[1])).ok_or_else(|| fail(ctx, "invalid duration"))?;
            let nt = t + chrono::Duration::nanoseconds((d * 1e9) as i64);
            Ok(out(Value::String(rfc3339(nt))))
        },
    );
    reg(
        rt,
        "time_before",
        vec![A::String, A::String],
        None,
        |a, ctx| {
            let t1 = parse_time(&s(&a[0])).map_err(|e| fail(ctx, e))?;
            let t2 = parse_time(&s(&a[1])).map_err(|e| fail(ctx, e))?;
            Ok(out(Value::Bool(t1 < t2)))
        },
    );
    reg(
        rt,
        "time_after",
        vec![A::String, A::String],
        None,
        |a, ctx| {
            let t1 = parse_time(&s(&a[0])).map_err(|e| fail(ctx, e))?;
            let t2 = parse_time(&s(&a[1])).map_err(|e| fail(ctx, e))?;
            Ok(out(Value::Bool(t1 > t2)))
        },
    );
    reg(
        rt,
        "time_between",
        vec![A::String, A::String, A::String],
        None,
        |a, ctx| {
            let t = parse_time(&s(&a[0])).map_err(|e| fail(ctx, e))?;
            let t1 = parse_time(&s(&a[1])).map_err(|e| fail(ctx, e))?;
            let t2 = parse_time(&s(&a[2])).map_err(|e| fail(ctx, e))?;
            Ok(out(Value::Bool(t > t1 && t < t2)))
        },
    );
    reg(
        rt,
        "time_truncate",
        vec![A::String, A::String],
        None,
        |a, ctx| {
            let t = parse_time(&s(&a[0])).map_err(|e| fail(ctx, e))?;
            let d = parse_duration(&s(&a[1])).ok_or_else(|| fail(ctx, "invalid duration"))?;
            if d <= 0.0 {
                return Ok(out(Value::String(rfc3339(t))));
            }
            let secs = t.timestamp() as f64 + t.timestamp_subsec_nanos() as f64 / 1e9;
            let tr = (secs / d).floor() * d;
            let nt = chrono::DateTime::from_timestamp(tr as i64, ((tr.fract()) * 1e9) as u32)
                .ok_or_else(|| fail(ctx, "time out of range"))?;
            Ok(out(Value::String(rfc3339(nt.with_timezone(t.offset())))))
        },
    );
    reg(rt, "time_to_cron", vec![A::String], None, |a, ctx| {
        use chrono::{Datelike, Timelike};
        let t = parse_time(&s(&a[0])).map_err(|e| fail(ctx, e))?;
        Ok(out(Value::String(format!(
            "{} {} {} {} {}",
            t.minute(),
            t.hour(),
            t.day(),
            t.month(),
            t.weekday().num_days_from_sunday()
        ))))
    });
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Go's `$1`/`${name}` templates are also Rust's, except Go treats `$1x` as `${1x}`.
fn go_template_to_rust(t: &str) -> String {
    t.to_string()
}

fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

fn normalize_image(img: &str) -> String {
    let (name, digest) = match img.split_once('@') {
        Some((n, d)) => (n.to_string(), Some(d.to_string())),
        None => (img.to_string(), None),
    };
    let first = name.split('/').next().unwrap_or("");
    let has_registry =
        name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let mut full = if has_registry {
        name.clone()
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    };
    let last = full.rsplit('/').next().unwrap_or("");
    if !last.contains(':') && digest.is_none() {
        full.push_str(":latest");
    }
    match digest {
        Some(d) => format!("{full}@{d}"),
        None => full,
    }
}

fn random_from_pattern(p: &str) -> Result<String, String> {
    // Supports the common `[a-z0-9]{n}` shapes; anything else is an error, not a guess.
    let re = regex::Regex::new(r"^\[([^\]]+)\]\{(\d+)\}$").map_err(|e| e.to_string())?;
    let c = re
        .captures(p)
        .ok_or_else(|| format!("random: unsupported pattern {p}"))?;
    let class = &c[1];
    let n: usize = c[2].parse().map_err(|_| "bad count".to_string())?;
    let mut chars = Vec::new();
    let cb: Vec<char> = class.chars().collect();
    let mut i = 0;
    while i < cb.len() {
        if i + 2 < cb.len() && cb[i + 1] == '-' {
            for x in cb[i]..=cb[i + 2] {
                chars.push(x);
            }
            i += 3;
        } else {
            chars.push(cb[i]);
            i += 1;
        }
    }
    if chars.is_empty() || n > 4096 {
        return Err("random: empty class".into());
    }
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    let mut x = seed | 1;
    Ok((0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chars[(x % chars.len() as u64) as usize]
        })
        .collect())
}

fn semver_range_matches(v: &semver::Version, range: &str) -> Result<bool, String> {
    // blang/semver ranges: space-separated AND, `||` OR; operators >,>=,<,<=,=,!=
    for alt in range.split("||") {
        let mut all = true;
        for part in alt.split_whitespace() {
            let (op, ver) = if let Some(r) = part.strip_prefix(">=") {
                (">=", r)
            } else if let Some(r) = part.strip_prefix("<=") {
                ("<=", r)
            } else if let Some(r) = part.strip_prefix("!=") {
                ("!=", r)
            } else if let Some(r) = part.strip_prefix('>') {
                (">", r)
            } else if let Some(r) = part.strip_prefix('<') {
                ("<", r)
            } else if let Some(r) = part.strip_prefix("==") {
                ("=", r)
            } else if let Some(r) = part.strip_prefix('=') {
                ("=", r)
            } else {
                ("=", part)
            };
            let rv =
                semver::Version::parse(ver.trim_start_matches('v')).map_err(|e| e.to_string())?;
            let ok = match op {
                ">=" => v >= &rv,
                "<=" => v <= &rv,
                ">" => v > &rv,
                "<" => v < &rv,
                "!=" => v != &rv,
                _ => v == &rv,
            };
            if !ok {
                all = false;
            }
        }
        if all {
            return Ok(true);
        }
    }
    Ok(false)
}

fn rfc3339(t: chrono::DateTime<chrono::FixedOffset>) -> String {
    if t.offset().local_minus_utc() == 0 {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }
}

fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::FixedOffset>, String> {
    chrono::DateTime::parse_from_rfc3339(s).map_err(|e| format!("failed to parse time {s:?}: {e}"))
}

/// Go layouts (reference time `2006-01-02T15:04:05Z07:00`) translated to strftime.
fn parse_time_layout(
    layout: &str,
    value: &str,
) -> Result<chrono::DateTime<chrono::FixedOffset>, String> {
    if layout.is_empty() || layout == "2006-01-02T15:04:05Z07:00" {
        return parse_time(value);
    }
    let mut f = layout.to_string();
    for (go, c) in [
        ("2006", "%Y"),
        ("Z07:00", "%:z"),
        ("-07:00", "%:z"),
        ("-0700", "%z"),
        ("01", "%m"),
        ("02", "%d"),
        ("15", "%H"),
        ("04", "%M"),
        ("05", "%S"),
        ("Jan", "%b"),
        ("Mon", "%a"),
        ("MST", "%Z"),
    ] {
        f = f.replace(go, c);
    }
    if let Ok(t) = chrono::DateTime::parse_from_str(value, &f) {
        return Ok(t);
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(value, &f) {
        return Ok(t.and_utc().fixed_offset());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(value, &f) {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .fixed_offset());
    }
    Err(format!(
        "failed to parse time {value:?} with layout {layout:?}"
    ))
}

/// Go's `time.Duration.String()`.
pub fn go_duration(secs: f64) -> String {
    if secs == 0.0 {
        return "0s".into();
    }
    let neg = secs < 0.0;
    let total_ns = (secs.abs() * 1e9).round() as u128;
    let sign = if neg { "-" } else { "" };
    if total_ns < 1_000_000_000 {
        return if total_ns < 1_000 {
            format!("{sign}{total_ns}ns")
        } else if total_ns < 1_000_000 {
            format!("{sign}{}µs", trim_float(total_ns as f64 / 1e3))
        } else {
            format!("{sign}{}ms", trim_float(total_ns as f64 / 1e6))
        };
    }
    let h = total_ns / 3_600_000_000_000;
    let m = (total_ns / 60_000_000_000) % 60;
    let s = (total_ns % 60_000_000_000) as f64 / 1e9;
    let mut out = String::from(sign);
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{}s", trim_float(s)));
    out
}

fn trim_float(f: f64) -> String {
    let s = format!("{f:.9}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Num,
    Qty,
    Dur,
}

fn classify(v: &Variable) -> Option<(Kind, f64)> {
    match v {
        Variable::Number(n) => n.as_f64().map(|f| (Kind::Num, f)),
        Variable::String(st) => {
            if let Some(d) = parse_duration(st) {
                if st != "0" {
                    return Some((Kind::Dur, d));
                }
            }
            parse_quantity(st).map(|q| (Kind::Qty, q.as_f64()))
        }
        _ => None,
    }
}

fn format_qty(f: f64) -> String {
    // Prefer binary suffixes when exact, then decimal ones, as Kubernetes canonicalises.
    if f != 0.0 && f.fract() == 0.0 {
        for (suf, m) in [
            ("Ei", 1024f64.powi(6)),
            ("Pi", 1024f64.powi(5)),
            ("Ti", 1024f64.powi(4)),
            ("Gi", 1024f64.powi(3)),
            ("Mi", 1024f64.powi(2)),
            ("Ki", 1024.0),
        ] {
            if (f / m).fract() == 0.0 && f.abs() >= m {
                return format!("{}{suf}", format_float(f / m));
            }
        }
        for (suf, m) in [
            ("E", 1e18),
            ("P", 1e15),
            ("T", 1e12),
            ("G", 1e9),
            ("M", 1e6),
            ("k", 1e3),
        ] {
            if (f / m).fract() == 0.0 && f.abs() >= m {
                return format!("{}{suf}", format_float(f / m));
            }
        }
        return format_float(f);
    }
    if (f * 1000.0).fract().abs() < 1e-9 {
        return format!("{}m", format_float((f * 1000.0).round()));
    }
    format_float(f)
}

fn arith(a: &[Rcvar], ctx: &mut Context<'_>, op: char) -> Result<Rcvar, JmespathError> {
    let (ka, x) = classify(&a[0]).ok_or_else(|| {
        fail(
            ctx,
            "invalid operand: expected number, quantity or duration",
        )
    })?;
    let (kb, y) = classify(&a[1]).ok_or_else(|| {
        fail(
            ctx,
            "invalid operand: expected number, quantity or duration",
        )
    })?;
    let zero_div = |ctx: &Context<'_>| fail(ctx, "Zero divisor passed");
    let r = |k: Kind, v: f64| -> Rcvar {
        match k {
            Kind::Num => num(v),
            Kind::Qty => out(Value::String(format_qty(v))),
            Kind::Dur => out(Value::String(go_duration(v))),
        }
    };
    match op {
        '+' | '-' => {
            let res = if op == '+' { x + y } else { x - y };
            match (ka, kb) {
                (Kind::Num, Kind::Num) => Ok(num(res)),
                (Kind::Qty, Kind::Qty) => Ok(r(Kind::Qty, res)),
                (Kind::Dur, Kind::Dur) => Ok(r(Kind::Dur, res)),
                (Kind::Qty, Kind::Num) | (Kind::Num, Kind::Qty) => Ok(r(Kind::Qty, res)),
                (Kind::Dur, Kind::Num) | (Kind::Num, Kind::Dur) => Ok(r(Kind::Dur, res)),
                _ => Err(fail(ctx, "incompatible operand types")),
            }
        }
        '*' => match (ka, kb) {
            (Kind::Num, Kind::Num) => Ok(num(x * y)),
            (Kind::Qty, Kind::Num) | (Kind::Num, Kind::Qty) => Ok(r(Kind::Qty, x * y)),
            (Kind::Dur, Kind::Num) | (Kind::Num, Kind::Dur) => Ok(r(Kind::Dur, x * y)),
            _ => Err(fail(ctx, "incompatible operand types")),
        },
        '/' => {
            if y == 0.0 {
                return Err(zero_div(ctx));
            }
            match (ka, kb) {
                (Kind::Num, Kind::Num) | (Kind::Qty, Kind::Qty) | (Kind::Dur, Kind::Dur) => {
                    Ok(num(x / y))
                }
                (Kind::Qty, Kind::Num) => Ok(r(Kind::Qty, x / y)),
                (Kind::Dur, Kind::Num) => Ok(r(Kind::Dur, x / y)),
                _ => Err(fail(ctx, "incompatible operand types")),
            }
        }
        _ => {
            if y == 0.0 {
                return Err(zero_div(ctx));
            }
            if (x.fract() != 0.0 || y.fract() != 0.0) && ka == Kind::Num {
                return Err(fail(ctx, "modulo expects integers"));
            }
            let m = x % y;
            match (ka, kb) {
                (Kind::Num, Kind::Num) => Ok(num(m)),
                (Kind::Qty, Kind::Qty) => Ok(r(Kind::Qty, m)),
                (Kind::Dur, Kind::Dur) => Ok(r(Kind::Dur, m)),
                _ => Err(fail(ctx, "incompatible operand types")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(e: &str, d: Value) -> Value {
        search(e, &d).unwrap()
    }

    #[test]
    fn standard_and_custom() {
        let d = json!({"a": {"b": "Hello"}, "list": [1, 2, 3], "img": "nginx:1.2"});
        assert_eq!(q("a.b", d.clone()), json!("Hello"));
        assert_eq!(q("to_upper(a.b)", d.clone()), json!("HELLO"));
        assert_eq!(q("length(list)", d.clone()), json!(3));
        assert_eq!(q("split(img, ':')", d.clone()), json!(["nginx", "1.2"]));
        assert_eq!(q("regex_match('^nginx', img)", d.clone()), json!(true));
        assert_eq!(q("pattern_match('nginx:*', img)", d.clone()), json!(true));
        assert_eq!(q("add(`1`, `2`)", d.clone()), json!(3));
        assert_eq!(q("add('1Gi', '1Gi')", d.clone()), json!("2Gi"));
        assert_eq!(q("divide('2Gi', '1Gi')", d.clone()), json!(2));
        assert_eq!(q("add('1h', '30m')", d.clone()), json!("1h30m0s"));
        assert_eq!(
            q("base64_decode(base64_encode('x'))", d.clone()),
            json!("x")
        );
        assert_eq!(q("truncate('abcdef', `3`)", d.clone()), json!("abc"));
        assert_eq!(
            q("semver_compare('1.2.3', '>1.0.0')", d.clone()),
            json!(true)
        );
        assert_eq!(q("parse_json('{\"a\":1}').a", d.clone()), json!(1));
        assert_eq!(
            q("items(a, 'k', 'v')", d.clone()),
            json!([{"k": "b", "v": "Hello"}])
        );
        assert_eq!(
            q(
                "time_diff('2024-01-01T00:00:00Z', '2024-01-01T01:00:00Z')",
                d.clone()
            ),
            json!("1h0m0s")
        );
        assert_eq!(
            q(
                "time_before('2024-01-01T00:00:00Z', '2024-01-01T01:00:00Z')",
                d.clone()
            ),
            json!(true)
        );
        assert_eq!(
            q("path_canonicalize('/a/../b//c')", d.clone()),
            json!("/b/c")
        );
        assert_eq!(
            q("label_match({app: 'x'}, {app: 'x', b: 'y'})", d.clone()),
            json!(true)
        );
        assert_eq!(q("to_boolean('True')", d.clone()), json!(true));
        assert!(search("divide(`1`, `0`)", &d).is_err());
        assert!(search("a.[", &d).is_err());
    }
}
