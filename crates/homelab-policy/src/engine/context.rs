//! The JMESPath variable context of a Kyverno rule: the admission `request` built from the
//! resource, the service account of the user, the images of the resource, values injected
//! by a Values file, the rule's `context` entries; and whether a PolicyException applies.

use crate::conditions;
use crate::context::EvalContext;
use crate::jmes;
use crate::matching::{self, Subject};
use crate::variables::{Mode, Vars};
use jmespath::{Rcvar, Variable};
use serde_json::{Map, Value};
use std::cell::OnceCell;
use std::collections::BTreeMap;

/// One resource under evaluation, with its base variable context built at most once and
/// shared by every policy and rule that reads variables.
pub struct Scope<'a> {
    resource: &'a Value,
    ctx: &'a EvalContext,
    subject: Subject<'a>,
    vars: OnceCell<Vars>,
    cel: OnceCell<crate::cel_kinds::eval::Bindings>,
}

impl<'a> Scope<'a> {
    pub fn new(resource: &'a Value, ctx: &'a EvalContext) -> Self {
        Scope {
            resource,
            ctx,
            subject: Subject::new(resource, ctx),
            vars: OnceCell::new(),
            cel: OnceCell::new(),
        }
    }

    pub fn resource(&self) -> &'a Value {
        self.resource
    }

    /// The resource as match blocks see it.
    pub fn subject(&self) -> &Subject<'a> {
        &self.subject
    }

    /// What `validate.cel` rules bind, converted to CEL values once for all of them.
    pub fn cel_rule_bindings(&self) -> &crate::cel_kinds::eval::Bindings {
        self.cel
            .get_or_init(|| crate::cel_kinds::rule_bindings(self.resource, self.ctx))
    }

    /// The base context (a cheap copy: the converted data is shared).
    pub fn base_vars(&self) -> Vars {
        self.vars
            .get_or_init(|| base_vars(self.resource, self.ctx))
            .clone()
    }
}

/// Base JMESPath context for a resource.
pub fn base_vars(resource: &Value, ctx: &EvalContext) -> Vars {
    let deleting = ctx.operation.eq_ignore_ascii_case("DELETE");
    // The resource is converted once, straight from the document, even where the
    // request names it twice.
    let converted = jmes::to_var(resource);
    let null = || Rcvar::new(Variable::Null);
    let old_object = match &ctx.old_object {
        Some(o) => jmes::to_var(o),
        None if deleting || ctx.updates_itself() => converted.clone(),
        None => null(),
    };
    let object = if deleting { null() } else { converted };
    let mut request = jmes::to_var_map(&ctx.request_head(resource));
    request.insert("object".into(), object);
    request.insert("oldObject".into(), old_object);
    let mut data = BTreeMap::new();
    data.insert("request".to_string(), Rcvar::new(Variable::Object(request)));
    let text = |s: &str| Rcvar::new(Variable::String(s.to_string()));
    let username = ctx.user_info.username.as_str();
    if let Some(sa) = username.strip_prefix("system:serviceaccount:") {
        if let Some((ns, name)) = sa.split_once(':') {
            data.insert("serviceAccountName".into(), text(name));
            data.insert("serviceAccountNamespace".into(), text(ns));
        }
    } else {
        data.insert("serviceAccountName".into(), text(""));
        data.insert("serviceAccountNamespace".into(), text(""));
    }
    data.insert(
        "images".into(),
        jmes::to_var(&crate::images::images_of(resource)),
    );
    let mut vars = Vars::from_data(Rcvar::new(Variable::Object(data)));
    vars.delete = deleting;
    for (k, v) in &ctx.values {
        vars.set(k, v.clone());
    }
    vars
}

