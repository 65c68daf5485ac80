//! Where a rendered object comes from, so that a finding on it points at something the user
//! can edit: the values line that produced the offending field when one can be found (same
//! key, same value), else the Application (or helmfile release, kustomize entry) that renders
//! the chart. Every such finding also names the chart and the template (`# Source:`).

use crate::values::{escape, Layer};
use homelab_diagnostics::{Diagnostic, Location};
use homelab_manifest::Document;
use regex::Regex;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// One render.
#[derive(Debug, Clone)]
pub struct Record {
    pub declared_by: String,
    pub at: Location,
    /// `longhorn 1.12.1`
    pub chart: String,
    pub namespace: String,
    /// The values layers, lowest precedence first.
    pub layers: Vec<Layer>,
    /// The template (`# Source:`) of each rendered object, by its index in the render.
    pub templates: Vec<String>,
}

impl Record {
    /// The template that produced a rendered document.
    pub fn template_of(&self, doc: &Document) -> Option<&str> {
        self.templates
            .get(doc.item_index?)
            .map(String::as_str)
            .filter(|t| !t.is_empty())
    }
}

/// Every render, by the name of its output.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    records: HashMap<String, Record>,
}

impl Provenance {
    pub fn insert(&mut self, name: String, record: Record) {
        self.records.insert(name, record);
    }

    pub fn record(&self, name: &str) -> Option<&Record> {
        self.records.get(name)
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The chart and template of a rendered document.
    pub fn origin(&self, doc: &Document) -> Option<(&Record, Option<&str>)> {
        let record = self.records.get(&doc.source.name)?;
        Some((record, record.template_of(doc)))
    }

    /// Moves findings on rendered objects to the lines that produced them, naming the chart
    /// and template. Other findings pass unchanged.
    pub fn attribute(
        &self,
        diagnostics: Vec<Diagnostic>,
        rendered: &[Document],
    ) -> Vec<Diagnostic> {
        if self.records.is_empty() {
            return diagnostics;
        }
        let mut by_source: HashMap<&str, Vec<&Document>> = HashMap::new();
        for doc in rendered {
            by_source
                .entry(doc.source.name.as_str())
                .or_default()
                .push(doc);
        }
        diagnostics
            .into_iter()
            .map(|d| {
                let Some(location) = d.location.clone() else {
                    return d;
                };
                let Some(record) = self.records.get(&location.file) else {
                    return d;
                };
                // The document that holds the position (compare line and column: the first
                // object of a render starts on the line of the list).
                let at = (location.line.max(1), location.column);
                let doc = by_source.get(location.file.as_str()).and_then(|docs| {
                    docs.iter()
                        .filter(|doc| {
                            let s = doc.start();
                            (s.line, s.column) <= at
                        })
                        .max_by_key(|doc| {
                            let s = doc.start();
                            (s.line, s.column)
                        })
                        .copied()
                });
                self.attribute_one(d, record, doc)
            })
            .collect()
    }

    fn attribute_one(
        &self,
        mut d: Diagnostic,
        record: &Record,
        doc: Option<&Document>,
    ) -> Diagnostic {
        let template = doc
            .and_then(|doc| record.template_of(doc))
            .unwrap_or("?")
            .to_string();
        let from_values = doc.and_then(|doc| values_location(record, doc, &d));
        let origin = format!(
            "chart {}, template {template}, rendered for {}",
            record.chart, record.declared_by
        );
        d.message = format!("{} [{origin}]", d.message);
        let help = d.help.take().unwrap_or_default();
        match from_values {
            Some((at, layer)) => {
                d.location = Some(at);
                d.help = Some(format!(
                    "{help}{}this value (in {layer}) is what the chart renders into the object; change it here",
                    if help.is_empty() { "" } else { "; " }
                ));
            }
            None => {
                d.location = Some(record.at.clone());
                d.help = Some(format!(
                    "{help}{}the object is made by template {template} of chart {}: change it through the values of {} (`helm show values` lists what the chart reads)",
                    if help.is_empty() { "" } else { "; " },
                    record.chart,
                    record.declared_by
                ));
            }
        }
        d
    }
}

fn field_paths() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"\b[A-Za-z][A-Za-z0-9]*(?:\[\d+\])?(?:\.[A-Za-z][A-Za-z0-9]*(?:\[\d+\])?)+\b")
            .expect("static regex")
    })
}

