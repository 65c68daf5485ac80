//! CEL evaluation over JSON values with the Kubernetes CEL libraries, for Kyverno
//! `validate.cel` rules and `ValidatingPolicy`.
//!
//! The language itself (parser, macros `has`/`all`/`exists`/`exists_one`/`map`/
//! `filter`, optionals, strings/lists/math/base64 extensions, durations and
//! timestamps) comes from the `cel` crate; this crate adds what Kubernetes'
//! environment has on top ([`k8s`]: quantity, ip/cidr, url, regex find, list
//! helpers, jsonpatch), converts JSON to and from CEL values, and lets a host
//! bind its own functions (Kyverno's `resource.Get`, `image.GetMetadata`, ...)
//! per evaluation.
//!
//! ```
//! use homelab_cel::{compile, Activation};
//! let p = compile("object.spec.replicas > 1").unwrap();
//! let mut act = Activation::new();
//! act.bind_json("object", &serde_json::json!({"spec": {"replicas": 3}}));
//! assert_eq!(p.eval_json(&act).unwrap(), serde_json::json!(true));
//! ```

pub mod budget;
mod convert;
pub mod k8s;
pub mod lexical;
mod shared;
mod structs;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use cel::common::value::{CowVal, Val};
use cel::{Context, Env, ExecutionError, FunctionContext};

pub use cel::Value;
pub use convert::{cel_to_json, display, format_duration, json_to_cel};
pub use shared::SharedValue;

/// Why a CEL expression could not be compiled or evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CelError {
    #[error("compilation failed: {0}")]
    Compile(String),
    #[error("evaluation failed: {0}")]
    Eval(String),
}

/// The shared environment: standard library, extensions, Kubernetes libraries.
fn env() -> &'static Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        // Kubernetes (cel-go) keeps the last value of a repeated map key.
        env.set_error_on_duplicate_map_keys(false);
        let add = |r: Result<(), cel::DeclarationError>| {
            if let Err(e) = r {
                // Only reachable through a programming error in this crate's
                // declarations; a missing function then reports itself at run time.
                debug_assert!(false, "CEL declaration failed: {e}");
            }
        };
        add(env.add_extension(cel::extensions::strings));
        add(env.add_extension(cel::extensions::lists));
        add(env.add_extension(cel::extensions::math));
        add(env.add_extension(cel::extensions::encoders));
        add(k8s::register(&mut env));
        add(budget::register(&mut env));
        Arc::new(env)
    })
}

/// A compiled CEL expression.
#[derive(Debug)]
pub struct Program {
    source: String,
    expr: cel::IdedExpr,
    /// An evaluation ran out of its cost budget: the expression is not run again (a
    /// hostile expression costs one budget, not one per object).
    over_budget: std::sync::atomic::AtomicBool,
}

/// Compiles `source` once; evaluate it many times with [`Program::eval`].
///
/// Expressions longer than [`MAX_SOURCE_LEN`] or nested deeper than
/// [`MAX_NESTING`] are refused up front: the parser recurses on nesting, and a
/// policy file must not be able to overflow the stack.
pub fn compile(source: &str) -> Result<Program, CelError> {
    if source.len() > MAX_SOURCE_LEN {
        return Err(CelError::Compile(format!(
            "expression is {} bytes long, more than the {MAX_SOURCE_LEN} allowed",
            source.len()
        )));
    }
    let (depth, operators) = shape(source);
    if depth > MAX_NESTING {
        return Err(CelError::Compile(format!(
            "expression nests deeper than {MAX_NESTING} levels"
        )));
    }
    if operators > MAX_OPERATORS {
        return Err(CelError::Compile(format!(
            "expression has more than {MAX_OPERATORS} operators, selections and calls"
        )));
    }
    let parsed = std::panic::catch_unwind(|| env().parser().parse(source))
        .map_err(|_| CelError::Compile("the CEL parser failed on this expression".into()))?;
    let mut expr = parsed.map_err(|e| CelError::Compile(e.to_string().trim().to_string()))?;
    structs::lower_struct_literals(&mut expr);
    let estimate = budget::estimate(&expr);
    if estimate > budget::ESTIMATED_COST_LIMIT {
        return Err(CelError::Compile(budget::estimated_exceeded_message(
            estimate,
        )));
    }
    budget::instrument(&mut expr);
    Ok(Program {
        source: source.to_string(),
        expr,
        over_budget: std::sync::atomic::AtomicBool::new(false),
    })
}

