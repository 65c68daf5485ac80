//! Which resources a rule (or PolicyException) applies to: Kyverno's `match`/`exclude`
//! with `any`/`all` resource filters and the legacy single-filter form.

use crate::context::EvalContext;
use crate::scalars::wildcard_match;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// The resource being admitted plus what the request says about it, with the fields
/// every rule's match block reads taken out once.
pub struct Subject<'a> {
    pub resource: &'a Value,
    pub ctx: &'a EvalContext,
    kind: &'a str,
    api_version: &'a str,
    name: &'a str,
    namespace: &'a str,
}

impl<'a> Subject<'a> {
    pub fn new(resource: &'a Value, ctx: &'a EvalContext) -> Self {
        let text = |v: Option<&'a Value>| v.and_then(Value::as_str).unwrap_or("");
        let metadata = resource.get("metadata");
        Subject {
            resource,
            ctx,
            kind: text(resource.get("kind")),
            api_version: text(resource.get("apiVersion")),
            name: text(metadata.and_then(|m| m.get("name"))),
            namespace: text(metadata.and_then(|m| m.get("namespace"))),
        }
    }

    fn metadata(&self, key: &str) -> Option<&'a Value> {
        self.resource.get("metadata")?.get(key)
    }
    fn kind(&self) -> &'a str {
        self.kind
    }
    fn name(&self) -> &'a str {
        self.name
    }
    fn namespace(&self) -> &'a str {
        self.namespace
    }
    fn group_version(&self) -> (&'a str, &'a str) {
        let api = self.api_version;
        match api.rsplit_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api),
        }
    }
    fn labels(&self) -> Option<&'a Map<String, Value>> {
        self.metadata("labels").and_then(Value::as_object)
    }
}

/// Does a `match` block select the subject?
pub fn matches(block: &Value, s: &Subject<'_>) -> bool {
    MatchBlock::new(block).selects(s)
}

/// Does an `exclude` block exclude the subject? (The same test as [`matches`].)
pub fn excluded(block: &Value, s: &Subject<'_>) -> bool {
    MatchBlock::new(block).selects(s)
}

/// A `match` or `exclude` block read once, for rules that test it against many resources.
#[derive(Debug, Clone)]
pub struct MatchBlock(Form);

#[derive(Debug, Clone)]
enum Form {
    /// Not an object, or a legacy filter with nothing in it: selects nothing.
    Nothing,
    Any(Vec<Filter>),
    All(Vec<Filter>),
    /// The legacy form: the block itself is one filter.
    Single(Box<Filter>),
}

impl MatchBlock {
    pub fn new(block: &Value) -> MatchBlock {
        let Some(m) = block.as_object() else {
            return MatchBlock(Form::Nothing);
        };
        let listed = |key: &str| match m.get(key) {
            Some(Value::Array(a)) if !a.is_empty() => Some(a.iter().map(Filter::new).collect()),
            _ => None,
        };
        if let Some(any) = listed("any") {
            return MatchBlock(Form::Any(any));
        }
        if let Some(all) = listed("all") {
            return MatchBlock(Form::All(all));
        }
        if filter_is_empty(block) {
            return MatchBlock(Form::Nothing);
        }
        MatchBlock(Form::Single(Box::new(Filter::new(block))))
    }

    /// Whether the block selects the subject.
    pub fn selects(&self, s: &Subject<'_>) -> bool {
        match &self.0 {
            Form::Nothing => false,
            Form::Any(filters) => filters.iter().any(|f| f.matches(s)),
            Form::All(filters) => filters.iter().all(|f| f.matches(s)),
            Form::Single(f) => f.matches(s),
        }
    }
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

/// [`strings`], owned.
fn owned_strings(v: Option<&Value>) -> Vec<String> {
    strings(v).into_iter().map(String::from).collect()
}

/// One resource filter (`resources` + user info) against the subject.
pub fn filter_matches(f: &Value, s: &Subject<'_>) -> bool {
    Filter::new(f).matches(s)
}

/// One resource filter of a match block, read once.
#[derive(Debug, Clone)]
struct Filter {
    resources: Option<Description>,
    roles: Vec<String>,
    cluster_roles: Vec<String>,
    /// `subjects`, when it lists any.
    subjects: Vec<SubjectSelector>,
}

#[derive(Debug, Clone)]
enum SubjectSelector {
    /// `system:serviceaccount:NAMESPACE:NAME`.
    ServiceAccount(String),
    User(String),
    Group(String),
    /// A kind no user matches.
    Other,
}

impl Filter {
    fn new(f: &Value) -> Filter {
        let subjects = match f.get("subjects") {
            Some(Value::Array(subjects)) => subjects
                .iter()
                .map(|sub| {
                    let text = |k: &str| sub.get(k).and_then(Value::as_str).unwrap_or("");
                    let name = text("name");
                    match text("kind") {
                        "ServiceAccount" => SubjectSelector::ServiceAccount(format!(
                            "system:serviceaccount:{}:{name}",
                            text("namespace")
                        )),
                        "User" => SubjectSelector::User(name.to_string()),
                        "Group" => SubjectSelector::Group(name.to_string()),
                        _ => SubjectSelector::Other,
                    }
                })
                .collect(),
            _ => Vec::new(),
        };
        Filter {
            resources: f
                .get("resources")
                .filter(|r| r.is_object())
                .map(Description::new),
            roles: owned_strings(f.get("roles")),
            cluster_roles: owned_strings(f.get("clusterRoles")),
            subjects,
        }
    }