/// Whether the PolicyException `exc` exempts rule `rule_name` of policy `policy_name`
/// (`name` or `namespace/name`) for the subject.
pub fn exception_applies(
    exc: &Value,
    policy_name: &str,
    rule_name: &str,
    subj: &Subject<'_>,
    vars: &Vars,
) -> bool {
    let Some(Value::Array(list)) = exc.pointer("/spec/exceptions") else {
        return false;
    };
    let names_ok = list.iter().any(|e| {
        let pn = e.get("policyName").and_then(Value::as_str).unwrap_or("");
        let pol_ok = pn == policy_name
            || pn.rsplit('/').next() == Some(policy_name.rsplit('/').next().unwrap_or(""));
        pol_ok
            && match e.get("ruleNames") {
                Some(Value::Array(rn)) => rn.iter().filter_map(Value::as_str).any(|n| {
                    crate::scalars::wildcard_match(n, rule_name)
                        || crate::scalars::wildcard_match(n, super::strip_autogen(rule_name))
                }),
                _ => false,
            }
    });
    if !names_ok {
        return false;
    }
    if let Some(m) = exc.pointer("/spec/match") {
        if !matching::matches(m, subj) {
            return false;
        }
    }
    if let Some(c) = exc.pointer("/spec/conditions") {
        if !conditions::evaluate(c, vars, Mode::Lenient).unwrap_or(false) {
            return false;
        }
    }
    true
}

/// `namespace/name` of an exception, as Kyverno names it in messages.
pub fn exception_key(exc: &Value) -> String {
    let name = exc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    match exc.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_string(),
    }
}

/// Load `context` entries into `vars` (values from the Values file win, like the CLI).
pub fn load_context(
    entries: Option<&Value>,
    vars: &mut Vars,
    provided: &Map<String, Value>,
    ctx: &EvalContext,
) -> Result<(), String> {
    let Some(Value::Array(entries)) = entries else {
        return Ok(());
    };
    for e in entries {
        let name = e.get("name").and_then(Value::as_str).unwrap_or("");
        if name.is_empty() {
            continue;
        }
        if provided.contains_key(name)
            || provided.keys().any(|k| k.starts_with(&format!("{name}.")))
        {
            continue;
        }
        if let Some(var) = e.get("variable") {
            load_variable(name, var, vars)?;
        } else if let Some(loaded) = crate::context_mocks::load(e, vars, ctx) {
            // apiCall / configMap / globalReference answered from the test's mocks
            vars.set(name, loaded?);
        } else {
            // apiCall / configMap / imageRegistry / globalReference: offline the values must
            // come from a Values file; a declared default is used otherwise.
            let default = ["apiCall", "configMap", "imageRegistry", "globalReference"]
                .iter()
                .find_map(|k| e.get(*k).and_then(|x| x.get("default")))
                .cloned();
            if let Some(d) = default {
                let d = vars
                    .substitute(&d, Mode::Strict)
                    .map_err(|e| e.to_string())?;
                vars.set(name, d);
            }
        }
    }
    Ok(())
}

/// A `variable` context entry: `value` (optionally queried with `jmesPath`), or `jmesPath`
/// over the whole context, or `default`.
fn load_variable(name: &str, var: &Value, vars: &mut Vars) -> Result<(), String> {
    let default = match var.get("default") {
        Some(d) => Some(
            vars.substitute(d, Mode::Strict)
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let path = match var.get("jmesPath").and_then(Value::as_str) {
        Some(p) if !p.is_empty() => match vars.substitute_str(p, Mode::Strict) {
            Ok(Value::String(s)) => Some(s),
            Ok(other) => Some(other.to_string()),
            Err(e) => {
                return Err(format!(
                    "failed to substitute variables in context entry {name}: {e}"
                ))
            }
        },
        _ => None,
    };
    let mut output = default.clone();
    if let Some(v) = var.get("value") {
        let val = vars
            .substitute(v, Mode::Strict)
            .map_err(|e| format!("failed to substitute variables in context entry {name}: {e}"))?;
        match &path {
            Some(p) => match crate::jmes::search(p, &val) {
                Ok(r) => output = Some(r),
                Err(e) if default.is_none() => {
                    return Err(format!("failed to apply jmespath {p}: {e}"))
                }
                Err(_) => {}
            },
            None => output = Some(val),
        }
    } else if let Some(p) = &path {
        match vars.search_raw(p) {
            Ok(r) if !r.is_null() => output = Some(r),
            Ok(_) => {}
            Err(e) if default.is_none() => {
                return Err(format!("failed to apply jmespath {p}: {e}"))
            }
            Err(_) => {}
        }
    }
    match output {
        Some(Value::Null) | None => Err(format!(
            "unable to add context entry for variable {name} since it evaluated to nil"
        )),
        // a variable entry replaces an earlier entry of the same name
        Some(v) => {
            vars.set(name, Value::Null);
            vars.set(name, v);
            Ok(())
        }
    }
}
