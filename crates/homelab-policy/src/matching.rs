//! Which resources a rule (or PolicyException) applies to: Kyverno's `match`/`exclude`
//! with `any`/`all` resource filters and the legacy single-filter form.

use crate::context::EvalContext;
use crate::scalars::wildcard_match;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The resource being admitted plus what the request says about it.
pub struct Subject<'a> {
    pub resource: &'a Value,
    pub ctx: &'a EvalContext,
}

impl Subject<'_> {
    // Field by field rather than with JSON pointers: a pointer allocates for each of
    // its parts, and every rule of every policy asks these of every resource.
    fn top_str(&self, key: &str) -> &str {
        self.resource.get(key).and_then(Value::as_str).unwrap_or("")
    }
    fn metadata(&self, key: &str) -> Option<&Value> {
        self.resource.get("metadata")?.get(key)
    }
    fn metadata_str(&self, key: &str) -> &str {
        self.metadata(key).and_then(Value::as_str).unwrap_or("")
    }
    fn kind(&self) -> &str {
        self.top_str("kind")
    }
    fn name(&self) -> &str {
        self.metadata_str("name")
    }
    fn namespace(&self) -> &str {
        self.metadata_str("namespace")
    }
    fn group_version(&self) -> (&str, &str) {
        let api = self.top_str("apiVersion");
        match api.rsplit_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api),
        }
    }
    fn labels(&self) -> Option<&Map<String, Value>> {
        self.metadata("labels").and_then(Value::as_object)
    }
}

/// Does a `match` block select the subject?
pub fn matches(block: &Value, s: &Subject<'_>) -> bool {
    let Some(m) = block.as_object() else {
        return false;
    };
    if let Some(Value::Array(any)) = m.get("any") {
        if !any.is_empty() {
            return any.iter().any(|f| filter_matches(f, s));
        }
    }
    if let Some(Value::Array(all)) = m.get("all") {
        if !all.is_empty() {
            return all.iter().all(|f| filter_matches(f, s));
        }
    }
    if filter_is_empty(block) {
        return false;
    }
    filter_matches(block, s)
}

/// Does an `exclude` block exclude the subject?
pub fn excluded(block: &Value, s: &Subject<'_>) -> bool {
    let Some(m) = block.as_object() else {
        return false;
    };
    if let Some(Value::Array(any)) = m.get("any") {
        if !any.is_empty() {
            return any.iter().any(|f| filter_matches(f, s));
        }
    }
    if let Some(Value::Array(all)) = m.get("all") {
        if !all.is_empty() {
            return all.iter().all(|f| filter_matches(f, s));
        }
    }
    if filter_is_empty(block) {
        return false;
    }
    filter_matches(block, s)
}

fn filter_is_empty(f: &Value) -> bool {
    let res_empty = match f.get("resources") {
        Some(Value::Object(r)) => r.values().all(is_empty_value),
        _ => true,
    };
    let ui_empty = ["subjects", "roles", "clusterRoles"]
        .iter()
        .all(|k| f.get(k).is_none_or(is_empty_value));
    res_empty && ui_empty
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// The strings of a list field (or of a single non-empty string), borrowed.
fn strings(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) if !s.is_empty() => vec![s.as_str()],
        _ => Vec::new(),
    }
}

/// One resource filter (`resources` + user info) against the subject.
pub fn filter_matches(f: &Value, s: &Subject<'_>) -> bool {
    if let Some(r) = f.get("resources").filter(|r| r.is_object()) {
        if !description_matches(r, s) {
            return false;
        }
    }
    user_info_matches(f, s)
}

