//! Values that do nothing: keys of a user's values that the chart never reads. A key is read
//! when the chart's defaults (`values.yaml`) have it, its `values.schema.json` declares it, a
//! template names it, or it sits under a free-form map (an empty map or list in the defaults,
//! a map the templates pass through whole with `toYaml`, `range` over, or a schema that allows
//! any property). Subcharts are followed under their key, `global` against every chart.
//! The test errs on the side of silence: a key is reported only when none of these holds.

use crate::chart::Chart;
use crate::values::escape;
use regex::Regex;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::OnceLock;

/// A key nobody reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unused {
    /// JSON pointer of the key in the values layer.
    pub pointer: String,
    /// The dotted key (`image.tagg`).
    pub key: String,
    /// The closest key the chart does read at that level, if any is close.
    pub hint: Option<String>,
}

/// What the templates of one chart mention.
struct Mentions {
    /// Identifiers after a dot anywhere (`.replicas`, `$.Values.x`).
    fields: HashSet<String>,
    /// Identifiers right after `.Values.` (root keys).
    root: HashSet<String>,
    /// Quoted words (`index .Values "x"`, `hasKey . "x"`, `dig "a" "b"`).
    quoted: HashSet<String>,
    /// Fields passed through whole (`toYaml .Values.x.resources`, `range ... .x`).
    passthrough: HashSet<String>,
    /// The templates hand `.Values` as a whole to something (`toYaml .Values`, `tpl`).
    whole: bool,
}

struct Patterns {
    field: Regex,
    root: Regex,
    quoted: Regex,
    /// An action that hands a field over whole (to `toYaml`, `range`, `merge`, ...).
    whole_action: Regex,
    /// `{{ with .x.y }}` whose body starts with `{{ toYaml . }}`.
    with_to_yaml: Regex,
    /// `.Values` itself handed over.
    all_values: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        field: Regex::new(r"\.([A-Za-z_][A-Za-z0-9_]*)").expect("static regex"),
        root: Regex::new(r"\.Values\.([A-Za-z_][A-Za-z0-9_]*)").expect("static regex"),
        quoted: Regex::new(r#""([A-Za-z0-9_.\-]+)""#).expect("static regex"),
        whole_action: Regex::new(
            r"\{\{[^}]*\b(?:toYaml|toJson|toPrettyJson|toRawJson|mustToJson|tpl|range|merge|mergeOverwrite|deepCopy|omit|pick)\b[^}]*\}\}",
        )
        .expect("static regex"),
        with_to_yaml: Regex::new(
            r"\bwith\s+[^}]*?\.([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}[^{]*\{\{-?\s*(?:toYaml|toJson|toPrettyJson|tpl)\s+\.\s*[|}\-]",
        )
        .expect("static regex"),
        all_values: Regex::new(r"(?:toYaml|toJson|toPrettyJson|toRawJson|tpl)\s+\$?\.Values\s*[|)}-]")
            .expect("static regex"),
    })
}

impl Mentions {
    fn of(chart: &Chart) -> Mentions {
        let p = patterns();
        let mut m = Mentions {
            fields: HashSet::new(),
            root: HashSet::new(),
            quoted: HashSet::new(),
            passthrough: HashSet::new(),
            whole: false,
        };
        for (_, text) in &chart.templates {
            for c in p.field.captures_iter(text) {
                m.fields.insert(c[1].to_string());
            }
            for c in p.root.captures_iter(text) {
                m.root.insert(c[1].to_string());
            }
            for c in p.quoted.captures_iter(text) {
                for part in c[1].split('.') {
                    m.quoted.insert(part.to_string());
                }
            }
            for action in p.whole_action.find_iter(text) {
                for c in p.field.captures_iter(action.as_str()) {
                    m.passthrough.insert(c[1].to_string());
                }
            }
            for c in p.with_to_yaml.captures_iter(text) {
                m.passthrough.insert(c[1].to_string());
            }
            if p.all_values.is_match(text) {
                m.whole = true;
            }
        }
        m
    }
}

fn is_free_form(default: Option<&Value>) -> bool {
    match default {
        None | Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        Some(Value::Array(_)) => true,
        Some(_) => false,
    }
}