    fn matches(&self, s: &Subject<'_>) -> bool {
        if let Some(r) = &self.resources {
            if !r.matches(s) {
                return false;
            }
        }
        self.user_info_matches(s)
    }

    fn user_info_matches(&self, s: &Subject<'_>) -> bool {
        let ui = &s.ctx.user_info;
        if !self.roles.is_empty()
            && !self
                .roles
                .iter()
                .any(|r| ui.roles.iter().any(|u| wildcard_match(r, u)))
        {
            return false;
        }
        if !self.cluster_roles.is_empty()
            && !self
                .cluster_roles
                .iter()
                .any(|r| ui.cluster_roles.iter().any(|u| wildcard_match(r, u)))
        {
            return false;
        }
        if !self.subjects.is_empty() {
            let ok = self.subjects.iter().any(|sub| match sub {
                SubjectSelector::ServiceAccount(user) => ui.username == *user,
                SubjectSelector::User(name) => wildcard_match(name, &ui.username),
                SubjectSelector::Group(name) => ui.groups.iter().any(|g| wildcard_match(name, g)),
                SubjectSelector::Other => false,
            });
            if !ok {
                return false;
            }
        }
        true
    }
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
    kinds
        .iter()
        .any(|sel| KindSelector::parse(sel.as_ref()).matches(&subject_kind(s)))
}

/// `(group, version, kind, subresource)` of the subject as kind selectors see it.
fn subject_kind<'a>(s: &Subject<'a>) -> (&'a str, &'a str, &'a str, &'a str) {
    // A subresource request is matched by its parent's kind and the subresource name
    // (`Deployment/scale`); a kind selector without one does not select it.
    match &s.ctx.subresource {
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
    }
}

/// A kind selector (`Pod`, `apps/v1/Deployment`, `Pod/exec`, `*`) split once.
#[derive(Debug, Clone)]
struct KindSelector {
    group: String,
    version: String,
    kind: String,
    subresource: String,
}

impl KindSelector {
    fn parse(sel: &str) -> KindSelector {
        let (group, version, kind, subresource) = parse_kind_selector(sel);
        KindSelector {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            subresource: subresource.to_string(),
        }
    }

    fn matches(&self, (g, v, k, sub): &(&str, &str, &str, &str)) -> bool {
        wildcard_match(&self.group, g)
            && wildcard_match(&self.version, v)
            && wildcard_match(&self.kind, k)
            && (wildcard_match(&self.subresource, sub)
                || (self.subresource.is_empty() && sub.is_empty()))
    }
}

/// The `resources` of a filter, read once.
#[derive(Debug, Clone)]
struct Description {
    kinds: Vec<KindSelector>,
    /// `names` and `name`.
    names: Vec<String>,
    namespaces: Vec<String>,
    /// `annotations`: key and value patterns.
    annotations: Option<Vec<(String, String)>>,
    selector: Option<Value>,
    namespace_selector: Option<Value>,
    operations: Vec<String>,
}

impl Description {
    fn new(r: &Value) -> Description {
        let mut names = owned_strings(r.get("names"));
        names.extend(owned_strings(r.get("name")));
        let object = |key: &str| r.get(key).filter(|v| v.is_object()).cloned();
        Description {
            kinds: strings(r.get("kinds"))
                .into_iter()
                .map(KindSelector::parse)
                .collect(),
            names,
            namespaces: owned_strings(r.get("namespaces")),
            annotations: match r.get("annotations") {
                Some(Value::Object(ann)) => Some(
                    ann.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                        .collect(),
                ),
                _ => None,
            },
            selector: object("selector"),
            namespace_selector: object("namespaceSelector"),
            operations: owned_strings(r.get("operations")),
        }
    }

    fn matches(&self, s: &Subject<'_>) -> bool {
        if !self.kinds.is_empty() {
            let subject = subject_kind(s);
            if !self.kinds.iter().any(|k| k.matches(&subject)) {
                return false;
            }
        }
        if !self.names.is_empty() && !self.names.iter().any(|n| wildcard_match(n, s.name())) {
            return false;
        }
        if !self.namespaces.is_empty() {
            let ns = if s.kind() == "Namespace" {
                s.name()
            } else {
                s.namespace()
            };
            if !self.namespaces.iter().any(|n| wildcard_match(n, ns)) {
                return false;
            }
        }
        let empty = Map::new();
        if let Some(ann) = &self.annotations {
            let res_ann = s
                .metadata("annotations")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            for (k, want) in ann {
                if !res_ann.iter().any(|(rk, rv)| {
                    wildcard_match(k, rk) && wildcard_match(want, rv.as_str().unwrap_or(""))
                }) {
                    return false;
                }
            }
        }
        if let Some(sel) = &self.selector {
            if !selector_matches(sel, s.labels().unwrap_or(&empty)) {
                return false;
            }
        }
        if let Some(sel) = &self.namespace_selector {
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
        if !self.operations.is_empty()
            && !self
                .operations
                .iter()
                .any(|o| o.eq_ignore_ascii_case(&s.ctx.operation))
        {
            return false;
        }
        true
    }
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
        let s = Subject::new(&pod, &ctx);
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