fn user_info_matches(f: &Value, s: &Subject<'_>) -> bool {
    let ui = &s.ctx.user_info;
    let roles = strings(f.get("roles"));
    if !roles.is_empty()
        && !roles
            .iter()
            .any(|r| ui.roles.iter().any(|u| wildcard_match(r, u)))
    {
        return false;
    }
    let croles = strings(f.get("clusterRoles"));
    if !croles.is_empty()
        && !croles
            .iter()
            .any(|r| ui.cluster_roles.iter().any(|u| wildcard_match(r, u)))
    {
        return false;
    }
    if let Some(Value::Array(subjects)) = f.get("subjects") {
        if !subjects.is_empty() {
            let ok = subjects.iter().any(|sub| {
                let kind = sub.get("kind").and_then(Value::as_str).unwrap_or("");
                let name = sub.get("name").and_then(Value::as_str).unwrap_or("");
                match kind {
                    "ServiceAccount" => {
                        let ns = sub.get("namespace").and_then(Value::as_str).unwrap_or("");
                        ui.username == format!("system:serviceaccount:{ns}:{name}")
                    }
                    "User" => wildcard_match(name, &ui.username),
                    "Group" => ui.groups.iter().any(|g| wildcard_match(name, g)),
                    _ => false,
                }
            });
            if !ok {
                return false;
            }
        }
    }
    true
}

/// `(group, version, kind, subresource)` of a kind selector such as `Pod`, `v1/Pod`,
/// `apps/v1/Deployment`, `Pod/exec`, `*`.
pub fn parse_kind_selector(sel: &str) -> (&str, &str, &str, &str) {
    // At most four parts matter (group/version/kind/subresource); parsed without
    // allocating, as every rule evaluation matches kinds.
    let mut parts: [&str; 4] = [""; 4];
    let mut count = 0;
    for part in sel.split('/').take(4) {
        parts[count] = part;
        count += 1;
    }
    let starts_upper = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_ascii_uppercase() || c == '*')
    };
    match &parts[..count] {
        [k] => ("*", "*", k, ""),
        [a, b] => {
            if starts_upper(a) && *a != "*" {
                ("*", "*", a, b)
            } else if a.contains('.') || !looks_like_version(a) {
                (a, "*", b, "")
            } else {
                ("*", a, b, "")
            }
        }
        [a, b, c] => {
            if starts_upper(b) && *b != "*" {
                // version/Kind/subresource
                ("*", a, b, c)
            } else {
                (a, b, c, "")
            }
        }
        [a, b, c, d, ..] => (a, b, c, d),
        [] => ("*", "*", "", ""),
    }
}

fn looks_like_version(s: &str) -> bool {
    s == "*" || (s.starts_with('v') && s[1..].chars().next().is_some_and(|c| c.is_ascii_digit()))
}

pub fn kind_matches<K: AsRef<str>>(kinds: &[K], s: &Subject<'_>) -> bool {
    // A subresource request is matched by its parent's kind and the subresource name
    // (`Deployment/scale`); a kind selector without one does not select it.
    let (g, v, k, sub) = match &s.ctx.subresource {
        Some(sr) => (
            sr.group.as_str(),
            sr.version.as_str(),
            sr.kind.as_str(),
            sr.name.as_str(),
        ),
        None => {
            let (g, v) = s.group_version();
            (g, v, s.kind(), "")
        }
    };
    kinds.iter().any(|sel| {
        let (sg, sv, sk, ss) = parse_kind_selector(sel.as_ref());
        wildcard_match(sg, g)
            && wildcard_match(sv, v)
            && wildcard_match(sk, k)
            && (wildcard_match(ss, sub) || (ss.is_empty() && sub.is_empty()))
    })
}

