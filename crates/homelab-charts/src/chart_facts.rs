//! What a run needs to know about a chart once its render is cached: its name, version and
//! whether it asks the cluster which APIs it serves ([`Summary`]), and which keys of a values
//! layer it never reads ([`crate::unused`]). Both are kept in the render cache, keyed by the
//! archive's sha256 (the archive itself is still read and verified on every run, which is
//! cheap), so that a warm run inflates no archive and parses no `Chart.yaml`, `values.yaml`
//! or schema. Beside them, the API versions that the CRDs of a render serve, keyed by the
//! render's key: the first render of a chart that asks for API versions is needed only for
//! those (a second render with them follows), so a warm run does not read it at all.
//!
//! An entry is only as good as the code that computed it, so every key also names the running
//! program (its version and the size and modification time of its executable): another build
//! of homelab computes everything again. An entry that is damaged or does not parse is a miss.

use crate::cache::{Entry, RenderCache};
use crate::chart::Chart;
use crate::digest;
use crate::unused::Unused;
use serde_json::{json, Value};
use std::sync::OnceLock;

/// A chart as the warm path needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub name: String,
    pub version: String,
    /// A template of the chart or of a subchart reads `.Capabilities.APIVersions`.
    pub uses_capabilities: bool,
}

impl Summary {
    pub fn of(chart: &Chart) -> Summary {
        Summary {
            name: chart.name.clone(),
            version: chart.version.clone(),
            uses_capabilities: uses_capabilities(chart),
        }
    }

    /// `name version` for messages (as [`Chart::label`]).
    pub fn label(&self) -> String {
        format!("{} {}", self.name, self.version)
    }
}

fn uses_capabilities(chart: &Chart) -> bool {
    chart
        .templates
        .iter()
        .any(|(_, t)| t.contains("Capabilities.APIVersions"))
        || chart.subcharts.iter().any(|(_, c)| uses_capabilities(c))
}

/// The running program, as far as cached facts depend on it; `None` when it cannot be told
/// (then nothing is cached).
fn program() -> Option<&'static str> {
    static PROGRAM: OnceLock<Option<String>> = OnceLock::new();
    PROGRAM
        .get_or_init(|| {
            let exe = std::env::current_exe().ok()?;
            let meta = std::fs::metadata(&exe).ok()?;
            let modified = meta
                .modified()
                .ok()?
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?;
            Some(format!(
                "{} {} {}.{:09}",
                env!("CARGO_PKG_VERSION"),
                meta.len(),
                modified.as_secs(),
                modified.subsec_nanos()
            ))
        })
        .as_deref()
}

/// Facts about charts, kept beside the renders.
pub struct ChartFacts<'c> {
    cache: &'c RenderCache,
    program: &'static str,
}