/// Longest accepted expression, in bytes (Kubernetes caps CEL at 5 MiB per object;
/// policy expressions are far shorter).
pub const MAX_SOURCE_LEN: usize = 256 * 1024;
/// Deepest accepted bracket nesting (cel-go's parser refuses beyond 250 levels of
/// recursion; this stays well inside the stack of a default thread).
pub const MAX_NESTING: usize = 96;

/// Most operator characters (`.`, `[`, `(`, arithmetic, comparison and logical
/// operators) an expression may hold. Chains such as `a.b.c...` or `1+1+...` give
/// the parser and the interpreter one level of recursion per link; 500 stays well
/// inside a 2 MiB thread stack (measured: 1,000 links pass, 2,000 overflow), and
/// real policy expressions use under 100.
pub const MAX_OPERATORS: usize = 500;

/// (deepest nesting of `(`, `[`, `{` and prefix operators, number of operator
/// characters), both outside string literals.
fn shape(source: &str) -> (usize, usize) {
    let mut operators = 0usize;
    let (mut depth, mut max, mut unary_run) = (0usize, 0usize, 0usize);
    for (_, c) in lexical::code_chars(source) {
        if ".[(+-*/%<>=!&|?".contains(c) {
            operators += 1;
        }
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        unary_run = if c == '!' || c == '-' {
            unary_run + 1
        } else if c.is_whitespace() {
            unary_run
        } else {
            0
        };
        max = max.max(depth + unary_run);
    }
    (max, operators)
}

/// Like [`compile`], memoised: policies are evaluated against many resources, so each
/// distinct expression is parsed once per process. The cache is bounded (cleared
/// when full) so that no input grows memory without limit.
pub fn compile_cached(source: &str) -> Result<Arc<Program>, CelError> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    type Cache = Mutex<HashMap<String, Result<Arc<Program>, CelError>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    const MAX_ENTRIES: usize = 4096;
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Ok(map) = cache.lock() {
        if let Some(hit) = map.get(source) {
            return hit.clone();
        }
    }
    let compiled = compile(source).map(Arc::new);
    if let Ok(mut map) = cache.lock() {
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(source.to_string(), compiled.clone());
    }
    compiled
}

/// A CEL map value with string keys.
pub fn string_map(entries: impl IntoIterator<Item = (String, Value)>) -> Value {
    let map = entries
        .into_iter()
        .map(|(k, v)| (cel::objects::Key::String(Arc::new(k)), v))
        .collect();
    Value::Map(cel::objects::Map { map: Arc::new(map) })
}

/// A CEL optional value (`optional.of(v)`, or `optional.none()` for `None`).
pub fn optional(v: Option<Value>) -> Value {
    let o = match v {
        Some(v) => cel::objects::OptionalValue::of(v),
        None => cel::objects::OptionalValue::none(),
    };
    Value::Opaque(Arc::new(o))
}

/// The entry `key` of a CEL map value (None for other values or a missing key).
pub fn map_get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Map(m) => m.get(&cel::objects::Key::String(Arc::new(key.to_string()))),
        _ => None,
    }
}

/// A function the host binds for one evaluation: receives the call's target (for
/// `x.f(..)`) and arguments, returns a value or an error message.
pub type HostFunction =
    Arc<dyn Fn(Option<&Value>, &[Value]) -> Result<Value, String> + Send + Sync>;