fn description_matches(r: &Value, s: &Subject<'_>) -> bool {
    let kinds = strings(r.get("kinds"));
    if !kinds.is_empty() && !kind_matches(&kinds, s) {
        return false;
    }
    let mut names = strings(r.get("names"));
    names.extend(strings(r.get("name")));
    if !names.is_empty() && !names.iter().any(|n| wildcard_match(n, s.name())) {
        return false;
    }
    let nss = strings(r.get("namespaces"));
    if !nss.is_empty() {
        let ns = if s.kind() == "Namespace" {
            s.name()
        } else {
            s.namespace()
        };
        if !nss.iter().any(|n| wildcard_match(n, ns)) {
            return false;
        }
    }
    if let Some(Value::Object(ann)) = r.get("annotations") {
        let empty = Map::new();
        let res_ann = s
            .metadata("annotations")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        for (k, v) in ann {
            let want = v.as_str().unwrap_or("");
            if !res_ann.iter().any(|(rk, rv)| {
                wildcard_match(k, rk) && wildcard_match(want, rv.as_str().unwrap_or(""))
            }) {
                return false;
            }
        }
    }
    let empty = Map::new();
    if let Some(sel) = r.get("selector").filter(|v| v.is_object()) {
        if !selector_matches(sel, s.labels().unwrap_or(&empty)) {
            return false;
        }
    }
    if let Some(sel) = r.get("namespaceSelector").filter(|v| v.is_object()) {
        let labels = if s.kind() == "Namespace" {
            s.labels()
        } else if s.namespace().is_empty() {
            return false;
        } else {
            s.ctx.namespace_labels.as_ref()
        };
        if !selector_matches(sel, labels.unwrap_or(&empty)) {
            return false;
        }
    }
    let ops = strings(r.get("operations"));
    if !ops.is_empty() && !ops.iter().any(|o| o.eq_ignore_ascii_case(&s.ctx.operation)) {
        return false;
    }
    true
}

/// A Kubernetes label selector (Kyverno also allows wildcards in `matchLabels`).
pub fn selector_matches(sel: &Value, labels: &Map<String, Value>) -> bool {
    // A label value that is not a string compares as its JSON text.
    fn text(v: &Value) -> Cow<'_, str> {
        match v.as_str() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(v.to_string()),
        }
    }
    let get = |k: &str| labels.get(k).map(text);
    if let Some(Value::Object(ml)) = sel.get("matchLabels") {
        for (k, v) in ml {
            let want = text(v);
            let ok = if k.contains(['*', '?']) {
                labels.iter().any(|(lk, lv)| {
                    wildcard_match(k, lk) && wildcard_match(&want, lv.as_str().unwrap_or(""))
                })
            } else {
                get(k).is_some_and(|lv| wildcard_match(&want, &lv))
            };
            if !ok {
                return false;
            }
        }
    }
    if let Some(Value::Array(exprs)) = sel.get("matchExpressions") {
        for e in exprs {
            let key = e.get("key").and_then(Value::as_str).unwrap_or("");
            let op = e.get("operator").and_then(Value::as_str).unwrap_or("");
            let vals = strings(e.get("values"));
            let cur = get(key);
            let ok = match op {
                "In" => cur.is_some_and(|c| vals.contains(&c.as_ref())),
                "NotIn" => cur.is_none_or(|c| !vals.contains(&c.as_ref())),
                "Exists" => cur.is_some(),
                "DoesNotExist" => cur.is_none(),
                _ => false,
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_and_filters() {
        let ctx = EvalContext::default();
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "prod", "labels": {"app": "web"}}});
        let s = Subject {
            resource: &pod,
            ctx: &ctx,
        };
        assert!(kind_matches(&["Pod"], &s));
        assert!(kind_matches(&["v1/Pod"], &s));
        assert!(!kind_matches(&["apps/v1/Deployment"], &s));
        assert!(!kind_matches(&["Pod/exec"], &s));
        assert!(kind_matches(&["*"], &s));
        assert!(matches(
            &json!({"any": [{"resources": {"kinds": ["Pod"], "namespaces": ["prod"]}}]}),
            &s
        ));
        assert!(!matches(
            &json!({"all": [{"resources": {"kinds": ["Pod"]}}, {"resources": {"names": ["db*"]}}]}),
            &s
        ));
        assert!(matches(
            &json!({"resources": {"kinds": ["Pod"], "selector": {"matchLabels": {"app": "w*"}}}}),
            &s
        ));
        assert!(excluded(
            &json!({"any": [{"resources": {"operations": ["CREATE"]}}]}),
            &s
        ));
        assert!(!excluded(
            &json!({"any": [{"clusterRoles": ["cluster-admin"]}]}),
            &s
        ));
        assert!(!matches(&json!({}), &s));
    }
}