impl<'c> ChartFacts<'c> {
    /// `None` when the running program cannot be identified (facts are then always computed).
    pub fn new(cache: &'c RenderCache) -> Option<ChartFacts<'c>> {
        Some(ChartFacts {
            cache,
            program: program()?,
        })
    }

    /// `subject`: the chart's digest, or a render's key.
    fn key(&self, kind: &[u8], subject: &str, extra: &[u8]) -> String {
        digest::sha256_parts([kind, self.program.as_bytes(), subject.as_bytes(), extra])
    }

    fn crd_apis_key(&self, render_key: &str) -> String {
        self.key(b"homelab-render-crd-apis-v1", render_key, b"")
    }

    /// The API versions the CRDs of the render under `render_key` serve, when known.
    pub fn crd_apis(&self, render_key: &str) -> Option<Vec<String>> {
        self.get_json(&self.crd_apis_key(render_key))?
            .as_array()?
            .iter()
            .map(|a| a.as_str().map(str::to_string))
            .collect()
    }

    pub fn put_crd_apis(&self, render_key: &str, apis: &[String]) {
        self.cache.put(
            &self.crd_apis_key(render_key),
            &Entry::Output(Value::from(apis.to_vec()).to_string()),
        );
    }

    fn summary_key(&self, chart_digest: &str) -> String {
        self.key(b"homelab-chart-summary-v1", chart_digest, b"")
    }

    /// `values` is the layer as its text in the render key (`Value::to_string`).
    fn unused_key(&self, chart_digest: &str, values: &str) -> String {
        self.key(b"homelab-unused-values-v1", chart_digest, values.as_bytes())
    }

    fn get_json(&self, key: &str) -> Option<Value> {
        match self.cache.get(key)? {
            Entry::Output(text) => serde_json::from_str(&text).ok(),
            Entry::Failed(_) => None,
        }
    }

    pub fn summary(&self, chart_digest: &str) -> Option<Summary> {
        let value = self.get_json(&self.summary_key(chart_digest))?;
        Some(Summary {
            name: value.get("name")?.as_str()?.to_string(),
            version: value.get("version")?.as_str()?.to_string(),
            uses_capabilities: value.get("capabilities")?.as_bool()?,
        })
    }

    pub fn put_summary(&self, chart_digest: &str, summary: &Summary) {
        let value = json!({
            "name": summary.name,
            "version": summary.version,
            "capabilities": summary.uses_capabilities,
        });
        self.cache.put(
            &self.summary_key(chart_digest),
            &Entry::Output(value.to_string()),
        );
    }

    /// The keys of `values` that the chart never reads, when known.
    pub fn unused(&self, chart_digest: &str, values: &str) -> Option<Vec<Unused>> {
        let value = self.get_json(&self.unused_key(chart_digest, values))?;
        value
            .as_array()?
            .iter()
            .map(|u| {
                Some(Unused {
                    pointer: u.get("pointer")?.as_str()?.to_string(),
                    key: u.get("key")?.as_str()?.to_string(),
                    hint: match u.get("hint")? {
                        Value::Null => None,
                        h => Some(h.as_str()?.to_string()),
                    },
                })
            })
            .collect()
    }

    pub fn put_unused(&self, chart_digest: &str, values: &str, unused: &[Unused]) {
        let list: Vec<Value> = unused
            .iter()
            .map(|u| json!({"pointer": u.pointer, "key": u.key, "hint": u.hint}))
            .collect();
        self.cache.put(
            &self.unused_key(chart_digest, values),
            &Entry::Output(Value::Array(list).to_string()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::Bounds;

    fn chart(templates: &[(&str, &str)], subchart: Option<&str>) -> Chart {
        let mut files: crate::archive::Files = [
            ("Chart.yaml", "name: app\nversion: 1.0.0\n"),
            ("values.yaml", "a: 1\n"),
        ]
        .iter()
        .chain(templates)
        .map(|(p, t)| (p.to_string(), t.as_bytes().to_vec()))
        .collect();
        if let Some(t) = subchart {
            files.insert(
                "charts/sub/Chart.yaml".into(),
                b"name: sub\nversion: 2\n".to_vec(),
            );
            files.insert("charts/sub/templates/a.yaml".into(), t.as_bytes().to_vec());
        }
        Chart::from_files(files, &Bounds::default()).unwrap()
    }

    #[test]
    fn summaries_say_whether_a_chart_or_a_subchart_asks_for_api_versions() {
        let asks = "{{ if .Capabilities.APIVersions.Has \"x/v1\" }}{{ end }}";
        let plain = chart(&[("templates/a.yaml", "kind: A")], None);
        assert_eq!(
            Summary::of(&plain),
            Summary {
                name: "app".into(),
                version: "1.0.0".into(),
                uses_capabilities: false
            }
        );
        assert_eq!(Summary::of(&plain).label(), plain.label());
        assert!(Summary::of(&chart(&[("templates/a.yaml", asks)], None)).uses_capabilities);
        assert!(Summary::of(&chart(&[], Some(asks))).uses_capabilities);
    }

    #[test]
    fn facts_round_trip_by_digest_and_values_and_damage_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = RenderCache::new(dir.path().to_path_buf());
        let facts = ChartFacts::new(&cache).unwrap();
        let summary = Summary {
            name: "app".into(),
            version: "1.0.0".into(),
            uses_capabilities: true,
        };
        assert_eq!(facts.summary("d1"), None);
        facts.put_summary("d1", &summary);
        assert_eq!(facts.summary("d1"), Some(summary));
        assert_eq!(facts.summary("d2"), None);

        let unused = vec![
            Unused {
                pointer: "/a/b".into(),
                key: "a.b".into(),
                hint: Some("c".into()),
            },
            Unused {
                pointer: "/x".into(),
                key: "x".into(),
                hint: None,
            },
        ];
        assert_eq!(facts.unused("d1", "{\"a\":1}"), None);
        facts.put_unused("d1", "{\"a\":1}", &unused);
        facts.put_unused("d1", "{}", &[]);
        assert_eq!(facts.unused("d1", "{\"a\":1}"), Some(unused));
        assert_eq!(facts.unused("d1", "{}"), Some(Vec::new()));
        assert_eq!(facts.unused("d2", "{\"a\":1}"), None);
        assert_eq!(facts.unused("d1", "{\"a\":2}"), None);

        let apis = vec![
            "example.com/v1".to_string(),
            "example.com/v1/Thing".to_string(),
        ];
        assert_eq!(facts.crd_apis("r1"), None);
        facts.put_crd_apis("r1", &apis);
        facts.put_crd_apis("r2", &[]);
        assert_eq!(facts.crd_apis("r1"), Some(apis));
        assert_eq!(facts.crd_apis("r2"), Some(Vec::new()));
        assert_eq!(facts.crd_apis("d1"), None);

        // An entry that is valid for the cache but not a fact of this shape is a miss.
        for bad in [
            "[1]",
            "{\"name\": 1}",
            "not json",
            "[{\"pointer\": \"/a\"}]",
        ] {
            cache.put(&facts.summary_key("d3"), &Entry::Output(bad.into()));
            cache.put(&facts.unused_key("d3", "{}"), &Entry::Output(bad.into()));
            cache.put(&facts.crd_apis_key("d3"), &Entry::Output(bad.into()));
            assert_eq!(facts.summary("d3"), None, "{bad}");
            assert_eq!(facts.unused("d3", "{}"), None, "{bad}");
            assert_eq!(facts.crd_apis("d3"), None, "{bad}");
        }
    }
}