/// Segments of a JSON pointer or of a dotted path (`spec.containers[0].name`).
fn segments_of_pointer(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn segments_of_dotted(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in path.split('.') {
        match part.split_once('[') {
            Some((key, index)) => {
                out.push(key.to_string());
                out.push(index.trim_end_matches(']').to_string());
            }
            None => out.push(part.to_string()),
        }
    }
    out
}

fn is_index(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Every (pointer segments, value) in `value`.
fn walk<'a>(value: &'a Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, &'a Value)>) {
    if out.len() > 100_000 {
        return;
    }
    match value {
        Value::Object(m) => {
            for (k, v) in m {
                path.push(k.clone());
                out.push((path.clone(), v));
                walk(v, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                path.push(i.to_string());
                out.push((path.clone(), v));
                walk(v, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Whether the user's `given` produced `rendered`: same scalar (templates may quote), or a
/// map/list whose entries all appear in the rendered one.
fn produced(given: &Value, rendered: &Value) -> bool {
    match (given, rendered) {
        (Value::Object(g), Value::Object(r)) => {
            !g.is_empty()
                && g.iter()
                    .all(|(k, v)| r.get(k).is_some_and(|rv| produced(v, rv)))
        }
        (Value::Array(g), Value::Array(r)) => {
            !g.is_empty() && g.iter().all(|gv| r.iter().any(|rv| produced(gv, rv)))
        }
        (g, r) => match (scalar_text(g), scalar_text(r)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
    }
}

/// The rendered values the finding is about: at its path, and at field paths its message
/// names (Pod Security lists `spec.containers[0].securityContext.privileged`).
fn targets<'a>(doc: &'a Document, d: &Diagnostic) -> Vec<(Vec<String>, &'a Value)> {
    let mut out = Vec::new();
    if let Some(p) = d.path.as_deref().filter(|p| *p != "/metadata/name") {
        if let Some(v) = doc.value.pointer(p) {
            out.push((segments_of_pointer(p), v));
        }
    }
    let mut all: Option<Vec<(Vec<String>, &Value)>> = None;
    for m in field_paths().find_iter(&d.message) {
        let wanted = segments_of_dotted(m.as_str());
        if wanted.len() < 2 {
            continue;
        }
        let all = all.get_or_insert_with(|| {
            let mut list = Vec::new();
            walk(&doc.value, &mut Vec::new(), &mut list);
            list
        });
        for (path, v) in all.iter() {
            if path.len() >= wanted.len() && path[path.len() - wanted.len()..] == wanted[..] {
                out.push((path.clone(), *v));
            }
        }
    }
    out
}

fn values_location(record: &Record, doc: &Document, d: &Diagnostic) -> Option<(Location, String)> {
    let targets = targets(doc, d);
    if targets.is_empty() {
        return None;
    }
    // Highest precedence first: the layer that wins is the one to change.
    let mut best: Option<(usize, Location, String)> = None;
    for layer in record.layers.iter().rev() {
        let mut entries = Vec::new();
        walk(&layer.value, &mut Vec::new(), &mut entries);
        for (target_path, rendered) in &targets {
            let Some(leaf) = target_path.iter().rev().find(|s| !is_index(s)) else {
                continue;
            };
            let target_keys: Vec<&String> = target_path.iter().filter(|s| !is_index(s)).collect();
            for (path, given) in &entries {
                let Some(last) = path.iter().rev().find(|s| !is_index(s)) else {
                    continue;
                };
                if last != leaf || !produced(given, rendered) {
                    continue;
                }
                let keys: Vec<&String> = path.iter().filter(|s| !is_index(s)).collect();
                let shared = keys
                    .iter()
                    .rev()
                    .zip(target_keys.iter().rev())
                    .take_while(|(a, b)| a == b)
                    .count();
                if best.as_ref().is_none_or(|(s, _, _)| shared > *s) {
                    let pointer: String = path.iter().map(|s| format!("/{}", escape(s))).collect();
                    best = Some((shared, layer.location(&pointer), layer.label.clone()));
                }
            }
        }
        if best.is_some() {
            break;
        }
    }
    best.map(|(_, loc, label)| (loc, label))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::Locator;
    use serde_json::json;
    use std::sync::Arc;

    /// A render as `render` keeps it: the objects as items of one List.
    fn rendered(text: &str) -> Vec<Document> {
        let (docs, _) = homelab_manifest::parse_str("x", text);
        let list = json!({"apiVersion": "v1", "kind": "List", "items": docs.into_iter().map(|d| d.value).collect::<Vec<_>>()});
        let source = Arc::new(homelab_manifest::Source {
            name: "helm-render:0:x".into(),
            path: None,
            text: list.to_string(),
        });
        homelab_manifest::parse_source(source, &Default::default()).0
    }

    fn record(values: &str) -> Record {
        let (docs, _) = homelab_manifest::parse_str("values.yaml", values);
        Record {
            declared_by: "Application x".into(),
            at: Location::new("app.yaml", 9, 7),
            chart: "x 1.0.0".into(),
            namespace: "x".into(),
            layers: vec![Layer {
                label: "values.yaml".into(),
                value: docs[0].value.clone(),
                locator: Locator::Document {
                    doc: Box::new(docs[0].clone()),
                    prefix: String::new(),
                },
            }],
            templates: vec!["x/templates/ds.yaml".into()],
        }
    }

    const DS: &str = "---\n# Source: x/templates/ds.yaml\napiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: agent\nspec:\n  template:\n    spec:\n      containers:\n        - name: agent\n          securityContext:\n            privileged: true\n";

    #[test]
    fn findings_move_to_the_values_line_that_produced_them() {
        let docs = rendered(DS);
        let mut p = Provenance::default();
        p.insert(
            "helm-render:0:x".into(),
            record(
                "agent:\n  securityContext:\n    privileged: true\nother:\n  privileged: false\n",
            ),
        );
        let d = Diagnostic::error(
            "policy/pss/baseline",
            "violates PodSecurity: spec.containers[0].securityContext.privileged is forbidden",
        )
        .at(Location::new("helm-render:0:x", 1, 50))
        .with_path("/metadata/name");
        let out = p.attribute(vec![d], &docs);
        let loc = out[0].location.as_ref().unwrap();
        assert_eq!(loc.to_string(), "values.yaml:3:5");
        assert!(out[0].message.contains("template x/templates/ds.yaml"));
        assert!(out[0].message.contains("chart x 1.0.0"));
    }

    #[test]
    fn findings_without_a_producing_value_go_to_the_declaration() {
        let docs = rendered(DS);
        let mut p = Provenance::default();
        p.insert(
            "helm-render:0:x".into(),
            record("agent:\n  privileged: false\n"),
        );
        let d = Diagnostic::warning("workload/resources", "container `agent` has no limits")
            .at(Location::new("helm-render:0:x", 1, 60))
            .with_path("/spec/template/spec/containers/0/resources");
        let out = p.attribute(vec![d], &docs);
        assert_eq!(
            out[0].location.as_ref().unwrap().to_string(),
            "app.yaml:9:7"
        );
        assert!(out[0].help.as_ref().unwrap().contains("Application x"));
        let untouched = Diagnostic::note("x", "y").at(Location::new("other.yaml", 1, 1));
        assert_eq!(p.attribute(vec![untouched.clone()], &docs), vec![untouched]);
    }

    #[test]
    fn produced_compares_scalars_loosely_and_maps_as_subsets() {
        assert!(produced(&json!(8080), &json!("8080")));
        assert!(produced(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(!produced(&json!({}), &json!({"a": 1})));
        assert!(!produced(&json!(true), &json!(false)));
    }
}