/// The schema node for property `key` of `schema` (following local `$ref`s), and whether the
/// schema allows properties it does not list.
fn schema_child<'a>(root: &'a Value, schema: &'a Value, key: &str) -> (Option<&'a Value>, bool) {
    let schema = resolve(root, schema);
    let declared = schema
        .get("properties")
        .and_then(|p| p.get(key))
        .map(|s| resolve(root, s));
    let open = match schema.get("additionalProperties") {
        Some(Value::Bool(false)) => false,
        Some(_) => true,
        None => schema.get("patternProperties").is_some() || schema.get("properties").is_none(),
    };
    // Composition: any branch that declares the key counts.
    let mut from_branches = None;
    for combinator in ["allOf", "anyOf", "oneOf"] {
        for branch in schema
            .get(combinator)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (child, _) = schema_child(root, branch, key);
            if child.is_some() {
                from_branches = child;
            }
        }
    }
    (declared.or(from_branches), open)
}

fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    let mut current = schema;
    for _ in 0..16 {
        match current.get("$ref").and_then(Value::as_str) {
            Some(r) if r.starts_with('#') => match root.pointer(&r[1..]) {
                Some(target) => current = target,
                None => return current,
            },
            _ => return current,
        }
    }
    current
}

struct Context<'a> {
    chart: &'a Chart,
    /// Scanned on first need: most keys are found in the defaults without it.
    mentions: std::sync::OnceLock<Mentions>,
}

impl Context<'_> {
    fn mentions(&self) -> &Mentions {
        self.mentions.get_or_init(|| Mentions::of(self.chart))
    }
}

/// Keys of `user` (one layer of values for `chart`) that nothing reads.
pub fn unused(chart: &Chart, user: &Value) -> Vec<Unused> {
    let mut out = Vec::new();
    let Some(map) = user.as_object() else {
        return out;
    };
    let contexts = all_contexts(chart);
    for (key, value) in map {
        let pointer = format!("/{}", escape(key));
        if key == "global" {
            // Globals reach every chart: read if any chart reads them.
            global(&contexts, value, &pointer, key, &mut out);
            continue;
        }
        walk_chart(
            &contexts[0],
            &contexts,
            chart,
            key,
            value,
            &pointer,
            &mut out,
        );
    }
    out
}

fn all_contexts(chart: &Chart) -> Vec<Context<'_>> {
    let mut list = vec![Context {
        chart,
        mentions: std::sync::OnceLock::new(),
    }];
    let mut i = 0;
    while i < list.len() {
        let c = list[i].chart;
        for (_, sub) in &c.subcharts {
            list.push(Context {
                chart: sub,
                mentions: std::sync::OnceLock::new(),
            });
        }
        i += 1;
    }
    list
}

/// A root key of `chart`'s values.
fn walk_chart(
    ctx: &Context,
    contexts: &[Context],
    chart: &Chart,
    key: &str,
    value: &Value,
    pointer: &str,
    out: &mut Vec<Unused>,
) {
    if let Some(sub) = chart.subchart(key) {
        // `sub.enabled` style keys are read by Chart.yaml conditions.
        let Some(map) = value.as_object() else { return };
        let sub_ctx = contexts.iter().find(|c| std::ptr::eq(c.chart, sub));
        for (k, v) in map {
            let p = format!("{pointer}/{}", escape(k));
            let condition = chart.dependencies.iter().any(|d| {
                d.key() == key
                    && d.condition
                        .as_deref()
                        .is_some_and(|c| c.split(',').any(|c| c.trim() == format!("{key}.{k}")))
            });
            if condition || k == "global" {
                continue;
            }
            // The parent's defaults may set subchart values too.
            let parent_default = chart.defaults.get(key).and_then(|d| d.get(k));
            if parent_default.is_some() && sub.defaults.get(k).is_none() {
                continue;
            }
            if let Some(sc) = sub_ctx {
                let before = out.len();
                walk_chart(sc, contexts, sub, k, v, &p, out);
                for u in &mut out[before..] {
                    u.key = format!("{key}.{}", u.key);
                }
            }
        }
        return;
    }
    let schema = chart.schema.as_ref();
    let before = out.len();
    walk(
        ctx,
        chart.defaults.get(key),
        schema.map(|s| (s, schema_child(s, s, key))),
        &[key.to_string()],
        value,
        pointer,
        out,
    );
    if out.len() == before + 1 && out[before].pointer == pointer {
        let mut roots: Vec<&str> = chart
            .defaults
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        if let Some(props) = schema
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
        {
            roots.extend(props.keys().map(String::as_str));
        }
        roots.extend(chart.subcharts.iter().map(|(k, _)| k.as_str()));
        out[before].hint = closest(key, &roots);
    }
}

/// Whether the chart reads `path` (a key under known parents) according to its templates.
fn mentioned(ctx: &Context, path: &[String]) -> bool {
    let key = path.last().map(String::as_str).unwrap_or("");
    if ctx.mentions().whole {
        return true;
    }
    if path.len() == 1 {
        ctx.mentions().root.contains(key) || ctx.mentions().quoted.contains(key)
    } else {
        ctx.mentions().fields.contains(key) || ctx.mentions().quoted.contains(key)
    }
}