/// The variables (and host functions) an expression is evaluated with.
///
/// Values are converted to the interpreter's representation once, when bound,
/// so that evaluating several expressions against one resource does not copy
/// the resource each time.
pub struct Activation {
    ctx: Context<'static, 'static>,
    vars: BTreeMap<String, Value>,
    functions: Vec<String>,
    /// The shared host functions this activation calls (see [`Activation::with_library`]).
    library: Option<&'static FunctionLibrary>,
    /// A binding that could not be made, reported by every evaluation.
    bind_error: Option<String>,
}

impl Default for Activation {
    fn default() -> Self {
        Activation {
            ctx: Context::with_env(Arc::clone(env())),
            vars: BTreeMap::new(),
            functions: Vec::new(),
            library: None,
            bind_error: None,
        }
    }
}

/// Something host functions can be bound to: an [`Activation`] (for one evaluation)
/// or a [`FunctionLibrary`] (once, for many).
pub trait BindFunction {
    /// Binds a host function, callable as `name(..)`, as `x.name(..)`, or — for a
    /// dotted name such as `resource.Get` — as that qualified call.
    fn bind_function(&mut self, name: &str, f: HostFunction);
}

/// Host functions registered once and shared by any number of activations
/// ([`Activation::with_library`]). Registering a function allocates, and a host
/// that binds the same set of functions for every evaluation of many resources
/// spends much of its time doing that: it builds a library once instead.
pub struct FunctionLibrary {
    ctx: Context<'static, 'static>,
    functions: Vec<String>,
    bind_error: Option<String>,
}

impl Default for FunctionLibrary {
    fn default() -> Self {
        FunctionLibrary {
            ctx: Context::with_env(Arc::clone(env())),
            functions: Vec::new(),
            bind_error: None,
        }
    }
}

impl FunctionLibrary {
    pub fn new() -> Self {
        Self::default()
    }
}

impl BindFunction for FunctionLibrary {
    fn bind_function(&mut self, name: &str, f: HostFunction) {
        if let Err(e) = self
            .ctx
            .add_function(name, host_adapter(name.to_string(), f))
        {
            self.bind_error = Some(e.to_string());
        }
        self.functions.push(name.to_string());
    }
}

impl std::fmt::Debug for FunctionLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionLibrary")
            .field("functions", &self.functions)
            .finish()
    }
}

impl std::fmt::Debug for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Activation")
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .field("functions", &self.functions)
            .field("library", &self.library.map(|l| &l.functions))
            .finish()
    }
}

impl Activation {
    pub fn new() -> Self {
        Self::default()
    }

    /// An activation whose host functions are those of `library` (no copy: the
    /// library is the parent scope of the activation's variables). Functions cannot be
    /// added to it: [`Activation::bind_function`] makes every evaluation fail.
    pub fn with_library(library: &'static FunctionLibrary) -> Self {
        Activation {
            ctx: library.ctx.new_inner_scope(),
            vars: BTreeMap::new(),
            functions: Vec::new(),
            library: Some(library),
            bind_error: library.bind_error.clone(),
        }
    }

    /// Binds `name` to a JSON value.
    pub fn bind_json(&mut self, name: &str, value: &serde_json::Value) {
        self.bind(name, json_to_cel(value));
    }

    /// Binds `name` to a CEL value.
    pub fn bind(&mut self, name: &str, value: Value) {
        match Box::<dyn Val>::try_from(value.clone()) {
            Ok(boxed) => self.ctx.add_variable_as_val(name.to_string(), boxed),
            Err(e) => self.bind_error = Some(format!("cannot bind {name}: {e}")),
        }
        self.vars.insert(name.to_string(), value);
    }

    /// Binds `name` to a value converted once for many activations (no copy).
    pub fn bind_shared(&mut self, name: &str, value: &SharedValue) {
        match &value.val {
            Ok(val) => self.ctx.add_variable_as_val(
                name.to_string(),
                Box::new(shared::SharedVal(Arc::clone(val))),
            ),
            Err(e) => self.bind_error = Some(format!("cannot bind {name}: {e}")),
        }
        self.vars.insert(name.to_string(), value.value.clone());
    }