fn passthrough(ctx: &Context, path: &[String]) -> bool {
    path.last()
        .is_some_and(|k| ctx.mentions().passthrough.contains(k.as_str()))
}

type SchemaAt<'a> = Option<(&'a Value, (Option<&'a Value>, bool))>;

/// `value` at `path`, where the defaults hold `default` and the schema says `schema`.
fn walk(
    ctx: &Context,
    default: Option<&Value>,
    schema: SchemaAt,
    path: &[String],
    value: &Value,
    pointer: &str,
    out: &mut Vec<Unused>,
) {
    let declared = schema.and_then(|(_, (child, _))| child);
    let schema_open = schema.is_some_and(|(_, (_, open))| open);
    let known = default.is_some() || declared.is_some();
    if !known {
        let has_schema = schema.is_some();
        // A schema that lists its properties and allows no others is the chart's word.
        let closed = has_schema && !schema_open;
        if (has_schema && !closed) || mentioned(ctx, path) {
            return;
        }
        out.push(Unused {
            pointer: pointer.to_string(),
            key: path.join("."),
            hint: None,
        });
        return;
    }
    // Known: look inside only when both sides are maps and the chart does not take the map
    // whole.
    let Some(map) = value.as_object() else { return };
    let default_map = default.and_then(Value::as_object);
    if default.is_some() && is_free_form(default) {
        return;
    }
    if default.is_some() && default_map.is_none() {
        return;
    }
    let declared_resolved = declared.map(|d| schema.map_or(d, |(root, _)| resolve(root, d)));
    if let Some(d) = declared_resolved {
        let open = match d.get("additionalProperties") {
            Some(Value::Bool(false)) => false,
            Some(_) => true,
            None => d.get("properties").is_none(),
        };
        if default.is_none() && open {
            return;
        }
    }
    let mut siblings: Vec<&str> = default_map
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    if let Some(props) = declared_resolved
        .and_then(|d| d.get("properties"))
        .and_then(Value::as_object)
    {
        siblings.extend(props.keys().map(String::as_str));
    }
    let before_all = out.len();
    for (k, v) in map {
        let child_default = default_map.and_then(|m| m.get(k));
        let child_schema = match (schema, declared_resolved) {
            (Some((root, _)), Some(d)) => Some((root, schema_child(root, d, k))),
            _ => None,
        };
        let mut child_path = path.to_vec();
        child_path.push(k.clone());
        let before = out.len();
        walk(
            ctx,
            child_default,
            child_schema,
            &child_path,
            v,
            &format!("{pointer}/{}", escape(k)),
            out,
        );
        if out.len() == before + 1 && out[before].pointer.ends_with(&escape(k)) {
            out[before].hint = closest(k, &siblings);
        }
    }
    // A map the templates hand over whole takes any key (asked only when one is unknown:
    // scanning the templates is the costly part).
    if out.len() > before_all && passthrough(ctx, path) {
        out.truncate(before_all);
    }
}

fn global(contexts: &[Context], value: &Value, pointer: &str, key: &str, out: &mut Vec<Unused>) {
    let Some(map) = value.as_object() else { return };
    for (k, v) in map {
        let p = format!("{pointer}/{}", escape(k));
        let read = contexts.iter().any(|c| {
            c.chart
                .defaults
                .get("global")
                .and_then(|g| g.get(k))
                .is_some()
                || c.mentions().whole
                || c.mentions().fields.contains(k.as_str())
                || c.mentions().quoted.contains(k.as_str())
        });
        if read {
            let _ = v;
            continue;
        }
        let siblings: Vec<&str> = contexts
            .iter()
            .filter_map(|c| c.chart.defaults.get("global").and_then(Value::as_object))
            .flat_map(|m| m.keys().map(String::as_str))
            .collect();
        out.push(Unused {
            pointer: p,
            key: format!("{key}.{k}"),
            hint: closest(k, &siblings),
        });
    }
}

/// The closest name among `candidates` (Jaro-Winkler, case-insensitive), if close enough.
pub fn closest(name: &str, candidates: &[&str]) -> Option<String> {
    let lower = name.to_lowercase();
    candidates
        .iter()
        .filter(|c| **c != name)
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_lowercase()), *c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::{Bounds, Files};
    use serde_json::json;

    fn chart(values: &str, schema: Option<&str>, templates: &[&str]) -> Chart {
        let mut files = Files::new();
        files.insert("Chart.yaml".into(), b"name: c\nversion: 1.0.0\n".to_vec());
        files.insert("values.yaml".into(), values.as_bytes().to_vec());
        if let Some(s) = schema {
            files.insert("values.schema.json".into(), s.as_bytes().to_vec());
        }
        for (i, t) in templates.iter().enumerate() {
            files.insert(format!("templates/t{i}.yaml"), t.as_bytes().to_vec());
        }
        Chart::from_files(files, &Bounds::default()).unwrap()
    }

    fn keys(found: Vec<Unused>) -> Vec<(String, Option<String>)> {
        found.into_iter().map(|u| (u.key, u.hint)).collect()
    }

    #[test]
    fn keys_absent_everywhere_are_unused_with_a_hint() {
        let c = chart(
            "image:\n  repository: x\n  tag: \"1\"\nreplicas: 1\nresources: {}\n",
            None,
            &["image: {{ .Values.image.repository }}:{{ .Values.image.tag }}\nreplicas: {{ .Values.replicas }}\n{{ toYaml .Values.resources }}"],
        );
        let user =
            json!({"image": {"tagg": "2"}, "replicaz": 3, "resources": {"limits": {"cpu": 1}}});
        assert_eq!(
            keys(unused(&c, &user)),
            vec![
                ("image.tagg".to_string(), Some("tag".to_string())),
                ("replicaz".to_string(), Some("replicas".to_string())),
            ]
        );
    }

    #[test]
    fn keys_the_templates_read_are_not_reported() {
        let c = chart(
            "controller:\n  image: x\n",
            None,
            &["{{ with .Values.controller }}{{ .priorityClassName }}{{ end }}\n{{ .Values.extra }}"],
        );
        let user = json!({"controller": {"priorityClassName": "high"}, "extra": 1});
        assert!(unused(&c, &user).is_empty());
    }

    #[test]
    fn with_blocks_are_not_passthrough_unless_they_dump_the_map() {
        let c = chart(
            "controller:\n  image: x\npodSecurityContext:\n  runAsUser: 1\n",
            None,
            &["{{- with .Values.controller }}\nimage: {{ .image }}\n{{- end }}\n{{- with .Values.podSecurityContext }}\n  {{- toYaml . | nindent 8 }}\n{{- end }}"],
        );
        let user = json!({"controller": {"imagee": "y"}, "podSecurityContext": {"fsGroup": 2}});
        assert_eq!(
            keys(unused(&c, &user)),
            vec![("controller.imagee".to_string(), Some("image".to_string()))]
        );
    }

    #[test]
    fn passthrough_maps_are_free_form() {
        let c = chart(
            "securityContext:\n  runAsUser: 1000\n",
            None,
            &["{{- toYaml .Values.securityContext | nindent 8 }}"],
        );
        assert!(unused(&c, &json!({"securityContext": {"fsGroup": 1}})).is_empty());
    }

    #[test]
    fn the_schema_decides_when_it_is_closed_or_open() {
        let schema = r#"{"type":"object","properties":{"a":{"type":"object","additionalProperties":false,"properties":{"b":{"type":"string"}}},"open":{"type":"object"}},"additionalProperties":false}"#;
        let c = chart("", Some(schema), &[]);
        assert_eq!(
            keys(unused(
                &c,
                &json!({"a": {"b": "x", "bb": "y"}, "open": {"anything": 1}, "zzz": 1})
            )),
            vec![
                ("a.bb".to_string(), Some("b".to_string())),
                ("zzz".to_string(), None)
            ]
        );
    }

    #[test]
    fn subcharts_conditions_and_globals() {
        let mut files = Files::new();
        files.insert(
            "Chart.yaml".into(),
            b"name: p\nversion: 1.0.0\ndependencies:\n  - name: db\n    condition: db.enabled\n"
                .to_vec(),
        );
        files.insert("values.yaml".into(), b"global:\n  domain: x\n".to_vec());
        files.insert(
            "charts/db/Chart.yaml".into(),
            b"name: db\nversion: 1.0.0\n".to_vec(),
        );
        files.insert("charts/db/values.yaml".into(), b"port: 1\n".to_vec());
        let c = Chart::from_files(files, &Bounds::default()).unwrap();
        let user = json!({"db": {"enabled": true, "port": 2, "prot": 3}, "global": {"domain": "y", "domian": "z"}});
        assert_eq!(
            keys(unused(&c, &user)),
            vec![
                ("db.prot".to_string(), Some("port".to_string())),
                ("global.domian".to_string(), Some("domain".to_string())),
            ]
        );
    }
}