    /// The value bound to `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }

    /// Binds a host function, callable as `name(..)`, as `x.name(..)`, or — for a
    /// dotted name such as `resource.Get` — as that qualified call.
    pub fn bind_function(&mut self, name: &str, f: HostFunction) {
        if self.library.is_some() {
            // The interpreter registers functions in the root scope only, which a
            // library's activation shares: refuse rather than drop the function.
            self.bind_error = Some(format!(
                "cannot bind function {name}: the activation uses a shared function library"
            ));
        } else if let Err(e) = self
            .ctx
            .add_function(name, host_adapter(name.to_string(), f))
        {
            self.bind_error = Some(e.to_string());
        }
        self.functions.push(name.to_string());
    }
}

impl BindFunction for Activation {
    fn bind_function(&mut self, name: &str, f: HostFunction) {
        Activation::bind_function(self, name, f);
    }
}

type BoxedFn = Box<
    dyn for<'c, 'k> Fn(&mut FunctionContext<'c, 'k>) -> Result<CowVal<'c, 'k>, ExecutionError>
        + Send
        + Sync,
>;

fn host_adapter(name: String, f: HostFunction) -> BoxedFn {
    Box::new(move |ftx: &mut FunctionContext<'_, '_>| {
        let this = match &ftx.this {
            Some(t) => Some(Value::try_from(t.as_ref())?),
            None => None,
        };
        let args = ftx
            .args
            .iter()
            .map(|a| Value::try_from(a.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let out = f(this.as_ref(), &args).map_err(|m| ExecutionError::function_error(&name, m))?;
        let boxed: Box<dyn Val> = out.try_into()?;
        Ok(CowVal::Owned(boxed))
    })
}

impl Program {
    /// The source text it was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates with `act`'s variables and functions.
    pub fn eval(&self, act: &Activation) -> Result<Value, CelError> {
        if let Some(e) = &act.bind_error {
            return Err(CelError::Eval(e.clone()));
        }
        use std::sync::atomic::Ordering;
        if self.over_budget.load(Ordering::Relaxed) {
            return Err(CelError::Eval(budget::runtime_exceeded_message()));
        }
        // The interpreter is third-party code: a panic in it must not take the
        // whole run down, so it becomes this expression's error.
        let (result, exceeded) = budget::with_runtime_limit(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Value::resolve(&self.expr, &act.ctx)
            }))
        });
        if exceeded {
            self.over_budget.store(true, Ordering::Relaxed);
            return Err(CelError::Eval(budget::runtime_exceeded_message()));
        }
        result
            .map_err(|_| CelError::Eval("the CEL interpreter failed on this expression".into()))?
            .map_err(|e| CelError::Eval(e.to_string()))
    }

    /// Evaluates and converts the result to JSON.
    pub fn eval_json(&self, act: &Activation) -> Result<serde_json::Value, CelError> {
        self.eval(act).map(|v| cel_to_json(&v))
    }

    /// Evaluates an expression that must yield a bool.
    pub fn eval_bool(&self, act: &Activation) -> Result<bool, CelError> {
        match self.eval(act)? {
            Value::Bool(b) => Ok(b),
            other => Err(CelError::Eval(format!(
                "expression must evaluate to a bool, got {}",
                other.type_of()
            ))),
        }
    }

    /// Evaluates an expression that must yield a string (messageExpression).
    pub fn eval_string(&self, act: &Activation) -> Result<String, CelError> {
        match self.eval(act)? {
            Value::String(s) => Ok(s.to_string()),
            other => Err(CelError::Eval(format!(
                "expression must evaluate to a string, got {}",
                other.type_of()
            ))),
        }
    }
}

#[cfg(test)]
mod tests;
